#include "servermain.h"

#include "logging.h"
#include "passwordhasher.h"
#include "processcontrol.h"
#include "server.h"
#include "serverconfig.h"

#include <QCoreApplication>
#include <QProcessEnvironment>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace parley::server {

namespace {

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

    // Every connection is a descriptor: take the hard limit, not the 1024 default.
    process::raiseFileLimit();

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

    // SIGTERM/SIGINT drain and stop the server on the event loop.
    if (!process::handleTermination(
            &server, [&server] { server.shutdown(); }, &error)) {
        printLine(stderr, u"parley server: "_s + error);
        return 1;
    }
    QObject::connect(
        &server, &Server::stopped, &app, &QCoreApplication::quit, Qt::QueuedConnection);
    return app.exec();
}

} // namespace parley::server
