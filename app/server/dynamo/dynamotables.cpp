#include "dynamotables.h"

#include "dynamoitem.h"
#include "logging.h"

#include <QDeadlineTimer>
#include <QJsonArray>
#include <QRandomGenerator>
#include <QTimer>

#include <algorithm>
#include <memory>

using namespace Qt::StringLiterals;

namespace parley::server::dynamo {

namespace {

constexpr qsizetype kBatchGetKeys = 100; // BatchGetItem's limit per request
constexpr int kUnprocessedRounds = 8;
constexpr int kTablePollMs = 500;
constexpr qint64 kTableWaitMs = 5 * 60 * 1000;

QString endpointOf(const Tables *tables)
{
    QString endpoint = tables->client()->settings().endpoint.toString();
    if (endpoint.endsWith(u'/'))
        endpoint.chop(1);
    return endpoint;
}

// "" when `table` (a DescribeTable answer) has the keys of `spec`, else what differs.
QString keyMismatch(const TableSpec &spec, const QJsonObject &table)
{
    QString hash, range;
    for (const QJsonValue &key : table.value(u"KeySchema"_s).toArray()) {
        const QJsonObject k = key.toObject();
        (k.value(u"KeyType"_s).toString() == u"HASH"_s ? hash : range)
            = k.value(u"AttributeName"_s).toString();
    }
    QString hashType, rangeType;
    for (const QJsonValue &definition : table.value(u"AttributeDefinitions"_s).toArray()) {
        const QJsonObject d = definition.toObject();
        const QString name = d.value(u"AttributeName"_s).toString();
        if (name == hash)
            hashType = d.value(u"AttributeType"_s).toString();
        else if (name == range)
            rangeType = d.value(u"AttributeType"_s).toString();
    }
    if (hash == spec.hashKey && hashType == spec.hashType && range == spec.rangeKey
        && rangeType == spec.rangeType)
        return {};
    QString expected = u"partition key %1 (%2)"_s.arg(spec.hashKey, spec.hashType);
    if (!spec.rangeKey.isEmpty())
        expected += u" and sort key %1 (%2)"_s.arg(spec.rangeKey, spec.rangeType);
    return u"DynamoDB table %1 exists with other keys; Parley expects %2"_s.arg(
        spec.name, expected);
}

QJsonObject createTableRequest(const TableSpec &spec)
{
    QJsonArray definitions {
        QJsonObject {{u"AttributeName"_s, spec.hashKey}, {u"AttributeType"_s, spec.hashType}}};
    QJsonArray schema {QJsonObject {{u"AttributeName"_s, spec.hashKey}, {u"KeyType"_s, u"HASH"_s}}};
    if (!spec.rangeKey.isEmpty()) {
        definitions.append(QJsonObject {
            {u"AttributeName"_s, spec.rangeKey}, {u"AttributeType"_s, spec.rangeType}});
        schema.append(
            QJsonObject {{u"AttributeName"_s, spec.rangeKey}, {u"KeyType"_s, u"RANGE"_s}});
    }
    return {{u"TableName"_s, spec.name}, {u"AttributeDefinitions"_s, definitions},
        {u"KeySchema"_s, schema}, {u"BillingMode"_s, u"PAY_PER_REQUEST"_s}};
}

// One table: describe, create if asked, poll until ACTIVE.
void prepareTable(Tables *tables, const TableSpec &spec, bool create, QDeadlineTimer deadline,
    std::function<void(QString)> done)
{
    const QJsonObject describe {{u"TableName"_s, spec.name}};
    tables->call(u"DescribeTable"_s, describe,
        [=](const QJsonObject &response, const aws::DynamoError *error) {
            const auto pollLater = [=] {
                if (deadline.hasExpired()) {
                    done(
                        u"DynamoDB table %1 did not become ACTIVE within %2 s"_s.arg(spec.name).arg(
                            kTableWaitMs / 1000));
                    return;
                }
                QTimer::singleShot(kTablePollMs, tables->client(),
                    [=] { prepareTable(tables, spec, create, deadline, done); });
            };
            if (!error) {
                const QJsonObject table = response.value(u"Table"_s).toObject();
                if (const QString mismatch = keyMismatch(spec, table); !mismatch.isEmpty()) {
                    done(mismatch);
                    return;
                }
                if (table.value(u"TableStatus"_s).toString() == u"ACTIVE"_s)
                    done({});
                else
                    pollLater();
                return;
            }
            if (error->type != u"ResourceNotFoundException"_s) {
                done(u"cannot reach DynamoDB at %1: %2 %3"_s.arg(
                    endpointOf(tables), error->type, error->message));
                return;
            }
            if (!create) {
                done(u"DynamoDB table %1 does not exist at %2; start once with --create-tables "
                     "to create Parley's tables"_s.arg(spec.name, endpointOf(tables)));
                return;
            }
            tables->call(u"CreateTable"_s, createTableRequest(spec),
                [=](const QJsonObject &, const aws::DynamoError *createError) {
                    // ResourceInUseException: another node created it first.
                    if (createError && createError->type != u"ResourceInUseException"_s) {
                        done(u"cannot create DynamoDB table %1: %2 %3"_s.arg(
                            spec.name, createError->type, createError->message));
                        return;
                    }
                    if (!createError)
                        qCInfo(lcServerDynamo).noquote() << "created table" << spec.name;
                    pollLater();
                });
        });
}

} // namespace

TableNames::TableNames(const QString &prefix)
    : users(prefix + u"users"_s)
    , directory(prefix + u"user_directory"_s)
    , tokens(prefix + u"tokens"_s)
    , conversations(prefix + u"conversations"_s)
    , memberships(prefix + u"user_conversations"_s)
    , messages(prefix + u"messages"_s)
    , sends(prefix + u"sends"_s)
    , search(prefix + u"search"_s)
{ }

QList<TableSpec> tableSpecs(const TableNames &names)
{
    return {
        {names.users, Key::User, u"S"_s, {}, {}},
        {names.directory, Key::Bucket, u"S"_s, Key::User, u"S"_s},
        {names.tokens, Key::TokenHash, u"B"_s, {}, {}},
        {names.conversations, Key::Conv, u"S"_s, {}, {}},
        {names.memberships, Key::User, u"S"_s, Key::Conv, u"S"_s},
        {names.messages, Key::Conv, u"S"_s, Key::Seq, u"N"_s},
        {names.sends, Key::SendId, u"S"_s, {}, {}},
        {names.search, Key::UserBucket, u"S"_s, Key::Position, u"S"_s},
    };
}

namespace {
// Message attributes (messages and sends items), besides the keys.
const QString From = u"from"_s;
const QString To = u"to"_s;
const QString Cid = u"cid"_s;
const QString Body = u"body"_s;
const QString Ts = u"ts"_s;
} // namespace

QJsonObject messageItem(const protocol::Message &m)
{
    return {{Key::Conv, string(m.conv)}, {Key::Seq, number(m.seq)}, {From, string(m.from)},
        {To, string(m.to)}, {Cid, string(m.cid)}, {Body, string(m.body)}, {Ts, number(m.ts)}};
}

protocol::Message messageOf(const QJsonObject &item)
{
    return protocol::Message {stringOf(item, Key::Conv), numberOf(item, Key::Seq),
        stringOf(item, From), stringOf(item, To), stringOf(item, Cid), stringOf(item, Body),
        numberOf(item, Ts)};
}

Tables::Tables(aws::DynamoClient *client, TableNames names, HealthReport health, Limits limits,
    Metrics *metrics)
    : m_client(client)
    , m_names(std::move(names))
    , m_health(std::move(health))
    , m_limits(limits)
    , m_inFlightGauge(metrics->gauge("parley_dynamodb_requests_in_flight",
          "DynamoDB requests handed to the HTTP client and not answered yet."))
    , m_queuedGauge(metrics->gauge("parley_dynamodb_requests_queued",
          "DynamoDB requests waiting for a free slot (at most maxInFlight are outstanding)."))
    , m_expired(metrics->counter("parley_dynamodb_requests_expired_total",
          "DynamoDB requests answered unavailable after waiting too long for a free slot."))
{
    m_expiry.setInterval(std::clamp(m_limits.queueTimeoutMs / 4, 10, 1000));
    QObject::connect(&m_expiry, &QTimer::timeout, m_client, [this] { expireQueued(); });
}

Tables::~Tables()
{
    // The store answers every operation before it closes, so nothing is left waiting.
    m_inFlightGauge.add(-m_inFlight);
    m_queuedGauge.add(-double(m_queued));
}

StoreError Tables::storeError(const QString &operation, const aws::DynamoError &error)
{
    // A request DynamoDB finds malformed is a bug; everything else (throttling after
    // retries, 5xx, network, credentials, a missing table) is the backend being unwell.
    const bool bug
        = error.type == u"ValidationException"_s || error.type == u"SerializationException"_s;
    return StoreError {bug ? StoreError::Code::Internal : StoreError::Code::Unavailable,
        u"DynamoDB %1 failed: %2 %3"_s.arg(operation, error.type, error.message).trimmed()};
}

void Tables::call(const QString &operation, const QJsonObject &request,
    aws::DynamoClient::Reply done, Priority priority)
{
    if (m_inFlight < m_limits.maxInFlight && m_queued == 0) {
        send(operation, request, std::move(done));
        return;
    }
    m_queues[std::size_t(priority)].push_back(
        Queued {operation, request, std::move(done), QDeadlineTimer(m_limits.queueTimeoutMs)});
    ++m_queued;
    m_queuedGauge.inc();
    if (!m_expiry.isActive())
        m_expiry.start();
}

void Tables::sendQueued()
{
    expireQueued();
    for (auto queue = m_queues.rbegin(); queue != m_queues.rend(); ++queue) {
        while (m_inFlight < m_limits.maxInFlight && !queue->empty()) {
            Queued next = std::move(queue->front());
            queue->pop_front();
            --m_queued;
            m_queuedGauge.dec();
            send(next.operation, next.request, std::move(next.done));
        }
    }
    if (m_queued == 0)
        m_expiry.stop();
}

void Tables::expireQueued()
{
    for (std::deque<Queued> &queue : m_queues) {
        while (!queue.empty() && queue.front().deadline.hasExpired()) {
            Queued expired = std::move(queue.front());
            queue.pop_front();
            --m_queued;
            m_queuedGauge.dec();
            m_expired.inc();
            const aws::DynamoError error {0, u"RequestQueueTimeout"_s,
                u"not sent: waited %1 ms for one of %2 request slots"_s.arg(m_limits.queueTimeoutMs)
                    .arg(m_limits.maxInFlight),
                true};
            expired.done({}, &error); // may call() again: the queues are consistent here
        }
    }
    if (m_queued == 0)
        m_expiry.stop();
}

void Tables::send(
    const QString &operation, const QJsonObject &request, aws::DynamoClient::Reply done)
{
    ++m_inFlight;
    m_inFlightGauge.inc();
    m_client->call(operation, request,
        [this, operation, done = std::move(done)](
            const QJsonObject &response, const aws::DynamoError *error) {
            --m_inFlight;
            m_inFlightGauge.dec();
            // The freed slot goes to the oldest queued request before `done` can submit
            // new ones: first come, first served, so nothing waits forever.
            sendQueued();
            const bool unwell = error && !error->isConditionFailed()
                && storeError(operation, *error).code == StoreError::Code::Unavailable
                && error->type != u"ResourceNotFoundException"_s;
            if (unwell && m_healthy) {
                m_healthy = false;
                m_health(false, storeError(operation, *error).message);
            } else if (!error && !m_healthy) {
                m_healthy = true;
                m_health(true, {});
            }
            done(response, error);
        });
}

void Tables::getItem(
    const QString &table, const QJsonObject &key, Done<std::optional<QJsonObject>> done)
{
    call(u"GetItem"_s, {{u"TableName"_s, table}, {u"Key"_s, key}, {u"ConsistentRead"_s, true}},
        [done = std::move(done)](const QJsonObject &response, const aws::DynamoError *error) {
            if (error)
                done(storeError(u"GetItem"_s, *error));
            else if (response.contains(u"Item"_s))
                done(std::optional<QJsonObject>(response.value(u"Item"_s).toObject()));
            else
                done(std::optional<QJsonObject>());
        });
}

void Tables::write(
    const QString &operation, const QJsonObject &request, std::function<void(Result<bool>)> done)
{
    call(operation, request,
        [operation, done = std::move(done)](const QJsonObject &, const aws::DynamoError *error) {
            if (!error)
                done(false);
            else if (error->isConditionFailed())
                done(true);
            else
                done(storeError(operation, *error));
        });
}

void Tables::queryAll(const QJsonObject &request, qint64 maxItems, Done<QList<QJsonObject>> done)
{
    QJsonObject first = request;
    first.insert(u"ConsistentRead"_s, true);
    queryPage(std::move(first), maxItems, {}, std::move(done));
}

void Tables::queryPage(
    QJsonObject request, qint64 maxItems, QList<QJsonObject> items, Done<QList<QJsonObject>> done)
{
    if (maxItems > 0)
        request.insert(u"Limit"_s, maxItems - items.size());
    call(u"Query"_s, request,
        [this, request, maxItems, items = std::move(items), done = std::move(done)](
            const QJsonObject &response, const aws::DynamoError *error) mutable {
            if (error) {
                done(storeError(u"Query"_s, *error));
                return;
            }
            for (const QJsonValue &item : response.value(u"Items"_s).toArray())
                items.append(item.toObject());
            // A page stops at 1 MB or at Limit; LastEvaluatedKey says there is more.
            const QJsonObject next = response.value(u"LastEvaluatedKey"_s).toObject();
            if (next.isEmpty() || (maxItems > 0 && items.size() >= maxItems)) {
                done(std::move(items));
                return;
            }
            request.insert(u"ExclusiveStartKey"_s, next);
            queryPage(std::move(request), maxItems, std::move(items), std::move(done));
        });
}

void Tables::batchGet(
    const QString &table, const QList<QJsonObject> &keys, Done<QList<QJsonObject>> done)
{
    batchGetChunk(table, keys, {}, 0, std::move(done));
}

void Tables::batchGetChunk(const QString &table, QList<QJsonObject> pending,
    QList<QJsonObject> items, int unprocessedRounds, Done<QList<QJsonObject>> done)
{
    if (pending.isEmpty()) {
        done(std::move(items));
        return;
    }
    const qsizetype count = std::min(pending.size(), kBatchGetKeys);
    QJsonArray keys;
    for (qsizetype i = 0; i < count; ++i)
        keys.append(pending.at(i));
    pending.remove(0, count);
    const QJsonObject request {{u"RequestItems"_s,
        QJsonObject {{table, QJsonObject {{u"Keys"_s, keys}, {u"ConsistentRead"_s, true}}}}}};
    call(u"BatchGetItem"_s, request,
        [this, table, pending = std::move(pending), items = std::move(items), unprocessedRounds,
            done = std::move(done)](
            const QJsonObject &response, const aws::DynamoError *error) mutable {
            if (error) {
                done(storeError(u"BatchGetItem"_s, *error));
                return;
            }
            for (const QJsonValue &item :
                response.value(u"Responses"_s).toObject().value(table).toArray())
                items.append(item.toObject());
            // Keys DynamoDB did not get to (throttling, 16 MB) go again after a pause.
            const QJsonArray unprocessed = response.value(u"UnprocessedKeys"_s)
                                               .toObject()
                                               .value(table)
                                               .toObject()
                                               .value(u"Keys"_s)
                                               .toArray();
            if (unprocessed.isEmpty()) {
                batchGetChunk(table, std::move(pending), std::move(items), 0, std::move(done));
                return;
            }
            if (unprocessedRounds >= kUnprocessedRounds) {
                done(StoreError {StoreError::Code::Unavailable,
                    u"DynamoDB BatchGetItem left keys unprocessed; the table is throttled"_s});
                return;
            }
            for (const QJsonValue &key : unprocessed)
                pending.prepend(key.toObject());
            const qint64 ceiling = std::min<qint64>(1000, 25LL << unprocessedRounds);
            QTimer::singleShot(int(QRandomGenerator::global()->bounded(ceiling + 1)), m_client,
                [this, table, pending = std::move(pending), items = std::move(items),
                    unprocessedRounds, done = std::move(done)]() mutable {
                    batchGetChunk(table, std::move(pending), std::move(items),
                        unprocessedRounds + 1, std::move(done));
                });
        });
}

void prepareTables(Tables *tables, bool create, std::function<void(QString)> done)
{
    struct Progress
    {
        qsizetype remaining = 0;
        QString problem;
        std::function<void(QString)> done;
    };
    const QList<TableSpec> specs = tableSpecs(tables->names());
    auto progress = std::make_shared<Progress>(Progress {specs.size(), {}, std::move(done)});
    const QDeadlineTimer deadline(kTableWaitMs);
    for (const TableSpec &spec : specs) {
        prepareTable(tables, spec, create, deadline, [progress](const QString &problem) {
            if (progress->problem.isEmpty())
                progress->problem = problem;
            if (--progress->remaining == 0)
                progress->done(progress->problem);
        });
    }
}

} // namespace parley::server::dynamo
