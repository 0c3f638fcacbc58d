// A whole server node: store, bus, workers and listener, started and stopped
// in the right order. Lives on the main thread.
#pragma once

#include "serverconfig.h"

#include <QList>
#include <QObject>
#include <QThread>

#include <memory>

namespace parley::server {

class Bus;
class ChatService;
class Counter;
class Listener;
class Metrics;
class PasswordHasher;
class Store;
class Worker;

class Server : public QObject
{
    Q_OBJECT

public:
    explicit Server(ServerConfig config, QObject *parent = nullptr);
    ~Server() override;

    // Opens the store and the bus, starts the workers, binds the port.
    // On failure returns false with a one-line reason in *error.
    bool start(QString *error);
    // Stops accepting, lets sessions finish in-flight writes, closes them with
    // 1001 and closes the store. Emits stopped() when done.
    void shutdown();
    // Reads the TLS certificate and key files again. If they load, connections accepted
    // from now on get them and open ones keep theirs; if not, the previous ones stay and
    // the error is logged. Counted in parley_tls_reloads_total. Without TLS, logs that
    // there is nothing to reload.
    void reloadTls();
    quint16 port() const;

Q_SIGNALS:
    void stopped();

private:
    // /healthz: always 200 with the JSON status (the contract); /readyz: the same body,
    // 503 unless the node can take traffic (for load balancers).
    // `details` adds the store's and the bus's detail (a file path, an endpoint, an error).
    QByteArray healthResponse(bool readiness, bool details) const;
    QByteArray metricsResponse() const;
    void finishShutdown();

    ServerConfig m_config;
    std::unique_ptr<Metrics> m_metrics;
    Counter *m_tlsReloadsOk = nullptr;
    Counter *m_tlsReloadsFailed = nullptr;
    std::unique_ptr<Store> m_store;
    std::unique_ptr<Bus> m_bus;
    std::unique_ptr<PasswordHasher> m_hasher;
    std::unique_ptr<ChatService> m_service;
    QList<QThread *> m_threads;
    QList<Worker *> m_workers;
    Listener *m_listener = nullptr;
    int m_drainedWorkers = 0;
    bool m_stopping = false;
    bool m_stopped = false;
    qint64 m_startedAt = 0;
};

} // namespace parley::server
