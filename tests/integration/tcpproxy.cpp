#include "tcpproxy.h"

#include <QTcpSocket>

#include <cmath>

namespace parley::test {

TcpProxy::TcpProxy(quint16 targetPort, QObject *parent)
    : QObject(parent)
    , m_targetPort(targetPort)
{
    connect(&m_server, &QTcpServer::newConnection, this, &TcpProxy::onNewConnection);
    m_chaosTimer.setSingleShot(true);
    connect(&m_chaosTimer, &QTimer::timeout, this, [this] {
        cutAll();
        scheduleChaos();
    });
}

TcpProxy::~TcpProxy()
{
    m_chaosTimer.stop();
    cutAll();
}

bool TcpProxy::listen()
{
    return m_server.listen(QHostAddress::LocalHost, 0);
}

void TcpProxy::onNewConnection()
{
    while (QTcpSocket *client = m_server.nextPendingConnection()) {
        ++m_accepted;
        if (m_refusing) {
            client->abort();
            client->deleteLater();
            continue;
        }
        auto *pair = new Pair {client, new QTcpSocket(this), {}};
        m_pairs.append(pair);
        QTcpSocket *upstream = pair->upstream;
        connect(client, &QTcpSocket::readyRead, this, [this, pair] {
            const QByteArray data = pair->client->readAll();
            if (m_frozen)
                return;
            if (pair->upstream->state() == QAbstractSocket::ConnectedState)
                pair->upstream->write(data);
            else
                pair->pendingToUpstream += data;
        });
        connect(upstream, &QTcpSocket::connected, this,
            [pair] { pair->upstream->write(std::exchange(pair->pendingToUpstream, {})); });
        connect(upstream, &QTcpSocket::readyRead, this, [this, pair] {
            const QByteArray data = pair->upstream->readAll();
            if (!m_frozen && pair->client)
                pair->client->write(data);
        });
        // Either side closing closes the other, like a real path would.
        connect(client, &QTcpSocket::disconnected, this, [this, pair] { forget(pair); });
        connect(upstream, &QTcpSocket::disconnected, this, [this, pair] { forget(pair); });
        connect(upstream, &QTcpSocket::errorOccurred, this, [this, pair] { forget(pair); });
        upstream->connectToHost(QHostAddress::LocalHost, m_targetPort);
        if (m_lifetimeMeanMs > 0) {
            // Inverse transform sampling: -mean * ln(1 - U), U in [0, 1).
            const double u = m_lifetimeRandom.generateDouble();
            const double ms = -double(m_lifetimeMeanMs) * std::log(1.0 - u);
            QTimer::singleShot(int(std::min(ms, 3.6e6)), client, [this, pair] {
                ++m_cuts;
                forget(pair);
            });
        }
    }
}

void TcpProxy::setLifetimes(int meanMs, quint32 seed)
{
    m_lifetimeMeanMs = std::max(0, meanMs);
    m_lifetimeRandom.seed(seed);
}

void TcpProxy::forget(Pair *pair)
{
    if (!m_pairs.removeOne(pair))
        return;
    for (QTcpSocket *socket : {pair->client.data(), pair->upstream.data()}) {
        if (socket) {
            socket->disconnect(this);
            socket->abort();
            socket->deleteLater();
        }
    }
    delete pair;
}

void TcpProxy::cutAll()
{
    const QList<Pair *> pairs = m_pairs;
    for (Pair *pair : pairs) {
        ++m_cuts;
        forget(pair);
    }
}

void TcpProxy::setFrozen(bool frozen)
{
    m_frozen = frozen;
}

void TcpProxy::setChaos(int minMs, int maxMs, quint32 seed)
{
    m_chaosMinMs = minMs;
    m_chaosMaxMs = std::max(minMs, maxMs);
    m_random.seed(seed);
    m_chaosTimer.stop();
    scheduleChaos();
}

void TcpProxy::scheduleChaos()
{
    if (m_chaosMinMs <= 0)
        return;
    m_chaosTimer.start(
        m_chaosMinMs + int(m_random.bounded(quint32(m_chaosMaxMs - m_chaosMinMs + 1))));
}

} // namespace parley::test
