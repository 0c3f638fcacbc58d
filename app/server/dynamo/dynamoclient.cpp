#include "dynamoclient.h"

#include "logging.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QTimer>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace parley::server::aws {

namespace {

constexpr QByteArrayView kContentType = "application/x-amz-json-1.0";
constexpr QByteArrayView kTargetPrefix = "DynamoDB_20120810.";

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
    attempt(operation, QJsonDocument(request).toJson(QJsonDocument::Compact), std::move(done), 1);
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
