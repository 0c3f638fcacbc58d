#include "dynamobackfill.h"

#include "dynamoitem.h"
#include "dynamosearch.h"
#include "logging.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>

using namespace Qt::StringLiterals;

namespace parley::server::dynamo {

namespace {

constexpr int kWriteBatchesOutstanding = 2;

// The marker: partition "#backfill" cannot be "<user>#<bucket>" (user names are not empty).
const QString MarkerPartition = u"#backfill"_s;
const QString MarkerPosition = u"messages"_s;
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

SearchBackfill::SearchBackfill(Tables *tables, Options options)
    : m_tables(tables)
    , m_options(options)
    , m_writes(tables, Batcher::Kind::Put, tables->names().search, {Key::UserBucket, Key::Position},
          kWriteBatchesOutstanding, Batcher::Full::Waits, Tables::Priority::Starting)
    , m_owner(QString::number(QRandomGenerator::global()->generate64(), 36))
{
    m_pause.setSingleShot(true);
    QObject::connect(&m_pause, &QTimer::timeout, &m_context, [this] {
        if (m_stopping)
            finish();
        else
            m_next();
    });
}

SearchBackfill::~SearchBackfill() = default;

QJsonObject SearchBackfill::markerKey() const
{
    return {{Key::UserBucket, string(MarkerPartition)}, {Key::Position, string(MarkerPosition)}};
}

void SearchBackfill::start(std::function<void()> finished)
{
    m_finished = std::move(finished);
    readMarker();
}

void SearchBackfill::stop()
{
    m_stopping = true;
    if (!m_busy) {
        m_pause.stop();
        finish();
    }
}

void SearchBackfill::finish()
{
    if (auto finished = std::exchange(m_finished, nullptr))
        finished();
}

void SearchBackfill::retryLater(std::function<void()> step, int delayMs)
{
    m_next = std::move(step);
    m_pause.start(delayMs);
}

// A finished marker ends the work; a live claim of another node means waiting for it.
void SearchBackfill::readMarker()
{
    m_busy = true;
    m_tables->getItem(
        m_tables->names().search, markerKey(), [this](Result<std::optional<QJsonObject>> found) {
            m_busy = false;
            if (m_stopping) {
                finish();
                return;
            }
            if (!found) {
                qCWarning(lcServerDynamo).noquote()
                    << "search backfill: cannot read its progress:" << found.error().message;
                retryLater([this] { readMarker(); }, m_options.retryMs);
                return;
            }
            const QJsonObject marker = found.value().value_or(QJsonObject());
            if (stringOf(marker, State) == Done) {
                qCDebug(lcServerDynamo) << "search backfill: every message is indexed";
                finish();
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
    const QJsonObject request {{u"TableName"_s, m_tables->names().search}, {u"Key"_s, markerKey()},
        {u"UpdateExpression"_s, u"SET #o = :me, #l = :until, #s = :running"_s},
        {u"ConditionExpression"_s,
            u"attribute_not_exists(#k) OR (#s <> :done AND (#o = :me OR #l < :now))"_s},
        {u"ExpressionAttributeNames"_s,
            QJsonObject {{u"#o"_s, Owner}, {u"#l"_s, LeaseUntil}, {u"#s"_s, State},
                {u"#k"_s, Key::UserBucket}}},
        {u"ExpressionAttributeValues"_s,
            QJsonObject {{u":me"_s, string(m_owner)},
                {u":until"_s, number(nowMs() + m_options.leaseMs)},
                {u":running"_s, string(Running)}, {u":done"_s, string(Done)},
                {u":now"_s, number(nowMs())}}}};
    m_busy = true;
    m_tables->write(u"UpdateItem"_s, request, [this, marker](Result<bool> written) {
        m_busy = false;
        if (m_stopping) {
            finish();
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
        const QString last = stringOf(marker, LastKey);
        const QJsonObject startKey = QJsonDocument::fromJson(last.toUtf8()).object();
        qCInfo(lcServerDynamo).noquote()
            << (last.isEmpty() ? "search backfill: indexing the messages stored before the index"
                               : "search backfill: resuming after the last saved page");
        scanPage(startKey);
    });
}

void SearchBackfill::scanPage(const QJsonObject &startKey)
{
    QJsonObject request {{u"TableName"_s, m_tables->names().messages},
        {u"Limit"_s, m_options.pageItems}, {u"ConsistentRead"_s, true}};
    if (!startKey.isEmpty())
        request.insert(u"ExclusiveStartKey"_s, startKey);
    m_busy = true;
    m_tables->call(
        u"Scan"_s, request,
        [this, startKey](const QJsonObject &response, const aws::DynamoError *error) {
            const auto again = [this, startKey] {
                m_busy = false;
                if (m_stopping)
                    finish();
                else
                    retryLater([this, startKey] { scanPage(startKey); }, m_options.retryMs);
            };
            if (error) {
                qCWarning(lcServerDynamo).noquote()
                    << "search backfill: Scan failed:"
                    << Tables::storeError(u"Scan"_s, *error).message;
                again();
                return;
            }
            QList<QJsonObject> items;
            const QJsonArray messages = response.value(u"Items"_s).toArray();
            for (const QJsonValue &message : messages)
                items.append(searchItems(messageOf(message.toObject())));
            const QJsonObject nextKey = response.value(u"LastEvaluatedKey"_s).toObject();
            SearchIndex::putAll(m_writes, items,
                [this, again, nextKey, count = messages.size()](Result<bool> written) {
                    if (!written) {
                        qCWarning(lcServerDynamo).noquote()
                            << "search backfill: writing index items failed:"
                            << written.error().message;
                        again();
                        return;
                    }
                    m_busy = false;
                    qCDebug(lcServerDynamo) << "search backfill: indexed" << count << "messages";
                    if (m_stopping)
                        finish();
                    else
                        saveProgress(nextKey);
                });
        },
        Tables::Priority::Starting);
}

// Moves the marker past the page just written and renews the lease; only while the
// claim is still this node's.
void SearchBackfill::saveProgress(const QJsonObject &nextKey)
{
    const bool done = nextKey.isEmpty();
    QJsonObject values {{u":me"_s, string(m_owner)},
        {u":until"_s, number(nowMs() + m_options.leaseMs)},
        {u":state"_s, string(done ? Done : Running)}};
    QString update = u"SET #l = :until, #s = :state"_s;
    if (done) {
        update += u" REMOVE #last"_s;
    } else {
        update += u", #last = :last"_s;
        values.insert(u":last"_s,
            string(QString::fromUtf8(QJsonDocument(nextKey).toJson(QJsonDocument::Compact))));
    }
    const QJsonObject request {{u"TableName"_s, m_tables->names().search}, {u"Key"_s, markerKey()},
        {u"UpdateExpression"_s, update}, {u"ConditionExpression"_s, u"#o = :me"_s},
        {u"ExpressionAttributeNames"_s,
            QJsonObject {
                {u"#o"_s, Owner}, {u"#l"_s, LeaseUntil}, {u"#s"_s, State}, {u"#last"_s, LastKey}}},
        {u"ExpressionAttributeValues"_s, values}};
    m_busy = true;
    m_tables->write(u"UpdateItem"_s, request, [this, nextKey, done](Result<bool> written) {
        m_busy = false;
        if (m_stopping) {
            finish();
            return;
        }
        if (!written) {
            retryLater([this, nextKey] { saveProgress(nextKey); }, m_options.retryMs);
            return;
        }
        if (written.value()) { // the lease ran out and another node took over
            qCInfo(lcServerDynamo) << "search backfill: another node took the work over";
            readMarker();
            return;
        }
        if (done) {
            qCInfo(lcServerDynamo) << "search backfill: every message is indexed";
            finish();
            return;
        }
        scanPage(nextKey);
    });
}

} // namespace parley::server::dynamo
