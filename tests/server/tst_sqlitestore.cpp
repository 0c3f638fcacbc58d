#include "sqlitestore.h"
#include "storetesting.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QMutex>
#include <QScopeGuard>
#include <QSemaphore>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTemporaryFile>
#include <QTest>
#include <QThread>

#include <chrono>
#include <future>
#include <memory>

using namespace parley;
using namespace parley::server;
using namespace Qt::StringLiterals;

namespace {

constexpr auto WaitLimit = std::chrono::seconds(30);

using testing::await;

// Blocking front for terse tests.
struct Sync
{
    Store &store;

    Result<Done> createUser(const QString &user, qint64 at = 1)
    {
        const NewUser record {user, "hash-" + user.toUtf8(), at};
        return await<Done>([&](auto done) { store.createUser(record, done); });
    }
    Result<UserRecord> findUser(const QString &user)
    {
        return await<UserRecord>([&](auto done) { store.findUser(user, done); });
    }
    Result<QStringList> listUsers(const QString &prefix, int limit)
    {
        return await<QStringList>([&](auto done) { store.listUsers(prefix, limit, done); });
    }
    Result<Done> createToken(const TokenRecord &token)
    {
        return await<Done>([&](auto done) { store.createToken(token, done); });
    }
    Result<TokenRecord> findToken(const QByteArray &hash, qint64 now)
    {
        return await<TokenRecord>([&](auto done) { store.findToken(hash, now, done); });
    }
    Result<Done> revokeToken(const QByteArray &hash)
    {
        return await<Done>([&](auto done) { store.revokeToken(hash, done); });
    }
    Result<StoredSend> send(const QString &from, const QString &to, const QString &cid,
        const QString &body = u"hi"_s, qint64 ts = 1000, quint64 origin = 0)
    {
        const SendRequest request {from, to, cid, body, ts, origin};
        return await<StoredSend>([&](auto done) { store.appendMessage(request, done); });
    }
    Result<GroupOutcome> createGroup(const QString &creator, const QString &cid,
        const QString &name, const QStringList &members, qint64 ts = 1000)
    {
        const NewGroup group {creator, cid, name, members, ts};
        return await<GroupOutcome>([&](auto done) { store.createGroup(group, done); });
    }
    Result<GroupOutcome> changeGroup(const QString &actor, const QString &cid, const QString &conv,
        GroupOp op, const QStringList &users = {}, const QString &name = {}, int maxMembers = 256)
    {
        const GroupChange change {actor, cid, conv, op, users, name, 2000, maxMembers};
        return await<GroupOutcome>([&](auto done) { store.changeGroup(change, done); });
    }
    Result<GroupState> group(const QString &conv, const QString &user)
    {
        return await<GroupState>([&](auto done) { store.group(conv, user, done); });
    }
    Result<ReceiptOutcome> receipt(
        const QString &user, const QString &conv, protocol::ReceiptKind kind, qint64 upTo)
    {
        const ReceiptUpdate update {user, conv, kind, upTo};
        return await<ReceiptOutcome>([&](auto done) { store.updateReceipt(update, done); });
    }
    Result<QList<protocol::ConversationSummary>> conversations(const QString &user)
    {
        return await<QList<protocol::ConversationSummary>>(
            [&](auto done) { store.conversations(user, done); });
    }
    Result<HistorySlice> history(const HistoryQuery &query)
    {
        return await<HistorySlice>([&](auto done) { store.history(query, done); });
    }
    Result<QStringList> peers(const QString &user)
    {
        return await<QStringList>([&](auto done) { store.conversationPeers(user, done); });
    }
    Result<Done> setLastSeen(const QString &user, qint64 ts)
    {
        return await<Done>([&](auto done) { store.setLastSeen(user, ts, done); });
    }
    Result<QHash<QString, qint64>> lastSeen(const QStringList &users)
    {
        return await<QHash<QString, qint64>>([&](auto done) { store.lastSeen(users, done); });
    }
};

// A second, plain connection to the same file, as an operator or a bug would use it.
class DirectConnection
{
public:
    explicit DirectConnection(const QString &path)
        : m_name(u"tst-direct-"_s + QString::number(quintptr(this), 16))
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_name);
        db.setDatabaseName(path);
        db.open();
    }
    ~DirectConnection() { QSqlDatabase::removeDatabase(m_name); }
    Q_DISABLE_COPY_MOVE(DirectConnection)

    QString exec(const QString &sql) // empty when it worked
    {
        QSqlQuery query(QSqlDatabase::database(m_name));
        return query.exec(sql) ? QString() : query.lastError().text();
    }
    QVariant value(const QString &sql)
    {
        QSqlQuery query(QSqlDatabase::database(m_name));
        return query.exec(sql) && query.next() ? query.value(0) : QVariant();
    }

private:
    QString m_name;
};

QString describe(const StoreError &error)
{
    return u"code %1: %2"_s.arg(int(error.code)).arg(error.message);
}

QList<qint64> seqsOf(const QList<protocol::Message> &messages)
{
    QList<qint64> seqs;
    for (const protocol::Message &message : messages)
        seqs.append(message.gap ? -message.seq : message.seq); // gaps negative
    return seqs;
}

} // namespace

// Each evaluates its argument once: it is often a blocking store call.
#define VERIFY_OK(expression)                                                                      \
    do {                                                                                           \
        const auto &result_ = (expression);                                                        \
        QVERIFY2(                                                                                  \
            result_.ok(), qPrintable(describe(result_.ok() ? StoreError {} : result_.error())));   \
    } while (false)
#define COMPARE_ERROR(expression, expected)                                                        \
    do {                                                                                           \
        const auto &result_ = (expression);                                                        \
        QVERIFY(!result_.ok());                                                                    \
        QCOMPARE(int(result_.error().code), int(expected));                                        \
    } while (false)

class TestSqliteStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void openCreatesConfiguredDatabase();
    void openCreatesMissingDataDir();
    void openFailsOnUnwritableDataDir();
    void operationsAfterCloseAreUnavailable();
    void callbacksRunOnStoreThread();
    void logIsCheckpointedBesideTheStoreThread();

    void createAndFindUser();
    void listUsers_data();
    void listUsers();
    void findToken_data();
    void findToken();
    void tokenConflictAndIdempotentRevoke();
    void peersAndLastSeen();

    void appendAssignsSeqPerConversation();
    void appendIsIdempotentPerCid();
    void appendToUnknownUserIsNotFound();
    void concurrentAppendsGetDenseSeqs();
    void failedOperationRollsBackAlone();
    void closeFinishesQueuedWork();
    void lockedDatabaseIsUnavailable();
    void failedSendHoldsItsConnectionsLaterSends();

    void groupIsCreatedOnceWithItsMembers();
    void groupMessagesAreForMembersOnly();
    void groupMembershipChangesAreEntries();
    void groupChangesAreChecked();

    void receipts_data();
    void receipts();
    void receiptOnUnknownConversation();
    void conversationSummaries();
    void history_data();
    void history();
    void historyReportsGaps();
    void reopenKeepsEverything();

    void appendThroughput();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    std::unique_ptr<SqliteStore> m_store;
    std::unique_ptr<Sync> m_sync;
};

void TestSqliteStore::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_store = std::make_unique<SqliteStore>(m_dir->path());
    m_sync = std::make_unique<Sync>(Sync {*m_store});
    QString error;
    QVERIFY2(m_store->open(&error), qPrintable(error));
}

void TestSqliteStore::cleanup()
{
    m_sync.reset();
    m_store.reset();
    m_dir.reset();
}

void TestSqliteStore::openCreatesConfiguredDatabase()
{
    const QString path = m_dir->filePath(u"parley.sqlite3"_s);
    QCOMPARE(m_store->databasePath(), path);
    QVERIFY(QFile::exists(path));
    const StoreHealth health = m_store->health();
    QVERIFY(health.ok);
    QCOMPARE(health.backend, u"sqlite"_s);
    QVERIFY(health.detail.contains(path));

    DirectConnection direct(path);
    QCOMPARE(direct.value(u"PRAGMA journal_mode"_s).toString(), u"wal"_s);
    QCOMPARE(direct.value(u"PRAGMA user_version"_s).toInt(), 4);
    QCOMPARE(
        direct.value(u"SELECT count(*) FROM sqlite_master WHERE name = 'messages'"_s).toInt(), 1);
    QCOMPARE(
        direct.value(u"SELECT count(*) FROM sqlite_master WHERE name = 'message_search'"_s).toInt(),
        1);
}

void TestSqliteStore::logIsCheckpointedBesideTheStoreThread()
{
    // The store's own automatic checkpoint only runs at 40 MiB of log; these writes make
    // far less. So the database file grows while the store is open only if WalCheckpointer
    // copies the log back on its own thread.
    const QString path = m_store->databasePath();
    const qint64 initial = QFileInfo(path).size();
    QVERIFY(m_sync->createUser(u"alice"_s));
    QVERIFY(m_sync->createUser(u"bob"_s));
    int answered = 0;
    for (int i = 0; i < 400; ++i) {
        m_store->appendMessage(
            SendRequest {u"alice"_s, u"bob"_s, u"wal-%1"_s.arg(i),
                u"a message long enough to fill a few pages of the log %1"_s.arg(i), i},
            [&answered](Result<StoredSend>) { ++answered; });
    }
    QTRY_COMPARE(answered, 400);
    QTRY_VERIFY_WITH_TIMEOUT(QFileInfo(path).size() > initial + 16 * 1024, 10000);
    QVERIFY(QFileInfo(path + u"-wal"_s).exists());
}

void TestSqliteStore::openCreatesMissingDataDir()
{
    const QString dir = m_dir->filePath(u"nested/deeper"_s);
    SqliteStore store(dir);
    QString error;
    QVERIFY2(store.open(&error), qPrintable(error));
    QVERIFY(QFile::exists(dir + u"/parley.sqlite3"_s));
}

void TestSqliteStore::openFailsOnUnwritableDataDir()
{
    QTemporaryFile file;
    QVERIFY(file.open());
    const QString dir = file.fileName() + u"/data"_s; // under a regular file: never creatable
    SqliteStore store(dir);
    QString error;
    QVERIFY(!store.open(&error));
    QVERIFY2(error.contains(dir), qPrintable(error));
    QVERIFY(!error.contains(u'\n'));
    QVERIFY(!store.health().ok);
    QCOMPARE(store.health().detail, error);
    COMPARE_ERROR(Sync {store}.findUser(u"alice"_s), StoreError::Code::Unavailable);
}

void TestSqliteStore::operationsAfterCloseAreUnavailable()
{
    SqliteStore neverOpened(m_dir->filePath(u"other"_s));
    COMPARE_ERROR(Sync {neverOpened}.createUser(u"alice"_s), StoreError::Code::Unavailable);

    VERIFY_OK(m_sync->createUser(u"alice"_s));
    m_store->close();
    m_store->close(); // twice is harmless
    QVERIFY(!m_store->health().ok);
    COMPARE_ERROR(m_sync->createUser(u"bob"_s), StoreError::Code::Unavailable);
    COMPARE_ERROR(m_sync->findUser(u"alice"_s), StoreError::Code::Unavailable);
    COMPARE_ERROR(m_sync->send(u"alice"_s, u"bob"_s, u"c1"_s), StoreError::Code::Unavailable);
}

void TestSqliteStore::callbacksRunOnStoreThread()
{
    QThread *first = nullptr;
    QThread *second = nullptr;
    await<Done>([&](auto done) {
        m_store->createUser(NewUser {u"alice"_s, "h", 1}, [&, done](Result<Done> r) {
            first = QThread::currentThread();
            done(std::move(r));
        });
    });
    await<UserRecord>([&](auto done) {
        m_store->findUser(u"alice"_s, [&, done](Result<UserRecord> r) {
            second = QThread::currentThread();
            done(std::move(r));
        });
    });
    QVERIFY(first);
    QVERIFY(first != QThread::currentThread());
    QCOMPARE(second, first);
}

void TestSqliteStore::createAndFindUser()
{
    VERIFY_OK(m_sync->createUser(u"alice"_s, 42));
    const auto found = m_sync->findUser(u"alice"_s);
    VERIFY_OK(found);
    QCOMPARE(found.value().user, u"alice"_s);
    QCOMPARE(found.value().passwordHash, QByteArray("hash-alice"));
    QVERIFY(!found.value().lastSeen);

    COMPARE_ERROR(m_sync->createUser(u"alice"_s), StoreError::Code::Conflict);
    COMPARE_ERROR(m_sync->findUser(u"nobody"_s), StoreError::Code::NotFound);
}

void TestSqliteStore::listUsers_data()
{
    QTest::addColumn<QString>("prefix");
    QTest::addColumn<int>("limit");
    QTest::addColumn<QStringList>("expected");

    const QStringList all {
        u"al_x"_s, u"albert"_s, u"alice"_s, u"alxy"_s, u"bo"_s, u"bob"_s, u"carol"_s};
    QTest::newRow("all, sorted") << QString() << 100 << all;
    QTest::newRow("prefix") << u"al"_s << 100 << all.mid(0, 4);
    QTest::newRow("limit") << u"al"_s << 2 << all.mid(0, 2);
    QTest::newRow("underscore is literal") << u"al_"_s << 100 << QStringList {u"al_x"_s};
    QTest::newRow("percent is literal") << u"%"_s << 100 << QStringList();
    QTest::newRow("a whole name") << u"bo"_s << 100 << QStringList {u"bo"_s, u"bob"_s};
    QTest::newRow("no match") << u"z"_s << 100 << QStringList();
    QTest::newRow("zero limit") << QString() << 0 << QStringList();
}

void TestSqliteStore::listUsers()
{
    QFETCH(QString, prefix);
    QFETCH(int, limit);
    QFETCH(QStringList, expected);
    for (const QString &name :
        {u"carol"_s, u"bob"_s, u"bo"_s, u"alxy"_s, u"alice"_s, u"albert"_s, u"al_x"_s})
        VERIFY_OK(m_sync->createUser(name));
    const auto listed = m_sync->listUsers(prefix, limit);
    VERIFY_OK(listed);
    QCOMPARE(listed.value(), expected);
}

void TestSqliteStore::findToken_data()
{
    QTest::addColumn<bool>("revoke");
    QTest::addColumn<qint64>("now");
    QTest::addColumn<bool>("found");

    QTest::newRow("valid") << false << qint64(999) << true;
    QTest::newRow("expires now") << false << qint64(1000) << false;
    QTest::newRow("expired") << false << qint64(5000) << false;
    QTest::newRow("revoked") << true << qint64(10) << false;
}

void TestSqliteStore::findToken()
{
    QFETCH(bool, revoke);
    QFETCH(qint64, now);
    QFETCH(bool, found);
    VERIFY_OK(m_sync->createUser(u"alice"_s));
    const QByteArray hash = QByteArray(32, '\x07');
    VERIFY_OK(m_sync->createToken(TokenRecord {hash, u"alice"_s, u"laptop"_s, 1000}));
    if (revoke)
        VERIFY_OK(m_sync->revokeToken(hash));

    const auto token = m_sync->findToken(hash, now);
    if (!found) {
        COMPARE_ERROR(token, StoreError::Code::NotFound);
        return;
    }
    VERIFY_OK(token);
    QCOMPARE(token.value().tokenHash, hash);
    QCOMPARE(token.value().user, u"alice"_s);
    QCOMPARE(token.value().device, u"laptop"_s);
    QCOMPARE(token.value().expires, qint64(1000));
}

void TestSqliteStore::tokenConflictAndIdempotentRevoke()
{
    VERIFY_OK(m_sync->createUser(u"alice"_s));
    const QByteArray hash(32, '\x01');
    COMPARE_ERROR(m_sync->findToken(hash, 0), StoreError::Code::NotFound);
    VERIFY_OK(m_sync->createToken(TokenRecord {hash, u"alice"_s, u"phone"_s, 100}));
    COMPARE_ERROR(m_sync->createToken(TokenRecord {hash, u"alice"_s, u"phone"_s, 100}),
        StoreError::Code::Conflict);
    VERIFY_OK(m_sync->revokeToken(hash));
    VERIFY_OK(m_sync->revokeToken(hash));
    VERIFY_OK(m_sync->revokeToken(QByteArray(32, '\x02'))); // unknown: nothing to do
    COMPARE_ERROR(m_sync->findToken(hash, 0), StoreError::Code::NotFound);
}

void TestSqliteStore::peersAndLastSeen()
{
    for (const QString &name : {u"alice"_s, u"bob"_s, u"carol"_s, u"dave"_s})
        VERIFY_OK(m_sync->createUser(name));
    VERIFY_OK(m_sync->send(u"alice"_s, u"carol"_s, u"1"_s));
    VERIFY_OK(m_sync->send(u"bob"_s, u"alice"_s, u"2"_s));
    VERIFY_OK(m_sync->send(u"alice"_s, u"bob"_s, u"3"_s));
    QCOMPARE(m_sync->peers(u"alice"_s).value(), (QStringList {u"bob"_s, u"carol"_s}));
    QCOMPARE(m_sync->peers(u"carol"_s).value(), QStringList {u"alice"_s});
    QCOMPARE(m_sync->peers(u"dave"_s).value(), QStringList());

    VERIFY_OK(m_sync->setLastSeen(u"alice"_s, 500));
    VERIFY_OK(m_sync->setLastSeen(u"bob"_s, 600));
    VERIFY_OK(m_sync->setLastSeen(u"bob"_s, 700));
    COMPARE_ERROR(m_sync->setLastSeen(u"nobody"_s, 1), StoreError::Code::NotFound);
    const auto seen = m_sync->lastSeen({u"alice"_s, u"bob"_s, u"carol"_s, u"nobody"_s});
    VERIFY_OK(seen);
    QCOMPARE(seen.value(), (QHash<QString, qint64> {{u"alice"_s, 500}, {u"bob"_s, 700}}));
    QCOMPARE(m_sync->findUser(u"bob"_s).value().lastSeen, std::optional<qint64>(700));
}

void TestSqliteStore::appendAssignsSeqPerConversation()
{
    for (const QString &name : {u"alice"_s, u"bob"_s, u"carol"_s})
        VERIFY_OK(m_sync->createUser(name));
    const auto first = m_sync->send(u"bob"_s, u"alice"_s, u"c1"_s, u"hello"_s, 1234);
    VERIFY_OK(first);
    QVERIFY(!first.value().duplicate);
    QCOMPARE(first.value().message,
        (protocol::Message {u"alice:bob"_s, 1, u"bob"_s, u"alice"_s, u"c1"_s, u"hello"_s, 1234}));

    QCOMPARE(m_sync->send(u"alice"_s, u"bob"_s, u"c2"_s).value().message.seq, 2);
    QCOMPARE(m_sync->send(u"alice"_s, u"carol"_s, u"c3"_s).value().message.seq, 1);
    QCOMPARE(m_sync->send(u"bob"_s, u"alice"_s, u"c4"_s).value().message.seq, 3);
    const auto other = m_sync->send(u"carol"_s, u"alice"_s, u"c5"_s);
    QCOMPARE(other.value().message.conv, u"alice:carol"_s);
    QCOMPARE(other.value().message.seq, 2);
}

void TestSqliteStore::appendIsIdempotentPerCid()
{
    for (const QString &name : {u"alice"_s, u"bob"_s, u"carol"_s})
        VERIFY_OK(m_sync->createUser(name));
    const auto first = m_sync->send(u"alice"_s, u"bob"_s, u"same"_s, u"first"_s, 100);
    VERIFY_OK(first);
    VERIFY_OK(m_sync->send(u"alice"_s, u"bob"_s, u"next"_s, u"second"_s, 200));

    const auto again = m_sync->send(u"alice"_s, u"carol"_s, u"same"_s, u"changed"_s, 300);
    VERIFY_OK(again);
    QVERIFY(again.value().duplicate);
    QCOMPARE(again.value().message, first.value().message);

    // The key is (sender, cid): another sender may use the same cid.
    const auto fromBob = m_sync->send(u"bob"_s, u"alice"_s, u"same"_s, u"mine"_s, 400);
    QVERIFY(!fromBob.value().duplicate);
    QCOMPARE(fromBob.value().message.seq, 3);
    QCOMPARE(m_sync->conversations(u"carol"_s).value().size(), 0);
}

void TestSqliteStore::appendToUnknownUserIsNotFound()
{
    VERIFY_OK(m_sync->createUser(u"alice"_s));
    COMPARE_ERROR(m_sync->send(u"alice"_s, u"ghost"_s, u"c1"_s), StoreError::Code::NotFound);
    COMPARE_ERROR(m_sync->send(u"ghost"_s, u"alice"_s, u"c2"_s), StoreError::Code::NotFound);
    QCOMPARE(m_sync->conversations(u"alice"_s).value().size(), 0);
}

void TestSqliteStore::concurrentAppendsGetDenseSeqs()
{
    VERIFY_OK(m_sync->createUser(u"alice"_s));
    VERIFY_OK(m_sync->createUser(u"bob"_s));
    constexpr int Threads = 4;
    constexpr int PerThread = 250;

    struct Seen
    {
        int index;
        qint64 seq;
        bool ok;
    };
    QMutex mutex;
    QList<QList<Seen>> seen(Threads);
    QSemaphore finished;
    std::vector<std::unique_ptr<QThread>> threads;
    for (int t = 0; t < Threads; ++t) {
        threads.emplace_back(QThread::create([&, t] {
            const QString from = t % 2 ? u"alice"_s : u"bob"_s; // both directions, one conv
            const QString to = t % 2 ? u"bob"_s : u"alice"_s;
            for (int i = 0; i < PerThread; ++i) {
                const SendRequest send {from, to, u"t%1-%2"_s.arg(t).arg(i), u"body"_s, i};
                m_store->appendMessage(send, [&, t, i](Result<StoredSend> result) {
                    QMutexLocker lock(&mutex);
                    seen[t].append(
                        Seen {i, result.ok() ? result.value().message.seq : 0, result.ok()});
                    finished.release();
                });
            }
        }));
        threads.back()->start();
    }
    for (auto &thread : threads)
        QVERIFY(thread->wait(30000));
    QVERIFY(finished.tryAcquire(Threads * PerThread, 30000));

    QList<qint64> all;
    for (int t = 0; t < Threads; ++t) {
        QCOMPARE(seen[t].size(), PerThread);
        for (int i = 0; i < PerThread; ++i) {
            QVERIFY(seen[t][i].ok);
            QCOMPARE(seen[t][i].index, i); // callbacks in submission order
            if (i > 0)
                QVERIFY(seen[t][i].seq > seen[t][i - 1].seq);
            all.append(seen[t][i].seq);
        }
    }
    std::sort(all.begin(), all.end());
    for (int i = 0; i < all.size(); ++i)
        QCOMPARE(all[i], qint64(i + 1));

    const auto page = m_sync->history(HistoryQuery {u"alice:bob"_s, qint64(0), {}, 1000});
    QCOMPARE(page.value().messages.size(), Threads * PerThread);
    QVERIFY(!page.value().more);
    QCOMPARE(page.value().messages.last().seq, qint64(Threads * PerThread));
}

void TestSqliteStore::failedOperationRollsBackAlone()
{
    // Park the store thread in a callback so the next three calls form one batch.
    QSemaphore parked;
    QSemaphore release;
    const auto unpark = qScopeGuard([&] { release.release(); }); // even when a check fails
    m_store->createUser(NewUser {u"alice"_s, "h", 1}, [&](Result<Done>) {
        parked.release();
        release.acquire();
    });
    QVERIFY(parked.tryAcquire(1, 30000));
    std::future<Result<Done>> results[3];
    const QString names[3] = {u"bob"_s, u"alice"_s, u"carol"_s};
    for (int i = 0; i < 3; ++i) {
        auto promise = std::make_shared<std::promise<Result<Done>>>();
        results[i] = promise->get_future();
        m_store->createUser(NewUser {names[i], "h", 1},
            [promise](Result<Done> r) { promise->set_value(std::move(r)); });
    }
    release.release();
    for (auto &result : results)
        QVERIFY(result.wait_for(WaitLimit) == std::future_status::ready);
    const Result<Done> bob = results[0].get();
    const Result<Done> alice = results[1].get();
    const Result<Done> carol = results[2].get();
    VERIFY_OK(bob);
    COMPARE_ERROR(alice, StoreError::Code::Conflict);
    VERIFY_OK(carol);
    QCOMPARE(
        m_sync->listUsers(QString(), 10).value(), (QStringList {u"alice"_s, u"bob"_s, u"carol"_s}));
}

void TestSqliteStore::closeFinishesQueuedWork()
{
    VERIFY_OK(m_sync->createUser(u"alice"_s));
    VERIFY_OK(m_sync->createUser(u"bob"_s));
    QAtomicInt succeeded = 0;
    for (int i = 0; i < 200; ++i) {
        m_store->appendMessage(SendRequest {u"alice"_s, u"bob"_s, QString::number(i), u"x"_s, i},
            [&](Result<StoredSend> r) {
                if (r.ok())
                    succeeded.ref();
            });
    }
    m_store->close();
    QCOMPARE(succeeded.loadRelaxed(), 200);

    SqliteStore reopened(m_dir->path());
    QVERIFY(reopened.open(nullptr));
    QCOMPARE(Sync {reopened}.conversations(u"alice"_s).value().value(0).lastSeq, 200);
}

void TestSqliteStore::lockedDatabaseIsUnavailable()
{
    m_store.reset();
    SqliteStore store(m_dir->path());
    store.setBusyTimeout(50);
    QVERIFY(store.open(nullptr));
    Sync sync {store};
    VERIFY_OK(sync.createUser(u"alice"_s));

    DirectConnection direct(store.databasePath());
    QCOMPARE(direct.exec(u"BEGIN IMMEDIATE"_s), QString()); // another process holds the write lock
    COMPARE_ERROR(sync.createUser(u"bob"_s), StoreError::Code::Unavailable);
    QVERIFY(!store.health().ok);
    QCOMPARE(direct.exec(u"ROLLBACK"_s), QString());

    VERIFY_OK(sync.createUser(u"bob"_s));
    QVERIFY(store.health().ok);
}

// A send that failed (the database locked by another process) holds back its
// connection's later sends to the conversation until it comes again (SendOrderGuard):
// otherwise one stored meanwhile would take a seq before it. Other connections and other
// conversations are not held.
void TestSqliteStore::failedSendHoldsItsConnectionsLaterSends()
{
    m_store.reset();
    SqliteStore store(m_dir->path());
    store.setBusyTimeout(50);
    QVERIFY(store.open(nullptr));
    Sync sync {store};
    for (const QString &user : {u"alice"_s, u"bob"_s, u"carol"_s})
        VERIFY_OK(sync.createUser(user));
    constexpr quint64 Connection = 7;
    constexpr quint64 OtherConnection = 8;

    DirectConnection direct(store.databasePath());
    QCOMPARE(direct.exec(u"BEGIN IMMEDIATE"_s), QString());
    COMPARE_ERROR(sync.send(u"alice"_s, u"bob"_s, u"m1"_s, u"first"_s, 1000, Connection),
        StoreError::Code::Unavailable);
    QCOMPARE(direct.exec(u"ROLLBACK"_s), QString());

    // m2 would overtake m1: refused, nothing stored.
    COMPARE_ERROR(sync.send(u"alice"_s, u"bob"_s, u"m2"_s, u"second"_s, 1001, Connection),
        StoreError::Code::OutOfOrder);
    // Another connection of alice's, and another conversation of this one, go on.
    const auto other = sync.send(u"alice"_s, u"bob"_s, u"o1"_s, u"other"_s, 1002, OtherConnection);
    VERIFY_OK(other);
    QCOMPARE(other.value().message.seq, 1);
    VERIFY_OK(sync.send(u"alice"_s, u"carol"_s, u"c1"_s, u"to carol"_s, 1003, Connection));
    // A send without a connection (origin 0) is never held.
    VERIFY_OK(sync.send(u"alice"_s, u"bob"_s, u"n1"_s, u"no origin"_s, 1004));

    // m1 comes again and ends the hold; m2 follows it.
    const auto first = sync.send(u"alice"_s, u"bob"_s, u"m1"_s, u"first"_s, 1005, Connection);
    VERIFY_OK(first);
    const auto second = sync.send(u"alice"_s, u"bob"_s, u"m2"_s, u"second"_s, 1006, Connection);
    VERIFY_OK(second);
    QCOMPARE(first.value().message.seq, 3);
    QCOMPARE(second.value().message.seq, 4);
}

// ---- groups (docs/groups.md) ----

namespace {

// ann (its admin), bob and cy in the group "Lunch", and dan, who is not in it: its id.
QString lunchGroup(Sync &sync)
{
    for (const QString &user : {u"ann"_s, u"bob"_s, u"cy"_s, u"dan"_s}) {
        if (!sync.createUser(user))
            return {};
    }
    const auto created = sync.createGroup(u"ann"_s, u"g1"_s, u"Lunch"_s, {u"bob"_s, u"cy"_s});
    return created ? created.value().group.conv : QString();
}

QStringList currentMembers(const GroupState &group)
{
    QStringList users;
    for (const GroupMember &m : group.members) {
        if (!m.leftSeq)
            users.append(m.admin ? m.user + u'*' : m.user);
    }
    return users;
}

} // namespace

void TestSqliteStore::groupIsCreatedOnceWithItsMembers()
{
    for (const QString &user : {u"ann"_s, u"bob"_s, u"cy"_s})
        VERIFY_OK(m_sync->createUser(user));
    const auto created = m_sync->createGroup(u"ann"_s, u"g1"_s, u"Lunch"_s, {u"bob"_s, u"cy"_s});
    VERIFY_OK(created);
    const GroupOutcome &outcome = created.value();
    QVERIFY(outcome.group.conv.startsWith(u"g:"_s));
    QCOMPARE(outcome.group.conv.size(), 24); // "g:" and 128 bits of base64url
    QCOMPARE(outcome.group.name, u"Lunch"_s);
    QCOMPARE(outcome.group.createdBy, u"ann"_s);
    QCOMPARE(outcome.group.lastSeq, 1);
    QCOMPARE(currentMembers(outcome.group), (QStringList {u"ann*"_s, u"bob"_s, u"cy"_s}));
    QCOMPARE(outcome.entry.seq, 1);
    QCOMPARE(outcome.entry.from, u"ann"_s);
    QCOMPARE(outcome.event.value(u"op"_s).toString(), u"create"_s);
    QVERIFY(!outcome.duplicate);

    // The same cid again: the same group, not a second one.
    const auto again = m_sync->createGroup(u"ann"_s, u"g1"_s, u"Lunch"_s, {u"bob"_s, u"cy"_s});
    VERIFY_OK(again);
    QVERIFY(again.value().duplicate);
    QCOMPARE(again.value().group.conv, outcome.group.conv);
    QCOMPARE(again.value().entry.seq, 1);
    // Another cid: another group, with another id.
    const auto other = m_sync->createGroup(u"ann"_s, u"g2"_s, u"Lunch"_s, {u"bob"_s, u"cy"_s});
    VERIFY_OK(other);
    QVERIFY(other.value().group.conv != outcome.group.conv);

    COMPARE_ERROR(m_sync->createGroup(u"ann"_s, u"g3"_s, u"x"_s, {u"bob"_s, u"ghost"_s}),
        StoreError::Code::NotFound);
    // A cid that named a message is not a group's.
    VERIFY_OK(m_sync->send(u"ann"_s, u"bob"_s, u"m1"_s));
    COMPARE_ERROR(m_sync->createGroup(u"ann"_s, u"m1"_s, u"x"_s, {u"bob"_s, u"cy"_s}),
        StoreError::Code::Invalid);
    // Groups are not one-on-one conversations.
    QCOMPARE(m_sync->conversations(u"cy"_s).value().size(), 0);
}

void TestSqliteStore::groupMessagesAreForMembersOnly()
{
    const QString conv = lunchGroup(*m_sync);
    QVERIFY(!conv.isEmpty());
    const auto sent = m_sync->send(u"bob"_s, conv, u"b1"_s, u"noon?"_s, 1100);
    VERIFY_OK(sent);
    QCOMPARE(sent.value().message.conv, conv);
    QCOMPARE(sent.value().message.seq, 2);
    QCOMPARE(sent.value().message.to, QString());
    const auto repeated = m_sync->send(u"bob"_s, conv, u"b1"_s, u"noon?"_s, 1100);
    VERIFY_OK(repeated);
    QVERIFY(repeated.value().duplicate);
    QCOMPARE(repeated.value().message.seq, 2);
    COMPARE_ERROR(m_sync->send(u"dan"_s, conv, u"d1"_s), StoreError::Code::Forbidden);
    COMPARE_ERROR(m_sync->send(u"dan"_s, u"g:AAAAAAAAAAAAAAAAAAAAAA"_s, u"d2"_s),
        StoreError::Code::Forbidden); // no such group: the same answer
    COMPARE_ERROR(m_sync->group(conv, u"dan"_s), StoreError::Code::Forbidden);
    COMPARE_ERROR(
        m_sync->group(u"g:AAAAAAAAAAAAAAAAAAAAAA"_s, u"ann"_s), StoreError::Code::Forbidden);

    const auto history = m_sync->history(HistoryQuery {conv, {}, {}, 10});
    VERIFY_OK(history);
    QCOMPARE(history.value().messages.size(), 2);
    QCOMPARE(history.value().messages.at(0).seq, 1); // the creation entry
    QCOMPARE(history.value().messages.at(0).body, QString());
    QCOMPARE(history.value().messages.at(1).body, u"noon?"_s);
    QCOMPARE(history.value().messages.at(1).from, u"bob"_s);
}

void TestSqliteStore::groupMembershipChangesAreEntries()
{
    const QString conv = lunchGroup(*m_sync);
    QVERIFY(!conv.isEmpty());

    const auto added = m_sync->changeGroup(u"ann"_s, u"e1"_s, conv, GroupOp::Add, {u"dan"_s});
    VERIFY_OK(added);
    QCOMPARE(added.value().entry.seq, 2);
    QCOMPARE(added.value().event.value(u"op"_s).toString(), u"add"_s);
    QCOMPARE(added.value().group.member(u"dan"_s)->joinedSeq, 2);
    QCOMPARE(currentMembers(added.value().group),
        (QStringList {u"ann*"_s, u"bob"_s, u"cy"_s, u"dan"_s}));
    // Idempotent: the first entry again, nothing applied twice.
    const auto again = m_sync->changeGroup(u"ann"_s, u"e1"_s, conv, GroupOp::Add, {u"dan"_s});
    VERIFY_OK(again);
    QVERIFY(again.value().duplicate);
    QCOMPARE(again.value().entry.seq, 2);
    QCOMPARE(again.value().group.lastSeq, 2);

    VERIFY_OK(m_sync->send(u"dan"_s, conv, u"d1"_s, u"hi all"_s)); // seq 3
    const auto removed = m_sync->changeGroup(u"ann"_s, u"e2"_s, conv, GroupOp::Remove, {u"bob"_s});
    VERIFY_OK(removed);
    QCOMPARE(removed.value().entry.seq, 4);
    QCOMPARE(removed.value().group.member(u"bob"_s)->leftSeq, 4);
    COMPARE_ERROR(m_sync->send(u"bob"_s, conv, u"b1"_s), StoreError::Code::Forbidden);
    // A former member may still read what the group was (their client shows it read-only).
    VERIFY_OK(m_sync->group(conv, u"bob"_s));

    const auto renamed
        = m_sync->changeGroup(u"cy"_s, u"e3"_s, conv, GroupOp::Rename, {}, u"Dinner"_s);
    COMPARE_ERROR(renamed, StoreError::Code::Forbidden); // cy is no admin
    VERIFY_OK(m_sync->changeGroup(u"ann"_s, u"e4"_s, conv, GroupOp::MakeAdmin, {u"cy"_s}));
    const auto renamedNow
        = m_sync->changeGroup(u"cy"_s, u"e5"_s, conv, GroupOp::Rename, {}, u"Dinner"_s);
    VERIFY_OK(renamedNow);
    QCOMPARE(renamedNow.value().group.name, u"Dinner"_s);
    QCOMPARE(renamedNow.value().event.value(u"name"_s).toString(), u"Dinner"_s);
    const auto left = m_sync->changeGroup(u"ann"_s, u"e6"_s, conv, GroupOp::Leave);
    VERIFY_OK(left);
    QCOMPARE(currentMembers(left.value().group), (QStringList {u"cy*"_s, u"dan"_s}));
    // Bob, removed, comes back: from the entry that adds him.
    const auto back = m_sync->changeGroup(u"cy"_s, u"e7"_s, conv, GroupOp::Add, {u"bob"_s});
    VERIFY_OK(back);
    QCOMPARE(back.value().group.member(u"bob"_s)->joinedSeq, back.value().entry.seq);
    QVERIFY(!back.value().group.member(u"bob"_s)->leftSeq);

    // Every change is in the history, in order.
    const auto history = m_sync->history(HistoryQuery {conv, {}, {}, 50});
    VERIFY_OK(history);
    QList<qint64> seqs;
    for (const protocol::Message &m : history.value().messages)
        seqs.append(m.seq);
    QCOMPARE(seqs, (QList<qint64> {1, 2, 3, 4, 5, 6, 7, 8}));
}

void TestSqliteStore::groupChangesAreChecked()
{
    const QString conv = lunchGroup(*m_sync);
    QVERIFY(!conv.isEmpty());
    using Code = StoreError::Code;
    COMPARE_ERROR(m_sync->changeGroup(u"dan"_s, u"x1"_s, conv, GroupOp::Leave), Code::Forbidden);
    COMPARE_ERROR(m_sync->changeGroup(u"bob"_s, u"x2"_s, conv, GroupOp::Add, {u"dan"_s}),
        Code::Forbidden); // members are no admins
    COMPARE_ERROR(m_sync->changeGroup(u"ann"_s, u"x3"_s, conv, GroupOp::Add, {u"bob"_s}),
        Code::Invalid); // already a member
    COMPARE_ERROR(
        m_sync->changeGroup(u"ann"_s, u"x4"_s, conv, GroupOp::Add, {u"ghost"_s}), Code::NotFound);
    COMPARE_ERROR(m_sync->changeGroup(u"ann"_s, u"x5"_s, conv, GroupOp::Add, {u"dan"_s}, {}, 3),
        Code::Invalid); // over the size limit
    COMPARE_ERROR(m_sync->changeGroup(u"ann"_s, u"x6"_s, conv, GroupOp::Remove, {u"dan"_s}),
        Code::Invalid); // not a member
    COMPARE_ERROR(m_sync->changeGroup(u"ann"_s, u"x7"_s, conv, GroupOp::Leave),
        Code::Invalid); // the last admin, with members left
    COMPARE_ERROR(m_sync->changeGroup(u"ann"_s, u"x8"_s, conv, GroupOp::MakeMember, {u"ann"_s}),
        Code::Invalid); // likewise
    COMPARE_ERROR(m_sync->changeGroup(u"ann"_s, u"x9"_s, conv, GroupOp::Rename, {}, u"Lunch"_s),
        Code::Invalid); // nothing changes
    COMPARE_ERROR(
        m_sync->changeGroup(u"ann"_s, u"x10"_s, u"g:AAAAAAAAAAAAAAAAAAAAAA"_s, GroupOp::Leave),
        Code::Forbidden);
    // Nothing above wrote an entry.
    QCOMPARE(m_sync->group(conv, u"ann"_s).value().lastSeq, 1);
    // A member who is the only one left may leave: the group is then empty.
    VERIFY_OK(m_sync->changeGroup(u"bob"_s, u"y1"_s, conv, GroupOp::Leave));
    VERIFY_OK(m_sync->changeGroup(u"cy"_s, u"y2"_s, conv, GroupOp::Leave));
    VERIFY_OK(m_sync->changeGroup(u"ann"_s, u"y3"_s, conv, GroupOp::Leave));
    QCOMPARE(currentMembers(m_sync->group(conv, u"ann"_s).value()), QStringList());
}

void TestSqliteStore::receipts_data()
{
    QTest::addColumn<qint64>("priorDelivered");
    QTest::addColumn<qint64>("priorRead");
    QTest::addColumn<bool>("read");
    QTest::addColumn<qint64>("upTo");
    QTest::addColumn<bool>("advanced");
    QTest::addColumn<qint64>("delivered");
    QTest::addColumn<qint64>("readUpTo");

    // The conversation has 5 messages.
    QTest::newRow("delivered advances") << 0LL << 0LL << false << 3LL << true << 3LL << 0LL;
    QTest::newRow("clamped to last seq") << 0LL << 0LL << false << 99LL << true << 5LL << 0LL;
    QTest::newRow("delivered never back") << 4LL << 0LL << false << 2LL << false << 4LL << 0LL;
    QTest::newRow("same is no advance") << 3LL << 0LL << false << 3LL << false << 3LL << 0LL;
    QTest::newRow("read implies delivered") << 0LL << 0LL << true << 3LL << true << 3LL << 3LL;
    QTest::newRow("read below delivered") << 5LL << 0LL << true << 2LL << true << 5LL << 2LL;
    QTest::newRow("read never back") << 4LL << 4LL << true << 2LL << false << 4LL << 4LL;
    QTest::newRow("read clamped") << 0LL << 0LL << true << 50LL << true << 5LL << 5LL;
    QTest::newRow("zero") << 0LL << 0LL << false << 0LL << false << 0LL << 0LL;
    QTest::newRow("negative") << 0LL << 0LL << true << -3LL << false << 0LL << 0LL;
}

void TestSqliteStore::receipts()
{
    QFETCH(qint64, priorDelivered);
    QFETCH(qint64, priorRead);
    QFETCH(bool, read);
    QFETCH(qint64, upTo);
    QFETCH(bool, advanced);
    QFETCH(qint64, delivered);
    QFETCH(qint64, readUpTo);
    using protocol::ReceiptKind;

    VERIFY_OK(m_sync->createUser(u"alice"_s));
    VERIFY_OK(m_sync->createUser(u"bob"_s));
    for (int i = 0; i < 5; ++i)
        VERIFY_OK(m_sync->send(u"alice"_s, u"bob"_s, QString::number(i)));
    const QString conv = u"alice:bob"_s;
    if (priorDelivered)
        VERIFY_OK(m_sync->receipt(u"bob"_s, conv, ReceiptKind::Delivered, priorDelivered));
    if (priorRead)
        VERIFY_OK(m_sync->receipt(u"bob"_s, conv, ReceiptKind::Read, priorRead));

    const auto outcome
        = m_sync->receipt(u"bob"_s, conv, read ? ReceiptKind::Read : ReceiptKind::Delivered, upTo);
    VERIFY_OK(outcome);
    QCOMPARE(outcome.value().advanced, advanced);
    QCOMPARE(outcome.value().delivered, delivered);
    QCOMPARE(outcome.value().read, readUpTo);

    const auto mine = m_sync->conversations(u"bob"_s).value().value(0);
    QCOMPARE(mine.delivered, delivered);
    QCOMPARE(mine.read, readUpTo);
    const auto theirs = m_sync->conversations(u"alice"_s).value().value(0);
    QCOMPARE(theirs.delivered, 0); // the sender's own receipts are untouched
    QCOMPARE(theirs.peerDelivered, delivered);
    QCOMPARE(theirs.peerRead, readUpTo);
}

void TestSqliteStore::receiptOnUnknownConversation()
{
    for (const QString &name : {u"alice"_s, u"bob"_s, u"carol"_s})
        VERIFY_OK(m_sync->createUser(name));
    VERIFY_OK(m_sync->send(u"alice"_s, u"bob"_s, u"1"_s));
    const auto none = m_sync->receipt(u"alice"_s, u"alice:carol"_s, protocol::ReceiptKind::Read, 1);
    VERIFY_OK(none);
    QVERIFY(!none.value().advanced);
    const auto outsider
        = m_sync->receipt(u"carol"_s, u"alice:bob"_s, protocol::ReceiptKind::Read, 1);
    VERIFY_OK(outsider);
    QVERIFY(!outsider.value().advanced);
}

void TestSqliteStore::conversationSummaries()
{
    for (const QString &name : {u"alice"_s, u"bob"_s, u"carol"_s, u"dave"_s})
        VERIFY_OK(m_sync->createUser(name));
    VERIFY_OK(m_sync->send(u"alice"_s, u"bob"_s, u"1"_s, u"a"_s, 100));
    VERIFY_OK(m_sync->send(u"bob"_s, u"alice"_s, u"2"_s, u"b"_s, 110));
    VERIFY_OK(m_sync->send(u"alice"_s, u"bob"_s, u"3"_s, u"c"_s, 120));
    VERIFY_OK(m_sync->send(u"carol"_s, u"alice"_s, u"4"_s, u"d"_s, 200));
    VERIFY_OK(m_sync->receipt(u"bob"_s, u"alice:bob"_s, protocol::ReceiptKind::Delivered, 3));
    VERIFY_OK(m_sync->receipt(u"bob"_s, u"alice:bob"_s, protocol::ReceiptKind::Read, 2));
    VERIFY_OK(m_sync->receipt(u"alice"_s, u"alice:bob"_s, protocol::ReceiptKind::Read, 1));

    using Summary = protocol::ConversationSummary;
    QCOMPARE(m_sync->conversations(u"alice"_s).value(),
        (QList<Summary> {Summary {u"alice:carol"_s, u"carol"_s, 1, 0, 0, 0, 0, 200},
            Summary {u"alice:bob"_s, u"bob"_s, 3, 1, 1, 3, 2, 120}}));
    QCOMPARE(m_sync->conversations(u"bob"_s).value(),
        (QList<Summary> {Summary {u"alice:bob"_s, u"alice"_s, 3, 3, 2, 1, 1, 120}}));
    QCOMPARE(m_sync->conversations(u"dave"_s).value(), QList<Summary>());
}

void TestSqliteStore::history_data()
{
    QTest::addColumn<qint64>("after"); // -1: absent
    QTest::addColumn<qint64>("before");
    QTest::addColumn<int>("limit");
    QTest::addColumn<QList<qint64>>("seqs");
    QTest::addColumn<bool>("more");

    // The conversation has seqs 1..10.
    QTest::newRow("newest") << -1LL << -1LL << 3 << QList<qint64> {8, 9, 10} << true;
    QTest::newRow("newest, all") << -1LL << -1LL << 20
                                 << QList<qint64> {1, 2, 3, 4, 5, 6, 7, 8, 9, 10} << false;
    QTest::newRow("after 0") << 0LL << -1LL << 4 << QList<qint64> {1, 2, 3, 4} << true;
    QTest::newRow("after, to the end") << 6LL << -1LL << 4 << QList<qint64> {7, 8, 9, 10} << false;
    QTest::newRow("after the last") << 10LL << -1LL << 4 << QList<qint64>() << false;
    QTest::newRow("after far away") << 1000LL << -1LL << 4 << QList<qint64>() << false;
    QTest::newRow("before") << -1LL << 5LL << 2 << QList<qint64> {3, 4} << true;
    QTest::newRow("before, to the start") << -1LL << 3LL << 5 << QList<qint64> {1, 2} << false;
    QTest::newRow("before the first") << -1LL << 1LL << 5 << QList<qint64>() << false;
    QTest::newRow("before past the end") << -1LL << 100LL << 3 << QList<qint64> {8, 9, 10} << true;
    QTest::newRow("limit capped") << 0LL << -1LL << 5000
                                  << QList<qint64> {1, 2, 3, 4, 5, 6, 7, 8, 9, 10} << false;
}

void TestSqliteStore::history()
{
    QFETCH(qint64, after);
    QFETCH(qint64, before);
    QFETCH(int, limit);
    QFETCH(QList<qint64>, seqs);
    QFETCH(bool, more);

    VERIFY_OK(m_sync->createUser(u"alice"_s));
    VERIFY_OK(m_sync->createUser(u"bob"_s));
    for (int i = 1; i <= 10; ++i)
        VERIFY_OK(m_sync->send(i % 3 ? u"alice"_s : u"bob"_s, i % 3 ? u"bob"_s : u"alice"_s,
            u"cid-%1"_s.arg(i), u"body %1"_s.arg(i), 1000 + i));
    HistoryQuery query {u"alice:bob"_s, std::nullopt, std::nullopt, limit};
    if (after >= 0)
        query.after = after;
    if (before >= 0)
        query.before = before;
    const auto slice = m_sync->history(query);
    VERIFY_OK(slice);
    QCOMPARE(seqsOf(slice.value().messages), seqs);
    QCOMPARE(slice.value().more, more);
    for (const protocol::Message &message : slice.value().messages) {
        const bool fromAlice = message.seq % 3 != 0;
        QCOMPARE(message,
            (protocol::Message {u"alice:bob"_s, message.seq, fromAlice ? u"alice"_s : u"bob"_s,
                fromAlice ? u"bob"_s : u"alice"_s, u"cid-%1"_s.arg(message.seq),
                u"body %1"_s.arg(message.seq), 1000 + message.seq}));
    }

    const auto empty = m_sync->history(HistoryQuery {u"alice:carol"_s, {}, {}, 10});
    VERIFY_OK(empty);
    QVERIFY(empty.value().messages.isEmpty());
    QVERIFY(!empty.value().more);
}

void TestSqliteStore::historyReportsGaps()
{
    VERIFY_OK(m_sync->createUser(u"alice"_s));
    VERIFY_OK(m_sync->createUser(u"bob"_s));
    for (int i = 1; i <= 8; ++i)
        VERIFY_OK(m_sync->send(u"alice"_s, u"bob"_s, QString::number(i)));
    {
        DirectConnection direct(m_store->databasePath());
        QCOMPARE(direct.exec(u"DELETE FROM messages WHERE seq IN (3, 4, 8)"_s), QString());
    }
    const QString conv = u"alice:bob"_s;
    const auto page = m_sync->history(HistoryQuery {conv, qint64(0), {}, 5});
    QCOMPARE(seqsOf(page.value().messages), (QList<qint64> {1, 2, -3, -4, 5}));
    QVERIFY(page.value().more);
    QCOMPARE(page.value().messages[2], (protocol::Message {conv, 3, {}, {}, {}, {}, 0, true}));

    const auto newest = m_sync->history(HistoryQuery {conv, {}, {}, 2});
    QCOMPARE(seqsOf(newest.value().messages), (QList<qint64> {7, -8}));
    const auto before = m_sync->history(HistoryQuery {conv, {}, qint64(5), 2});
    QCOMPARE(seqsOf(before.value().messages), (QList<qint64> {-3, -4}));
    QVERIFY(before.value().more);

    // Gaps never hand their seq out again.
    QCOMPARE(m_sync->send(u"alice"_s, u"bob"_s, u"9"_s).value().message.seq, 9);
}

void TestSqliteStore::reopenKeepsEverything()
{
    VERIFY_OK(m_sync->createUser(u"alice"_s));
    VERIFY_OK(m_sync->createUser(u"bob"_s));
    const QByteArray hash(32, '\x05');
    VERIFY_OK(m_sync->createToken(TokenRecord {hash, u"alice"_s, u"laptop"_s, 10'000}));
    const auto first = m_sync->send(u"alice"_s, u"bob"_s, u"c1"_s, u"one"_s, 100);
    VERIFY_OK(m_sync->send(u"bob"_s, u"alice"_s, u"c2"_s, u"two"_s, 200));
    VERIFY_OK(m_sync->receipt(u"bob"_s, u"alice:bob"_s, protocol::ReceiptKind::Read, 1));
    m_store->close();
    m_store.reset();

    SqliteStore store(m_dir->path());
    QString error;
    QVERIFY2(store.open(&error), qPrintable(error));
    Sync sync {store};
    VERIFY_OK(sync.findUser(u"bob"_s));
    QCOMPARE(sync.findToken(hash, 5000).value().device, u"laptop"_s);
    QCOMPARE(seqsOf(sync.history(HistoryQuery {u"alice:bob"_s, {}, {}, 10}).value().messages),
        (QList<qint64> {1, 2}));
    QCOMPARE(sync.conversations(u"bob"_s).value().value(0).read, 1);
    QCOMPARE(sync.send(u"alice"_s, u"bob"_s, u"c3"_s).value().message.seq, 3);
    const auto dup = sync.send(u"alice"_s, u"bob"_s, u"c1"_s, u"again"_s, 999);
    QVERIFY(dup.value().duplicate);
    QCOMPARE(dup.value().message, first.value().message);
}

void TestSqliteStore::appendThroughput()
{
    // A measurement printed for humans, never asserted on: the machine is shared.
    constexpr int Peers = 50;
    constexpr int Count = 20000;
    VERIFY_OK(m_sync->createUser(u"alice"_s));
    for (int p = 0; p < Peers; ++p)
        VERIFY_OK(m_sync->createUser(u"peer%1"_s.arg(p)));
    QSemaphore finished;
    QAtomicInt failures = 0;
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < Count; ++i) {
        const SendRequest send {u"alice"_s, u"peer%1"_s.arg(i % Peers), QString::number(i),
            u"a typical short chat message"_s, i};
        m_store->appendMessage(send, [&](Result<StoredSend> r) {
            if (!r.ok())
                failures.ref();
            finished.release();
        });
    }
    QVERIFY(finished.tryAcquire(Count, 60000));
    const qint64 ms = std::max<qint64>(timer.elapsed(), 1);
    QCOMPARE(failures.loadRelaxed(), 0);
    qInfo().noquote() << u"appendMessage: %1 in %2 ms = %3 per second"_s.arg(Count).arg(ms).arg(
        Count * 1000 / ms);
}

QTEST_GUILESS_MAIN(TestSqliteStore)
#include "tst_sqlitestore.moc"
