// RedisBus alone, between two nodes in one process, through a real redis-server:
// node A publishes msg frames to users whose connections are on node B.
// Prints cross-node messages per second (as fast as they go) and the delivery
// latency p50/p99 at a fixed 5,000 messages per second.
//
//   bench_bus [--users N] [--messages N] [--rate N] [--seconds N]
#include "codec.h"
#include "deliveryledger.h"
#include "metrics.h"
#include "redisbus.h"
#include "redisserver.h"
#include "sqlitestore.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>

using namespace Qt::StringLiterals;
using namespace parley::server;
using namespace parley::server::redis;
using namespace parley::protocol;

namespace {

struct Run
{
    qint64 sent = 0;
    qint64 received = 0;
    std::vector<qint64> sentAtNs; // by seq
    std::vector<qint64> latencyNs;
};

QByteArray frame(qint64 seq, const QString &to)
{
    Message m {u"alice:"_s + to, seq, u"alice"_s, to, QString::number(seq),
        u"a message of ordinary length, about sixty characters long."_s, 1795333612838};
    return encode(ServerFrame(MessageEvent {m}));
}

double percentile(std::vector<qint64> values, double p)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    return double(values[size_t(p * double(values.size() - 1))]) / 1e6;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addOptions({{u"users"_s, u"Users on node B."_s, u"N"_s, u"1000"_s},
        {u"messages"_s, u"Messages in the throughput run."_s, u"N"_s, u"200000"_s},
        {u"rate"_s, u"Messages per second in the latency run."_s, u"N"_s, u"5000"_s},
        {u"seconds"_s, u"Length of the latency run."_s, u"N"_s, u"10"_s}});
    parser.addHelpOption();
    parser.process(app);
    const int users = parser.value(u"users"_s).toInt();
    const qint64 messages = parser.value(u"messages"_s).toLongLong();
    const int rate = parser.value(u"rate"_s).toInt();
    const int seconds = parser.value(u"seconds"_s).toInt();

    parley::test::RedisServer redisServer;
    if (!redisServer.start()) {
        std::fprintf(stderr, "%s\n", qPrintable(redisServer.errorString()));
        return 1;
    }
    QTemporaryDir dir;
    SqliteStore store(dir.path());
    QString error;
    if (!store.open(&error)) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    Metrics metricsA;
    Metrics metricsB;
    QString urlError;
    const RedisUrl url = *parseRedisUrl(redisServer.url(), &urlError);
    RedisBus nodeA({url, u"bench-a"_s}, &store, &metricsA);
    RedisBus nodeB({url, u"bench-b"_s}, &store, &metricsB);
    if (!nodeA.open(&error) || !nodeB.open(&error))
        return 1;

    QElapsedTimer clock;
    clock.start();
    Run run;
    QObject receiver;
    QStringList names;
    for (int i = 0; i < users; ++i) {
        names.append(u"user%1"_s.arg(i));
        nodeB.subscribe(userTopic(names.last()),
            {ConnectionId(i + 1), &receiver, [&run, &clock](const BusEvent &event) {
                 const auto key = DeliveryLedger::messageKey(event.payload);
                 ++run.received;
                 if (key && size_t(key->second) < run.sentAtNs.size())
                     run.latencyNs.push_back(clock.nsecsElapsed() - run.sentAtNs[key->second]);
             }});
    }
    // Wait until B's SUBSCRIBEs are applied: a probe published by A arrives.
    nodeB.subscribe(u"user:probe"_s,
        {ConnectionId(users + 1), &receiver, [&](const BusEvent &) { run.received = -1; }});
    while (run.received != -1) {
        nodeA.publish({BusEvent::Kind::Frame, u"user:probe"_s, "probe", 0});
        QElapsedTimer wait;
        wait.start();
        while (run.received != -1 && wait.elapsed() < 200)
            app.processEvents(QEventLoop::AllEvents, 10);
    }

    // Frames prepared up front: the bench measures the bus, not the codec.
    std::vector<QByteArray> frames;
    const qint64 prepared = messages + qint64(rate) * seconds + 1;
    frames.reserve(size_t(prepared));
    for (qint64 seq = 0; seq < prepared; ++seq)
        frames.push_back(frame(seq, names.at(int(seq % users))));

    // 1. Throughput: publish as fast as the bus takes it, at most 20,000 in flight.
    run = Run {};
    run.sentAtNs.assign(size_t(prepared), 0);
    const qint64 start = clock.nsecsElapsed();
    while (run.received < messages) {
        while (run.sent < messages && run.sent - run.received < 20000) {
            const qint64 seq = ++run.sent;
            run.sentAtNs[size_t(seq)] = clock.nsecsElapsed();
            nodeA.publish({BusEvent::Kind::Frame, userTopic(names.at(int(seq % users))),
                frames[size_t(seq)], 0});
        }
        app.processEvents(QEventLoop::AllEvents, 5);
    }
    const double throughputSeconds = double(clock.nsecsElapsed() - start) / 1e9;
    std::printf("throughput: %lld cross-node messages in %.2f s = %.0f msgs/s "
                "(p50 %.2f ms, p99 %.2f ms under saturation)\n",
        static_cast<long long>(messages), throughputSeconds, double(messages) / throughputSeconds,
        percentile(run.latencyNs, 0.50), percentile(run.latencyNs, 0.99));

    std::fflush(stdout);

    // 2. Latency at a fixed rate: a tick every millisecond publishes what is due. Seqs
    // continue after the first run's: node B's delivery ledger drops repeats.
    const qint64 firstSeq = run.sent;
    const qint64 total = qint64(rate) * seconds;
    run.received = 0;
    run.latencyNs.clear();
    const qint64 paceStart = clock.nsecsElapsed();
    QTimer tick;
    tick.setTimerType(Qt::PreciseTimer);
    QObject::connect(&tick, &QTimer::timeout, &receiver, [&] {
        const qint64 due
            = std::min(total, (clock.nsecsElapsed() - paceStart) * rate / 1000000000LL);
        while (run.sent - firstSeq < due) {
            const qint64 seq = ++run.sent;
            run.sentAtNs[size_t(seq)] = clock.nsecsElapsed();
            nodeA.publish({BusEvent::Kind::Frame, userTopic(names.at(int(seq % users))),
                frames[size_t(seq)], 0});
        }
    });
    tick.start(1);
    while (run.received < total)
        app.processEvents(QEventLoop::AllEvents, 5);
    tick.stop();
    std::fflush(stdout);
    std::printf("latency at %d msgs/s for %d s (%lld messages, %d users): p50 %.2f ms, "
                "p99 %.2f ms, max %.2f ms\n",
        rate, seconds, static_cast<long long>(total), users, percentile(run.latencyNs, 0.50),
        percentile(run.latencyNs, 0.99), percentile(run.latencyNs, 1.0));

    nodeA.close();
    nodeB.close();
    store.close();
    return 0;
}
