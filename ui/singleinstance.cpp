#include "singleinstance.h"

#include "logging.h"

#include <QCryptographicHash>
#include <QLocalServer>
#include <QLocalSocket>

using namespace Qt::StringLiterals;

namespace parley::ui {

namespace {
// What a second launch writes; anything else on the socket is ignored.
constexpr QByteArrayView ActivateLine = "activate\n";
} // namespace

SingleInstance::SingleInstance(const QString &key, QObject *parent)
    : QObject(parent)
    , m_name(serverName(key))
{ }

SingleInstance::~SingleInstance() = default;

QString SingleInstance::serverName(const QString &key)
{
    // Local socket names are short (Unix socket paths) and must not contain the
    // profile's path separators: a hash of the key, per user.
    const QByteArray hash
        = QCryptographicHash::hash(key.toUtf8(), QCryptographicHash::Sha256).toHex().left(16);
    return u"parley-"_s + QString::fromLatin1(hash);
}

bool SingleInstance::listen(QString *error)
{
    m_server = new QLocalServer(this);
    m_server->setSocketOptions(QLocalServer::UserAccessOption);
    // A socket file left by a process that crashed would make listen() fail; the caller
    // holds the profile lock, so no live process owns it.
    QLocalServer::removeServer(m_name);
    if (!m_server->listen(m_name)) {
        *error = m_server->errorString();
        return false;
    }
    connect(m_server, &QLocalServer::newConnection, this, &SingleInstance::onNewConnection);
    return true;
}

void SingleInstance::onNewConnection()
{
    while (QLocalSocket *socket = m_server->nextPendingConnection()) {
        connect(socket, &QLocalSocket::disconnected, socket, &QObject::deleteLater);
        connect(socket, &QLocalSocket::readyRead, this, [this, socket] {
            if (!socket->canReadLine()) {
                if (socket->bytesAvailable() > 64)
                    socket->abort(); // not one of ours
                return;
            }
            const QByteArray line = socket->readLine(64);
            socket->disconnectFromServer();
            if (line == ActivateLine) {
                qCInfo(lcUi) << "a second launch of this profile asked for the window";
                Q_EMIT activationRequested();
            }
        });
    }
}

bool SingleInstance::activateRunning(const QString &key, int timeoutMs)
{
    QLocalSocket socket;
    socket.connectToServer(serverName(key));
    if (!socket.waitForConnected(timeoutMs))
        return false;
    socket.write(ActivateLine.data(), ActivateLine.size());
    const bool written = socket.waitForBytesWritten(timeoutMs);
    socket.disconnectFromServer();
    return written;
}

} // namespace parley::ui
