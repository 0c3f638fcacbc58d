// tst_cachesearch: the cache's local search (Cache::search, schema version 2) on
// temporary database files. The PROTOCOL search rules (every word, word prefixes, case
// and accents ignored), the filters, newest first and the limit, snippets and peers,
// hostile input, gap rows and the outbox, the index kept in step with every write, and
// a version 1 cache (from before search) indexed when it is opened.
#include "cache.h"
#include "searchtext.h"

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <optional>

using namespace Qt::StringLiterals;
using namespace parley::client;

namespace {

constexpr int kWaitMs = 10000; // a generous bound for one cache round trip
const QString kBob = u"alice:bob"_s; // the signed-in user is alice
const QString kCarol = u"alice:carol"_s;

template<typename T, typename Call> std::optional<T> await(Call call)
{
    std::optional<T> result;
    QObject context;
    call(&context, [&result](T value) { result = std::move(value); });
    const bool answered = QTest::qWaitFor([&result] { return result.has_value(); }, kWaitMs);
    return answered ? result : std::nullopt;
}

std::optional<QString> openCache(Cache &cache, const QString &path)
{
    return await<QString>([&](QObject *context, auto done) { cache.open(path, context, done); });
}

std::optional<QList<SearchHit>> search(Cache &cache, const QStringList &words,
    const QString &conv = {}, const QString &from = {}, int limit = 50)
{
    return await<QList<SearchHit>>([&](QObject *context, auto done) {
        cache.search(words, conv, from, limit, context, done);
    });
}

// The (conv, seq) of each hit, "conv#seq", in order.
QStringList keys(const std::optional<QList<SearchHit>> &hits)
{
    QStringList result;
    for (const SearchHit &hit : hits.value_or(QList<SearchHit>()))
        result.append(hit.conv + u'#' + QString::number(hit.seq));
    return result;
}

ChatMessage message(
    const QString &conv, qint64 seq, const QString &from, const QString &body, qint64 ts = 0)
{
    const QString peer
        = conv.section(u':', 0, 0) == from ? conv.section(u':', 1) : conv.section(u':', 0, 0);
    ChatMessage m;
    m.conv = conv;
    m.seq = seq;
    m.cid = from + u'-' + QString::number(seq);
    m.from = from;
    m.to = peer;
    m.body = body;
    m.ts = ts > 0 ? ts : 1000 * seq;
    m.outgoing = from == u"alice"_s;
    m.state = m.outgoing ? MessageState::Sent : MessageState::Received;
    return m;
}

// The messages most tests search: accents, case, prefixes, two conversations.
const QList<ChatMessage> &corpus()
{
    static const QList<ChatMessage> messages = {
        message(kBob, 1, u"bob"_s, u"Déjà vu at the Café de Flore"_s),
        message(kBob, 2, u"alice"_s, u"the CAFE opens at nine"_s),
        message(kBob, 3, u"bob"_s, u"cafeteria closed; meet at nine?"_s),
        message(kCarol, 4, u"carol"_s, u"Nine ladies dancing"_s),
        message(kCarol, 5, u"alice"_s, u"see you at the café, Carol"_s),
        message(kBob, 6, u"bob"_s, u"nothing to see here"_s),
    };
    return messages;
}

// Runs SQL on the cache file through a connection of its own (the Cache closed).
class RawDb
{
public:
    explicit RawDb(const QString &path)
        : m_name(u"raw-"_s + path)
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_name);
        db.setDatabaseName(path);
        db.open();
    }
    ~RawDb() { QSqlDatabase::removeDatabase(m_name); }
    // Empty on success, else the error.
    QString exec(const QString &sql, QVariant *first = nullptr) const
    {
        QSqlQuery query(QSqlDatabase::database(m_name));
        if (!query.exec(sql))
            return query.lastError().text();
        if (first)
            *first = query.next() ? query.value(0) : QVariant();
        return {};
    }

private:
    QString m_name;
};

} // namespace

class CacheSearchTest : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void init();

    void findsEveryWordAsPrefix_data();
    void findsEveryWordAsPrefix();
    void hostileInputIsOnlyWords_data();
    void hostileInputIsOnlyWords();
    void filtersByConversationAndSender_data();
    void filtersByConversationAndSender();
    void newestFirstWithinLimit();
    void hitsCarrySnippetPeerAndCachedFlag();
    void gapRowsAreNotIndexed();
    void outboxMessagesAreFound();
    void indexFollowsEveryWrite();
    void upgradesVersionOneCache();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString path(const QString &name) const { return m_dir->filePath(name); }
    // A cache file holding corpus(), open in `cache`.
    bool openCorpus(Cache &cache);
};

void CacheSearchTest::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
}

bool CacheSearchTest::openCorpus(Cache &cache)
{
    if (openCache(cache, path(u"alice.sqlite3"_s)) != QString())
        return false;
    cache.saveMessages(corpus());
    cache.updateConversation({.conv = kBob, .peer = u"bob"_s});
    cache.updateConversation({.conv = kCarol, .peer = u"carol"_s});
    return true;
}

void CacheSearchTest::findsEveryWordAsPrefix_data()
{
    QTest::addColumn<QString>("query");
    QTest::addColumn<QStringList>("expected"); // newest first
    QTest::newRow("word") << u"nine"_s
                          << QStringList {u"alice:carol#4"_s, u"alice:bob#3"_s, u"alice:bob#2"_s};
    QTest::newRow("prefix") << u"caf"_s
                            << QStringList {u"alice:carol#5"_s, u"alice:bob#3"_s, u"alice:bob#2"_s,
                                   u"alice:bob#1"_s};
    QTest::newRow("case ignored") << u"NINE"_s
                                  << QStringList {
                                         u"alice:carol#4"_s, u"alice:bob#3"_s, u"alice:bob#2"_s};
    QTest::newRow("accent in query") << u"déjà"_s << QStringList {u"alice:bob#1"_s};
    QTest::newRow("accent in body") << u"deja cafe"_s << QStringList {u"alice:bob#1"_s};
    QTest::newRow("every word required")
        << u"cafe nine"_s << QStringList {u"alice:bob#3"_s, u"alice:bob#2"_s};
    QTest::newRow("word inside a word does not match") << u"teria"_s << QStringList();
    QTest::newRow("one word missing") << u"cafe zebra"_s << QStringList();
    QTest::newRow("single letter") << u"f"_s << QStringList {u"alice:bob#1"_s};
}

void CacheSearchTest::findsEveryWordAsPrefix()
{
    QFETCH(QString, query);
    QFETCH(QStringList, expected);
    Cache cache;
    QVERIFY(openCorpus(cache));
    QCOMPARE(keys(search(cache, parley::protocol::search::queryWords(query))), expected);
}

void CacheSearchTest::hostileInputIsOnlyWords_data()
{
    // Whatever reaches Cache::search, only its letters and digits are searched for:
    // FTS5 syntax and SQL are plain text, never an error or a changed query.
    QTest::addColumn<QStringList>("words");
    QTest::addColumn<QStringList>("expected");
    const QStringList nine {u"alice:carol#4"_s, u"alice:bob#3"_s, u"alice:bob#2"_s};
    QTest::newRow("quotes") << QStringList {u"\"nine"_s} << nine;
    QTest::newRow("star alone") << QStringList {u"*"_s} << QStringList();
    QTest::newRow("OR operator") << QStringList {u"nine\" OR \"nothing"_s}
                                 << QStringList(); // "or" is a required word
    QTest::newRow("NEAR") << QStringList {u"NEAR(nine cafe)"_s} << QStringList();
    QTest::newRow("column filter") << QStringList {u"conv:alice"_s} << QStringList();
    QTest::newRow("minus") << QStringList {u"-nine"_s} << nine;
    QTest::newRow("caret and braces") << QStringList {u"^{body}:nine"_s} << QStringList();
    QTest::newRow("sql") << QStringList {u"'; DROP TABLE messages; --"_s} << QStringList();
    QTest::newRow("empty") << QStringList {u""_s} << QStringList();
    QTest::newRow("nothing") << QStringList() << QStringList();
}

void CacheSearchTest::hostileInputIsOnlyWords()
{
    QFETCH(QStringList, words);
    QFETCH(QStringList, expected);
    Cache cache;
    QVERIFY(openCorpus(cache));
    QCOMPARE(keys(search(cache, words)), expected);
    // The data is intact.
    QCOMPARE(search(cache, {u"nine"_s})->size(), 3);
}

void CacheSearchTest::filtersByConversationAndSender_data()
{
    QTest::addColumn<QString>("conv");
    QTest::addColumn<QString>("from");
    QTest::addColumn<QStringList>("expected");
    QTest::newRow("conv") << kBob << QString()
                          << QStringList {u"alice:bob#3"_s, u"alice:bob#2"_s, u"alice:bob#1"_s};
    QTest::newRow("from") << QString() << u"alice"_s
                          << QStringList {u"alice:carol#5"_s, u"alice:bob#2"_s};
    QTest::newRow("conv and from")
        << kBob << u"bob"_s << QStringList {u"alice:bob#3"_s, u"alice:bob#1"_s};
    QTest::newRow("unknown conv") << u"alice:dave"_s << QString() << QStringList();
    // Same words as another conversation's id, not the same id.
    QTest::newRow("look-alike conv")
        << u"ann:lee-bob"_s << QString() << QStringList {u"ann:lee-bob#2"_s};
    QTest::newRow("look-alike sender")
        << QString() << u"ann-lee"_s << QStringList {u"ann-lee:bob#1"_s};
}

void CacheSearchTest::filtersByConversationAndSender()
{
    QFETCH(QString, conv);
    QFETCH(QString, from);
    QFETCH(QStringList, expected);
    Cache cache;
    QVERIFY(openCorpus(cache));
    // Conversations and senders whose names hold the same words ("ann lee bob",
    // "ann lee"): the index narrows by words, the exact name decides.
    cache.saveMessages({message(u"ann-lee:bob"_s, 1, u"ann-lee"_s, u"cafe one"_s, 100)});
    cache.saveMessages({message(u"ann:lee-bob"_s, 2, u"lee-bob"_s, u"cafe two"_s, 200)});
    cache.saveMessages({message(u"ann_lee:bob"_s, 3, u"ann_lee"_s, u"cafe three"_s, 300)});
    QCOMPARE(keys(search(cache, {u"caf"_s}, conv, from)), expected);
}

void CacheSearchTest::newestFirstWithinLimit()
{
    Cache cache;
    QVERIFY(openCache(cache, path(u"alice.sqlite3"_s)) == QString());
    // Stored out of time order (history pages arrive newest page first), with equal
    // times in two conversations: ordered by ts, then seq, whatever the insertion order.
    cache.saveMessages({message(kBob, 10, u"bob"_s, u"lunch at noon"_s, 5000)});
    cache.saveMessages({message(kBob, 2, u"bob"_s, u"lunch?"_s, 1000)});
    cache.saveMessages({message(kCarol, 7, u"carol"_s, u"lunch too"_s, 5000)});
    cache.saveMessages({message(kBob, 5, u"bob"_s, u"lunch again"_s, 3000)});
    QCOMPARE(keys(search(cache, {u"lunch"_s})),
        QStringList({u"alice:bob#10"_s, u"alice:carol#7"_s, u"alice:bob#5"_s, u"alice:bob#2"_s}));
    QCOMPARE(keys(search(cache, {u"lunch"_s}, {}, {}, 2)),
        QStringList({u"alice:bob#10"_s, u"alice:carol#7"_s}));
    QCOMPARE(keys(search(cache, {u"lunch"_s}, {}, {}, 0)), QStringList());
}

void CacheSearchTest::hitsCarrySnippetPeerAndCachedFlag()
{
    Cache cache;
    QVERIFY(openCorpus(cache));
    const QString longBody = QString(u"filler "_s).repeated(60) + u"the Café is open"_s
        + QString(u" more"_s).repeated(60);
    cache.saveMessages({message(kCarol, 9, u"carol"_s, longBody, 99000)});
    const std::optional<QList<SearchHit>> hits = search(cache, {u"cafe"_s}, kCarol);
    QVERIFY(hits);
    QCOMPARE(hits->size(), 2);
    const SearchHit &hit = hits->first();
    QCOMPARE(hit.conv, kCarol);
    QCOMPARE(hit.peer, u"carol"_s);
    QCOMPARE(hit.seq, 9);
    QCOMPARE(hit.from, u"carol"_s);
    QCOMPARE(hit.ts, 99000);
    QCOMPARE(hit.body, longBody);
    QVERIFY(hit.cached);
    QVERIFY2(hit.snippet.contains(u"[Café]"_s), qPrintable(hit.snippet));
    QVERIFY2(hit.snippet.size() <= parley::protocol::search::SnippetChars, qPrintable(hit.snippet));
    QCOMPARE(
        hit.snippet, parley::protocol::search::snippet(longBody, {u"cafe"_s})); // the server's look
    QCOMPARE(hits->at(1).snippet, u"see you at the [café], Carol"_s);
}

void CacheSearchTest::gapRowsAreNotIndexed()
{
    Cache cache;
    QVERIFY(openCache(cache, path(u"alice.sqlite3"_s)) == QString());
    ChatMessage gap = message(kBob, 1, u"bob"_s, u"ghost words"_s);
    gap.gap = true; // a gap never has a body; this one does, to prove it is not indexed
    cache.saveMessages({gap, message(kBob, 2, u"bob"_s, u"real words"_s)});
    QCOMPARE(keys(search(cache, {u"ghost"_s})), QStringList());
    QCOMPARE(keys(search(cache, {u"words"_s})), QStringList({u"alice:bob#2"_s}));
}

void CacheSearchTest::outboxMessagesAreFound()
{
    Cache cache;
    QVERIFY(openCorpus(cache));
    ChatMessage typed;
    typed.conv = kBob;
    typed.cid = u"q1"_s;
    typed.from = u"alice"_s;
    typed.to = u"bob"_s;
    typed.body = u"typed offline about the cafe"_s;
    typed.outgoing = true;
    typed.state = MessageState::Queued;
    typed.queuedAt = typed.ts = 50000;
    ChatMessage cancelled = typed;
    cancelled.cid = u"q2"_s;
    cancelled.cancelled = true;
    cache.saveOutgoing(typed);
    cache.saveOutgoing(cancelled);
    const std::optional<QList<SearchHit>> hits = search(cache, {u"cafe"_s}, kBob);
    QCOMPARE(keys(hits),
        QStringList({u"alice:bob#0"_s, u"alice:bob#3"_s, u"alice:bob#2"_s, u"alice:bob#1"_s}));
    QCOMPARE(hits->first().snippet, u"typed offline about the [cafe]"_s);
    QCOMPARE(hits->first().peer, u"bob"_s);
    QCOMPARE(keys(search(cache, {u"cafe"_s}, kBob, u"bob"_s)),
        QStringList({u"alice:bob#3"_s, u"alice:bob#1"_s}));
    // Once acked it is a stored message, found once.
    ChatMessage acked = typed;
    acked.seq = 7;
    acked.state = MessageState::Sent;
    cache.saveMessages({acked});
    QCOMPARE(keys(search(cache, {u"typed"_s})), QStringList({u"alice:bob#7"_s}));
}

void CacheSearchTest::indexFollowsEveryWrite()
{
    const QString file = path(u"alice.sqlite3"_s);
    {
        Cache cache;
        QVERIFY(openCorpus(cache));
        // Saved again (idempotent), acked again, receipts and read marks: rows updated.
        cache.saveMessages(corpus());
        cache.applyPeerReceipt(kBob, parley::protocol::ReceiptKind::Read, 6, 7000);
        cache.markRead(kBob, 6, 7000);
        QCOMPARE(search(cache, {u"nine"_s})->size(), 3);
    }
    {
        RawDb db(file);
        QCOMPARE(db.exec(u"INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')"_s),
            QString());
        // A row changed or removed by any statement leaves the index right too.
        QCOMPARE(
            db.exec(u"UPDATE messages SET body = 'zebra crossing' WHERE seq = 3"_s), QString());
        QCOMPARE(db.exec(u"DELETE FROM messages WHERE seq = 4"_s), QString());
        QCOMPARE(db.exec(u"INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')"_s),
            QString());
    }
    Cache cache;
    QCOMPARE(openCache(cache, file), QString());
    QCOMPARE(keys(search(cache, {u"nine"_s})), QStringList({u"alice:bob#2"_s}));
    QCOMPARE(keys(search(cache, {u"zebra"_s})), QStringList({u"alice:bob#3"_s}));
}

void CacheSearchTest::upgradesVersionOneCache()
{
    // A cache written by the version before search: the V1 schema as it shipped, with
    // messages and a gap row in it.
    const QString file = path(u"old.sqlite3"_s);
    {
        RawDb db(file);
        const QStringList v1 = {
            u"CREATE TABLE conversations (conv TEXT PRIMARY KEY NOT NULL, peer TEXT NOT NULL"
            " DEFAULT '', last_seq INTEGER NOT NULL DEFAULT 0, last_ts INTEGER NOT NULL DEFAULT 0,"
            " contiguous_seq INTEGER NOT NULL DEFAULT 0, floor_seq INTEGER NOT NULL DEFAULT 0,"
            " read_up_to INTEGER NOT NULL DEFAULT 0, peer_delivered INTEGER NOT NULL DEFAULT 0,"
            " peer_read INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID"_s,
            u"CREATE TABLE messages (id INTEGER PRIMARY KEY, conv TEXT NOT NULL, seq INTEGER NOT"
            " NULL, cid TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL, body TEXT"
            " NOT NULL, ts INTEGER NOT NULL, outgoing INTEGER NOT NULL, gap INTEGER NOT NULL,"
            " state TEXT NOT NULL, failure TEXT NOT NULL, attempts INTEGER NOT NULL,"
            " queued_at INTEGER NOT NULL, sending_at INTEGER NOT NULL, sent_at INTEGER NOT NULL,"
            " delivered_at INTEGER NOT NULL, read_at INTEGER NOT NULL, failed_at INTEGER NOT"
            " NULL, UNIQUE (conv, seq))"_s,
            u"CREATE INDEX messages_by_state ON messages(conv, state, seq) WHERE gap = 0"_s,
            u"CREATE TABLE outbox (cid TEXT PRIMARY KEY NOT NULL, position INTEGER NOT NULL,"
            " conv TEXT NOT NULL, recipient TEXT NOT NULL, sender TEXT NOT NULL, body TEXT NOT"
            " NULL, state TEXT NOT NULL, failure TEXT NOT NULL, maybe_sent INTEGER NOT NULL,"
            " cancelled INTEGER NOT NULL, attempts INTEGER NOT NULL, queued_at INTEGER NOT NULL,"
            " sending_at INTEGER NOT NULL, failed_at INTEGER NOT NULL, ts INTEGER NOT NULL)"
            " WITHOUT ROWID"_s,
            u"CREATE INDEX outbox_by_conv ON outbox(conv, position)"_s,
            u"CREATE INDEX outbox_by_position ON outbox(position)"_s,
            u"INSERT INTO conversations (conv, peer, last_seq) VALUES ('alice:bob', 'bob', 3)"_s,
            u"INSERT INTO messages VALUES (1, 'alice:bob', 1, 'c1', 'bob', 'alice',"
            " 'Rendez-vous au café', 1000, 0, 0, 'read', '', 0, 0, 0, 0, 0, 0, 0)"_s,
            u"INSERT INTO messages VALUES (2, 'alice:bob', 2, '', '', '', 'cafe ghost', 0, 0, 1,"
            " 'received', '', 0, 0, 0, 0, 0, 0, 0)"_s,
            u"INSERT INTO messages VALUES (3, 'alice:bob', 3, 'c3', 'alice', 'bob',"
            " 'à demain au CAFÉ', 3000, 1, 0, 'read', '', 1, 0, 0, 3000, 0, 0, 0)"_s,
            u"PRAGMA user_version = 1"_s,
        };
        for (const QString &statement : v1)
            QCOMPARE(db.exec(statement), QString());
    }
    Cache cache;
    QCOMPARE(openCache(cache, file), QString());
    const std::optional<QList<SearchHit>> hits = search(cache, {u"cafe"_s});
    QCOMPARE(keys(hits), QStringList({u"alice:bob#3"_s, u"alice:bob#1"_s}));
    QCOMPARE(hits->first().peer, u"bob"_s);
    QCOMPARE(hits->first().snippet, u"à demain au [CAFÉ]"_s);
    // New messages are indexed alongside the upgraded ones.
    cache.saveMessages({message(kBob, 4, u"bob"_s, u"café again"_s, 4000)});
    QCOMPARE(keys(search(cache, {u"cafe"_s})),
        QStringList({u"alice:bob#4"_s, u"alice:bob#3"_s, u"alice:bob#1"_s}));
}

QTEST_GUILESS_MAIN(CacheSearchTest)
#include "tst_cachesearch.moc"
