// The per-conversation half of DynamoStore: appending messages (seq, idempotency by cid),
// receipts and history, with one conversation's operations completing in the order they
// were submitted. Store thread only. Algorithm and crash analysis: docs/dynamodb.md.
//
// Ordering. Each conversation has a lane: its operations in submission order. Callbacks
// leave the lane only from its front, so completion order is submission order and the
// fan-out of a conversation's messages runs in seq order. Inside a lane appends are
// pipelined: every append checks its cid at once, seqs are taken in submission order
// (consecutive ready appends share one compare-and-set on lastSeq), and the item writes
// of different seqs overlap. Receipts and history run alone, after everything submitted
// before them has completed, so they see the conversation as its earlier appends left
// it. A resend of a cid still being stored on this node waits for it and answers as its
// duplicate. Different conversations never wait for each other.
//
// Requests per append. The cid checks of all conversations share BatchGetItem requests
// and the message items share BatchWriteItem requests (dynamobatch.h); the sends item
// stays a conditional PutItem of its own, since it is what makes a cid idempotent across
// nodes and BatchWriteItem takes no conditions. Once a message item is confirmed the
// search indexer hears of it (dynamoindexer.h); the ack does not wait for the index.
//
// Send order. A connection's messages take seqs in the order it sent them, also when
// some fail (SendOrderGuard, protocol.md §6): after a failed append, that connection's
// later appends to the conversation that have no seq yet are refused until the failed one
// comes again; and its sends items are written one after the other (the next once the one
// before is written), so a failed sends item (a seq left as a gap) fails the later ones
// that already took seqs instead of letting them be stored after it. Appends of different
// connections, and of one connection to different conversations, still overlap.
//
// Timestamps. Within a conversation a message's ts is never below the one before it (a
// claim raises a ts below the conversation's lastTs to it), so seq order is time order,
// which the search index's segments rely on.
#pragma once

#include "dynamobatch.h"
#include "dynamoindexer.h"
#include "dynamotables.h"
#include "sendorder.h"
#include "store.h"

#include <deque>
#include <memory>
#include <unordered_map>

namespace parley::server::dynamo {

class ConversationLog
{
public:
    // `indexer` hears of every message item written here.
    ConversationLog(Tables *tables, SearchIndexer *indexer);
    ~ConversationLog();
    Q_DISABLE_COPY_MOVE(ConversationLog)

    void appendMessage(const SendRequest &send, Callback<StoredSend> done);
    void updateReceipt(const ReceiptUpdate &update, Callback<ReceiptOutcome> done);
    void history(const HistoryQuery &query, Callback<HistorySlice> done);

private:
    struct Operation;
    using OperationPtr = std::shared_ptr<Operation>;
    struct Lane
    {
        std::deque<OperationPtr> operations; // submission order
        bool allocating = false; // a claim of seqs on lastSeq is in flight
        // origin -> the newest of its appends whose sends item is being written or waits
        // for the one before it (Operation::nextSends)
        std::unordered_map<quint64, OperationPtr> sendsTails;
    };

    template<typename T>
    void submitExclusive(
        const QString &conv, Callback<T> done, std::function<void(Callback<T>)> work);
    void enqueue(const OperationPtr &operation);
    // By value: delivering may destroy the operation whose conv the caller passed.
    void pump(QString conv);
    void finish(Operation *operation, std::function<void()> deliver);
    void finishAppend(Operation *operation, Result<StoredSend> result);

    void checkDuplicate(const OperationPtr &operation);
    void allocate(const QString &conv, const QList<OperationPtr> &batch);
    void readLastSeq(const QString &conv, const QList<OperationPtr> &batch, int round);
    // previousTs: the conversation's lastTs, the least ts the batch's messages get.
    void claimSeqs(const QString &conv, const QList<OperationPtr> &batch,
        std::optional<qint64> expected, qint64 previousTs, int round);
    void createConversation(const QString &conv, const QList<OperationPtr> &batch, int round);
    void assignSeqs(const QString &conv, const QList<OperationPtr> &batch, Result<qint64> lastSeq);
    // Writes the sends item now, or once the one before it of the same connection is.
    void startStoring(const OperationPtr &operation);
    // The sends item of `operation` is written (or failed): the next of its connection goes
    // on (or fails too). Does nothing the second time.
    void sendsItemSettled(Operation *operation, bool written);
    void storeMessage(const OperationPtr &operation);
    void writeMessage(const protocol::Message &message, std::function<void(Result<bool>)> done);
    void ensureMessage(const protocol::Message &message, std::function<void(Result<bool>)> done);

    void receiptAttempt(const ReceiptUpdate &update, int attempt, Callback<ReceiptOutcome> done);
    void readHistory(const HistoryQuery &query, Callback<HistorySlice> done);

    Tables *m_tables;
    SearchIndexer *m_indexer;
    Batcher m_sendsReads; // step 1 and the read-back after a failed claim
    Batcher m_messageWrites; // step 4
    std::unordered_map<QString, Lane> m_lanes;
    // "<from>#<cid>" -> the append storing it on this node (owned by its lane).
    std::unordered_map<QString, Operation *> m_sendsInFlight;
    // conv -> lastSeq and lastTs as this node last wrote them: the expected value of the
    // next claim. Another node's claim makes it stale; the failed condition then costs
    // one read.
    struct Claimed
    {
        qint64 seq = 0;
        qint64 ts = 0;
    };
    std::unordered_map<QString, Claimed> m_knownLastSeq;
    SendOrderGuard m_sendOrder;
    quint64 m_appendsSubmitted = 0;
};

} // namespace parley::server::dynamo
