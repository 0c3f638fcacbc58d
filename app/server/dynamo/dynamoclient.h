// DynamoDB's JSON API over HTTP(S) with SigV4: one HttpPipeline on the store's thread
// (keep-alive connections with requests pipelined on each), retries with capped
// exponential backoff and full jitter on throttling, 5xx and network errors, a bounded
// number of attempts, per-operation metrics and the capacity DynamoDB reports consumed.
// No AWS SDK is packaged for Debian.
#pragma once

#include "awsconfig.h"
#include "httppipeline.h"
#include "metrics.h"

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QString>

#include <functional>
#include <memory>
#include <utility>

namespace parley::server::aws {

struct DynamoError
{
    int httpStatus = 0; // 0: no HTTP answer (network error, timeout)
    QString type; // "ConditionalCheckFailedException", "ResourceNotFoundException", ...
    QString message;
    bool retryable = false; // throttling, 5xx, network: retried before it reaches you
    bool isConditionFailed() const
    {
        return type == QLatin1String("ConditionalCheckFailedException");
    }
};

struct RetryPolicy
{
    int maxAttempts = 6;
    qint64 baseMs = 25;
    qint64 capMs = 2000;
    int timeoutMs = 10000; // per attempt, from when its request is written
};

class DynamoClient : public QObject
{
    Q_OBJECT
public:
    // Lives on (and must be used from) the thread that creates it.
    DynamoClient(
        AwsSettings settings, Metrics *metrics, RetryPolicy retry = {}, QObject *parent = nullptr);
    ~DynamoClient() override;

    using Reply = std::function<void(const QJsonObject &response, const DynamoError *error)>;
    // operation: "PutItem", "Query", ... (X-Amz-Target: DynamoDB_20120810.<operation>).
    // `done` runs once on this thread: error is null on success.
    //
    // Capacity accounting: for PutItem, UpdateItem, DeleteItem, BatchWriteItem, GetItem,
    // BatchGetItem, Query and Scan the request asks for "ReturnConsumedCapacity": "TOTAL"
    // unless it says otherwise, and a successful answer's ConsumedCapacity (an object, or
    // an array for the batches) is added to
    //   parley_dynamodb_capacity_units_total{table, kind="read"|"write"}
    // (ReadCapacityUnits / WriteCapacityUnits where the answer has them, else CapacityUnits
    // as the operation's kind). Items written are counted in
    //   parley_dynamodb_items_written_total{table}
    // one per successful PutItem, UpdateItem or DeleteItem, and a BatchWriteItem's items
    // less those it answers as UnprocessedItems. Failed requests (a failed condition
    // included, which DynamoDB bills too) only show in parley_dynamodb_requests_total.
    void call(const QString &operation, const QJsonObject &request, Reply done);

    int inFlight() const { return m_inFlight; }
    const AwsSettings &settings() const { return m_settings; }

private:
    // Which capacity an operation's plain CapacityUnits are; None: not accounted.
    enum class Capacity { None, Read, Write };
    // Items a write request stores, by table, before its answer's UnprocessedItems.
    using ItemsByTable = QList<std::pair<QString, qint64>>;

    void attempt(const QString &operation, QByteArray body, Reply done, int attemptNo);
    void account(Capacity kind, const ItemsByTable &written, const QJsonObject &response);
    Counter &requests(const QString &operation, QByteArrayView outcome);
    Counter &retries(const QString &operation, QByteArrayView reason);
    Histogram &latency(const QString &operation);
    FloatCounter &capacityUnits(const QString &table, QByteArrayView kind);
    Counter &itemsWritten(const QString &table);

    AwsSettings m_settings;
    Metrics *m_metrics;
    RetryPolicy m_retry;
    QByteArray m_path; // the endpoint's path, "/" for DynamoDB
    HttpPipeline *m_http;
    int m_inFlight = 0;
    // Metric series by "operation/label", so the registry lock is taken once per series.
    QHash<QString, Counter *> m_counters;
    QHash<QString, Histogram *> m_latencies;
    QHash<QString, FloatCounter *> m_capacity;
};

} // namespace parley::server::aws
