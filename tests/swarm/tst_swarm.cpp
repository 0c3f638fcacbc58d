// Whole swarms (`parley swarm`) against the real `parley server`: a clean run passes
// and writes all three reports; a run with faults (disconnects, a reconnect storm, users
// that stop sending) still delivers everything exactly once; searches are answered with
// hits and timed; a server killed mid-run fails the run with the losses named; shards
// merge; bad input exits with 2.
#include "serverfixture.h"

#include <QXmlStreamReader>
#include <QtTest>

using namespace Qt::StringLiterals;
using parley::test::ServerProcess;
using parley::test::waitUntil;

namespace {

struct SwarmRun
{
    int exitCode = -1;
    QString output; // stdout
    QString errors; // stderr
    QJsonObject report;
};

// Elements named `name` in an XML file (the JUnit report).
int countElements(const QString &path, const QString &name)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    QXmlStreamReader xml(&file);
    int count = 0;
    while (!xml.atEnd()) {
        if (xml.readNext() == QXmlStreamReader::StartElement && xml.name() == name)
            ++count;
    }
    return xml.hasError() ? -1 : count;
}

QJsonObject readJson(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(file.readAll()).object();
}

} // namespace

class TestSwarm : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;

    QString path(const QString &name) const { return m_dir.filePath(name); }

    // Runs the swarm to the end; `whileRunning` is polled until it returns true (to act
    // mid-run, e.g. kill the server).
    SwarmRun swarm(
        const QStringList &arguments, const std::function<bool(const QString &)> &whileRunning = {})
    {
        QProcess process;
        process.start(
            QStringLiteral(PARLEY_BINARY), QStringList {QStringLiteral("swarm")} + arguments);
        SwarmRun run;
        if (!process.waitForStarted(10000))
            return run;
        QByteArray out;
        bool acted = !whileRunning;
        waitUntil(
            [&] {
                out += process.readAllStandardOutput();
                if (!acted)
                    acted = whileRunning(QString::fromUtf8(out));
                return process.state() == QProcess::NotRunning;
            },
            240000);
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished();
        }
        out += process.readAllStandardOutput();
        run.output = QString::fromUtf8(out);
        run.errors = QString::fromUtf8(process.readAllStandardError());
        run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
        return run;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void smallSwarmPasses()
    {
        ServerProcess server;
        QVERIFY2(server.start(), server.errors().constData());
        const SwarmRun run
            = swarm({u"--server"_s, server.url().toString(), u"--users"_s, u"12"_s, u"--rate"_s,
                u"30"_s, u"--duration"_s, u"4"_s, u"--ramp"_s, u"1"_s, u"--threads"_s, u"2"_s,
                u"--threshold"_s, u"deliver.count>0"_s, u"--report-json"_s, path(u"small.json"_s),
                u"--report-html"_s, path(u"small.html"_s), u"--junit"_s, path(u"small.xml"_s)});
        QVERIFY2(run.exitCode == 0, qPrintable(run.output + run.errors));
        QVERIFY(run.output.contains(u"RESULT: PASS"_s));
        const QJsonObject report = readJson(path(u"small.json"_s));
        const qint64 sent = report.value(u"sent"_s).toInteger();
        QVERIFY2(sent > 30, qPrintable(run.output));
        QCOMPARE(report.value(u"acked"_s).toInteger(), sent);
        QCOMPARE(report.value(u"delivered"_s).toInteger(), sent); // one device per user
        for (const char *field : {"lost", "duplicates", "reordered", "unacked"})
            QCOMPARE(report.value(QLatin1StringView(field)).toInteger(), 0);
        QCOMPARE(report.value(u"users"_s).toInteger(), 12);
        const QJsonObject latency = report.value(u"latency_ms"_s).toObject();
        for (const char *kind : {"connect", "ack", "deliver"}) {
            const QJsonObject h = latency.value(QLatin1StringView(kind)).toObject();
            QVERIFY2(h.value(u"count"_s).toInteger() > 0, kind);
            QVERIFY(h.value(u"p50"_s).toDouble() <= h.value(u"p99"_s).toDouble());
            QVERIFY(h.value(u"p99"_s).toDouble() <= h.value(u"max"_s).toDouble());
        }
        QVERIFY(report.value(u"timeline"_s).toArray().size() >= 5);
        // Progress went to a pipe: one JSON object per line before the summary.
        const QString firstLine = run.output.section(u'\n', 0, 0);
        QVERIFY2(QJsonDocument::fromJson(firstLine.toUtf8()).isObject(), qPrintable(firstLine));

        QFile html(path(u"small.html"_s));
        QVERIFY(html.open(QIODevice::ReadOnly));
        const QByteArray page = html.readAll();
        QVERIFY(page.contains("<svg"));
        QVERIFY(page.contains("PASS"));
        QVERIFY(!page.contains("<script"));
        QVERIFY(!page.contains("http://") || !page.contains("src=\"http")); // nothing fetched

        QCOMPARE(countElements(path(u"small.xml"_s), u"testcase"_s), 5); // liveness + 4 thresholds
        QCOMPARE(countElements(path(u"small.xml"_s), u"failure"_s), 0);
    }

    void faultsStillDeliverEverythingOnce()
    {
        ServerProcess server;
        QVERIFY2(server.start(), server.errors().constData());
        QFile scenario(path(u"faults.json"_s));
        QVERIFY(scenario.open(QIODevice::WriteOnly));
        scenario.write(R"({
  "name": "faults",
  "pattern": {"kind": "hubs", "hubs": 2},
  "devices": 2,
  "mix": {"send": 80, "typing": 5, "history": 5, "search": 5, "presence": 5},
  "stages": [
    {"kind": "ramp-up", "seconds": 1, "rate": 30},
    {"kind": "steady", "seconds": 3},
    {"kind": "spike", "seconds": 1, "rate": 80},
    {"kind": "idle", "seconds": 1}
  ],
  "faults": [
    {"kind": "disconnect", "at": 1.5, "percent": 40, "seconds": 1.5},
    {"kind": "stop-sending", "at": 2, "percent": 30, "seconds": 2},
    {"kind": "reconnect-storm", "at": 4, "percent": 60}
  ]
})");
        scenario.close();
        const SwarmRun run = swarm({u"--server"_s, server.url().toString(), u"--users"_s, u"10"_s,
            u"--rate"_s, u"30"_s, u"--scenario"_s, path(u"faults.json"_s), u"--drain"_s, u"30"_s,
            u"--report-json"_s, path(u"faults-report.json"_s)});
        QVERIFY2(run.exitCode == 0, qPrintable(run.output + run.errors));
        const QJsonObject report = readJson(path(u"faults-report.json"_s));
        const qint64 sent = report.value(u"sent"_s).toInteger();
        QVERIFY(sent > 0);
        QCOMPARE(report.value(u"devices"_s).toInteger(), 20);
        // Every message reached both devices of its recipient.
        QCOMPARE(report.value(u"delivered"_s).toInteger(), 2 * sent);
        QCOMPARE(report.value(u"lost"_s).toInteger(), 0);
        QCOMPARE(report.value(u"duplicates"_s).toInteger(), 0);
        const QJsonObject actions = report.value(u"actions"_s).toObject();
        QVERIFY(
            actions.value(u"history"_s).toInteger() + actions.value(u"search"_s).toInteger() > 0);
    }

    void searchesAreAnsweredWithHits()
    {
        ServerProcess server;
        QVERIFY2(server.start(), server.errors().constData());
        QFile scenario(path(u"search.json"_s));
        QVERIFY(scenario.open(QIODevice::WriteOnly));
        scenario.write(R"({
  "name": "search",
  "mix": {"send": 60, "search": 40},
  "stages": [
    {"kind": "ramp-up", "seconds": 1, "rate": 30},
    {"kind": "steady", "seconds": 5}
  ]
})");
        scenario.close();
        const SwarmRun run = swarm({u"--server"_s, server.url().toString(), u"--users"_s, u"8"_s,
            u"--rate"_s, u"30"_s, u"--scenario"_s, path(u"search.json"_s), u"--threshold"_s,
            u"search.count>0"_s, u"--report-json"_s, path(u"search-report.json"_s)});
        QVERIFY2(run.exitCode == 0, qPrintable(run.output + run.errors));
        QVERIFY2(run.output.contains(u"PASS search.count>0"_s), qPrintable(run.output));
        QVERIFY2(run.output.contains(u"  search   p50 "_s), qPrintable(run.output));
        const QJsonObject report = readJson(path(u"search-report.json"_s));
        const QJsonObject search
            = report.value(u"latency_ms"_s).toObject().value(u"search"_s).toObject();
        QVERIFY(search.value(u"count"_s).toInteger() > 0);
        QVERIFY(search.value(u"p50"_s).toDouble() <= search.value(u"max"_s).toDouble());
        // The queries are words every body holds: the searches find the users' messages.
        const QJsonObject actions = report.value(u"actions"_s).toObject();
        QVERIFY2(actions.value(u"search_hits"_s).toInteger() > 0, qPrintable(run.output));
        QVERIFY(search.value(u"count"_s).toInteger() <= actions.value(u"search"_s).toInteger());
        const QJsonObject errors = report.value(u"errors"_s).toObject();
        for (const QString &code : errors.keys())
            QVERIFY2(!code.startsWith(u"search."_s), qPrintable(code));
        QCOMPARE(report.value(u"lost"_s).toInteger(), 0);
    }

    void killedServerFailsWithTheLossesNamed()
    {
        ServerProcess server;
        QVERIFY2(server.start(), server.errors().constData());
        bool killed = false;
        const SwarmRun run = swarm(
            {u"--server"_s, server.url().toString(), u"--users"_s, u"10"_s, u"--rate"_s, u"40"_s,
                u"--duration"_s, u"6"_s, u"--threads"_s, u"2"_s, u"--drain"_s, u"3"_s,
                u"--report-json"_s, path(u"killed.json"_s), u"--junit"_s, path(u"killed.xml"_s)},
            [&](const QString &output) {
                // Kill it once messages are flowing.
                static const QRegularExpression flowing(u"\"sent_per_s\":[1-9]"_s);
                if (!flowing.match(output).hasMatch())
                    return false;
                server.kill();
                killed = true;
                return true;
            });
        QVERIFY(killed);
        QVERIFY2(run.exitCode == 1, qPrintable(run.output + run.errors));
        QVERIFY(run.output.contains(u"RESULT: FAIL"_s));
        QVERIFY2(
            run.output.contains(u"the server went away and stayed away"_s), qPrintable(run.output));
        const QJsonObject report = readJson(path(u"killed.json"_s));
        const qint64 missing
            = report.value(u"lost"_s).toInteger() + report.value(u"unacked"_s).toInteger();
        QVERIFY2(missing > 0, qPrintable(run.output));
        QCOMPARE(report.value(u"online_at_end"_s).toInteger(), 0);
        QVERIFY(report.value(u"errors"_s).toObject().value(u"link_lost"_s).toInteger() > 0);
        // The offenders are named with their cid and conversation, in the summary and JSON.
        const QJsonArray offenders = report.value(u"offenders"_s).toArray();
        QVERIFY(!offenders.isEmpty());
        const QJsonObject first = offenders.first().toObject();
        QVERIFY(!first.value(u"cid"_s).toString().isEmpty());
        QVERIFY(first.value(u"conv"_s).toString().contains(u':'));
        QVERIFY2(run.output.contains(u" cid "_s + first.value(u"cid"_s).toString() + u" conv "_s
                     + first.value(u"conv"_s).toString()),
            qPrintable(run.output));
        QVERIFY(countElements(path(u"killed.xml"_s), u"failure"_s) >= 1);
    }

    void shardsMerge()
    {
        ServerProcess server;
        QVERIFY2(server.start(), server.errors().constData());
        for (const QString &shard : {u"0/2"_s, u"1/2"_s}) {
            const SwarmRun run = swarm({u"--server"_s, server.url().toString(), u"--users"_s,
                u"9"_s, u"--rate"_s, u"20"_s, u"--duration"_s, u"2"_s, u"--shard"_s, shard,
                u"--report-json"_s, path(u"shard%1.json"_s.arg(shard.left(1)))});
            QVERIFY2(run.exitCode == 0, qPrintable(run.output + run.errors));
        }
        const QJsonObject a = readJson(path(u"shard0.json"_s));
        const QJsonObject b = readJson(path(u"shard1.json"_s));
        QCOMPARE(a.value(u"users"_s).toInteger(), 5);
        QCOMPARE(b.value(u"users"_s).toInteger(), 4);
        const SwarmRun merged
            = swarm({u"merge"_s, path(u"shard0.json"_s), path(u"shard1.json"_s), u"--report-json"_s,
                path(u"merged.json"_s), u"--report-html"_s, path(u"merged.html"_s)});
        QVERIFY2(merged.exitCode == 0, qPrintable(merged.output + merged.errors));
        const QJsonObject m = readJson(path(u"merged.json"_s));
        QCOMPARE(m.value(u"users"_s).toInteger(), 9);
        QCOMPARE(m.value(u"shards"_s).toInteger(), 2);
        QCOMPARE(m.value(u"sent"_s).toInteger(),
            a.value(u"sent"_s).toInteger() + b.value(u"sent"_s).toInteger());
        const qint64 deliverCount = m.value(u"latency_ms"_s)
                                        .toObject()
                                        .value(u"deliver"_s)
                                        .toObject()
                                        .value(u"count"_s)
                                        .toInteger();
        QCOMPARE(deliverCount, m.value(u"delivered"_s).toInteger());
    }

    void cannotRun_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QString>("message");
        QTest::newRow("no server")
            << QStringList {u"--users"_s, u"4"_s} << u"--server URL is required"_s;
        QTest::newRow("bad threshold") << QStringList {u"--server"_s, u"ws://127.0.0.1:1/ws"_s,
            u"--users"_s, u"4"_s, u"--rate"_s, u"1"_s, u"--duration"_s, u"1"_s, u"--threshold"_s,
            u"deliver.p99<<5"_s} << u"expected METRIC OP NUMBER"_s;
        QTest::newRow("bad scenario") << QStringList {u"--server"_s, u"ws://127.0.0.1:1/ws"_s,
            u"--users"_s, u"4"_s, u"--scenario"_s, u"@bad@"_s}
                                      << u"stages[0].seconds: expected a number"_s;
        QTest::newRow("merge of a non-report")
            << QStringList {u"merge"_s, u"@bad@"_s} << u"not a swarm report"_s;
    }
    void cannotRun()
    {
        QFETCH(QStringList, arguments);
        QFETCH(QString, message);
        QFile bad(path(u"bad.json"_s));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write(R"({"stages": [{"kind": "steady", "seconds": "ten", "rate": 1}]})");
        bad.close();
        arguments.replaceInStrings(u"@bad@"_s, path(u"bad.json"_s));
        const SwarmRun run = swarm(arguments);
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.errors.contains(message), qPrintable(run.errors));
    }
};

QTEST_GUILESS_MAIN(TestSwarm)
#include "tst_swarm.moc"
