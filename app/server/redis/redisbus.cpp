#include "redisbus.h"

#include "codec.h"
#include "logging.h"
#include "metrics.h"
#include "redisconnection.h"
#include "redissubscriber.h"
#include "store.h"

#include <QDateTime>
#include <QEventLoop>
#include <QTimer>

#include <chrono>

using namespace Qt::StringLiterals;
using namespace parley::protocol;

namespace parley::server::redis {

namespace {

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

qint64 wallMicros()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Messages stored this long before a link dropped are caught up too: they may
// have been in flight when it went.
constexpr qint64 OutageMarginMs = 5000;
// How long the ledger remembers a delivery when no outage is going on.
constexpr qint64 LedgerKeepMs = 30000;
// History pages fetched per conversation in one catch-up.
constexpr int CatchUpPages = 20;
constexpr int CatchUpPageSize = 200;

// Envelope: "<node>\t<kind>\t<exclude>\t<sent µs>\n<payload>". `exclude` is a
// connection id of the origin node only.
QByteArray envelope(const QString &node, const BusEvent &event)
{
    return node.toUtf8() + '\t' + QByteArray::number(int(event.kind)) + '\t'
        + QByteArray::number(event.exclude) + '\t' + QByteArray::number(wallMicros()) + '\n'
        + event.payload;
}

// Presence scripts. They touch keys they compute, so they need one Redis (or
// one Cluster slot), not Redis Cluster.
const QByteArray UpScript = R"(
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if added == 1 and redis.call('SCARD', KEYS[1]) == 1 then return 1 end
return 0)";
const QByteArray DownScript = R"(
local removed = redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
if removed == 1 and redis.call('SCARD', KEYS[1]) == 0 then return 1 end
return 0)";
// ARGV[1]: key prefix; ARGV[2]: a node to reap even if alive (its goodbye), or "".
// Returns the users that went offline everywhere.
const QByteArray ReapScript = R"(
local p = ARGV[1]
local gone = {}
for _, node in ipairs(redis.call('SMEMBERS', p .. 'nodes')) do
  if node == ARGV[2] or redis.call('EXISTS', p .. 'node:' .. node) == 0 then
    for _, user in ipairs(redis.call('SMEMBERS', p .. 'node-users:' .. node)) do
      redis.call('SREM', p .. 'presence:' .. user, node)
      if redis.call('SCARD', p .. 'presence:' .. user) == 0 then table.insert(gone, user) end
    end
    redis.call('DEL', p .. 'node-users:' .. node, p .. 'node:' .. node)
    redis.call('SREM', p .. 'nodes', node)
  end
end
return gone)";

const QByteArray Prefix = "parley:";
const QByteArray CatchUpChannel = "parley:catchup";

} // namespace

RedisBus::RedisBus(RedisBusOptions options, Store *store, Metrics *metrics)
    : m_options(std::move(options))
    , m_store(store)
    , m_metrics(metrics)
{
    m_published = &metrics->counter(
        "parley_bus_published_total", "Events this node published to Redis for other nodes.");
    m_publishFailures = &metrics->counter("parley_bus_publish_failures_total",
        "Publishes lost because Redis was unreachable (caught up from the store later).");
    m_received = &metrics->counter(
        "parley_bus_received_total", "Events received from other nodes through Redis.");
    m_reconnects = &metrics->counter(
        "parley_bus_reconnects_total", "Times a link to Redis came back after dropping.");
    m_caughtUp = &metrics->counter("parley_bus_caught_up_total",
        "Stored messages pushed to connections after a Redis outage.");
    m_lag = &metrics->histogram("parley_bus_lag_seconds",
        "Time from an event's publish on one node to its arrival on another.",
        Metrics::LatencyBuckets);
    m_thread.setObjectName(u"parley-redis"_s);
}

RedisBus::~RedisBus()
{
    close();
}

QByteArray RedisBus::channelOf(const QString &topic) const
{
    return Prefix + topic.toUtf8();
}

QByteArray RedisBus::key(const QString &suffix) const
{
    return Prefix + suffix.toUtf8();
}

bool RedisBus::open(QString *)
{
    if (m_open)
        return true;
    m_context = new QObject;
    m_context->moveToThread(&m_thread);
    QObject::connect(&m_thread, &QThread::finished, m_context, &QObject::deleteLater);
    m_thread.start();
    m_open = true;
    QMetaObject::invokeMethod(
        m_context, [this] { startLinks(); }, Qt::BlockingQueuedConnection);
    // Give the first connect a moment so the start-up log says where we stand;
    // a node whose Redis is down still starts and keeps storing messages.
    for (int i = 0; i < 40 && !(m_commandsUp && m_subscriberUp); ++i)
        QThread::msleep(50);
    if (!(m_commandsUp && m_subscriberUp))
        qCWarning(lcServerRedis) << "Redis" << m_options.url.redacted()
                                 << "is not reachable yet; retrying in the background";
    return true;
}

void RedisBus::startLinks()
{
    RedisConnection::Options options;
    options.url = m_options.url;
    options.clientName = u"parley:%1:cmd"_s.arg(m_options.nodeId);
    m_commands = new RedisConnection(options, m_context);
    options.clientName = u"parley:%1:sub"_s.arg(m_options.nodeId);
    m_subscriber = new RedisSubscriber(options, m_context);
    m_subscriber->subscribe(CatchUpChannel);

    QObject::connect(m_commands, &RedisConnection::ready, m_context, [this] {
        m_commandsUp = true;
        restorePresence();
        refresh();
        onLinkBack();
    });
    QObject::connect(m_commands, &RedisConnection::lost, m_context, [this](const QString &why) {
        m_commandsUp = false;
        QMutexLocker lock(&m_errorMutex);
        m_lastError = why;
        lock.unlock();
        onLinkLost();
    });
    QObject::connect(m_subscriber, &RedisSubscriber::resubscribed, m_context, [this] {
        m_subscriberUp = true;
        onLinkBack();
    });
    QObject::connect(m_subscriber, &RedisSubscriber::lost, m_context, [this](const QString &why) {
        m_subscriberUp = false;
        QMutexLocker lock(&m_errorMutex);
        m_lastError = why;
        lock.unlock();
        onLinkLost();
    });
    QObject::connect(m_subscriber, &RedisSubscriber::message, m_context,
        [this](
            const QByteArray &channel, const QByteArray &payload) { onMessage(channel, payload); });

    m_refreshTimer = new QTimer(m_context);
    m_refreshTimer->setInterval(m_options.refreshIntervalMs);
    QObject::connect(m_refreshTimer, &QTimer::timeout, m_context, [this] { refresh(); });
    m_refreshTimer->start();
    m_commands->start();
    m_subscriber->start();
}

void RedisBus::close()
{
    if (!m_open.exchange(false))
        return;
    QMetaObject::invokeMethod(
        m_context,
        [this] {
            m_refreshTimer->stop();
            if (m_commands->isReady()) {
                // Goodbye: this node's users that are on no other node go offline now,
                // not when the heartbeat expires.
                m_commands->command({"EVAL", ReapScript, "0", Prefix, m_options.nodeId.toUtf8()},
                    [this](const RespValue &reply) {
                        for (const RespValue &user : reply.elements)
                            announce(QString::fromUtf8(user.string), false);
                    });
                QEventLoop wait;
                QTimer::singleShot(2000, &wait, &QEventLoop::quit);
                QTimer poll;
                QObject::connect(&poll, &QTimer::timeout, &wait, [&] {
                    if (m_commands->pendingCount() == 0)
                        wait.quit();
                });
                poll.start(10);
                wait.exec();
            }
            m_subscriber->stop();
            m_commands->stop();
        },
        Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    m_context = nullptr;
    m_commands = nullptr;
    m_subscriber = nullptr;
    m_commandsUp = false;
    m_subscriberUp = false;
    QMutexLocker lock(&m_mutex);
    m_topics.clear();
    m_topicsOf.clear();
}

BusHealth RedisBus::health() const
{
    const bool up = m_commandsUp && m_subscriberUp;
    QString detail = u"node %1 on %2"_s.arg(m_options.nodeId, m_options.url.redacted());
    if (!m_open) {
        detail = u"closed"_s;
    } else if (!up) {
        QMutexLocker lock(&m_errorMutex);
        detail
            += u": reconnecting (%1); messages are stored and caught up when Redis is back"_s.arg(
                m_lastError.isEmpty() ? u"not connected yet"_s : m_lastError);
    }
    return {m_open && up, u"redis"_s, detail};
}

// ---- local endpoints ---------------------------------------------------------

void RedisBus::subscribeChannelLater(const QString &topic, bool subscribe)
{
    // Posted under m_mutex: subscribe/unsubscribe of one channel reach the bus
    // thread in the order they were decided.
    if (!m_context)
        return;
    QMetaObject::invokeMethod(
        m_context,
        [this, channel = channelOf(topic), subscribe] {
            if (subscribe)
                m_subscriber->subscribe(channel);
            else
                m_subscriber->unsubscribe(channel);
        },
        Qt::QueuedConnection);
}

void RedisBus::subscribe(const QString &topic, const BusEndpoint &endpoint)
{
    QMutexLocker lock(&m_mutex);
    auto &endpoints = m_topics[topic];
    const bool first = endpoints.isEmpty();
    endpoints.insert(endpoint.connection, {endpoint, nowMs()});
    m_topicsOf[endpoint.connection].insert(topic);
    if (first)
        subscribeChannelLater(topic, true);
}

void RedisBus::unsubscribe(const QString &topic, ConnectionId connection)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_topics.find(topic);
    if (it != m_topics.end() && it->remove(connection) && it->isEmpty()) {
        m_topics.erase(it);
        subscribeChannelLater(topic, false);
    }
    auto of = m_topicsOf.find(connection);
    if (of != m_topicsOf.end())
        of->remove(topic);
}

void RedisBus::unsubscribeAll(ConnectionId connection)
{
    QMutexLocker lock(&m_mutex);
    const QSet<QString> topics = m_topicsOf.take(connection);
    for (const QString &topic : topics) {
        auto it = m_topics.find(topic);
        if (it != m_topics.end() && it->remove(connection) && it->isEmpty()) {
            m_topics.erase(it);
            subscribeChannelLater(topic, false);
            if (topic.startsWith(u"user:"_s))
                m_ledger.forgetUser(topic.mid(5));
        }
    }
}

std::optional<std::pair<QString, qint64>> RedisBus::ledgerKey(const BusEvent &event)
{
    // Parsed outside the lock: only msg frames to a user are remembered.
    if (event.kind != BusEvent::Kind::Frame || !event.topic.startsWith(u"user:"_s))
        return std::nullopt;
    return DeliveryLedger::messageKey(event.payload);
}

void RedisBus::deliverLocked(
    const BusEvent &event, const std::optional<std::pair<QString, qint64>> &message)
{
    const auto it = m_topics.constFind(event.topic);
    if (it == m_topics.constEnd())
        return;
    if (message && !m_ledger.record(event.topic.mid(5), message->first, message->second, nowMs()))
        return; // already pushed by a catch-up
    for (const Endpoint &e : *it) {
        if (e.endpoint.connection == event.exclude || !e.endpoint.context)
            continue;
        QMetaObject::invokeMethod(
            e.endpoint.context, [sink = e.endpoint.sink, event] { sink(event); },
            Qt::QueuedConnection);
    }
}

void RedisBus::publish(const BusEvent &event)
{
    const auto message = ledgerKey(event);
    {
        QMutexLocker lock(&m_mutex);
        deliverLocked(event, message);
    }
    if (!m_context)
        return;
    QMetaObject::invokeMethod(
        m_context,
        [this, channel = channelOf(event.topic), message = envelope(m_options.nodeId, event)] {
            if (m_commands->command({"PUBLISH", channel, message}, [this](const RespValue &reply) {
                    if (reply.isError())
                        m_publishFailures->inc();
                }))
                m_published->inc();
            else
                m_publishFailures->inc();
        },
        Qt::QueuedConnection);
}

// ---- from Redis ----------------------------------------------------------------

void RedisBus::onMessage(const QByteArray &channel, const QByteArray &payload)
{
    const qsizetype newline = payload.indexOf('\n');
    const QList<QByteArray> header = payload.left(newline).split('\t');
    if (newline < 0 || header.size() != 4) {
        qCWarning(lcServerRedis) << "dropping a malformed bus message on" << channel;
        return;
    }
    if (header[0] == m_options.nodeId.toUtf8())
        return; // delivered locally when published
    const QByteArray body = payload.mid(newline + 1);
    if (channel == CatchUpChannel) {
        catchUp(body.toLongLong());
        return;
    }
    m_received->inc();
    m_lag->observe(std::max<double>(0, double(wallMicros() - header[3].toLongLong()) / 1e6));
    const int kind = header[1].toInt();
    if (kind < 0 || kind > int(BusEvent::Kind::WatchPresence))
        return;
    BusEvent event {BusEvent::Kind(kind), QString::fromUtf8(channel.mid(Prefix.size())), body, 0};
    const auto message = ledgerKey(event);
    QMutexLocker lock(&m_mutex);
    deliverLocked(event, message);
}

// ---- outages and catch-up --------------------------------------------------------

void RedisBus::onLinkLost()
{
    if (m_outageSinceMs == 0)
        m_outageSinceMs = nowMs() - OutageMarginMs;
}

void RedisBus::onLinkBack()
{
    if (!(m_commandsUp && m_subscriberUp))
        return;
    if (!m_everReady) {
        m_everReady = true;
        return;
    }
    m_reconnects->inc();
    if (m_outageSinceMs == 0)
        return;
    const qint64 since = std::exchange(m_outageSinceMs, 0);
    qCInfo(lcServerRedis) << "Redis is back; catching up messages stored since" << since;
    // Every node pushes what its connections missed: this node's publishes
    // during the outage never reached the others.
    BusEvent marker {BusEvent::Kind::Frame, {}, QByteArray::number(since), 0};
    m_commands->command({"PUBLISH", CatchUpChannel, envelope(m_options.nodeId, marker)});
    catchUp(since);
}

void RedisBus::catchUp(qint64 sinceMs)
{
    QStringList users;
    {
        QMutexLocker lock(&m_mutex);
        for (auto it = m_topics.constBegin(); it != m_topics.constEnd(); ++it) {
            if (it.key().startsWith(u"user:"_s))
                users.append(it.key().mid(5));
        }
    }
    for (const QString &user : std::as_const(users))
        catchUpUser(user, sinceMs);
}

void RedisBus::catchUpUser(const QString &user, qint64 sinceMs)
{
    QPointer<QObject> context = m_context;
    m_store->conversations(
        user, [this, context, user, sinceMs](Result<QList<ConversationSummary>> result) {
            if (!result || !context)
                return;
            QMetaObject::invokeMethod(
                context,
                [this, user, sinceMs, items = result.value()] {
                    for (const ConversationSummary &item : items) {
                        if (item.lastTs >= sinceMs && item.lastSeq > 0)
                            catchUpConversation(
                                user, item.conv, item.lastSeq + 1, sinceMs, CatchUpPages);
                    }
                },
                Qt::QueuedConnection);
        });
}

void RedisBus::catchUpConversation(
    const QString &user, const QString &conv, qint64 beforeSeq, qint64 sinceMs, int pages)
{
    QPointer<QObject> context = m_context;
    HistoryQuery query {conv, std::nullopt, beforeSeq, CatchUpPageSize};
    m_store->history(query, [=, this](Result<HistorySlice> result) {
        if (!result || !context)
            return;
        QMetaObject::invokeMethod(
            context,
            [=, this, slice = result.value()] {
                QList<Message> fresh;
                for (const Message &m : slice.messages) {
                    if (!m.gap && m.ts >= sinceMs)
                        fresh.append(m);
                }
                deliverCaughtUp(user, fresh);
                // Older pages while this one still reaches into the outage.
                if (slice.more && pages > 1 && !slice.messages.isEmpty()
                    && slice.messages.first().ts >= sinceMs)
                    catchUpConversation(user, conv, slice.messages.first().seq, sinceMs, pages - 1);
            },
            Qt::QueuedConnection);
    });
}

void RedisBus::deliverCaughtUp(const QString &user, const QList<Message> &messages)
{
    const QString topic = userTopic(user);
    QMutexLocker lock(&m_mutex);
    const auto it = m_topics.constFind(topic);
    if (it == m_topics.constEnd())
        return;
    for (const Message &m : messages) {
        if (!m_ledger.record(user, m.conv, m.seq, nowMs()))
            continue;
        m_caughtUp->inc();
        const BusEvent event {
            BusEvent::Kind::Frame, topic, encode(ServerFrame(MessageEvent {m})), 0};
        for (const Endpoint &e : *it) {
            // A connection that signed in after the message was stored got it from
            // its own sync/history.
            if (!e.endpoint.context || e.subscribedAtMs > m.ts)
                continue;
            QMetaObject::invokeMethod(
                e.endpoint.context, [sink = e.endpoint.sink, event] { sink(event); },
                Qt::QueuedConnection);
        }
    }
}

// ---- presence ------------------------------------------------------------------

void RedisBus::refresh()
{
    {
        QMutexLocker lock(&m_mutex);
        m_ledger.prune(nowMs()
            - std::max(
                LedgerKeepMs, m_outageSinceMs ? nowMs() - m_outageSinceMs + LedgerKeepMs : 0));
    }
    if (!m_commands->isReady())
        return;
    const QByteArray node = m_options.nodeId.toUtf8();
    m_commands->command({"SET", key(u"node:"_s + m_options.nodeId), "1", "PX",
        QByteArray::number(m_options.presenceTtlMs)});
    m_commands->command({"SADD", Prefix + "nodes", node});
    // Reap nodes whose heartbeat expired: their users go offline everywhere.
    m_commands->command({"EVAL", ReapScript, "0", Prefix, ""}, [this](const RespValue &reply) {
        for (const RespValue &user : reply.elements)
            announce(QString::fromUtf8(user.string), false);
    });
}

void RedisBus::restorePresence()
{
    // After a reconnect (perhaps to a restarted, empty Redis) this node's users
    // are written again, without announcements: nothing changed for watchers.
    QStringList users;
    {
        QMutexLocker lock(&m_presenceMutex);
        users = m_online.keys();
    }
    const QByteArray node = m_options.nodeId.toUtf8();
    m_commands->command({"SET", key(u"node:"_s + m_options.nodeId), "1", "PX",
        QByteArray::number(m_options.presenceTtlMs)});
    m_commands->command({"SADD", Prefix + "nodes", node});
    for (const QString &user : std::as_const(users)) {
        m_commands->command({"SADD", key(u"presence:"_s + user), node});
        m_commands->command({"SADD", key(u"node-users:"_s + m_options.nodeId), user.toUtf8()});
    }
}

void RedisBus::announce(const QString &user, bool online)
{
    QMutexLocker lock(&m_presenceMutex);
    if (m_presenceHandler)
        m_presenceHandler(user, online, nowMs());
}

void RedisBus::presenceScript(const QString &user, bool up)
{
    const bool sent = m_commands->command(
        {"EVAL", up ? UpScript : DownScript, "2", key(u"presence:"_s + user),
            key(u"node-users:"_s + m_options.nodeId), m_options.nodeId.toUtf8(), user.toUtf8()},
        [this, user, up](const RespValue &reply) {
            if (reply.isError()) {
                announce(user, up); // Redis went away: this node's watchers still learn
                return;
            }
            if (reply.integer == 1)
                announce(user, up);
        });
    if (!sent)
        announce(user, up);
}

void RedisBus::connectionUp(const QString &user, ConnectionId connection)
{
    QMutexLocker lock(&m_presenceMutex);
    QSet<ConnectionId> &connections = m_online[user];
    const bool first = connections.isEmpty();
    connections.insert(connection);
    if (first && m_context)
        QMetaObject::invokeMethod(
            m_context, [this, user] { presenceScript(user, true); }, Qt::QueuedConnection);
}

void RedisBus::connectionDown(const QString &user, ConnectionId connection)
{
    QMutexLocker lock(&m_presenceMutex);
    auto it = m_online.find(user);
    if (it == m_online.end() || !it->remove(connection) || !it->isEmpty())
        return;
    m_online.erase(it);
    if (m_context)
        QMetaObject::invokeMethod(
            m_context, [this, user] { presenceScript(user, false); }, Qt::QueuedConnection);
}

void RedisBus::onlineUsers(
    const QStringList &users, QObject *context, std::function<void(QHash<QString, bool>)> done)
{
    QHash<QString, bool> local;
    {
        QMutexLocker lock(&m_presenceMutex);
        for (const QString &user : users)
            local.insert(user, m_online.contains(user));
    }
    auto answer = [context, done](QHash<QString, bool> result) {
        QMetaObject::invokeMethod(
            context, [done, result] { done(result); }, Qt::QueuedConnection);
    };
    if (users.isEmpty() || !m_context) {
        answer(local);
        return;
    }
    QMetaObject::invokeMethod(
        m_context,
        [this, users, local, answer] {
            // One pipelined SCARD per user; the last reply answers.
            auto result = std::make_shared<QHash<QString, bool>>(local);
            auto left = std::make_shared<qsizetype>(users.size());
            for (const QString &user : users) {
                const bool sent = m_commands->command({"SCARD", key(u"presence:"_s + user)},
                    [user, result, left, answer](const RespValue &reply) {
                        if (!reply.isError() && reply.integer > 0)
                            (*result)[user] = true;
                        if (--*left == 0)
                            answer(*result);
                    });
                if (!sent) {
                    answer(local); // Redis unreachable: what this node knows
                    return;
                }
            }
        },
        Qt::QueuedConnection);
}

void RedisBus::setPresenceHandler(PresenceHandler handler)
{
    QMutexLocker lock(&m_presenceMutex);
    m_presenceHandler = std::move(handler);
}

} // namespace parley::server::redis
