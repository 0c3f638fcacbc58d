// A client-core process for tests that need a real process boundary: it signs in with
// an on-disk cache, queues messages and reports on stdout, so a test can kill it with
// SIGKILL and start it again on the same cache.
//
//   clientdriver --server URL --data DIR --user U --password P [--register]
//                [--to PEER --count N --prefix P] [--exit-when-drained]
//
// Prints "ready <pending>" when the cache is open (before any network), "queued <n>"
// once n new messages are committed to the cache, and "drained" (then exits 0) when
// --exit-when-drained is given and every queued message is acked.
#include "cache.h"
#include "client.h"
#include "credentialstore.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QTextStream>
#include <QTimer>

using namespace parley::client;
using namespace Qt::StringLiterals;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addOptions({{u"server"_s, u"URL"_s, u"url"_s}, {u"data"_s, u"DIR"_s, u"dir"_s},
        {u"user"_s, u"U"_s, u"user"_s}, {u"password"_s, u"P"_s, u"password"_s},
        {u"register"_s, u"create the account"_s}, {u"to"_s, u"PEER"_s, u"peer"_s},
        {u"count"_s, u"N"_s, u"n"_s, u"0"_s}, {u"prefix"_s, u"P"_s, u"prefix"_s, u"m"_s},
        {u"exit-when-drained"_s, u"exit once the outbox is empty"_s}});
    parser.process(app);

    QTextStream out(stdout);
    auto say = [&out](const QString &line) { out << line << Qt::endl; };

    MemoryCredentialStore credentials;
    ClientOptions options;
    options.dataDir = parser.value(u"data"_s);
    options.connection.backoff = {50, 1000, 60000};
    Client client(&credentials, options);
    client.setServer(QUrl(parser.value(u"server"_s)));

    const int count = parser.value(u"count"_s).toInt();
    const bool exitWhenDrained = parser.isSet(u"exit-when-drained"_s);
    auto drainedIfEmpty = [&] {
        if (exitWhenDrained && client.pendingMessages().isEmpty()) {
            client.cache()->flush(&app, [&] {
                say(u"drained"_s);
                app.exit(0);
            });
        }
    };
    QObject::connect(&client, &Client::accountReady, &app, [&](const QString &) {
        say(u"ready "_s + QString::number(client.pendingMessages().size()));
        for (int i = 0; i < count; ++i)
            client.send(
                parser.value(u"to"_s), parser.value(u"prefix"_s) + u'-' + QString::number(i));
        client.cache()->flush(&app, [&] { say(u"queued "_s + QString::number(count)); });
    });
    QObject::connect(&client, &Client::outboxDrained, &app, drainedIfEmpty);
    QObject::connect(&client, &Client::synced, &app, drainedIfEmpty);
    QObject::connect(&client, &Client::authenticationRequired, &app,
        [&](const QString &reason, const QString &code) {
            say(u"auth-required "_s + code + u' ' + reason);
            app.exit(2);
        });
    client.signIn(
        parser.value(u"user"_s), parser.value(u"password"_s), parser.isSet(u"register"_s), false);
    return app.exec();
}
