// SqliteStore::search: the search rules on the FTS5 index, who sees what, pages and
// cursors, and the upgrade that indexes messages stored before the index existed.
#include "searchtext.h"
#include "sqlitestore.h"
#include "storetesting.h"

#include <QSet>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace parley;
using namespace parley::server;
using namespace Qt::StringLiterals;

namespace {

using testing::await;

QString describe(const StoreError &error)
{
    return u"code %1: %2"_s.arg(int(error.code)).arg(error.message);
}

// FTS5's own check that the index agrees with the rows it was built from.
const QString IntegrityCheck
    = u"INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)"_s;

struct Sync
{
    Store &store;

    void user(const QString &name)
    {
        await<Done>([&](auto done) { store.createUser(NewUser {name, "h", 1}, done); });
    }
    protocol::Message send(const QString &from, const QString &to, const QString &body)
    {
        static int cid = 0;
        const SendRequest request {from, to, u"cid-%1"_s.arg(++cid), body, 1000 + cid};
        const auto stored
            = await<StoredSend>([&](auto done) { store.appendMessage(request, done); });
        return stored ? stored.value().message : protocol::Message {};
    }
    Result<SearchPage> search(const QString &user, const QString &q, int limit = 20,
        const QString &cursor = {}, std::optional<QString> conv = {},
        std::optional<QString> from = {})
    {
        const SearchQuery query {
            user, protocol::search::queryWords(q), std::move(conv), std::move(from), limit, cursor};
        return await<SearchPage>([&](auto done) { store.search(query, done); });
    }
    // The bodies of every hit, following the cursors to the end.
    QStringList bodies(const QString &user, const QString &q, int limit = 20,
        std::optional<QString> conv = {}, std::optional<QString> from = {})
    {
        QStringList out;
        QString cursor;
        for (int pages = 0; pages < 1000; ++pages) {
            const auto page = search(user, q, limit, cursor, conv, from);
            if (!page) {
                out.append(u"error: "_s + describe(page.error()));
                return out;
            }
            for (const protocol::SearchHit &hit : page.value().hits)
                out.append(hit.body);
            if (!page.value().next)
                return out;
            cursor = *page.value().next;
        }
        return out;
    }
};

} // namespace

#define VERIFY_OK(expression)                                                                      \
    do {                                                                                           \
        const auto &result_ = (expression);                                                        \
        QVERIFY2(                                                                                  \
            result_.ok(), qPrintable(describe(result_.ok() ? StoreError {} : result_.error())));   \
    } while (false)

class TestSqliteSearch : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void rules_data();
    void rules();
    void snippetsMarkMatchesAndStayShort();
    void onlyTheUsersConversations();
    void convAndFromFilters();
    void pagesReachTheEndOnce();
    void foreignCursorIsInvalid_data();
    void foreignCursorIsInvalid();
    void cursorsAreBoundToUserAndQuery();
    void searchSeesWritesQueuedBeforeIt();
    void upgradeIndexesEarlierMessages();
    void indexFollowsInBatches();
    void indexCatchesUpWhenTheStoreOpens();
    void wordsSplitLikeFts5();
    void groupMessagesStayOutOfOneOnOneSearches();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<SqliteStore> m_store;
    std::unique_ptr<Sync> m_sync;
};

void TestSqliteSearch::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_store = std::make_unique<SqliteStore>(m_dir->path());
    m_sync = std::make_unique<Sync>(Sync {*m_store});
    QString error;
    QVERIFY2(m_store->open(&error), qPrintable(error));
    for (const QString &name : {u"alice"_s, u"bob"_s, u"carol"_s})
        m_sync->user(name);
}

void TestSqliteSearch::cleanup()
{
    m_sync.reset();
    m_store.reset();
    m_dir.reset();
}

void TestSqliteSearch::rules_data()
{
    QTest::addColumn<QString>("q");
    QTest::addColumn<QStringList>("expected"); // newest first

    QTest::newRow("one word") << u"lunch"_s << QStringList {u"Lunch on Friday?"_s};
    QTest::newRow("prefix") << u"fri"_s
                            << QStringList {u"fried rice, friends"_s, u"Lunch on Friday?"_s};
    QTest::newRow("all words") << u"lunch fri"_s << QStringList {u"Lunch on Friday?"_s};
    QTest::newRow("order of words") << u"friday LUNCH"_s << QStringList {u"Lunch on Friday?"_s};
    QTest::newRow("not mid-word") << u"iday"_s << QStringList {};
    QTest::newRow("accents ignored")
        << u"cafe"_s << QStringList {u"CAFÉ later"_s, u"un café crème"_s};
    QTest::newRow("accents in query") << u"CRÈME"_s << QStringList {u"un café crème"_s};
    QTest::newRow("combining mark") << u"resume"_s << QStringList {u"my re\u0301sume\u0301"_s};
    QTest::newRow("digits") << u"2026"_s << QStringList {u"flight AF-2026 at 7"_s};
    QTest::newRow("split at punctuation") << u"af"_s << QStringList {u"flight AF-2026 at 7"_s};
    QTest::newRow("fts5 keywords are words") << u"and OR not"_s << QStringList {};
    QTest::newRow("keyword as a word") << u"near"_s << QStringList {u"near the NEAR station"_s};
    QTest::newRow("greek") << u"καλη"_s << QStringList {u"Καλημέρα!"_s};
    QTest::newRow("hindi") << u"हिंदी"_s << QStringList {u"नमस्ते, हिंदी में"_s};
    QTest::newRow("hebrew with points") << u"שָׁלוֹם"_s << QStringList {u"שָׁלוֹם עולם"_s};
    QTest::newRow("thai") << u"สวัสดี"_s << QStringList {u"สวัสดี ครับ"_s};
}

void TestSqliteSearch::rules()
{
    QFETCH(QString, q);
    QFETCH(QStringList, expected);
    for (const QString &body :
        {u"Lunch on Friday?"_s, u"un café crème"_s, u"my re\u0301sume\u0301"_s,
            u"fried rice, friends"_s, u"flight AF-2026 at 7"_s, u"near the NEAR station"_s,
            u"Καλημέρα!"_s, u"CAFÉ later"_s, u"नमस्ते, हिंदी में"_s, u"שָׁלוֹם עולם"_s, u"สวัสดี ครับ"_s})
        m_sync->send(u"alice"_s, u"bob"_s, body);
    QCOMPARE(m_sync->bodies(u"bob"_s, q), expected);
    QCOMPARE(m_sync->bodies(u"alice"_s, q), expected);
}

void TestSqliteSearch::snippetsMarkMatchesAndStayShort()
{
    const QString lead = u"word "_s.repeated(60);
    m_sync->send(u"alice"_s, u"bob"_s, lead + u"the Dinner plan"_s + u" tail"_s.repeated(60));
    // Words too long for FTS5's token window: the shared rules draw the snippet.
    m_sync->send(
        u"alice"_s, u"bob"_s, QString(u"x"_s.repeated(90) + u' ').repeated(3) + u"dinner"_s);
    const auto page = m_sync->search(u"bob"_s, u"din"_s);
    VERIFY_OK(page);
    QCOMPARE(page.value().hits.size(), 2);
    for (const protocol::SearchHit &hit : page.value().hits) {
        QVERIFY2(hit.snippet.size() <= protocol::search::SnippetChars, qPrintable(hit.snippet));
        QVERIFY2(hit.snippet.contains(u"[dinner]"_s, Qt::CaseInsensitive), qPrintable(hit.snippet));
        QVERIFY(hit.snippet.startsWith(u'…'));
    }
    QVERIFY(page.value().hits.at(1).snippet.contains(u"the [Dinner] plan"_s));
    QVERIFY(page.value().hits.at(1).snippet.endsWith(u'…'));
}

void TestSqliteSearch::onlyTheUsersConversations()
{
    m_sync->send(u"alice"_s, u"bob"_s, u"secret plan A"_s);
    m_sync->send(u"bob"_s, u"carol"_s, u"secret plan B"_s);
    m_sync->send(u"carol"_s, u"alice"_s, u"secret plan C"_s);
    QCOMPARE(m_sync->bodies(u"alice"_s, u"secret"_s),
        (QStringList {u"secret plan C"_s, u"secret plan A"_s}));
    QCOMPARE(m_sync->bodies(u"bob"_s, u"secret"_s),
        (QStringList {u"secret plan B"_s, u"secret plan A"_s}));
    QCOMPARE(m_sync->bodies(u"carol"_s, u"plan"_s),
        (QStringList {u"secret plan C"_s, u"secret plan B"_s}));
    m_sync->user(u"dave"_s);
    QCOMPARE(m_sync->bodies(u"dave"_s, u"secret"_s), QStringList {});
    // A conv filter never widens what the user sees (the session also refuses it).
    QCOMPARE(m_sync->bodies(u"dave"_s, u"secret"_s, 20, u"alice:bob"_s), QStringList {});
    // Member tokens are not words of the body.
    QCOMPARE(m_sync->bodies(u"alice"_s, u"616c696365"_s), QStringList {});
}

void TestSqliteSearch::convAndFromFilters()
{
    m_sync->send(u"alice"_s, u"bob"_s, u"meeting 1 from alice"_s);
    m_sync->send(u"bob"_s, u"alice"_s, u"meeting 2 from bob"_s);
    m_sync->send(u"carol"_s, u"alice"_s, u"meeting 3 from carol"_s);
    m_sync->send(u"alice"_s, u"carol"_s, u"meeting 4 from alice"_s);
    QCOMPARE(m_sync->bodies(u"alice"_s, u"meet"_s, 20, u"alice:bob"_s),
        (QStringList {u"meeting 2 from bob"_s, u"meeting 1 from alice"_s}));
    QCOMPARE(m_sync->bodies(u"alice"_s, u"meet"_s, 20, {}, u"alice"_s),
        (QStringList {u"meeting 4 from alice"_s, u"meeting 1 from alice"_s}));
    QCOMPARE(m_sync->bodies(u"alice"_s, u"meet"_s, 20, {}, u"carol"_s),
        (QStringList {u"meeting 3 from carol"_s}));
    QCOMPARE(m_sync->bodies(u"alice"_s, u"meet"_s, 20, u"alice:carol"_s, u"alice"_s),
        (QStringList {u"meeting 4 from alice"_s}));
    QCOMPARE(m_sync->bodies(u"alice"_s, u"meet"_s, 20, u"alice:bob"_s, u"carol"_s), QStringList {});
    // Sender of the hit and conversation are reported.
    const auto page = m_sync->search(u"carol"_s, u"meeting 3"_s);
    VERIFY_OK(page);
    QCOMPARE(page.value().hits.size(), 1);
    const protocol::SearchHit hit = page.value().hits.at(0);
    QCOMPARE(hit.conv, u"alice:carol"_s);
    QCOMPARE(hit.seq, 1);
    QCOMPARE(hit.from, u"carol"_s);
    QVERIFY(hit.ts > 1000);
}

void TestSqliteSearch::pagesReachTheEndOnce()
{
    QStringList expected;
    for (int i = 0; i < 57; ++i) {
        const bool withBob = i % 3 != 0;
        const QString body = u"report number %1"_s.arg(i);
        m_sync->send(u"alice"_s, withBob ? u"bob"_s : u"carol"_s, body);
        expected.prepend(body);
    }
    m_sync->send(u"bob"_s, u"carol"_s, u"report of others"_s);
    for (int limit : {1, 7, 20, 57, 100})
        QCOMPARE(m_sync->bodies(u"alice"_s, u"rep num"_s, limit), expected);

    const auto first = m_sync->search(u"alice"_s, u"report"_s, 20);
    VERIFY_OK(first);
    QCOMPARE(first.value().hits.size(), 20);
    QCOMPARE(first.value().cursorAfter.size(), 20);
    QCOMPARE(first.value().next, first.value().cursorAfter.last());
    // Continuing after any hit gives exactly the hits after it.
    const auto fromFifth
        = m_sync->search(u"alice"_s, u"report"_s, 3, first.value().cursorAfter.at(4));
    VERIFY_OK(fromFifth);
    QCOMPARE(fromFifth.value().hits.value(0).body, expected.at(5));
    // The last page has no next.
    const auto last = m_sync->search(u"alice"_s, u"report"_s, 100);
    VERIFY_OK(last);
    QCOMPARE(last.value().hits.size(), 57);
    QVERIFY(!last.value().next);
}

void TestSqliteSearch::foreignCursorIsInvalid_data()
{
    QTest::addColumn<QString>("cursor");
    const auto b64 = [](const QByteArray &text) {
        return QString::fromLatin1(
            text.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
    };
    QTest::newRow("garbage") << u"not a cursor!"_s;
    QTest::newRow("not base64") << u"%%%%"_s;
    QTest::newRow("version 1, hand-made") << b64("s1:5"); // had no MAC: refused now
    QTest::newRow("no MAC") << b64("s2:5");
    QTest::newRow("empty MAC") << b64("s2:5:");
    QTest::newRow("forged MAC") << b64("s2:5:000000000000000000000000");
    QTest::newRow("other version") << b64("s3:5:000000000000000000000000");
    QTest::newRow("no id") << b64("s1:");
    QTest::newRow("negative") << b64("s1:-5");
    QTest::newRow("zero") << b64("s1:0");
    QTest::newRow("not digits") << b64("s1:5 OR 1=1");
    QTest::newRow("too big") << b64("s1:99999999999999999999999");
    QTest::newRow("padded") << b64("s1:5") + u"=="_s;
    QTest::newRow("sql") << u"'; DROP TABLE messages; --"_s;
}

void TestSqliteSearch::foreignCursorIsInvalid()
{
    QFETCH(QString, cursor);
    m_sync->send(u"alice"_s, u"bob"_s, u"hello"_s);
    const auto page = m_sync->search(u"alice"_s, u"hello"_s, 20, cursor);
    QVERIFY(!page.ok());
    QCOMPARE(int(page.error().code), int(StoreError::Code::Invalid));
    QCOMPARE(m_sync->bodies(u"alice"_s, u"hello"_s), QStringList {u"hello"_s});
}

void TestSqliteSearch::cursorsAreBoundToUserAndQuery()
{
    for (int i = 0; i < 5; ++i)
        m_sync->send(u"alice"_s, u"bob"_s, u"budget report %1"_s.arg(i));
    const auto first = m_sync->search(u"alice"_s, u"report"_s, 2);
    VERIFY_OK(first);
    QVERIFY(first.value().next);
    const QString cursor = *first.value().next;
    VERIFY_OK(m_sync->search(u"alice"_s, u"report"_s, 2, cursor));
    // The same cursor in bob's search (he is in the conversation), in another query of
    // alice's, or narrowed to a conversation is refused, not answered from its position.
    for (const auto &[user, words] : {std::pair {u"bob"_s, u"report"_s},
             std::pair {u"alice"_s, u"budget"_s}, std::pair {u"alice"_s, u"report budget"_s}}) {
        const auto page = m_sync->search(user, words, 2, cursor);
        QVERIFY(!page.ok());
        QCOMPARE(int(page.error().code), int(StoreError::Code::Invalid));
    }
    const auto narrowed = m_sync->search(u"alice"_s, u"report"_s, 2, cursor, u"alice:bob"_s);
    QVERIFY(!narrowed.ok());
}

void TestSqliteSearch::searchSeesWritesQueuedBeforeIt()
{
    // Not waited for: the search is queued right behind the send.
    m_store->appendMessage(SendRequest {u"alice"_s, u"bob"_s, u"c-now"_s, u"just now"_s, 5}, {});
    const auto page = m_sync->search(u"bob"_s, u"just"_s);
    VERIFY_OK(page);
    QCOMPARE(page.value().hits.size(), 1);
}

void TestSqliteSearch::upgradeIndexesEarlierMessages()
{
    // A version 1 database, written the way that version wrote it.
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    {
        const QString name = u"tst-v1"_s;
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, name);
            db.setDatabaseName(dir.filePath(u"parley.sqlite3"_s));
            QVERIFY(db.open());
            QSqlQuery sql(db);
            const QList<QStringView> v1 = SqliteStore::schemaStatements(1);
            QVERIFY(!v1.isEmpty());
            for (QStringView statement : v1)
                QVERIFY2(sql.exec(statement.toString()), qPrintable(sql.lastError().text()));
            for (const QString &statement :
                {u"INSERT INTO users VALUES ('ann', x'00', 1, NULL), ('ben', x'00', 1, NULL),"
                 u" ('cy', x'00', 1, NULL)"_s,
                    u"INSERT INTO conversations (conv, user_a, user_b, last_seq, last_ts)"
                    u" VALUES ('ann:ben', 'ann', 'ben', 2, 20), ('ben:cy', 'ben', 'cy', 1, 30)"_s,
                    u"INSERT INTO messages (conv, seq, sender, recipient, cid, body, ts) VALUES"
                    u" ('ann:ben', 1, 'ann', 'ben', 'a', 'Old Café story', 10),"
                    u" ('ann:ben', 2, 'ben', 'ann', 'b', 'older news', 20),"
                    u" ('ben:cy', 1, 'cy', 'ben', 'c', 'café for cy', 30)"_s,
                    u"PRAGMA user_version = 1"_s})
                QVERIFY2(sql.exec(statement), qPrintable(sql.lastError().text()));
        }
        QSqlDatabase::removeDatabase(name);
    }
    SqliteStore store(dir.path());
    QString error;
    QVERIFY2(store.open(&error), qPrintable(error));
    Sync sync {store};
    QCOMPARE(sync.bodies(u"ann"_s, u"old"_s), (QStringList {u"older news"_s, u"Old Café story"_s}));
    QCOMPARE(sync.bodies(u"ann"_s, u"CAFE"_s), QStringList {u"Old Café story"_s});
    QCOMPARE(
        sync.bodies(u"ben"_s, u"cafe"_s), (QStringList {u"café for cy"_s, u"Old Café story"_s}));
    // New messages are indexed as they are stored, next to the upgraded ones.
    sync.send(u"ben"_s, u"ann"_s, u"old friends"_s);
    QCOMPARE(sync.bodies(u"ann"_s, u"old"_s),
        (QStringList {u"old friends"_s, u"older news"_s, u"Old Café story"_s}));
    store.close();
    // The index agrees with the messages it was built from, row by row.
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"tst-check"_s);
        db.setDatabaseName(dir.filePath(u"parley.sqlite3"_s));
        QVERIFY(db.open());
        QSqlQuery check(db);
        QVERIFY2(check.exec(IntegrityCheck), qPrintable(check.lastError().text()));
        // Version 4 rebuilt `messages` with the same ids (the index refers to them) and
        // the columns groups need.
        QVERIFY(check.exec(u"SELECT group_concat(id || ':' || body || ':' || (event IS NULL),"
                           u" '|') FROM messages ORDER BY id"_s));
        QVERIFY(check.next());
        QCOMPARE(check.value(0).toString(),
            u"1:Old Café story:1|2:older news:1|3:café for cy:1|4:old friends:1"_s);
        QVERIFY(check.exec(u"PRAGMA user_version"_s));
        QVERIFY(check.next());
        QCOMPARE(check.value(0).toInt(), 4);
    }
    QSqlDatabase::removeDatabase(u"tst-check"_s);
}

namespace {

// Runs `statements` on the store's file with a connection of its own (the store closed).
bool onFile(const QString &path, const QStringList &statements, QVariant *lastValue = nullptr)
{
    bool ok = true;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"tst-direct"_s);
        db.setDatabaseName(path);
        ok = db.open();
        QSqlQuery sql(db);
        for (const QString &statement : statements) {
            ok = ok && sql.exec(statement);
            if (!ok)
                qWarning("%s: %s", qPrintable(statement), qPrintable(sql.lastError().text()));
            if (ok && lastValue && sql.next())
                *lastValue = sql.value(0);
        }
    }
    QSqlDatabase::removeDatabase(u"tst-direct"_s);
    return ok;
}

} // namespace

void TestSqliteSearch::indexFollowsInBatches()
{
    // Many sends at once (group commits of many messages), each searchable by the search
    // that follows, and an index that agrees with the messages row by row afterwards.
    constexpr int Count = 600;
    int answered = 0, stored = 0;
    for (int i = 0; i < Count; ++i) {
        const SendRequest request {
            u"alice"_s, u"bob"_s, u"batch-%1"_s.arg(i), u"batch word%1 pelican"_s.arg(i), 5000 + i};
        m_store->appendMessage(request, [&answered, &stored](Result<StoredSend> r) {
            stored += r ? 1 : 0;
            ++answered;
        });
    }
    QTRY_COMPARE(answered, Count);
    QCOMPARE(stored, Count);
    QCOMPARE(m_sync->bodies(u"bob"_s, u"pelican"_s, 100).size(), Count);
    QCOMPARE(m_sync->bodies(u"alice"_s, u"word599"_s), QStringList {u"batch word599 pelican"_s});
    // Stored after the last search: indexed by the store on its own within IndexDelayMs.
    m_sync->send(u"carol"_s, u"bob"_s, u"later heron"_s);
    const QString path = m_dir->filePath(u"parley.sqlite3"_s);
    QVariant indexed;
    QTRY_VERIFY([&] {
        // The store's WAL is readable from a second connection while it runs.
        onFile(path, {u"SELECT indexed_up_to FROM search_progress"_s}, &indexed);
        return indexed.toLongLong() == Count + 1;
    }());
    m_store->close();
    QVERIFY(onFile(path,
        {u"INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)"_s}));
}

void TestSqliteSearch::indexCatchesUpWhenTheStoreOpens()
{
    // A store stopped (killed) between storing messages and indexing them: the messages
    // are there, search_progress is behind. Opening the store indexes them.
    m_sync->send(u"alice"_s, u"bob"_s, u"indexed before the stop"_s);
    m_store->close();
    const QString path = m_dir->filePath(u"parley.sqlite3"_s);
    QVERIFY(onFile(path,
        {u"INSERT INTO messages (conv, seq, sender, recipient, cid, body, ts)"
         u" SELECT 'alice:bob', last_seq + 1, 'bob', 'alice', 'unindexed-1',"
         u" 'stored while the index lagged', 99 FROM conversations WHERE conv = 'alice:bob'"_s,
            u"UPDATE conversations SET last_seq = last_seq + 1 WHERE conv = 'alice:bob'"_s,
            // A row never indexed deleted by hand must not reach the index as a 'delete'.
            u"INSERT INTO messages (conv, seq, sender, recipient, cid, body, ts)"
            u" VALUES ('alice:bob', 999, 'bob', 'alice', 'unindexed-2', 'gone again', 99)"_s,
            u"DELETE FROM messages WHERE cid = 'unindexed-2'"_s}));
    QString error;
    QVERIFY2(m_store->open(&error), qPrintable(error));
    QCOMPARE(
        m_sync->bodies(u"alice"_s, u"lagged"_s), QStringList {u"stored while the index lagged"_s});
    QCOMPARE(m_sync->bodies(u"alice"_s, u"gone"_s), QStringList {});
    QCOMPARE(m_sync->bodies(u"bob"_s, u"stop"_s), QStringList {u"indexed before the stop"_s});
    m_store->close();
    QVERIFY(onFile(path,
        {u"INSERT INTO message_search (message_search, rank) VALUES ('integrity-check', 1)"_s}));
}

// The shared rules (protocol::search) must split words exactly where SQLite's unicode61
// tokenizer does, or the DynamoDB store, snippets and the client's outbox matching would
// disagree with FTS5: every combining mark of U+0300..U+036F and a sample of other
// scripts' marks, between two letters, through this machine's SQLite.
void TestSqliteSearch::wordsSplitLikeFts5()
{
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"fts5-words"_s);
        db.setDatabaseName(u":memory:"_s);
        QVERIFY(db.open());
        QSqlQuery q(db);
        QVERIFY2(q.exec(u"CREATE VIRTUAL TABLE t USING fts5(b, tokenize='unicode61 "
                        u"remove_diacritics 2')"_s),
            qPrintable(q.lastError().text()));
        QVERIFY(q.exec(u"CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')"_s));
        QList<char32_t> marks;
        for (char32_t c = 0x300; c < 0x370; ++c)
            marks.append(c);
        marks.append({0x93F, 0x902, 0x940, 0x93C, 0x5B8, 0x5C1, 0xE31, 0xE35, 0x64E, 0x20D0});
        for (const char32_t mark : std::as_const(marks)) {
            const QString text = u"a"_s + QString::fromUcs4(&mark, 1) + u"b"_s;
            QVERIFY(q.exec(u"DELETE FROM t"_s));
            q.prepare(u"INSERT INTO t (b) VALUES (?)"_s);
            q.addBindValue(text);
            QVERIFY(q.exec());
            QStringList fts5;
            QVERIFY(q.exec(u"SELECT term FROM v ORDER BY term"_s));
            while (q.next())
                fts5.append(q.value(0).toString());
            QStringList ours = parley::protocol::search::indexWords(text);
            ours.sort();
            QVERIFY2(ours == fts5,
                qPrintable(u"U+%1: ours %2, FTS5 %3"_s.arg(quint32(mark), 4, 16, QChar(u'0'))
                               .arg(ours.join(u','), fts5.join(u','))));
        }
    }
    QSqlDatabase::removeDatabase(u"fts5-words"_s);
}

// Group messages (schema version 4, docs/groups.md) are indexed with the group as their
// audience, not two users: a one-on-one search never returns them, and the index stays
// consistent with the rows it was built from (FTS5's integrity check).
void TestSqliteSearch::groupMessagesStayOutOfOneOnOneSearches()
{
    for (const QString &user : {u"ann"_s, u"bob"_s, u"cy"_s})
        m_sync->user(user);
    const auto created = await<GroupOutcome>([&](auto done) {
        m_store->createGroup(
            NewGroup {u"ann"_s, u"g1"_s, u"Lunch"_s, {u"bob"_s, u"cy"_s}, 1}, done);
    });
    QVERIFY2(created, created ? "" : qPrintable(describe(created.error())));
    const QString conv = created.value().group.conv;
    QCOMPARE(m_sync->send(u"bob"_s, conv, u"pizza at noon"_s).seq, 2);
    m_sync->send(u"ann"_s, u"bob"_s, u"pizza tonight"_s);
    QCOMPARE(m_sync->bodies(u"bob"_s, u"pizza"_s), QStringList {u"pizza tonight"_s});
    QCOMPARE(m_sync->bodies(u"cy"_s, u"pizza"_s), QStringList());
    m_store->close();
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"tst-group-check"_s);
        db.setDatabaseName(m_dir->filePath(u"parley.sqlite3"_s));
        QVERIFY(db.open());
        QSqlQuery check(db);
        QVERIFY2(check.exec(IntegrityCheck), qPrintable(check.lastError().text()));
        // The group message's audience is the group.
        QVERIFY(check.exec(u"SELECT count(*) FROM message_search WHERE members MATCH"
                           u" '\"' || char(57344) || 'c' || hex('%1') || '\"'"_s.arg(conv)));
        QVERIFY(check.next());
        QCOMPARE(check.value(0).toInt(), 2); // the creation entry and the message
    }
    QSqlDatabase::removeDatabase(u"tst-group-check"_s);
}

QTEST_GUILESS_MAIN(TestSqliteSearch)

#include "tst_sqlitesearch.moc"
