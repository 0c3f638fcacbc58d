// Faults a multi-node deployment meets, as a QA engineer tries them: two `parley server`
// nodes on DynamoDB (dynalite) with Redis between them, behind a TCP proxy that spreads
// connections over both, and `parley swarm` through the proxy. One run per scenario:
//
//   none             nothing goes wrong (the reference)
//   node-kill        10 s in, node B is killed (SIGKILL); its clients reconnect to A
//   redis-loss       10 s in, Redis is stopped; 5 s later it starts again, empty
//   dynamo-faults    the nodes reach dynalite through a proxy that throttles 20% of the
//                    requests and fails 5% with a 500 before and 5% after applying them
//
// It prints each run's swarm summary (sent, acked, delivered, lost, duplicates,
// reordered) and a table of them. Asserts nothing; it exits with the worst swarm exit
// code, so a run that lost or reordered messages is not silent.
//
//   bench_faults [--users 40] [--rate 40] [--duration 30] [--drain 30]
//                [--scenarios none,node-kill,redis-loss,dynamo-faults] [--swarm-scenario FILE]
#include "benchsupport.h"
#include "dynalite.h"
#include "faultproxy.h"
#include "redisserver.h"
#include "tcpproxy.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>
#include <memory>

using namespace Qt::StringLiterals;
using namespace parley::test;
using parley::bench::numberAt;
using parley::bench::waitForProcess;

namespace {

// A node: `parley server` on DynamoDB and Redis, on a free loopback port.
std::unique_ptr<QProcess> startNode(const QString &name, const QString &dataDir, const QUrl &dynamo,
    const QString &prefix, const QString &redis, quint16 *port)
{
    auto node = std::make_unique<QProcess>();
    node->setProcessChannelMode(QProcess::MergedChannels);
    node->start(QStringLiteral(PARLEY_BINARY),
        {u"server"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, dataDir, u"--node-id"_s,
            name, u"--store"_s, u"dynamodb"_s, u"--dynamodb-endpoint"_s, dynamo.toString(),
            u"--dynamodb-table-prefix"_s, prefix, u"--create-tables"_s, u"--redis"_s, redis});
    QByteArray banner;
    static const QRegularExpression listening(u"listening on ws://127.0.0.1:(\\d+)/ws"_s);
    QRegularExpressionMatch match;
    while (!(match = listening.match(QString::fromUtf8(banner))).hasMatch()) {
        if (!node->waitForReadyRead(60000)) {
            std::fprintf(stderr, "bench_faults: node %s did not start:\n%s\n", qPrintable(name),
                banner.constData());
            return nullptr;
        }
        banner += node->readAll();
    }
    *port = quint16(match.captured(1).toUInt());
    // Keep reading its log so it never blocks on a full pipe.
    QObject::connect(
        node.get(), &QProcess::readyRead, node.get(), [raw = node.get()] { raw->readAll(); });
    return node;
}

struct Outcome
{
    QString scenario;
    QJsonObject report;
    int exitCode = 0;
};

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(u"parley swarm against two nodes under faults"_s);
    parser.addHelpOption();
    const QCommandLineOption users(u"users"_s, u"Users (default 40)."_s, u"N"_s, u"40"_s);
    const QCommandLineOption rate(
        u"rate"_s, u"Messages per second (default 40)."_s, u"R"_s, u"40"_s);
    const QCommandLineOption duration(
        u"duration"_s, u"Seconds of sending per run (default 30)."_s, u"S"_s, u"30"_s);
    const QCommandLineOption drain(
        u"drain"_s, u"The swarm's --drain (default 30)."_s, u"S"_s, u"30"_s);
    const QCommandLineOption scenarios(u"scenarios"_s, u"Comma-separated scenarios."_s, u"LIST"_s,
        u"none,node-kill,redis-loss,dynamo-faults"_s);
    const QCommandLineOption swarmScenario(u"swarm-scenario"_s,
        u"A scenario file for the swarm (its --scenario), e.g. tests/swarm/scenarios/burst-with-cuts.json."_s,
        u"FILE"_s);
    parser.addOptions({users, rate, duration, drain, scenarios, swarmScenario});
    parser.process(app);

    QString error;
    Dynalite::useTestCredentials(); // inherited by the nodes
    Dynalite *dynalite = Dynalite::shared(&error);
    if (!dynalite) {
        std::fprintf(stderr, "bench_faults: %s\n", qPrintable(error));
        return 2;
    }
    QList<Outcome> outcomes;
    int worst = 0;
    int runNo = 0;
    for (const QString &scenario : parser.value(scenarios).split(u',', Qt::SkipEmptyParts)) {
        ++runNo;
        QTemporaryDir dir;
        RedisServer redis;
        if (!redis.start()) {
            std::fprintf(stderr, "bench_faults: %s\n", qPrintable(redis.errorString()));
            return 2;
        }
        std::unique_ptr<FaultProxy> faults;
        QUrl dynamo = dynalite->endpoint();
        if (scenario == u"dynamo-faults"_s) {
            const auto plan = FaultPlan::parse(u"throttled=20,before=5,after=5,seed=3"_s, &error);
            faults = std::make_unique<FaultProxy>(dynalite->port(), *plan);
            if (!faults->listen())
                return 2;
            dynamo = faults->endpoint();
        }
        const QString prefix = u"bf%1x%2_"_s.arg(QCoreApplication::applicationPid()).arg(runNo);
        quint16 portA = 0;
        quint16 portB = 0;
        auto nodeA = startNode(u"a"_s, dir.filePath(u"a"_s), dynamo, prefix, redis.url(), &portA);
        auto nodeB = startNode(u"b"_s, dir.filePath(u"b"_s), dynamo, prefix, redis.url(), &portB);
        if (!nodeA || !nodeB)
            return 2;
        // The "load balancer": new connections go to A and B in turn.
        TcpProxy proxy(portA);
        if (!proxy.listen())
            return 2;
        bool toA = true;
        bool onlyA = false;
        QTimer spread;
        QObject::connect(&spread, &QTimer::timeout, &proxy, [&] {
            toA = onlyA || !toA;
            proxy.setTargetPort(toA ? portA : portB);
        });
        spread.start(25);

        QTimer fault;
        fault.setSingleShot(true);
        QObject::connect(&fault, &QTimer::timeout, &proxy, [&] {
            if (scenario == u"node-kill"_s) {
                std::printf("[%s] killing node b\n", qPrintable(scenario));
                onlyA = true;
                proxy.setTargetPort(portA);
                nodeB->kill();
                proxy.cutAll(); // its clients (and A's, here) reconnect, now all to A
            } else if (scenario == u"redis-loss"_s) {
                std::printf("[%s] stopping Redis for 5 s\n", qPrintable(scenario));
                redis.stop();
                QTimer::singleShot(5000, &proxy, [&] {
                    std::printf("[%s] starting Redis again (empty)\n", qPrintable(scenario));
                    redis.start();
                });
            }
            std::fflush(stdout);
        });
        fault.start(10000 + 5000); // the swarm's ramp-up comes first

        const QString report = dir.filePath(u"report.json"_s);
        QProcess swarm;
        swarm.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        // A scenario file brings its own stages (rate, duration, ramp) and faults.
        QStringList swarmArgs {u"swarm"_s, u"--server"_s,
            u"ws://127.0.0.1:%1/ws"_s.arg(proxy.port()), u"--users"_s, parser.value(users),
            u"--drain"_s, parser.value(drain), u"--report-json"_s, report};
        if (parser.isSet(swarmScenario))
            swarmArgs += {u"--scenario"_s, parser.value(swarmScenario)};
        else
            swarmArgs += {u"--rate"_s, parser.value(rate), u"--ramp"_s, u"5"_s, u"--duration"_s,
                parser.value(duration)};
        swarm.start(QStringLiteral(PARLEY_BINARY), swarmArgs);
        waitForProcess(swarm);
        std::printf("--- %s\n%s", qPrintable(scenario), swarm.readAllStandardOutput().constData());
        std::fflush(stdout);
        Outcome outcome {scenario, {}, swarm.exitCode()};
        QFile file(report);
        if (file.open(QIODevice::ReadOnly))
            outcome.report = QJsonDocument::fromJson(file.readAll()).object();
        outcomes.append(outcome);
        worst = std::max(worst, swarm.exitCode());
        for (QProcess *node : {nodeA.get(), nodeB.get()}) {
            node->terminate();
            node->waitForFinished(30000);
        }
    }

    std::printf("\n%-14s %7s %7s %9s %5s %10s %9s %12s %12s\n", "scenario", "sent", "acked",
        "delivered", "lost", "duplicates", "reordered", "deliver p99", "swarm exit");
    for (const Outcome &o : std::as_const(outcomes)) {
        std::printf("%-14s %7.0f %7.0f %9.0f %5.0f %10.0f %9.0f %9.0f ms %12d\n",
            qPrintable(o.scenario), numberAt(o.report, u"sent"_s), numberAt(o.report, u"acked"_s),
            numberAt(o.report, u"delivered"_s), numberAt(o.report, u"lost"_s),
            numberAt(o.report, u"duplicates"_s), numberAt(o.report, u"reordered"_s),
            numberAt(o.report, u"latency_ms.deliver.p99"_s), o.exitCode);
    }
    return worst;
}
