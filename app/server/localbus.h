// In-process bus: one node, no network. Subscriptions and presence counts live
// behind one mutex; events are posted to each endpoint's context thread.
#pragma once

#include "bus.h"

#include <QHash>
#include <QMutex>
#include <QSet>

namespace parley::server {

class LocalBus final : public Bus
{
public:
    LocalBus() = default;

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
    mutable QMutex m_mutex;
    QHash<QString, QHash<ConnectionId, BusEndpoint>> m_topics;
    QHash<ConnectionId, QSet<QString>> m_topicsOf;
    QMutex m_presenceMutex; // never held while taking m_mutex's callers' locks
    QHash<QString, QSet<ConnectionId>> m_online;
    PresenceHandler m_presenceHandler;
    bool m_open = false;
};

} // namespace parley::server
