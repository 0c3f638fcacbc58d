// Parley's DynamoDB tables (names, keys; docs/dynamodb.md) and the requests DynamoStore
// builds on: single-item reads, paged queries and batched reads, each turning DynamoDB's
// errors into StoreErrors and keeping the store's health up to date. Used only on the
// store thread.
#pragma once

#include "dynamoclient.h"
#include "result.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

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

class Tables
{
public:
    using HealthReport = std::function<void(bool ok, const QString &detail)>;
    template<typename T> using Done = std::function<void(Result<T>)>;

    Tables(aws::DynamoClient *client, TableNames names, HealthReport health);

    const TableNames &names() const { return m_names; }
    aws::DynamoClient *client() const { return m_client; }

    // A raw request; error is null on success. Errors that mean the backend is unwell
    // (after the client's retries) mark the store unhealthy, any success heals it.
    void call(const QString &operation, const QJsonObject &request, aws::DynamoClient::Reply done);

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
    void queryPage(QJsonObject request, qint64 maxItems, QList<QJsonObject> items,
        Done<QList<QJsonObject>> done);
    void batchGetChunk(const QString &table, QList<QJsonObject> pending, QList<QJsonObject> items,
        int unprocessedRounds, Done<QList<QJsonObject>> done);

    aws::DynamoClient *m_client;
    TableNames m_names;
    HealthReport m_health;
    bool m_healthy = true;
};

// Checks that every table exists with the expected keys and is ACTIVE; with `create`,
// creates the missing ones (PAY_PER_REQUEST) and waits until they are ACTIVE. `done`
// gets an empty string on success, else a one-line reason.
void prepareTables(Tables *tables, bool create, std::function<void(QString problem)> done);

} // namespace parley::server::dynamo
