#include "dynamoconversations.h"

#include "codec.h"
#include "dynamoitem.h"
#include "logging.h"

#include <QDateTime>
#include <QJsonArray>
#include <QRandomGenerator>

#include <algorithm>
#include <utility>

using namespace Qt::StringLiterals;

namespace parley::server::dynamo {

namespace {

constexpr qint64 kMaxHistory = 1000; // as SqliteStore
constexpr int kReceiptAttempts = 5; // conditional receipt writes lost to other nodes
constexpr int kClaimRounds = 10; // seq claims lost to other nodes before giving up
// A missing seq is reported as a gap once the message after it is this old (readHistory):
// longer than an append takes under throttling and retries, short enough that a client
// holding later messages does not wait long for a seq that failed for good.
constexpr qint64 kGapSettleMs = 10000;
constexpr std::size_t kKnownLastSeqs = 100000; // cached lastSeqs (about 100 bytes each)
// Batches of one kind on their way before new items wait for one to come back: enough to
// keep a few requests overlapping, few enough that items gather. Full message batches
// leave anyway (they finish appends); check batches do not, so at most 400 appends
// start at once and a burst flows through instead of being checked all first.
constexpr int kCheckBatchesOutstanding = 4;
constexpr int kWriteBatchesOutstanding = 4;

QString sendId(const QString &from, const QString &cid)
{
    return from + u'#' + cid; // user names hold no '#', so this splits unambiguously
}

QJsonObject convKey(const QString &conv)
{
    return {{Key::Conv, string(conv)}};
}

} // namespace

struct ConversationLog::Operation
{
    enum class Stage {
        Checking, // append: looking its cid up
        Ready, // append: new cid, waiting for its seq
        Allocating, // append: the ADD that gives its seq is in flight
        Storing, // append: writing the sends and messages items
        Following, // append: its cid is being stored by another append on this node
        Refused, // append: would overtake a failed one of its connection (pump)
        Queued, // exclusive: waiting for everything before it
        Running, // exclusive
        Finished, // result ready, waiting for its turn to be delivered
    };
    QString conv;
    bool exclusive = false;
    Stage stage = Stage::Checking;
    SendRequest send; // appends
    quint64 submitted = 0; // appends: numbered in submission order (SendOrderGuard)
    Callback<StoredSend> appended;
    protocol::Message message; // appends, once the seq is known
    QList<OperationPtr> followers; // appends of the same (from, cid) that arrived meanwhile
    // The next append of the same connection to the conversation, waiting for this one's
    // sends item before writing its own.
    OperationPtr nextSends;
    std::function<void()> run; // exclusive: starts the work
    std::function<void()> deliver; // set when Finished: calls the caller back
};

ConversationLog::ConversationLog(Tables *tables, SearchIndexer *indexer)
    : m_tables(tables)
    , m_indexer(indexer)
    , m_sendsReads(tables, Batcher::Kind::Get, tables->names().sends, {Key::SendId},
          kCheckBatchesOutstanding, Batcher::Full::Waits, Tables::Priority::Starting)
    , m_messageWrites(tables, Batcher::Kind::Put, tables->names().messages, {Key::Conv, Key::Seq},
          kWriteBatchesOutstanding, Batcher::Full::Leaves, Tables::Priority::Finishing)
{ }

ConversationLog::~ConversationLog() = default;

// ---- lanes ----------------------------------------------------------------------

void ConversationLog::enqueue(const OperationPtr &operation)
{
    m_lanes[operation->conv].operations.push_back(operation);
}

template<typename T>
void ConversationLog::submitExclusive(
    const QString &conv, Callback<T> done, std::function<void(Callback<T>)> work)
{
    auto operation = std::make_shared<Operation>();
    operation->conv = conv;
    operation->exclusive = true;
    operation->stage = Operation::Stage::Queued;
    // The lane owns the operation until it is delivered, so a raw pointer is safe here
    // (and a shared one would be a cycle).
    Operation *raw = operation.get();
    operation->run = [this, raw, done = std::move(done), work = std::move(work)] {
        work([this, raw, done](Result<T> result) {
            finish(raw, [done, result = std::move(result)] { done(result); });
        });
    };
    enqueue(operation);
    pump(conv);
}

void ConversationLog::finish(Operation *operation, std::function<void()> deliver)
{
    operation->deliver = std::move(deliver);
    operation->stage = Operation::Stage::Finished;
    pump(operation->conv);
}

void ConversationLog::finishAppend(Operation *operation, Result<StoredSend> result)
{
    // First, so that nothing admitted from here on overtakes the failed message.
    if (!result)
        m_sendOrder.failed(operation->send, result.error(), QDateTime::currentMSecsSinceEpoch(),
            operation->submitted);
    sendsItemSettled(operation, bool(result));
    const auto leader = m_sendsInFlight.find(sendId(operation->send.from, operation->send.cid));
    if (leader != m_sendsInFlight.end() && leader->second == operation)
        m_sendsInFlight.erase(leader);
    const QList<OperationPtr> followers = std::exchange(operation->followers, {});
    Result<StoredSend> followed = result;
    if (followed)
        followed.value().duplicate = true;
    finish(operation, [done = operation->appended, result = std::move(result)] { done(result); });
    for (const OperationPtr &follower : followers)
        finishAppend(follower.get(), followed);
}

void ConversationLog::pump(QString conv)
{
    const auto it = m_lanes.find(conv);
    if (it == m_lanes.end())
        return;
    Lane &lane = it->second;
    // Callbacks leave from the front only: completion order = submission order.
    while (
        !lane.operations.empty() && lane.operations.front()->stage == Operation::Stage::Finished) {
        const OperationPtr done = lane.operations.front();
        lane.operations.pop_front();
        done->deliver();
    }
    if (lane.operations.empty()) {
        m_lanes.erase(it);
        return;
    }
    if (const OperationPtr front = lane.operations.front(); front->exclusive) {
        if (front->stage == Operation::Stage::Queued) {
            front->stage = Operation::Stage::Running;
            front->run(); // may finish (and pump) before returning: touch nothing after
        }
        return;
    }
    if (lane.allocating)
        return;
    // Seqs go out in submission order: the ready appends up to the first one still
    // checking its cid, or up to a receipt/history, which waits for all of them.
    // A connection's append after one of its failed ones is refused here, where it would
    // take its seq (SendOrderGuard).
    QList<OperationPtr> batch;
    QList<std::pair<OperationPtr, StoreError>> refused;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (const OperationPtr &operation : lane.operations) {
        if (operation->exclusive || operation->stage == Operation::Stage::Checking)
            break;
        if (operation->stage != Operation::Stage::Ready)
            continue;
        if (auto refusal = m_sendOrder.admit(operation->send, now, operation->submitted))
            refused.append({operation, *refusal});
        else
            batch.append(operation);
    }
    for (const auto &[operation, refusal] : refused)
        operation->stage = Operation::Stage::Refused; // out of the next pump's batches
    if (!batch.isEmpty())
        allocate(conv, batch); // before the refusals: finishing them pumps this lane again
    for (const auto &[operation, refusal] : refused)
        finishAppend(operation.get(), refusal);
}

// ---- append ---------------------------------------------------------------------

void ConversationLog::appendMessage(const SendRequest &send, Callback<StoredSend> done)
{
    auto operation = std::make_shared<Operation>();
    operation->conv = protocol::conversationId(send.from, send.to);
    operation->send = send;
    operation->submitted = ++m_appendsSubmitted;
    operation->appended = std::move(done);
    enqueue(operation);
    // A held message that was stored before (its message item failed) is answered as a
    // duplicate without passing pump(): its coming ends the hold here.
    m_sendOrder.sentAgain(send);
    // A resend that overtakes its original (a client reconnecting while the first send
    // is being stored) would find no sends item yet, take a seq of its own and leave it
    // as a gap: it waits for the original instead and answers as its duplicate.
    const auto [leader, fresh]
        = m_sendsInFlight.try_emplace(sendId(send.from, send.cid), operation.get());
    if (!fresh) {
        operation->stage = Operation::Stage::Following;
        leader->second->followers.append(operation);
        return;
    }
    checkDuplicate(operation);
}

// Step 1: a known (from, cid) answers with the first stored message.
void ConversationLog::checkDuplicate(const OperationPtr &operation)
{
    const QJsonObject key {
        {Key::SendId, string(sendId(operation->send.from, operation->send.cid))}};
    m_sendsReads.submit(key, [this, operation](Result<std::optional<QJsonObject>> found) {
        if (!found) {
            finishAppend(operation.get(), found.error());
            return;
        }
        if (!found.value()) {
            operation->stage = Operation::Stage::Ready;
            pump(operation->conv);
            return;
        }
        const protocol::Message first = messageOf(*found.value());
        ensureMessage(first, [this, operation, first](Result<bool> ensured) {
            if (!ensured)
                finishAppend(operation.get(), ensured.error());
            else
                finishAppend(operation.get(), StoredSend {first, true});
        });
    });
}

// Step 2: n ready appends take the next n seqs with one compare-and-set on the
// conversation's lastSeq (an ADD would count twice when a request that was applied gets
// retried). The expected value comes from this node's cache, else from a read.
void ConversationLog::allocate(const QString &conv, const QList<OperationPtr> &batch)
{
    m_lanes[conv].allocating = true;
    for (const OperationPtr &operation : batch)
        operation->stage = Operation::Stage::Allocating;
    if (const auto known = m_knownLastSeq.find(conv); known != m_knownLastSeq.end())
        claimSeqs(conv, batch, known->second.seq, known->second.ts, 1);
    else
        readLastSeq(conv, batch, 1);
}

void ConversationLog::readLastSeq(const QString &conv, const QList<OperationPtr> &batch, int round)
{
    m_tables->getItem(m_tables->names().conversations, convKey(conv),
        [this, conv, batch, round](Result<std::optional<QJsonObject>> found) {
            if (!found)
                assignSeqs(conv, batch, found.error());
            else if (!found.value())
                createConversation(conv, batch, round);
            else
                claimSeqs(conv, batch, numberOf(*found.value(), Attr::LastSeq),
                    numberOf(*found.value(), Attr::LastTs), round);
        });
}

// expected: the lastSeq to move from; nullopt creates the conversation item.
void ConversationLog::claimSeqs(const QString &conv, const QList<OperationPtr> &batch,
    std::optional<qint64> expected, qint64 previousTs, int round)
{
    const qint64 newLast = expected.value_or(0) + batch.size();
    qint64 lastTs = previousTs;
    for (const OperationPtr &operation : batch) {
        lastTs = std::max(lastTs, operation->send.ts);
        operation->send.ts = lastTs; // another node's clock may be a little ahead
    }
    // Tells our own applied-but-unanswered write from another node's after a failed
    // condition.
    const QString writer = QString::number(QRandomGenerator::global()->generate64(), 36);
    QJsonObject names {
        {u"#seq"_s, Attr::LastSeq}, {u"#ts"_s, Attr::LastTs}, {u"#w"_s, Attr::SeqWriter}};
    QJsonObject values {
        {u":new"_s, number(newLast)}, {u":ts"_s, number(lastTs)}, {u":w"_s, string(writer)}};
    QJsonObject update {
        {u"TableName"_s, m_tables->names().conversations}, {u"Key"_s, convKey(conv)}};
    if (expected) {
        update.insert(u"UpdateExpression"_s, u"SET #seq = :new, #ts = :ts, #w = :w"_s);
        update.insert(u"ConditionExpression"_s, u"#seq = :old"_s);
        values.insert(u":old"_s, number(*expected));
    } else {
        const auto members = protocol::conversationMembers(conv);
        update.insert(
            u"UpdateExpression"_s, u"SET #seq = :new, #ts = :ts, #w = :w, #a = :a, #b = :b"_s);
        update.insert(u"ConditionExpression"_s, u"attribute_not_exists(#conv)"_s);
        names.insert(u"#a"_s, Attr::UserA);
        names.insert(u"#b"_s, Attr::UserB);
        names.insert(u"#conv"_s, Key::Conv);
        values.insert(u":a"_s, string(members->first));
        values.insert(u":b"_s, string(members->second));
    }
    update.insert(u"ExpressionAttributeNames"_s, names);
    update.insert(u"ExpressionAttributeValues"_s, values);

    const auto claimed = [this, conv, batch, newLast, lastTs] {
        m_knownLastSeq[conv] = Claimed {newLast, lastTs};
        assignSeqs(conv, batch, newLast);
    };
    m_tables->write(u"UpdateItem"_s, update,
        [this, conv, batch, newLast, writer, round, claimed](Result<bool> written) {
            if (!written) {
                m_knownLastSeq.erase(conv); // it may have been applied after all
                assignSeqs(conv, batch, written.error());
                return;
            }
            if (!written.value()) {
                claimed();
                return;
            }
            m_tables->getItem(m_tables->names().conversations, convKey(conv),
                [this, conv, batch, newLast, writer, round, claimed](
                    Result<std::optional<QJsonObject>> found) {
                    if (!found) {
                        assignSeqs(conv, batch, found.error());
                        return;
                    }
                    const std::optional<QJsonObject> &item = found.value();
                    if (item && numberOf(*item, Attr::LastSeq) == newLast
                        && stringOf(*item, Attr::SeqWriter) == writer) {
                        claimed(); // our retried request had been applied
                        return;
                    }
                    // Another node took seqs (or created the conversation) first.
                    m_knownLastSeq.erase(conv);
                    if (round >= kClaimRounds)
                        assignSeqs(conv, batch,
                            StoreError {StoreError::Code::Unavailable,
                                u"conversation %1 is too busy to take a seq"_s.arg(conv)});
                    else if (!item)
                        createConversation(conv, batch, round + 1);
                    else
                        claimSeqs(conv, batch, numberOf(*item, Attr::LastSeq),
                            numberOf(*item, Attr::LastTs), round + 1);
                });
        });
}

// A new conversation: both users must exist (users are never deleted, so only now), and
// both get their membership item before the conversation item exists, so a conversation
// with messages is always listed for both.
void ConversationLog::createConversation(
    const QString &conv, const QList<OperationPtr> &batch, int round)
{
    const auto members = protocol::conversationMembers(conv);
    const QList<QJsonObject> keys {QJsonObject {{Key::User, string(members->first)}},
        QJsonObject {{Key::User, string(members->second)}}};
    m_tables->batchGet(m_tables->names().users, keys,
        [this, conv, batch, members, round](Result<QList<QJsonObject>> found) {
            if (!found) {
                assignSeqs(conv, batch, found.error());
                return;
            }
            QStringList known;
            for (const QJsonObject &item : found.value())
                known.append(stringOf(item, Key::User));
            for (const QString &user : {members->first, members->second}) {
                if (!known.contains(user)) {
                    assignSeqs(conv, batch,
                        StoreError {StoreError::Code::NotFound, u"no such user: "_s + user});
                    return;
                }
            }
            auto pending = std::make_shared<int>(2);
            auto failure = std::make_shared<std::optional<StoreError>>();
            for (const auto &[user, peer] : {std::pair(members->first, members->second),
                     std::pair(members->second, members->first)}) {
                const QJsonObject put {{u"TableName"_s, m_tables->names().memberships},
                    {u"Item"_s,
                        QJsonObject {{Key::User, string(user)}, {Key::Conv, string(conv)},
                            {Attr::Peer, string(peer)}}}};
                m_tables->write(u"PutItem"_s, put,
                    [this, conv, batch, pending, failure, round](Result<bool> written) {
                        if (!written && !*failure)
                            *failure = written.error();
                        if (--*pending > 0)
                            return;
                        if (*failure)
                            assignSeqs(conv, batch, **failure);
                        else
                            claimSeqs(conv, batch, std::nullopt, 0, round);
                    });
            }
        });
}

void ConversationLog::assignSeqs(
    const QString &conv, const QList<OperationPtr> &batch, Result<qint64> lastSeq)
{
    m_lanes[conv].allocating = false;
    if (m_knownLastSeq.size() > kKnownLastSeqs)
        m_knownLastSeq.clear(); // a cache: a miss costs one read
    for (qsizetype i = 0; i < batch.size(); ++i) {
        Operation *operation = batch.at(i).get();
        if (!lastSeq) {
            finishAppend(operation, lastSeq.error());
            continue;
        }
        const SendRequest &s = operation->send;
        operation->message = protocol::Message {
            conv, lastSeq.value() - batch.size() + 1 + i, s.from, s.to, s.cid, s.body, s.ts};
        operation->stage = Operation::Stage::Storing;
        startStoring(batch.at(i));
    }
    pump(conv); // the next ready appends may take their seqs now
}

void ConversationLog::startStoring(const OperationPtr &operation)
{
    if (operation->send.origin != 0) {
        Lane &lane = m_lanes[operation->conv];
        const auto [tail, fresh] = lane.sendsTails.try_emplace(operation->send.origin, operation);
        if (!fresh) {
            tail->second->nextSends = operation; // starts in sendsItemSettled
            tail->second = operation;
            return;
        }
    }
    storeMessage(operation);
}

void ConversationLog::sendsItemSettled(Operation *operation, bool written)
{
    if (operation->send.origin == 0 || operation->stage != Operation::Stage::Storing)
        return;
    const auto lane = m_lanes.find(operation->conv);
    if (lane == m_lanes.end())
        return;
    auto &tails = lane->second.sendsTails;
    const auto tail = tails.find(operation->send.origin);
    OperationPtr next = std::exchange(operation->nextSends, {});
    if (!next) {
        if (tail != tails.end() && tail->second.get() == operation)
            tails.erase(tail);
        return;
    }
    if (written) {
        storeMessage(next);
        return;
    }
    // The ones after took their seqs after the failed one: stored now they would come
    // before it once the client sends it again. Their seqs stay gaps; they are resent too.
    if (tail != tails.end())
        tails.erase(tail);
    const StoreError overtaking = SendOrderGuard::overtaking(operation->send.to);
    while (next) {
        OperationPtr after = std::exchange(next->nextSends, {});
        finishAppend(next.get(), overtaking);
        next = std::move(after);
    }
}

// Step 3: the sends item claims the cid for this seq; step 4: the message item.
void ConversationLog::storeMessage(const OperationPtr &operation)
{
    const protocol::Message &message = operation->message;
    QJsonObject item = messageItem(message);
    item.insert(Key::SendId, string(sendId(message.from, message.cid)));
    // The condition in the legacy `Expected` form, not as a ConditionExpression: the same
    // meaning and cost on DynamoDB, but dynalite parses every expression with a grammar
    // and took about 40% longer per put with one (docs/dynamodb.md, 14.6). This is the
    // one request every message has of its own.
    const QJsonObject put {{u"TableName"_s, m_tables->names().sends}, {u"Item"_s, item},
        {u"Expected"_s, QJsonObject {{Key::SendId, QJsonObject {{u"Exists"_s, false}}}}}};
    const auto written = [this, operation](Result<bool> stored) {
        if (!stored)
            finishAppend(operation.get(), stored.error());
        else
            finishAppend(operation.get(), StoredSend {operation->message, false});
    };
    m_tables->write(u"PutItem"_s, put, [this, operation, written](Result<bool> claimed) {
        if (!claimed) {
            finishAppend(operation.get(), claimed.error());
            return;
        }
        if (!claimed.value()) {
            sendsItemSettled(operation.get(), true);
            writeMessage(operation->message, written);
            return;
        }
        // The cid is claimed: by our own attempt whose answer was lost (same seq), or by
        // a concurrent send of the same cid, which wins; our seq stays a gap.
        const QJsonObject key {
            {Key::SendId, string(sendId(operation->send.from, operation->send.cid))}};
        m_sendsReads.submit(
            key, [this, operation, written](Result<std::optional<QJsonObject>> found) {
                if (!found || !found.value()) {
                    finishAppend(operation.get(),
                        found ? StoreError {StoreError::Code::Internal,
                            u"sends item vanished after a failed condition"_s}
                              : found.error());
                    return;
                }
                sendsItemSettled(operation.get(), true); // ours, or the cid's first send
                const protocol::Message first = messageOf(*found.value());
                if (first.conv == operation->message.conv && first.seq == operation->message.seq) {
                    writeMessage(operation->message, written);
                    return;
                }
                ensureMessage(first, [this, operation, first](Result<bool> ensured) {
                    if (!ensured)
                        finishAppend(operation.get(), ensured.error());
                    else
                        finishAppend(operation.get(), StoredSend {first, true});
                });
            });
    });
}

void ConversationLog::writeMessage(
    const protocol::Message &message, std::function<void(Result<bool>)> done)
{
    // Unconditional, so it can share a BatchWriteItem: only the owner of the sends item
    // writes this (conv, seq), always with the same content, so a repeat is harmless.
    // The indexer hears of it once it is stored; the ack does not wait for the index
    // (a search reads the messages not indexed yet itself).
    m_messageWrites.submit(messageItem(message),
        [this, message, done = std::move(done)](Result<std::optional<QJsonObject>> stored) {
            if (!stored) {
                done(stored.error());
                return;
            }
            m_indexer->noteStored(message);
            done(false);
        });
}

// A sends item whose message item is missing is a send interrupted between steps 3 and
// 4: the message is written now, with the seq the sends item holds.
void ConversationLog::ensureMessage(
    const protocol::Message &message, std::function<void(Result<bool>)> done)
{
    const QJsonObject key {{Key::Conv, string(message.conv)}, {Key::Seq, number(message.seq)}};
    m_tables->getItem(m_tables->names().messages, key,
        [this, message, done](Result<std::optional<QJsonObject>> found) {
            if (!found) {
                done(found.error());
                return;
            }
            if (found.value()) {
                // Stored, but perhaps by an append whose node died before the index
                // heard of it: noting it again costs one cycle's catch-up at most.
                m_indexer->noteStored(message);
                done(false);
                return;
            }
            qCInfo(lcServerDynamo).noquote() << "repairing an interrupted send: conversation"
                                             << message.conv << "seq" << message.seq;
            writeMessage(message, done);
        });
}

// ---- receipts -------------------------------------------------------------------

void ConversationLog::updateReceipt(const ReceiptUpdate &update, Callback<ReceiptOutcome> done)
{
    submitExclusive<ReceiptOutcome>(
        update.conv, std::move(done), [this, update](Callback<ReceiptOutcome> finished) {
            receiptAttempt(update, 1, std::move(finished));
        });
}

void ConversationLog::receiptAttempt(
    const ReceiptUpdate &update, int attempt, Callback<ReceiptOutcome> done)
{
    m_tables->getItem(m_tables->names().conversations, convKey(update.conv),
        [this, update, attempt, done](Result<std::optional<QJsonObject>> found) {
            if (!found) {
                done(found.error());
                return;
            }
            const std::optional<QJsonObject> &item = found.value();
            const bool isA = item && stringOf(*item, Attr::UserA) == update.user;
            if (!item || (!isA && stringOf(*item, Attr::UserB) != update.user)) {
                done(ReceiptOutcome {});
                return;
            }
            const QString deliveredName = isA ? Attr::ADelivered : Attr::BDelivered;
            const QString readName = isA ? Attr::ARead : Attr::BRead;
            const qint64 delivered = numberOf(*item, deliveredName);
            const qint64 read = numberOf(*item, readName);
            const qint64 upTo = std::clamp<qint64>(update.upTo, 0, numberOf(*item, Attr::LastSeq));

            ReceiptOutcome outcome {false, delivered, read};
            if (update.kind == protocol::ReceiptKind::Read)
                outcome.read = std::max(read, upTo);
            outcome.delivered = std::max({delivered, upTo, outcome.read}); // read implies delivered
            outcome.advanced = outcome.delivered != delivered || outcome.read != read;
            if (!outcome.advanced) {
                done(outcome);
                return;
            }
            // Only raises: another node's newer receipt makes the condition fail, and the
            // receipt is worked out again from what is stored. `<=` keeps a retried
            // request (lost answer) from failing on its own write.
            const QJsonObject write {{u"TableName"_s, m_tables->names().conversations},
                {u"Key"_s, convKey(update.conv)},
                {u"UpdateExpression"_s, u"SET #d = :d, #r = :r"_s},
                {u"ConditionExpression"_s,
                    u"(attribute_not_exists(#d) OR #d <= :d) AND (attribute_not_exists(#r) OR #r <= :r)"_s},
                {u"ExpressionAttributeNames"_s,
                    QJsonObject {{u"#d"_s, deliveredName}, {u"#r"_s, readName}}},
                {u"ExpressionAttributeValues"_s,
                    QJsonObject {
                        {u":d"_s, number(outcome.delivered)}, {u":r"_s, number(outcome.read)}}}};
            m_tables->write(u"UpdateItem"_s, write,
                [this, update, attempt, outcome, done](Result<bool> written) {
                    if (!written)
                        done(written.error());
                    else if (!written.value())
                        done(outcome);
                    else if (attempt < kReceiptAttempts)
                        receiptAttempt(update, attempt + 1, done);
                    else
                        done(StoreError {StoreError::Code::Unavailable,
                            u"receipt kept losing to concurrent receipts"_s});
                });
        });
}

// ---- history --------------------------------------------------------------------

void ConversationLog::history(const HistoryQuery &query, Callback<HistorySlice> done)
{
    submitExclusive<HistorySlice>(
        query.conv, std::move(done), [this, query](Callback<HistorySlice> finished) {
            readHistory(query, std::move(finished));
        });
}

void ConversationLog::readHistory(const HistoryQuery &query, Callback<HistorySlice> done)
{
    m_tables->getItem(m_tables->names().conversations, convKey(query.conv),
        [this, query, done](Result<std::optional<QJsonObject>> found) {
            if (!found) {
                done(found.error());
                return;
            }
            const qint64 last = found.value() ? numberOf(*found.value(), Attr::LastSeq) : 0;
            // The seq range 1..last as SqliteStore works it out, so `limit` and `more`
            // count gap entries exactly like messages.
            const qint64 limit = std::clamp<qint64>(query.limit, 1, kMaxHistory);
            HistorySlice slice;
            qint64 lo = 0;
            qint64 hi = 0;
            if (query.after) {
                if (*query.after >= last) {
                    done(slice);
                    return;
                }
                lo = std::max<qint64>(*query.after, 0) + 1;
                hi = std::min(last, lo + limit - 1);
                slice.more = hi < last;
            } else {
                hi = last;
                if (query.before)
                    hi = *query.before <= 1 ? 0 : std::min(*query.before - 1, last);
                if (hi < 1) {
                    done(slice);
                    return;
                }
                lo = std::max<qint64>(1, hi - limit + 1);
                slice.more = lo > 1;
            }
            // Forward pages also read the first stored message after the range: whether
            // the missing seqs at its end are settled depends on it.
            const qint64 readTo = query.after ? last : hi;
            const QJsonObject request {{u"TableName"_s, m_tables->names().messages},
                {u"KeyConditionExpression"_s, u"#c = :c AND #s BETWEEN :lo AND :hi"_s},
                {u"ExpressionAttributeNames"_s,
                    QJsonObject {{u"#c"_s, Key::Conv}, {u"#s"_s, Key::Seq}}},
                {u"ExpressionAttributeValues"_s,
                    QJsonObject {{u":c"_s, string(query.conv)}, {u":lo"_s, number(lo)},
                        {u":hi"_s, number(readTo)}}},
                {u"ScanIndexForward"_s, true}};
            m_tables->queryAll(request, hi - lo + 1 + (query.after ? 1 : 0),
                [query, lo, hi, last, slice, done](Result<QList<QJsonObject>> items) mutable {
                    if (!items) {
                        done(items.error());
                        return;
                    }
                    // A missing seq with a message after it is a gap for good only once
                    // that message is kGapSettleMs old: until then it may be another
                    // node's append still being written (a throttled table, retries), and
                    // a gap reported now would make a client drop that message when it
                    // comes. A forward page stops before such a seq, without `more`;
                    // client-core asks again while it holds messages after it.
                    const qint64 now = QDateTime::currentMSecsSinceEpoch();
                    const auto settled = [&](const protocol::Message &after) {
                        return !query.after || now - after.ts >= kGapSettleMs;
                    };
                    qint64 next = lo;
                    const auto gapsUntil = [&](qint64 end) {
                        for (; next < end; ++next)
                            slice.messages.append(
                                protocol::Message {.conv = query.conv, .seq = next, .gap = true});
                    };
                    for (const QJsonObject &item : items.value()) {
                        protocol::Message message = messageOf(item);
                        if (message.seq > next && !settled(message)) {
                            slice.more = false;
                            done(slice);
                            return;
                        }
                        if (message.seq > hi) { // the page's trailing missing seqs are settled
                            gapsUntil(hi + 1);
                            break;
                        }
                        gapsUntil(message.seq);
                        slice.messages.append(std::move(message));
                        next = slice.messages.last().seq + 1;
                    }
                    // Missing seqs after the newest stored message may still be in flight
                    // (or were given up): they become gaps once a later message is stored
                    // (and settled, for forward pages).
                    if (hi < last && !query.after)
                        gapsUntil(hi + 1);
                    if (query.after && next <= hi)
                        slice.more = false; // nothing stored after them yet
                    done(slice);
                });
        });
}

} // namespace parley::server::dynamo
