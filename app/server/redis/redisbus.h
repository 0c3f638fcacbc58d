// RedisBus: the Bus between server nodes, over Redis pub/sub (RESP3).
//
// Channels: one per bus topic, "parley:user:<name>" and "parley:presence:<name>".
// A node subscribes to a channel while one of its own connections needs the
// topic, so it receives only what its connections need. Events are delivered
// to local endpoints at once (Redis down or not) and published for the other
// nodes; a node ignores its own publications when they come back.
//
// Presence: Redis sets "parley:presence:<user>" (the nodes where the user is
// connected) and "parley:node-users:<node>", plus a heartbeat key
// "parley:node:<node>" with a TTL every node refreshes. A node whose heartbeat
// expired (it died without a goodbye) is reaped by the next node that checks:
// its users go offline everywhere within PresenceTtl + RefreshInterval.
//
// Pub/sub is at-most-once. When a link to Redis comes back after an outage,
// the node asks every node (channel "parley:catchup") to push to its own
// connections the messages stored since the outage began; a ledger of what each
// user's connections were already sent keeps this free of duplicates.
#pragma once

#include "bus.h"
#include "deliveryledger.h"
#include "frames.h"
#include "redisurl.h"

#include <QHash>
#include <QMutex>
#include <QObject>
#include <QSet>
#include <QThread>

#include <atomic>
#include <memory>

class QTimer;

namespace parley::server {

class Counter;
class Histogram;
class Metrics;
class Store;

namespace redis {

class RedisConnection;
class RedisSubscriber;
struct RespValue;

struct RedisBusOptions
{
    RedisUrl url;
    QString nodeId;
    int presenceTtlMs = 20000;
    int refreshIntervalMs = 5000;
};

class RedisBus final : public Bus
{
public:
    RedisBus(RedisBusOptions options, Store *store, Metrics *metrics);
    ~RedisBus() override;

    bool open(QString *error) override;
    void close() override;
    BusHealth health() const override;

    void subscribe(const QString &topic, const BusEndpoint &endpoint) override;
    void unsubscribe(const QString &topic, ConnectionId connection) override;
    void unsubscribeAll(ConnectionId connection) override;
    void publish(const BusEvent &event) override;

    void connectionUp(const QString &user, ConnectionId connection) override;
    void connectionDown(const QString &user, ConnectionId connection) override;
    void onlineUsers(const QStringList &users, QObject *context,
        std::function<void(QHash<QString, bool>)> done) override;
    void setPresenceHandler(PresenceHandler handler) override;

private:
    struct Endpoint
    {
        BusEndpoint endpoint;
        qint64 subscribedAtMs = 0;
    };

    // Any thread, under m_mutex.
    static std::optional<std::pair<QString, qint64>> ledgerKey(const BusEvent &event);
    void deliverLocked(
        const BusEvent &event, const std::optional<std::pair<QString, qint64>> &message);
    void subscribeChannelLater(const QString &topic, bool subscribe);

    // Bus thread.
    void startLinks();
    void onMessage(const QByteArray &channel, const QByteArray &payload);
    void onLinkLost();
    void onLinkBack();
    void refresh();
    void restorePresence();
    void presenceScript(const QString &user, bool up);
    void announce(const QString &user, bool online);
    void catchUp(qint64 sinceMs);
    void catchUpUser(const QString &user, qint64 sinceMs);
    void catchUpConversation(
        const QString &user, const QString &conv, qint64 beforeSeq, qint64 sinceMs, int pages);
    void deliverCaughtUp(const QString &user, const QList<protocol::Message> &messages);
    QByteArray channelOf(const QString &topic) const;
    QByteArray key(const QString &suffix) const;

    RedisBusOptions m_options;
    Store *m_store;
    Metrics *m_metrics;
    Counter *m_published;
    Counter *m_publishFailures;
    Counter *m_received;
    Counter *m_reconnects;
    Counter *m_caughtUp;
    Histogram *m_lag;

    QThread m_thread;
    QObject *m_context = nullptr; // lives on m_thread; parent of the links
    RedisConnection *m_commands = nullptr;
    RedisSubscriber *m_subscriber = nullptr;
    QTimer *m_refreshTimer = nullptr;

    mutable QMutex m_mutex; // topics, endpoints, ledger
    QHash<QString, QHash<ConnectionId, Endpoint>> m_topics;
    QHash<ConnectionId, QSet<QString>> m_topicsOf;
    DeliveryLedger m_ledger;

    QMutex m_presenceMutex;
    QHash<QString, QSet<ConnectionId>> m_online; // this node's connections per user
    PresenceHandler m_presenceHandler;

    // Bus thread only.
    qint64 m_outageSinceMs = 0; // 0: no outage to catch up on
    bool m_everReady = false;

    std::atomic<bool> m_open {false};
    std::atomic<bool> m_commandsUp {false};
    std::atomic<bool> m_subscriberUp {false};
    mutable QMutex m_errorMutex;
    QString m_lastError;
};

} // namespace redis
} // namespace parley::server
