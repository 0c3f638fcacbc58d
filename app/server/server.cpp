#include "server.h"

#include "chatservice.h"
#include "dynamostore.h"
#include "eventdispatcher.h"
#include "httprequestparser.h"
#include "listener.h"
#include "localbus.h"
#include "logging.h"
#include "metrics.h"
#include "passwordhasher.h"
#include "redisbus.h"
#include "sqlitestore.h"
#include "tlsfiles.h"
#include "worker.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSslCertificate>
#include <QTimer>

using namespace Qt::StringLiterals;

namespace parley::server {

Server::Server(ServerConfig config, QObject *parent)
    : QObject(parent)
    , m_config(std::move(config))
{ }

Server::~Server()
{
    if (!m_stopped)
        finishShutdown();
}

bool Server::start(QString *error)
{
    m_startedAt = QDateTime::currentMSecsSinceEpoch();
    m_metrics = std::make_unique<Metrics>();
    m_metrics->registerProcessMetrics();
    const QByteArray reloadsHelp = "TLS certificate reloads (SIGHUP), by outcome.";
    m_tlsReloadsOk = &m_metrics->counter("parley_tls_reloads", reloadsHelp, {{"outcome", "ok"}});
    m_tlsReloadsFailed
        = &m_metrics->counter("parley_tls_reloads", reloadsHelp, {{"outcome", "failed"}});

    std::optional<QSslConfiguration> tls;
    if (m_config.useTls()) {
        tls = loadTlsFiles(m_config.tlsCertFile, m_config.tlsKeyFile, error);
        if (!tls)
            return false;
        qCInfo(lcServer).noquote()
            << "TLS certificate:" << describeCertificate(tls->localCertificate());
    }

    if (m_config.store == StoreBackend::DynamoDb) {
        DynamoStoreOptions options;
        options.endpoint = m_config.dynamodbEndpoint;
        options.tablePrefix = m_config.dynamodbTablePrefix;
        options.createTables = m_config.createTables;
        options.searchIndexIntervalMs = m_config.searchIndexIntervalMs;
        options.nodeLeaseMs = m_config.searchIndexLeaseSeconds * 1000;
        options.backfillLeaseMs = options.nodeLeaseMs;
        m_store = std::make_unique<DynamoStore>(options, m_metrics.get());
    } else
        m_store = std::make_unique<SqliteStore>(m_config.dataDir);
    if (!m_store->open(error))
        return false;
    if (m_config.redisUrl.isEmpty()) {
        m_bus = std::make_unique<LocalBus>();
    } else {
        const std::optional<redis::RedisUrl> url = redis::parseRedisUrl(m_config.redisUrl, error);
        if (!url)
            return false;
        m_bus = std::make_unique<redis::RedisBus>(
            redis::RedisBusOptions {*url, m_config.nodeId}, m_store.get(), m_metrics.get());
    }
    if (!m_bus->open(error))
        return false;
    m_hasher = std::make_unique<PasswordHasher>();
    m_service = std::make_unique<ChatService>(
        m_config, m_store.get(), m_bus.get(), m_hasher.get(), m_metrics.get());

    HttpEndpoints endpoints {[this](bool details) { return healthResponse(false, details); },
        [this](bool details) { return healthResponse(true, details); },
        [this] { return metricsResponse(); }};
    for (int i = 0; i < m_config.workerThreads; ++i) {
        auto *thread = new QThread(this);
        thread->setObjectName(u"parley-io-%1"_s.arg(i));
        auto *worker = new Worker(m_service.get(), endpoints, tls, i);
        worker->moveToThread(thread);
        // Thousands of sockets a thread: epoll on Linux instead of Qt's poll-everything.
        process::useScalableDispatcher(thread);
        connect(thread, &QThread::finished, worker, &QObject::deleteLater);
        connect(worker, &Worker::drained, this, [this] {
            if (++m_drainedWorkers == m_workers.size())
                finishShutdown();
        });
        thread->start();
        m_threads.append(thread);
        m_workers.append(worker);
    }

    m_listener = new Listener(m_workers, this);
    m_listener->setMaxPendingConnections(1024);
    if (!m_listener->listen(m_config.listenAddress, m_config.listenPort)) {
        *error = u"cannot listen on %1:%2: %3"_s.arg(m_config.listenAddress.toString())
                     .arg(m_config.listenPort)
                     .arg(m_listener->errorString());
        return false;
    }
    qCInfo(lcServer) << "node" << m_config.nodeId << "listening on"
                     << m_config.listenAddress.toString() << m_listener->serverPort() << "with"
                     << m_config.workerThreads << "socket threads ("
                     << process::eventDispatcherName(m_threads.constFirst()) << "dispatcher)";
    return true;
}

void Server::reloadTls()
{
    if (!m_config.useTls()) {
        qCInfo(lcServer) << "SIGHUP: TLS is off, nothing to reload";
        return;
    }
    QString error;
    const std::optional<QSslConfiguration> tls
        = loadTlsFiles(m_config.tlsCertFile, m_config.tlsKeyFile, &error);
    if (!tls) {
        m_tlsReloadsFailed->inc();
        qCWarning(lcServer).noquote()
            << "TLS reload failed, still serving the previous certificate:" << error;
        return;
    }
    // Each worker hands the new configuration to the sockets it accepts from now on;
    // sockets already encrypted keep their session.
    for (Worker *worker : std::as_const(m_workers))
        worker->setTlsConfigurationLater(*tls);
    m_tlsReloadsOk->inc();
    qCInfo(lcServer).noquote() << "TLS certificate reloaded:"
                               << describeCertificate(tls->localCertificate());
}

quint16 Server::port() const
{
    return m_listener ? m_listener->serverPort() : 0;
}

void Server::shutdown()
{
    if (m_stopping)
        return;
    m_stopping = true;
    qCInfo(lcServer) << "shutting down: draining" << (m_service ? m_service->connections() : 0)
                     << "connections";
    if (m_listener)
        m_listener->close();
    if (m_workers.isEmpty()) {
        finishShutdown();
        return;
    }
    for (Worker *worker : std::as_const(m_workers))
        worker->drainLater();
    QTimer::singleShot(std::chrono::seconds(m_config.drainTimeoutSeconds), this, [this] {
        if (!m_stopped) {
            qCWarning(lcServer) << "drain timed out; closing the remaining connections";
            finishShutdown();
        }
    });
}

void Server::finishShutdown()
{
    if (m_stopped)
        return;
    m_stopped = true;
    // Connections still open after the drain are closed now, so their users'
    // "last seen" is recorded before the store closes.
    for (Worker *worker : std::as_const(m_workers))
        worker->abortAllBlocking();
    // The bus first: the presence changes it reports on closing (these users going
    // offline) record their "last seen" in the store, which must still be open.
    // Then queued store work and password hashes: their callbacks post to the
    // workers, which must still exist to receive (and then drop) them.
    if (m_bus)
        m_bus->close();
    if (m_store)
        m_store->close();
    m_hasher.reset();
    for (QThread *thread : std::as_const(m_threads)) {
        thread->quit();
        thread->wait();
    }
    m_workers.clear();
    m_service.reset();
    qCInfo(lcServer) << "stopped";
    Q_EMIT stopped();
}

QByteArray Server::healthResponse(bool readiness, bool details) const
{
    const StoreHealth store = m_store->health();
    const BusHealth bus = m_bus->health();
    const bool ok = store.ok && bus.ok && !m_stopping;
    // Ready means "send users here": a node whose bus is down still stores and acks every
    // send (the store is the source of truth and catches the other nodes up once the bus
    // is back), so only the store and stopping take it out of a load balancer's rotation.
    const bool ready = store.ok && !m_stopping;
    QJsonObject body {
        {u"status"_s, ok ? u"ok"_s : (m_stopping ? u"stopping"_s : u"degraded"_s)},
        {u"version"_s, QStringLiteral(PARLEY_VERSION)},
        {u"node"_s, m_config.nodeId},
        {u"uptimeSeconds"_s, (QDateTime::currentMSecsSinceEpoch() - m_startedAt) / 1000},
        {u"connections"_s, m_service ? m_service->connections() : 0},
        {u"store"_s, QJsonObject {{u"ok"_s, store.ok}, {u"backend"_s, store.backend}}},
        {u"bus"_s, QJsonObject {{u"ok"_s, bus.ok}, {u"backend"_s, bus.backend}}},
    };
    if (details) {
        // Paths, endpoints and error texts: for the operator on the machine only.
        QJsonObject storePart = body.value(u"store"_s).toObject();
        storePart.insert(u"detail"_s, store.detail);
        body.insert(u"store"_s, storePart);
        QJsonObject busPart = body.value(u"bus"_s).toObject();
        busPart.insert(u"detail"_s, bus.detail);
        body.insert(u"bus"_s, busPart);
    }
    return HttpRequestParser::response(ready || !readiness ? 200 : 503, "application/json",
        QByteArray(QJsonDocument(body).toJson(QJsonDocument::Compact) + '\n'));
}

QByteArray Server::metricsResponse() const
{
    return HttpRequestParser::response(200, Metrics::ContentType, m_metrics->exposition());
}

} // namespace parley::server
