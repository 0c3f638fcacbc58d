#include "chatservice.h"

#include "codec.h"
#include "logging.h"
#include "metrics.h"

using namespace parley::protocol;

namespace parley::server {

ChatService::ChatService(
    const ServerConfig &config, Store *store, Bus *bus, PasswordHasher *hasher, Metrics *metrics)
    : m_config(config)
    , m_store(store)
    , m_bus(bus)
    , m_hasher(hasher)
    , m_metrics(metrics)
    , m_guard(config.abuse)
{
    m_metrics->gaugeCallback("parley_connections", "Open WebSocket connections on this node.",
        [this] { return double(m_connections.load()); });
    // Registered up front so they show (as zero) before the first message.
    m_stored = &m_metrics->counter(
        "parley_messages_stored_total", "Messages stored (first time per cid).");
    m_duplicates = &m_metrics->counter("parley_messages_duplicate_total",
        "Sends answered from the store because their cid was already stored.");
    m_ackLatency = &m_metrics->histogram("parley_ack_latency_seconds",
        "Time from a send frame's arrival to its ack being written.", Metrics::LatencyBuckets);
    for (const char *reason : {"head_timeout", "close_timeout", "slow_reader", "protocol_error",
             "signin_deadline", "origin_refused"})
        m_metrics->counter("parley_connections_dropped_total",
            "Connections closed by a server-side limit, by reason.", {{"reason", reason}});
    for (const char *limit : {"connections_per_address", "signin_failures_per_address",
             "signin_failures_per_account", "registrations_per_address"})
        m_metrics->counter("parley_throttled_total",
            "Requests refused by a per-address or per-account limit, by limit.",
            {{"limit", limit}});
    m_bus->setPresenceHandler(
        [this](const QString &user, bool online, qint64 ts) { presenceChanged(user, online, ts); });
}

ChatService::~ChatService()
{
    m_bus->setPresenceHandler({});
    m_metrics->removeGaugeCallback("parley_connections");
}

QString ChatService::serverName() const
{
    return QStringLiteral("parley/" PARLEY_VERSION);
}

void ChatService::fanOut(const Message &message, ConnectionId sender)
{
    const QByteArray payload = encode(ServerFrame(MessageEvent {message}));
    m_bus->publish({BusEvent::Kind::Frame, userTopic(message.to), payload, 0});
    m_bus->publish({BusEvent::Kind::Frame, userTopic(message.from), payload, sender});
    if (message.seq == 1) {
        // A new conversation: both sides now follow each other's presence.
        m_bus->publish(
            {BusEvent::Kind::WatchPresence, userTopic(message.to), message.from.toUtf8(), 0});
        m_bus->publish(
            {BusEvent::Kind::WatchPresence, userTopic(message.from), message.to.toUtf8(), sender});
    }
}

void ChatService::presenceChanged(const QString &user, bool online, qint64 ts)
{
    PresenceEvent event {user, online ? PresenceState::Online : PresenceState::Offline, {}};
    if (!online) {
        event.lastSeen = ts;
        m_store->setLastSeen(user, ts, [user](Result<Done> result) {
            if (!result)
                qCWarning(lcServerStore)
                    << "could not record last seen of" << user << ":" << result.error().message;
        });
    }
    m_bus->publish({BusEvent::Kind::Frame, presenceTopic(user), encode(ServerFrame(event)), 0});
}

void ChatService::connectionOpened()
{
    ++m_connections;
}

void ChatService::connectionClosed()
{
    --m_connections;
}

void ChatService::messageStored()
{
    m_stored->inc();
}

void ChatService::messageDuplicate()
{
    m_duplicates->inc();
}

void ChatService::frameRejected(ErrorCode code)
{
    m_metrics
        ->counter("parley_frames_rejected_total", "Frames answered with an error, by code.",
            {{"code", errorCodeName(code).toUtf8()}})
        .inc();
}

void ChatService::connectionDropped(QByteArrayView reason)
{
    m_metrics
        ->counter("parley_connections_dropped_total",
            "Connections closed by a server-side limit, by reason.",
            {{"reason", reason.toByteArray()}})
        .inc();
}

void ChatService::throttled(QByteArrayView limit)
{
    m_metrics
        ->counter("parley_throttled_total",
            "Requests refused by a per-address or per-account limit, by limit.",
            {{"limit", limit.toByteArray()}})
        .inc();
}

void ChatService::ackLatency(qint64 nanoseconds)
{
    m_ackLatency->observe(double(nanoseconds) / 1e9);
}

} // namespace parley::server
