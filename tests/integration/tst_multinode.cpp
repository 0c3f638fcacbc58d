// Several `parley server` nodes on one Redis and one store (SQLite shared on this
// machine, or DynamoDB on dynalite with PARLEY_TEST_STORE=dynamodb): the whole
// protocol across nodes, Redis connections killed and Redis restarted mid-traffic,
// a node killed mid-traffic, presence expiring after a node dies. Each ends with
// nothing acked missing and nothing duplicated.
#include "codec.h"
#include "redisserver.h"
#include "serverfixture.h"

#include <QJsonArray>
#include <QUuid>

#include <utility>

using namespace Qt::StringLiterals;
using namespace parley::test;

namespace {

QJsonObject sendFrame(const QString &to, const QString &cid, const QString &body)
{
    return {
        {u"type"_s, u"send"_s}, {u"rid"_s, cid}, {u"to"_s, to}, {u"cid"_s, cid}, {u"body"_s, body}};
}

// seq -> how many msg frames of `conv` the client was sent.
QHash<qint64, int> messageCounts(const Client &client, const QString &conv)
{
    QHash<qint64, int> counts;
    for (const QJsonObject &frame : client.frames) {
        if (frame.value(u"type"_s).toString() == u"msg"_s
            && frame.value(u"conv"_s).toString() == conv)
            ++counts[frame.value(u"seq"_s).toInteger()];
    }
    return counts;
}

} // namespace

class tst_MultiNode : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void crossNodeChat();
    void redisConnectionsKilledAndRedisRestarted();
    void nodeKilledMidTraffic();
    void presenceExpiresAfterANodeDies();

private:
    ServerProcess *startNode(const QString &name);
    std::unique_ptr<Client> signIn(ServerProcess *node, const QString &user, bool login = false);
    std::unique_ptr<Client> resume(ServerProcess *node, const QString &token);
    // Every message of `conv` in the store, by seq (history pages from the start; gap
    // entries left out).
    QList<QJsonObject> storedMessages(Client &client, const QString &conv);
    // A sample of the node's /metrics (an unlabelled counter or gauge).
    double metric(ServerProcess *node, const QByteArray &name);
    // GET `path` on the node's HTTP side: the status code (-1: no answer) and the body.
    std::pair<int, QByteArray> fetch(ServerProcess *node, const QString &path);
    // The same, with the body read as a JSON object.
    std::pair<int, QJsonObject> httpGet(ServerProcess *node, const QString &path);

    RedisServer m_redis;
    std::unique_ptr<QTemporaryDir> m_dataDir; // shared by the nodes of one test
    QList<ServerProcess *> m_nodes;
    int m_users = 0;
};

void tst_MultiNode::initTestCase()
{
    QVERIFY2(m_redis.start(), qPrintable(m_redis.errorString()));
}

void tst_MultiNode::init()
{
    m_dataDir = std::make_unique<QTemporaryDir>();
}

void tst_MultiNode::cleanup()
{
    qDeleteAll(m_nodes);
    m_nodes.clear();
    m_dataDir.reset();
}

ServerProcess *tst_MultiNode::startNode(const QString &name)
{
    auto *node = new ServerProcess(m_dataDir->path());
    m_nodes.append(node);
    if (!node->start({u"--redis"_s, m_redis.url(), u"--node-id"_s, name})) {
        qWarning("node %s did not start: %s", qPrintable(name), node->errors().constData());
        return nullptr;
    }
    return node;
}

std::unique_ptr<Client> tst_MultiNode::signIn(ServerProcess *node, const QString &user, bool login)
{
    auto client = std::make_unique<Client>();
    if (!client->open(node->url()))
        return nullptr;
    const QJsonObject welcome = client->signIn(user, u"correct horse"_s, login);
    if (welcome.value(u"type"_s).toString() != u"welcome"_s) {
        qWarning("sign-in of %s failed: %s", qPrintable(user),
            QJsonDocument(welcome).toJson(QJsonDocument::Compact).constData());
        return nullptr;
    }
    client->frames.append(welcome); // kept for its token
    return client;
}

std::unique_ptr<Client> tst_MultiNode::resume(ServerProcess *node, const QString &token)
{
    auto client = std::make_unique<Client>();
    if (!client->open(node->url()))
        return nullptr;
    const QJsonObject welcome
        = client->request({{u"type"_s, u"resume"_s}, {u"token"_s, token}}, 30000);
    if (welcome.value(u"type"_s).toString() != u"welcome"_s)
        return nullptr;
    return client;
}

QList<QJsonObject> tst_MultiNode::storedMessages(Client &client, const QString &conv)
{
    QList<QJsonObject> messages;
    qint64 after = 0;
    for (;;) {
        const QJsonObject page = client.request(
            {{u"type"_s, u"history"_s}, {u"conv"_s, conv}, {u"after"_s, after}, {u"limit"_s, 500}});
        const QJsonArray items = page.value(u"messages"_s).toArray();
        for (const QJsonValue &item : items) {
            if (!item.toObject().value(u"gap"_s).toBool()) // a seq a dead node never wrote
                messages.append(item.toObject());
            after = item.toObject().value(u"seq"_s).toInteger();
        }
        if (!page.value(u"more"_s).toBool() || items.isEmpty())
            return messages;
    }
}

std::pair<int, QByteArray> tst_MultiNode::fetch(ServerProcess *node, const QString &path)
{
    QUrl url = node->url(path);
    url.setScheme(u"http"_s);
    QNetworkAccessManager http;
    std::unique_ptr<QNetworkReply> reply(http.get(QNetworkRequest(url)));
    if (!QTest::qWaitFor([&] { return reply->isFinished(); }, 10000))
        return {-1, {}};
    return {reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), reply->readAll()};
}

double tst_MultiNode::metric(ServerProcess *node, const QByteArray &name)
{
    for (const QByteArray &line : fetch(node, u"/metrics"_s).second.split('\n')) {
        if (line.startsWith(QByteArray(name + ' ')))
            return line.mid(name.size() + 1).toDouble();
    }
    return -1;
}

std::pair<int, QJsonObject> tst_MultiNode::httpGet(ServerProcess *node, const QString &path)
{
    const auto [status, body] = fetch(node, path);
    return {status, QJsonDocument::fromJson(body).object()};
}

void tst_MultiNode::crossNodeChat()
{
    ServerProcess *a = startNode(u"node-a"_s);
    ServerProcess *b = startNode(u"node-b"_s);
    QVERIFY(a && b);
    const QString alice = u"alice%1"_s.arg(++m_users);
    const QString bob = u"bob%1"_s.arg(m_users);
    auto bobOnB = signIn(b, bob);
    auto aliceOnA = signIn(a, alice);
    QVERIFY(aliceOnA && bobOnB);
    const QString conv = parley::protocol::conversationId(alice, bob);

    // /healthz names the Redis bus.
    {
        const QJsonObject bus = httpGet(a, u"/healthz"_s).second.value(u"bus"_s).toObject();
        QCOMPARE(bus.value(u"backend"_s).toString(), u"redis"_s);
        QVERIFY(bus.value(u"ok"_s).toBool());
        QVERIFY(bus.value(u"detail"_s).toString().contains(u"node-a"_s));
    }

    // msg: alice on A -> bob on B, and bob's presence/alice's presence across nodes.
    const QJsonObject ack = aliceOnA->request(sendFrame(bob, u"c1"_s, u"hello across nodes"_s));
    QCOMPARE(ack.value(u"type"_s).toString(), u"ack"_s);
    const QJsonObject msg = bobOnB->next(u"msg"_s);
    QCOMPARE(msg.value(u"body"_s).toString(), u"hello across nodes"_s);
    QCOMPARE(msg.value(u"from"_s).toString(), alice);
    QCOMPARE(msg.value(u"seq"_s).toInteger(), 1);
    auto presenceOf = [](Client &client, const QString &user, const QString &state) {
        return QTest::qWaitFor(
            [&] {
                for (const QJsonObject &f : std::as_const(client.frames)) {
                    if (f.value(u"type"_s).toString() == u"presence"_s
                        && f.value(u"user"_s).toString() == user
                        && f.value(u"state"_s).toString() == state)
                        return true;
                }
                return false;
            },
            15000);
    };
    QVERIFY(presenceOf(*bobOnB, alice, u"online"_s));
    QVERIFY(presenceOf(*aliceOnA, bob, u"online"_s));

    // typing and receipts, both ways.
    bobOnB->send({{u"type"_s, u"typing"_s}, {u"to"_s, alice}, {u"state"_s, u"start"_s}});
    const QJsonObject typing = aliceOnA->next(u"typing"_s);
    QCOMPARE(typing.value(u"from"_s).toString(), bob);
    QCOMPARE(bobOnB
                 ->request({{u"type"_s, u"receipt"_s}, {u"conv"_s, conv}, {u"kind"_s, u"read"_s},
                     {u"upTo"_s, 1}})
                 .value(u"type"_s)
                 .toString(),
        u"ok"_s);
    const QJsonObject receipt = aliceOnA->next(u"receipt"_s);
    QCOMPARE(receipt.value(u"by"_s).toString(), bob);
    QCOMPARE(receipt.value(u"upTo"_s).toInteger(), 1);

    // A second device of alice, on B, sees her own sends from A.
    auto aliceOnB = signIn(b, alice, true);
    QVERIFY(aliceOnB);
    QCOMPARE(
        aliceOnA->request(sendFrame(bob, u"c2"_s, u"second"_s)).value(u"seq"_s).toInteger(), 2);
    QCOMPARE(bobOnB->next(u"msg"_s).value(u"seq"_s).toInteger(), 2);
    QCOMPARE(aliceOnB->next(u"msg"_s).value(u"seq"_s).toInteger(), 2);

    // Offline across nodes once every device of alice is gone.
    aliceOnA.reset();
    aliceOnB.reset();
    QVERIFY(presenceOf(*bobOnB, alice, u"offline"_s));
}

void tst_MultiNode::redisConnectionsKilledAndRedisRestarted()
{
    ServerProcess *a = startNode(u"node-a"_s);
    ServerProcess *b = startNode(u"node-b"_s);
    QVERIFY(a && b);
    const QString alice = u"alice%1"_s.arg(++m_users);
    const QString bob = u"bob%1"_s.arg(m_users);
    auto bobOnB = signIn(b, bob);
    auto aliceOnA = signIn(a, alice);
    QVERIFY(aliceOnA && bobOnB);
    const QString conv = parley::protocol::conversationId(alice, bob);

    // Three rounds of sends; between them every Redis link is killed, then Redis
    // restarts (empty). Sends keep being stored and acked meanwhile.
    constexpr int PerRound = 60;
    int acked = 0;
    auto round = [&](int r) {
        for (int i = 0; i < PerRound; ++i) {
            const QString cid = u"r%1-%2"_s.arg(r).arg(i);
            aliceOnA->send(sendFrame(bob, cid, u"message "_s + cid));
        }
        for (int i = 0; i < PerRound; ++i) {
            const QJsonObject reply = aliceOnA->reply(u"r%1-%2"_s.arg(r).arg(i), 30000);
            if (reply.value(u"type"_s).toString() == u"ack"_s)
                ++acked;
        }
    };
    round(0);
    QVERIFY(m_redis.killClients() >= 4); // cmd + sub links of both nodes
    round(1); // while the links reconnect
    QTRY_VERIFY_WITH_TIMEOUT(metric(a, "parley_bus_reconnects_total") >= 1
            && metric(b, "parley_bus_reconnects_total") >= 1,
        30000);
    m_redis.stop();
    round(2); // while Redis is down: stored and acked, not delivered yet
    // Degraded, yet still ready: a load balancer keeps sending users to a node that
    // stores and acks.
    QTRY_VERIFY_WITH_TIMEOUT(
        !httpGet(a, u"/healthz"_s).second.value(u"bus"_s).toObject().value(u"ok"_s).toBool(),
        30000);
    QCOMPARE(httpGet(a, u"/healthz"_s).second.value(u"status"_s).toString(), u"degraded"_s);
    QCOMPARE(httpGet(a, u"/readyz"_s).first, 200);
    QVERIFY2(m_redis.start(), qPrintable(m_redis.errorString()));
    QCOMPARE(acked, 3 * PerRound);

    // Every acked message reaches bob, on the other node, exactly once, without bob
    // asking: live or by the nodes' catch-up once Redis is back.
    QTRY_COMPARE_WITH_TIMEOUT(messageCounts(*bobOnB, conv).size(), 3 * PerRound, 60000);
    const QHash<qint64, int> counts = messageCounts(*bobOnB, conv);
    for (qint64 seq = 1; seq <= 3 * PerRound; ++seq)
        QVERIFY2(counts.value(seq) == 1,
            qPrintable(u"seq %1 arrived %2 times"_s.arg(seq).arg(counts.value(seq))));
    const QList<QJsonObject> stored = storedMessages(*bobOnB, conv);
    QCOMPARE(stored.size(), 3 * PerRound);
    // The third round can only have come through the catch-up.
    QVERIFY(metric(b, "parley_bus_caught_up_total") >= PerRound);
    QTRY_VERIFY_WITH_TIMEOUT(metric(b, "parley_bus_reconnects_total") >= 2, 30000);
    QVERIFY(metric(a, "parley_bus_publish_failures_total") >= PerRound);
}

void tst_MultiNode::nodeKilledMidTraffic()
{
    ServerProcess *a = startNode(u"node-a"_s);
    ServerProcess *b = startNode(u"node-b"_s);
    ServerProcess *c = startNode(u"node-c"_s);
    QVERIFY(a && b && c);
    const QString alice = u"alice%1"_s.arg(++m_users);
    const QString bob = u"bob%1"_s.arg(m_users);
    auto bobOnB = signIn(b, bob);
    auto aliceOnA = signIn(a, alice);
    QVERIFY(aliceOnA && bobOnB);
    const QString token = aliceOnA->frames.first().value(u"token"_s).toString();
    const QString conv = parley::protocol::conversationId(alice, bob);

    // alice sends a burst from A; A is killed in the middle of it.
    constexpr int Total = 200;
    QStringList cids;
    for (int i = 0; i < Total; ++i)
        cids.append(QUuid::createUuid().toString(QUuid::WithoutBraces));
    QSet<QString> acked;
    for (int i = 0; i < Total / 2; ++i)
        aliceOnA->send(sendFrame(bob, cids.at(i), u"m%1"_s.arg(i)));
    QTRY_VERIFY_WITH_TIMEOUT(messageCounts(*bobOnB, conv).size() >= 10, 30000);
    a->kill();
    for (const QJsonObject &f : std::as_const(aliceOnA->frames)) {
        if (f.value(u"type"_s).toString() == u"ack"_s)
            acked.insert(f.value(u"cid"_s).toString());
    }

    // alice resumes on C and resends every unacknowledged message (same cids),
    // then the rest.
    auto aliceOnC = resume(c, token);
    QVERIFY(aliceOnC);
    for (int i = 0; i < Total; ++i) {
        if (!acked.contains(cids.at(i)))
            aliceOnC->send(sendFrame(bob, cids.at(i), u"m%1"_s.arg(i)));
    }
    for (int i = 0; i < Total; ++i) {
        if (acked.contains(cids.at(i)))
            continue;
        const QJsonObject reply = aliceOnC->reply(cids.at(i), 30000);
        QCOMPARE(reply.value(u"type"_s).toString(), u"ack"_s);
    }

    // Stored once each, all of them. bob (still on B) got none twice live; a message A
    // stored but could not publish before it died reaches him as a client fills a gap,
    // with history (the store is the source of truth).
    // On DynamoDB the seqs A took but never wrote are young gaps for a while, and a
    // forward history page stops before them until they settle (docs/dynamodb.md §12).
    QList<QJsonObject> stored;
    QTRY_COMPARE_WITH_TIMEOUT((stored = storedMessages(*bobOnB, conv)).size(), Total, 60000);
    QSet<QString> storedCids;
    for (const QJsonObject &m : stored)
        storedCids.insert(m.value(u"cid"_s).toString());
    QCOMPARE(storedCids, QSet<QString>(cids.begin(), cids.end()));
    const qint64 lastSeq = stored.last().value(u"seq"_s).toInteger(); // Total, plus A's gaps
    QTRY_VERIFY_WITH_TIMEOUT(messageCounts(*bobOnB, conv).contains(lastSeq), 30000);
    const QHash<qint64, int> counts = messageCounts(*bobOnB, conv);
    for (auto it = counts.constBegin(); it != counts.constEnd(); ++it)
        QVERIFY2(it.value() == 1,
            qPrintable(u"seq %1 arrived %2 times"_s.arg(it.key()).arg(it.value())));

    // bob's node dies too: bob resumes on C and catches up with sync + history.
    const QString bobToken = bobOnB->frames.first().value(u"token"_s).toString();
    b->kill();
    auto bobOnC = resume(c, bobToken);
    QVERIFY(bobOnC);
    const QJsonObject sync = bobOnC->request({{u"type"_s, u"sync"_s}});
    QCOMPARE(sync.value(u"items"_s).toArray().first().toObject().value(u"lastSeq"_s).toInteger(),
        lastSeq);
    QCOMPARE(storedMessages(*bobOnC, conv).size(), Total);
}

void tst_MultiNode::presenceExpiresAfterANodeDies()
{
    ServerProcess *a = startNode(u"node-a"_s);
    ServerProcess *b = startNode(u"node-b"_s);
    QVERIFY(a && b);
    const QString alice = u"alice%1"_s.arg(++m_users);
    const QString bob = u"bob%1"_s.arg(m_users);
    auto aliceOnA = signIn(a, alice);
    auto bobOnB = signIn(b, bob);
    QVERIFY(aliceOnA && bobOnB);
    const QJsonObject watched
        = bobOnB->request({{u"type"_s, u"watch"_s}, {u"users"_s, QJsonArray {alice}}});
    QCOMPARE(watched.value(u"type"_s).toString(), u"ok"_s);
    const QJsonObject now = bobOnB->next(u"presence"_s);
    QCOMPARE(now.value(u"state"_s).toString(), u"online"_s);

    // A dies without a goodbye: within the presence TTL (20 s) plus one refresh
    // interval (5 s), bob, on B, learns that alice is offline.
    a->kill();
    const QJsonObject offline = bobOnB->next(u"presence"_s, 40000);
    QCOMPARE(offline.value(u"user"_s).toString(), alice);
    QCOMPARE(offline.value(u"state"_s).toString(), u"offline"_s);
    QVERIFY(offline.contains(u"lastSeen"_s));
    const QJsonObject users
        = bobOnB->request({{u"type"_s, u"users"_s}, {u"prefix"_s, alice}, {u"limit"_s, 10}});
    QCOMPARE(users.value(u"users"_s).toArray().first().toObject().value(u"state"_s).toString(),
        u"offline"_s);
}

QTEST_GUILESS_MAIN(tst_MultiNode)
#include "tst_multinode.moc"
