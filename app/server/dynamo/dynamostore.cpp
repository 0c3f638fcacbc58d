#include "dynamostore.h"

#include "dynamoaccounts.h"
#include "dynamobackfill.h"
#include "dynamoconversations.h"
#include "dynamoindexer.h"
#include "dynamosearch.h"
#include "dynamotables.h"
#include "logging.h"
#include "storethread.h"

#include <QDir>
#include <QEventLoop>
#include <QProcessEnvironment>
#include <QThread>

using namespace Qt::StringLiterals;

namespace parley::server {

struct DynamoStore::Parts
{
    dynamo::Accounts *accounts;
    dynamo::ConversationLog *conversations;
    dynamo::SearchIndex *search;
    dynamo::SearchIndexer *indexer;
    dynamo::SearchBackfill *backfill;
};

DynamoStore::DynamoStore(DynamoStoreOptions options, Metrics *metrics)
    : m_options(std::move(options))
    , m_metrics(metrics)
{
    m_healthDetail = u"not open"_s;
}

DynamoStore::~DynamoStore()
{
    close();
}

QString DynamoStore::description() const
{
    return m_endpoint + u", tables "_s + m_options.tablePrefix + u'*';
}

bool DynamoStore::open(QString *error)
{
    const auto fail = [&](const QString &message) {
        qCWarning(lcServerStore).noquote() << "cannot open the store:" << message;
        setHealth(false, message);
        if (error)
            *error = message;
        return false;
    };
    {
        QMutexLocker lock(&m_mutex);
        if (m_state != State::Closed)
            return true;
    }
    const auto resolved = aws::resolveAwsSettings(
        QProcessEnvironment::systemEnvironment(), QDir::homePath(), m_options.endpoint);
    if (const QString *problem = std::get_if<QString>(&resolved))
        return fail(*problem);
    const aws::AwsSettings &settings = std::get<aws::AwsSettings>(resolved);
    m_endpoint = settings.endpoint.toString();
    if (m_endpoint.endsWith(u'/'))
        m_endpoint.chop(1);

    if (const QString problem = startStoreThread(m_thread, u"parley-dynamo"_s,
            [this, settings](OpenedPromise opened) { serve(settings, opened); });
        !problem.isEmpty())
        return fail(problem);

    QMutexLocker lock(&m_mutex);
    m_state = State::Open;
    m_healthy = true;
    m_healthDetail = description();
    qCInfo(lcServerStore).noquote()
        << "store opened: DynamoDB at" << m_endpoint << "region" << settings.region << "tables"
        << m_options.tablePrefix + u'*' << "credentials from" << settings.credentialsSource;
    return true;
}

void DynamoStore::serve(
    const aws::AwsSettings &settings, std::shared_ptr<std::promise<QString>> opened)
{
    // Everything here lives on, and is used only from, this thread.
    aws::DynamoClient client(settings, m_metrics, m_options.retry);
    dynamo::Tables tables(
        &client, dynamo::TableNames(m_options.tablePrefix),
        [this](bool ok, const QString &detail) {
            if (ok)
                qCInfo(lcServerStore) << "DynamoDB answers again";
            setHealth(ok, ok ? description() : detail);
        },
        dynamo::Tables::Limits {m_options.maxRequestsInFlight, m_options.queueTimeoutMs},
        m_metrics);
    dynamo::Accounts accounts(&tables);
    dynamo::SearchIndex search(&tables, m_options.searchReadBudget);
    dynamo::SearchIndexer indexer(&tables, m_metrics,
        {m_options.searchIndexIntervalMs, m_options.nodeLeaseMs, m_options.gapSettleMs});
    dynamo::ConversationLog conversations(&tables, &indexer);
    dynamo::SearchBackfill backfill(
        &tables, &indexer, {m_options.backfillLeaseMs, m_options.backfillPageItems, 5000});
    Parts parts {&accounts, &conversations, &search, &indexer, &backfill};
    {
        QMutexLocker lock(&m_mutex);
        m_context = &client;
        m_parts = &parts;
    }

    QEventLoop loop;
    dynamo::prepareTables(&tables, m_options.createTables, [&](const QString &problem) {
        if (problem.isEmpty()) {
            {
                QMutexLocker lock(&m_mutex);
                m_background = 2; // close() waits for both to stop
                m_stoppingBackground = false;
            }
            indexer.start([&backfill] { backfill.restart(); });
            backfill.start();
        }
        opened->set_value(problem);
        if (!problem.isEmpty()) // queued: works even before exec() runs
            QMetaObject::invokeMethod(&loop, &QEventLoop::quit, Qt::QueuedConnection);
    });
    // close() ends this loop with QThread::quit() once every operation has called back.
    loop.exec();

    QMutexLocker lock(&m_mutex);
    m_context = nullptr;
    m_parts = nullptr;
}

void DynamoStore::close()
{
    {
        QMutexLocker lock(&m_mutex);
        if (m_state != State::Open)
            return;
        if (QThread::currentThread() == m_thread.get()) {
            qCWarning(lcServerStore) << "close() called from a store callback; ignored";
            return;
        }
        m_state = State::Closing; // from now on submit() refuses new work
        if (m_pending == 0)
            stopBackground();
    }
    m_thread->wait();
    m_thread.reset();
    QMutexLocker lock(&m_mutex);
    m_state = State::Closed;
    m_healthy = false;
    m_healthDetail = u"closed: "_s + description();
    qCDebug(lcServerStore).noquote() << "store closed:" << description();
}

StoreHealth DynamoStore::health() const
{
    QMutexLocker lock(&m_mutex);
    return StoreHealth {m_state == State::Open && m_healthy, u"dynamodb"_s, m_healthDetail};
}

void DynamoStore::setHealth(bool ok, const QString &detail)
{
    QMutexLocker lock(&m_mutex);
    m_healthy = ok;
    m_healthDetail = detail;
}

template<typename T>
void DynamoStore::submit(Callback<T> done, std::function<void(Parts &, Callback<T>)> work)
{
    if (!done)
        done = [](Result<T>) {}; // "exactly once" needs something to call
    QMutexLocker lock(&m_mutex);
    if (m_state != State::Open) {
        lock.unlock();
        done(StoreError {StoreError::Code::Unavailable, u"the store is not open"_s});
        return;
    }
    ++m_pending;
    Parts *parts = m_parts;
    QMetaObject::invokeMethod(
        m_context,
        [this, parts, done = std::move(done), work = std::move(work)] {
            work(*parts, [this, done](Result<T> result) {
                done(std::move(result));
                operationFinished();
            });
        },
        Qt::QueuedConnection);
}

void DynamoStore::operationFinished()
{
    QMutexLocker lock(&m_mutex);
    if (--m_pending == 0 && m_state == State::Closing)
        stopBackground();
}

// Every operation has called back, so every message stored is noted: the indexer
// indexes them before it stops (or leaves its lease for another node's sweep).
void DynamoStore::stopBackground()
{
    if (std::exchange(m_stoppingBackground, true))
        return;
    if (m_background == 0) {
        m_thread->quit();
        return;
    }
    const auto stopped = [this] {
        QMutexLocker lock(&m_mutex);
        if (--m_background == 0)
            m_thread->quit();
    };
    QMetaObject::invokeMethod(
        m_context,
        [parts = m_parts, stopped] {
            parts->indexer->stop(stopped);
            parts->backfill->stop(stopped);
        },
        Qt::QueuedConnection);
}

// ---- operations -----------------------------------------------------------------

void DynamoStore::createUser(const NewUser &user, Callback<Done> done)
{
    submit<Done>(std::move(done),
        [user](Parts &p, Callback<Done> finished) { p.accounts->createUser(user, finished); });
}

void DynamoStore::findUser(const QString &user, Callback<UserRecord> done)
{
    submit<UserRecord>(std::move(done),
        [user](Parts &p, Callback<UserRecord> finished) { p.accounts->findUser(user, finished); });
}

void DynamoStore::listUsers(const QString &prefix, int limit, Callback<QStringList> done)
{
    submit<QStringList>(std::move(done), [prefix, limit](Parts &p, Callback<QStringList> finished) {
        p.accounts->listUsers(prefix, limit, finished);
    });
}

void DynamoStore::createToken(const TokenRecord &token, Callback<Done> done)
{
    submit<Done>(std::move(done),
        [token](Parts &p, Callback<Done> finished) { p.accounts->createToken(token, finished); });
}

void DynamoStore::findToken(const QByteArray &tokenHash, qint64 now, Callback<TokenRecord> done)
{
    submit<TokenRecord>(
        std::move(done), [tokenHash, now](Parts &p, Callback<TokenRecord> finished) {
            p.accounts->findToken(tokenHash, now, finished);
        });
}

void DynamoStore::revokeToken(const QByteArray &tokenHash, Callback<Done> done)
{
    submit<Done>(std::move(done), [tokenHash](Parts &p, Callback<Done> finished) {
        p.accounts->revokeToken(tokenHash, finished);
    });
}

void DynamoStore::appendMessage(const SendRequest &send, Callback<StoredSend> done)
{
    submit<StoredSend>(std::move(done), [send](Parts &p, Callback<StoredSend> finished) {
        p.conversations->appendMessage(send, finished);
    });
}

void DynamoStore::updateReceipt(const ReceiptUpdate &update, Callback<ReceiptOutcome> done)
{
    submit<ReceiptOutcome>(std::move(done), [update](Parts &p, Callback<ReceiptOutcome> finished) {
        p.conversations->updateReceipt(update, finished);
    });
}

void DynamoStore::conversations(
    const QString &user, Callback<QList<protocol::ConversationSummary>> done)
{
    using Summaries = QList<protocol::ConversationSummary>;
    submit<Summaries>(std::move(done), [user](Parts &p, Callback<Summaries> finished) {
        p.accounts->conversations(user, finished);
    });
}

void DynamoStore::history(const HistoryQuery &query, Callback<HistorySlice> done)
{
    submit<HistorySlice>(std::move(done), [query](Parts &p, Callback<HistorySlice> finished) {
        p.conversations->history(query, finished);
    });
}

void DynamoStore::conversationPeers(const QString &user, Callback<QStringList> done)
{
    submit<QStringList>(std::move(done), [user](Parts &p, Callback<QStringList> finished) {
        p.accounts->conversationPeers(user, finished);
    });
}

void DynamoStore::setLastSeen(const QString &user, qint64 ts, Callback<Done> done)
{
    submit<Done>(std::move(done), [user, ts](Parts &p, Callback<Done> finished) {
        p.accounts->setLastSeen(user, ts, finished);
    });
}

void DynamoStore::lastSeen(const QStringList &users, Callback<QHash<QString, qint64>> done)
{
    using Seen = QHash<QString, qint64>;
    submit<Seen>(std::move(done),
        [users](Parts &p, Callback<Seen> finished) { p.accounts->lastSeen(users, finished); });
}

namespace {
StoreError groupsNotBuilt()
{
    return StoreError {StoreError::Code::Invalid,
        u"group conversations are not available on the DynamoDB store yet"_s};
}
} // namespace

void DynamoStore::createGroup(const NewGroup &, Callback<GroupOutcome> done)
{
    if (done)
        done(groupsNotBuilt());
}

void DynamoStore::changeGroup(const GroupChange &, Callback<GroupOutcome> done)
{
    if (done)
        done(groupsNotBuilt());
}

void DynamoStore::group(const QString &, const QString &, Callback<GroupState> done)
{
    if (done)
        done(groupsNotBuilt());
}

void DynamoStore::search(const SearchQuery &query, Callback<SearchPage> done)
{
    submit<SearchPage>(std::move(done),
        [query](Parts &p, Callback<SearchPage> finished) { p.search->search(query, finished); });
}

} // namespace parley::server
