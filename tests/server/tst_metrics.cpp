#include "metrics.h"

#include <QDateTime>
#include <QRegularExpression>
#include <QTest>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

using parley::server::Metrics;

namespace {

// The value of the one sample line named exactly `series` (name plus labels).
QByteArray sampleValue(const QByteArray &exposition, QByteArrayView series)
{
    for (const QByteArray &line : exposition.split('\n')) {
        if (line.startsWith(series) && line.size() > series.size() && line.at(series.size()) == ' ')
            return line.mid(series.size() + 1);
    }
    return {};
}

} // namespace

class TestMetrics : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void emptyRegistry();
    void counter();
    void counterWithLabels();
    void sameNameAndLabelsSameCounter();
    void floatCounter();
    void labelEscaping();
    void helpEscaping();
    void gauge();
    void gaugeValues_data();
    void gaugeValues();
    void gaugeCallback();
    void histogram();
    void histogramWithLabels();
    void latencyBuckets();
    void familiesSortedByName();
    void concurrentUpdates();
    void processMetrics();
    void everyLineIsWellFormed();
};

void TestMetrics::emptyRegistry()
{
    Metrics m;
    QCOMPARE(m.exposition(), QByteArray());
    QCOMPARE(Metrics::ContentType, QByteArrayView("text/plain; version=0.0.4; charset=utf-8"));
}

void TestMetrics::counter()
{
    Metrics m;
    auto &frames = m.counter("parley_frames_received", "WebSocket frames received.");
    QCOMPARE(m.exposition(),
        QByteArray("# HELP parley_frames_received_total WebSocket frames received.\n"
                   "# TYPE parley_frames_received_total counter\n"
                   "parley_frames_received_total 0\n"));
    frames.inc();
    frames.inc(41);
    QCOMPARE(frames.value(), quint64(42));
    QCOMPARE(m.exposition(),
        QByteArray("# HELP parley_frames_received_total WebSocket frames received.\n"
                   "# TYPE parley_frames_received_total counter\n"
                   "parley_frames_received_total 42\n"));
}

void TestMetrics::counterWithLabels()
{
    Metrics m;
    const QByteArray help = "Error frames sent, by code.";
    m.counter("parley_errors_total", help, {{"code", "rate_limited"}}).inc(3);
    m.counter("parley_errors_total", help, {{"code", "bad_request"}}).inc();
    m.counter("parley_errors_total", help, {{"code", "bad_request"}}).inc();
    QCOMPARE(m.exposition(),
        QByteArray("# HELP parley_errors_total Error frames sent, by code.\n"
                   "# TYPE parley_errors_total counter\n"
                   "parley_errors_total{code=\"bad_request\"} 2\n"
                   "parley_errors_total{code=\"rate_limited\"} 3\n"));
}

void TestMetrics::sameNameAndLabelsSameCounter()
{
    Metrics m;
    auto &a = m.counter("parley_sends_total", "Sends.", {{"node", "n1"}, {"kind", "dm"}});
    auto &b = m.counter("parley_sends_total", "Sends.", {{"node", "n1"}, {"kind", "dm"}});
    auto &reordered = m.counter("parley_sends_total", "Sends.", {{"kind", "dm"}, {"node", "n1"}});
    auto &withoutSuffix = m.counter("parley_sends", "Sends.", {{"kind", "dm"}, {"node", "n1"}});
    auto &other = m.counter("parley_sends_total", "Sends.", {{"kind", "dm"}, {"node", "n2"}});
    auto &unlabelled = m.counter("parley_sends_total", "Sends.");
    QCOMPARE(&a, &b);
    QCOMPARE(&a, &reordered);
    QCOMPARE(&a, &withoutSuffix);
    QVERIFY(&a != &other);
    QVERIFY(&a != &unlabelled);
    QCOMPARE(&unlabelled, &m.counter("parley_sends_total", "Sends."));

    a.inc();
    b.inc();
    other.inc(5);
    // Labels come out sorted by name whatever order they were given in.
    QCOMPARE(m.exposition(),
        QByteArray("# HELP parley_sends_total Sends.\n"
                   "# TYPE parley_sends_total counter\n"
                   "parley_sends_total 0\n"
                   "parley_sends_total{kind=\"dm\",node=\"n1\"} 2\n"
                   "parley_sends_total{kind=\"dm\",node=\"n2\"} 5\n"));
}

void TestMetrics::floatCounter()
{
    Metrics m;
    const QByteArray help = "Capacity units consumed.";
    auto &read = m.floatCounter("parley_units", help, {{"kind", "read"}});
    QCOMPARE(&m.floatCounter("parley_units_total", help, {{"kind", "read"}}), &read);
    read.add(0.5);
    read.add(1);
    // Counters only go up: nothing negative, NaN or infinite gets in.
    read.add(-2);
    read.add(0);
    read.add(std::numeric_limits<double>::quiet_NaN());
    read.add(std::numeric_limits<double>::infinity());
    QCOMPARE(read.value(), 1.5);
    // Whole and fractional series share a family.
    m.counter("parley_units", help, {{"kind", "items"}}).inc(7);
    m.floatCounter("parley_units", help, {{"kind", "write"}}).add(3);
    QCOMPARE(m.exposition(),
        QByteArray("# HELP parley_units_total Capacity units consumed.\n"
                   "# TYPE parley_units_total counter\n"
                   "parley_units_total{kind=\"items\"} 7\n"
                   "parley_units_total{kind=\"read\"} 1.5\n"
                   "parley_units_total{kind=\"write\"} 3\n"));
}

void TestMetrics::labelEscaping()
{
    Metrics m;
    auto &c
        = m.counter("t", "T.", {{"path", "C:\\dir\\\"quoted\"\nnext"}, {"plain", "caf\xc3\xa9"}});
    auto &same
        = m.counter("t", "T.", {{"path", "C:\\dir\\\"quoted\"\nnext"}, {"plain", "caf\xc3\xa9"}});
    QCOMPARE(&c, &same);
    auto &different
        = m.counter("t", "T.", {{"path", "C:\\dir\\\"quoted\"\\nnext"}, {"plain", "caf\xc3\xa9"}});
    QVERIFY(&c != &different); // a real newline and a backslash-n stay apart
    // Series are sorted by their rendered labels: '\\' (0x5c) before 'n'.
    c.inc();
    QCOMPARE(m.exposition(),
        QByteArray(
            "# HELP t_total T.\n"
            "# TYPE t_total counter\n"
            "t_total{path=\"C:\\\\dir\\\\\\\"quoted\\\"\\\\nnext\",plain=\"caf\xc3\xa9\"} 0\n"
            "t_total{path=\"C:\\\\dir\\\\\\\"quoted\\\"\\nnext\",plain=\"caf\xc3\xa9\"} 1\n"));
}

void TestMetrics::helpEscaping()
{
    Metrics m;
    m.gauge("g", "Line one\nback\\slash \"quotes\" stay.");
    QCOMPARE(m.exposition(),
        QByteArray("# HELP g Line one\\nback\\\\slash \"quotes\" stay.\n"
                   "# TYPE g gauge\n"
                   "g 0\n"));
}

void TestMetrics::gauge()
{
    Metrics m;
    auto &connections = m.gauge("parley_connections", "Open WebSocket connections.");
    connections.inc();
    connections.inc();
    connections.inc();
    connections.dec();
    QCOMPARE(connections.value(), 2.0);
    m.gauge("parley_connections", "Open WebSocket connections.", {{"worker", "1"}}).set(7);
    QCOMPARE(&m.gauge("parley_connections", "ignored"), &connections);
    QCOMPARE(m.exposition(),
        QByteArray("# HELP parley_connections Open WebSocket connections.\n"
                   "# TYPE parley_connections gauge\n"
                   "parley_connections 2\n"
                   "parley_connections{worker=\"1\"} 7\n"));
}

void TestMetrics::gaugeValues_data()
{
    QTest::addColumn<double>("value");
    QTest::addColumn<QByteArray>("rendered");

    QTest::newRow("zero") << 0.0 << QByteArray("0");
    QTest::newRow("integer") << 1234567.0 << QByteArray("1234567");
    QTest::newRow("negative") << -3.5 << QByteArray("-3.5");
    QTest::newRow("shortest round trip") << 0.1 << QByteArray("0.1");
    QTest::newRow("small") << 0.0005 << QByteArray("0.0005");
    QTest::newRow("thirds") << 1.0 / 3 << QByteArray("0.3333333333333333");
    QTest::newRow("large integer") << 4e20 << QByteArray("400000000000000000000");
    QTest::newRow("tiny") << 2.5e-9 << QByteArray("2.5e-09");
    QTest::newRow("huge") << 1.5e300 << QByteArray("1.5e+300");
    QTest::newRow("+Inf") << std::numeric_limits<double>::infinity() << QByteArray("+Inf");
    QTest::newRow("-Inf") << -std::numeric_limits<double>::infinity() << QByteArray("-Inf");
    QTest::newRow("NaN") << std::numeric_limits<double>::quiet_NaN() << QByteArray("NaN");
}

void TestMetrics::gaugeValues()
{
    QFETCH(double, value);
    QFETCH(QByteArray, rendered);
    Metrics m;
    m.gauge("g", "G.").set(value);
    QCOMPARE(sampleValue(m.exposition(), "g"), rendered);
}

void TestMetrics::gaugeCallback()
{
    Metrics m;
    double queued = 3;
    m.gaugeCallback(
        "parley_outbox_depth", "Frames queued for slow clients.", [&queued] { return queued; });
    QCOMPARE(m.exposition(),
        QByteArray("# HELP parley_outbox_depth Frames queued for slow clients.\n"
                   "# TYPE parley_outbox_depth gauge\n"
                   "parley_outbox_depth 3\n"));
    queued = 11; // read at scrape time, not at registration
    QCOMPARE(sampleValue(m.exposition(), "parley_outbox_depth"), QByteArray("11"));

    m.gaugeCallback("parley_outbox_depth", "Frames queued for slow clients.", [] { return 0.25; });
    QCOMPARE(sampleValue(m.exposition(), "parley_outbox_depth"), QByteArray("0.25"));

    m.removeGaugeCallback("parley_outbox_depth");
    QCOMPARE(m.exposition(), QByteArray());
    m.removeGaugeCallback("parley_outbox_depth"); // harmless when absent
}

void TestMetrics::histogram()
{
    Metrics m;
    const double bounds[] = {0.25, 0.5, 1};
    auto &h = m.histogram("parley_request_seconds", "Request time.", bounds);
    h.observe(0.25); // on a bound: counted in that bucket ("le")
    h.observe(0.5);
    h.observe(0.75);
    h.observe(4);
    h.observe(std::numeric_limits<double>::quiet_NaN()); // dropped
    QCOMPARE(h.count(), quint64(4));
    QCOMPARE(h.sum(), 5.5);
    QCOMPARE(&m.histogram("parley_request_seconds", "Request time.", bounds), &h);
    QCOMPARE(m.exposition(),
        QByteArray("# HELP parley_request_seconds Request time.\n"
                   "# TYPE parley_request_seconds histogram\n"
                   "parley_request_seconds_bucket{le=\"0.25\"} 1\n"
                   "parley_request_seconds_bucket{le=\"0.5\"} 2\n"
                   "parley_request_seconds_bucket{le=\"1\"} 3\n"
                   "parley_request_seconds_bucket{le=\"+Inf\"} 4\n"
                   "parley_request_seconds_sum 5.5\n"
                   "parley_request_seconds_count 4\n"));
}

void TestMetrics::histogramWithLabels()
{
    Metrics m;
    const double bounds[] = {1};
    m.histogram("h", "H.", bounds, {{"store", "sqlite"}}).observe(2);
    m.histogram("h", "H.", bounds, {{"store", "dynamo"}}).observe(-1);
    QCOMPARE(m.exposition(),
        QByteArray("# HELP h H.\n"
                   "# TYPE h histogram\n"
                   "h_bucket{store=\"dynamo\",le=\"1\"} 1\n"
                   "h_bucket{store=\"dynamo\",le=\"+Inf\"} 1\n"
                   "h_sum{store=\"dynamo\"} -1\n"
                   "h_count{store=\"dynamo\"} 1\n"
                   "h_bucket{store=\"sqlite\",le=\"1\"} 0\n"
                   "h_bucket{store=\"sqlite\",le=\"+Inf\"} 1\n"
                   "h_sum{store=\"sqlite\"} 2\n"
                   "h_count{store=\"sqlite\"} 1\n"));
}

void TestMetrics::latencyBuckets()
{
    Metrics m;
    auto &ack = m.histogram("parley_ack_latency_seconds", "Time from receiving a send to its ack.",
        Metrics::LatencyBuckets);
    // 0.3 ms, 0.5 ms, 3 ms, 40 ms, 2 s, 7 s
    for (double seconds : {0.0003, 0.0005, 0.003, 0.04, 2.0, 7.0})
        ack.observe(seconds);
    const QByteArray text = m.exposition();
    const QList<std::pair<QByteArray, QByteArray>> expected = {
        {"0.0005", "2"},
        {"0.001", "2"},
        {"0.002", "2"},
        {"0.005", "3"},
        {"0.01", "3"},
        {"0.025", "3"},
        {"0.05", "4"},
        {"0.1", "4"},
        {"0.25", "4"},
        {"0.5", "4"},
        {"1", "4"},
        {"2.5", "5"},
        {"5", "5"},
        {"+Inf", "6"},
    };
    for (const auto &[le, count] : expected) {
        const QByteArray series = "parley_ack_latency_seconds_bucket{le=\"" + le + "\"}";
        QCOMPARE(sampleValue(text, series), count);
    }
    QCOMPARE(text.count("parley_ack_latency_seconds_bucket{"), qsizetype(expected.size()));
    QCOMPARE(sampleValue(text, "parley_ack_latency_seconds_count"), QByteArray("6"));
}

void TestMetrics::familiesSortedByName()
{
    Metrics m;
    m.gauge("parley_c", "C.");
    m.counter("parley_b", "B.");
    const double bounds[] = {1};
    m.histogram("parley_a", "A.", bounds);
    m.counter("parley_b", "B.", {{"x", "1"}});
    QCOMPARE(m.exposition(),
        QByteArray("# HELP parley_a A.\n"
                   "# TYPE parley_a histogram\n"
                   "parley_a_bucket{le=\"1\"} 0\n"
                   "parley_a_bucket{le=\"+Inf\"} 0\n"
                   "parley_a_sum 0\n"
                   "parley_a_count 0\n"
                   "# HELP parley_b_total B.\n"
                   "# TYPE parley_b_total counter\n"
                   "parley_b_total 0\n"
                   "parley_b_total{x=\"1\"} 0\n"
                   "# HELP parley_c C.\n"
                   "# TYPE parley_c gauge\n"
                   "parley_c 0\n"));
}

void TestMetrics::concurrentUpdates()
{
    Metrics m;
    constexpr int Threads = 4;
    constexpr int PerThread = 100'000;
    const double bounds[] = {0.5};
    std::vector<std::jthread> threads; // joined however the test leaves
    for (int t = 0; t < Threads; ++t) {
        threads.emplace_back([&m, &bounds, t] {
            // Registration races too: every thread looks the metrics up itself.
            auto &shared = m.counter("shared", "S.");
            auto &own = m.counter("per_thread", "P.", {{"t", QByteArray::number(t)}});
            auto &gauge = m.gauge("g", "G.");
            auto &hist = m.histogram("h", "H.", bounds);
            for (int i = 0; i < PerThread; ++i) {
                shared.inc();
                own.inc();
                gauge.add(1);
                hist.observe(i % 2 ? 1.0 : 0.25);
            }
        });
    }
    // Scraping while they run must not disturb them.
    for (int i = 0; i < 10; ++i)
        m.exposition();
    for (std::jthread &t : threads)
        t.join();

    const QByteArray text = m.exposition();
    QCOMPARE(sampleValue(text, "shared_total"), QByteArray::number(Threads * PerThread));
    for (int t = 0; t < Threads; ++t) {
        const QByteArray series = "per_thread_total{t=\"" + QByteArray::number(t) + "\"}";
        QCOMPARE(sampleValue(text, series), QByteArray::number(PerThread));
    }
    QCOMPARE(sampleValue(text, "g"), QByteArray::number(Threads * PerThread));
    QCOMPARE(
        sampleValue(text, "h_bucket{le=\"0.5\"}"), QByteArray::number(Threads * PerThread / 2));
    QCOMPARE(sampleValue(text, "h_count"), QByteArray::number(Threads * PerThread));
    // 0.25 and 1.0 are exact in binary, so the sum is exact too.
    QCOMPARE(
        sampleValue(text, "h_sum"), QByteArray::number(Threads * PerThread / 2 * 1.25, 'g', 17));
}

void TestMetrics::processMetrics()
{
    Metrics m;
    m.registerProcessMetrics();
    const QByteArray text = m.exposition();

    QVERIFY(text.contains("# TYPE process_start_time_seconds gauge\n"));
    bool ok = false;
    const double start = sampleValue(text, "process_start_time_seconds").toDouble(&ok);
    QVERIFY(ok);
    // A sanity range, not a timing check: after 2020, and not in the future
    // beyond the one-second granularity of the kernel's boot time.
    QVERIFY2(start > 1.58e9, text.constData());
    QVERIFY2(start <= double(QDateTime::currentSecsSinceEpoch()) + 2, text.constData());

#ifdef Q_OS_LINUX
    QVERIFY(text.contains("# TYPE process_resident_memory_bytes gauge\n"));
    const double rss = sampleValue(text, "process_resident_memory_bytes").toDouble(&ok);
    QVERIFY(ok);
    QVERIFY2(rss > 1024 * 1024, text.constData()); // a Qt process is at least a megabyte
#endif
}

void TestMetrics::everyLineIsWellFormed()
{
    Metrics m;
    m.registerProcessMetrics();
    m.counter("a", "A.", {{"l", "x\"y\\z\n"}}).inc();
    m.gauge("b:sub", "B.").set(-0.125);
    m.histogram("c", "C.", Metrics::LatencyBuckets, {{"k", "v"}}).observe(0.3);
    m.gaugeCallback("d", "D.", [] { return 1e-9; });

    // The line grammar of text format 0.0.4.
    static const QRegularExpression comment(
        QStringLiteral(R"(^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* )"
                       R"((counter|gauge|histogram))$)"));
    static const QRegularExpression sample(QStringLiteral(
        R"(^[a-zA-Z_:][a-zA-Z0-9_:]*)"
        R"((\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})?)"
        R"( ([-+]?[0-9.e+-]+|NaN|[+-]Inf)$)"));
    const QByteArray text = m.exposition();
    QVERIFY(text.endsWith('\n'));
    const QList<QByteArray> lines = text.chopped(1).split('\n');
    for (const QByteArray &line : lines) {
        const QString s = QString::fromUtf8(line);
        QVERIFY2(comment.match(s).hasMatch() || sample.match(s).hasMatch(), line.constData());
    }
}

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
