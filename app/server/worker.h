// One socket event-loop thread. The listener hands it accepted descriptors; each becomes
// a Link that reads the HTTP request head. The worker answers /healthz, /readyz and
// /metrics itself, upgrades WebSocket requests on /ws, and owns the sessions.
#pragma once

#include "bus.h"
#include "link.h"

#include <QHash>
#include <QHostAddress>
#include <QObject>
#include <QSslConfiguration>

#include <atomic>
#include <functional>
#include <optional>

class QTimer;

namespace parley::server {

class ChatService;
class Session;

// How the worker answers plain HTTP (the Server provides it; thread-safe).
struct HttpEndpoints
{
    // Full HTTP responses; `details` (paths, endpoints, errors) only for a caller on this
    // machine that came through no proxy.
    std::function<QByteArray(bool details)> healthz;
    std::function<QByteArray(bool details)> readyz;
    std::function<QByteArray()> metrics;
};

class Worker : public QObject, private Link::Owner
{
    Q_OBJECT

public:
    Worker(ChatService *service, HttpEndpoints endpoints, std::optional<QSslConfiguration> tls,
        int index);
    ~Worker() override;

    // Thread-safe: queue an accepted socket descriptor onto this worker.
    void adoptLater(qintptr descriptor);
    // Thread-safe: close every session with 1001 once its in-flight work is
    // answered; emits drained() when none is left.
    void drainLater();
    // Thread-safe: sockets accepted after this use `tls` (a TLS reload); open ones keep theirs.
    void setTlsConfigurationLater(const QSslConfiguration &tls);
    // Blocking: closes every session now (server stop after the drain timeout).
    void abortAllBlocking();
    int sessionCount() const { return m_sessionCount.load(); }

    // Worker thread only.
    Session *session(ConnectionId id) const { return m_sessions.value(id); }

Q_SIGNALS:
    void drained();

private:
    void adopt(qintptr descriptor);
    // Link::Owner
    void linkRequest(Link *link) override;
    void linkDropped(Link *link, Link::Drop why) override;
    void startSession(Link *link, const QHostAddress &client);
    void onSessionFinished(ConnectionId id);
    void livenessTick();
    void checkDrained();

    ChatService *m_service;
    HttpEndpoints m_endpoints;
    std::optional<QSslConfiguration> m_tls;
    Link::Limits m_linkLimits;
    LinkFlusher *m_flusher = nullptr;
    QTimer *m_liveness = nullptr;
    int m_livenessSlices = 1;
    quint64 m_livenessTick = 0;
    QHash<ConnectionId, Session *> m_sessions;
    QList<std::pair<qint64, ConnectionId>> m_signInDeadlines; // (ms since epoch, session)
    std::atomic<int> m_sessionCount {0};
    bool m_draining = false;
};

} // namespace parley::server
