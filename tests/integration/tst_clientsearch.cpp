// client-core's search end to end against the real `parley server`: local hits offline
// (typed-offline messages included), local hits merged with the server's for history
// this device never downloaded (no duplicates, paged to the end), a server-only hit
// opened with loadAround (then cached, without the conversation's floor moving), stale
// answers dropped, and the server's refusals shown next to the local hits.
#include "cache.h"
#include "client.h"
#include "credentialstore.h"
#include "search.h"
#include "serverfixture.h"

#include <QSet>
#include <QtTest>

using namespace Qt::StringLiterals;
using namespace parley::client;
using parley::test::ServerProcess;
using parley::test::waitUntil;

namespace {

constexpr int kWaitMs = 20000;

// A signed-in client-core with its cache in a directory of its own (or in memory).
class Account : public QObject
{
public:
    explicit Account(const QUrl &url, const QString &dataDir = {}, int initialPage = 100)
        : client(&credentials, options(dataDir, initialPage))
    {
        client.setServer(url);
        connect(&client, &Client::messageAdded, this,
            [this](const ChatMessage &m) { added.append(m); });
        connect(&client, &Client::synced, this, [this] { ++syncs; });
    }

    bool signIn(const QString &user, bool create = true)
    {
        client.signIn(user, u"correct horse"_s, create, false);
        return waitUntil([&] { return client.state() == ConnectionState::Online; }, kWaitMs);
    }
    // Sends and waits for every ack.
    bool sendAll(const QString &to, const QStringList &bodies)
    {
        for (const QString &body : bodies)
            client.send(to, body);
        return waitUntil([&] { return client.pendingMessages().isEmpty(); }, kWaitMs);
    }

    MemoryCredentialStore credentials;
    Client client;
    QList<ChatMessage> added;
    int syncs = 0;

private:
    static ClientOptions options(const QString &dataDir, int initialPage)
    {
        ClientOptions o;
        o.dataDir = dataDir;
        o.connection.backoff = {50, 1000, 60000};
        o.connection.watchNetwork = false;
        o.deliveredReceiptDelayMs = 50;
        o.initialPage = initialPage;
        return o;
    }
};

// The (conv, seq) keys of hits, "seq" only (one conversation per test), in order.
QList<qint64> seqsOf(const QList<SearchHit> &hits)
{
    QList<qint64> seqs;
    for (const SearchHit &hit : hits)
        seqs.append(hit.seq);
    return seqs;
}

QList<qint64> range(qint64 from, qint64 to) // descending when from > to
{
    QList<qint64> seqs;
    for (qint64 s = from; from > to ? s >= to : s <= to; from > to ? --s : ++s)
        seqs.append(s);
    return seqs;
}

QList<ChatMessage> loadAround(
    Client &client, const QString &conv, qint64 seq, int radius, int *calls = nullptr)
{
    QList<ChatMessage> result;
    bool answered = false;
    QObject context;
    client.loadAround(conv, seq, radius, &context, [&](const QList<ChatMessage> &messages) {
        result = messages;
        answered = true;
        if (calls)
            ++*calls;
    });
    waitUntil([&] { return answered; }, kWaitMs);
    return result;
}

QList<ChatMessage> cacheRange(Cache *cache, const QString &conv, qint64 from, qint64 to)
{
    QList<ChatMessage> result;
    bool answered = false;
    QObject context;
    cache->loadRange(conv, from, to, &context, [&](const QList<ChatMessage> &messages) {
        result = messages;
        answered = true;
    });
    waitUntil([&] { return answered; }, kWaitMs);
    return result;
}

} // namespace

class TestClientSearch : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<ServerProcess> m_server;
    QTemporaryDir m_data;
    int m_counter = 0;
    QString name(const QString &base) { return base + QString::number(++m_counter); }

    // `sender` writes `count` messages "<word> <i>" (i = 1..count) to a fresh user, who
    // then signs in on a new device (a cache file in a directory of its own) that only
    // downloads the newest `initialPage`. Returns the recipient and the conversation.
    struct History
    {
        std::unique_ptr<Account> reader;
        QString conv;
        QString writer;
    };
    History historyOnServer(const QString &word, int count, int initialPage)
    {
        const QString writer = name(u"writer"_s), reader = name(u"reader"_s);
        {
            Account first(m_server->url()); // registers the reader, caches nothing on disk
            if (!first.signIn(reader))
                return {};
        }
        Account sender(m_server->url());
        if (!sender.signIn(writer))
            return {};
        QStringList bodies;
        for (int i = 1; i <= count; ++i)
            bodies.append(word + u' ' + QString::number(i));
        if (!sender.sendAll(reader, bodies))
            return {};
        History history;
        history.reader = std::make_unique<Account>(
            m_server->url(), m_data.filePath(name(u"device"_s)), initialPage);
        history.writer = writer;
        history.conv = writer < reader ? writer + u':' + reader : reader + u':' + writer;
        if (!history.reader->signIn(reader, false)
            || !waitUntil([&] { return history.reader->syncs > 0; }, kWaitMs)
            || !waitUntil(
                [&] { return history.reader->client.contiguousSeq(history.conv) == count; },
                kWaitMs))
            return {};
        return history;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_data.isValid());
        m_server = std::make_unique<ServerProcess>();
        QVERIFY(m_server->start());
    }

    void cleanupTestCase() { QCOMPARE(m_server->stop(), 0); }

    void localHitsOffline()
    {
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        Account a(m_server->url(), m_data.filePath(name(u"device"_s)));
        Account b(m_server->url());
        QVERIFY(a.signIn(alice));
        QVERIFY(b.signIn(bob));
        QVERIFY(b.sendAll(alice, {u"Apple pie tonight?"_s, u"bring the APPLES"_s, u"no pie"_s}));
        QTRY_COMPARE_WITH_TIMEOUT(a.added.size(), 3, kWaitMs);

        a.client.disconnectFromServer();
        QTRY_COMPARE_WITH_TIMEOUT(a.client.state(), ConnectionState::Offline, kWaitMs);
        const ChatMessage typed = a.client.send(bob, u"my applé crumble"_s); // queued offline
        QCOMPARE(typed.state, MessageState::Queued);

        Search search(&a.client);
        search.setDebounceMs(0);
        search.setQuery(u"appl"_s);
        QTRY_COMPARE_WITH_TIMEOUT(search.serverState(), Search::ServerState::Offline, kWaitMs);
        const QList<SearchHit> hits = search.hits();
        QCOMPARE(seqsOf(hits), QList<qint64>({0, 2, 1})); // the queued one is newest
        QCOMPARE(hits.first().body, typed.body);
        QCOMPARE(hits.at(1).snippet, u"bring the [APPLES]"_s);
        for (const SearchHit &hit : hits) {
            QVERIFY(hit.cached);
            QCOMPARE(hit.peer, bob);
        }
        QVERIFY(!search.canFetchMore());

        // The server's search answers "offline" at once.
        QString error;
        QObject context;
        a.client.searchServer({{}, u"apple"_s, {}, {}, 20, {}}, &context,
            [&](const parley::protocol::SearchResults &, const QString &why) { error = why; });
        QTRY_VERIFY_WITH_TIMEOUT(!error.isEmpty(), kWaitMs);

        // Back online (the typed message withdrawn, so the server has nothing new): the
        // same search asks the server, which adds nothing the cache listed.
        QCOMPARE(a.client.cancel(typed.cid), Outbox::CancelResult::Removed);
        a.client.connection()->open(); // resumes with the session's token
        QTRY_COMPARE_WITH_TIMEOUT(search.serverState(), Search::ServerState::Done, kWaitMs);
        QCOMPARE(seqsOf(search.hits()), QList<qint64>({0, 2, 1}));
    }

    void mergesServerHitsAndPagesToTheEnd()
    {
        // 45 messages on the server; the new device downloads the newest 5.
        History h = historyOnServer(u"kiwi"_s, 45, 5);
        QVERIFY(h.reader);
        Search search(&h.reader->client);
        search.setDebounceMs(0);
        QList<int> sizes; // hits().size() at every hitsChanged
        connect(
            &search, &Search::hitsChanged, this, [&] { sizes.append(int(search.hits().size())); });
        search.setQuery(u"KIWI"_s);
        QTRY_COMPARE_WITH_TIMEOUT(search.serverState(), Search::ServerState::Done, kWaitMs);
        // The cached five first, then the server's first page without them.
        QCOMPARE(sizes.first(), 5);
        QCOMPARE(seqsOf(search.hits()), range(45, 26));
        while (search.canFetchMore()) {
            search.fetchMore();
            QCOMPARE(search.serverState(), Search::ServerState::Searching);
            search.fetchMore(); // ignored while a page is on its way
            QTRY_COMPARE_WITH_TIMEOUT(search.serverState(), Search::ServerState::Done, kWaitMs);
        }
        const QList<SearchHit> hits = search.hits();
        QCOMPARE(seqsOf(hits), range(45, 1)); // every one once, newest first
        for (const SearchHit &hit : hits) {
            QCOMPARE(hit.cached, hit.seq > 40);
            QCOMPARE(hit.conv, h.conv);
            QCOMPARE(hit.body, u"kiwi "_s + QString::number(hit.seq));
            QCOMPARE(hit.snippet, u"[kiwi] "_s + QString::number(hit.seq));
            QVERIFY(!hit.peer.isEmpty() && hit.peer != h.reader->client.user());
        }
    }

    void loadAroundFetchesWhatTheCacheLacks()
    {
        History h = historyOnServer(u"fig"_s, 40, 5);
        QVERIFY(h.reader);
        Client &client = h.reader->client;
        // A cached hit: the window comes from the cache.
        QList<qint64> seqs;
        for (const ChatMessage &m : loadAround(client, h.conv, 38, 2))
            seqs.append(m.seq);
        QCOMPARE(seqs, range(36, 40));

        // A hit only the server has: fetched, returned in order, and cached.
        int calls = 0;
        const QList<ChatMessage> window = loadAround(client, h.conv, 12, 3, &calls);
        seqs.clear();
        for (const ChatMessage &m : window) {
            seqs.append(m.seq);
            QCOMPARE(m.body, u"fig "_s + QString::number(m.seq));
        }
        QCOMPARE(seqs, range(9, 15));
        QCOMPARE(cacheRange(client.cache(), h.conv, 9, 15), window);
        QTest::qWait(200); // a second answer would arrive in this time
        QCOMPARE(calls, 1);

        // The isolated window does not pass for the conversation's continuation: the
        // newest page still ends at the floor, and what is below comes from the server.
        QList<ChatMessage> newest;
        QList<ChatMessage> older;
        QObject context;
        connect(&client, &Client::olderMessagesLoaded, &context,
            [&](const QString &, const QList<ChatMessage> &page) { older = page; });
        client.loadMessages(h.conv, 0, 20, &context,
            [&](const QList<ChatMessage> &messages) { newest = messages; });
        QTRY_COMPARE_WITH_TIMEOUT(older.size(), 20, kWaitMs);
        seqs.clear();
        for (const ChatMessage &m : std::as_const(newest))
            seqs.append(m.seq);
        QCOMPARE(seqs, range(36, 40));
        QCOMPARE(older.first().seq, 16);
        QCOMPARE(older.last().seq, 35);

        // Offline: the cached part, once.
        client.disconnectFromServer();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), ConnectionState::Offline, kWaitMs);
        calls = 0;
        seqs.clear();
        for (const ChatMessage &m : loadAround(client, h.conv, 7, 3, &calls))
            seqs.append(m.seq);
        QCOMPARE(seqs, range(9, 10)); // 4..8 were never downloaded
        QTest::qWait(200);
        QCOMPARE(calls, 1);
    }

    void staleAnswersAreDropped()
    {
        History h = historyOnServer(u"plum"_s, 30, 5);
        QVERIFY(h.reader);
        h.reader->client.send(h.writer, u"pear"_s);
        QTRY_VERIFY_WITH_TIMEOUT(h.reader->client.pendingMessages().isEmpty(), kWaitMs);
        Search search(&h.reader->client);
        search.setDebounceMs(0);
        QStringList shown; // every body ever listed
        connect(&search, &Search::hitsChanged, this, [&] {
            for (const SearchHit &hit : search.hits())
                shown.append(hit.body);
        });
        // The local answer for "plum" is on its way when the query changes: dropped.
        search.setQuery(u"plum"_s);
        search.setQuery(u"pear"_s);
        QTRY_COMPARE_WITH_TIMEOUT(search.serverState(), Search::ServerState::Done, kWaitMs);
        QCOMPARE(shown, QStringList({u"pear"_s}));
        // The server's answer for "plum" is on its way when the query changes: dropped.
        QObject changer;
        connect(&search, &Search::serverStateChanged, &changer, [&](Search::ServerState state) {
            if (state == Search::ServerState::Searching && search.text() == u"plum"_s) {
                shown.clear();
                search.setQuery(u"pear "_s); // "pear" again, after "plum": a new search
            }
        });
        search.setQuery(u"plum"_s);
        QTRY_VERIFY_WITH_TIMEOUT(
            search.text() == u"pear "_s && search.serverState() == Search::ServerState::Done,
            kWaitMs);
        QCOMPARE(shown, QStringList({u"pear"_s}));
        QCOMPARE(seqsOf(search.hits()).size(), 1);
        // No words: no hits.
        search.setQuery(u" * \" "_s);
        QCOMPARE(search.hits(), QList<SearchHit>());
        QCOMPARE(search.serverState(), Search::ServerState::Idle);
    }

    void serverRefusalKeepsLocalHits()
    {
        const QString alice = name(u"alice"_s), bob = name(u"bob"_s);
        Account a(m_server->url(), m_data.filePath(name(u"device"_s)));
        Account b(m_server->url());
        QVERIFY(a.signIn(alice));
        QVERIFY(b.signIn(bob));
        // More words than the server accepts (16): it says bad_request, the cache answers.
        QStringList words;
        for (int i = 0; i < 17; ++i)
            words.append(u"w"_s + QChar(u'a' + i));
        QVERIFY(b.sendAll(alice, {words.join(u' ')}));
        QTRY_COMPARE_WITH_TIMEOUT(a.added.size(), 1, kWaitMs);
        Search search(&a.client);
        search.setDebounceMs(0);
        search.setQuery(words.join(u' '));
        QTRY_COMPARE_WITH_TIMEOUT(search.serverState(), Search::ServerState::Failed, kWaitMs);
        QVERIFY(!search.serverError().isEmpty());
        QCOMPARE(search.hits().size(), 1);
        QVERIFY(!search.canFetchMore());

        // Too many searches at once: the server's rate limit reads as a human message.
        QStringList errors;
        QObject context;
        for (int i = 0; i < 40; ++i) {
            a.client.searchServer({{}, u"wa"_s, {}, {}, 1, {}}, &context,
                [&](const parley::protocol::SearchResults &, const QString &why) {
                    errors.append(why);
                });
        }
        QTRY_COMPARE_WITH_TIMEOUT(errors.size(), 40, kWaitMs);
        QVERIFY(errors.contains(
            Client::tr("Too many searches in a short time; try again in a moment.")));
        QVERIFY(errors.contains(QString())); // the first ones were answered
    }
};

QTEST_GUILESS_MAIN(TestClientSearch)
#include "tst_clientsearch.moc"
