// The whole wire contract against the real `parley server` binary, driven by a
// plain QWebSocket client that knows only the protocol.
#include "serverfixture.h"

#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QTcpSocket>
#include <QUuid>

using namespace Qt::StringLiterals;
using namespace parley::test;

namespace {

QString uuid()
{
    return QUuid::createUuid().toString(QUuid::WithoutBraces);
}

QJsonObject sendFrame(const QString &to, const QString &body, const QString &cid = uuid())
{
    return {{u"type"_s, u"send"_s}, {u"to"_s, to}, {u"cid"_s, cid}, {u"body"_s, body}};
}

} // namespace

class TestServer : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<ServerProcess> m_server;
    int m_userCounter = 0;

    // Names unique per test so tests do not see each other's conversations.
    QString name(const QString &base) { return u"%1%2"_s.arg(base).arg(++m_userCounter); }

    std::unique_ptr<Client> signedIn(
        const QString &user, bool login = false, const QString &device = {})
    {
        auto client = std::make_unique<Client>();
        if (!client->open(m_server->url()))
            return nullptr;
        const QJsonObject welcome = client->signIn(user, u"correct horse"_s, login, device);
        if (welcome.value(u"type"_s) != u"welcome"_s) {
            qWarning() << "sign-in failed" << welcome;
            return nullptr;
        }
        return client;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_server = std::make_unique<ServerProcess>();
        QVERIFY2(m_server->start(), m_server->errors().constData());
    }

    void cleanupTestCase()
    {
        if (m_server)
            QCOMPARE(m_server->stop(), 0);
        // Under dynamodb-faults the suite only proves something if faults were injected.
        if (testStore() == TestStore::DynamoDbWithFaults) {
            QVERIFY(faultProxy());
            const FaultCounts counts = faultProxy()->counts();
            qInfo("fault proxy: %d forwarded, %d throttled, %d failed before, %d failed after",
                counts.forwarded, counts.throttled, counts.failedBefore, counts.failedAfter);
            QVERIFY(counts.throttled > 0 && counts.failedBefore > 0 && counts.failedAfter > 0);
        }
    }

    void helloAndSubprotocol()
    {
        Client client;
        QVERIFY(client.open(m_server->url()));
        QCOMPARE(client.socket.subprotocol(), u"parley.v1"_s);
        // hello was consumed by open(); reconnect and inspect it.
        Client raw;
        raw.socket.open(m_server->url());
        const QJsonObject hello = raw.next(u"hello"_s);
        QCOMPARE(hello.value(u"protocol"_s).toInt(), 1);
        QVERIFY(hello.value(u"server"_s).toString().startsWith(u"parley/"_s));
        QCOMPARE(hello.value(u"node"_s).toString(), u"test-node"_s);
        QCOMPARE(hello.value(u"limits"_s).toObject().value(u"maxFrameBytes"_s).toInt(), 65536);
        QCOMPARE(hello.value(u"limits"_s).toObject().value(u"maxBodyChars"_s).toInt(), 4000);
    }

    void plainHttp()
    {
        const QByteArray health
            = httpExchange(m_server->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY2(health.startsWith("HTTP/1.1 200"), health.constData());
        const QJsonObject status
            = QJsonDocument::fromJson(health.mid(health.indexOf("\r\n\r\n") + 4)).object();
        QCOMPARE(status.value(u"status"_s).toString(), u"ok"_s);
        QCOMPARE(status.value(u"node"_s).toString(), u"test-node"_s);
        QCOMPARE(
            status.value(u"store"_s).toObject().value(u"backend"_s).toString(), storeBackend());
        QCOMPARE(status.value(u"bus"_s).toObject().value(u"backend"_s).toString(), u"local"_s);
        QVERIFY(status.contains(u"version"_s));

        const QByteArray metrics
            = httpExchange(m_server->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY(metrics.startsWith("HTTP/1.1 200"));
        for (const char *name : {"parley_connections", "parley_messages_stored_total",
                 "parley_messages_duplicate_total", "parley_ack_latency_seconds_bucket",
                 "process_resident_memory_bytes"})
            QVERIFY2(metrics.contains(name), name);

        QVERIFY(httpExchange(m_server->port(), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
                    .startsWith("HTTP/1.1 404"));
        const QByteArray post = httpExchange(
            m_server->port(), "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        QVERIFY2(post.startsWith("HTTP/1.1 405"), post.constData());
        QVERIFY2(post.contains("\r\nAllow: GET, HEAD\r\n"), post.constData());

        const QByteArray ready
            = httpExchange(m_server->port(), "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY2(ready.startsWith("HTTP/1.1 200"), ready.constData());
        QVERIFY(ready.contains("\"status\":\"ok\""));

        // HEAD: the GET headers (Content-Length included) and no body.
        const QByteArray head
            = httpExchange(m_server->port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY2(head.startsWith("HTTP/1.1 200"), head.constData());
        QVERIFY(head.contains("Content-Length: "));
        QVERIFY2(head.endsWith("\r\n\r\n"), head.constData());
        QVERIFY(httpExchange(m_server->port(), "GARBAGE\r\n\r\n").startsWith("HTTP/1.1 400"));
        QVERIFY(
            httpExchange(m_server->port(), "GET / HTTP/2.0\r\n\r\n").startsWith("HTTP/1.1 505"));
    }

    void registerLoginResume()
    {
        const QString alice = name(u"alice"_s);
        Client c;
        QVERIFY(c.open(m_server->url()));
        QJsonObject welcome = c.signIn(alice.toUpper());
        QCOMPARE(welcome.value(u"type"_s).toString(), u"welcome"_s);
        QCOMPARE(welcome.value(u"user"_s).toString(), alice); // lowercased
        QCOMPARE(welcome.value(u"device"_s).toString(), u"default"_s);
        const QString token = welcome.value(u"token"_s).toString();
        QVERIFY(token.size() >= 22); // >= 128 bits
        QVERIFY(welcome.value(u"expires"_s).toDouble() > QDateTime::currentMSecsSinceEpoch());

        // Authenticating again on an authenticated connection.
        QCOMPARE(c.signIn(alice, u"correct horse"_s, true).value(u"code"_s).toString(),
            u"bad_request"_s);

        Client taken;
        QVERIFY(taken.open(m_server->url()));
        QCOMPARE(taken.signIn(alice).value(u"code"_s).toString(), u"user_exists"_s);
        QCOMPARE(taken.signIn(alice, u"wrong password"_s, true).value(u"code"_s).toString(),
            u"auth_failed"_s);
        QCOMPARE(
            taken.signIn(name(u"nobody"_s), u"whatever pw"_s, true).value(u"code"_s).toString(),
            u"auth_failed"_s);
        const QJsonObject weak = taken.signIn(name(u"weak"_s), u"short"_s);
        QCOMPARE(weak.value(u"code"_s).toString(), u"bad_request"_s);
        QVERIFY(weak.value(u"message"_s).toString().contains(u"password"_s));
        welcome = taken.signIn(alice, u"correct horse"_s, true, u"phone"_s);
        QCOMPARE(welcome.value(u"device"_s).toString(), u"phone"_s);

        Client resumed;
        QVERIFY(resumed.open(m_server->url()));
        welcome = resumed.request({{u"type"_s, u"resume"_s}, {u"token"_s, token}});
        QCOMPARE(welcome.value(u"type"_s).toString(), u"welcome"_s);
        QCOMPARE(welcome.value(u"user"_s).toString(), alice);
        QCOMPARE(welcome.value(u"token"_s).toString(), token);

        Client bogus;
        QVERIFY(bogus.open(m_server->url()));
        QCOMPARE(bogus.request({{u"type"_s, u"resume"_s}, {u"token"_s, u"not-a-token"_s}})
                     .value(u"code"_s)
                     .toString(),
            u"auth_failed"_s);
    }

    void unauthenticatedAndUnknown()
    {
        Client c;
        QVERIFY(c.open(m_server->url()));
        for (const char *type : {"sync", "send", "history", "receipt", "typing", "watch", "users",
                 "logout", "search"}) {
            const QJsonObject reply = c.request({{u"type"_s, QString::fromLatin1(type)}});
            QCOMPARE(reply.value(u"type"_s).toString(), u"error"_s);
            // Even with fields missing: the client needs to hear "sign in first".
            QCOMPARE(reply.value(u"code"_s).toString(), u"unauthenticated"_s);
        }
        QCOMPARE(
            c.request({{u"type"_s, u"sync"_s}}).value(u"code"_s).toString(), u"unauthenticated"_s);
        QCOMPARE(
            c.request({{u"type"_s, u"teleport"_s}}).value(u"code"_s).toString(), u"unknown_type"_s);
        QCOMPARE(c.request(sendFrame(u"bob"_s, u"hi"_s)).value(u"code"_s).toString(),
            u"unauthenticated"_s);
        // A malformed sign-in is still a bad_request naming the field.
        const QJsonObject bad = c.request({{u"type"_s, u"login"_s}, {u"user"_s, u"x"_s}});
        QCOMPARE(bad.value(u"code"_s).toString(), u"bad_request"_s);
        auto a = signedIn(name(u"u"_s));
        QVERIFY(a);
        QCOMPARE(a->request({{u"type"_s, u"teleport"_s}}).value(u"code"_s).toString(),
            u"unknown_type"_s);
    }

    void sendAckDeliver()
    {
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        auto a1 = signedIn(alice, false, u"laptop"_s);
        auto a2 = signedIn(alice, true, u"phone"_s);
        auto b1 = signedIn(bob, false, u"laptop"_s);
        auto b2 = signedIn(bob, true, u"phone"_s);
        QVERIFY(a1 && a2 && b1 && b2);
        const QString conv = alice < bob ? alice + u':' + bob : bob + u':' + alice;

        const QString cid = uuid();
        const qint64 before = QDateTime::currentMSecsSinceEpoch();
        QJsonObject ack = a1->request(sendFrame(bob, u"hi bob 👋"_s, cid));
        QCOMPARE(ack.value(u"type"_s).toString(), u"ack"_s);
        QCOMPARE(ack.value(u"cid"_s).toString(), cid);
        QCOMPARE(ack.value(u"conv"_s).toString(), conv);
        QCOMPARE(ack.value(u"seq"_s).toInt(), 1);
        QVERIFY(ack.value(u"ts"_s).toDouble() >= before);
        QVERIFY(!ack.contains(u"dup"_s));

        for (Client *c : {b1.get(), b2.get(), a2.get()}) {
            const QJsonObject msg = c->next(u"msg"_s);
            QCOMPARE(msg.value(u"conv"_s).toString(), conv);
            QCOMPARE(msg.value(u"seq"_s).toInt(), 1);
            QCOMPARE(msg.value(u"from"_s).toString(), alice);
            QCOMPARE(msg.value(u"to"_s).toString(), bob);
            QCOMPARE(msg.value(u"cid"_s).toString(), cid);
            QCOMPARE(msg.value(u"body"_s).toString(), u"hi bob 👋"_s);
            QCOMPARE(msg.value(u"ts"_s).toDouble(), ack.value(u"ts"_s).toDouble());
        }
        // The sending connection gets the ack, not an echo.
        QVERIFY(a1->next(u"msg"_s, 300).isEmpty());

        // Same cid again (lost ack): same conv/seq/ts, dup, nothing stored or delivered twice;
        // another body does not replace the first.
        QJsonObject dup = a1->request(sendFrame(bob, u"changed body"_s, cid));
        QCOMPARE(dup.value(u"seq"_s).toInt(), 1);
        QCOMPARE(dup.value(u"ts"_s).toDouble(), ack.value(u"ts"_s).toDouble());
        QCOMPARE(dup.value(u"dup"_s).toBool(), true);
        ack = b1->request(sendFrame(alice, u"hello alice"_s));
        QCOMPARE(ack.value(u"seq"_s).toInt(), 2);
        QCOMPARE(a1->next(u"msg"_s).value(u"seq"_s).toInt(), 2); // not a dup of 1
        const QJsonObject history = a1->request({{u"type"_s, u"history"_s}, {u"conv"_s, conv}});
        const QJsonArray messages = history.value(u"messages"_s).toArray();
        QCOMPARE(messages.size(), 2);
        QCOMPARE(messages.at(0).toObject().value(u"body"_s).toString(), u"hi bob 👋"_s);

        QCOMPARE(a1->request(sendFrame(name(u"ghost"_s), u"boo"_s)).value(u"code"_s).toString(),
            u"not_found"_s);
        QCOMPARE(
            a1->request(sendFrame(alice, u"me"_s)).value(u"code"_s).toString(), u"bad_request"_s);
    }

    void historyPagesStayUnderTheFrameLimit()
    {
        // 40 messages of 4000 two-byte characters: ~320 KB of history.
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        auto a = signedIn(alice);
        auto b = signedIn(bob);
        QVERIFY(a && b);
        const QString body(4000, u'\u00e9');
        for (int i = 0; i < 40; ++i)
            QCOMPARE(a->request({{u"type"_s, u"send"_s}, {u"to"_s, bob},
                                    {u"cid"_s, QString(u"big-"_s + QString::number(i))},
                                    {u"body"_s, body}})
                         .value(u"type"_s)
                         .toString(),
                u"ack"_s);
        const QString conv = alice < bob ? alice + u':' + bob : bob + u':' + alice;
        qint64 after = 0;
        int pages = 0;
        QList<qint64> seqs;
        for (bool more = true; more; ++pages) {
            const QJsonObject page = b->request({{u"type"_s, u"history"_s}, {u"conv"_s, conv},
                {u"after"_s, after}, {u"limit"_s, 100}});
            QCOMPARE(page.value(u"type"_s).toString(), u"history"_s);
            QVERIFY(QJsonDocument(page).toJson(QJsonDocument::Compact).size() <= 65536);
            const QJsonArray messages = page.value(u"messages"_s).toArray();
            QVERIFY(!messages.isEmpty());
            for (const QJsonValue &m : messages)
                seqs.append(m.toObject().value(u"seq"_s).toInteger());
            after = seqs.last();
            more = page.value(u"more"_s).toBool();
        }
        QVERIFY(pages > 1);
        QCOMPARE(seqs.size(), 40);
        for (int i = 0; i < 40; ++i)
            QCOMPARE(seqs.at(i), i + 1);
        // The newest page keeps the newest messages.
        const QJsonArray newest = b->request({{u"type"_s, u"history"_s}, {u"conv"_s, conv}})
                                      .value(u"messages"_s)
                                      .toArray();
        QCOMPARE(newest.last().toObject().value(u"seq"_s).toInteger(), 40);
    }

    void offlineStorageSyncAndHistory()
    {
        const QString alice = name(u"alice"_s), carol = name(u"carol"_s);
        {
            auto c = signedIn(carol);
            QVERIFY(c);
        }
        auto a = signedIn(alice);
        QVERIFY(a);
        for (int i = 1; i <= 7; ++i)
            QCOMPARE(
                a->request(sendFrame(carol, u"message %1"_s.arg(i))).value(u"seq"_s).toInt(), i);

        auto c = signedIn(carol, true);
        QVERIFY(c);
        const QJsonObject sync = c->request({{u"type"_s, u"sync"_s}});
        QCOMPARE(sync.value(u"type"_s).toString(), u"conversations"_s);
        const QJsonArray items = sync.value(u"items"_s).toArray();
        QCOMPARE(items.size(), 1);
        const QJsonObject item = items.at(0).toObject();
        const QString conv = item.value(u"conv"_s).toString();
        QCOMPARE(item.value(u"peer"_s).toString(), alice);
        QCOMPARE(item.value(u"lastSeq"_s).toInt(), 7);
        QCOMPARE(item.value(u"delivered"_s).toInt(), 0);
        QVERIFY(item.contains(u"lastTs"_s));

        QJsonObject page = c->request(
            {{u"type"_s, u"history"_s}, {u"conv"_s, conv}, {u"after"_s, 2}, {u"limit"_s, 3}});
        QJsonArray messages = page.value(u"messages"_s).toArray();
        QCOMPARE(messages.size(), 3);
        QCOMPARE(messages.at(0).toObject().value(u"seq"_s).toInt(), 3);
        QCOMPARE(messages.at(2).toObject().value(u"seq"_s).toInt(), 5);
        QCOMPARE(page.value(u"more"_s).toBool(), true);
        page = c->request({{u"type"_s, u"history"_s}, {u"conv"_s, conv}, {u"after"_s, 5}});
        QCOMPARE(page.value(u"messages"_s).toArray().size(), 2);
        QCOMPARE(page.value(u"more"_s).toBool(), false);
        page = c->request({{u"type"_s, u"history"_s}, {u"conv"_s, conv}, {u"before"_s, 3}});
        messages = page.value(u"messages"_s).toArray();
        QCOMPARE(messages.size(), 2);
        QCOMPARE(messages.at(0).toObject().value(u"seq"_s).toInt(), 1);
        QCOMPARE(page.value(u"more"_s).toBool(), false);
        page = c->request({{u"type"_s, u"history"_s}, {u"conv"_s, conv}, {u"limit"_s, 2}});
        messages = page.value(u"messages"_s).toArray();
        QCOMPARE(messages.size(), 2);
        QCOMPARE(messages.at(1).toObject().value(u"seq"_s).toInt(), 7); // newest
        QCOMPARE(page.value(u"more"_s).toBool(), true);

        QCOMPARE(c->request({{u"type"_s, u"history"_s}, {u"conv"_s, conv}, {u"after"_s, 1},
                                {u"before"_s, 5}})
                     .value(u"code"_s)
                     .toString(),
            u"bad_request"_s);
        const QString stranger = name(u"zed"_s);
        auto z = signedIn(stranger);
        QVERIFY(z);
        QCOMPARE(
            z->request({{u"type"_s, u"history"_s}, {u"conv"_s, conv}}).value(u"code"_s).toString(),
            u"forbidden"_s);
        // A conversation of the user's with no messages yet is empty.
        const QString emptyConv
            = stranger < carol ? stranger + u':' + carol : carol + u':' + stranger;
        page = z->request({{u"type"_s, u"history"_s}, {u"conv"_s, emptyConv}});
        QCOMPARE(page.value(u"type"_s).toString(), u"history"_s);
        QCOMPARE(page.value(u"messages"_s).toArray().size(), 0);
        QCOMPARE(page.value(u"more"_s).toBool(), false);
    }

    void receipts()
    {
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        auto a = signedIn(alice);
        auto b1 = signedIn(bob);
        auto b2 = signedIn(bob, true);
        QVERIFY(a && b1 && b2);
        QString conv;
        for (int i = 0; i < 5; ++i)
            conv = a->request(sendFrame(bob, u"m%1"_s.arg(i))).value(u"conv"_s).toString();

        auto receipt = [&](Client *c, const QString &kind, int upTo) {
            return c->request({{u"type"_s, u"receipt"_s}, {u"conv"_s, conv}, {u"kind"_s, kind},
                {u"upTo"_s, upTo}});
        };
        QCOMPARE(receipt(b1.get(), u"delivered"_s, 3).value(u"type"_s).toString(), u"ok"_s);
        QJsonObject r = a->next(u"receipt"_s);
        QCOMPARE(r.value(u"by"_s).toString(), bob);
        QCOMPARE(r.value(u"kind"_s).toString(), u"delivered"_s);
        QCOMPARE(r.value(u"upTo"_s).toInt(), 3);
        QCOMPARE(r.value(u"conv"_s).toString(), conv);
        QCOMPARE(b2->next(u"receipt"_s).value(u"upTo"_s).toInt(), 3); // own other device
        QVERIFY(b1->next(u"receipt"_s, 300).isEmpty()); // not the sender

        // Not advancing: ok, not forwarded.
        QCOMPARE(receipt(b1.get(), u"delivered"_s, 2).value(u"type"_s).toString(), u"ok"_s);
        QVERIFY(a->next(u"receipt"_s, 300).isEmpty());
        // Past the end: clamped to lastSeq. read implies delivered.
        receipt(b1.get(), u"read"_s, 99);
        r = a->next(u"receipt"_s);
        QCOMPARE(r.value(u"kind"_s).toString(), u"read"_s);
        QCOMPARE(r.value(u"upTo"_s).toInt(), 5);
        const QJsonObject item
            = a->request({{u"type"_s, u"sync"_s}}).value(u"items"_s).toArray().at(0).toObject();
        QCOMPARE(item.value(u"peerDelivered"_s).toInt(), 5);
        QCOMPARE(item.value(u"peerRead"_s).toInt(), 5);
        const QJsonObject mine
            = b1->request({{u"type"_s, u"sync"_s}}).value(u"items"_s).toArray().at(0).toObject();
        QCOMPARE(mine.value(u"delivered"_s).toInt(), 5);
        QCOMPARE(mine.value(u"read"_s).toInt(), 5);

        // Without rid: no reply at all; a conversation one is not part of is forbidden.
        b1->send(
            {{u"type"_s, u"receipt"_s}, {u"conv"_s, conv}, {u"kind"_s, u"read"_s}, {u"upTo"_s, 5}});
        const QString other = name(u"x"_s);
        auto x = signedIn(other);
        QVERIFY(x);
        QCOMPARE(receipt(x.get(), u"read"_s, 1).value(u"code"_s).toString(), u"forbidden"_s);
    }

    void typing()
    {
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        auto a = signedIn(alice);
        auto b = signedIn(bob);
        QVERIFY(a && b);
        QCOMPARE(a->request({{u"type"_s, u"typing"_s}, {u"to"_s, bob}, {u"state"_s, u"start"_s}})
                     .value(u"type"_s)
                     .toString(),
            u"ok"_s);
        const QJsonObject t = b->next(u"typing"_s);
        QCOMPARE(t.value(u"from"_s).toString(), alice);
        QCOMPARE(t.value(u"state"_s).toString(), u"start"_s);
        // A second one within a second is dropped silently (still ok).
        QCOMPARE(a->request({{u"type"_s, u"typing"_s}, {u"to"_s, bob}, {u"state"_s, u"stop"_s}})
                     .value(u"type"_s)
                     .toString(),
            u"ok"_s);
        QVERIFY(b->next(u"typing"_s, 300).isEmpty());
    }

    void presenceWatchAndUsers()
    {
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        auto a = signedIn(alice);
        QVERIFY(a);
        // watch: current presence of each user, then ok.
        a->send({{u"type"_s, u"watch"_s}, {u"rid"_s, u"w"_s}, {u"users"_s, QJsonArray {bob}}});
        QJsonObject p = a->next(u"presence"_s);
        QCOMPARE(p.value(u"user"_s).toString(), bob);
        QCOMPARE(p.value(u"state"_s).toString(), u"offline"_s);
        QCOMPARE(a->reply(u"w"_s).value(u"type"_s).toString(), u"ok"_s);

        auto b = signedIn(bob);
        QVERIFY(b);
        p = a->next(u"presence"_s);
        QCOMPARE(p.value(u"user"_s).toString(), bob);
        QCOMPARE(p.value(u"state"_s).toString(), u"online"_s);
        QVERIFY(!p.contains(u"lastSeen"_s));

        const QJsonObject users = a->request({{u"type"_s, u"users"_s}, {u"prefix"_s, bob.left(3)}});
        QCOMPARE(users.value(u"type"_s).toString(), u"users"_s);
        bool found = false;
        for (const QJsonValue &u : users.value(u"users"_s).toArray()) {
            if (u.toObject().value(u"user"_s).toString() == bob) {
                found = true;
                QCOMPARE(u.toObject().value(u"state"_s).toString(), u"online"_s);
            }
        }
        QVERIFY(found);

        // A conversation makes each follow the other's presence without a watch.
        const QString carol = name(u"carol"_s);
        auto c = signedIn(carol);
        QVERIFY(c);
        QCOMPARE(c->request(sendFrame(bob, u"hi"_s)).value(u"type"_s).toString(), u"ack"_s);
        b->socket.close();
        p = a->next(u"presence"_s);
        QCOMPARE(p.value(u"state"_s).toString(), u"offline"_s);
        QVERIFY(p.value(u"lastSeen"_s).toDouble() > 0);
        bool carolSaw = waitUntil([&] {
            for (const QJsonObject &f : c->frames)
                if (f.value(u"type"_s) == u"presence"_s && f.value(u"user"_s) == bob
                    && f.value(u"state"_s) == u"offline"_s)
                    return true;
            return false;
        });
        QVERIFY(carolSaw);
        // After authentication the server sends the presence of conversation peers.
        auto c2 = signedIn(carol, true);
        QVERIFY(c2);
        p = c2->next(u"presence"_s);
        QCOMPARE(p.value(u"user"_s).toString(), bob);
        QCOMPARE(p.value(u"state"_s).toString(), u"offline"_s);
        QVERIFY(p.contains(u"lastSeen"_s));
    }

    void logoutRevokesEverywhere()
    {
        const QString alice = name(u"alice"_s);
        Client first;
        QVERIFY(first.open(m_server->url()));
        const QString token = first.signIn(alice).value(u"token"_s).toString();
        Client second;
        QVERIFY(second.open(m_server->url()));
        QCOMPARE(second.request({{u"type"_s, u"resume"_s}, {u"token"_s, token}})
                     .value(u"type"_s)
                     .toString(),
            u"welcome"_s);
        auto other = signedIn(alice, true); // another token: stays
        QVERIFY(other);

        QCOMPARE(first.request({{u"type"_s, u"logout"_s}}).value(u"type"_s).toString(), u"ok"_s);
        QVERIFY(waitUntil([&] { return first.closed && second.closed; }));
        QCOMPARE(first.closeCode, QWebSocketProtocol::CloseCodeNormal);
        QCOMPARE(second.closeCode, QWebSocketProtocol::CloseCodeNormal);
        QVERIFY(!other->closed);
        QCOMPARE(other->request({{u"type"_s, u"sync"_s}}).value(u"type"_s).toString(),
            u"conversations"_s);

        Client again;
        QVERIFY(again.open(m_server->url()));
        QCOMPARE(again.request({{u"type"_s, u"resume"_s}, {u"token"_s, token}})
                     .value(u"code"_s)
                     .toString(),
            u"auth_failed"_s);
    }

    void burstOfThousandArrivesInOrder()
    {
        // A server whose send burst admits the whole burst at once.
        ServerProcess server;
        QVERIFY(server.start({u"--send-burst"_s, u"1000"_s, u"--frame-burst"_s, u"2000"_s}));
        Client a, b;
        QVERIFY(a.open(server.url()) && b.open(server.url()));
        QCOMPARE(a.signIn(u"burst_a"_s).value(u"type"_s).toString(), u"welcome"_s);
        QCOMPARE(b.signIn(u"burst_b"_s).value(u"type"_s).toString(), u"welcome"_s);
        QStringList cids;
        for (int i = 0; i < 1000; ++i) {
            cids.append(uuid());
            QJsonObject f = sendFrame(u"burst_b"_s, u"burst %1"_s.arg(i), cids.last());
            f.insert(u"rid"_s, u"s%1"_s.arg(i));
            a.send(f);
        }
        // Acks come back in send order with seq 1..1000.
        QList<QJsonObject> acks;
        QVERIFY(waitUntil(
            [&] {
                for (const QJsonObject &f : std::as_const(a.frames))
                    if (f.value(u"type"_s) != u"presence"_s)
                        acks.append(f);
                a.frames.clear();
                return acks.size() >= 1000 || a.closed;
            },
            60000));
        for (int i = 0; i < 1000; ++i) {
            const QJsonObject ack = acks.at(i);
            QCOMPARE(ack.value(u"type"_s).toString(), u"ack"_s);
            QCOMPARE(ack.value(u"rid"_s).toString(), u"s%1"_s.arg(i));
            QCOMPARE(ack.value(u"cid"_s).toString(), cids.at(i));
            QCOMPARE(ack.value(u"seq"_s).toInt(), i + 1);
        }
        // Bob received exactly 1000 messages, seq 1..1000 in order, each cid once.
        auto msgCount = [&] {
            return std::count_if(b.frames.begin(), b.frames.end(),
                [](const QJsonObject &f) { return f.value(u"type"_s) == u"msg"_s; });
        };
        QVERIFY(waitUntil([&] { return msgCount() >= 1000; }, 60000));
        int expected = 1;
        for (const QJsonObject &f : std::as_const(b.frames)) {
            if (f.value(u"type"_s) != u"msg"_s)
                continue;
            QCOMPARE(f.value(u"seq"_s).toInt(), expected);
            QCOMPARE(f.value(u"cid"_s).toString(), cids.at(expected - 1));
            ++expected;
        }
        QCOMPARE(expected, 1001);
        QCOMPARE(server.stop(), 0);
    }

    void rateLimitedSendsSayWhenToRetry()
    {
        // Default limits: a burst of 200 sends, then rate_limited with retryAfterMs,
        // every reply still in request order. Once one send is refused, every later send
        // to that conversation is refused too, until the refused one comes again: the
        // sender's messages get seqs in the order it sent them.
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        auto a = signedIn(alice);
        auto b = signedIn(bob);
        QVERIFY(a && b);
        QList<QJsonObject> sent;
        for (int i = 0; i < 260; ++i) {
            QJsonObject f = sendFrame(bob, u"m %1"_s.arg(i));
            f.insert(u"rid"_s, u"q%1"_s.arg(i));
            a->send(f);
            sent.append(f);
        }
        QList<QJsonObject> replies;
        QVERIFY(waitUntil(
            [&] {
                for (const QJsonObject &f : std::as_const(a->frames))
                    if (f.value(u"type"_s) != u"presence"_s)
                        replies.append(f);
                a->frames.clear();
                return replies.size() >= 260;
            },
            30000));
        int acked = 0, firstRefused = -1;
        qint64 lastSeq = 0;
        for (int i = 0; i < 260; ++i) {
            const QJsonObject r = replies.at(i);
            QCOMPARE(r.value(u"rid"_s).toString(), u"q%1"_s.arg(i));
            if (r.value(u"type"_s) == u"ack"_s) {
                // Nothing after a refusal is accepted: the acks are a prefix.
                QCOMPARE(firstRefused, -1);
                QVERIFY(r.value(u"seq"_s).toInteger() > lastSeq);
                lastSeq = r.value(u"seq"_s).toInteger();
                ++acked;
            } else {
                QCOMPARE(r.value(u"code"_s).toString(), u"rate_limited"_s);
                QVERIFY(r.value(u"retryAfterMs"_s).toInt() >= 1);
                if (firstRefused < 0)
                    firstRefused = i;
            }
        }
        QVERIFY(acked >= 200);
        QVERIFY(firstRefused >= 200);
        a->frames.clear();
        // After waiting as told, a new message still waits for the refused one...
        QTest::qWait(100);
        const QJsonObject held = a->request(sendFrame(bob, u"later"_s));
        QCOMPARE(held.value(u"code"_s).toString(), u"rate_limited"_s);
        QVERIFY(held.value(u"message"_s).toString().contains(u"send it again first"_s));
        // ...which, sent again, goes through, and so do the rest, in order.
        for (int i = firstRefused; i < 260; ++i) {
            QJsonObject again = sent.at(i);
            again.remove(u"rid"_s);
            QJsonObject reply = a->request(again);
            if (reply.value(u"code"_s) == u"rate_limited"_s) {
                QTest::qWait(int(reply.value(u"retryAfterMs"_s).toInteger()));
                reply = a->request(again);
            }
            QCOMPARE(reply.value(u"type"_s).toString(), u"ack"_s);
            QVERIFY(reply.value(u"seq"_s).toInteger() > lastSeq);
            lastSeq = reply.value(u"seq"_s).toInteger();
        }
    }

    void badInput_data()
    {
        QTest::addColumn<QByteArray>("frame");
        QTest::addColumn<QString>("code");
        QTest::newRow("not json") << QByteArray("hello") << u"bad_request"_s;
        QTest::newRow("truncated") << QByteArray(R"({"type":"send","rid":"1")") << u"bad_request"_s;
        QTest::newRow("array") << QByteArray("[1,2]") << u"bad_request"_s;
        QTest::newRow("no type") << QByteArray(R"({"rid":"1"})") << u"bad_request"_s;
        QTest::newRow("type number") << QByteArray(R"({"type":5})") << u"bad_request"_s;
        QTest::newRow("unknown type")
            << QByteArray(R"({"type":"nope","rid":"1"})") << u"unknown_type"_s;
        QTest::newRow("send no body")
            << QByteArray(R"({"type":"send","rid":"1","to":"bob","cid":"c"})") << u"bad_request"_s;
        QTest::newRow("send empty body")
            << QByteArray(R"({"type":"send","rid":"1","to":"bob","cid":"c","body":""})")
            << u"bad_request"_s;
        QTest::newRow("send body number")
            << QByteArray(R"({"type":"send","rid":"1","to":"bob","cid":"c","body":5})")
            << u"bad_request"_s;
        QTest::newRow("send 4001 chars")
            << (QByteArray(R"({"type":"send","rid":"1","to":"bob","cid":"c","body":")")
                   + QByteArray(4001, 'x') + "\"}")
            << u"bad_request"_s;
        QTest::newRow("send bad name")
            << QByteArray(R"({"type":"send","rid":"1","to":"b o b","cid":"c","body":"x"})")
            << u"bad_request"_s;
        QTest::newRow("send control char")
            << QByteArray(R"({"type":"send","rid":"1","to":"bob","cid":"c","body":"a\u0001b"})")
            << u"bad_request"_s;
        QTest::newRow("history huge")
            << QByteArray(R"({"type":"history","rid":"1","conv":"a1:b2","after":1e300})")
            << u"bad_request"_s;
        QTest::newRow("history negative")
            << QByteArray(R"({"type":"history","rid":"1","conv":"a1:b2","after":-1})")
            << u"bad_request"_s;
        QTest::newRow("history bad conv")
            << QByteArray(R"({"type":"history","rid":"1","conv":"zz:aa"})") << u"bad_request"_s;
        QTest::newRow("receipt bad kind")
            << QByteArray(R"({"type":"receipt","rid":"1","conv":"a1:b2","kind":"seen","upTo":1})")
            << u"bad_request"_s;
        QTest::newRow("watch not array")
            << QByteArray(R"({"type":"watch","rid":"1","users":"bob"})") << u"bad_request"_s;
        QTest::newRow("register again") << QByteArray(
            R"({"type":"register","rid":"1","user":"someone","password":"correct horse"})")
                                        << u"bad_request"_s;
        QTest::newRow("rid number") << QByteArray(R"({"type":"sync","rid":1})") << u"bad_request"_s;
    }

    void badInput()
    {
        QFETCH(QByteArray, frame);
        QFETCH(QString, code);
        static std::unique_ptr<Client> client;
        if (!client)
            client = signedIn(name(u"fuzzy"_s));
        QVERIFY(client);
        client->sendRaw(frame);
        const QJsonObject error = client->next(u"error"_s);
        QCOMPARE(error.value(u"code"_s).toString(), code);
        QVERIFY(!error.value(u"message"_s).toString().isEmpty());
        // The connection survives and still works.
        QCOMPARE(client->request({{u"type"_s, u"sync"_s}}).value(u"type"_s).toString(),
            u"conversations"_s);
        QVERIFY(!client->closed);
    }

    // Frames are parsed as strict RFC 8259 JSON (issue 18): what QJsonDocument let through
    // is a bad_request, and a U+FEFF inside a user name is not silently dropped.
    void strictJson()
    {
        const QString bob = name(u"bob"_s);
        Client c;
        QVERIFY(c.open(m_server->url()));
        // Raw bytes EF BB BF right after the opening quote of the user name.
        c.sendRaw(R"({"type":"register","rid":"bom","user":")"_ba + "\xEF\xBB\xBF"_ba + bob.toUtf8()
            + R"(","password":"correct horse"})"_ba);
        QJsonObject error = c.reply(u"bom"_s);
        QCOMPARE(error.value(u"type"_s).toString(), u"error"_s);
        QCOMPARE(error.value(u"code"_s).toString(), u"bad_request"_s);
        QVERIFY2(error.value(u"message"_s).toString().contains(u"'user'"_s),
            qPrintable(error.value(u"message"_s).toString()));

        const QList<QByteArray> lenient {
            R"({"type":"register","user":"a\qb","password":"correct horse"})"_ba,
            R"({"type":"history","conv":"a1:b2","after":.5})"_ba,
            R"({"type":"history","conv":"a1:b2","after":1.})"_ba,
            R"({"type":"register","user":"alice","user":"bob","password":"correct horse"})"_ba,
        };
        for (const QByteArray &frame : lenient) {
            c.sendRaw(frame);
            error = c.next(u"error"_s);
            QCOMPARE(error.value(u"code"_s).toString(), u"bad_request"_s);
            QVERIFY2(error.value(u"message"_s).toString().contains(u"not valid JSON"_s),
                qPrintable(error.value(u"message"_s).toString()));
        }

        // Nothing was registered under the name without the mark, which is still free.
        QVERIFY(!c.closed);
        QCOMPARE(c.signIn(bob).value(u"user"_s).toString(), bob);
    }

    void oversizedFrameCloses1009()
    {
        auto c = signedIn(name(u"big"_s));
        QVERIFY(c);
        c->sendRaw(QByteArray(R"({"type":"send","to":"bob","cid":"c","body":")")
            + QByteArray(70000, 'x') + "\"}");
        QVERIFY(waitUntil([&] { return c->closed; }));
        QCOMPARE(c->closeCode, QWebSocketProtocol::CloseCodeTooMuchData);
    }

    void floodingCloses1008()
    {
        ServerProcess server;
        QVERIFY(server.start());
        Client c;
        QVERIFY(c.open(server.url()));
        QCOMPARE(c.signIn(u"flood"_s).value(u"type"_s).toString(), u"welcome"_s);
        for (int i = 0; i < 5000 && !c.closed; ++i)
            c.send({{u"type"_s, u"sync"_s}});
        QVERIFY(waitUntil([&] { return c.closed; }, 30000));
        QCOMPARE(c.closeCode, QWebSocketProtocol::CloseCodePolicyViolated);

        // Binary messages are metered too.
        Client b;
        QVERIFY(b.open(server.url()));
        QCOMPARE(b.signIn(u"flood2"_s).value(u"type"_s).toString(), u"welcome"_s);
        for (int i = 0; i < 5000 && !b.closed; ++i)
            b.socket.sendBinaryMessage("x");
        QVERIFY(waitUntil([&] { return b.closed; }, 30000));
        // The server closes with 1008 here too, but a client still flooding may see the
        // TCP reset (the server hangs up with unread data) before the close frame; the
        // server's log says which rule closed it.
        QVERIFY(b.closeCode == QWebSocketProtocol::CloseCodePolicyViolated
            || b.closeCode == QWebSocketProtocol::CloseCodeNormal);
        const int rc = server.stop();
        QVERIFY2(rc == 0, server.errors().right(3000).constData());
        QCOMPARE(server.errors().count("closed for rate-limit abuse"), 2);
    }

    void framesHeldDuringSignInAreAnsweredInOrder()
    {
        // A client that flushes its outbox right behind its sign-in: the frames are held
        // while the password is hashed, the first 64 are then served and the rest are
        // refused with rate_limited, every reply carrying its rid, all in request order.
        Client c;
        QVERIFY(c.open(m_server->url()));
        c.send({{u"type"_s, u"register"_s}, {u"rid"_s, u"auth"_s}, {u"user"_s, name(u"held"_s)},
            {u"password"_s, u"correct horse"_s}});
        constexpr int Count = 80;
        for (int i = 0; i < Count; ++i)
            c.send({{u"type"_s, u"sync"_s}, {u"rid"_s, u"s%1"_s.arg(i)}});
        c.socket.sendBinaryMessage("binary");

        QStringList order;
        int refused = 0;
        QVERIFY(waitUntil([&] {
            while (!c.frames.isEmpty()) {
                const QJsonObject f = c.frames.takeFirst();
                const QString type = f.value(u"type"_s).toString();
                if (type == u"presence"_s)
                    continue;
                order.append(f.value(u"rid"_s).toString());
                if (type == u"error"_s && f.value(u"code"_s).toString() == u"rate_limited"_s) {
                    ++refused;
                    if (f.value(u"retryAfterMs"_s).toInteger() <= 0)
                        return true; // caught below
                }
            }
            return order.size() == Count + 2;
        }));
        QCOMPARE(order.size(), Count + 2);
        QCOMPARE(order.first(), u"auth"_s);
        for (int i = 0; i < Count; ++i)
            QCOMPARE(order.at(i + 1), u"s%1"_s.arg(i));
        QCOMPARE(order.last(), QString()); // the binary frame's bad_request has no rid
        QCOMPARE(refused, Count - 64);
    }

    void deadPeerIsDropped()
    {
        // A peer that completes the handshake and then never answers a ping.
        ServerProcess server;
        QVERIFY(server.start({u"--ping-interval"_s, u"1"_s}));
        QTcpSocket raw;
        raw.connectToHost(QHostAddress::LocalHost, server.port());
        QVERIFY(raw.waitForConnected(5000));
        raw.write("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n");
        QByteArray received;
        QVERIFY(waitUntil([&] {
            received += raw.readAll();
            return received.contains("\r\n\r\n");
        }));
        QVERIFY2(received.startsWith("HTTP/1.1 101"), received.constData());
        // Pings (opcode 0x9) arrive and go unanswered; the server hangs up.
        QVERIFY(waitUntil(
            [&] {
                received += raw.readAll();
                return raw.state() == QAbstractSocket::UnconnectedState;
            },
            15000));
        QVERIFY(received.contains(char(0x89)));
        QCOMPARE(server.stop(), 0);
    }

    void restartKeepsEverything()
    {
        // A server of its own so the shared one is not disturbed.
        ServerProcess server;
        QVERIFY(server.start());
        QString token, conv;
        {
            Client a;
            QVERIFY(a.open(server.url()));
            token = a.signIn(u"ann"_s).value(u"token"_s).toString();
            Client b;
            QVERIFY(b.open(server.url()));
            QCOMPARE(b.signIn(u"ben"_s).value(u"type"_s).toString(), u"welcome"_s);
            for (int i = 1; i <= 3; ++i)
                conv = a.request(sendFrame(u"ben"_s, u"before restart %1"_s.arg(i)))
                           .value(u"conv"_s)
                           .toString();
            b.request({{u"type"_s, u"receipt"_s}, {u"conv"_s, conv}, {u"kind"_s, u"read"_s},
                {u"upTo"_s, 2}});
        }
        QCOMPARE(server.stop(), 0);
        ServerProcess again(server.dataDir());
        QVERIFY(again.start());
        Client a;
        QVERIFY(a.open(again.url()));
        QCOMPARE(
            a.request({{u"type"_s, u"resume"_s}, {u"token"_s, token}}).value(u"user"_s).toString(),
            u"ann"_s);
        QCOMPARE(a.request(sendFrame(u"ben"_s, u"after restart"_s)).value(u"seq"_s).toInt(), 4);
        const QJsonObject item
            = a.request({{u"type"_s, u"sync"_s}}).value(u"items"_s).toArray().at(0).toObject();
        QCOMPARE(item.value(u"lastSeq"_s).toInt(), 4);
        QCOMPARE(item.value(u"peerRead"_s).toInt(), 2);
        Client b;
        QVERIFY(b.open(again.url()));
        QCOMPARE(
            b.signIn(u"ben"_s, u"correct horse"_s, true).value(u"type"_s).toString(), u"welcome"_s);
        const QJsonArray messages = b.request({{u"type"_s, u"history"_s}, {u"conv"_s, conv}})
                                        .value(u"messages"_s)
                                        .toArray();
        QCOMPARE(messages.size(), 4);
        QCOMPARE(messages.at(0).toObject().value(u"body"_s).toString(), u"before restart 1"_s);
        QCOMPARE(again.stop(), 0);
    }

    void sigtermDrainsWith1001()
    {
        ServerProcess server;
        QVERIFY(server.start());
        Client a;
        QVERIFY(a.open(server.url()));
        QCOMPARE(a.signIn(u"dana"_s).value(u"type"_s).toString(), u"welcome"_s);
        server.process()->terminate();
        QVERIFY(waitUntil([&] { return a.closed; }, 20000));
        QCOMPARE(a.closeCode, QWebSocketProtocol::CloseCodeGoingAway);
        QVERIFY(server.process()->waitForFinished(20000));
        QCOMPARE(server.process()->exitCode(), 0);
    }

    void tls()
    {
        QTemporaryDir dir;
        const QString cert = dir.filePath(u"cert.pem"_s), key = dir.filePath(u"key.pem"_s);
        const int rc = QProcess::execute(u"openssl"_s,
            {u"req"_s, u"-x509"_s, u"-newkey"_s, u"rsa:2048"_s, u"-nodes"_s, u"-keyout"_s, key,
                u"-out"_s, cert, u"-days"_s, u"2"_s, u"-subj"_s, u"/CN=127.0.0.1"_s, u"-addext"_s,
                u"subjectAltName=IP:127.0.0.1"_s});
        QCOMPARE(rc, 0);
        ServerProcess server;
        QVERIFY(server.start({u"--tls-cert"_s, cert, u"--tls-key"_s, key}));
        QCOMPARE(server.url().scheme(), u"wss"_s);

        QSslConfiguration trust = QSslConfiguration::defaultConfiguration();
        QFile certFile(cert);
        QVERIFY(certFile.open(QIODevice::ReadOnly));
        trust.setCaCertificates(QSslCertificate::fromDevice(&certFile));
        Client c;
        QVERIFY(c.open(server.url(), &trust));
        QCOMPARE(c.signIn(u"tess"_s).value(u"type"_s).toString(), u"welcome"_s);

        // Without trusting the certificate the handshake fails.
        Client untrusted;
        QVERIFY(!untrusted.open(server.url()));

        // https /healthz on the same port.
        QNetworkAccessManager nam;
        QNetworkRequest request(QUrl(u"https://127.0.0.1:%1/healthz"_s.arg(server.port())));
        request.setSslConfiguration(trust);
        QNetworkReply *reply = nam.get(request);
        QVERIFY(waitUntil([&] { return reply->isFinished(); }));
        QCOMPARE(reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), 200);
        reply->deleteLater();
        QCOMPARE(server.stop(), 0);
    }

    void startupErrors()
    {
        auto run = [](const QStringList &args) {
            QProcess p;
            p.start(QStringLiteral(PARLEY_BINARY), QStringList {u"server"_s} + args);
            p.waitForFinished(30000);
            return std::make_pair(p.exitCode(), QString::fromUtf8(p.readAllStandardError()));
        };
        QTemporaryDir dir;
        auto [code, err] = run(
            {u"--listen"_s, u"127.0.0.1:%1"_s.arg(m_server->port()), u"--data-dir"_s, dir.path()});
        QVERIFY(code != 0);
        QVERIFY2(err.contains(u"cannot listen"_s), qPrintable(err));
        std::tie(code, err) = run({u"--listen"_s, u"0.0.0.0:0"_s, u"--data-dir"_s, dir.path()});
        QVERIFY(code != 0);
        QVERIFY2(err.contains(u"plaintext"_s), qPrintable(err));
        std::tie(code, err) = run({u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, dir.path(),
            u"--tls-cert"_s, u"/nonexistent.pem"_s, u"--tls-key"_s, u"/nonexistent.key"_s});
        QVERIFY(code != 0);
        QVERIFY2(err.contains(u"certificate"_s), qPrintable(err));
        QFile blocker(dir.filePath(u"file"_s));
        QVERIFY(blocker.open(QIODevice::WriteOnly));
        blocker.close();
        std::tie(code, err)
            = run({u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, dir.filePath(u"file/sub"_s)});
        QVERIFY(code != 0);
        QVERIFY2(err.contains(u"data dir"_s), qPrintable(err));
        std::tie(code, err) = run({u"--bogus"_s});
        QCOMPARE(code, 2);
        QProcess help;
        help.start(QStringLiteral(PARLEY_BINARY), {u"server"_s, u"--help"_s});
        QVERIFY(help.waitForFinished(10000));
        QCOMPARE(help.exitCode(), 0);
        const QByteArray text = help.readAllStandardOutput();
        for (const char *flag : {"--listen", "--data-dir", "--tls-cert", "--tls-key", "--node-id",
                 "--allow-plaintext", "--allowed-origin", "--config"})
            QVERIFY2(text.contains(flag), flag);
    }

    void originAllowlist()
    {
        ServerProcess server;
        QVERIFY(server.start({u"--allowed-origin"_s, u"https://chat.example.org"_s}));
        auto tryOrigin = [&](const QByteArray &origin) {
            Client c;
            QNetworkRequest request(server.url());
            if (!origin.isEmpty())
                request.setRawHeader("Origin", origin);
            c.socket.open(request);
            return !c.next(u"hello"_s, 5000).isEmpty();
        };
        QVERIFY(tryOrigin("https://chat.example.org"));
        QVERIFY(tryOrigin({})); // native clients send no Origin
        QVERIFY(!tryOrigin("https://evil.example.com"));
    }
};

QTEST_GUILESS_MAIN(TestServer)
#include "tst_server.moc"
