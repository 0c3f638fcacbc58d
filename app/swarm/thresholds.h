// Pass/fail rules of a run: "deliver.p99<50" (milliseconds), "lost==0", "errors.rate_limited<10".
#pragma once

#include "report.h"

#include <QString>

#include <optional>

namespace parley::swarm {

struct Threshold
{
    enum class Op { Less, LessEqual, Greater, GreaterEqual, Equal, NotEqual };
    QString text;
    QString metric;
    Op op = Op::Equal;
    double value = 0;
};

// Metrics: users, devices, sent, acked, delivered, lost, duplicates, reordered, unacked,
// errors, errors.<code>, online_at_end, and <connect|ack|deliver|receipt|history|search|echo>.
// <p50|p90|p99|p999|max|mean|count> (latencies in milliseconds).
std::optional<Threshold> parseThreshold(const QString &text, QString *error);
QList<Threshold> defaultThresholds(); // lost==0, duplicates==0, reordered==0

std::optional<double> metricValue(const Report &report, const QString &metric);
// Fills report.thresholds and appends a sentence to report.failures for each that fails.
void evaluate(Report &report, const QList<Threshold> &thresholds);

} // namespace parley::swarm
