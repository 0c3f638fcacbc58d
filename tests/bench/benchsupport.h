// Shared by the benchmark programs.
#pragma once

#include <QElapsedTimer>
#include <QEventLoop>
#include <QHash>
#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QObject>
#include <QProcess>
#include <QRegularExpression>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <functional>
#include <optional>

namespace parley::bench {

// Runs the event loop until `process` ends (so proxies in this process keep forwarding).
inline void waitForProcess(QProcess &process)
{
    QEventLoop loop;
    QObject::connect(&process, &QProcess::finished, &loop, &QEventLoop::quit);
    if (process.state() != QProcess::NotRunning)
        loop.exec();
}

// The number at `path` ("a.b.c") of a JSON object (a swarm's --report-json); 0 if absent.
inline double numberAt(const QJsonObject &root, const QString &path)
{
    QJsonValue value = root;
    for (const QString &key : path.split(u'.'))
        value = value.toObject().value(key);
    return value.toDouble();
}

// Runs the event loop until `done` or `ms` passed, sleeping while nothing happens (a busy
// loop would take the CPU that the measured processes, or the measured path, need).
inline void spinFor(
    int ms, const std::function<bool()> &done = [] { return false; })
{
    if (done())
        return;
    QEventLoop loop;
    QTimer check;
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        if (done())
            loop.quit();
    });
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    check.start(5);
    loop.exec();
}

// One scrape of a Prometheus text exposition (a server's /metrics, or Metrics::exposition()
// in process): every sample by name and labels.
class MetricsText
{
public:
    struct Sample
    {
        QString name;
        QHash<QString, QString> labels;
        double value = 0;
    };
    using Labels = QHash<QString, QString>;

    static MetricsText parse(const QString &text)
    {
        using namespace Qt::StringLiterals;
        static const QRegularExpression line(
            u"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})?\\s+(\\S+)"_s);
        static const QRegularExpression label(u"(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\""_s);
        MetricsText parsed;
        for (const QString &row : text.split(u'\n')) {
            if (row.startsWith(u'#'))
                continue;
            const QRegularExpressionMatch match = line.match(row);
            if (!match.hasMatch())
                continue;
            Sample sample {match.captured(1), {}, match.captured(3).toDouble()};
            for (auto it = label.globalMatch(match.captured(2)); it.hasNext();) {
                const QRegularExpressionMatch pair = it.next();
                sample.labels.insert(pair.captured(1), pair.captured(2));
            }
            parsed.m_samples.append(sample);
        }
        return parsed;
    }

    // Whether any sample is named `name`.
    bool has(const QString &name) const
    {
        for (const Sample &sample : m_samples) {
            if (sample.name == name)
                return true;
        }
        return false;
    }
    // The sum of the samples named `name` whose labels include all of `match`.
    double sum(const QString &name, const Labels &match = {}) const
    {
        double total = 0;
        for (const Sample &sample : m_samples) {
            if (sample.name == name && matches(sample, match))
                total += sample.value;
        }
        return total;
    }
    // The same, summed by the value of `label`.
    QHash<QString, double> by(
        const QString &name, const QString &label, const Labels &match = {}) const
    {
        QHash<QString, double> sums;
        for (const Sample &sample : m_samples) {
            if (sample.name == name && matches(sample, match))
                sums[sample.labels.value(label)] += sample.value;
        }
        return sums;
    }

private:
    static bool matches(const Sample &sample, const Labels &match)
    {
        for (auto it = match.cbegin(); it != match.cend(); ++it) {
            if (sample.labels.value(it.key()) != it.value())
                return false;
        }
        return true;
    }

    QList<Sample> m_samples;
};

// What a DynamoDB store's writes cost, from its metrics (DynamoClient and the search
// index): capacity units and items written by table, requests by operation.
inline const QString CapacityUnits = QStringLiteral("parley_dynamodb_capacity_units_total");
inline const QString ItemsWritten = QStringLiteral("parley_dynamodb_items_written_total");
inline const QString DynamoRequests = QStringLiteral("parley_dynamodb_requests_total");
inline const QString IndexPending = QStringLiteral("parley_search_index_pending_conversations");
inline const QString IndexLag = QStringLiteral("parley_search_index_lag_seconds");
inline const QStringList WriteOperations {QStringLiteral("PutItem"), QStringLiteral("UpdateItem"),
    QStringLiteral("DeleteItem"), QStringLiteral("BatchWriteItem"),
    QStringLiteral("TransactWriteItems")};

struct Settled
{
    std::optional<MetricsText> metrics; // the last scrape; empty if none could be read
    bool timedOut = false;
    double seconds = 0; // waited
};

// Waits until a store has finished the work behind what it acked: the search index's
// pending gauge is 0 or absent in two scrapes 500 ms apart, and between them the items it
// wrote and the write capacity it consumed did not move (reads are left out: a store may
// poll while idle); at most `capMs`.
inline Settled waitUntilSettled(
    const std::function<std::optional<QString>()> &scrape, int capMs = 60000)
{
    QElapsedTimer clock;
    clock.start();
    const auto writes = [](const MetricsText &m) {
        return m.sum(ItemsWritten)
            + m.sum(CapacityUnits, {{QStringLiteral("kind"), QStringLiteral("write")}});
    };
    Settled settled;
    std::optional<MetricsText> previous;
    for (;;) {
        const std::optional<QString> text = scrape();
        if (text) {
            const MetricsText current = MetricsText::parse(*text);
            if (previous && previous->sum(IndexPending) == 0 && current.sum(IndexPending) == 0
                && writes(*previous) == writes(current)) {
                settled.metrics = current;
                break;
            }
            previous = current;
        }
        if (clock.elapsed() >= capMs) {
            settled.metrics = previous;
            settled.timedOut = true;
            break;
        }
        spinFor(500);
    }
    settled.seconds = double(clock.elapsed()) / 1000;
    return settled;
}

} // namespace parley::bench
