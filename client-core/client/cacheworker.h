// The Cache's private half: the SQLite connection, its prepared statements and the
// write queue, living on the cache thread (see cache.h for the contract). Only
// cache.cpp, cacheworker.cpp and cachesearch.cpp include this header.
#pragma once

#include "cache.h"

#include <QMutex>
#include <QObject>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QVariant>

#include <atomic>
#include <functional>
#include <initializer_list>
#include <unordered_map>
#include <vector>

namespace parley::client {

// Carries one read's answer to its context: a queued connection to the context is
// dropped by Qt when the context is destroyed, even while the answer is in flight on
// another thread, which a pointer check on the cache thread could not guarantee.
class CacheReply : public QObject
{
    Q_OBJECT
Q_SIGNALS:
    void ready();
};

class CacheWorker : public QObject
{
    Q_OBJECT
public:
    // One queued write; false when a statement failed (the batch is then retried).
    using Write = std::function<bool(CacheWorker &)>;
    enum class Durability {
        Normal, // committed with synchronous=NORMAL: may lose the last commits on power loss
        Synced, // the batch holding it commits with synchronous=FULL (the WAL is fsynced)
    };

    explicit CacheWorker(QString connectionName);
    ~CacheWorker() override;

    // ---- any thread ----
    void enqueue(Write write, Durability durability = Durability::Normal);
    bool isOpen() const { return m_state.load() == State::Open; }
    qint64 writesCommitted() const { return m_writesCommitted.load(); }

    // ---- the cache thread ----
    QString open(const QString &path); // empty on success, else why
    void close(); // commits what is pending, then closes the database for good
    void commitPending(); // commits every write queued so far (one transaction)

    bool writeMessages(const QList<ChatMessage> &messages);
    bool writeOutgoing(const ChatMessage &message);
    bool deleteOutgoing(const QString &cid);
    bool writeConversation(const Cache::ConversationUpdate &update);
    bool writePeerReceipt(
        const QString &conv, protocol::ReceiptKind kind, qint64 upTo, qint64 atMs);
    bool writeRead(const QString &conv, qint64 upTo, qint64 atMs);

    QList<ConversationInfo> readConversations();
    QList<ChatMessage> readMessages(const QString &conv, qint64 beforeSeq, int limit);
    QList<ChatMessage> readRange(const QString &conv, qint64 fromSeq, qint64 toSeq);
    QList<ChatMessage> readOutbox(const QString &conv = {}); // all conversations when empty
    QList<SearchHit> readSearch(
        const QStringList &words, const QString &conv, const QString &from, int limit);

private:
    enum class State { NotOpened, Open, Closed }; // Closed: open failed or close() ran
    struct PendingWrite
    {
        Write write;
        Durability durability;
    };

    QString configureAndMigrate(bool inMemory);
    QString migrate();
    bool commitBatch(const std::vector<PendingWrite> &batch, bool isolateWrites);
    // Runs a statement prepared once per connection (keyed by the address of its
    // constant text); nullptr on error (see m_lastError).
    QSqlQuery *run(QStringView sql, std::initializer_list<QVariant> values);
    bool exec(QStringView sql, std::initializer_list<QVariant> values = {});
    bool raw(const QString &sql, QVariant *first = nullptr); // one-off (pragmas, migrations)
    QList<ChatMessage> collectMessages(QSqlQuery *query, const QString &conv);
    QList<ChatMessage> collectOutbox(QSqlQuery *query);
    QList<SearchHit> searchOutbox(
        const QStringList &query, const QString &conv, const QString &from);

    const QString m_connectionName;
    QSqlDatabase m_db;
    std::unordered_map<const void *, QSqlQuery> m_statements;
    QString m_lastError;
    std::atomic<State> m_state = State::NotOpened;
    std::atomic<qint64> m_writesCommitted = 0;

    QMutex m_pendingMutex; // guards the two members below (filled from any thread)
    std::vector<PendingWrite> m_pending;
    bool m_commitPosted = false;
};

} // namespace parley::client
