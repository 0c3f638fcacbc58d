// RedisConnection and RedisSubscriber against a real redis-server on a loopback
// port: handshake (HELLO 3, AUTH, SELECT), pipelining in order, the bounded
// queue, pending commands failed when the link drops, reconnect after CLIENT
// KILL and a Redis restart, resubscription, and a hostile peer.
#include "redisconnection.h"
#include "redisserver.h"
#include "redissubscriber.h"

#include <QTcpServer>
#include <QTcpSocket>
#include <QtTest>

using namespace Qt::StringLiterals;
using namespace parley::server::redis;
using parley::test::RedisServer;

namespace {

RedisConnection::Options optionsFor(const QString &url, const QString &name)
{
    QString error;
    const std::optional<RedisUrl> parsed = parseRedisUrl(url, &error);
    if (!parsed)
        qFatal("%s", qPrintable(error));
    RedisConnection::Options options;
    options.url = *parsed;
    options.clientName = name;
    options.backoffBaseMs = 20;
    options.backoffCapMs = 200;
    return options;
}

} // namespace

class tst_RedisConnection : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void pipelinedRepliesArriveInOrder();
    void selectsTheDatabase();
    void authenticates();
    void wrongPasswordIsReportedWithoutThePassword();
    void notReadyAndFullQueueRefuseCommands();
    void droppedLinkFailsEveryPendingCommandAndReconnects();
    void reconnectsAfterRedisRestart();
    void subscriberDeliversAndResubscribes();
    void hostilePeerIsAProtocolError();

private:
    RedisServer m_redis;
};

void tst_RedisConnection::initTestCase()
{
    QVERIFY2(m_redis.start(), qPrintable(m_redis.errorString()));
}

void tst_RedisConnection::pipelinedRepliesArriveInOrder()
{
    RedisConnection link(optionsFor(m_redis.url(), u"test:pipeline"_s));
    link.start();
    QTRY_VERIFY_WITH_TIMEOUT(link.isReady(), 10000);
    QVERIFY(link.command({"DEL", "counter"}));
    QList<qint64> seen;
    for (int i = 0; i < 2000; ++i)
        QVERIFY(link.command({"INCR", "counter"}, [&](const RespValue &reply) {
            seen.append(reply.type == RespValue::Type::Integer ? reply.integer : -1);
        }));
    QTRY_COMPARE_WITH_TIMEOUT(seen.size(), 2000, 10000);
    for (int i = 0; i < 2000; ++i)
        QCOMPARE(seen.at(i), i + 1);
    RespValue error;
    QVERIFY(link.command({"NOSUCHCOMMAND"}, [&](const RespValue &reply) { error = reply; }));
    QTRY_VERIFY(error.isError());
    QVERIFY(error.string.startsWith("ERR unknown command"));
}

void tst_RedisConnection::selectsTheDatabase()
{
    RedisConnection link(optionsFor(m_redis.url() + u"/3"_s, u"test:select"_s));
    link.start();
    QTRY_VERIFY_WITH_TIMEOUT(link.isReady(), 10000);
    QByteArray info;
    QVERIFY(link.command({"CLIENT", "INFO"}, [&](const RespValue &reply) { info = reply.string; }));
    QTRY_VERIFY(!info.isEmpty());
    QVERIFY2(info.contains(" db=3 "), info.constData());
    QVERIFY2(info.contains(" resp=3"), info.constData());
    QVERIFY2(info.contains(" name=test:select "), info.constData());
}

void tst_RedisConnection::authenticates()
{
    RedisServer secured;
    QVERIFY2(secured.start(u"s3cret-pw"_s), qPrintable(secured.errorString()));
    RedisConnection link(optionsFor(secured.url(), u"test:auth"_s));
    link.start();
    QTRY_VERIFY_WITH_TIMEOUT(link.isReady(), 10000);
    RespValue pong;
    QVERIFY(link.command({"PING"}, [&](const RespValue &reply) { pong = reply; }));
    QTRY_COMPARE(pong, RespValue::simple("PONG"));
}

void tst_RedisConnection::wrongPasswordIsReportedWithoutThePassword()
{
    RedisServer secured;
    QVERIFY2(secured.start(u"right-pw"_s), qPrintable(secured.errorString()));
    RedisConnection link(
        optionsFor(u"redis://:wrong-pw-123@127.0.0.1:%1"_s.arg(secured.port()), u"test:auth"_s));
    link.start();
    QTRY_VERIFY_WITH_TIMEOUT(link.lastError().contains(u"WRONGPASS"_s), 10000);
    QVERIFY(!link.isReady());
    QVERIFY(link.lastError().startsWith(u"HELLO 3 failed: "_s));
    QVERIFY(!link.lastError().contains(u"wrong-pw-123"_s));
}

void tst_RedisConnection::notReadyAndFullQueueRefuseCommands()
{
    RedisConnection::Options options = optionsFor(m_redis.url(), u"test:queue"_s);
    options.maxPending = 10;
    RedisConnection link(options);
    QVERIFY(!link.command({"PING"}));
    link.start();
    QTRY_VERIFY_WITH_TIMEOUT(link.isReady(), 10000);
    int answered = 0;
    for (int i = 0; i < 10; ++i)
        QVERIFY(link.command({"PING"}, [&](const RespValue &) { ++answered; }));
    QVERIFY(!link.command({"PING"}, [&](const RespValue &) { ++answered; }));
    QTRY_COMPARE(answered, 10);
    QVERIFY(link.command({"PING"}));
}

void tst_RedisConnection::droppedLinkFailsEveryPendingCommandAndReconnects()
{
    RedisConnection link(optionsFor(m_redis.url(), u"test:drop"_s));
    int readies = 0;
    QStringList losses;
    connect(&link, &RedisConnection::ready, this, [&] { ++readies; });
    connect(&link, &RedisConnection::lost, this, [&](const QString &why) { losses.append(why); });
    link.start();
    QTRY_COMPARE_WITH_TIMEOUT(readies, 1, 10000);

    // A command Redis answers only after a while, then a pipeline behind it:
    // killing the link must answer every one of them, with LINK errors.
    int answered = 0;
    int linkErrors = 0;
    auto count = [&](const RespValue &reply) {
        ++answered;
        if (reply.isError() && reply.string.startsWith("LINK "))
            ++linkErrors;
    };
    QVERIFY(link.command({"BLPOP", "never-filled", "30"}, count));
    for (int i = 0; i < 100; ++i)
        QVERIFY(link.command({"PING"}, count));
    QVERIFY(m_redis.killClients() >= 1); // once: QTRY_* evaluates twice
    QTRY_COMPARE_WITH_TIMEOUT(answered, 101, 10000);
    QCOMPARE(linkErrors, 101);
    QCOMPARE(losses.size(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(readies, 2, 10000);
    RespValue pong;
    QVERIFY(link.command({"PING"}, [&](const RespValue &reply) { pong = reply; }));
    QTRY_COMPARE(pong, RespValue::simple("PONG"));
}

void tst_RedisConnection::reconnectsAfterRedisRestart()
{
    RedisConnection link(optionsFor(m_redis.url(), u"test:restart"_s));
    int readies = 0;
    connect(&link, &RedisConnection::ready, this, [&] { ++readies; });
    link.start();
    QTRY_COMPARE_WITH_TIMEOUT(readies, 1, 10000);
    QVERIFY2(m_redis.restart(), qPrintable(m_redis.errorString()));
    QTRY_COMPARE_WITH_TIMEOUT(readies, 2, 15000);
    QVERIFY(link.isReady());
}

void tst_RedisConnection::subscriberDeliversAndResubscribes()
{
    RedisConnection publisher(optionsFor(m_redis.url(), u"test:pub"_s));
    RedisSubscriber subscriber(optionsFor(m_redis.url(), u"test:sub"_s));
    QList<QByteArray> received;
    int resubscribed = 0;
    connect(&subscriber, &RedisSubscriber::message, this,
        [&](const QByteArray &channel, const QByteArray &payload) {
            received.append(channel + '=' + payload);
        });
    connect(&subscriber, &RedisSubscriber::patternMessage, this,
        [&](const QByteArray &pattern, const QByteArray &channel, const QByteArray &payload) {
            received.append(pattern + '|' + channel + '=' + payload);
        });
    connect(&subscriber, &RedisSubscriber::resubscribed, this, [&] { ++resubscribed; });
    subscriber.subscribe("chan:a"); // before the link is up: sent on connect
    subscriber.psubscribe("pat:*");
    publisher.start();
    subscriber.start();
    QTRY_VERIFY_WITH_TIMEOUT(publisher.isReady(), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(resubscribed, 1, 10000);
    subscriber.subscribe("chan:b");

    auto publish = [&](const QByteArray &channel, const QByteArray &payload) {
        qint64 receivers = -1;
        publisher.command({"PUBLISH", channel, payload},
            [&](const RespValue &reply) { receivers = reply.integer; });
        return QTest::qWaitFor([&] { return receivers >= 0; }, 5000) ? receivers : -1;
    };
    QCOMPARE(publish("chan:b", "1"), 1); // answered after chan:b's SUBSCRIBE: in order
    QCOMPARE(publish("chan:a", QByteArray("bin\0ary", 7)), 1);
    QCOMPARE(publish("pat:x", "3"), 1);
    QCOMPARE(publish("other", "4"), 0);
    QTRY_COMPARE(received,
        (QList<QByteArray> {"chan:b=1", QByteArray("chan:a=bin\0ary", 14), "pat:*|pat:x=3"}));

    received.clear();
    QVERIFY(m_redis.killClients() >= 2);
    QTRY_COMPARE_WITH_TIMEOUT(resubscribed, 2, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(publisher.isReady(), 10000);
    QCOMPARE(publish("chan:a", "after"), 1);
    subscriber.unsubscribe("chan:b");
    QCOMPARE(subscriber.channelCount(), 1);
    QTRY_COMPARE(publish("chan:b", "gone"), 0);
    QTRY_COMPARE(received, (QList<QByteArray> {"chan:a=after"}));
}

void tst_RedisConnection::hostilePeerIsAProtocolError()
{
    // A "Redis" that answers HELLO with garbage, then with an endless line.
    QTcpServer fake;
    QVERIFY(fake.listen(QHostAddress::LocalHost, 0));
    QList<QTcpSocket *> peers;
    connect(&fake, &QTcpServer::newConnection, this, [&] {
        QTcpSocket *peer = fake.nextPendingConnection();
        peers.append(peer);
        connect(peer, &QTcpSocket::readyRead, peer, [peer] {
            peer->readAll();
            peer->write("$99999999999\r\n");
        });
    });
    RedisConnection link(optionsFor(u"redis://127.0.0.1:%1"_s.arg(fake.serverPort()), u"t"_s));
    link.start();
    QTRY_VERIFY_WITH_TIMEOUT(
        link.lastError().startsWith(u"RESP protocol error: a bulk string"_s), 10000);
    QVERIFY(!link.isReady());
    link.stop();
    qDeleteAll(peers);
}

QTEST_GUILESS_MAIN(tst_RedisConnection)
#include "tst_redisconnection.moc"
