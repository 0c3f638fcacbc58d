#include "servermain.h"

#include "logging.h"
#include "passwordhasher.h"
#include "server.h"
#include "serverconfig.h"

#include <QCoreApplication>
#include <QProcessEnvironment>
#include <QSocketNotifier>

#include <cstdio>

#ifdef Q_OS_UNIX
#include <csignal>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

using namespace Qt::StringLiterals;

namespace parley::server {

namespace {

#ifdef Q_OS_UNIX
int g_signalPipe[2] = {-1, -1};

void onSignal(int)
{
    const char byte = 1;
    [[maybe_unused]] const auto written = ::write(g_signalPipe[1], &byte, 1);
}
#endif

void printLine(FILE *stream, const QString &text)
{
    std::fputs(text.toLocal8Bit().constData(), stream);
    if (!text.endsWith(u'\n'))
        std::fputc('\n', stream);
    std::fflush(stream);
}

} // namespace

int runServer(int argc, char **argv, const QStringList &arguments)
{
    // The application object first: checking the TLS files already uses Qt Network.
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(u"parley"_s);
    QCoreApplication::setApplicationVersion(QStringLiteral(PARLEY_VERSION));
    const ConfigParse parsed
        = parseServerConfig(arguments, QProcessEnvironment::systemEnvironment().toStringList());
    if (!parsed.config) {
        printLine(parsed.exitCode == 0 ? stdout : stderr, parsed.output);
        return parsed.exitCode;
    }
    const ServerConfig &config = *parsed.config;

    if (qEnvironmentVariableIsEmpty("QT_MESSAGE_PATTERN"))
        qSetMessagePattern(u"%{time yyyy-MM-ddThh:mm:ss.zzz} %{type} %{category}: %{message}"_s);

    if (!PasswordHasher::initialize()) {
        printLine(stderr, u"parley server: libsodium failed to initialise"_s);
        return 1;
    }

#ifdef Q_OS_UNIX
    // Every connection is a descriptor: take the hard limit, not the 1024 default.
    rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
#endif

    Server server(config);
    QString error;
    if (!server.start(&error)) {
        printLine(stderr, u"parley server: "_s + error);
        return 1;
    }
    const QString scheme = config.useTls() ? u"wss"_s : u"ws"_s;
    const QString host = config.listenAddress.protocol() == QAbstractSocket::IPv6Protocol
        ? u"[%1]"_s.arg(config.listenAddress.toString())
        : config.listenAddress.toString();
    printLine(stdout,
        u"parley server %1 listening on %2://%3:%4/ws (node %5, %6)"_s
            .arg(QStringLiteral(PARLEY_VERSION), scheme, host)
            .arg(server.port())
            .arg(config.nodeId,
                config.store == StoreBackend::DynamoDb
                    ? u"DynamoDB tables %1*"_s.arg(config.dynamodbTablePrefix)
                    : u"data in %1"_s.arg(config.dataDir)));

#ifdef Q_OS_UNIX
    // Signals arrive on a socket pair so the handler only writes a byte and the
    // shutdown runs on the event loop (the classic self-pipe trick).
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_signalPipe) != 0) {
        printLine(stderr, u"parley server: cannot set up signal handling"_s);
        return 1;
    }
    QSocketNotifier notifier(g_signalPipe[0], QSocketNotifier::Read);
    QObject::connect(&notifier, &QSocketNotifier::activated, &server, [&server, &notifier] {
        char byte;
        [[maybe_unused]] const auto got = ::read(g_signalPipe[0], &byte, 1);
        notifier.setEnabled(false);
        server.shutdown();
    });
    struct sigaction action = {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
#endif
    QObject::connect(
        &server, &Server::stopped, &app, &QCoreApplication::quit, Qt::QueuedConnection);
    return app.exec();
}

} // namespace parley::server
