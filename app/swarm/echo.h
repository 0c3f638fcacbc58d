// The yardstick for the swarm's own overhead: a trivial WebSocket echo server on its own
// thread, and one probe per worker thread that sends a timestamp to it ten times a second.
// The probe's round trip, measured from each probe's intended time through the same busy
// event loop that drives the users, is what the swarm itself adds to every latency.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>
#include <QUrl>

#include <functional>

class QWebSocket;
class QWebSocketServer;

namespace parley::swarm {

class EchoServer : public QObject
{
    Q_OBJECT
public:
    explicit EchoServer(QObject *parent = nullptr);
    bool listen(); // 127.0.0.1, a free port
    QUrl url() const;

private:
    QWebSocketServer *m_server;
};

class EchoProbe : public QObject
{
    Q_OBJECT
public:
    // record(us) gets each round trip; clock is the run's clock (read-only, shared).
    EchoProbe(const QUrl &echo, const QElapsedTimer *clock, std::function<void(qint64)> record,
        QObject *parent = nullptr);
    void start();

private:
    void probe();

    QUrl m_url;
    const QElapsedTimer *m_clock;
    std::function<void(qint64)> m_record;
    QWebSocket *m_socket;
    QTimer m_timer;
    qint64 m_nextUs = 0;
};

} // namespace parley::swarm
