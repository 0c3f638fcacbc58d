// A loopback TCP proxy for link-fault tests: it forwards bytes between clients and a
// target port, and on command cuts every connection (both sides see it close), freezes
// forwarding (a dead link without a FIN, as after a network change), or cuts at random
// moments (chaos). Runs on the thread that creates it.
#pragma once

#include <QList>
#include <QObject>
#include <QPointer>
#include <QRandomGenerator>
#include <QTcpServer>
#include <QTimer>

class QTcpSocket;

namespace parley::test {

class TcpProxy : public QObject
{
    Q_OBJECT
public:
    explicit TcpProxy(quint16 targetPort, QObject *parent = nullptr);
    ~TcpProxy() override;

    bool listen(); // on 127.0.0.1, a free port
    quint16 port() const { return m_server.serverPort(); }
    void setTargetPort(quint16 port) { m_targetPort = port; }

    // Aborts every open connection pair now.
    void cutAll();
    // While frozen, bytes are read and thrown away in both directions: the peers see a
    // silent link (no close, no data), like a cable pulled.
    void setFrozen(bool frozen);
    // While refusing, new connections are closed as soon as they are accepted.
    void setRefusing(bool refusing) { m_refusing = refusing; }
    // Cuts all connections at random intervals in [minMs, maxMs] until stopped
    // (minMs = 0 stops). Deterministic for a given seed.
    void setChaos(int minMs, int maxMs, quint32 seed = 1);
    // Each connection accepted from now on is cut after its own random lifetime,
    // exponentially distributed with this mean (a flapping link: most live a few
    // seconds, some much longer). 0 stops. Deterministic for a given seed.
    void setLifetimes(int meanMs, quint32 seed = 1);

    int accepted() const { return m_accepted; }
    int cuts() const { return m_cuts; }
    int openPairs() const { return int(m_pairs.size()); }

private:
    struct Pair
    {
        QPointer<QTcpSocket> client;
        QPointer<QTcpSocket> upstream;
        QByteArray pendingToUpstream; // bytes received before upstream connected
    };
    void onNewConnection();
    void scheduleChaos();
    void forget(Pair *pair);

    QTcpServer m_server;
    quint16 m_targetPort;
    QList<Pair *> m_pairs;
    int m_lifetimeMeanMs = 0;
    QRandomGenerator m_lifetimeRandom;
    bool m_frozen = false;
    bool m_refusing = false;
    int m_accepted = 0;
    int m_cuts = 0;
    int m_chaosMinMs = 0;
    int m_chaosMaxMs = 0;
    QRandomGenerator m_random;
    QTimer m_chaosTimer;
};

} // namespace parley::test
