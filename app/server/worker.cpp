#include "worker.h"

#include "chatservice.h"
#include "frames.h"
#include "httprequestparser.h"
#include "logging.h"
#include "session.h"

#include <QSslSocket>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>
#include <QWebSocketServer>

using namespace Qt::StringLiterals;

namespace parley::server {

namespace {
// A client gets this long to finish TLS and send its request head.
constexpr int HeadTimeoutMs = 10000;
// How often the liveness sweep runs; each run handles one slice of the sessions.
constexpr int LivenessTickMs = 100;
} // namespace

Worker::Worker(
    ChatService *service, HttpEndpoints endpoints, std::optional<QSslConfiguration> tls, int index)
    : m_service(service)
    , m_endpoints(std::move(endpoints))
    , m_tls(std::move(tls))
{
    setObjectName(u"worker-%1"_s.arg(index));
    // Created in moveToThread's caller's thread but parented to this object, so
    // it moves along with the worker.
    m_webSockets
        = new QWebSocketServer(service->serverName(), QWebSocketServer::NonSecureMode, this);
    m_webSockets->setSupportedSubprotocols({u"parley.v1"_s});
    m_webSockets->setHandshakeTimeout(std::chrono::milliseconds(HeadTimeoutMs));
    m_webSockets->setMaxPendingConnections(1000);
    connect(m_webSockets, &QWebSocketServer::newConnection, this, &Worker::onNewWebSocket);

    // Every session is pinged once per ping interval, but not all in one go: the interval
    // is cut into slices of LivenessTickMs and each tick pings the sessions of its slice.
    // At 10,000 connections one pass pinging all of them held the thread for tens of
    // milliseconds, and every message that arrived meanwhile waited (docs/performance.md).
    m_livenessSlices = std::max(1, service->config().pingIntervalSeconds * 1000 / LivenessTickMs);
    m_liveness = new QTimer(this);
    m_liveness->setInterval(std::chrono::milliseconds(LivenessTickMs));
    connect(m_liveness, &QTimer::timeout, this, &Worker::livenessTick);
}

Worker::~Worker()
{
    // Sessions are children; delete them while the service is still alive.
    qDeleteAll(m_sessions);
    m_sessions.clear();
}

void Worker::adoptLater(qintptr descriptor)
{
    QMetaObject::invokeMethod(
        this, [this, descriptor] { adopt(descriptor); }, Qt::QueuedConnection);
}

void Worker::drainLater()
{
    QMetaObject::invokeMethod(
        this,
        [this] {
            m_draining = true;
            const auto sessions = m_sessions;
            for (Session *session : sessions)
                session->drain();
            checkDrained();
        },
        Qt::QueuedConnection);
}

void Worker::setTlsConfigurationLater(const QSslConfiguration &tls)
{
    QMetaObject::invokeMethod(
        this, [this, tls] { m_tls = tls; }, Qt::QueuedConnection);
}

void Worker::abortAllBlocking()
{
    QMetaObject::invokeMethod(
        this,
        [this] {
            const auto sessions = std::exchange(m_sessions, {});
            m_sessionCount.store(0);
            qDeleteAll(sessions);
        },
        Qt::BlockingQueuedConnection);
}

void Worker::adopt(qintptr descriptor)
{
    if (!m_liveness->isActive())
        m_liveness->start(); // started here: the timer must live on the worker's thread
    QTcpSocket *socket = nullptr;
    if (m_tls) {
        auto *ssl = new QSslSocket(this);
        ssl->setSslConfiguration(*m_tls);
        socket = ssl;
    } else {
        socket = new QTcpSocket(this);
    }
    if (!socket->setSocketDescriptor(descriptor)) {
        qCWarning(lcServerNet) << "could not adopt socket:" << socket->errorString();
        delete socket;
        return;
    }
    // Chat frames are small and latency-bound: never hold them back for Nagle.
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    if (m_draining) {
        socket->abort();
        socket->deleteLater();
        return;
    }
    if (auto *ssl = qobject_cast<QSslSocket *>(socket)) {
        connect(ssl, &QSslSocket::sslErrors, ssl, [ssl](const QList<QSslError> &errors) {
            qCInfo(lcServerNet) << "TLS handshake failed:" << errors.value(0).errorString();
            ssl->abort();
        });
        ssl->startServerEncryption();
    }
    beginHttp(socket);
}

void Worker::beginHttp(QTcpSocket *socket)
{
    // The request head is peeked, not read: an upgrade leaves every byte in
    // the socket for QWebSocketServer to parse the handshake itself.
    auto parser = std::make_shared<HttpRequestParser>();
    auto fed = std::make_shared<qsizetype>(0);
    auto *timer = new QTimer(socket);
    timer->setSingleShot(true);
    connect(timer, &QTimer::timeout, socket, [socket] {
        qCInfo(lcServerNet) << "no request head within" << HeadTimeoutMs << "ms; closing";
        socket->abort();
    });
    timer->start(HeadTimeoutMs);
    connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
    connect(
        socket, &QAbstractSocket::errorOccurred, socket, [socket](QAbstractSocket::SocketError) {
            if (socket->state() != QAbstractSocket::ConnectedState)
                socket->deleteLater();
        });

    auto onReadable = [this, socket, parser, fed, timer] {
        const QByteArray buffered = socket->peek(socket->bytesAvailable());
        if (buffered.size() <= *fed)
            return;
        const auto state = parser->feed(QByteArrayView(buffered).sliced(*fed));
        *fed = buffered.size();
        if (state == HttpRequestParser::State::NeedMore)
            return;
        timer->stop();
        disconnect(socket, &QIODevice::readyRead, this, nullptr);

        const bool head = parser->method() == "HEAD";
        auto respond = [socket, head](const QByteArray &response) {
            // A HEAD response carries the GET headers, Content-Length included, but no body
            // (RFC 9110 section 9.3.2).
            socket->write(head ? response.first(response.indexOf("\r\n\r\n") + 4) : response);
            socket->disconnectFromHost();
        };
        if (state == HttpRequestParser::State::Error) {
            respond(HttpRequestParser::response(parser->errorStatus(), "text/plain; charset=utf-8",
                QByteArray(parser->errorMessage().toUtf8() + '\n')));
            return;
        }
        const QByteArray path = parser->path();
        if (parser->isWebSocketUpgrade()) {
            if (path != "/ws") {
                respond(HttpRequestParser::response(
                    404, "text/plain; charset=utf-8", "WebSocket endpoint is /ws\n"));
                return;
            }
            const QStringList &allowed = m_service->config().allowedOrigins;
            const QByteArray origin = parser->header("Origin");
            if (!allowed.isEmpty() && !origin.isEmpty()
                && !allowed.contains(QString::fromUtf8(origin))) {
                qCInfo(lcServerNet) << "rejected WebSocket upgrade from origin" << origin;
                respond(HttpRequestParser::response(
                    403, "text/plain; charset=utf-8", "origin not allowed\n"));
                return;
            }
            if (m_draining) {
                respond(HttpRequestParser::response(
                    503, "text/plain; charset=utf-8", "server shutting down\n"));
                return;
            }
            disconnect(socket, nullptr, socket, nullptr);
            delete timer;
            socket->setParent(nullptr);
            m_webSockets->handleConnection(socket);
            // The handshake bytes are already buffered, so no new readyRead would come.
            QMetaObject::invokeMethod(socket, "readyRead", Qt::QueuedConnection);
            return;
        }
        if (parser->method() != "GET" && parser->method() != "HEAD") {
            QByteArray response
                = HttpRequestParser::response(405, "text/plain; charset=utf-8", "only GET\n");
            response.insert(response.indexOf("\r\n") + 2, "Allow: GET, HEAD\r\n");
            respond(response);
            return;
        }
        if (path == "/healthz")
            respond(m_endpoints.healthz());
        else if (path == "/readyz")
            respond(m_endpoints.readyz());
        else if (path == "/metrics")
            respond(m_endpoints.metrics());
        else
            respond(HttpRequestParser::response(404, "text/plain; charset=utf-8",
                "not found; try /healthz, /readyz, /metrics or a WebSocket on /ws\n"));
    };
    connect(socket, &QIODevice::readyRead, this, onReadable);
}

void Worker::onNewWebSocket()
{
    while (QWebSocket *socket = m_webSockets->nextPendingConnection()) {
        const ConnectionId id = m_service->newConnectionId();
        auto *session = new Session(socket, m_service, this, id);
        m_sessions.insert(id, session);
        m_sessionCount.store(int(m_sessions.size()));
        connect(session, &Session::finished, this, &Worker::onSessionFinished);
        if (m_draining)
            session->drain();
    }
}

void Worker::livenessTick()
{
    const quint64 slice = m_livenessTick++ % quint64(m_livenessSlices);
    QList<ConnectionId> due;
    for (auto it = m_sessions.cbegin(); it != m_sessions.cend(); ++it) {
        if (it.key() % quint64(m_livenessSlices) == slice)
            due.append(it.key());
    }
    // Looked up again: a check may drop a connection, and its session with it.
    for (const ConnectionId id : std::as_const(due)) {
        if (Session *session = m_sessions.value(id))
            session->livenessCheck();
    }
}

void Worker::onSessionFinished(ConnectionId id)
{
    if (Session *session = m_sessions.take(id))
        session->deleteLater();
    m_sessionCount.store(int(m_sessions.size()));
    checkDrained();
}

void Worker::checkDrained()
{
    if (m_draining && m_sessions.isEmpty())
        Q_EMIT drained();
}

} // namespace parley::server
