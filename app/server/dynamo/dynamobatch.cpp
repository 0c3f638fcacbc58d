#include "dynamobatch.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QSet>
#include <QTimer>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace parley::server::dynamo {

namespace {

constexpr qsizetype kGetLimit = 100; // BatchGetItem: keys per request
constexpr qsizetype kPutLimit = 25; // BatchWriteItem: items per request
constexpr int kUnprocessedRounds = 8; // then the item's callers get `unavailable`
constexpr qint64 kBackoffBaseMs = 25;
constexpr qint64 kBackoffCapMs = 1000;

} // namespace

Batcher::Batcher(Tables *tables, Kind kind, QString table, QStringList keyNames, int maxOutstanding,
    Full full, Tables::Priority priority)
    : m_tables(tables)
    , m_kind(kind)
    , m_table(std::move(table))
    , m_keyNames(std::move(keyNames))
    , m_maxOutstanding(std::max(1, maxOutstanding))
    , m_full(full)
    , m_priority(priority)
    , m_batchLimit(kind == Kind::Get ? kGetLimit : kPutLimit)
{ }

Batcher::~Batcher() = default;

// The item's key attributes as compact JSON: QJsonObject sorts its keys, so equal keys
// give equal bytes.
QByteArray Batcher::idOf(const QJsonObject &item) const
{
    QJsonObject key;
    for (const QString &name : m_keyNames)
        key.insert(name, item.value(name));
    return QJsonDocument(key).toJson(QJsonDocument::Compact);
}

void Batcher::submit(const QJsonObject &item, Answer done)
{
    const QByteArray id = idOf(item);
    if (const auto waiting = m_pending.find(id); waiting != m_pending.end()) {
        waiting->waiters.append(std::move(done));
        return;
    }
    m_pending.insert(id, Entry {item, {std::move(done)}, 0});
    m_order.append(id);
    schedule();
}

// Queued behind the events already posted, so everything submitted in this turn of the
// event loop (appends arrive as a burst of posted events) can share a batch.
void Batcher::schedule()
{
    if (m_scheduled)
        return;
    m_scheduled = true;
    QMetaObject::invokeMethod(
        &m_context,
        [this] {
            m_scheduled = false;
            flush();
        },
        Qt::QueuedConnection);
}

void Batcher::flush()
{
    while (!m_order.isEmpty()
        && (m_outstanding < m_maxOutstanding
            || (m_full == Full::Leaves && m_order.size() >= m_batchLimit))) {
        Batch batch;
        const qsizetype count = std::min(m_order.size(), m_batchLimit);
        for (qsizetype i = 0; i < count; ++i) {
            const QByteArray &id = m_order.at(i);
            batch.append({id, m_pending.take(id)});
        }
        m_order.remove(0, count);
        send(std::move(batch));
    }
}

void Batcher::send(Batch batch)
{
    ++m_outstanding;
    QJsonArray entries;
    for (const auto &[id, entry] : batch) {
        if (m_kind == Kind::Get)
            entries.append(entry.item);
        else
            entries.append(QJsonObject {{u"PutRequest"_s, QJsonObject {{u"Item"_s, entry.item}}}});
    }
    const QJsonObject tableRequest = m_kind == Kind::Get
        ? QJsonObject {{m_table, QJsonObject {{u"Keys"_s, entries}, {u"ConsistentRead"_s, true}}}}
        : QJsonObject {{m_table, entries}};
    const QString operation = m_kind == Kind::Get ? u"BatchGetItem"_s : u"BatchWriteItem"_s;
    m_tables->call(
        operation, {{u"RequestItems"_s, tableRequest}},
        [this, operation, batch = std::move(batch)](
            const QJsonObject &response, const aws::DynamoError *error) mutable {
            --m_outstanding;
            if (error) {
                // The client has retried what can be retried: every item shares the fate.
                const StoreError failure = Tables::storeError(operation, *error);
                for (const auto &[id, entry] : batch) {
                    for (const Answer &waiter : entry.waiters)
                        waiter(failure);
                }
            } else {
                settle(std::move(batch), response);
            }
            flush();
        },
        m_priority);
}

void Batcher::settle(Batch batch, const QJsonObject &response)
{
    QHash<QByteArray, QJsonObject> found; // Get: the items that exist
    QSet<QByteArray> unprocessed;
    if (m_kind == Kind::Get) {
        for (const QJsonValue &item :
            response.value(u"Responses"_s).toObject().value(m_table).toArray())
            found.insert(idOf(item.toObject()), item.toObject());
        const QJsonArray keys = response.value(u"UnprocessedKeys"_s)
                                    .toObject()
                                    .value(m_table)
                                    .toObject()
                                    .value(u"Keys"_s)
                                    .toArray();
        for (const QJsonValue &key : keys)
            unprocessed.insert(idOf(key.toObject()));
    } else {
        const QJsonArray requests
            = response.value(u"UnprocessedItems"_s).toObject().value(m_table).toArray();
        for (const QJsonValue &request : requests) {
            unprocessed.insert(idOf(
                request.toObject().value(u"PutRequest"_s).toObject().value(u"Item"_s).toObject()));
        }
    }

    Batch again;
    int rounds = 0;
    for (auto &[id, entry] : batch) {
        if (unprocessed.contains(id)) {
            if (++entry.rounds < kUnprocessedRounds) {
                rounds = std::max(rounds, entry.rounds);
                again.append({id, std::move(entry)});
                continue;
            }
            const StoreError failure {StoreError::Code::Unavailable,
                u"DynamoDB left an item of %1 unprocessed %2 times; the table is throttled"_s
                    .arg(m_table)
                    .arg(kUnprocessedRounds)};
            for (const Answer &waiter : entry.waiters)
                waiter(failure);
            continue;
        }
        const auto item = found.constFind(id);
        const std::optional<QJsonObject> answer
            = item == found.constEnd() ? std::nullopt : std::optional<QJsonObject>(*item);
        for (const Answer &waiter : entry.waiters)
            waiter(answer);
    }
    if (again.isEmpty())
        return;
    // Capped exponential backoff with full jitter, as the client does for whole requests.
    const qint64 ceiling = std::min(kBackoffCapMs, kBackoffBaseMs << (rounds - 1));
    QTimer::singleShot(int(QRandomGenerator::global()->bounded(ceiling + 1)), &m_context,
        [this, again = std::move(again)]() mutable { requeue(std::move(again)); });
}

// Unprocessed items go before everything that arrived after them.
void Batcher::requeue(Batch entries)
{
    for (qsizetype i = entries.size() - 1; i >= 0; --i) {
        auto &[id, entry] = entries[i];
        if (const auto waiting = m_pending.find(id); waiting != m_pending.end()) {
            entry.waiters.append(waiting->waiters);
            m_order.removeOne(id);
        }
        m_pending.insert(id, std::move(entry));
        m_order.prepend(id);
    }
    flush();
}

} // namespace parley::server::dynamo
