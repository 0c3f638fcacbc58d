// Search on the wire, against the real `parley server` binary: the search rules, filters,
// pages to the end, who sees what, hostile queries, cursors, the frame limit, freshness
// and restarts. The same suite runs on SQLite and, with PARLEY_TEST_STORE=dynamodb, on
// DynamoDB (dynalite).
#include "serverfixture.h"

#include <QJsonArray>
#include <QSet>
#include <QUuid>

using namespace Qt::StringLiterals;
using namespace parley::test;

namespace {

constexpr int FrameLimit = 65536;

QString conversation(const QString &a, const QString &b)
{
    return a < b ? a + u':' + b : b + u':' + a;
}

struct Hit
{
    QString conv;
    qint64 seq = 0;
    QString from;
    qint64 ts = 0;
    QString body;
    QString snippet;
};

Hit hitOf(const QJsonObject &o)
{
    return {o.value(u"conv"_s).toString(), o.value(u"seq"_s).toInteger(),
        o.value(u"from"_s).toString(), o.value(u"ts"_s).toInteger(), o.value(u"body"_s).toString(),
        o.value(u"snippet"_s).toString()};
}

QStringList bodiesOf(const QList<Hit> &hits)
{
    QStringList bodies;
    for (const Hit &hit : hits)
        bodies.append(hit.body);
    return bodies;
}

// Newest first: timestamps never increase, and within a conversation seqs decrease.
bool newestFirst(const QList<Hit> &hits)
{
    QHash<QString, qint64> lastSeq;
    for (qsizetype i = 0; i < hits.size(); ++i) {
        if (i > 0 && hits.at(i).ts > hits.at(i - 1).ts)
            return false;
        const auto seen = lastSeq.constFind(hits.at(i).conv);
        if (seen != lastSeq.cend() && *seen <= hits.at(i).seq)
            return false;
        lastSeq.insert(hits.at(i).conv, hits.at(i).seq);
    }
    return true;
}

} // namespace

class TestSearch : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<ServerProcess> m_server;
    int m_userCounter = 0;
    // The conversation of rules(): created by its first row.
    QString m_rulesUser;

    QString name(const QString &base) { return u"%1%2"_s.arg(base).arg(++m_userCounter); }

    std::unique_ptr<Client> signedIn(const QString &user, ServerProcess *server = nullptr)
    {
        auto client = std::make_unique<Client>();
        if (!client->open((server ? server : m_server.get())->url()))
            return nullptr;
        const QJsonObject welcome = client->signIn(user);
        if (welcome.value(u"type"_s) != u"welcome"_s)
            client->signIn(user, u"correct horse"_s, true);
        return client;
    }

    // A request, sent again after retryAfterMs while it is rate-limited.
    static QJsonObject patient(Client &client, const QJsonObject &frame)
    {
        for (;;) {
            const QJsonObject reply = client.request(frame, 30000);
            if (reply.value(u"code"_s).toString() != u"rate_limited"_s)
                return reply;
            QTest::qWait(reply.value(u"retryAfterMs"_s).toInt() + 1);
        }
    }

    static bool send(Client &client, const QString &to, const QString &body)
    {
        const QJsonObject ack = patient(client,
            {{u"type"_s, u"send"_s}, {u"to"_s, to},
                {u"cid"_s, QUuid::createUuid().toString(QUuid::WithoutBraces)}, {u"body"_s, body}});
        if (ack.value(u"type"_s) != u"ack"_s)
            qWarning() << "send failed" << ack;
        return ack.value(u"type"_s) == u"ack"_s;
    }

    static QJsonObject search(Client &client, const QString &q, int limit = 20,
        const QString &cursor = {}, const QString &conv = {}, const QString &from = {})
    {
        QJsonObject frame {{u"type"_s, u"search"_s}, {u"q"_s, q}, {u"limit"_s, limit}};
        if (!cursor.isEmpty())
            frame.insert(u"cursor"_s, cursor);
        if (!conv.isEmpty())
            frame.insert(u"conv"_s, conv);
        if (!from.isEmpty())
            frame.insert(u"from"_s, from);
        return patient(client, frame);
    }

    // Every hit, following `next` to the end. Sets `failure` on an error reply, a frame
    // over the limit, or a page without hits that still has a next.
    static QList<Hit> everyHit(Client &client, const QString &q, int limit, QString *failure,
        const QString &conv = {}, const QString &from = {}, int *pages = nullptr)
    {
        QList<Hit> hits;
        QString cursor;
        for (int page = 1; page <= 500; ++page) {
            const QJsonObject results = search(client, q, limit, cursor, conv, from);
            if (results.value(u"type"_s) != u"results"_s) {
                *failure = QString::fromUtf8(QJsonDocument(results).toJson(QJsonDocument::Compact));
                return hits;
            }
            if (QJsonDocument(results).toJson(QJsonDocument::Compact).size() > FrameLimit) {
                *failure = u"a page over the frame limit"_s;
                return hits;
            }
            const QJsonArray array = results.value(u"hits"_s).toArray();
            for (const QJsonValue &value : array)
                hits.append(hitOf(value.toObject()));
            if (pages)
                *pages = page;
            if (results.value(u"next"_s).isNull())
                return hits;
            if (array.isEmpty() || !results.value(u"next"_s).isString()) {
                *failure = u"a page without hits, or a next that is not a string"_s;
                return hits;
            }
            cursor = results.value(u"next"_s).toString();
        }
        *failure = u"no end after 500 pages"_s;
        return hits;
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
    }

    void rules_data()
    {
        QTest::addColumn<QString>("q");
        QTest::addColumn<QStringList>("expected"); // newest first

        QTest::newRow("one word") << u"lunch"_s << QStringList {u"Lunch on Friday?"_s};
        QTest::newRow("all words, any order")
            << u"friday lunch"_s << QStringList {u"Lunch on Friday?"_s};
        QTest::newRow("prefixes") << u"fri"_s
                                  << QStringList {
                                         u"fried rice with friends"_s, u"Lunch on Friday?"_s};
        QTest::newRow("prefixes of all words")
            << u"fri ri"_s << QStringList {u"fried rice with friends"_s};
        QTest::newRow("inside a word is not a match") << u"iday"_s << QStringList {};
        QTest::newRow("missing word") << u"lunch rice"_s << QStringList {};
        QTest::newRow("lower case")
            << u"cafe"_s << QStringList {u"CAFÉ at noon"_s, u"un Café crème"_s};
        QTest::newRow("accented upper case")
            << u"CAFÉ"_s << QStringList {u"CAFÉ at noon"_s, u"un Café crème"_s};
        QTest::newRow("accented query, plain text") << u"nôön"_s << QStringList {u"CAFÉ at noon"_s};
        QTest::newRow("digits") << u"2026"_s << QStringList {u"flight AF-2026"_s};
        QTest::newRow("punctuation splits words") << u"af"_s << QStringList {u"flight AF-2026"_s};
        QTest::newRow("non-latin") << u"καλη"_s << QStringList {u"Καλημέρα 🌞"_s};
    }

    void rules()
    {
        QFETCH(QString, q);
        QFETCH(QStringList, expected);
        const QString peer = u"rulespeer"_s;
        if (m_rulesUser.isEmpty()) {
            m_rulesUser = name(u"rules"_s);
            auto p = signedIn(peer);
            auto a = signedIn(m_rulesUser);
            QVERIFY(a && p);
            for (const QString &body :
                {u"Lunch on Friday?"_s, u"un Café crème"_s, u"fried rice with friends"_s,
                    u"flight AF-2026"_s, u"Καλημέρα 🌞"_s, u"CAFÉ at noon"_s})
                QVERIFY(send(*a, peer, body));
        }
        auto a = signedIn(m_rulesUser);
        QVERIFY(a);
        QString failure;
        const QList<Hit> hits = everyHit(*a, q, 20, &failure);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        QCOMPARE(bodiesOf(hits), expected);
        for (const Hit &hit : hits) {
            QCOMPARE(hit.conv, conversation(m_rulesUser, peer));
            QCOMPARE(hit.from, m_rulesUser);
            QVERIFY2(
                hit.snippet.contains(u'[') && hit.snippet.contains(u']'), qPrintable(hit.snippet));
        }
    }

    void snippetMarksTheMatches()
    {
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        auto b = signedIn(bob);
        auto a = signedIn(alice);
        QVERIFY(a && b);
        QVERIFY(send(*a, bob, u"see you at lunch on friday"_s));
        QVERIFY(send(*a, bob,
            u"filler "_s.repeated(80) + u"the quarterly Report is late"_s
                + u" filler"_s.repeated(80)));
        const QJsonArray hits = search(*b, u"lunch fri"_s).value(u"hits"_s).toArray();
        QCOMPARE(hits.size(), 1);
        QCOMPARE(hits.at(0).toObject().value(u"snippet"_s).toString(),
            u"see you at [lunch] on [friday]"_s);
        const QString snippet = search(*b, u"report"_s)
                                    .value(u"hits"_s)
                                    .toArray()
                                    .at(0)
                                    .toObject()
                                    .value(u"snippet"_s)
                                    .toString();
        QVERIFY2(snippet.size() <= 160, qPrintable(snippet));
        QVERIFY2(snippet.contains(u"[Report]"_s), qPrintable(snippet));
        QVERIFY2(snippet.startsWith(u'…') && snippet.endsWith(u'…'), qPrintable(snippet));
    }

    void fromAndConvFilters()
    {
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s), carol = name(u"carol"_s);
        auto a = signedIn(alice);
        auto b = signedIn(bob);
        auto c = signedIn(carol);
        QVERIFY(a && b && c);
        QVERIFY(send(*a, bob, u"plan one from alice"_s));
        QVERIFY(send(*b, alice, u"plan two from bob"_s));
        QVERIFY(send(*c, alice, u"plan three from carol"_s));
        QVERIFY(send(*a, carol, u"plan four from alice"_s));
        const auto bodies = [&](const QString &conv, const QString &from) {
            QString failure;
            const QList<Hit> hits = everyHit(*a, u"plan"_s, 20, &failure, conv, from);
            if (!failure.isEmpty())
                return QStringList {failure};
            return bodiesOf(hits);
        };
        QCOMPARE(bodies(conversation(alice, bob), {}),
            (QStringList {u"plan two from bob"_s, u"plan one from alice"_s}));
        QCOMPARE(
            bodies({}, alice), (QStringList {u"plan four from alice"_s, u"plan one from alice"_s}));
        QCOMPARE(bodies({}, carol.toUpper()), QStringList {u"plan three from carol"_s});
        QCOMPARE(
            bodies(conversation(alice, carol), alice), QStringList {u"plan four from alice"_s});
        QCOMPARE(bodies(conversation(alice, bob), carol), QStringList {});
        QCOMPARE(bodies({}, name(u"nobody"_s)), QStringList {});
    }

    void pagesToTheEndWithoutRepeats()
    {
        // 130 matching messages over four conversations, among others that do not match.
        const QString alice = name(u"alice"_s);
        QList<QString> peers;
        for (int i = 0; i < 4; ++i)
            peers.append(name(u"peer"_s));
        std::vector<std::unique_ptr<Client>> clients;
        for (const QString &peer : peers)
            clients.push_back(signedIn(peer));
        auto a = signedIn(alice);
        QVERIFY(a);
        QSet<QString> expected;
        for (int i = 0; i < 150; ++i) {
            Client &sender = i % 2 ? *a : *clients.at(i % 4);
            const QString to = i % 2 ? peers.at(i % 4) : alice;
            const QString body = i < 130 ? u"budget item %1"_s.arg(i) : u"unrelated %1"_s.arg(i);
            QVERIFY(send(sender, to, body));
            if (i < 130)
                expected.insert(body);
        }
        QString failure;
        int pages = 0;
        const QList<Hit> hits = everyHit(*a, u"budg item"_s, 20, &failure, {}, {}, &pages);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        QVERIFY(pages >= 7);
        QCOMPARE(hits.size(), 130);
        const QStringList bodies = bodiesOf(hits);
        QCOMPARE(QSet<QString>(bodies.cbegin(), bodies.cend()), expected); // no repeats either
        QVERIFY(newestFirst(hits));
        QCOMPARE(hits.first().body, u"budget item 129"_s);
        // The peers see their own share only.
        auto p = signedIn(peers.at(1));
        QVERIFY(p);
        const QList<Hit> share = everyHit(*p, u"budget"_s, 100, &failure);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        QCOMPARE(share.size(), 130 / 4 + 1); // i % 4 == 1: 33 of 0..129
        for (const Hit &hit : share)
            QCOMPARE(hit.conv, conversation(alice, peers.at(1)));
    }

    void othersConversationsNeverReturned()
    {
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s), eve = name(u"eve"_s);
        auto a = signedIn(alice);
        auto b = signedIn(bob);
        auto e = signedIn(eve);
        QVERIFY(a && b && e);
        QVERIFY(send(*a, bob, u"the vault code is 1234"_s));
        QVERIFY(send(*e, alice, u"vault? what vault"_s));
        QString failure;
        const QList<Hit> seen = everyHit(*e, u"vault"_s, 20, &failure);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        QCOMPARE(bodiesOf(seen), QStringList {u"vault? what vault"_s});
        QCOMPARE(everyHit(*e, u"code 1234"_s, 20, &failure).size(), 0);
        const QJsonObject other = search(*e, u"vault"_s, 20, {}, conversation(alice, bob));
        QCOMPARE(other.value(u"code"_s).toString(), u"forbidden"_s);
        // A from filter does not reach past the user's own conversations either.
        QCOMPARE(search(*e, u"vault"_s, 20, {}, {}, eve).value(u"hits"_s).toArray().size(), 1);
        QCOMPARE(search(*e, u"vault"_s, 20, {}, {}, alice).value(u"hits"_s).toArray().size(), 0);
    }

    void hostileQueries_data()
    {
        QTest::addColumn<QString>("q");
        QTest::addColumn<int>("hits"); // -1: bad_request (no words)

        QTest::newRow("double quotes") << u"\"secret"_s << 1;
        QTest::newRow("balanced quotes") << u"\"secret\" \"word\""_s << 1;
        QTest::newRow("star") << u"sec*"_s << 1;
        QTest::newRow("star alone") << u"*"_s << -1;
        QTest::newRow("AND OR NOT") << u"secret AND OR NOT word"_s << 0;
        QTest::newRow("NOT") << u"NOT secret"_s << 0;
        QTest::newRow("NEAR") << u"NEAR(secret word)"_s << 0;
        QTest::newRow("column filter") << u"body:secret"_s << 0;
        QTest::newRow("other column") << u"members:secret"_s << 0;
        QTest::newRow("column set") << u"{members} : secret"_s << 0;
        QTest::newRow("caret and minus") << u"^secret -word"_s << 1;
        QTest::newRow("parentheses") << u"(secret) (word"_s << 1;
        QTest::newRow("sql quote") << u"secret' OR '1'='1"_s << 0;
        QTest::newRow("sql comment") << u"secret; DROP TABLE messages; --"_s << 0;
        QTest::newRow("percent and underscore") << u"sec% wo_"_s << 1;
        QTest::newRow("backslash") << u"secret\\ word\\"_s << 1;
        QTest::newRow("256 characters") << u"secret "_s.repeated(36).left(256) << 1;
        QTest::newRow("one long word") << u"s"_s.repeated(256) << 0;
        QTest::newRow("emoji between words") << u"🔑secret🔑"_s << 1;
        QTest::newRow("emoji only") << u"🔑🔑"_s << -1;
        QTest::newRow("punctuation only") << u"\"*\" - () : ^ ."_s << -1;
        QTest::newRow("spaces only") << u"    "_s << -1;
        QTest::newRow("seventeen words") << u"a b c d e f g h i j k l m n o p q"_s << -1;
    }

    void hostileQueries()
    {
        QFETCH(QString, q);
        QFETCH(int, hits);
        static QString user;
        if (user.isEmpty()) {
            user = name(u"hostile"_s);
            auto p = signedIn(u"hostilepeer"_s);
            auto a = signedIn(user);
            QVERIFY(a && p);
            QVERIFY(send(*a, u"hostilepeer"_s, u"the secret word, 1=1 and all"_s));
        }
        auto a = signedIn(user);
        QVERIFY(a);
        const QJsonObject reply = search(*a, q);
        if (hits < 0) {
            QCOMPARE(reply.value(u"code"_s).toString(), u"bad_request"_s);
            QVERIFY(reply.value(u"message"_s).toString().startsWith(u"q:"_s));
            return;
        }
        QCOMPARE(reply.value(u"type"_s).toString(), u"results"_s);
        QCOMPARE(reply.value(u"hits"_s).toArray().size(), hits);
        // Nothing was harmed.
        QCOMPARE(search(*a, u"secret word"_s).value(u"hits"_s).toArray().size(), 1);
    }

    void badCursorIsBadRequest_data()
    {
        QTest::addColumn<QString>("cursor");
        QTest::newRow("garbage") << u"garbage"_s;
        QTest::newRow("base64 of junk") << u"c29tZXRoaW5nIGVsc2U"_s;
        QTest::newRow("sql") << u"' OR 1=1 --"_s;
        QTest::newRow("long") << u"A"_s.repeated(512);
    }

    void badCursorIsBadRequest()
    {
        QFETCH(QString, cursor);
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        auto b = signedIn(bob);
        auto a = signedIn(alice);
        QVERIFY(a && b);
        QVERIFY(send(*a, bob, u"cursor test"_s));
        const QJsonObject reply = search(*a, u"cursor"_s, 20, cursor);
        QCOMPARE(reply.value(u"type"_s).toString(), u"error"_s);
        QCOMPARE(reply.value(u"code"_s).toString(), u"bad_request"_s);
        QVERIFY(reply.value(u"message"_s).toString().startsWith(u"cursor"_s));
        // The connection and the search still work.
        QCOMPARE(search(*a, u"cursor"_s).value(u"hits"_s).toArray().size(), 1);
    }

    void longBodiesStayUnderTheFrameLimit()
    {
        // 24 hits of 4000 two-byte characters: ~190 KB, at most 100 per page asked for.
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        auto b = signedIn(bob);
        auto a = signedIn(alice);
        QVERIFY(a && b);
        QSet<QString> expected;
        for (int i = 0; i < 24; ++i) {
            const QString head = u"needle %1 "_s.arg(i, 2, 10, QLatin1Char('0'));
            const QString body = head + QString(4000 - head.size(), u'é');
            QVERIFY(send(*a, bob, body));
            expected.insert(body);
        }
        QString failure;
        int pages = 0;
        const QList<Hit> hits = everyHit(*b, u"needle"_s, 100, &failure, {}, {}, &pages);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        QVERIFY(pages > 2);
        QCOMPARE(hits.size(), 24);
        const QStringList bodies = bodiesOf(hits);
        QCOMPARE(QSet<QString>(bodies.cbegin(), bodies.cend()), expected);
        QVERIFY(newestFirst(hits));
    }

    void searchableRightAfterTheAck()
    {
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        auto b = signedIn(bob);
        auto a = signedIn(alice);
        QVERIFY(a && b);
        QVERIFY(send(*a, bob, u"fresh zebra news"_s));
        // The contract allows a second; the wait is generous for a loaded machine.
        QTRY_COMPARE_WITH_TIMEOUT(
            search(*b, u"zebra"_s).value(u"hits"_s).toArray().size(), 1, 10000);
    }

    void rateLimitSaysWhenToRetry()
    {
        const QString alice = name(u"alice"_s);
        auto a = signedIn(alice);
        QVERIFY(a);
        for (int i = 0; i < 40; ++i)
            a->send({{u"type"_s, u"search"_s}, {u"rid"_s, u"s%1"_s.arg(i)}, {u"q"_s, u"x"_s}});
        int results = 0, limited = 0;
        for (int i = 0; i < 40; ++i) {
            const QJsonObject reply = a->reply(u"s%1"_s.arg(i), 30000);
            if (reply.value(u"type"_s) == u"results"_s) {
                ++results;
            } else {
                QCOMPARE(reply.value(u"code"_s).toString(), u"rate_limited"_s);
                QVERIFY(reply.value(u"retryAfterMs"_s).toInt() >= 1);
                ++limited;
            }
        }
        QVERIFY(results >= 20);
        QVERIFY(limited > 0);
    }

    void restartKeepsTheIndex()
    {
        ServerProcess server;
        QVERIFY2(server.start(), server.errors().constData());
        {
            auto b = signedIn(u"rsbob"_s, &server);
            auto a = signedIn(u"rsann"_s, &server);
            QVERIFY(a && b);
            for (int i = 0; i < 3; ++i)
                QVERIFY(send(*a, u"rsbob"_s, u"before restart %1"_s.arg(i)));
        }
        QCOMPARE(server.stop(), 0);
        ServerProcess again(server.dataDir());
        QVERIFY2(again.start(), again.errors().constData());
        auto b = signedIn(u"rsbob"_s, &again);
        QVERIFY(b);
        QVERIFY(send(*b, u"rsann"_s, u"after restart"_s));
        QString failure;
        const QList<Hit> hits = everyHit(*b, u"restart"_s, 2, &failure);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        QCOMPARE(bodiesOf(hits),
            (QStringList {u"after restart"_s, u"before restart 2"_s, u"before restart 1"_s,
                u"before restart 0"_s}));
        QCOMPARE(again.stop(), 0);
    }
};

QTEST_GUILESS_MAIN(TestSearch)
#include "tst_search.moc"
