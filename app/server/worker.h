// One socket event-loop thread. The listener hands it accepted descriptors; it
// reads the HTTP request head, answers /healthz, /readyz and /metrics itself and passes
// WebSocket upgrades on /ws to its QWebSocketServer, then owns the sessions.
#pragma once

#include "bus.h"

#include <QHash>
#include <QObject>
#include <QSslConfiguration>

#include <atomic>
#include <functional>
#include <optional>

class QTcpSocket;
class QTimer;
class QWebSocketServer;

namespace parley::server {

class ChatService;
class Session;

// How the worker answers plain HTTP (the Server provides it; thread-safe).
struct HttpEndpoints
{
    std::function<QByteArray()> healthz; // full HTTP responses
    std::function<QByteArray()> readyz;
    std::function<QByteArray()> metrics;
};

class Worker : public QObject
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
    void beginHttp(QTcpSocket *socket);
    void onNewWebSocket();
    void onSessionFinished(ConnectionId id);
    void livenessTick();
    void checkDrained();

    ChatService *m_service;
    HttpEndpoints m_endpoints;
    std::optional<QSslConfiguration> m_tls;
    QWebSocketServer *m_webSockets = nullptr;
    QTimer *m_liveness = nullptr;
    int m_livenessSlices = 1;
    quint64 m_livenessTick = 0;
    QHash<ConnectionId, Session *> m_sessions;
    std::atomic<int> m_sessionCount {0};
    bool m_draining = false;
};

} // namespace parley::server
