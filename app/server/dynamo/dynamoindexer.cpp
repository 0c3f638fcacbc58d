#include "dynamoindexer.h"

#include "dynamoitem.h"
#include "dynamosearch.h"
#include "logging.h"

#include <QDateTime>
#include <QJsonArray>
#include <QRandomGenerator>
#include <QSet>

#include <algorithm>
#include <limits>

using namespace Qt::StringLiterals;

namespace parley::server::dynamo {

namespace {

// Segment writes lost to another node indexing the same conversation before a catch-up
// gives up for this cycle (the conversation stays pending).
constexpr int kWriteRounds = 5;

const QString NodesPartition = u"#nodes"_s;
const QString LeaseUntil = u"leaseUntil"_s;
// A stopped node's conversations it could not index (a gap still open), one per line:
// the node that finds the lease catches those up instead of sweeping everything.
const QString HandedOver = u"pending"_s;
constexpr qsizetype kMaxHandedOver = 4000; // conversations; more: a sweep
const QString Started = u"started"_s;

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

QJsonObject nodeKey(const QString &node)
{
    return {{Key::UserBucket, string(NodesPartition)}, {Key::Position, string(node)}};
}

} // namespace

struct SearchIndexer::CatchUp
{
    QString conv;
    // Lowest seq noted; below the watermark: a late repair. max: none.
    qint64 minSeq = std::numeric_limits<qint64>::max();
    std::function<void(Result<bool>)> done;
    Known known; // the chain as last read or written
    QList<protocol::Message> messages; // read after the watermark, seq order
    bool more = false; // the messages read were one page of more
    int writeRounds = 0;
};

SearchIndexer::SearchIndexer(Tables *tables, Metrics *metrics, Options options)
    : m_tables(tables)
    , m_options(options)
    , m_nodeId(QString::number(QRandomGenerator::global()->generate64(), 36))
    , m_pendingGauge(metrics->gauge("parley_search_index_pending_conversations",
          "Conversations with stored messages this node has not indexed for search yet."))
    , m_lagGauge(metrics->gauge("parley_search_index_lag_seconds",
          "Age of the oldest stored message this node has not indexed for search yet (0: "
          "none)."))
    , m_segmentsWritten(metrics->counter("parley_search_index_segments_written_total",
          "Search index segments written (one per conversation and interval with new "
          "messages)."))
    , m_messagesIndexed(metrics->counter(
          "parley_search_index_messages_total", "Messages written into the search index."))
{
    m_interval.setInterval(std::max(10, m_options.intervalMs));
    QObject::connect(&m_interval, &QTimer::timeout, &m_context, [this] { cycle(); });
    m_lease.setInterval(std::max(100, m_options.nodeLeaseMs / 3));
    QObject::connect(&m_lease, &QTimer::timeout, &m_context, [this] { renewLease(); });
    m_watch.setInterval(std::max(100, m_options.nodeLeaseMs / 2));
    QObject::connect(&m_watch, &QTimer::timeout, &m_context, [this] { watchNodes(); });
    m_gauges.setInterval(1000);
    QObject::connect(&m_gauges, &QTimer::timeout, &m_context, [this] { updateGauges(); });
}

SearchIndexer::~SearchIndexer() = default;

// ---- this node's lease and the others' ------------------------------------------

void SearchIndexer::start(std::function<void()> nodeLost)
{
    m_nodeLost = std::move(nodeLost);
    m_interval.start();
    m_gauges.start();
    renewLease();
    m_lease.start();
    watchNodes();
    m_watch.start();
}

void SearchIndexer::renewLease()
{
    // Registered once with a put; renewed on condition that the lease still exists, so a
    // renewal that lands after this node's final delete (or after another node took the
    // lease for dead) does not bring it back.
    const qint64 until = nowMs() + m_options.nodeLeaseMs;
    QJsonObject request {{u"TableName"_s, m_tables->names().search}};
    QString operation = u"PutItem"_s;
    if (!m_registered) {
        request.insert(u"Item"_s,
            QJsonObject {{Key::UserBucket, string(NodesPartition)},
                {Key::Position, string(m_nodeId)}, {LeaseUntil, number(until)},
                {Started, number(nowMs())}});
    } else {
        operation = u"UpdateItem"_s;
        request.insert(u"Key"_s, nodeKey(m_nodeId));
        request.insert(u"UpdateExpression"_s, u"SET #l = :l"_s);
        request.insert(u"ConditionExpression"_s, u"attribute_exists(#k)"_s);
        request.insert(u"ExpressionAttributeNames"_s,
            QJsonObject {{u"#l"_s, LeaseUntil}, {u"#k"_s, Key::UserBucket}});
        request.insert(u"ExpressionAttributeValues"_s, QJsonObject {{u":l"_s, number(until)}});
    }
    m_tables->write(operation, request, [this](Result<bool> written) {
        if (!written) {
            qCWarning(lcServerDynamo).noquote()
                << "search index: cannot renew this node's lease:" << written.error().message;
            return;
        }
        if (!written.value()) {
            m_registered = true;
        } else if (!m_stopping) {
            // Another node took this one for dead (DynamoDB was out of reach longer than a
            // lease) and swept: register again.
            qCWarning(lcServerDynamo) << "search index: this node's lease was taken over";
            m_registered = false;
            renewLease();
        }
    });
}

// A lease that ran out is a node that died (or lost DynamoDB for longer than a lease)
// with messages it may not have indexed. Whoever deletes its lease first sweeps.
void SearchIndexer::watchNodes()
{
    const QJsonObject request {{u"TableName"_s, m_tables->names().search},
        {u"KeyConditionExpression"_s, u"#k = :k"_s},
        {u"ExpressionAttributeNames"_s, QJsonObject {{u"#k"_s, Key::UserBucket}}},
        {u"ExpressionAttributeValues"_s, QJsonObject {{u":k"_s, string(NodesPartition)}}}};
    m_tables->queryAll(request, 0, [this](Result<QList<QJsonObject>> found) {
        if (!found || m_stopping)
            return;
        const qint64 now = nowMs();
        for (const QJsonObject &lease : found.value()) {
            const QString node = stringOf(lease, Key::Position);
            const qint64 until = numberOf(lease, LeaseUntil);
            if (node == m_nodeId || until >= now)
                continue;
            const QJsonObject remove {{u"TableName"_s, m_tables->names().search},
                {u"Key"_s, nodeKey(node)}, {u"ConditionExpression"_s, u"#l = :l"_s},
                {u"ExpressionAttributeNames"_s, QJsonObject {{u"#l"_s, LeaseUntil}}},
                {u"ExpressionAttributeValues"_s, QJsonObject {{u":l"_s, number(until)}}}};
            if (m_stopping)
                return;
            const std::optional<QStringList> handedOver = lease.contains(HandedOver)
                ? std::optional(stringOf(lease, HandedOver).split(u'\n', Qt::SkipEmptyParts))
                : std::nullopt;
            const auto lost = [this, node, handedOver] {
                if (m_stopping) {
                    m_leftBehind = true; // keep this lease: another node sweeps after it
                    return;
                }
                if (handedOver) {
                    qCInfo(lcServerDynamo).noquote()
                        << "search index: node" << node << "stopped and handed over"
                        << handedOver->size() << "conversations to index";
                    for (const QString &conv : *handedOver)
                        retryLater(conv);
                    return;
                }
                qCWarning(lcServerDynamo).noquote()
                    << "search index: node" << node
                    << "stopped without finishing its index; sweeping every conversation";
                if (m_nodeLost)
                    m_nodeLost();
            };
            m_tables->write(u"DeleteItem"_s, remove, [this, node, lost](Result<bool> deleted) {
                if (!deleted)
                    return; // the next watch tries again
                if (!deleted.value()) {
                    lost();
                    return;
                }
                // Another node deleted it first, or our own delete was applied and its
                // answer lost (the retry found nothing): if the lease is gone, sweep; a
                // second sweep request only restarts the sweep.
                m_tables->getItem(m_tables->names().search, nodeKey(node),
                    [lost](Result<std::optional<QJsonObject>> found) {
                        if (found && !found.value())
                            lost();
                    });
            });
        }
    });
}

void SearchIndexer::stop(std::function<void()> stopped)
{
    m_stopping = true;
    m_stopped = std::move(stopped);
    m_interval.stop();
    m_lease.stop();
    m_watch.stop();
    m_gauges.stop();
    if (!m_cycling)
        cycle();
}

// ---- cycles ---------------------------------------------------------------------

void SearchIndexer::noteStored(const protocol::Message &message)
{
    // Only a message stored long after its seq was taken can land in a gap that a
    // segment has recorded already (gaps settle after gapSettleMs); those get patched.
    const auto known = m_known.find(message.conv);
    const bool late = (known != m_known.end() && message.seq <= known->second.watermark)
        || nowMs() - message.ts >= m_options.gapSettleMs / 2;
    const qint64 lateSeq = late ? message.seq : std::numeric_limits<qint64>::max();
    auto [it, fresh] = m_pending.try_emplace(message.conv, Pending {message.ts, lateSeq});
    if (!fresh) {
        it->second.oldestTs = std::min(it->second.oldestTs, message.ts);
        it->second.minSeq = std::min(it->second.minSeq, lateSeq);
    }
    if (m_stopping && !m_cycling)
        cycle();
}

void SearchIndexer::retryLater(const QString &conv)
{
    if (m_stopping) {
        m_handOver.insert(conv); // for the node that finds this lease
        return;
    }
    m_pending.try_emplace(conv, Pending {nowMs(), std::numeric_limits<qint64>::max()});
}

void SearchIndexer::cycle()
{
    updateGauges();
    if (m_cycling)
        return;
    if (m_pending.empty()) {
        if (m_stopping)
            finishCycle();
        return;
    }
    m_cycling = true;
    m_working = std::exchange(m_pending, {});
    m_queue.clear();
    for (const auto &[conv, pending] : m_working)
        m_queue.append(conv);
    runNext();
}

void SearchIndexer::runNext()
{
    while (m_active < m_options.concurrency && !m_queue.isEmpty()) {
        const QString conv = m_queue.takeFirst();
        ++m_active;
        catchUp(conv, [this, conv](Result<bool> caughtUp) {
            --m_active;
            const Pending pending = m_working.at(conv);
            m_working.erase(conv);
            if (!caughtUp || !caughtUp.value()) {
                if (!caughtUp)
                    qCInfo(lcServerDynamo).noquote()
                        << "search index: conversation" << conv
                        << "stays pending:" << caughtUp.error().message;
                if (m_stopping) {
                    m_handOver.insert(conv); // for the node that finds this lease
                } else {
                    auto [it, fresh] = m_pending.try_emplace(conv, pending);
                    if (!fresh) {
                        it->second.oldestTs = std::min(it->second.oldestTs, pending.oldestTs);
                        it->second.minSeq = std::min(it->second.minSeq, pending.minSeq);
                    }
                }
            }
            if (m_active == 0 && m_queue.isEmpty())
                finishCycle();
            else
                runNext();
        });
    }
}

void SearchIndexer::finishCycle()
{
    m_cycling = false;
    updateGauges();
    if (!m_stopping)
        return;
    if (!m_pending.empty()) { // noted while this cycle ran
        cycle();
        return;
    }
    const auto stopped = [this] {
        if (auto done = std::exchange(m_stopped, nullptr))
            done();
    };
    if (m_leftBehind || m_handOver.size() > kMaxHandedOver) {
        stopped(); // the lease stays and runs out: another node sweeps
        return;
    }
    if (!m_handOver.isEmpty()) {
        // Run out at once, with the list: another node catches these up (a failed write
        // leaves the lease to run out, which costs a sweep instead).
        QStringList convs(m_handOver.cbegin(), m_handOver.cend());
        convs.sort();
        const QJsonObject update {{u"TableName"_s, m_tables->names().search},
            {u"Key"_s, nodeKey(m_nodeId)}, {u"UpdateExpression"_s, u"SET #l = :l, #p = :p"_s},
            {u"ConditionExpression"_s, u"attribute_exists(#k)"_s},
            {u"ExpressionAttributeNames"_s,
                QJsonObject {
                    {u"#l"_s, LeaseUntil}, {u"#p"_s, HandedOver}, {u"#k"_s, Key::UserBucket}}},
            {u"ExpressionAttributeValues"_s,
                QJsonObject {{u":l"_s, number(0)}, {u":p"_s, string(convs.join(u'\n'))}}}};
        m_tables->write(u"UpdateItem"_s, update, [stopped](Result<bool>) { stopped(); });
        return;
    }
    const QJsonObject remove {
        {u"TableName"_s, m_tables->names().search}, {u"Key"_s, nodeKey(m_nodeId)}};
    m_tables->write(u"DeleteItem"_s, remove, [stopped](Result<bool>) { stopped(); });
}

void SearchIndexer::updateGauges()
{
    qint64 oldest = std::numeric_limits<qint64>::max();
    for (const auto *map : {&m_pending, &m_working})
        for (const auto &[conv, pending] : *map)
            oldest = std::min(oldest, pending.oldestTs);
    m_pendingGauge.set(double(m_pending.size() + m_working.size()));
    m_lagGauge.set(oldest == std::numeric_limits<qint64>::max()
            ? 0.0
            : std::max<qint64>(0, nowMs() - oldest) / 1000.0);
}

// ---- catching one conversation up -----------------------------------------------

void SearchIndexer::catchUp(const QString &conv, std::function<void(Result<bool>)> done)
{
    auto job = std::make_shared<CatchUp>();
    job->conv = conv;
    job->done = std::move(done);
    if (const auto it = m_working.find(conv); it != m_working.end())
        job->minSeq = it->second.minSeq;
    if (const auto known = m_known.find(conv);
        known != m_known.end() && job->minSeq > known->second.watermark) {
        job->known = known->second;
        readMessages(job);
        return;
    }
    readWatermark(job);
}

void SearchIndexer::readWatermark(const std::shared_ptr<CatchUp> &job)
{
    const QJsonObject request = segments::newestFirst(m_tables->names().search, job->conv, 1);
    m_tables->call(
        u"Query"_s, request,
        [this, job](const QJsonObject &response, const aws::DynamoError *error) {
            if (error) {
                job->done(Tables::storeError(u"Query"_s, *error));
                return;
            }
            const QJsonArray items = response.value(u"Items"_s).toArray();
            job->known = {};
            if (!items.isEmpty()) {
                const auto newest = segments::segmentOf(items.first().toObject());
                if (!newest) {
                    job->done(StoreError {StoreError::Code::Internal,
                        u"a damaged search segment in conversation "_s + job->conv});
                    return;
                }
                job->known = Known {newest->lastSeq, newest->lastTs};
            }
            if (job->minSeq <= job->known.watermark)
                patchLate(job);
            else
                readMessages(job);
        },
        Tables::Priority::Starting);
}

// Messages written below the watermark (into a gap a segment recorded): each segment
// that lists one of them as a gap gets the line, written over it on condition that it
// is still the segment read. A lost race (or our own write, retried after a lost answer)
// reads the segments again.
void SearchIndexer::patchLate(const std::shared_ptr<CatchUp> &job)
{
    readPatchPage(job, {}, {});
}

// Newest first, a page at a time, down to the segment that holds minSeq.
void SearchIndexer::readPatchPage(
    const std::shared_ptr<CatchUp> &job, QJsonObject startKey, QList<segments::Segment> withGaps)
{
    QJsonObject request = segments::newestFirst(m_tables->names().search, job->conv, 16);
    if (!startKey.isEmpty())
        request.insert(u"ExclusiveStartKey"_s, startKey);
    m_tables->call(
        u"Query"_s, request,
        [this, job, withGaps](const QJsonObject &response, const aws::DynamoError *error) mutable {
            if (error) {
                job->done(Tables::storeError(u"Query"_s, *error));
                return;
            }
            bool below = false;
            for (const QJsonValue &value : response.value(u"Items"_s).toArray()) {
                const auto segment = segments::segmentOf(value.toObject());
                if (!segment)
                    continue;
                if (segment->lastSeq < job->minSeq) {
                    below = true;
                    break;
                }
                for (qint64 gap : segment->gaps) {
                    if (gap >= job->minSeq) {
                        withGaps.append(*segment);
                        break;
                    }
                }
            }
            const QJsonObject next = response.value(u"LastEvaluatedKey"_s).toObject();
            if (!below && !next.isEmpty())
                readPatchPage(job, next, std::move(withGaps));
            else
                writePatches(job, withGaps);
        },
        Tables::Priority::Starting);
}

void SearchIndexer::writePatches(
    const std::shared_ptr<CatchUp> &job, const QList<segments::Segment> &withGaps)
{
    QList<QJsonObject> keys;
    QSet<qint64> wanted;
    for (const segments::Segment &segment : withGaps) {
        for (qint64 gap : segment.gaps) {
            if (gap >= job->minSeq && !wanted.contains(gap) && keys.size() < 100) {
                wanted.insert(gap);
                keys.append(QJsonObject {{Key::Conv, string(job->conv)}, {Key::Seq, number(gap)}});
            }
        }
    }
    if (keys.isEmpty()) {
        job->minSeq = std::numeric_limits<qint64>::max();
        readMessages(job);
        return;
    }
    m_tables->batchGet(m_tables->names().messages, keys,
        [this, job, withGaps](Result<QList<QJsonObject>> messages) {
            if (!messages) {
                job->done(messages.error());
                return;
            }
            QHash<qint64, protocol::Message> bySeq;
            for (const QJsonObject &item : messages.value()) {
                const protocol::Message message = messageOf(item);
                bySeq.insert(message.seq, message);
            }
            QList<QJsonObject> writes;
            for (segments::Segment segment : withGaps) {
                const qsizetype before = segment.lines.size();
                QStringList oldGaps;
                QList<qint64> gaps;
                for (qint64 gap : std::as_const(segment.gaps)) {
                    oldGaps.append(QString::number(gap));
                    if (const auto message = bySeq.constFind(gap); message != bySeq.constEnd())
                        segment.lines.append(segments::lineOf(*message));
                    else
                        gaps.append(gap);
                }
                if (segment.lines.size() == before)
                    continue;
                std::sort(segment.lines.begin(), segment.lines.end(),
                    [](const segments::Line &a, const segments::Line &b) { return a.seq < b.seq; });
                // The chain's times never go backwards (14.1): a late line gets at least
                // the time of the line before it.
                qint64 running = segment.firstTs;
                for (segments::Line &line : segment.lines) {
                    line.ts = std::max(line.ts, running);
                    running = line.ts;
                }
                segment.lastTs = std::max(segment.lastTs, running);
                segment.gaps = gaps;
                writes.append(QJsonObject {{u"TableName"_s, m_tables->names().search},
                    {u"Item"_s, segments::itemOf(segment)},
                    {u"ConditionExpression"_s, u"#n = :n AND #g = :g"_s},
                    {u"ExpressionAttributeNames"_s,
                        QJsonObject {{u"#n"_s, u"n"_s}, {u"#g"_s, u"gaps"_s}}},
                    {u"ExpressionAttributeValues"_s,
                        QJsonObject {
                            {u":n"_s, number(before)}, {u":g"_s, string(oldGaps.join(u' '))}}}});
            }
            if (writes.isEmpty()) { // the messages are not there (yet): nothing to patch
                job->minSeq = std::numeric_limits<qint64>::max();
                readMessages(job);
                return;
            }
            struct Progress
            {
                qsizetype remaining;
                bool raced = false;
                std::optional<StoreError> failure;
            };
            auto progress = std::make_shared<Progress>(Progress {writes.size()});
            for (const QJsonObject &put : std::as_const(writes)) {
                m_tables->write(u"PutItem"_s, put, [this, job, progress](Result<bool> written) {
                    if (!written && !progress->failure)
                        progress->failure = written.error();
                    if (written && written.value())
                        progress->raced = true;
                    if (--progress->remaining > 0)
                        return;
                    if (progress->failure) {
                        job->done(*progress->failure);
                    } else if (progress->raced) {
                        // Changed since it was read: by another node, or by our own write
                        // retried after a lost answer. Read again; a patched gap is gone.
                        if (++job->writeRounds >= kWriteRounds)
                            job->done(false);
                        else
                            readPatchPage(job, {}, {});
                    } else {
                        job->minSeq = std::numeric_limits<qint64>::max();
                        readMessages(job);
                    }
                });
            }
        });
}

void SearchIndexer::readMessages(const std::shared_ptr<CatchUp> &job)
{
    const QJsonObject request {{u"TableName"_s, m_tables->names().messages},
        {u"KeyConditionExpression"_s, u"#c = :c AND #s > :w"_s},
        {u"ExpressionAttributeNames"_s, QJsonObject {{u"#c"_s, Key::Conv}, {u"#s"_s, Key::Seq}}},
        {u"ExpressionAttributeValues"_s,
            QJsonObject {{u":c"_s, string(job->conv)}, {u":w"_s, number(job->known.watermark)}}},
        {u"ConsistentRead"_s, true}, {u"Limit"_s, m_options.pageMessages}};
    m_tables->call(
        u"Query"_s, request,
        [this, job](const QJsonObject &response, const aws::DynamoError *error) {
            if (error) {
                job->done(Tables::storeError(u"Query"_s, *error));
                return;
            }
            job->messages.clear();
            for (const QJsonValue &item : response.value(u"Items"_s).toArray())
                job->messages.append(messageOf(item.toObject()));
            job->more = !response.value(u"LastEvaluatedKey"_s).toObject().isEmpty();
            writeSegments(job);
        },
        Tables::Priority::Starting);
}

QString SearchIndexer::gapKey(const QString &conv, qint64 seq)
{
    return conv + u'#' + QString::number(seq);
}

// A missing seq is a failed append once this node has seen it missing for gapSettleMs
// (its own clock: the messages' times come from other nodes' clocks, or from anywhere
// in tests).
bool SearchIndexer::gapSettled(const QString &conv, qint64 seq, qint64 now)
{
    if (m_gapSeen.size() > 100000)
        m_gapSeen.clear(); // a gap seen again waits once more
    const auto [it, fresh] = m_gapSeen.try_emplace(gapKey(conv, seq), now);
    return !fresh && now - it->second >= m_options.gapSettleMs;
}

// The messages read become segments after the watermark, one conditional put at a time
// (each continues the chain the one before it ended).
void SearchIndexer::writeSegments(const std::shared_ptr<CatchUp> &job)
{
    const qint64 now = nowMs();
    segments::Segment segment;
    segment.conv = job->conv;
    segment.firstSeq = job->known.watermark + 1;
    segment.firstTs = job->known.lastTs;
    qint64 expected = segment.firstSeq;
    qsizetype bytes = 0;
    bool blocked = false; // stopped before a gap that may still fill
    qsizetype used = 0;
    qint64 running = segment.firstTs; // times never go backwards along the chain
    for (const protocol::Message &message : std::as_const(job->messages)) {
        const bool gapBefore = message.seq > expected;
        if (gapBefore && !gapSettled(job->conv, expected, now)) {
            blocked = true;
            break;
        }
        segments::Line line = segments::lineOf(message);
        line.ts = std::max(line.ts, running);
        const qsizetype size = segments::lineBytes(line) + (gapBefore ? 16 : 0);
        if (!segment.lines.isEmpty() && bytes + size > segments::kMaxLinesBytes)
            break;
        if (gapBefore) {
            for (qint64 gap = expected; gap < message.seq; ++gap)
                segment.gaps.append(gap);
        }
        if (gapBefore) {
            for (qint64 gap = expected; gap < message.seq; ++gap)
                m_gapSeen.erase(gapKey(job->conv, gap));
        }
        running = line.ts;
        segment.lines.append(line);
        bytes += size;
        expected = message.seq + 1;
        ++used;
    }
    if (segment.lines.isEmpty()) {
        m_known[job->conv] = job->known;
        job->done(!blocked);
        return;
    }
    segment.lastSeq = segment.lines.last().seq;
    segment.lastTs = running;
    const bool rest = used < job->messages.size() && !blocked;
    const QJsonObject put {{u"TableName"_s, m_tables->names().search},
        {u"Item"_s, segments::itemOf(segment)},
        {u"ConditionExpression"_s, u"attribute_not_exists(#k)"_s},
        {u"ExpressionAttributeNames"_s, QJsonObject {{u"#k"_s, Key::UserBucket}}}};
    m_tables->write(
        u"PutItem"_s, put, [this, job, segment, used, rest, blocked](Result<bool> written) {
            if (!written) {
                m_known.erase(job->conv);
                job->done(written.error());
                return;
            }
            if (written.value()) { // another node wrote this part of the chain first
                m_known.erase(job->conv);
                if (++job->writeRounds >= kWriteRounds) {
                    job->done(false);
                    return;
                }
                readWatermark(job);
                return;
            }
            m_segmentsWritten.inc();
            m_messagesIndexed.inc(quint64(segment.lines.size()));
            job->known = Known {segment.lastSeq, segment.lastTs};
            m_known[job->conv] = job->known;
            if (m_known.size() > 100000)
                m_known.clear(); // a cache: a miss costs one read
            if (rest) {
                job->messages.remove(0, used);
                writeSegments(job);
            } else if (job->more && !blocked) {
                readMessages(job);
            } else {
                job->done(!blocked);
            }
        });
}

} // namespace parley::server::dynamo
