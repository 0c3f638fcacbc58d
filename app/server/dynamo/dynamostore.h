// DynamoStore: the Store seam on DynamoDB's JSON API (real or local, e.g. dynalite), for
// nodes that share their data. Table design, the append algorithm without transactions
// and what a crash between its steps leaves: docs/dynamodb.md.
//
// A store-owned thread runs an event loop with the HTTP client (keep-alive connections,
// several requests in flight). Public methods only post work to it; callbacks run on it.
// Operations on one conversation complete in submission order (so appends complete in
// seq order and the fan-out keeps `msg` frames in seq order); everything else runs
// concurrently and completes in whatever order DynamoDB answers.
#pragma once

#include "awsconfig.h"
#include "dynamoclient.h"
#include "store.h"

#include <QMutex>
#include <QString>

#include <future>
#include <memory>

QT_BEGIN_NAMESPACE
class QObject;
class QThread;
QT_END_NAMESPACE

namespace parley::server {

class Metrics;

namespace dynamo {
class Accounts;
class ConversationLog;
} // namespace dynamo

struct DynamoStoreOptions
{
    QString endpoint; // --dynamodb-endpoint; empty: AWS_ENDPOINT_URL_DYNAMODB, ..., the region's
    QString tablePrefix = QStringLiteral("parley_");
    bool createTables = false; // create missing tables at open() and wait until ACTIVE
    aws::RetryPolicy retry;
    // Requests handed to the HTTP client at once; the rest wait in the store, where they
    // also coalesce into larger batches, and fail as unavailable after queueTimeoutMs.
    int maxRequestsInFlight = 64;
    int queueTimeoutMs = 25000;
    // Index lines one search request examines per conversation and round before it
    // answers with what it has found and a cursor (docs/dynamodb.md, Search).
    int searchReadBudget = 1000;
    // The search index, written off the append path (dynamoindexer.h): how long new
    // messages gather before they are indexed, how long a silent node counts as alive,
    // and how old a missing seq must be before the index passes it as a failed append.
    int searchIndexIntervalMs = 1000;
    int nodeLeaseMs = 60000;
    int gapSettleMs = 60000;
    // The sweep over every conversation (after an upgrade or a node's death): how long
    // one node's claim on the work holds without progress, and conversations per page.
    int backfillLeaseMs = 60000;
    int backfillPageItems = 100;
};

class DynamoStore final : public Store
{
public:
    DynamoStore(DynamoStoreOptions options, Metrics *metrics);
    ~DynamoStore() override; // close()
    Q_DISABLE_COPY_MOVE(DynamoStore)

    // Resolves region, credentials and endpoint from the environment and ~/.aws, then
    // checks (or with createTables, creates) the tables. Blocks until done. Then indexes
    // for search in the background: new messages, and whatever a sweep finds unindexed.
    bool open(QString *error) override;
    // Finishes every submitted operation, then indexes what is pending and stops the
    // sweep, then stops the thread.
    // Operations submitted while closed fail with Unavailable, synchronously on the caller's
    // thread.
    void close() override;
    StoreHealth health() const override;

    void createUser(const NewUser &user, Callback<Done> done) override;
    void findUser(const QString &user, Callback<UserRecord> done) override;
    void listUsers(const QString &prefix, int limit, Callback<QStringList> done) override;

    void createToken(const TokenRecord &token, Callback<Done> done) override;
    void findToken(const QByteArray &tokenHash, qint64 now, Callback<TokenRecord> done) override;
    void revokeToken(const QByteArray &tokenHash, Callback<Done> done) override;

    void appendMessage(const SendRequest &send, Callback<StoredSend> done) override;
    void updateReceipt(const ReceiptUpdate &update, Callback<ReceiptOutcome> done) override;
    void conversations(
        const QString &user, Callback<QList<protocol::ConversationSummary>> done) override;
    void history(const HistoryQuery &query, Callback<HistorySlice> done) override;
    void conversationPeers(const QString &user, Callback<QStringList> done) override;
    void search(const SearchQuery &query, Callback<SearchPage> done) override;
    // Not built on DynamoDB yet (docs/groups.md §4 has the design): Invalid.
    void createGroup(const NewGroup &group, Callback<GroupOutcome> done) override;
    void changeGroup(const GroupChange &change, Callback<GroupOutcome> done) override;
    void group(const QString &conv, const QString &user, Callback<GroupState> done) override;

    void setLastSeen(const QString &user, qint64 ts, Callback<Done> done) override;
    void lastSeen(const QStringList &users, Callback<QHash<QString, qint64>> done) override;

private:
    enum class State { Closed, Open, Closing };
    struct Parts; // the store thread's objects

    void serve(const aws::AwsSettings &settings, std::shared_ptr<std::promise<QString>> opened);
    template<typename T>
    void submit(Callback<T> done, std::function<void(Parts &, Callback<T>)> work);
    void operationFinished();
    void stopBackground(); // m_mutex held; once every operation has called back
    void setHealth(bool ok, const QString &detail);
    QString description() const;

    const DynamoStoreOptions m_options;
    Metrics *const m_metrics;
    std::unique_ptr<QThread> m_thread; // created by open(), joined by close()
    QString m_endpoint; // resolved at open(), for health and logs

    mutable QMutex m_mutex; // guards everything below
    State m_state = State::Closed;
    QObject *m_context = nullptr; // lives on the store thread while open
    Parts *m_parts = nullptr; // used on the store thread only
    qint64 m_pending = 0; // submitted operations not yet called back
    int m_background = 0; // the indexer and the sweep, until they have stopped
    bool m_stoppingBackground = false;
    bool m_healthy = false;
    QString m_healthDetail;
};

} // namespace parley::server
