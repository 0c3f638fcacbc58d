// Scenario files (good ones read in full, bad ones refused with the line or field named),
// threshold expressions, and the report's JSON round trip and merge.
#include "plan.h"
#include "report.h"
#include "scenario.h"
#include "thresholds.h"

#include <QJsonDocument>
#include <QtTest>

using namespace Qt::StringLiterals;
using namespace parley::swarm;

class TestScenario : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void fullFile()
    {
        const QByteArray json = R"({
  "name": "evening peak",
  "seed": 9,
  "devices": 2,
  "body_chars": 64,
  "pattern": {"kind": "hubs", "hubs": 4},
  "mix": {"send": 90, "typing": 5, "history": 3, "search": 1, "presence": 1},
  "stages": [
    {"kind": "ramp-up", "seconds": 10, "rate": 100},
    {"kind": "steady", "seconds": 20},
    {"kind": "spike", "seconds": 5, "rate": 400},
    {"kind": "idle", "seconds": 5}
  ],
  "faults": [
    {"kind": "disconnect", "at": 12, "percent": 10, "seconds": 3},
    {"kind": "stop-sending", "at": 15, "percent": 20, "seconds": 4},
    {"kind": "reconnect-storm", "at": 30, "percent": 50}
  ]
})";
        QString error;
        const auto s = parseScenario(json, u"peak.json"_s, 50, &error);
        QVERIFY2(s, qPrintable(error));
        QCOMPARE(s->name, u"evening peak"_s);
        QCOMPARE(s->seed, 9u);
        QCOMPARE(s->devices, 2);
        QCOMPARE(s->bodyChars, 64);
        QCOMPARE(s->pattern.kind, Pattern::Kind::Hubs);
        QCOMPARE(s->pattern.hubs, 4);
        QCOMPARE(s->mix.total(), 100.0);
        QCOMPARE(s->stages.size(), 4);
        QCOMPARE(s->stages[1].rate, 50.0); // no rate: --rate
        QCOMPARE(s->duration(), 40.0);
        QCOMPARE(s->connectSeconds(), 10.0);
        QCOMPARE(s->faults.size(), 3);
        QCOMPARE(s->faults[2].kind, Fault::Kind::ReconnectStorm);
        // The rate profile: linear ramp, steady, spike, idle, then nothing.
        QCOMPARE(s->rateAt(0), 0.0);
        QCOMPARE(s->rateAt(5), 50.0);
        QCOMPARE(s->rateAt(15), 50.0);
        QCOMPARE(s->rateAt(32), 400.0);
        QCOMPARE(s->rateAt(37), 0.0);
        QCOMPARE(s->rateAt(41), 0.0);
    }

    void burstMix()
    {
        QString error;
        const auto s = parseScenario(
            R"({"mix": {"send": 8, "burst": 2, "burst_size": 300},
                "stages": [{"kind": "steady", "seconds": 1, "rate": 5}]})",
            u"f.json"_s, 0, &error);
        QVERIFY2(s, qPrintable(error));
        QCOMPARE(s->mix.burst, 2.0);
        QCOMPARE(s->mix.burstSize, 300);
        QCOMPARE(s->mix.total(), 10.0);
        const auto plain = parseScenario(
            R"({"stages": [{"kind": "steady", "seconds": 1, "rate": 5}]})", u"g.json"_s, 0, &error);
        QVERIFY2(plain, qPrintable(error));
        QCOMPARE(plain->mix.burst, 0.0);
        QCOMPARE(plain->mix.burstSize, 50);
    }

    void patternAsWordAndDefaults()
    {
        QString error;
        const auto s = parseScenario(
            R"({"pattern": "random", "stages": [{"kind": "steady", "seconds": 1, "rate": 5}]})",
            u"f.json"_s, 0, &error);
        QVERIFY2(s, qPrintable(error));
        QCOMPARE(s->pattern.kind, Pattern::Kind::Random);
        QCOMPARE(s->pattern.peers, 3);
        QCOMPARE(s->mix.send, 1.0);
        QCOMPARE(s->devices, 1);
        QCOMPARE(s->connectSeconds(), 0.0);
    }

    void commandLineScenario()
    {
        const Scenario s = defaultScenario(200, 30, 10);
        QCOMPARE(s.duration(), 40.0);
        QCOMPARE(s.connectSeconds(), 10.0);
        QCOMPARE(s.rateAt(5), 100.0);
        QCOMPARE(s.rateAt(39), 200.0);
        QCOMPARE(defaultScenario(10, 5, 0).stages.size(), 1);
    }

    void scheduleIsOpenLoop_data()
    {
        QTest::addColumn<int>("threads");
        QTest::newRow("one thread") << 1;
        QTest::newRow("three threads") << 3;
    }
    void scheduleIsOpenLoop()
    {
        // The intended times follow the rate profile alone: a ramp to 100/s over 10 s
        // (500 actions), then 100/s for 10 s (1000), split over the threads.
        QFETCH(int, threads);
        const Scenario s = defaultScenario(100, 10, 10);
        int total = 0;
        int inRamp = 0;
        for (int t = 0; t < threads; ++t) {
            Schedule schedule(&s, threads, t);
            double previous = 0;
            for (double at = schedule.next(); at >= 0; at = schedule.next()) {
                QVERIFY(at >= previous);
                QVERIFY(at <= 20.0);
                previous = at;
                ++total;
                inRamp += at < 10 ? 1 : 0;
            }
        }
        QVERIFY2(std::abs(total - 1500) <= threads, qPrintable(QString::number(total)));
        QVERIFY2(std::abs(inRamp - 500) <= threads + 1, qPrintable(QString::number(inRamp)));
    }

    void patterns_data()
    {
        QTest::addColumn<QString>("pattern");
        QTest::addColumn<int>("users");
        QTest::newRow("pairs, even") << u"pairs"_s << 10;
        QTest::newRow("pairs, odd") << u"pairs"_s << 7;
        QTest::newRow("hubs") << u"hubs"_s << 20;
        QTest::newRow("random") << u"random"_s << 50;
    }
    void patterns()
    {
        QFETCH(QString, pattern);
        QFETCH(int, users);
        QString error;
        const auto s = parseScenario(
            u"{\"pattern\": {\"kind\": \"%1\", \"hubs\": 3}, "
            u"\"stages\": [{\"kind\": \"ramp-up\", \"seconds\": 10, \"rate\": 5}]}"_s.arg(pattern)
                .toUtf8(),
            u"p.json"_s, 0, &error);
        QVERIFY2(s, qPrintable(error));
        const QList<UserPlan> plan = planUsers(*s, users, 4, u"u-"_s);
        QCOMPARE(plan.size(), users);
        QSet<QString> names;
        for (int i = 0; i < users; ++i) {
            names.insert(plan[i].name);
            QCOMPARE(plan[i].thread, i % 4);
            QVERIFY(plan[i].connectAt >= 0 && plan[i].connectAt < 10);
            QVERIFY2(!plan[i].peers.isEmpty(), qPrintable(plan[i].name));
            for (const int p : plan[i].peers) {
                QVERIFY(p != i);
                QVERIFY(plan[p].peers.contains(i)); // conversations go both ways
            }
            if (pattern == u"pairs"_s && i + 1 < users - users % 2)
                QCOMPARE(plan[i].peers.first(), i ^ 1);
            if (pattern == u"hubs"_s && i >= 3)
                QCOMPARE(plan[i].peers, QList<int> {i % 3});
            if (pattern == u"random"_s)
                QVERIFY(plan[i].peers.size() >= 3);
        }
        QCOMPARE(names.size(), users);
    }

    void faultsHitTheirShare()
    {
        QString error;
        const auto s = parseScenario(R"({"seed": 3, "stages": [{"kind": "idle", "seconds": 10}],
            "faults": [{"kind": "disconnect", "at": 1, "percent": 25, "seconds": 1},
                       {"kind": "reconnect-storm", "at": 2, "percent": 100}]})",
            u"f.json"_s, 0, &error);
        QVERIFY2(s, qPrintable(error));
        int hit = 0;
        for (int user = 0; user < 10000; ++user) {
            hit += faultHits(*s, 0, user) ? 1 : 0;
            QVERIFY(faultHits(*s, 1, user));
            QCOMPARE(faultHits(*s, 0, user), faultHits(*s, 0, user)); // stable
        }
        QVERIFY2(hit > 2300 && hit < 2700, qPrintable(QString::number(hit)));
        QVERIFY(!faultHits(*s, 2, 0)); // no such fault
    }

    void badFiles_data()
    {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("message");
        QTest::newRow("syntax error names the line")
            << QByteArray("{\n  \"stages\": [\n    {\"kind\": \"steady\" \"seconds\": 1}\n  ]\n}")
            << u"bad.json:3:"_s;
        QTest::newRow("not an object") << QByteArray("[1, 2]") << u"a JSON object"_s;
        QTest::newRow("no stages") << QByteArray("{}") << u"stages: missing"_s;
        QTest::newRow("empty stages")
            << QByteArray(R"({"stages": []})") << u"stages: expected a non-empty array"_s;
        QTest::newRow("unknown stage kind")
            << QByteArray(R"({"stages": [{"kind": "sprint", "seconds": 1, "rate": 1}]})")
            << u"stages[0].kind: expected one of ramp-up, steady, spike, idle, got \"sprint\""_s;
        QTest::newRow("misspelt field")
            << QByteArray(R"({"stages": [{"kind": "steady", "secs": 1, "rate": 1}]})")
            << u"stages[0].secs: unknown field"_s;
        QTest::newRow("rate is text")
            << QByteArray(R"({"stages": [{"kind": "steady", "seconds": 1, "rate": 1},
                 {"kind": "spike", "seconds": 2, "rate": "fast"}]})")
            << u"stages[1].rate: expected a number from 0 to 1000000, got \"fast\""_s;
        QTest::newRow("no rate anywhere")
            << QByteArray(R"({"stages": [{"kind": "steady", "seconds": 1}]})")
            << u"stages[0].rate: missing, and no --rate was given"_s;
        QTest::newRow("negative seconds")
            << QByteArray(R"({"stages": [{"kind": "steady", "seconds": -1, "rate": 1}]})")
            << u"stages[0].seconds: expected a number from 0.001"_s;
        QTest::newRow("idle with a rate")
            << QByteArray(R"({"stages": [{"kind": "idle", "seconds": 1, "rate": 3}]})")
            << u"stages[0].rate: expected a number from 0 to 0"_s;
        QTest::newRow("bad pattern")
            << QByteArray(R"({"pattern": "star", "stages": [{"kind": "idle", "seconds": 1}]})")
            << u"pattern.kind: expected one of pairs, hubs, random"_s;
        QTest::newRow("hubs zero") << QByteArray(
            R"({"pattern": {"kind": "hubs", "hubs": 0}, "stages": [{"kind": "idle", "seconds": 1}]})")
                                   << u"pattern.hubs: expected a number from 1"_s;
        QTest::newRow("mix all zero")
            << QByteArray(R"({"mix": {"send": 0}, "stages": [{"kind": "idle", "seconds": 1}]})")
            << u"mix: at least one weight"_s;
        QTest::newRow("mix unknown action") << QByteArray(
            R"({"mix": {"send": 1, "call": 2}, "stages": [{"kind": "idle", "seconds": 1}]})")
                                            << u"mix.call: unknown field"_s;
        QTest::newRow("burst of one") << QByteArray(R"({"mix": {"burst": 1, "burst_size": 1},
                 "stages": [{"kind": "idle", "seconds": 1}]})")
                                      << u"mix.burst_size: expected a number from 2"_s;
        QTest::newRow("fault percent over 100")
            << QByteArray(R"({"stages": [{"kind": "idle", "seconds": 10}],
                 "faults": [{"kind": "disconnect", "at": 1, "percent": 150, "seconds": 1}]})")
            << u"faults[0].percent: expected a number from 0 to 100, got 150"_s;
        QTest::newRow("fault after the end")
            << QByteArray(R"({"stages": [{"kind": "idle", "seconds": 10}],
                 "faults": [{"kind": "stop-sending", "at": 11, "percent": 5, "seconds": 1}]})")
            << u"faults[0].at: 11 s is past the end"_s;
        QTest::newRow("storm with seconds")
            << QByteArray(R"({"stages": [{"kind": "idle", "seconds": 10}],
                 "faults": [{"kind": "reconnect-storm", "at": 1, "percent": 5, "seconds": 1}]})")
            << u"faults[0].seconds: a reconnect storm is instant"_s;
        QTest::newRow("devices not whole")
            << QByteArray(R"({"devices": 1.5, "stages": [{"kind": "idle", "seconds": 1}]})")
            << u"devices: expected a whole number"_s;
    }
    void badFiles()
    {
        QFETCH(QByteArray, json);
        QFETCH(QString, message);
        QString error;
        QVERIFY(!parseScenario(json, u"bad.json"_s, 0, &error));
        QVERIFY2(error.startsWith(u"bad.json"_s), qPrintable(error));
        QVERIFY2(error.contains(message), qPrintable(error));
    }

    void thresholds_data()
    {
        QTest::addColumn<QString>("expression");
        QTest::addColumn<bool>("passes"); // against the report built below
        QTest::newRow("lost==0") << u"lost==0"_s << true;
        QTest::newRow("spaces") << u" duplicates == 0 "_s << true;
        QTest::newRow("deliver.p99<50 (ms)") << u"deliver.p99<50"_s << true;
        QTest::newRow("deliver.max<=40") << u"deliver.max<=40"_s << false;
        QTest::newRow("sent>=10") << u"sent>=10"_s << true;
        QTest::newRow("errors<3") << u"errors<3"_s << false;
        QTest::newRow("errors.rate_limited!=0") << u"errors.rate_limited!=0"_s << true;
        QTest::newRow("errors.unknown==0") << u"errors.unknown==0"_s << true;
        QTest::newRow("ack.mean>1.5") << u"ack.mean>1.5"_s << true;
        QTest::newRow("search.p99<5") << u"search.p99<5"_s << true;
        QTest::newRow("search.count>1") << u"search.count>1"_s << false;
    }
    void thresholds()
    {
        QFETCH(QString, expression);
        QFETCH(bool, passes);
        Report r;
        r.verdict.sent = 10;
        r.verdict.errors = {{u"rate_limited"_s, 2}, {u"internal"_s, 1}};
        for (int i = 1; i <= 100; ++i)
            r.deliver.record(i * 450); // 0.45 .. 45 ms
        r.ack.record(2000);
        r.search.record(3000);
        QString error;
        const auto t = parseThreshold(expression, &error);
        QVERIFY2(t, qPrintable(error));
        evaluate(r, {*t});
        QCOMPARE(r.thresholds.size(), 1);
        QCOMPARE(r.thresholds.first().passed, passes);
        QCOMPARE(r.failures.isEmpty(), passes);
        if (!passes)
            QVERIFY2(r.failures.first().contains(t->text), qPrintable(r.failures.first()));
    }

    void badThresholds_data()
    {
        QTest::addColumn<QString>("expression");
        QTest::addColumn<QString>("message");
        QTest::newRow("no operator") << u"lost"_s << u"expected METRIC OP NUMBER"_s;
        QTest::newRow("single =") << u"lost=0"_s << u"expected METRIC OP NUMBER"_s;
        QTest::newRow("not a number") << u"lost==none"_s << u"expected METRIC OP NUMBER"_s;
        QTest::newRow("unknown metric") << u"latency<5"_s << u"unknown metric 'latency'"_s;
        QTest::newRow("unknown statistic") << u"deliver.p75<5"_s << u"unknown metric"_s;
    }
    void badThresholds()
    {
        QFETCH(QString, expression);
        QFETCH(QString, message);
        QString error;
        QVERIFY(!parseThreshold(expression, &error));
        QVERIFY2(error.contains(message), qPrintable(error));
    }

    void defaultThresholdsCatchLossDuplicatesReordering()
    {
        Report r;
        evaluate(r, defaultThresholds());
        QVERIFY(r.failures.isEmpty());
        r.verdict.lost = 2;
        r.verdict.reordered = 1;
        evaluate(r, defaultThresholds());
        QCOMPARE(r.failures.size(), 2);
        QVERIFY(r.failures.first().contains(u"lost==0"_s));
    }

    void reportRoundTripAndMerge()
    {
        Report a;
        a.server = u"ws://127.0.0.1:1/ws"_s;
        a.users = 10;
        a.verdict.sent = 100;
        a.verdict.acked = 99;
        a.verdict.delivered = 99;
        a.verdict.unacked = 1;
        a.verdict.errors = {{u"rate_limited"_s, 4}};
        a.verdict.offenders = {{u"unacked"_s, u"c1"_s, u"a:b"_s, u"never acknowledged"_s}};
        a.deliver.record(1500);
        a.search.record(4200);
        a.actions = {{u"search"_s, 1}, {u"search_hits"_s, 20}};
        a.timeline
            = {TimelinePoint {0, 10, 50, 50, 49, 0, {}}, TimelinePoint {1, 10, 50, 49, 50, 4, {}}};
        a.timeline[1].deliver.record(1500);
        const QJsonObject json = a.toJson();
        for (const char *field : {"users", "sent", "acked", "delivered", "lost", "duplicates",
                 "reordered", "unacked", "errors", "latency_ms", "timeline"})
            QVERIFY2(json.contains(QLatin1StringView(field)), field);
        const QJsonObject deliver
            = json.value(u"latency_ms"_s).toObject().value(u"deliver"_s).toObject();
        for (const char *field : {"p50", "p90", "p99", "p999", "max", "mean"})
            QVERIFY2(deliver.contains(QLatin1StringView(field)), field);
        const QJsonObject search
            = json.value(u"latency_ms"_s).toObject().value(u"search"_s).toObject();
        QCOMPARE(search.value(u"count"_s).toInteger(), 1);
        QCOMPARE(search.value(u"max"_s).toDouble(), 4.2);
        QString error;
        const auto back = Report::fromJson(
            QJsonDocument::fromJson(QJsonDocument(json).toJson()).object(), &error);
        QVERIFY2(back, qPrintable(error));
        QCOMPARE(back->toJson(), json);
        // The summary has a search line (with its hits) only when there were searches.
        QVERIFY2(back->summary().contains(u"  search   p50 "_s), qPrintable(back->summary()));
        QVERIFY2(back->summary().contains(u"(n=1, 20 hits)"_s), qPrintable(back->summary()));
        QVERIFY(!Report {}.summary().contains(u"search"_s));

        Report merged = *back;
        Report b = *back;
        b.deliver.record(90000);
        b.timeline.append(TimelinePoint {2, 10, 5, 5, 5, 0, {}});
        merged.merge(b);
        QCOMPARE(merged.users, 20);
        QCOMPARE(merged.shards, 2);
        QCOMPARE(merged.verdict.sent, 200);
        QCOMPARE(merged.verdict.errors.value(u"rate_limited"_s), 8);
        QCOMPARE(merged.deliver.count(), 3);
        QCOMPARE(merged.deliver.max(), 90000);
        QCOMPARE(merged.search.count(), 2);
        QCOMPARE(merged.actions.value(u"search_hits"_s), 40);
        QCOMPARE(merged.timeline.size(), 3);
        QCOMPARE(merged.timeline[1].sent, 100);
        QCOMPARE(merged.timeline[1].deliver.count(), 2);
        QCOMPARE(merged.verdict.offenders.size(), 2);

        QVERIFY(!Report::fromJson(QJsonObject {{u"format"_s, u"x"_s}}, &error));
        QVERIFY(error.contains(u"not a swarm report"_s));
        QJsonObject broken = json;
        broken.remove(u"sent"_s);
        QVERIFY(!Report::fromJson(broken, &error));
        QVERIFY(error.contains(u"'sent'"_s));
    }
};

QTEST_GUILESS_MAIN(TestScenario)
#include "tst_scenario.moc"
