#include "dynamoclient.h"

#include "logging.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QTimer>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace parley::server::aws {

namespace {

constexpr QByteArrayView kContentType = "application/x-amz-json-1.0";
constexpr QByteArrayView kTargetPrefix = "DynamoDB_20120810.";
const QString kReturnConsumedCapacity = u"ReturnConsumedCapacity"_s;

// Error types that mean "slow down or try again", whatever their HTTP status.
bool isRetryableType(const QString &type)
{
    static const QStringList types {u"ProvisionedThroughputExceededException"_s,
        u"ThrottlingException"_s, u"RequestLimitExceeded"_s, u"InternalServerError"_s,
        u"ServiceUnavailable"_s};
    return types.contains(type);
}

bool isThrottling(const QString &type)
{
    return type == u"ProvisionedThroughputExceededException"_s || type == u"ThrottlingException"_s
        || type == u"RequestLimitExceeded"_s;
}

// "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException" -> the part after '#'.
DynamoError parseError(int httpStatus, const QByteArray &payload)
{
    DynamoError error;
    error.httpStatus = httpStatus;
    const QJsonObject body = QJsonDocument::fromJson(payload).object();
    const QString type = body.value(u"__type"_s).toString();
    error.type = type.mid(type.lastIndexOf(u'#') + 1);
    error.message = body.contains(u"message"_s) ? body.value(u"message"_s).toString()
                                                : body.value(u"Message"_s).toString();
    if (error.message.isEmpty() && error.type.isEmpty())
        error.message = u"HTTP %1"_s.arg(httpStatus);
    error.retryable = httpStatus >= 500 || isRetryableType(error.type);
    return error;
}

// The bounded label values of parley_dynamodb_requests_total{outcome}.
QByteArrayView outcomeOf(const DynamoError &error)
{
    if (error.httpStatus == 0)
        return "network_error";
    if (error.isConditionFailed())
        return "condition_failed";
    if (isThrottling(error.type))
        return "throttled";
    if (error.httpStatus >= 500 || error.retryable)
        return "server_error";
    return "client_error";
}

} // namespace

DynamoClient::DynamoClient(
    AwsSettings settings, Metrics *metrics, RetryPolicy retry, QObject *parent)
    : QObject(parent)
    , m_settings(std::move(settings))
    , m_metrics(metrics)
    , m_retry(retry)
{
    if (m_settings.endpoint.path().isEmpty())
        m_settings.endpoint.setPath(u"/"_s);
    m_path = m_settings.endpoint.toEncoded(
        QUrl::RemoveScheme | QUrl::RemoveAuthority | QUrl::RemoveFragment);
    HttpLimits limits;
    limits.timeoutMs = m_retry.timeoutMs;
    m_http = new HttpPipeline(m_settings.endpoint, limits, this);
}

// The pipeline is a child: destroyed with this object, it calls back no more.
DynamoClient::~DynamoClient() = default;

void DynamoClient::call(const QString &operation, const QJsonObject &request, Reply done)
{
    ++m_inFlight;
    const Capacity kind = operation == u"GetItem"_s || operation == u"BatchGetItem"_s
            || operation == u"Query"_s || operation == u"Scan"_s
        ? Capacity::Read
        : operation == u"PutItem"_s || operation == u"UpdateItem"_s || operation == u"DeleteItem"_s
            || operation == u"BatchWriteItem"_s
        ? Capacity::Write
        : Capacity::None;
    if (kind == Capacity::None) {
        attempt(
            operation, QJsonDocument(request).toJson(QJsonDocument::Compact), std::move(done), 1);
        return;
    }
    QJsonObject accounted = request;
    if (!accounted.contains(kReturnConsumedCapacity))
        accounted.insert(kReturnConsumedCapacity, u"TOTAL"_s);
    ItemsByTable written;
    if (operation == u"BatchWriteItem"_s) {
        const QJsonObject tables = request.value(u"RequestItems"_s).toObject();
        for (auto it = tables.constBegin(); it != tables.constEnd(); ++it)
            written.append({it.key(), it.value().toArray().size()});
    } else if (kind == Capacity::Write) {
        written.append({request.value(u"TableName"_s).toString(), 1});
    }
    attempt(
        operation, QJsonDocument(accounted).toJson(QJsonDocument::Compact),
        [this, kind, written = std::move(written), done = std::move(done)](
            const QJsonObject &response, const DynamoError *error) {
            if (!error)
                account(kind, written, response);
            done(response, error);
        },
        1);
}

void DynamoClient::account(Capacity kind, const ItemsByTable &written, const QJsonObject &response)
{
    const auto addEntry = [this, kind](const QJsonValue &value) {
        const QJsonObject entry = value.toObject();
        const QString table = entry.value(u"TableName"_s).toString();
        const QJsonValue read = entry.value(u"ReadCapacityUnits"_s);
        const QJsonValue write = entry.value(u"WriteCapacityUnits"_s);
        if (read.isDouble() || write.isDouble()) { // DynamoDB's split, where it gives one
            if (read.isDouble())
                capacityUnits(table, "read").add(read.toDouble());
            if (write.isDouble())
                capacityUnits(table, "write").add(write.toDouble());
            return;
        }
        const QJsonValue units = entry.value(u"CapacityUnits"_s);
        if (units.isDouble())
            capacityUnits(table, kind == Capacity::Read ? "read" : "write").add(units.toDouble());
    };
    const QJsonValue consumed = response.value(u"ConsumedCapacity"_s);
    if (consumed.isArray()) {
        for (const QJsonValue &entry : consumed.toArray())
            addEntry(entry);
    } else if (consumed.isObject()) {
        addEntry(consumed);
    }

    if (written.isEmpty())
        return;
    const QJsonObject unprocessed = response.value(u"UnprocessedItems"_s).toObject();
    for (const auto &[table, items] : written) {
        const qint64 stored = items - unprocessed.value(table).toArray().size();
        if (stored > 0)
            itemsWritten(table).inc(quint64(stored));
    }
}

void DynamoClient::attempt(const QString &operation, QByteArray body, Reply done, int attemptNo)
{
    const QByteArray target = kTargetPrefix.toByteArray() + operation.toLatin1();
    QList<Header> headers {{"Content-Type", kContentType.toByteArray()}, {"X-Amz-Target", target}};
    const Signature signature = sign(SigningRequest {"POST", m_settings.endpoint, headers, body},
        m_settings.credentials, m_settings.region, u"dynamodb"_s, QDateTime::currentDateTimeUtc());
    headers += signature.headers;

    QElapsedTimer clock;
    clock.start();
    const QByteArray payload = body; // shared, not copied: kept for a retry
    m_http->post(m_path, headers, payload,
        [this, operation, body = std::move(body), done = std::move(done), attemptNo, clock](
            HttpResult result) mutable {
            latency(operation).observe(double(clock.nsecsElapsed()) / 1e9);

            DynamoError error;
            if (result.response.status == 200) {
                QJsonParseError parse;
                const QJsonDocument document
                    = QJsonDocument::fromJson(result.response.body, &parse);
                if (parse.error == QJsonParseError::NoError && document.isObject()) {
                    requests(operation, "ok").inc();
                    --m_inFlight;
                    done(document.object(), nullptr);
                    return;
                }
                error = DynamoError {200, u"SerializationException"_s,
                    u"unreadable response: "_s + parse.errorString(), false};
            } else if (result.ok()) {
                error = parseError(result.response.status, result.response.body);
            } else {
                error = DynamoError {
                    0, result.timedOut ? u"Timeout"_s : u"NetworkError"_s, result.error, true};
            }
            const QByteArrayView outcome = outcomeOf(error);
            requests(operation, outcome).inc();

            if (error.retryable && attemptNo < m_retry.maxAttempts) {
                const QByteArrayView reason
                    = error.type == u"Timeout"_s ? QByteArrayView("timeout") : outcome;
                retries(operation, reason).inc();
                // Capped exponential backoff with full jitter: uniform in [0, ceiling].
                const qint64 ceiling
                    = std::min(m_retry.capMs, m_retry.baseMs << std::min(attemptNo - 1, 30));
                const int delay = int(QRandomGenerator::global()->bounded(ceiling + 1));
                qCDebug(lcServerDynamo).noquote()
                    << operation << "attempt" << attemptNo << "failed:" << error.type
                    << error.message << "- retrying in" << delay << "ms";
                QTimer::singleShot(delay, this,
                    [this, operation, body = std::move(body), done = std::move(done),
                        attemptNo]() mutable {
                        attempt(operation, std::move(body), std::move(done), attemptNo + 1);
                    });
                return;
            }
            // Giving up on what should have worked is worth a warning; a 4xx answer is
            // the caller's to judge (a failed condition, a missing table at start-up).
            if (error.retryable)
                qCWarning(lcServerDynamo).noquote()
                    << operation << "failed after" << attemptNo << "attempts:"
                    << (error.httpStatus ? u"HTTP %1"_s.arg(error.httpStatus) : u"network"_s)
                    << error.type << error.message;
            else
                qCDebug(lcServerDynamo).noquote()
                    << operation << "answered HTTP" << error.httpStatus << error.type
                    << error.message;
            --m_inFlight;
            done({}, &error);
        });
}

Counter &DynamoClient::requests(const QString &operation, QByteArrayView outcome)
{
    const QString key = u"requests/"_s + operation + u'/' + QLatin1StringView(outcome);
    Counter *&counter = m_counters[key];
    if (!counter)
        counter = &m_metrics->counter("parley_dynamodb_requests_total",
            "DynamoDB HTTP requests (each attempt), by operation and outcome.",
            {{"operation", operation.toUtf8()}, {"outcome", outcome.toByteArray()}});
    return *counter;
}

Counter &DynamoClient::retries(const QString &operation, QByteArrayView reason)
{
    const QString key = u"retries/"_s + operation + u'/' + QLatin1StringView(reason);
    Counter *&counter = m_counters[key];
    if (!counter)
        counter = &m_metrics->counter("parley_dynamodb_retries_total",
            "DynamoDB requests retried after throttling, 5xx, network errors or timeouts.",
            {{"operation", operation.toUtf8()}, {"reason", reason.toByteArray()}});
    return *counter;
}

FloatCounter &DynamoClient::capacityUnits(const QString &table, QByteArrayView kind)
{
    const QString key = table + u'/' + QLatin1StringView(kind);
    FloatCounter *&counter = m_capacity[key];
    if (!counter)
        counter = &m_metrics->floatCounter("parley_dynamodb_capacity_units_total",
            "DynamoDB capacity units consumed as DynamoDB reports them (ReturnConsumedCapacity), "
            "by table and kind (read or write).",
            {{"table", table.toUtf8()}, {"kind", kind.toByteArray()}});
    return *counter;
}

Counter &DynamoClient::itemsWritten(const QString &table)
{
    const QString key = u"items/"_s + table;
    Counter *&counter = m_counters[key];
    if (!counter)
        counter = &m_metrics->counter("parley_dynamodb_items_written_total",
            "DynamoDB items put, updated or deleted, by table (a batch's unprocessed items "
            "left out).",
            {{"table", table.toUtf8()}});
    return *counter;
}

Histogram &DynamoClient::latency(const QString &operation)
{
    Histogram *&histogram = m_latencies[operation];
    if (!histogram)
        histogram = &m_metrics->histogram("parley_dynamodb_request_seconds",
            "Duration of one DynamoDB HTTP request (each attempt), by operation.",
            Metrics::LatencyBuckets, {{"operation", operation.toUtf8()}});
    return *histogram;
}

} // namespace parley::server::aws
