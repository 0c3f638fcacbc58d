#include "dynamobackfill.h"

#include "dynamoitem.h"
#include "logging.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>

using namespace Qt::StringLiterals;

namespace parley::server::dynamo {

namespace {

// The marker: partition "#backfill" cannot be "<user>#<bucket>" (user names are not
// empty). The layout before segments had its own marker, ("#backfill", "messages").
const QString MarkerPartition = u"#backfill"_s;
const QString MarkerPosition = u"segments"_s;
const QString Generation = u"gen"_s; // counts the sweeps asked for
const QString State = u"state"_s; // "running" or "done"
const QString Owner = u"owner"_s; // the claim of the node at work
const QString LeaseUntil = u"leaseUntil"_s; // ms since the epoch
const QString LastKey = u"lastKey"_s; // the Scan's LastEvaluatedKey as JSON; absent: start
const QString Running = u"running"_s;
const QString Done = u"done"_s;

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

} // namespace

SearchBackfill::SearchBackfill(Tables *tables, SearchIndexer *indexer, Options options)
    : m_tables(tables)
    , m_indexer(indexer)
    , m_options(options)
    , m_owner(QString::number(QRandomGenerator::global()->generate64(), 36))
{
    m_pause.setSingleShot(true);
    QObject::connect(&m_pause, &QTimer::timeout, &m_context, [this] {
        if (m_stopping)
            idle();
        else
            m_next();
    });
}

SearchBackfill::~SearchBackfill() = default;

QJsonObject SearchBackfill::markerKey() const
{
    return {{Key::UserBucket, string(MarkerPartition)}, {Key::Position, string(MarkerPosition)}};
}

void SearchBackfill::start()
{
    readMarker();
}

void SearchBackfill::stop(std::function<void()> stopped)
{
    m_stopping = true;
    m_stopped = std::move(stopped);
    m_pause.stop();
    if (!m_busy)
        idle();
}

// Nothing in flight: after stop(), the caller hears it; otherwise the work waits for a
// restart().
void SearchBackfill::idle()
{
    m_busy = false;
    if (m_stopping) {
        if (auto stopped = std::exchange(m_stopped, nullptr))
            stopped();
        return;
    }
    if (std::exchange(m_restartWanted, false))
        restart();
}

void SearchBackfill::retryLater(std::function<void()> step, int delayMs)
{
    m_busy = false;
    m_next = std::move(step);
    m_pause.start(delayMs);
}

void SearchBackfill::restart()
{
    if (m_stopping)
        return;
    if (m_busy) {
        m_restartWanted = true;
        return;
    }
    m_pause.stop();
    const QJsonObject request {{u"TableName"_s, m_tables->names().search}, {u"Key"_s, markerKey()},
        {u"UpdateExpression"_s, u"SET #s = :running ADD #g :one REMOVE #last"_s},
        {u"ExpressionAttributeNames"_s,
            QJsonObject {{u"#s"_s, State}, {u"#g"_s, Generation}, {u"#last"_s, LastKey}}},
        {u"ExpressionAttributeValues"_s,
            QJsonObject {{u":running"_s, string(Running)}, {u":one"_s, number(1)}}}};
    m_busy = true;
    m_tables->write(u"UpdateItem"_s, request, [this](Result<bool> written) {
        m_busy = false;
        if (m_stopping) {
            idle();
            return;
        }
        if (!written) {
            retryLater([this] { restart(); }, m_options.retryMs);
            return;
        }
        readMarker();
    });
}

// A finished marker ends the work; a live claim of another node means waiting for it.
void SearchBackfill::readMarker()
{
    m_busy = true;
    m_tables->getItem(
        m_tables->names().search, markerKey(), [this](Result<std::optional<QJsonObject>> found) {
            m_busy = false;
            if (m_stopping || m_restartWanted) {
                idle();
                return;
            }
            if (!found) {
                qCWarning(lcServerDynamo).noquote()
                    << "search sweep: cannot read its progress:" << found.error().message;
                retryLater([this] { readMarker(); }, m_options.retryMs);
                return;
            }
            const QJsonObject marker = found.value().value_or(QJsonObject());
            if (stringOf(marker, State) == Done) {
                qCDebug(lcServerDynamo) << "search sweep: every conversation is indexed";
                idle();
                return;
            }
            const qint64 leaseLeft = numberOf(marker, LeaseUntil) - nowMs();
            if (!marker.isEmpty() && stringOf(marker, Owner) != m_owner && leaseLeft > 0) {
                retryLater([this] { readMarker(); },
                    int(std::min<qint64>(leaseLeft + 100, m_options.leaseMs)));
                return;
            }
            claim(marker);
        });
}

// Takes the work over (new, or left by a node whose lease ran out) and resumes after the
// last page that node saved.
void SearchBackfill::claim(const QJsonObject &marker)
{
    const qint64 generation = numberOf(marker, Generation);
    QString condition = u"attribute_not_exists(#k) OR (#s <> :done AND (#o = :me OR #l < :now)"_s;
    QJsonObject names {
        {u"#o"_s, Owner}, {u"#l"_s, LeaseUntil}, {u"#s"_s, State}, {u"#k"_s, Key::UserBucket}};
    QJsonObject values {{u":me"_s, string(m_owner)},
        {u":until"_s, number(nowMs() + m_options.leaseMs)}, {u":running"_s, string(Running)},
        {u":done"_s, string(Done)}, {u":now"_s, number(nowMs())}};
    if (!marker.isEmpty()) { // the sweep read, not a newer one
        condition += generation == 0 ? u" AND (attribute_not_exists(#g) OR #g = :g)"_s
                                     : u" AND #g = :g"_s;
        names.insert(u"#g"_s, Generation);
        values.insert(u":g"_s, number(generation));
    }
    condition += u')';
    const QJsonObject request {{u"TableName"_s, m_tables->names().search}, {u"Key"_s, markerKey()},
        {u"UpdateExpression"_s, u"SET #o = :me, #l = :until, #s = :running"_s},
        {u"ConditionExpression"_s, condition}, {u"ExpressionAttributeNames"_s, names},
        {u"ExpressionAttributeValues"_s, values}};
    m_busy = true;
    m_tables->write(u"UpdateItem"_s, request, [this, marker, generation](Result<bool> written) {
        m_busy = false;
        if (m_stopping || m_restartWanted) {
            idle();
            return;
        }
        if (!written) {
            retryLater([this] { readMarker(); }, m_options.retryMs);
            return;
        }
        if (written.value()) { // another node claimed it or finished first
            readMarker();
            return;
        }
        m_generation = generation;
        const QString last = stringOf(marker, LastKey);
        const QJsonObject startKey = QJsonDocument::fromJson(last.toUtf8()).object();
        qCInfo(lcServerDynamo).noquote()
            << (last.isEmpty() ? "search sweep: catching every conversation's index up"
                               : "search sweep: resuming after the last saved page");
        scanPage(startKey);
    });
}

void SearchBackfill::scanPage(const QJsonObject &startKey)
{
    QJsonObject request {{u"TableName"_s, m_tables->names().conversations},
        {u"Limit"_s, m_options.pageItems}, {u"ConsistentRead"_s, true},
        {u"ProjectionExpression"_s, u"#c"_s},
        {u"ExpressionAttributeNames"_s, QJsonObject {{u"#c"_s, Key::Conv}}}};
    if (!startKey.isEmpty())
        request.insert(u"ExclusiveStartKey"_s, startKey);
    m_busy = true;
    m_tables->call(
        u"Scan"_s, request,
        [this, startKey](const QJsonObject &response, const aws::DynamoError *error) {
            const auto again = [this, startKey] {
                if (m_stopping || m_restartWanted)
                    idle();
                else
                    retryLater([this, startKey] { scanPage(startKey); }, m_options.retryMs);
            };
            if (error) {
                qCWarning(lcServerDynamo).noquote()
                    << "search sweep: Scan failed:"
                    << Tables::storeError(u"Scan"_s, *error).message;
                again();
                return;
            }
            const QJsonArray conversations = response.value(u"Items"_s).toArray();
            const QJsonObject nextKey = response.value(u"LastEvaluatedKey"_s).toObject();
            struct Page
            {
                qsizetype remaining;
                std::optional<StoreError> failure;
            };
            auto page = std::make_shared<Page>(Page {conversations.size() + 1, {}});
            const auto oneDone = [this, page, again, nextKey, count = conversations.size()](
                                     std::optional<StoreError> e) {
                if (e && !page->failure)
                    page->failure = e;
                if (--page->remaining > 0)
                    return;
                if (page->failure) {
                    qCWarning(lcServerDynamo).noquote()
                        << "search sweep: indexing failed:" << page->failure->message;
                    again();
                    return;
                }
                m_busy = false;
                qCDebug(lcServerDynamo) << "search sweep: caught up" << count << "conversations";
                if (m_stopping || m_restartWanted)
                    idle();
                else
                    saveProgress(nextKey);
            };
            for (const QJsonValue &item : conversations) {
                const QString conv = stringOf(item.toObject(), Key::Conv);
                m_indexer->catchUp(conv, [this, conv, oneDone](Result<bool> caughtUp) {
                    if (!caughtUp) {
                        oneDone(caughtUp.error());
                        return;
                    }
                    if (!caughtUp.value()) // a gap still open: the indexer keeps trying
                        m_indexer->retryLater(conv);
                    oneDone(std::nullopt);
                });
            }
            oneDone(std::nullopt);
        },
        Tables::Priority::Starting);
}

// Moves the marker past the page just indexed and renews the lease; only while the
// claim is still this node's and nobody asked for a new sweep.
void SearchBackfill::saveProgress(const QJsonObject &nextKey)
{
    const bool done = nextKey.isEmpty();
    QJsonObject values {{u":me"_s, string(m_owner)},
        {u":until"_s, number(nowMs() + m_options.leaseMs)},
        {u":state"_s, string(done ? Done : Running)}, {u":g"_s, number(m_generation)}};
    QString update = u"SET #l = :until, #s = :state"_s;
    if (done) {
        update += u" REMOVE #last"_s;
    } else {
        update += u", #last = :last"_s;
        values.insert(u":last"_s,
            string(QString::fromUtf8(QJsonDocument(nextKey).toJson(QJsonDocument::Compact))));
    }
    const QString condition = m_generation == 0
        ? u"#o = :me AND (attribute_not_exists(#g) OR #g = :g)"_s
        : u"#o = :me AND #g = :g"_s;
    const QJsonObject request {{u"TableName"_s, m_tables->names().search}, {u"Key"_s, markerKey()},
        {u"UpdateExpression"_s, update}, {u"ConditionExpression"_s, condition},
        {u"ExpressionAttributeNames"_s,
            QJsonObject {{u"#o"_s, Owner}, {u"#l"_s, LeaseUntil}, {u"#s"_s, State},
                {u"#last"_s, LastKey}, {u"#g"_s, Generation}}},
        {u"ExpressionAttributeValues"_s, values}};
    m_busy = true;
    m_tables->write(u"UpdateItem"_s, request, [this, nextKey, done](Result<bool> written) {
        m_busy = false;
        if (m_stopping || m_restartWanted) {
            idle();
            return;
        }
        if (!written) {
            retryLater([this, nextKey] { saveProgress(nextKey); }, m_options.retryMs);
            return;
        }
        if (written.value()) { // the lease ran out and another node took over, or a new sweep
            qCInfo(lcServerDynamo) << "search sweep: the work moved on; reading its progress";
            readMarker();
            return;
        }
        if (done) {
            qCInfo(lcServerDynamo) << "search sweep: every conversation is indexed";
            idle();
            return;
        }
        scanPage(nextKey);
    });
}

} // namespace parley::server::dynamo
