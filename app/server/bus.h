// The bus seam: how events reach connections, on this node or (with RedisBus)
// on other nodes. LocalBus is the in-process implementation.
//
// Topics are strings: "user:<name>" carries everything addressed to a user's
// devices (msg, receipt, typing, token revocation); "presence:<name>" carries
// that user's presence changes to whoever watches them. A node subscribes only
// to the topics its own connections need.
//
// Delivery is at-most-once: a lost event must only delay a message until the
// recipient's next sync (the store is the source of truth).
#pragma once

#include <QByteArray>
#include <QHash>
#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>

namespace parley::server {

using ConnectionId = quint64;

struct BusEvent
{
    enum class Kind {
        Frame, // deliver `payload` (an encoded server frame) as a text message
        RevokeToken, // close every connection authenticated with token hash `payload`
        WatchPresence, // start following the presence of user `payload` (a new conversation)
    };
    Kind kind = Kind::Frame;
    QString topic;
    QByteArray payload;
    ConnectionId exclude = 0; // a connection that must not receive it (the sender's own)
};

// Where a subscribed connection's events go: `sink` is invoked on the thread of
// `context`, which must outlive the subscription (a worker thread's object, not
// the connection itself).
struct BusEndpoint
{
    ConnectionId connection = 0;
    QObject *context = nullptr;
    std::function<void(const BusEvent &)> sink;
};

struct BusHealth
{
    bool ok = false;
    QString backend; // "local", "redis"
    QString detail;
};

class Bus
{
public:
    virtual ~Bus() = default;

    virtual bool open(QString *error) = 0;
    virtual void close() = 0;
    virtual BusHealth health() const = 0; // thread-safe

    // All of these are thread-safe and non-blocking.
    virtual void subscribe(const QString &topic, const BusEndpoint &endpoint) = 0;
    virtual void unsubscribe(const QString &topic, ConnectionId connection) = 0;
    virtual void unsubscribeAll(ConnectionId connection) = 0;
    virtual void publish(const BusEvent &event) = 0;

    // Presence: a user is online while any of their connections, on any node,
    // is up. The bus calls the presence handler (on a thread of its own) when a
    // user goes online or offline anywhere.
    virtual void connectionUp(const QString &user, ConnectionId connection) = 0;
    virtual void connectionDown(const QString &user, ConnectionId connection) = 0;
    virtual void onlineUsers(
        const QStringList &users, QObject *context, std::function<void(QHash<QString, bool>)> done)
        = 0;
    using PresenceHandler = std::function<void(const QString &user, bool online, qint64 ts)>;
    virtual void setPresenceHandler(PresenceHandler handler) = 0;
};

inline QString userTopic(const QString &user)
{
    return QStringLiteral("user:") + user;
}
inline QString presenceTopic(const QString &user)
{
    return QStringLiteral("presence:") + user;
}

} // namespace parley::server
