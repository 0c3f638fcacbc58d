#include "echo.h"

#include "logging.h"

#include <QWebSocket>
#include <QWebSocketServer>

using namespace Qt::StringLiterals;

namespace parley::swarm {

namespace {
constexpr qint64 ProbeEveryUs = 100000;
}

EchoServer::EchoServer(QObject *parent)
    : QObject(parent)
    , m_server(new QWebSocketServer(u"parley-swarm-echo"_s, QWebSocketServer::NonSecureMode, this))
{
    connect(m_server, &QWebSocketServer::newConnection, this, [this] {
        while (QWebSocket *socket = m_server->nextPendingConnection()) {
            socket->setParent(this);
            connect(socket, &QWebSocket::textMessageReceived, socket,
                [socket](const QString &text) { socket->sendTextMessage(text); });
            connect(socket, &QWebSocket::disconnected, socket, &QObject::deleteLater);
        }
    });
}

bool EchoServer::listen()
{
    return m_server->listen(QHostAddress::LocalHost, 0);
}

QUrl EchoServer::url() const
{
    return QUrl(u"ws://127.0.0.1:%1/"_s.arg(m_server->serverPort()));
}

EchoProbe::EchoProbe(const QUrl &echo, const QElapsedTimer *clock,
    std::function<void(qint64)> record, QObject *parent)
    : QObject(parent)
    , m_url(echo)
    , m_clock(clock)
    , m_record(std::move(record))
    , m_socket(new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this))
{
    m_timer.setTimerType(Qt::PreciseTimer);
    m_timer.setSingleShot(true);
    connect(&m_timer, &QTimer::timeout, this, &EchoProbe::probe);
    connect(m_socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
        bool ok = false;
        const qint64 intended = text.toLongLong(&ok);
        if (ok)
            m_record(m_clock->nsecsElapsed() / 1000 - intended);
    });
    connect(m_socket, &QWebSocket::connected, this, [this] {
        m_nextUs = m_clock->nsecsElapsed() / 1000;
        probe();
    });
    connect(m_socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
        [this](QAbstractSocket::SocketError) {
            qCWarning(lcSwarm) << "the echo probe failed:" << m_socket->errorString();
        });
}

void EchoProbe::start()
{
    m_socket->open(m_url);
}

void EchoProbe::probe()
{
    // Open loop like the users: each probe carries its intended time, so a late timer
    // shows up in the round trip.
    const qint64 now = m_clock->nsecsElapsed() / 1000;
    while (m_nextUs <= now) {
        m_socket->sendTextMessage(QString::number(m_nextUs));
        m_nextUs += ProbeEveryUs;
    }
    m_timer.start(int((m_nextUs - now) / 1000) + 1);
}

} // namespace parley::swarm
