#include "connection.h"

#include "codec.h"
#include "logging.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QHostAddress>
#include <QNetworkInformation>
#include <QNetworkRequest>
#include <QRegularExpression>
#include <QSslCertificate>
#include <QWebSocket>

#include <algorithm>
#include <limits>

using namespace Qt::StringLiterals;

namespace parley::client {

namespace {

// The rid of the sign-in frame; its reply is recognised by it.
const QString SignInRid = u"auth"_s;

// History pages and search results come back in one message each; well above the largest
// page the server builds (500 messages of 4000 characters), far below Qt's 2 GiB default.
constexpr quint64 MaxIncomingMessageBytes = 64 * 1024 * 1024;

bool isLoopbackHost(const QString &host)
{
    if (host.compare("localhost"_L1, Qt::CaseInsensitive) == 0)
        return true;
    const QHostAddress address(host);
    return !address.isNull() && address.isLoopback();
}

// Why open() must not connect to url, or empty when it may.
QString urlProblem(const QUrl &url)
{
    if (!url.isValid() || url.host().isEmpty())
        return u"no valid server address is set"_s;
    const QString scheme = url.scheme().toLower();
    if (scheme == "wss"_L1)
        return {};
    if (scheme == "ws"_L1) {
        if (isLoopbackHost(url.host()))
            return {};
        return u"refusing an unencrypted connection to %1; use wss://"_s.arg(url.host());
    }
    return u"unsupported address scheme '%1'; use wss://"_s.arg(url.scheme());
}

protocol::ClientFrame signInFrame(const SignIn &signIn)
{
    switch (signIn.kind) {
    case SignIn::Kind::Register:
        return protocol::Register {SignInRid, signIn.user, signIn.password, signIn.device};
    case SignIn::Kind::Login:
        return protocol::Login {SignInRid, signIn.user, signIn.password, signIn.device};
    case SignIn::Kind::Resume:
        break;
    }
    return protocol::Resume {SignInRid, signIn.token};
}

// Only a struggling server is worth retrying; every other refusal would repeat itself.
bool isTransient(protocol::ErrorCode code)
{
    switch (code) {
    case protocol::ErrorCode::RateLimited:
    case protocol::ErrorCode::Unavailable:
    case protocol::ErrorCode::Internal:
        return true;
    default:
        return false;
    }
}

// The certificate the server presented (its leaf) while the handshake waits on sslErrors.
QSslCertificate leafCertificate(const QWebSocket &socket, const QList<QSslError> &errors)
{
    if (const QSslCertificate peer = socket.sslConfiguration().peerCertificate(); !peer.isNull())
        return peer;
    // Not known to the socket yet: the errors carry the certificates they are about.
    for (const QSslError &error : errors) {
        if (!error.certificate().isNull())
            return error.certificate();
    }
    return QSslCertificate();
}

int tickIntervalMs(const ConnectionOptions &options)
{
    // Fine enough to ping and to notice a dead link on time, never busier than needed.
    return std::clamp(std::min(options.pingIntervalMs, options.deadAfterMs / 4), 50, 1000);
}

} // namespace

QString connectionStateName(ConnectionState state)
{
    switch (state) {
    case ConnectionState::Offline:
        return u"offline"_s;
    case ConnectionState::Connecting:
        return u"connecting"_s;
    case ConnectionState::Authenticating:
        return u"authenticating"_s;
    case ConnectionState::Online:
        return u"online"_s;
    case ConnectionState::Backoff:
        return u"backoff"_s;
    }
    return u"unknown"_s;
}

Connection::Connection(Options options, QObject *parent)
    : QObject(parent)
    , m_options(options)
    , m_backoff(options.backoff)
{
    m_monotonic.start();
    m_backoffTimer.setSingleShot(true);
    // Precise, so that backoffRemainingMs() never reports more than the drawn delay.
    m_backoffTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_backoffTimer, &QTimer::timeout, this, &Connection::startAttempt);
    m_tick.setInterval(tickIntervalMs(m_options));
    connect(&m_tick, &QTimer::timeout, this, &Connection::onTick);
    if (m_options.watchNetwork)
        watchNetwork();
}

Connection::~Connection()
{
    m_tick.stop();
    m_backoffTimer.stop();
    dropSocket(SocketEnd::Close);
}

void Connection::setServer(const QUrl &url, const QByteArray &pinnedSha256)
{
    m_url = url;
    // A bare ws://host:port (or with "/") means Parley's endpoint, as in the desktop's
    // sign-in dialog and docs/protocol.md §1.
    if (m_url.path().isEmpty() || m_url.path() == u"/"_s)
        m_url.setPath(u"/ws"_s);
    m_pinnedSha256 = pinnedSha256;
}

void Connection::setSignIn(const SignIn &signIn)
{
    m_signIn = signIn;
}

void Connection::open()
{
    if (m_wanted && m_state != ConnectionState::Offline)
        return; // already connected or on the way
    if (const QString problem = urlProblem(m_url); !problem.isEmpty()) {
        qCWarning(lcClientNet) << "not connecting:" << problem;
        m_wanted = false;
        Q_EMIT errorOccurred(problem);
        return;
    }
    m_wanted = true;
    startAttempt();
}

void Connection::close()
{
    m_wanted = false;
    dropSocket(SocketEnd::Close);
    setState(ConnectionState::Offline);
}

void Connection::reconnectNow()
{
    if (!m_wanted)
        return;
    qCInfo(lcClientNet).noquote() << "reconnecting now from" << connectionStateName(m_state);
    if (m_state == ConnectionState::Online)
        m_backoff.linkDown(nowMs(), LinkEnd::Lost);
    startAttempt();
}

bool Connection::send(const protocol::ClientFrame &frame)
{
    if (!m_socket
        || (m_state != ConnectionState::Online && m_state != ConnectionState::Authenticating))
        return false;
    return m_socket->sendTextMessage(QString::fromUtf8(protocol::encode(frame))) > 0;
}

qint64 Connection::backoffRemainingMs() const
{
    return m_state == ConnectionState::Backoff ? m_backoffTimer.remainingTime() : -1;
}

void Connection::setState(ConnectionState state)
{
    if (m_state == state)
        return;
    qCInfo(lcClientNet).noquote() << "connection" << connectionStateName(m_state) << "->"
                                  << connectionStateName(state);
    m_state = state;
    if (state == ConnectionState::Offline) {
        m_tick.stop();
        m_backoffTimer.stop();
    } else if (!m_tick.isActive()) {
        m_lastTickMonoMs = nowMs();
        m_lastTickWallMs = QDateTime::currentMSecsSinceEpoch();
        m_tick.start();
    }
    Q_EMIT stateChanged(state);
}

void Connection::startAttempt()
{
    dropSocket(SocketEnd::Abort);
    m_backoffTimer.stop();
    const qint64 now = nowMs();
    m_attemptStartedMs = now;
    m_lastSignOfLifeMs = now;
    m_lastPingMs = now;
    setState(ConnectionState::Connecting);
    if (!m_wanted || m_state != ConnectionState::Connecting)
        return; // a stateChanged handler closed or restarted us

    m_socketError = QAbstractSocket::UnknownSocketError;
    auto *socket = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
    m_socket = socket;
    socket->setMaxAllowedIncomingMessageSize(MaxIncomingMessageBytes);
    connect(socket, &QWebSocket::textMessageReceived, this, &Connection::onTextMessage);
    connect(socket, &QWebSocket::pong, this, [this] { m_lastSignOfLifeMs = nowMs(); });
    connect(socket, &QWebSocket::sslErrors, this, &Connection::onSslErrors);
    connect(socket, &QWebSocket::disconnected, this, &Connection::onSocketGone);
    connect(socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
        [this](QAbstractSocket::SocketError error) {
            m_socketError = error;
            // A peer that closes is reported again by `disconnected`, with the close code.
            if (error != QAbstractSocket::RemoteHostClosedError)
                onSocketGone();
        });

    QNetworkRequest request(m_url);
    request.setRawHeader("Sec-WebSocket-Protocol", "parley.v1");
    qCDebug(lcClientNet) << "connecting to" << m_url.toDisplayString();
    socket->open(request);
}

void Connection::linkLost(const QString &reason)
{
    linkLost(reason, 0);
}

void Connection::linkLost(const QString &reason, qint64 minDelayMs, LinkEnd end)
{
    if (m_state == ConnectionState::Online)
        m_backoff.linkDown(nowMs(), end);
    dropSocket(SocketEnd::Abort);
    if (m_wanted) {
        const qint64 delay = std::max(m_backoff.nextDelayMs(), minDelayMs);
        qCInfo(lcClientNet).noquote()
            << "link lost:" << reason << "- next attempt in" << delay << "ms";
        m_backoffTimer.start(int(std::min<qint64>(delay, std::numeric_limits<int>::max())));
        setState(ConnectionState::Backoff);
    } else {
        qCInfo(lcClientNet).noquote() << "link lost:" << reason;
        setState(ConnectionState::Offline);
    }
    // After the state change, so a handler sees the state and backoffRemainingMs().
    Q_EMIT errorOccurred(reason);
}

void Connection::onTextMessage(const QString &text)
{
    m_lastSignOfLifeMs = nowMs();
    const auto decoded = protocol::decodeServerFrame(text.toUtf8());

    if (m_state == ConnectionState::Connecting) {
        const auto *hello = decoded ? std::get_if<protocol::Hello>(&decoded.value()) : nullptr;
        if (!hello) {
            const QString reason
                = u"the server at %1 answered the WebSocket but not with Parley's hello: is it "
                  u"a Parley server?"_s.arg(m_url.toDisplayString());
            linkLost(reason);
            Q_EMIT connectFailed(u"connect.not_parley"_s, reason);
            return;
        }
        if (hello->protocol != protocol::ProtocolVersion) {
            const QString reason
                = u"the server speaks protocol version %1, this client %2"_s.arg(hello->protocol)
                      .arg(protocol::ProtocolVersion);
            qCWarning(lcClientNet).noquote() << reason;
            close();
            Q_EMIT errorOccurred(reason);
            return;
        }
        m_hello = *hello;
        m_socket->sendTextMessage(QString::fromUtf8(protocol::encode(signInFrame(m_signIn))));
        setState(ConnectionState::Authenticating);
        return;
    }

    if (!decoded) {
        // A newer server may send frame types or values this client does not know.
        qCWarning(lcClientNet) << "dropping a frame that does not decode:"
                               << decoded.error().message << "type" << decoded.error().type;
        return;
    }
    if (m_state == ConnectionState::Authenticating) {
        onSignInReply(decoded.value());
    } else if (m_state == ConnectionState::Online) {
        m_backoff.trafficSeen();
        Q_EMIT frameReceived(decoded.value());
    }
}

void Connection::onSignInReply(const protocol::ServerFrame &frame)
{
    if (const auto *welcome = std::get_if<protocol::Welcome>(&frame)) {
        // The next reconnect resumes; the password is not kept.
        m_signIn
            = SignIn {SignIn::Kind::Resume, welcome->user, {}, welcome->token, welcome->device};
        const qint64 now = nowMs();
        m_backoff.linkUp(now);
        m_lastSignOfLifeMs = now;
        m_lastPingMs = now;
        qCInfo(lcClientNet) << "signed in as" << welcome->user << "on node" << m_hello.node;
        setState(ConnectionState::Online);
        if (m_state == ConnectionState::Online)
            Q_EMIT welcomed(*welcome);
        return;
    }
    const auto *error = std::get_if<protocol::Error>(&frame);
    if (!error || error->rid != SignInRid) {
        // Not the sign-in's answer (the server answers held requests only after it).
        Q_EMIT frameReceived(frame);
        return;
    }
    const QString what
        = u"sign-in refused (%1: %2)"_s.arg(protocol::errorCodeName(error->code), error->message);
    if (isTransient(error->code)) {
        linkLost(what, error->retryAfterMs.value_or(0));
        return;
    }
    qCWarning(lcClientNet).noquote() << what;
    close();
    Q_EMIT authenticationFailed(*error);
}

void Connection::onSslErrors(const QList<QSslError> &errors)
{
    if (!m_socket)
        return;
    const QSslCertificate leaf = leafCertificate(*m_socket, errors);
    const QByteArray sha256 = leaf.isNull()
        ? QByteArray()
        : QCryptographicHash::hash(leaf.toDer(), QCryptographicHash::Sha256);
    if (!m_pinnedSha256.isEmpty() && sha256 == m_pinnedSha256) {
        qCDebug(lcClientNet) << "accepting the pinned certificate despite" << errors;
        m_socket->ignoreSslErrors(errors);
        return;
    }
    QStringList problems;
    for (const QSslError &error : errors)
        problems.append(error.errorString());
    const QString reason
        = u"the server's certificate is not trusted (%1)"_s.arg(problems.join(u"; "_s));
    qCWarning(lcClientNet).noquote() << reason << "- SHA-256" << sha256.toHex(':');
    // Retrying would only meet the same certificate: wait for the user's decision.
    dropSocket(SocketEnd::Abort);
    close();
    Q_EMIT untrustedCertificate(errors, sha256);
    Q_EMIT errorOccurred(reason);
}

std::pair<QString, QString> Connection::classifyConnectFailure() const
{
    const QString where = m_url.toDisplayString();
    const QString detail = m_socket ? m_socket->errorString() : QString();
    // `disconnected` may come before the error signal: then the socket knows the error.
    const QAbstractSocket::SocketError error
        = m_socketError == QAbstractSocket::UnknownSocketError && m_socket ? m_socket->error()
                                                                           : m_socketError;
    switch (error) {
    case QAbstractSocket::HostNotFoundError:
        return {u"connect.host_not_found"_s,
            u"the server name %1 was not found (%2)"_s.arg(m_url.host(), detail)};
    case QAbstractSocket::SocketTimeoutError:
        return {u"connect.timeout"_s, u"no answer from %1 (%2)"_s.arg(where, detail)};
    case QAbstractSocket::SslHandshakeFailedError:
    case QAbstractSocket::SslInternalError:
    case QAbstractSocket::SslInvalidUserDataError:
        return {u"connect.tls"_s, u"the TLS handshake with %1 failed: %2"_s.arg(where, detail)};
    case QAbstractSocket::ConnectionRefusedError: {
        // QWebSocket reports an HTTP answer other than 101 as a refusal, with the status
        // in its error string ("... Unhandled http status code: 404 (Not Found).").
        static const QRegularExpression status(u"status code: (\\d+)(?: \\((.*)\\))?"_s);
        const QRegularExpressionMatch match = status.match(detail);
        if (match.hasMatch()) {
            const QString code = match.captured(1);
            if (code == u"404"_s)
                return {u"connect.http_404"_s,
                    u"the server at %1 answered HTTP 404 Not Found instead of a WebSocket: "
                    u"Parley's address ends in /ws"_s.arg(where)};
            return {u"connect.http_"_s + code,
                u"the server at %1 answered HTTP %2 %3 instead of a WebSocket"_s.arg(
                    where, code, match.captured(2))};
        }
        if (detail.contains(u"processHandshake"_s))
            return {u"connect.not_parley"_s,
                u"the server at %1 does not speak WebSocket (%2)"_s.arg(where, detail)};
        return {u"connect.refused"_s,
            u"nothing accepts connections at %1:%2 (connection refused)"_s.arg(m_url.host())
                .arg(m_url.port(m_url.scheme() == u"wss"_s ? 443 : 80))};
    }
    default:
        return {u"connect.lost"_s,
            u"the connection to %1 was lost during the handshake (%2)"_s.arg(where, detail)};
    }
}

void Connection::onSocketGone()
{
    if (!m_socket)
        return;
    if (m_state == ConnectionState::Connecting) {
        const auto [code, reason] = classifyConnectFailure();
        linkLost(reason);
        Q_EMIT connectFailed(code, reason);
        return;
    }
    QString reason;
    const int code = int(m_socket->closeCode());
    if (code != QWebSocketProtocol::CloseCodeNormal || !m_socket->closeReason().isEmpty()) {
        reason = u"the connection was closed (%1 %2)"_s.arg(code)
                     .arg(m_socket->closeReason())
                     .trimmed();
    } else {
        reason = u"the connection was lost (%1)"_s.arg(m_socket->errorString());
    }
    // 1006 (no close frame) is the network; a close frame is the server's decision.
    LinkEnd end = LinkEnd::Lost;
    if (code == QWebSocketProtocol::CloseCodeGoingAway || code == 1012)
        end = LinkEnd::ServerRestart;
    else if (code != QWebSocketProtocol::CloseCodeAbnormalDisconnection
        && code != QWebSocketProtocol::CloseCodeNormal)
        end = LinkEnd::ServerClosed;
    linkLost(reason, 0, end);
}

void Connection::onTick()
{
    const qint64 now = nowMs();
    const qint64 wall = QDateTime::currentMSecsSinceEpoch();
    // The monotonic clock stands still while the machine sleeps; the wall clock does not.
    const qint64 slept = (wall - m_lastTickWallMs) - (now - m_lastTickMonoMs);
    m_lastTickMonoMs = now;
    m_lastTickWallMs = wall;
    if (slept > m_options.sleepDetectMs && m_state != ConnectionState::Offline) {
        qCInfo(lcClientNet) << "woke up after about" << slept / 1000 << "s asleep";
        reconnectNow(); // whatever link there was is suspect
        return;
    }

    switch (m_state) {
    case ConnectionState::Connecting:
    case ConnectionState::Authenticating:
        if (now - m_attemptStartedMs > m_options.connectTimeoutMs) {
            const QString reason = u"could not connect within %1 s (to %2)"_s.arg(
                QString::number(m_options.connectTimeoutMs / 1000.0), m_url.toDisplayString());
            const bool connecting = m_state == ConnectionState::Connecting;
            linkLost(reason);
            if (connecting)
                Q_EMIT connectFailed(u"connect.timeout"_s, reason);
        }
        break;
    case ConnectionState::Online:
        if (now - m_lastSignOfLifeMs > m_options.deadAfterMs) {
            linkLost(
                u"no answer from the server for %1 s"_s.arg((now - m_lastSignOfLifeMs) / 1000.0));
        } else if (now - m_lastPingMs >= m_options.pingIntervalMs && m_socket) {
            m_lastPingMs = now;
            m_socket->ping();
        }
        break;
    case ConnectionState::Offline:
    case ConnectionState::Backoff:
        break;
    }
}

void Connection::watchNetwork()
{
    // By feature rather than loadDefaultBackend(): on Linux that one only tries
    // NetworkManager, while the glib backend reports reachability as well.
    if (!QNetworkInformation::loadBackendByFeatures(QNetworkInformation::Feature::Reachability)) {
        qCDebug(lcClientNet) << "no network information backend; relying on pings alone";
        return;
    }
    QNetworkInformation *info = QNetworkInformation::instance();
    qCDebug(lcClientNet) << "following network reachability from" << info->backendName();
    connect(info, &QNetworkInformation::reachabilityChanged, this,
        [this](QNetworkInformation::Reachability reachability) {
            qCDebug(lcClientNet) << "network reachability:" << reachability;
            if (reachability == QNetworkInformation::Reachability::Disconnected) {
                // Ask at once: the pong (or its absence) tells whether this link survived.
                if (m_state == ConnectionState::Online && m_socket)
                    m_socket->ping();
            } else if (reachability != QNetworkInformation::Reachability::Unknown
                && m_state == ConnectionState::Backoff) {
                reconnectNow();
            }
        });
}

void Connection::dropSocket(SocketEnd end)
{
    QWebSocket *socket = m_socket;
    m_socket = nullptr;
    if (!socket)
        return;
    socket->disconnect(this); // nothing more from this socket reaches the state machine
    // A close handshake needs an open link; anything earlier is simply cut.
    if (end == SocketEnd::Close && socket->state() == QAbstractSocket::ConnectedState)
        socket->close(QWebSocketProtocol::CloseCodeNormal);
    else
        socket->abort();
    socket->deleteLater();
}

} // namespace parley::client
