// One accepted connection on a worker thread, below the chat protocol: it reads the HTTP
// request head, then either writes a plain HTTP response and closes, or upgrades to a
// WebSocket (RFC 6455) and carries frames until either side closes.
//
// Plain TCP on Unix is read and written on the descriptor itself: one socket notifier,
// reads into one buffer per thread, frames written with one sendmsg() (header and payload
// as two pieces, never copied) and queued only when the kernel's send buffer is full. An
// idle connection holds no buffer at all. TLS, and every connection on other systems, go
// through QSslSocket / QTcpSocket with the same framing on top.
//
// The outgoing queue is bounded: over `pauseReadingAt` bytes the link stops reading the
// peer's requests (the peer must read its replies first), and it is dropped when the queue
// passes `dropAt` bytes or stays over the mark for `stallTimeoutMs`.
#pragma once

#include "httprequestparser.h"
#include "wsframeparser.h"

#include <QBasicTimer>
#include <QByteArray>
#include <QList>
#include <QObject>
#include <QSslConfiguration>

#include <memory>
#include <optional>

class QAbstractSocket;
class QSocketNotifier;

namespace parley::server {

class Link;

// The links of one thread that wrote during the current pass of its event loop. Each
// link's first frame in a pass is written at once; the frames that follow it in the
// same pass are queued and leave together when the pass ends (one posted call per
// pass), so a burst of replies to one peer costs one system call, not one per frame.
class LinkFlusher : public QObject
{
public:
    using QObject::QObject;
    void add(Link *link);
    void remove(Link *link);

private:
    void flushAll();
    QList<Link *> m_links;
};

class Link : public QObject, private WsFrameParser::Handler
{
public:
    struct Limits
    {
        qsizetype maxMessageBytes = 65536;
        // From accept to a complete request head (TLS handshake included).
        int headTimeoutMs = 10000;
        // After this side's close frame, for the peer's close and for the output to drain;
        // after a plain HTTP response, for the peer to close.
        int closeTimeoutMs = 5000;
        qint64 pauseReadingAt = 256 * 1024;
        qint64 dropAt = 4 * 1024 * 1024;
        int stallTimeoutMs = 30000;
    };

    // Why a link ended without a close handshake (for the logs and the metrics).
    enum class Drop {
        None,
        HeadTimeout, // no complete request head in time
        CloseTimeout, // the close handshake or the last output did not finish in time
        SlowReader, // the outgoing queue passed dropAt or stayed over the mark too long
        ProtocolError, // a frame broke RFC 6455 (closed with 1002, 1007 or 1009)
    };

    // Who hears of a link before its upgrade (the worker).
    class Owner
    {
    public:
        // The request head is complete, or failed (request().state() says which). The
        // owner answers with respond() or upgrade().
        virtual void linkRequest(Link *link) = 0;
        // A link was dropped by a limit, or broke the protocol (for logs and metrics).
        virtual void linkDropped(Link *link, Drop why) = 0;

    protected:
        ~Owner() = default;
    };

    // Who hears of a link once upgraded (the session). Calls never nest inside a call the
    // receiver made on the link.
    class Receiver
    {
    public:
        virtual void linkText(QByteArray utf8) = 0;
        virtual void linkBinary(QByteArray data) = 0;
        virtual void linkPong() = 0;
        // The connection is gone (closed by either side, or broken); nothing more comes.
        virtual void linkClosed() = 0;

    protected:
        ~Receiver() = default;
    };

    // Takes ownership of the descriptor. With `tls`, TLS is negotiated first. Without a
    // flusher (which must outlive the link) every frame is written at once.
    Link(qintptr descriptor, const std::optional<QSslConfiguration> &tls, const Limits &limits,
        Owner *owner, QObject *parent, LinkFlusher *flusher = nullptr);
    ~Link() override;

    // Starts reading; false (and the descriptor closed) when it cannot be used.
    bool start();

    // ---- before the upgrade
    const HttpRequestParser &request() const { return *m_http; }
    // Writes a complete HTTP response and closes once it is sent.
    void respond(const QByteArray &response);
    // Answers the upgrade request: 101 with Sec-WebSocket-Accept and, when the client
    // offered it, `subprotocol`; or 400/426 (and closes) when the handshake is malformed.
    // On success frames are held until setReceiver().
    bool upgrade(QByteArrayView subprotocol);

    // ---- after the upgrade
    void setReceiver(Receiver *receiver);
    bool isOpen() const { return m_state == State::Open; }
    void sendText(const QByteArray &utf8);
    void ping();
    // Starts the close handshake (RFC 6455 section 7): a close frame, then the TCP
    // connection is closed once the peer answers or closeTimeoutMs passes.
    void close(int code, const QString &reason);
    // Closes the connection now, without a handshake.
    void abort();

    // Bytes written but not yet taken by the kernel (or the TLS socket).
    qint64 pendingBytes() const;
    QByteArray peerAddress() const { return m_peer; }

protected:
    void timerEvent(QTimerEvent *event) override;

private:
    enum class State {
        Head, // reading the request head
        Responding, // an HTTP response written; closing once it is sent
        Open, // WebSocket
        Closing, // close frame sent (or received): only the close handshake is left
        ShutDown, // our side is shut down; waiting for the peer to close
        Closed,
    };

    // WsFrameParser::Handler
    void wsMessage(bool text, QByteArray payload) override;
    void wsPing(QByteArray payload) override;
    void wsPong(QByteArray payload) override;
    void wsClose(int code, QByteArray reason) override;
    void wsProtocolError(int closeCode, const char *why) override;

    void received(QByteArrayView bytes);
    void feedFrames(QByteArrayView bytes);
    void sendFrame(quint8 opcode, const QByteArray &payload);
    void writeBytes(QByteArrayView head, const QByteArray &body);
    void afterWrite();
    void shutdownWhenFlushed();
    void shutdownNow();
    void closeNow(Drop why = Drop::None);
    void setReading(bool reading);
    void startTimer(int ms);

    friend class LinkFlusher;
    void endOfPass();
    LinkFlusher *m_flusher;
#ifdef Q_OS_UNIX
    void onFdReadable();
    void onFdWritable();
    void flushOut();
    void listForFlush();
    bool m_wroteThisPass = false;
    bool m_flushListed = false;
    bool m_fdMode = false;
    int m_fd = -1;
    QSocketNotifier *m_readNotifier = nullptr;
    QSocketNotifier *m_writeNotifier = nullptr;
    // Output the kernel did not take yet; the first array is partly sent (m_outOffset).
    QList<QByteArray> m_out;
    qsizetype m_outOffset = 0;
    qint64 m_outBytes = 0;
#endif
    void onSocketReadable();
    QAbstractSocket *m_socket = nullptr;
    qintptr m_descriptor;
    std::optional<QSslConfiguration> m_tls;

    const Limits &m_limits;
    Owner *m_owner;
    Receiver *m_receiver = nullptr;
    State m_state = State::Head;
    bool m_reading = true;
    bool m_paused = false; // reading stopped by backpressure
    bool m_shutdownWhenFlushed = false;
    bool m_stalled = false; // the stall timer runs
    QBasicTimer m_timer;
    QByteArray m_peer;
    std::unique_ptr<HttpRequestParser> m_http;
    QByteArray m_early; // bytes after the head, held until the receiver is set
    WsFrameParser m_frames;
};

} // namespace parley::server
