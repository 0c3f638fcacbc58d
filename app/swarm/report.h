// The outcome of a run (or of several shards merged): counts, the verifier's verdict,
// latency histograms, a per-second timeline and the swarm's own overhead. Written as
// JSON with the histograms in full so `parley swarm merge` can combine shards exactly.
#pragma once

#include "histogram.h"
#include "verifier.h"

#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QString>

#include <optional>

namespace parley::swarm {

struct TimelinePoint
{
    int second = 0; // from the start of the run
    qint64 online = 0; // devices connected at the end of that second
    qint64 sent = 0; // during that second
    qint64 acked = 0;
    qint64 delivered = 0;
    qint64 errors = 0;
    Histogram deliver; // send->deliver latencies recorded during that second (us)
};

struct ThresholdResult
{
    QString expression;
    double actual = 0;
    bool passed = false;
};

struct Report
{
    QString server;
    QString scenario;
    int shards = 1;
    qint64 users = 0; // virtual users (each with Scenario::devices clients)
    qint64 devices = 0;
    double durationSeconds = 0; // of the stages
    double elapsedSeconds = 0; // wall time including connecting and draining
    double cpuSeconds = 0; // user + system of the swarm process
    qint64 signedIn = 0; // devices that signed in at least once
    qint64 onlineAtEnd = 0;
    Verdict
        verdict; // sent, acked, delivered, lost, duplicates, reordered, unacked, errors, offenders
    // typing, history, search, presence, skipped: counts; search_hits: hits the searches
    // returned; history_offline, search_offline: requests with no link to send them on
    QMap<QString, qint64> actions;
    QMap<QString, QString> errorExamples; // error code -> the first reason given for it
    Histogram connect, ack, deliver, receipt, history, search; // microseconds
    Histogram echo, lag; // the swarm's own overhead (microseconds)
    QList<TimelinePoint> timeline;
    QList<ThresholdResult> thresholds;
    QStringList failures; // why the run failed, one sentence each (thresholds included)

    QJsonObject toJson() const;
    static std::optional<Report> fromJson(const QJsonObject &json, QString *error);
    // Adds a shard's report to this one (counts, histograms, timeline, offenders).
    void merge(const Report &other);
    // A few lines for the terminal.
    QString summary() const;
};

// The JSON summary of a latency histogram in milliseconds (p50, p90, p99, p999, max, mean).
QJsonObject latencySummary(const Histogram &microseconds);

QByteArray junitXml(const Report &report);

} // namespace parley::swarm
