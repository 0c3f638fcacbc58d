// A flapping link, as a QA engineer tries it: `parley swarm` through a TCP proxy that cuts
// every connection after its own random lifetime (exponential, mean 3 s by default), for a
// few runs, printing the swarm's summary of each and the medians of the figures that tell
// whether a flaky network costs seconds or half a minute. Asserts nothing; it exits with
// the worst swarm exit code, so a run that lost messages is not silent.
//
//   bench_flaky [--users 100] [--rate 100] [--duration 30] [--mean-ms 3000] [--runs 3]
//               [--drain 15] [--seed 1] [--parley PATH]
#include "benchsupport.h"
#include "tcpproxy.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>

using namespace Qt::StringLiterals;
using parley::bench::numberAt;
using parley::bench::waitForProcess;
using parley::test::TcpProxy;

namespace {

double median(QList<double> values)
{
    if (values.isEmpty())
        return 0;
    std::sort(values.begin(), values.end());
    const qsizetype n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(u"parley swarm through a link that flaps"_s);
    parser.addHelpOption();
    const QCommandLineOption users(u"users"_s, u"Users (default 100)."_s, u"N"_s, u"100"_s);
    const QCommandLineOption rate(
        u"rate"_s, u"Messages per second (default 100)."_s, u"R"_s, u"100"_s);
    const QCommandLineOption duration(
        u"duration"_s, u"Seconds of sending per run (default 30)."_s, u"S"_s, u"30"_s);
    const QCommandLineOption meanMs(u"mean-ms"_s,
        u"Mean lifetime of a proxied connection, exponential (default 3000)."_s, u"MS"_s,
        u"3000"_s);
    const QCommandLineOption runs(u"runs"_s, u"Runs (default 3)."_s, u"N"_s, u"3"_s);
    const QCommandLineOption drain(
        u"drain"_s, u"The swarm's --drain (default 15, its own default)."_s, u"S"_s, u"15"_s);
    const QCommandLineOption seed(
        u"seed"_s, u"Seed of the first run's lifetimes."_s, u"N"_s, u"1"_s);
    const QCommandLineOption binary(u"parley"_s,
        u"The parley binary whose swarm (and server) to run (default: this build's)."_s, u"PATH"_s,
        QStringLiteral(PARLEY_BINARY));
    parser.addOptions({users, rate, duration, meanMs, runs, drain, seed, binary});
    parser.process(app);

    QTemporaryDir dir;
    QProcess server;
    server.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    const QString parley = parser.value(binary);
    server.start(
        parley, {u"server"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, dir.path()});
    QByteArray banner;
    const QRegularExpression listening(u"listening on ws://127.0.0.1:(\\d+)/ws"_s);
    QRegularExpressionMatch match;
    while (!(match = listening.match(QString::fromUtf8(banner))).hasMatch()) {
        if (!server.waitForReadyRead(30000)) {
            std::fprintf(stderr, "bench_flaky: the server did not start\n");
            return 2;
        }
        banner += server.readAllStandardOutput();
    }
    const quint16 serverPort = quint16(match.captured(1).toUInt());

    std::printf("flapping link: %s users, %s msgs/s for %s s, connections cut after an "
                "exponential lifetime of mean %s ms, swarm --drain %s, %s run(s)\n",
        qPrintable(parser.value(users)), qPrintable(parser.value(rate)),
        qPrintable(parser.value(duration)), qPrintable(parser.value(meanMs)),
        qPrintable(parser.value(drain)), qPrintable(parser.value(runs)));
    std::fflush(stdout);

    QList<double> p50, p90, p99, max, online, lost, cuts;
    int worstExit = 0;
    const int runCount = std::max(1, parser.value(runs).toInt());
    for (int run = 0; run < runCount; ++run) {
        TcpProxy proxy(serverPort);
        if (!proxy.listen()) {
            std::fprintf(stderr, "bench_flaky: the proxy cannot listen\n");
            return 2;
        }
        proxy.setLifetimes(parser.value(meanMs).toInt(), parser.value(seed).toUInt() + run);
        const QString report = dir.filePath(u"run%1.json"_s.arg(run));
        QProcess swarm;
        swarm.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        swarm.start(parley,
            {u"swarm"_s, u"--server"_s, u"ws://127.0.0.1:%1/ws"_s.arg(proxy.port()), u"--users"_s,
                parser.value(users), u"--rate"_s, parser.value(rate), u"--duration"_s,
                parser.value(duration), u"--drain"_s, parser.value(drain), u"--report-json"_s,
                report});
        waitForProcess(swarm);
        const QByteArray out = swarm.readAllStandardOutput();
        std::printf(
            "--- run %d (proxy cut %d connections)\n%s", run + 1, proxy.cuts(), out.constData());
        worstExit = std::max(worstExit, swarm.exitCode());
        QFile file(report);
        if (!file.open(QIODevice::ReadOnly))
            continue;
        const QJsonObject json = QJsonDocument::fromJson(file.readAll()).object();
        p50.append(numberAt(json, u"latency_ms.deliver.p50"_s));
        p90.append(numberAt(json, u"latency_ms.deliver.p90"_s));
        p99.append(numberAt(json, u"latency_ms.deliver.p99"_s));
        max.append(numberAt(json, u"latency_ms.deliver.max"_s));
        online.append(numberAt(json, u"online_at_end"_s));
        lost.append(numberAt(json, u"lost"_s));
        cuts.append(proxy.cuts());
    }
    std::printf("\nmedians over %lld run(s): send->deliver p50 %.1f ms, p90 %.1f ms, p99 %.1f "
                "ms, max %.1f ms; devices online at the end %.0f; lost %.0f; cuts %.0f\n",
        qlonglong(p99.size()), median(p50), median(p90), median(p99), median(max), median(online),
        median(lost), median(cuts));
    server.terminate();
    server.waitForFinished(30000);
    return worstExit;
}
