// One link to Redis over TCP (or TLS for rediss://), speaking RESP3.
//
// On connect it runs HELLO 3 (with AUTH when the URL has a password, and
// SETNAME) and SELECT, then is ready. Commands are pipelined: written at once,
// replies matched to them in order. The queue of commands awaiting a reply is
// bounded. When the link drops, every pending command is failed with a
// "LINK ..." error reply and the link reconnects with capped exponential
// backoff and full jitter. A command sent while the link is not ready fails at
// once (returns false): callers decide what a lost command means.
//
// Lives on one thread (the bus thread); not thread-safe.
#pragma once

#include "redisurl.h"
#include "resp.h"

#include <QAbstractSocket>
#include <QByteArray>
#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QPointer>

#include <deque>
#include <functional>

class QTcpSocket;
class QTimer;

namespace parley::server::redis {

class RedisConnection : public QObject
{
    Q_OBJECT

public:
    enum class State { Stopped, Connecting, Handshaking, Ready };
    // Receives the reply: a value, a server error (type Error), or, when the link
    // dropped before the reply came, an Error whose text starts with "LINK".
    using ReplyHandler = std::function<void(const RespValue &)>;

    struct Options
    {
        RedisUrl url;
        QString clientName; // CLIENT SETNAME, e.g. "parley:node-a:cmd"
        int maxPending = 200000; // commands written and awaiting their reply
        int backoffBaseMs = 100;
        int backoffCapMs = 5000;
        int pingIntervalMs = 5000; // liveness: a PING this often while idle
        int replyTimeoutMs = 15000; // the oldest pending reply older than this drops the link
    };

    explicit RedisConnection(Options options, QObject *parent = nullptr);
    ~RedisConnection() override;

    void start();
    void stop(); // closes the link, fails pending commands, no reconnect

    State state() const { return m_state; }
    bool isReady() const { return m_state == State::Ready; }
    QString lastError() const { return m_lastError; }
    int pendingCount() const { return int(m_pending.size()); }

    // Pipelines a command. False, without calling `handler`, when the link is not
    // ready or the queue is full. `expectsReply` = false for commands answered by
    // pushes only (SUBSCRIBE and friends under RESP3).
    bool command(
        const QList<QByteArray> &arguments, ReplyHandler handler = {}, bool expectsReply = true);

    // Test hook: drops the TCP link as if the network failed (reconnects).
    void dropLink(const QString &reason);

Q_SIGNALS:
    void ready(); // handshake done; emitted after every (re)connect
    void lost(const QString &reason); // the link dropped; a reconnect is scheduled
    void pushed(const parley::server::redis::RespValue &value); // RESP3 out-of-band data

private:
    struct Pending
    {
        ReplyHandler handler;
        qint64 sentAtMs = 0;
    };

    void connectNow();
    void onConnected();
    void onReadyRead();
    void onSocketError(QAbstractSocket::SocketError error);
    void handshake();
    void failLink(const QString &reason, bool notify = true);
    void scheduleReconnect();
    void checkLiveness();
    bool write(const QList<QByteArray> &arguments, ReplyHandler handler, bool expectsReply);

    Options m_options;
    State m_state = State::Stopped;
    QTcpSocket *m_socket = nullptr;
    QTimer *m_reconnectTimer = nullptr;
    QTimer *m_livenessTimer = nullptr;
    RespParser m_parser;
    std::deque<Pending> m_pending;
    QElapsedTimer m_clock;
    qint64 m_lastActivityMs = 0;
    int m_attempt = 0;
    QString m_lastError;
};

} // namespace parley::server::redis
