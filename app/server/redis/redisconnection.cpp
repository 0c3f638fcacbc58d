#include "redisconnection.h"

#include "logging.h"

#include <QRandomGenerator>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTimer>

using namespace Qt::StringLiterals;

namespace parley::server::redis {

RedisConnection::RedisConnection(Options options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
{
    m_clock.start();
    m_reconnectTimer = new QTimer(this);
    m_reconnectTimer->setSingleShot(true);
    connect(m_reconnectTimer, &QTimer::timeout, this, &RedisConnection::connectNow);
    m_livenessTimer = new QTimer(this);
    m_livenessTimer->setInterval(std::max(100, m_options.pingIntervalMs / 2));
    connect(m_livenessTimer, &QTimer::timeout, this, &RedisConnection::checkLiveness);
}

RedisConnection::~RedisConnection()
{
    stop();
}

void RedisConnection::start()
{
    if (m_state != State::Stopped)
        return;
    m_attempt = 0;
    connectNow();
}

void RedisConnection::stop()
{
    if (m_state == State::Stopped)
        return;
    m_livenessTimer->stop();
    // Silent: a stop is no loss to report, and may run from the destructor.
    failLink(u"connection stopped"_s, false);
    m_state = State::Stopped;
    m_reconnectTimer->stop(); // failLink scheduled one
}

void RedisConnection::connectNow()
{
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        m_socket->deleteLater();
    }
    m_parser.reset();
    m_state = State::Connecting;
    if (m_options.url.tls) {
        auto *ssl = new QSslSocket(this);
        m_socket = ssl;
        connect(ssl, &QSslSocket::encrypted, this, &RedisConnection::onConnected);
        connect(ssl, &QSslSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
            failLink(u"TLS: "_s + errors.value(0).errorString());
        });
        ssl->connectToHostEncrypted(m_options.url.host, m_options.url.port);
    } else {
        m_socket = new QTcpSocket(this);
        connect(m_socket, &QTcpSocket::connected, this, &RedisConnection::onConnected);
        m_socket->connectToHost(m_options.url.host, m_options.url.port);
    }
    connect(m_socket, &QTcpSocket::readyRead, this, &RedisConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::errorOccurred, this, &RedisConnection::onSocketError);
    connect(m_socket, &QTcpSocket::disconnected, this,
        [this] { failLink(u"Redis closed the connection"_s); });
    m_livenessTimer->start();
    m_lastActivityMs = m_clock.elapsed();
}

void RedisConnection::onConnected()
{
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_socket->setSocketOption(QAbstractSocket::KeepAliveOption, 1);
    m_state = State::Handshaking;
    handshake();
}

void RedisConnection::handshake()
{
    // HELLO 3 switches to RESP3 (pub/sub messages become pushes) and
    // authenticates in the same round trip.
    QList<QByteArray> hello {"HELLO", "3"};
    if (!m_options.url.password.isEmpty()) {
        const QString user = m_options.url.user.isEmpty() ? u"default"_s : m_options.url.user;
        hello += {"AUTH", user.toUtf8(), m_options.url.password.toUtf8()};
    }
    if (!m_options.clientName.isEmpty())
        hello += {"SETNAME", m_options.clientName.toUtf8()};
    const QPointer<QTcpSocket> socket = m_socket;
    auto check = [this, socket](const char *step, bool last) {
        return [this, socket, step, last](const RespValue &reply) {
            if (socket != m_socket || m_state != State::Handshaking)
                return;
            if (reply.isError()) {
                // The reply text names the problem (WRONGPASS, NOPROTO...), never the password.
                failLink(
                    QString::fromLatin1(step) + u" failed: "_s + QString::fromUtf8(reply.string));
                return;
            }
            if (last) {
                m_state = State::Ready;
                m_attempt = 0;
                m_lastError.clear();
                qCInfo(lcServerRedis)
                    << "connected to" << m_options.url.redacted() << "as" << m_options.clientName;
                Q_EMIT ready();
            }
        };
    };
    const bool select = m_options.url.db != 0;
    write(hello, check("HELLO 3", !select), true);
    if (select)
        write({"SELECT", QByteArray::number(m_options.url.db)}, check("SELECT", true), true);
}

bool RedisConnection::command(
    const QList<QByteArray> &arguments, ReplyHandler handler, bool expectsReply)
{
    if (m_state != State::Ready)
        return false;
    if (expectsReply && int(m_pending.size()) >= m_options.maxPending)
        return false;
    return write(arguments, std::move(handler), expectsReply);
}

bool RedisConnection::write(
    const QList<QByteArray> &arguments, ReplyHandler handler, bool expectsReply)
{
    // Written without waiting: the socket buffers and flushes once per event
    // loop pass, so a burst of commands leaves in few TCP segments.
    m_socket->write(encodeCommand(arguments));
    if (expectsReply)
        m_pending.push_back({std::move(handler), m_clock.elapsed()});
    return true;
}

void RedisConnection::onReadyRead()
{
    m_parser.feed(m_socket->readAll());
    m_lastActivityMs = m_clock.elapsed();
    const QPointer<QTcpSocket> socket = m_socket;
    RespValue value;
    for (;;) {
        const RespParser::Status status = m_parser.next(&value);
        if (status == RespParser::Status::NeedMore)
            return;
        if (status == RespParser::Status::Error) {
            failLink(m_parser.errorString());
            return;
        }
        if (value.type == RespValue::Type::Push) {
            Q_EMIT pushed(value);
        } else if (m_pending.empty()) {
            failLink(u"a reply nobody asked for: "_s + describe(value).left(80));
            return;
        } else {
            Pending pending = std::move(m_pending.front());
            m_pending.pop_front();
            if (pending.handler)
                pending.handler(value);
        }
        // A handler may have dropped or stopped the link.
        if (socket != m_socket || m_state == State::Stopped || m_state == State::Connecting)
            return;
    }
}

void RedisConnection::onSocketError(QAbstractSocket::SocketError)
{
    if (m_socket)
        failLink(m_socket->errorString());
}

void RedisConnection::dropLink(const QString &reason)
{
    failLink(reason);
}

void RedisConnection::failLink(const QString &reason, bool notify)
{
    if (m_state == State::Stopped)
        return;
    const bool wasReady = m_state == State::Ready;
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        m_socket->deleteLater();
        m_socket = nullptr;
    }
    m_parser.reset();
    m_lastError = reason;
    m_state = State::Connecting;
    // Fail what was in flight: the caller learns its command may or may not
    // have run, and nothing waits for a reply that will never come.
    std::deque<Pending> pending = std::exchange(m_pending, {});
    const RespValue linkError = RespValue::error("LINK " + reason.toUtf8());
    for (Pending &p : pending) {
        if (p.handler)
            p.handler(linkError);
    }
    if (wasReady && notify) {
        qCWarning(lcServerRedis) << m_options.clientName << "lost its link to"
                                 << m_options.url.redacted() << ":" << reason;
        Q_EMIT lost(reason);
    } else if (m_attempt == 0 && notify) {
        qCWarning(lcServerRedis) << m_options.clientName << "cannot connect to"
                                 << m_options.url.redacted() << ":" << reason;
    }
    if (m_state != State::Stopped)
        scheduleReconnect();
}

void RedisConnection::scheduleReconnect()
{
    // Full jitter: a uniform delay up to the capped exponential bound, so many
    // nodes reconnecting after one Redis restart do not arrive together.
    const qint64 bound = std::min<qint64>(
        m_options.backoffCapMs, qint64(m_options.backoffBaseMs) << std::min(m_attempt, 16));
    ++m_attempt;
    const int delay = int(QRandomGenerator::global()->bounded(bound + 1));
    m_reconnectTimer->start(delay);
}

void RedisConnection::checkLiveness()
{
    if (m_state == State::Stopped)
        return;
    const qint64 now = m_clock.elapsed();
    if (m_state != State::Ready) {
        // A connect or handshake that hangs (a black-holed address) is retried too.
        if (m_state != State::Connecting || m_socket)
            if (now - m_lastActivityMs > m_options.replyTimeoutMs)
                failLink(u"no answer within %1 ms"_s.arg(m_options.replyTimeoutMs));
        return;
    }
    if (!m_pending.empty() && now - m_pending.front().sentAtMs > m_options.replyTimeoutMs) {
        failLink(u"no reply within %1 ms"_s.arg(m_options.replyTimeoutMs));
        return;
    }
    if (m_pending.empty() && now - m_lastActivityMs >= m_options.pingIntervalMs)
        command({"PING"}, [this](const RespValue &) { m_lastActivityMs = m_clock.elapsed(); });
}

} // namespace parley::server::redis
