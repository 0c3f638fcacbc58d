// Writes the search index (dynamosearch.h) off the append path. Store thread only;
// docs/dynamodb.md, section "Search".
//
// Appends tell the indexer which conversations got new messages (noteStored, once the
// message item is confirmed; the ack does not wait for the index). Every `intervalMs`
// the indexer catches those conversations up: it reads the conversation's newest
// segment (its watermark; cached after this node's own writes), the stored messages
// after it, and writes them as new segments with a condition on their keys. So one
// segment carries all of a conversation's messages of an interval: a short message
// costs a fraction of a write unit, not an item per word.
//
// Nothing durable records the "dirty" set: the messages table and the segments are the
// record. A message whose seq is above its conversation's watermark is unindexed, and
// the query reads those itself. What a node that dies leaves unindexed is found by a
// sweep over every conversation (SearchBackfill): each node keeps a lease item in the
// search table ("#nodes", its id), renewed while it runs and deleted after a clean stop
// that indexed everything; another node that finds a lease run out deletes it and
// starts the sweep. A clean stop that could not catch some conversations up (a gap
// another node's append still holds open) lists them in its lease instead, and the node
// that finds it catches up only those.
//
// Gaps. A missing seq below a present one is an append still in flight, or a seq whose
// append failed for good. The indexer stops before it until it has seen it missing for
// `gapSettleMs` (by its own clock), then records it in the segment's gaps. A message written later
// into a recorded gap (a resend finishing an interrupted send) is noted like any other
// and patched into its segment.
#pragma once

#include "dynamosearch.h"
#include "dynamotables.h"
#include "metrics.h"

#include <QObject>
#include <QSet>
#include <QString>
#include <QTimer>

#include <functional>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace parley::server::dynamo {

class SearchIndexer
{
public:
    struct Options
    {
        int intervalMs = 1000; // how long new messages gather before they are indexed
        int nodeLeaseMs = 60000; // a node silent this long is taken for dead
        int gapSettleMs = 60000; // a gap this old is an append that failed for good
        int concurrency = 16; // conversations caught up at once
        int pageMessages = 200; // messages read per request while catching up
    };

    SearchIndexer(Tables *tables, Metrics *metrics, Options options);
    ~SearchIndexer();
    Q_DISABLE_COPY_MOVE(SearchIndexer)

    // Registers this node and starts watching the others; `nodeLost` runs when another
    // node's lease ran out (its unindexed messages need the sweep).
    void start(std::function<void()> nodeLost);
    // Indexes what is pending, then removes this node's lease if nothing was left
    // behind; `stopped` runs once.
    void stop(std::function<void()> stopped);

    // A message item is stored (the original append, or a late repair).
    void noteStored(const protocol::Message &message);
    // Indexes `conv` up to its newest stored message: true once caught up, false when
    // it stopped before a gap that is not settled yet.
    void catchUp(const QString &conv, std::function<void(Result<bool>)> done);
    // Catches `conv` up in the next cycles (the sweep found a gap still open).
    void retryLater(const QString &conv);

    QString nodeId() const { return m_nodeId; }

private:
    struct Pending
    {
        qint64 oldestTs = 0; // the oldest unindexed message noted
        // The lowest seq of a message stored late (it may be in a gap below the
        // watermark); max: none.
        qint64 minSeq = std::numeric_limits<qint64>::max();
    };
    struct Known
    {
        qint64 watermark = 0;
        qint64 lastTs = 0;
    };
    struct CatchUp;

    void cycle();
    void finishCycle();
    void runNext();
    void readWatermark(const std::shared_ptr<CatchUp> &job);
    void patchLate(const std::shared_ptr<CatchUp> &job);
    void readPatchPage(const std::shared_ptr<CatchUp> &job, QJsonObject startKey,
        QList<segments::Segment> withGaps);
    void writePatches(
        const std::shared_ptr<CatchUp> &job, const QList<segments::Segment> &withGaps);
    void readMessages(const std::shared_ptr<CatchUp> &job);
    void writeSegments(const std::shared_ptr<CatchUp> &job);
    static QString gapKey(const QString &conv, qint64 seq);
    bool gapSettled(const QString &conv, qint64 seq, qint64 now);
    void renewLease();
    void watchNodes();
    void updateGauges();

    Tables *m_tables;
    const Options m_options;
    const QString m_nodeId;
    std::unordered_map<QString, Pending> m_pending; // noted, not taken by a cycle yet
    std::unordered_map<QString, Pending> m_working; // taken by the running cycle
    QList<QString> m_queue; // of the running cycle, not started yet
    int m_active = 0; // catch-ups of the running cycle in flight
    bool m_cycling = false;
    bool m_stopping = false;
    bool m_leftBehind = false; // stop: something unknown may be unindexed (a sweep)
    QSet<QString> m_handOver; // stop: conversations not caught up, listed in the lease
    bool m_registered = false; // this node's lease item was put
    std::unordered_map<QString, Known> m_known; // after this node's own segment writes
    std::unordered_map<QString, qint64> m_gapSeen; // "<conv>#<seq>" -> first seen missing
    std::function<void()> m_nodeLost;
    std::function<void()> m_stopped;
    QTimer m_interval;
    QTimer m_lease;
    QTimer m_watch;
    QTimer m_gauges; // the lag grows between cycles too
    Gauge &m_pendingGauge;
    Gauge &m_lagGauge;
    Counter &m_segmentsWritten;
    Counter &m_messagesIndexed;
    QObject m_context;
};

} // namespace parley::server::dynamo
