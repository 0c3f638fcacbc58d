// bench_receive: CPU cost of client-core's receive path, per message.
//
// A real `parley server` and a sender process (clientdriver) run outside this process;
// this process holds only the receiving client-core (Client with an on-disk cache). The
// process's user+system CPU time from the first message to the last one committed to
// the cache, divided by the messages, is the whole receive path: WebSocket framing,
// JSON decode, the timeline, the cache write and the delivered receipts.
//
//   bench_receive [--messages N]
#include "benchsupport.h"
#include "cache.h"
#include "client.h"
#include "codec.h"
#include "credentialstore.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>
#include <functional>
#include <sys/resource.h>

using namespace Qt::StringLiterals;
using namespace parley::client;

using parley::bench::spinFor;

namespace {

double cpuSeconds()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addHelpOption();
    parser.addOption(
        {u"messages"_s, u"Messages to receive (default 20000)."_s, u"N"_s, u"20000"_s});
    parser.process(app);
    const int count = parser.value(u"messages"_s).toInt();

    QTemporaryDir dir;
    QProcess server;
    server.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    server.start(QStringLiteral(PARLEY_BINARY),
        {u"server"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, dir.filePath(u"server"_s),
            u"--send-burst"_s, u"100000"_s, u"--send-rate"_s, u"100000"_s, u"--frame-burst"_s,
            u"100000"_s, u"--frame-rate"_s, u"100000"_s});
    QByteArray out;
    static const QRegularExpression listening(u"listening on ws://127.0.0.1:(\\d+)/ws"_s);
    spinFor(30000, [&] {
        server.waitForReadyRead(50);
        out += server.readAllStandardOutput();
        return listening.match(QString::fromUtf8(out)).hasMatch();
    });
    const auto match = listening.match(QString::fromUtf8(out));
    if (!match.hasMatch()) {
        std::fprintf(stderr, "server did not start\n");
        return 1;
    }
    const QUrl url(u"ws://127.0.0.1:%1/ws"_s.arg(match.captured(1)));

    MemoryCredentialStore credentials;
    ClientOptions options;
    options.dataDir = dir.filePath(u"client"_s);
    Client receiver(&credentials, options);
    receiver.setServer(url);
    receiver.signIn(u"receiver"_s, u"correct horse"_s, true, false);
    spinFor(30000, [&] { return receiver.state() == ConnectionState::Online; });
    if (receiver.state() != ConnectionState::Online) {
        std::fprintf(stderr, "receiver could not sign in\n");
        return 1;
    }

    int received = 0;
    QObject::connect(&receiver, &Client::messageAdded, &app, [&](const ChatMessage &m) {
        if (!m.outgoing)
            ++received;
    });

    // The sender queues everything at once and exits when all is acked.
    QProcess sender;
    sender.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    sender.start(QStringLiteral(CLIENT_DRIVER),
        {u"--server"_s, url.toString(), u"--data"_s, dir.filePath(u"sender"_s), u"--user"_s,
            u"sender"_s, u"--password"_s, u"correct horse"_s, u"--register"_s, u"--to"_s,
            u"receiver"_s, u"--count"_s, QString::number(count), u"--exit-when-drained"_s});

    spinFor(60000, [&] { return received > 0; });
    const double cpuStart = cpuSeconds();
    QElapsedTimer wall;
    wall.start();
    const int startAt = received;
    spinFor(600000, [&] { return received >= count; });
    bool flushed = false;
    receiver.cache()->flush(&app, [&] { flushed = true; });
    spinFor(60000, [&] { return flushed; });
    const double cpu = cpuSeconds() - cpuStart;
    const qint64 elapsed = wall.elapsed();
    const int measured = received - startAt;

    const QString conv = parley::protocol::conversationId(u"sender"_s, u"receiver"_s);
    std::printf("receive path (frame -> timeline -> cache), one client, %d messages\n", count);
    std::printf("  received in order:     %lld of %d (contiguous seq %lld)\n", qint64(received),
        count, receiver.contiguousSeq(conv));
    std::printf("  wall time:             %.2f s (%.0f msgs/s, paced by the sender)\n",
        elapsed / 1000.0, measured * 1000.0 / std::max<qint64>(1, elapsed));
    std::printf("  CPU per message:       %.1f us (user+system, all threads of this process)\n",
        measured > 0 ? cpu * 1e6 / measured : 0.0);

    sender.waitForFinished(30000);
    server.terminate();
    server.waitForFinished(30000);
    return received >= count ? 0 : 1;
}
