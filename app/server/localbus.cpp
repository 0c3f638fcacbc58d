#include "localbus.h"

#include "logging.h"

#include <QDateTime>
#include <QMetaObject>

namespace parley::server {

bool LocalBus::open(QString *)
{
    QMutexLocker lock(&m_mutex);
    m_open = true;
    return true;
}

void LocalBus::close()
{
    QMutexLocker lock(&m_mutex);
    m_open = false;
    m_topics.clear();
    m_topicsOf.clear();
}

BusHealth LocalBus::health() const
{
    QMutexLocker lock(&m_mutex);
    return {m_open, QStringLiteral("local"),
        m_open ? QStringLiteral("in-process") : QStringLiteral("closed")};
}

void LocalBus::subscribe(const QString &topic, const BusEndpoint &endpoint)
{
    QMutexLocker lock(&m_mutex);
    m_topics[topic].insert(endpoint.connection, endpoint);
    m_topicsOf[endpoint.connection].insert(topic);
}

void LocalBus::unsubscribe(const QString &topic, ConnectionId connection)
{
    QMutexLocker lock(&m_mutex);
    auto it = m_topics.find(topic);
    if (it != m_topics.end()) {
        it->remove(connection);
        if (it->isEmpty())
            m_topics.erase(it);
    }
    auto of = m_topicsOf.find(connection);
    if (of != m_topicsOf.end())
        of->remove(topic);
}

void LocalBus::unsubscribeAll(ConnectionId connection)
{
    QMutexLocker lock(&m_mutex);
    const QSet<QString> topics = m_topicsOf.take(connection);
    for (const QString &topic : topics) {
        auto it = m_topics.find(topic);
        if (it != m_topics.end()) {
            it->remove(connection);
            if (it->isEmpty())
                m_topics.erase(it);
        }
    }
}

void LocalBus::publish(const BusEvent &event)
{
    // Post while holding the lock: events published from one thread reach each
    // endpoint in publish order (QueuedConnection preserves posting order).
    QMutexLocker lock(&m_mutex);
    const auto it = m_topics.constFind(event.topic);
    if (it == m_topics.constEnd())
        return;
    for (const BusEndpoint &endpoint : *it) {
        if (endpoint.connection == event.exclude || !endpoint.context)
            continue;
        QMetaObject::invokeMethod(
            endpoint.context, [sink = endpoint.sink, event] { sink(event); }, Qt::QueuedConnection);
    }
}

// The presence handler runs under m_presenceMutex so that an "online" and an
// "offline" of one user can never be announced in the wrong order.
void LocalBus::connectionUp(const QString &user, ConnectionId connection)
{
    QMutexLocker lock(&m_presenceMutex);
    QSet<ConnectionId> &connections = m_online[user];
    const bool wasOffline = connections.isEmpty();
    connections.insert(connection);
    if (wasOffline && m_presenceHandler)
        m_presenceHandler(user, true, QDateTime::currentMSecsSinceEpoch());
}

void LocalBus::connectionDown(const QString &user, ConnectionId connection)
{
    QMutexLocker lock(&m_presenceMutex);
    auto it = m_online.find(user);
    if (it == m_online.end() || !it->remove(connection) || !it->isEmpty())
        return;
    m_online.erase(it);
    if (m_presenceHandler)
        m_presenceHandler(user, false, QDateTime::currentMSecsSinceEpoch());
}

void LocalBus::onlineUsers(
    const QStringList &users, QObject *context, std::function<void(QHash<QString, bool>)> done)
{
    QHash<QString, bool> result;
    {
        QMutexLocker lock(&m_presenceMutex);
        for (const QString &user : users)
            result.insert(user, m_online.contains(user));
    }
    QMetaObject::invokeMethod(
        context, [done = std::move(done), result] { done(result); }, Qt::QueuedConnection);
}

void LocalBus::setPresenceHandler(PresenceHandler handler)
{
    QMutexLocker lock(&m_presenceMutex);
    m_presenceHandler = std::move(handler);
}

} // namespace parley::server
