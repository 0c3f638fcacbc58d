// Single-item requests of one table coalesced into DynamoDB's batch operations, for the
// hot path of appends: consistent reads into BatchGetItem (100 keys per request) and
// unconditional puts into BatchWriteItem (25 items per request). Store thread only.
//
// A batch leaves at the end of the event-loop turn in which its first item arrived,
// unless `maxOutstanding` batches of this batcher are already on their way: then items
// gather until one of those comes back, or (with Full::Leaves) until a batch is full.
// Under light load nothing waits; under load batches fill up by themselves. With
// Full::Waits the cap holds for full batches too, which bounds the items this batcher
// has in DynamoDB at once. Items DynamoDB leaves unprocessed (UnprocessedKeys,
// UnprocessedItems: throttling, size limits) go again with capped exponential backoff
// and full jitter. Every caller is answered exactly once, and a put only after DynamoDB
// has confirmed that very item.
#pragma once

#include "dynamotables.h"

#include <QByteArray>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

namespace parley::server::dynamo {

class Batcher
{
public:
    enum class Kind { Get, Put };
    enum class Full { Leaves, Waits };
    using Answer = std::function<void(Result<std::optional<QJsonObject>>)>;

    Batcher(Tables *tables, Kind kind, QString table, QStringList keyNames, int maxOutstanding,
        Full full, Tables::Priority priority);
    ~Batcher();
    Q_DISABLE_COPY_MOVE(Batcher)

    // Get: `item` is a key; the answer is the item, or nullopt when there is none.
    // Put: `item` is a whole item; the answer is nullopt once it is written. Two puts of
    // one key waiting together are written once (callers put equal items under a key).
    void submit(const QJsonObject &item, Answer done);

private:
    struct Entry
    {
        QJsonObject item;
        QList<Answer> waiters;
        int rounds = 0; // times DynamoDB left it unprocessed
    };
    using Batch = QList<std::pair<QByteArray, Entry>>;

    QByteArray idOf(const QJsonObject &item) const;
    void schedule();
    void flush();
    void send(Batch batch);
    void settle(Batch batch, const QJsonObject &response);
    void requeue(Batch entries);

    Tables *m_tables;
    const Kind m_kind;
    const QString m_table;
    const QStringList m_keyNames;
    const int m_maxOutstanding;
    const Full m_full;
    const Tables::Priority m_priority;
    const qsizetype m_batchLimit;
    QHash<QByteArray, Entry> m_pending; // by key, so a repeated key joins its entry
    QList<QByteArray> m_order; // pending keys, oldest first
    int m_outstanding = 0; // batches sent and not answered yet
    bool m_scheduled = false;
    QObject m_context; // owns the end-of-turn flush and the backoff timers
};

} // namespace parley::server::dynamo
