#include "worker.h"

#include "chatservice.h"
#include "frames.h"
#include "httprequestparser.h"
#include "logformat.h"
#include "logging.h"
#include "logthrottle.h"
#include "session.h"

#include <QDateTime>
#include <QHostAddress>
#include <QTimer>

using namespace Qt::StringLiterals;

namespace parley::server {

namespace {
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
    m_linkLimits.maxMessageBytes = protocol::MaxFrameBytes;
    m_linkLimits.stallTimeoutMs = service->config().slowReaderSeconds * 1000;
    m_flusher = new LinkFlusher(this); // a child: it moves to the worker's thread with it

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
    // Links still in their HTTP phase are children too: they go before the flusher they use.
    const QObjectList children = this->children();
    for (QObject *child : children) {
        if (child != m_flusher && child != m_liveness)
            delete child;
    }
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
    auto *link = new Link(descriptor, m_tls, m_linkLimits, this, this, m_flusher);
    if (!link->start()) {
        delete link;
        return;
    }
    if (m_draining)
        link->abort();
}

void Worker::linkRequest(Link *link)
{
    const HttpRequestParser &request = link->request();
    const bool head = request.method() == "HEAD";
    auto respond = [link, head](const QByteArray &response) {
        // A HEAD response carries the GET headers, Content-Length included, but no body
        // (RFC 9110 section 9.3.2).
        link->respond(head ? response.first(response.indexOf("\r\n\r\n") + 4) : response);
    };
    if (request.state() == HttpRequestParser::State::Error) {
        respond(HttpRequestParser::response(request.errorStatus(), "text/plain; charset=utf-8",
            QByteArray(request.errorMessage().toUtf8() + '\n')));
        return;
    }
    const QByteArray path = request.path();
    if (request.isWebSocketUpgrade()) {
        if (path != "/ws") {
            respond(HttpRequestParser::response(
                404, "text/plain; charset=utf-8", "WebSocket endpoint is /ws\n"));
            return;
        }
        const QStringList &allowed = m_service->config().allowedOrigins;
        const QByteArray origin = request.header("Origin");
        if (!allowed.isEmpty() && !origin.isEmpty()
            && !allowed.contains(QString::fromUtf8(origin))) {
            m_service->connectionDropped("origin_refused");
            static thread_local LogThrottle throttle;
            if (quint64 more = 0; throttle.admit(QDateTime::currentMSecsSinceEpoch(), &more))
                qCInfo(lcServerNet).noquote() << "rejected WebSocket upgrade from origin"
                                              << process::logField(origin) << suppressedNote(more);
            respond(HttpRequestParser::response(
                403, "text/plain; charset=utf-8", "origin not allowed\n"));
            return;
        }
        if (m_draining) {
            respond(HttpRequestParser::response(
                503, "text/plain; charset=utf-8", "server shutting down\n"));
            return;
        }
        const QHostAddress client
            = clientAddress(QHostAddress(QString::fromLatin1(link->peerAddress())),
                request.header("X-Forwarded-For"), m_service->config().trustedProxies);
        if (!m_service->guard().openConnection(client)) {
            m_service->throttled("connections_per_address");
            static thread_local LogThrottle throttle;
            if (quint64 more = 0; throttle.admit(QDateTime::currentMSecsSinceEpoch(), &more))
                qCInfo(lcServerNet).noquote()
                    << "refused a connection from" << client.toString()
                    << "over --max-connections-per-address" << suppressedNote(more);
            QByteArray response = HttpRequestParser::response(
                429, "text/plain; charset=utf-8", "too many connections from your address\n");
            response.insert(response.indexOf("\r\n") + 2, "Retry-After: 30\r\n");
            respond(response);
            return;
        }
        if (link->upgrade("parley.v1"))
            startSession(link, client);
        else
            m_service->guard().closeConnection(client);
        return;
    }
    if (request.method() != "GET" && !head) {
        QByteArray response
            = HttpRequestParser::response(405, "text/plain; charset=utf-8", "only GET\n");
        response.insert(response.indexOf("\r\n") + 2, "Allow: GET, HEAD\r\n");
        respond(response);
        return;
    }
    // A reverse proxy on this machine connects from loopback too, but says whom for.
    const bool local = QHostAddress(QString::fromLatin1(link->peerAddress())).isLoopback()
        && !request.hasHeader("x-forwarded-for") && !request.hasHeader("forwarded")
        && !request.hasHeader("x-real-ip");
    if (path == "/healthz")
        respond(m_endpoints.healthz(local));
    else if (path == "/readyz")
        respond(m_endpoints.readyz(local));
    else if (path == "/metrics")
        respond(m_endpoints.metrics());
    else
        respond(HttpRequestParser::response(404, "text/plain; charset=utf-8",
            "not found; try /healthz, /readyz, /metrics or a WebSocket on /ws\n"));
}

void Worker::linkDropped(Link *link, Link::Drop why)
{
    switch (why) {
    case Link::Drop::HeadTimeout:
        static thread_local LogThrottle throttle;
        if (quint64 more = 0; throttle.admit(QDateTime::currentMSecsSinceEpoch(), &more))
            qCInfo(lcServerNet).noquote()
                << "no request head from" << link->peerAddress() << "within"
                << m_linkLimits.headTimeoutMs << "ms; closing" << suppressedNote(more);
        m_service->connectionDropped("head_timeout");
        break;
    case Link::Drop::CloseTimeout:
        m_service->connectionDropped("close_timeout");
        break;
    case Link::Drop::SlowReader:
        m_service->connectionDropped("slow_reader");
        break;
    case Link::Drop::ProtocolError:
        m_service->connectionDropped("protocol_error");
        break;
    case Link::Drop::None:
        break;
    }
}

void Worker::startSession(Link *link, const QHostAddress &client)
{
    const ConnectionId id = m_service->newConnectionId();
    auto *session = new Session(link, m_service, this, id, client);
    m_sessions.insert(id, session);
    m_sessionCount.store(int(m_sessions.size()));
    m_signInDeadlines.push_back({QDateTime::currentMSecsSinceEpoch()
            + qint64(m_service->config().authTimeoutSeconds) * 1000,
        id});
    connect(session, &Session::finished, this, &Worker::onSessionFinished);
    if (m_draining)
        session->drain();
}

void Worker::livenessTick()
{
    // Deadlines were queued in the order sessions started, all with the same timeout.
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    while (!m_signInDeadlines.isEmpty() && m_signInDeadlines.first().first <= now) {
        const ConnectionId id = m_signInDeadlines.takeFirst().second;
        if (Session *session = m_sessions.value(id))
            session->checkSignInDeadline();
    }

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
