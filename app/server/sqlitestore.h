// SqliteStore: the embedded Store, one SQLite file <dataDir>/parley.sqlite3.
//
// All SQL runs on one store-owned thread that holds the only connection.
// Public methods only enqueue; the thread drains everything queued into one
// transaction (group commit: many sends, one fsync) and calls the callbacks
// after COMMIT, on the store thread, in submission order. Searches queue apart and
// run one at a time between those transactions (sqlitestore.cpp).
#pragma once

#include "sendorder.h"
#include "store.h"

#include <QList>
#include <QMutex>
#include <QString>
#include <QStringView>
#include <QWaitCondition>

#include <atomic>
#include <deque>
#include <future>
#include <memory>
#include <vector>

QT_BEGIN_NAMESPACE
class QThread;
QT_END_NAMESPACE

namespace parley::server {

class WalCheckpointer;

class SqliteStore final : public Store
{
public:
    explicit SqliteStore(QString dataDir);
    ~SqliteStore() override; // close()
    Q_DISABLE_COPY_MOVE(SqliteStore)

    QString databasePath() const { return m_path; }
    // How long a write waits for another process holding the file lock (before
    // open(); tests shorten it). Default 5000 ms.
    void setBusyTimeout(int milliseconds) { m_busyTimeoutMs = milliseconds; }

    bool open(QString *error) override;
    // Finishes queued work, then stops the thread. Operations submitted while
    // closed (or before open) fail with Unavailable, synchronously on the
    // caller's thread since the store thread no longer exists.
    void close() override;
    StoreHealth health() const override;

    void createUser(const NewUser &user, Callback<Done> done) override;
    void findUser(const QString &user, Callback<UserRecord> done) override;
    void listUsers(const QString &prefix, int limit, Callback<QStringList> done) override;

    void createToken(const TokenRecord &token, Callback<Done> done) override;
    void findToken(const QByteArray &tokenHash, qint64 now, Callback<TokenRecord> done) override;
    void revokeToken(const QByteArray &tokenHash, Callback<Done> done) override;

    void appendMessage(const SendRequest &send, Callback<StoredSend> done) override;
    void updateReceipt(const ReceiptUpdate &update, Callback<ReceiptOutcome> done) override;
    void conversations(
        const QString &user, Callback<QList<protocol::ConversationSummary>> done) override;
    void history(const HistoryQuery &query, Callback<HistorySlice> done) override;
    void conversationPeers(const QString &user, Callback<QStringList> done) override;
    void search(const SearchQuery &query, Callback<SearchPage> done) override;

    void createGroup(const NewGroup &group, Callback<GroupOutcome> done) override;
    void changeGroup(const GroupChange &change, Callback<GroupOutcome> done) override;
    void group(const QString &conv, const QString &user, Callback<GroupState> done) override;

    void setLastSeen(const QString &user, qint64 ts, Callback<Done> done) override;
    void lastSeen(const QStringList &users, Callback<QHash<QString, qint64>> done) override;

    // The SQL statements that upgrade the schema to `version` (1 creates it); empty for
    // an unknown version. Tests and benchmarks build databases of older versions with them.
    static QList<QStringView> schemaStatements(int version);

    class Connection; // the store thread's database connection (sqlitestore.cpp)
    class Task; // one queued operation (sqlitestore.cpp)

private:
    enum class State { Closed, Open, Closing };
    enum class Lane { Batch, Search };

    void enqueue(std::unique_ptr<Task> task, Lane lane = Lane::Batch);
    void serve(const QString &connectionName, std::shared_ptr<std::promise<QString>> opened);
    void runBatch(Connection &db, std::vector<std::unique_ptr<Task>> &batch);
    // Adds the messages the search index does not hold yet, in one transaction; false (and
    // logged) when that failed and must be tried again.
    bool indexPending(Connection &db);
    void setHealth(bool ok, const QString &detail);

    const QString m_dataDir;
    const QString m_path;
    // Authenticates search cursors (sqlitesearch::encodeCursor); random per process.
    const QByteArray m_cursorKey = randomKey();
    static QByteArray randomKey();
    int m_busyTimeoutMs = 5000;
    std::unique_ptr<QThread> m_thread; // created by open(), joined by close()
    std::unique_ptr<WalCheckpointer> m_checkpointer; // likewise
    bool m_batchFailed = false; // store thread only: health changes on transitions
    SendOrderGuard m_sendOrder; // admits on the store thread
    std::atomic<quint64> m_appendsSubmitted {0}; // SendOrderGuard::failed's order

    mutable QMutex m_mutex; // guards everything below
    QWaitCondition m_wake;
    std::vector<std::unique_ptr<Task>> m_queue;
    std::deque<std::unique_ptr<Task>> m_searches; // one per turn of the store thread
    State m_state = State::Closed;
    bool m_stopping = false;
    bool m_healthy = false;
    QString m_healthDetail;
};

} // namespace parley::server
