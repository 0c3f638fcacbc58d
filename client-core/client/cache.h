// The local cache: one SQLite database per account (conversations, messages, receipts,
// the outbox), owned by a worker on one of a few cache threads shared by the process.
// Every call returns at once; writes are applied in call order and batched into one
// transaction per burst; read callbacks run on the thread of their context object,
// after every write issued before the read.
//
// Schema versioned with PRAGMA user_version and forward-only migrations; see
// docs/client-core.md.
#pragma once

#include "chatmessage.h"
#include "frames.h"
#include "search.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QString>

#include <functional>
#include <memory>
#include <optional>

class QThread;

namespace parley::client {

class CacheWorker;

class Cache : public QObject
{
    Q_OBJECT
public:
    explicit Cache(QObject *parent = nullptr);
    ~Cache() override; // flushes pending writes and closes the database

    // path: the database file (created with its directory); empty: in memory (the swarm).
    // done runs on context's thread; error is empty on success.
    void open(const QString &path, QObject *context, std::function<void(QString error)> done);
    bool isOpen() const;

    // ---- writes (ordered, batched) ----
    // Stores messages by (conv, seq): incoming, ours once acked (then the outbox row
    // with the same cid is removed in the same transaction), history, gap entries.
    // A message already stored keeps its row; an outgoing one only moves its state
    // and timestamps forward.
    void saveMessages(const QList<ChatMessage> &messages);
    // Inserts or replaces an outbox row (a not yet acked message of ours), by cid.
    void saveOutgoing(const ChatMessage &message);
    void removeOutgoing(const QString &cid);
    // The conversation as the server reported it (sync) or as it moved; upsert by conv.
    // Fields the caller does not know keep their stored value when passed as -1
    // (integers) - see ConversationUpdate.
    struct ConversationUpdate
    {
        QString conv;
        QString peer;
        qint64 lastSeq = -1;
        qint64 lastTs = -1;
        qint64 contiguousSeq = -1;
        qint64 floorSeq = -1;
        qint64 readUpTo = -1;
        qint64 peerDelivered = -1;
        qint64 peerRead = -1;
    };
    void updateConversation(const ConversationUpdate &update);
    // The peer's receipt: our messages in conv with seq <= upTo move to Delivered / Read
    // (never backwards), stamped with atMs; conversation peerDelivered/peerRead follow.
    void applyPeerReceipt(
        const QString &conv, protocol::ReceiptKind kind, qint64 upTo, qint64 atMs);
    // We read up to seq: incoming messages up to it become Read, unread recounted.
    void markRead(const QString &conv, qint64 upTo, qint64 atMs);

    // ---- reads ----
    void loadConversations(
        QObject *context, std::function<void(QList<ConversationInfo>)> done) const;
    // The `limit` newest stored messages of conv with seq < beforeSeq (all when
    // beforeSeq is 0), ascending, gaps excluded; when beforeSeq is 0, the conversation's
    // outbox messages follow, in queue order.
    void loadMessages(const QString &conv, qint64 beforeSeq, int limit, QObject *context,
        std::function<void(QList<ChatMessage>)> done) const;
    // Messages of conv with fromSeq <= seq <= toSeq, ascending (for opening at a hit).
    void loadRange(const QString &conv, qint64 fromSeq, qint64 toSeq, QObject *context,
        std::function<void(QList<ChatMessage>)> done) const;
    // Local search over the cached messages (FTS5; PROTOCOL search rules): messages
    // having every word of `words` (protocol::search::queryWords, non-empty) as a word
    // prefix, newest first (by ts, then seq), optionally only in conv and/or from one
    // sender, at most limit. Hits have cached = true and a [ ]-marked snippet.
    void search(const QStringList &words, const QString &conv, const QString &from, int limit,
        QObject *context, std::function<void(QList<SearchHit>)> done) const;
    // Every outbox row, in queue order (for Outbox::restore at start).
    void loadOutbox(QObject *context, std::function<void(QList<ChatMessage>)> done) const;
    // Runs done after every write issued so far is committed.
    void flush(QObject *context, std::function<void()> done) const;

    // Counters for the benchmark and tests.
    qint64 writesCommitted() const;

private:
    QThread *m_thread = nullptr; // shared by the caches of the process; not owned
    CacheWorker *m_worker = nullptr; // lives on m_thread
};

} // namespace parley::client
