#include "servermain.h"

#include "configcheck.h"
#include "eventdispatcher.h"
#include "logformat.h"
#include "logging.h"
#include "passwordhasher.h"
#include "processcontrol.h"
#include "server.h"
#include "serverconfig.h"

#include <QCoreApplication>
#include <QDir>
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

// `parley server --check-config`: the summary on stdout and 0, or the errors on stderr
// and 2.
int checkConfig(const ServerConfig &config, bool sodiumOk)
{
    ConfigCheck check
        = checkServerConfig(config, QProcessEnvironment::systemEnvironment(), QDir::homePath());
    if (!sodiumOk)
        check.errors += u"libsodium failed to initialise"_s;
    if (!check.errors.isEmpty()) {
        for (const QString &error : std::as_const(check.errors))
            printLine(stderr, u"parley server: "_s + error);
        return 2;
    }
    QString text = u"configuration OK\n"_s;
    for (const QString &line : std::as_const(check.summary))
        text += u"  "_s + line + u'\n';
    printLine(stdout, text);
    return 0;
}

} // namespace

int runServer(int argc, char **argv, const QStringList &arguments)
{
    // The application object first: checking the TLS files already uses Qt Network. Its
    // thread accepts every connection, so it gets the dispatcher the socket threads get.
    process::useScalableDispatcherForApplication();
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
    process::installLogFormat(config.logFormat, config.nodeId);

    const bool sodiumOk = PasswordHasher::initialize();
    if (config.checkOnly)
        return checkConfig(config, sodiumOk);

    // After the configuration, failures are log events: one JSON line with --log-format
    // json, the plain "parley server: ..." line otherwise.
    auto fail = [&config](const QString &error) {
        if (config.logFormat == process::LogFormat::Json)
            qCCritical(lcServer).noquote() << error;
        else
            printLine(stderr, u"parley server: "_s + error);
        return 1;
    };
    if (!sodiumOk)
        return fail(u"libsodium failed to initialise"_s);

    // Every connection is a descriptor: take the hard limit, not the 1024 default.
    process::raiseFileLimit();

    Server server(config);
    QString error;
    // Signals before start(): opening the store can take minutes (a schema upgrade builds
    // the search index), and a SIGHUP's default action would kill the process midway (a
    // certbot hook reloading during an upgrade). The handlers only queue work for the
    // event loop, which runs once the server has started. SIGTERM/SIGINT drain and stop
    // the server, SIGHUP reloads the TLS certificate.
    if (!process::handleTermination(
            &server, [&server] { server.shutdown(); }, &error)
        || !process::handleReload(
            &server, [&server] { server.reloadTls(); }, &error))
        return fail(error);
    if (!server.start(&error))
        return fail(error);
    QObject::connect(
        &server, &Server::stopped, &app, &QCoreApplication::quit, Qt::QueuedConnection);

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
    return app.exec();
}

} // namespace parley::server
