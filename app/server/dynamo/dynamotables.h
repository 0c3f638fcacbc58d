// Parley's DynamoDB tables (names, keys; docs/dynamodb.md) and the requests DynamoStore
// builds on: single-item reads, paged queries and batched reads, each turning DynamoDB's
// errors into StoreErrors and keeping the store's health up to date. Every request goes
// through a gate that bounds how many the store has outstanding: the rest wait in a
// queue here, where no timeout runs, instead of inside the HTTP client. Used only on
// the store thread.
#pragma once

#include "dynamoclient.h"
#include "frames.h"
#include "result.h"

#include <QDeadlineTimer>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <array>
#include <deque>
#include <functional>
#include <optional>

namespace parley::server::dynamo {

// Key attribute names, shared by the schema and the item shapes.
namespace Key {
inline const QString User = QStringLiteral("user");
inline const QString Bucket = QStringLiteral("bucket");
inline const QString TokenHash = QStringLiteral("tokenHash");
inline const QString Conv = QStringLiteral("conv");
inline const QString Seq = QStringLiteral("seq");
inline const QString SendId = QStringLiteral("sendId"); // "<from>#<cid>"
inline const QString UserBucket = QStringLiteral("userBucket"); // search: "<user>#<bucket>"
inline const QString Position = QStringLiteral("position"); // search: "<ts>#<conv>#<seq>"
} // namespace Key

// Attributes other code shares: of a conversation item, and of a membership item.
namespace Attr {
inline const QString UserA = QStringLiteral("userA"); // the member whose name sorts first
inline const QString UserB = QStringLiteral("userB");
inline const QString LastSeq = QStringLiteral("lastSeq");
inline const QString LastTs = QStringLiteral("lastTs");
inline const QString SeqWriter = QStringLiteral("seqWriter"); // random id of the last claim
inline const QString ADelivered = QStringLiteral("aDelivered");
inline const QString ARead = QStringLiteral("aRead");
inline const QString BDelivered = QStringLiteral("bDelivered");
inline const QString BRead = QStringLiteral("bRead");
inline const QString Peer = QStringLiteral("peer"); // membership: the other member
} // namespace Attr

struct TableNames
{
    explicit TableNames(const QString &prefix);
    QString users; // user -> password hash, created, last seen
    QString directory; // (first letter, user): the user list in name order
    QString tokens; // token hash -> user, device, expires, revoked
    QString conversations; // conv -> members, lastSeq, lastTs, receipts
    QString memberships; // (user, conv) -> peer
    QString messages; // (conv, seq) -> the message
    QString sends; // "<from>#<cid>" -> the message: the idempotency record of a send
    QString search; // (user and word start, position) -> a message's words (dynamosearch.h)
};

struct TableSpec
{
    QString name;
    QString hashKey;
    QString hashType; // "S", "N", "B"
    QString rangeKey; // empty: no sort key
    QString rangeType;
};
QList<TableSpec> tableSpecs(const TableNames &names);

// A message as the messages table holds it (the sends item adds its sendId).
QJsonObject messageItem(const protocol::Message &message);
protocol::Message messageOf(const QJsonObject &item);

class Tables
{
public:
    using HealthReport = std::function<void(bool ok, const QString &detail)>;
    template<typename T> using Done = std::function<void(Result<T>)>;

    // Which queued request gets a free slot first: work that finishes an append before
    // work that starts one, so acks keep flowing under load instead of every append
    // finishing its first step before any finishes its last.
    enum class Priority { Starting, Normal, Finishing };
    struct Limits
    {
        int maxInFlight = 64; // requests handed to the client at once
        int queueTimeoutMs = 25000; // a request not sent by then fails as unavailable
    };

    Tables(aws::DynamoClient *client, TableNames names, HealthReport health, Limits limits,
        Metrics *metrics);
    ~Tables();
    Q_DISABLE_COPY_MOVE(Tables)

    const TableNames &names() const { return m_names; }
    aws::DynamoClient *client() const { return m_client; }

    // A raw request; error is null on success. Errors that mean the backend is unwell
    // (after the client's retries) mark the store unhealthy, any success heals it.
    // Requests beyond maxInFlight wait for a free slot, by priority, then in submission
    // order; one that waits longer than queueTimeoutMs is answered with a retryable
    // "RequestQueueTimeout" without being sent (its client would have given up by then).
    void call(const QString &operation, const QJsonObject &request, aws::DynamoClient::Reply done,
        Priority priority = Priority::Normal);

    // Strongly consistent GetItem: nullopt when there is no such item.
    void getItem(
        const QString &table, const QJsonObject &key, Done<std::optional<QJsonObject>> done);
    // PutItem/UpdateItem/... whose only interesting answer is success or failure;
    // a failed condition is reported as `conditionFailed` instead of an error.
    void write(const QString &operation, const QJsonObject &request,
        std::function<void(Result<bool /*conditionFailed*/>)> done);
    // Query pages (consistent reads) following LastEvaluatedKey until `maxItems` items
    // (0: all) or the end.
    void queryAll(const QJsonObject &request, qint64 maxItems, Done<QList<QJsonObject>> done);
    // BatchGetItem (consistent) in chunks of 100 keys, retrying UnprocessedKeys with
    // backoff. Keys must be distinct. Items come back in no particular order.
    void batchGet(
        const QString &table, const QList<QJsonObject> &keys, Done<QList<QJsonObject>> done);

    static StoreError storeError(const QString &operation, const aws::DynamoError &error);

private:
    struct Queued
    {
        QString operation;
        QJsonObject request;
        aws::DynamoClient::Reply done;
        QDeadlineTimer deadline;
    };
    void send(const QString &operation, const QJsonObject &request, aws::DynamoClient::Reply done);
    void sendQueued();
    void expireQueued();
    void queryPage(QJsonObject request, qint64 maxItems, QList<QJsonObject> items,
        Done<QList<QJsonObject>> done);
    void batchGetChunk(const QString &table, QList<QJsonObject> pending, QList<QJsonObject> items,
        int unprocessedRounds, Done<QList<QJsonObject>> done);

    aws::DynamoClient *m_client;
    TableNames m_names;
    HealthReport m_health;
    bool m_healthy = true;
    const Limits m_limits;
    int m_inFlight = 0;
    // By priority, each in submission order, so deadlines expire from the fronts.
    std::array<std::deque<Queued>, 3> m_queues;
    qsizetype m_queued = 0;
    QTimer m_expiry; // runs while the queue is not empty
    Gauge &m_inFlightGauge;
    Gauge &m_queuedGauge;
    Counter &m_expired;
};

// Checks that every table exists with the expected keys and is ACTIVE; with `create`,
// creates the missing ones (PAY_PER_REQUEST) and waits until they are ACTIVE. `done`
// gets an empty string on success, else a one-line reason.
void prepareTables(Tables *tables, bool create, std::function<void(QString problem)> done);

} // namespace parley::server::dynamo
