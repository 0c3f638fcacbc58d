#include "httppipeline.h"

#include "logging.h"

#include <QMetaObject>
#include <QPointer>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTimer>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace parley::server::aws {

struct HttpPipeline::Connection
{
    QTcpSocket *socket = nullptr; // a QSslSocket for https; child of the pipeline
    QTimer *timer = nullptr; // connect timeout, oldest request's deadline, idle close
    HttpResponseParser parser;
    std::deque<Request> written; // in the order sent, so in the order answered
    bool connected = false; // (and encrypted, for https): takes requests
    bool closing = false; // the server said `Connection: close`: takes no more
};

namespace {

bool isHttps(const QUrl &url)
{
    return url.scheme() == u"https"_s;
}

int portOf(const QUrl &url)
{
    return url.port(isHttps(url) ? 443 : 80);
}

// As SigV4 signs it: the host (IPv6 in brackets), and the port unless it is the default.
QByteArray hostHeader(const QUrl &url)
{
    QByteArray host = url.host(QUrl::FullyEncoded).toLatin1();
    if (host.contains(':'))
        host = '[' + host + ']';
    if (portOf(url) != (isHttps(url) ? 443 : 80))
        host += ':' + QByteArray::number(portOf(url));
    return host;
}

bool isHeaderSafe(QByteArrayView text)
{
    return !text.contains('\r') && !text.contains('\n');
}

} // namespace

HttpPipeline::HttpPipeline(const QUrl &origin, HttpLimits limits, QObject *parent)
    : QObject(parent)
    , m_origin(origin)
    , m_host(hostHeader(origin))
    , m_limits(limits)
    , m_ssl(QSslConfiguration::defaultConfiguration())
{
    m_limits.connections = std::max(1, m_limits.connections);
    m_limits.perConnection = std::max(1, m_limits.perConnection);
    m_limits.inFlight = std::max(1, m_limits.inFlight);
}

// The sockets are children and go with this object; their signals must not reach the
// connection records, which go first.
HttpPipeline::~HttpPipeline()
{
    for (const auto &connection : m_connections)
        connection->socket->disconnect(this);
}

void HttpPipeline::setSslConfiguration(const QSslConfiguration &configuration)
{
    m_ssl = configuration;
}

void HttpPipeline::post(const QByteArray &path,
    const QList<std::pair<QByteArray, QByteArray>> &headers, const QByteArray &body, Done done)
{
    bool safe = isHeaderSafe(path) && !path.contains(' ');
    QByteArray bytes = "POST " + path + " HTTP/1.1\r\nHost: " + m_host
        + "\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n";
    for (const auto &[name, value] : headers) {
        safe = safe && isHeaderSafe(name) && isHeaderSafe(value) && !name.contains(':');
        bytes += name + ": " + value + "\r\n";
    }
    if (!safe) {
        // Not from inside post(), as promised.
        QMetaObject::invokeMethod(
            this,
            [done = std::move(done)] {
                done(HttpResult {{}, u"line break or bad character in the request head"_s});
            },
            Qt::QueuedConnection);
        return;
    }
    bytes += "\r\n" + body;
    m_queue.push_back({std::move(bytes), std::move(done), {}});
    pump();
}

// Hands queued requests to connected connections, the least busy first, and opens a new
// connection while every open one is busy and the queue is longer than what the
// connections still opening will take.
void HttpPipeline::pump()
{
    while (!m_queue.empty() && m_inFlight < m_limits.inFlight) {
        Connection *best = nullptr;
        qsizetype opening = 0;
        for (const auto &connection : m_connections) {
            if (!connection->connected) {
                ++opening;
                continue;
            }
            if (connection->closing || connection->written.size() >= size_t(m_limits.perConnection))
                continue;
            if (!best || connection->written.size() < best->written.size())
                best = connection.get();
        }
        const bool allBusy = !best || !best->written.empty();
        if (allBusy && m_connections.size() < size_t(m_limits.connections)
            && qsizetype(m_queue.size()) > opening * m_limits.perConnection) {
            openConnection();
            continue;
        }
        if (!best)
            return;
        write(best);
    }
}

void HttpPipeline::write(Connection *connection)
{
    Request request = std::move(m_queue.front());
    m_queue.pop_front();
    connection->socket->write(request.bytes);
    request.bytes = {}; // never sent twice: a failure goes back to the caller
    request.written.start();
    connection->written.push_back(std::move(request));
    ++m_inFlight;
    if (connection->written.size() == 1)
        armTimer(connection); // from the idle timeout to this request's deadline
}

void HttpPipeline::openConnection()
{
    auto owned = std::make_unique<Connection>();
    Connection *connection = owned.get();
    m_connections.push_back(std::move(owned));

    QTcpSocket *socket = nullptr;
    if (isHttps(m_origin)) {
        auto *ssl = new QSslSocket(this);
        ssl->setSslConfiguration(m_ssl);
        connect(ssl, &QSslSocket::encrypted, this, [this, connection] { onConnected(connection); });
        socket = ssl;
    } else {
        socket = new QTcpSocket(this);
        connect(
            socket, &QTcpSocket::connected, this, [this, connection] { onConnected(connection); });
    }
    connection->socket = socket;
    connection->timer = new QTimer(socket);
    connection->timer->setSingleShot(true);
    connect(
        connection->timer, &QTimer::timeout, this, [this, connection] { onDeadline(connection); });
    connect(socket, &QTcpSocket::readyRead, this,
        [this, connection] { onReadable(connection, false); });
    connect(socket, &QTcpSocket::errorOccurred, this,
        [this, connection](QAbstractSocket::SocketError error) {
            if (error == QAbstractSocket::RemoteHostClosedError) {
                onReadable(connection, true); // may end a close-delimited body
                return;
            }
            finish(detach(connection, connection->socket->errorString()));
        });
    connect(socket, &QTcpSocket::disconnected, this,
        [this, connection] { onReadable(connection, true); });

    connection->timer->start(m_limits.timeoutMs);
    const QString host = m_origin.host();
    const quint16 port = quint16(portOf(m_origin));
    if (auto *ssl = qobject_cast<QSslSocket *>(socket))
        ssl->connectToHostEncrypted(host, port); // SNI and verification against `host`
    else
        socket->connectToHost(host, port);
}

void HttpPipeline::onConnected(Connection *connection)
{
    connection->connected = true;
    // Pipelined requests are small writes; waiting for ACKs would stall them.
    connection->socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    armTimer(connection);
    pump();
}

void HttpPipeline::onReadable(Connection *connection, bool closed)
{
    QList<HttpResponse> responses;
    bool healthy = connection->parser.feed(connection->socket->readAll(), &responses);
    if (healthy && closed)
        healthy = connection->parser.finish(&responses);

    Finished finished;
    QString problem = healthy ? QString() : connection->parser.errorString();
    for (HttpResponse &response : responses) {
        if (connection->written.empty() || connection->closing) {
            problem = u"an answer to no request"_s;
            break;
        }
        Request request = std::move(connection->written.front());
        connection->written.pop_front();
        --m_inFlight;
        connection->closing = response.closesConnection;
        finished.emplace_back(std::move(request.done), HttpResult {std::move(response), {}});
    }
    if (closed && problem.isEmpty())
        problem = u"the server closed the connection"_s;
    if (connection->closing && problem.isEmpty())
        problem = u"the server closed the connection (Connection: close)"_s;

    if (!problem.isEmpty()) {
        Finished failed = detach(connection, problem);
        std::move(failed.begin(), failed.end(), std::back_inserter(finished));
    } else {
        armTimer(connection);
    }
    finish(std::move(finished));
}

void HttpPipeline::onDeadline(Connection *connection)
{
    if (!connection->connected) {
        finish(detach(connection, u"no connection within %1 ms"_s.arg(m_limits.timeoutMs), true));
    } else if (connection->written.empty()) {
        finish(detach(connection, u"idle"_s)); // fails nothing
    } else if (connection->written.front().written.elapsed() >= m_limits.timeoutMs) {
        finish(detach(connection, u"no answer within %1 ms"_s.arg(m_limits.timeoutMs), true));
    } else {
        armTimer(connection);
    }
}

void HttpPipeline::armTimer(Connection *connection)
{
    if (!connection->connected)
        return; // the connect timeout set when it opened keeps running
    if (connection->written.empty()) {
        connection->timer->start(m_limits.idleMs);
        return;
    }
    const qint64 left = m_limits.timeoutMs - connection->written.front().written.elapsed();
    connection->timer->start(int(std::max<qint64>(0, left)));
}

HttpPipeline::Finished HttpPipeline::detach(
    Connection *connection, const QString &error, bool headTimedOut)
{
    const auto it = std::find_if(m_connections.begin(), m_connections.end(),
        [connection](const auto &owned) { return owned.get() == connection; });
    if (it == m_connections.end())
        return {};
    std::unique_ptr<Connection> owned = std::move(*it);
    m_connections.erase(it);
    // Deleted later: this may run inside one of the socket's own signals.
    owned->socket->disconnect(this);
    owned->timer->stop();
    owned->timer->disconnect(this);
    owned->socket->abort();
    owned->socket->deleteLater();

    Finished failed;
    m_inFlight -= int(owned->written.size());
    for (Request &request : owned->written) {
        const bool timedOut = headTimedOut && failed.empty();
        failed.emplace_back(std::move(request.done),
            HttpResult {
                {}, timedOut ? error : u"connection lost before the answer: "_s + error, timedOut});
    }
    const bool anotherUp = std::any_of(m_connections.begin(), m_connections.end(),
        [](const auto &other) { return other->connected; });
    if (!owned->connected && !anotherUp) {
        // Nothing can carry the queue: give it back to the callers rather than let it wait.
        for (Request &request : m_queue)
            failed.emplace_back(std::move(request.done),
                HttpResult {{}, u"cannot connect: "_s + error, headTimedOut});
        m_queue.clear();
    }
    if (!failed.empty())
        qCDebug(lcServerDynamo).noquote()
            << "HTTP connection to" << m_origin.host() << "dropped:" << error << "-"
            << failed.size() << "requests failed";
    return failed;
}

void HttpPipeline::finish(Finished finished)
{
    const QPointer<HttpPipeline> self(this);
    for (auto &[done, result] : finished) {
        done(std::move(result));
        if (!self)
            return;
    }
    pump();
}

} // namespace parley::server::aws
