// What every connection of a node shares: configuration, the store, the bus,
// the password hasher and the metrics, plus the few rules that are not tied to
// one connection (presence announcements, the message fan-out).
#pragma once

#include "abuseguard.h"
#include "bus.h"
#include "frames.h"
#include "serverconfig.h"
#include "store.h"

#include <QString>

#include <atomic>

namespace parley::server {

class Metrics;
class PasswordHasher;
class Counter;
class Histogram;

class ChatService
{
public:
    ChatService(const ServerConfig &config, Store *store, Bus *bus, PasswordHasher *hasher,
        Metrics *metrics);
    ~ChatService();

    const ServerConfig &config() const { return m_config; }
    Store &store() const { return *m_store; }
    Bus &bus() const { return *m_bus; }
    PasswordHasher &hasher() const { return *m_hasher; }
    Metrics &metrics() const { return *m_metrics; }
    QString serverName() const; // "parley/<version>"
    ConnectionId newConnectionId() { return ++m_lastConnectionId; }

    // Runs on the store's thread, in commit order: fans a freshly stored message
    // out to both parties' devices (except the connection that sent it), so every
    // connection sees one conversation's messages in seq order.
    void fanOut(const protocol::Message &message, ConnectionId sender);
    // Announces a user's presence change to their watchers (bus presence handler).
    void presenceChanged(const QString &user, bool online, qint64 ts);

    // Metrics hooks, kept here so sessions need not know the registry.
    void connectionOpened();
    void connectionClosed();
    void messageStored();
    void messageDuplicate();
    void frameRejected(protocol::ErrorCode code);
    // A connection closed by a server-side limit: "head_timeout", "close_timeout",
    // "slow_reader", "protocol_error" (a frame that broke RFC 6455), "signin_deadline",
    // "origin_refused" (an upgrade from an Origin not in --allowed-origin).
    void connectionDropped(QByteArrayView reason);
    void signInDeadlineMissed() { connectionDropped("signin_deadline"); }
    // Per-address and per-account limits (thread-safe).
    AbuseGuard &guard() { return m_guard; }
    // A request refused by one of guard()'s limits: "connections_per_address",
    // "signin_failures_per_address", "signin_failures_per_account",
    // "registrations_per_address".
    void throttled(QByteArrayView limit);
    void ackLatency(qint64 nanoseconds);
    int connections() const { return m_connections.load(); }

private:
    ServerConfig m_config;
    Store *m_store;
    Bus *m_bus;
    PasswordHasher *m_hasher;
    Metrics *m_metrics;
    AbuseGuard m_guard;
    std::atomic<ConnectionId> m_lastConnectionId {0};
    std::atomic<int> m_connections {0};
    Counter *m_stored;
    Counter *m_duplicates;
    Histogram *m_ackLatency;
};

} // namespace parley::server
