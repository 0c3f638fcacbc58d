#include "link.h"

#include "logging.h"
#include "logthrottle.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QSslSocket>
#include <QTcpSocket>
#include <QTimerEvent>
#include <QtEndian>

#ifdef Q_OS_UNIX
#include <QSocketNotifier>

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

namespace parley::server {

namespace {

constexpr qsizetype ReadChunkBytes = 64 * 1024;
// Reads per readiness event before other connections get their turn.
constexpr int ReadsPerWakeup = 4;
constexpr QByteArrayView WebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

#ifdef Q_OS_UNIX
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 // macOS: SO_NOSIGPIPE is set on the socket instead
#endif

char *readBuffer()
{
    // One per thread: a connection holds no read buffer between reads.
    thread_local std::unique_ptr<char[]> buffer(new char[ReadChunkBytes]);
    return buffer.get();
}

QByteArray peerOf(int fd)
{
    sockaddr_storage address {};
    socklen_t length = sizeof address;
    if (::getpeername(fd, reinterpret_cast<sockaddr *>(&address), &length) != 0)
        return {};
    char text[INET6_ADDRSTRLEN] = {};
    if (address.ss_family == AF_INET) {
        const auto *in = reinterpret_cast<const sockaddr_in *>(&address);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    } else if (address.ss_family == AF_INET6) {
        const auto *in6 = reinterpret_cast<const sockaddr_in6 *>(&address);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    }
    return QByteArray(text);
}
#endif

// A close frame's reason is at most 123 bytes; cut on a character boundary.
QByteArray closeReason(const QString &reason)
{
    QByteArray utf8 = reason.toUtf8();
    if (utf8.size() <= 123)
        return utf8;
    qsizetype cut = 123;
    while (cut > 0 && (static_cast<unsigned char>(utf8[cut]) & 0xC0) == 0x80)
        --cut;
    return utf8.first(cut);
}

} // namespace

Link::Link(qintptr descriptor, const std::optional<QSslConfiguration> &tls, const Limits &limits,
    Owner *owner, QObject *parent, LinkFlusher *flusher)
    : QObject(parent)
    , m_flusher(flusher)
    , m_descriptor(descriptor)
    , m_tls(tls)
    , m_limits(limits)
    , m_owner(owner)
    , m_http(std::make_unique<HttpRequestParser>())
    , m_frames(limits.maxMessageBytes)
{ }

Link::~Link()
{
#ifdef Q_OS_UNIX
    if (m_flushListed)
        m_flusher->remove(this);
    // The notifiers go before the descriptor they watch.
    delete m_readNotifier;
    delete m_writeNotifier;
    if (m_fd >= 0)
        ::close(m_fd);
#endif
}

bool Link::start()
{
#ifdef Q_OS_UNIX
    if (!m_tls) {
        m_fdMode = true;
        m_fd = int(m_descriptor);
        const int flags = ::fcntl(m_fd, F_GETFL);
        if (flags < 0 || ::fcntl(m_fd, F_SETFL, flags | O_NONBLOCK) < 0) {
            qCWarning(lcServerNet) << "could not adopt socket:" << qt_error_string(errno);
            ::close(m_fd);
            m_fd = -1;
            m_state = State::Closed;
            return false;
        }
        // Chat frames are small and latency-bound: never hold them back for Nagle.
        const int one = 1;
        ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
        ::setsockopt(m_fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
        m_peer = peerOf(m_fd);
        m_readNotifier = new QSocketNotifier(m_fd, QSocketNotifier::Read, this);
        connect(m_readNotifier, &QSocketNotifier::activated, this, &Link::onFdReadable);
        startTimer(m_limits.headTimeoutMs);
        return true;
    }
#endif
    QTcpSocket *socket = nullptr;
    if (m_tls) {
        auto *ssl = new QSslSocket(this);
        ssl->setSslConfiguration(*m_tls);
        socket = ssl;
    } else {
        socket = new QTcpSocket(this);
    }
    if (!socket->setSocketDescriptor(m_descriptor)) {
        qCWarning(lcServerNet) << "could not adopt socket:" << socket->errorString();
        delete socket;
        m_state = State::Closed;
        return false;
    }
    m_socket = socket;
    m_peer = socket->peerAddress().toString().toUtf8();
    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    // Bounded, so that a paused link stops taking bytes from the kernel.
    socket->setReadBufferSize(ReadChunkBytes);
    connect(socket, &QIODevice::readyRead, this, &Link::onSocketReadable);
    connect(socket, &QIODevice::bytesWritten, this, &Link::afterWrite);
    connect(socket, &QAbstractSocket::disconnected, this, [this] { closeNow(); });
    connect(socket, &QAbstractSocket::errorOccurred, this, [this](QAbstractSocket::SocketError) {
        if (m_socket->state() != QAbstractSocket::ConnectedState)
            closeNow();
    });
    if (auto *ssl = qobject_cast<QSslSocket *>(socket)) {
        connect(ssl, &QSslSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
            qCInfo(lcServerNet) << "TLS handshake failed:" << errors.value(0).errorString();
            abort();
        });
        ssl->startServerEncryption();
    }
    startTimer(m_limits.headTimeoutMs);
    return true;
}

// ---- reading -------------------------------------------------------------------

#ifdef Q_OS_UNIX
void Link::onFdReadable()
{
    char *buffer = readBuffer();
    for (int round = 0; round < ReadsPerWakeup && m_fd >= 0 && m_reading; ++round) {
        const ssize_t n = ::recv(m_fd, buffer, ReadChunkBytes, 0);
        if (n > 0) {
            received(QByteArrayView(buffer, n));
            if (n < ReadChunkBytes)
                return;
            continue;
        }
        if (n == 0) {
            closeNow(); // the peer closed (after its close frame, or without one)
            return;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            closeNow();
        return;
    }
}
#endif

void Link::onSocketReadable()
{
    while (m_socket && m_reading && m_state != State::Closed && m_socket->bytesAvailable() > 0) {
        const QByteArray bytes = m_socket->read(ReadChunkBytes);
        if (bytes.isEmpty())
            return;
        received(bytes);
    }
}

void Link::received(QByteArrayView bytes)
{
    switch (m_state) {
    case State::Head: {
        const qsizetype before = m_http->bytesConsumed();
        const auto state = m_http->feed(bytes);
        if (state == HttpRequestParser::State::NeedMore)
            return;
        m_timer.stop();
        if (state == HttpRequestParser::State::Complete)
            m_early = bytes.sliced(m_http->bytesConsumed() - before).toByteArray();
        m_owner->linkRequest(this);
        return;
    }
    case State::Open:
        if (!m_receiver || !m_early.isEmpty()) {
            m_early.append(bytes); // behind the early frames, which are handed over first
            return;
        }
        feedFrames(bytes);
        return;
    case State::Closing:
        feedFrames(bytes); // only the peer's close frame matters now
        return;
    case State::Responding:
    case State::ShutDown:
    case State::Closed:
        return; // read only to see the peer close
    }
}

void Link::feedFrames(QByteArrayView bytes)
{
    m_frames.feed(bytes, *this);
}

void Link::wsMessage(bool text, QByteArray payload)
{
    if (m_state != State::Open || !m_receiver)
        return;
    if (text)
        m_receiver->linkText(std::move(payload));
    else
        m_receiver->linkBinary(std::move(payload));
}

void Link::wsPing(QByteArray payload)
{
    if (m_state == State::Open)
        sendFrame(WsFrameParser::Pong, payload);
}

void Link::wsPong(QByteArray)
{
    if (m_state == State::Open && m_receiver)
        m_receiver->linkPong();
}

void Link::wsClose(int code, QByteArray)
{
    if (m_state == State::Open) {
        // Echo the peer's code (RFC 6455 section 5.5.1), then close our side.
        QByteArray payload;
        if (code != WsFrameParser::CloseNoStatus) {
            payload.resize(2);
            qToBigEndian<quint16>(quint16(code), payload.data());
        }
        sendFrame(WsFrameParser::Close, payload);
        m_state = State::Closing;
        startTimer(m_limits.closeTimeoutMs);
    }
    shutdownWhenFlushed();
}

void Link::wsProtocolError(int closeCode, const char *why)
{
    qCDebug(lcServerNet) << "WebSocket protocol error from" << m_peer << ":" << why;
    m_owner->linkDropped(this, Drop::ProtocolError);
    if (m_state == State::Open) {
        QByteArray payload(2, Qt::Uninitialized);
        qToBigEndian<quint16>(quint16(closeCode), payload.data());
        payload += QByteArrayView(why);
        sendFrame(WsFrameParser::Close, payload);
        m_state = State::Closing;
        startTimer(m_limits.closeTimeoutMs);
    }
    shutdownWhenFlushed();
}

// ---- the HTTP phase ----------------------------------------------------------

void Link::respond(const QByteArray &response)
{
    if (m_state != State::Head)
        return;
    m_state = State::Responding;
    m_early.clear();
    writeBytes({}, response);
    startTimer(m_limits.closeTimeoutMs);
    shutdownWhenFlushed();
}

bool Link::upgrade(QByteArrayView subprotocol)
{
    if (m_state != State::Head)
        return false;
    const HttpRequestParser &request = *m_http;
    if (request.header("sec-websocket-version").trimmed() != "13") {
        QByteArray response = HttpRequestParser::response(
            426, "text/plain; charset=utf-8", "only WebSocket version 13 is supported\n");
        response.insert(response.indexOf("\r\n") + 2, "Sec-WebSocket-Version: 13\r\n");
        respond(response);
        return false;
    }
    const QByteArray key = request.header("sec-websocket-key").trimmed();
    const auto decoded
        = QByteArray::fromBase64Encoding(key, QByteArray::AbortOnBase64DecodingErrors);
    if (!decoded || decoded.decoded.size() != 16) {
        respond(HttpRequestParser::response(
            400, "text/plain; charset=utf-8", "Sec-WebSocket-Key must be 16 bytes in base64\n"));
        return false;
    }
    bool offered = false;
    if (!subprotocol.isEmpty()) {
        const QByteArray protocols = request.header("sec-websocket-protocol");
        for (const QByteArray &p : protocols.split(','))
            offered = offered || p.trimmed() == subprotocol;
    }

    QByteArray response = "HTTP/1.1 101 Switching Protocols\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: ";
    response += QCryptographicHash::hash(QByteArray(key + WebSocketGuid), QCryptographicHash::Sha1)
                    .toBase64();
    response += "\r\n";
    if (offered) {
        response += "Sec-WebSocket-Protocol: ";
        response += subprotocol;
        response += "\r\n";
    }
    response += "\r\n";
    m_state = State::Open;
    m_http.reset();
    writeBytes({}, response);
    return true;
}

void Link::setReceiver(Receiver *receiver)
{
    m_receiver = receiver;
    if (m_early.isEmpty())
        return;
    // Frames sent right behind the request head: handed over once the receiver's own
    // set-up is done, never from inside it.
    QMetaObject::invokeMethod(
        this,
        [this] {
            const QByteArray early = std::exchange(m_early, {});
            if (m_state == State::Open || m_state == State::Closing)
                feedFrames(early);
        },
        Qt::QueuedConnection);
}

// ---- writing -------------------------------------------------------------------

void Link::sendText(const QByteArray &utf8)
{
    if (m_state == State::Open)
        sendFrame(WsFrameParser::Text, utf8);
}

void Link::ping()
{
    if (m_state == State::Open)
        sendFrame(WsFrameParser::Ping, {});
}

void Link::close(int code, const QString &reason)
{
    if (m_state == State::Head) {
        abort();
        return;
    }
    if (m_state != State::Open)
        return;
    QByteArray payload(2, Qt::Uninitialized);
    qToBigEndian<quint16>(quint16(code), payload.data());
    payload += closeReason(reason);
    sendFrame(WsFrameParser::Close, payload);
    m_state = State::Closing;
    m_stalled = false;
    startTimer(m_limits.closeTimeoutMs);
}

void Link::abort()
{
    closeNow();
}

void Link::sendFrame(quint8 opcode, const QByteArray &payload)
{
    char header[10];
    const int headerBytes = WsFrameParser::serverHeader(opcode, quint64(payload.size()), header);
    writeBytes(QByteArrayView(header, headerBytes), payload);
}

qint64 Link::pendingBytes() const
{
#ifdef Q_OS_UNIX
    if (m_fdMode)
        return m_outBytes;
#endif
    return m_socket ? m_socket->bytesToWrite() : 0;
}

void Link::writeBytes(QByteArrayView head, const QByteArray &body)
{
    if (m_state == State::Closed || m_state == State::ShutDown)
        return;
#ifdef Q_OS_UNIX
    if (m_fdMode) {
        const qsizetype total = head.size() + body.size();
        qsizetype sent = 0;
        // The first frame of a pass of the event loop goes out at once (no added latency);
        // frames that follow it in the same pass (the acks of a pipelined burst, say) are
        // queued and leave together at the end of the pass, one sendmsg() for all of them.
        if (m_out.isEmpty() && !m_wroteThisPass) {
            iovec pieces[2];
            int count = 0;
            if (!head.isEmpty())
                pieces[count++] = {const_cast<char *>(head.data()), size_t(head.size())};
            if (!body.isEmpty())
                pieces[count++] = {const_cast<char *>(body.constData()), size_t(body.size())};
            msghdr message {};
            message.msg_iov = pieces;
            message.msg_iovlen = count;
            ssize_t n;
            do {
                n = ::sendmsg(m_fd, &message, MSG_NOSIGNAL);
            } while (n < 0 && errno == EINTR);
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    closeNow(); // the peer is gone; the read side would confirm it
                    return;
                }
                n = 0;
            }
            sent = qsizetype(n);
            if (m_flusher) {
                m_wroteThisPass = true;
                listForFlush();
            }
            if (sent == total)
                return;
        }
        // Queue what was not sent: the header's rest as a copy, the body shared (no
        // copy), with the offset into the first array kept apart.
        if (sent < head.size()) {
            if (m_out.isEmpty())
                m_outOffset = 0;
            m_out.append(head.sliced(sent).toByteArray());
            if (!body.isEmpty())
                m_out.append(body);
        } else {
            if (m_out.isEmpty())
                m_outOffset = sent - head.size();
            m_out.append(body);
        }
        m_outBytes += total - sent;
        if (sent > 0 || !m_flusher)
            flushOut(); // a partial write: the kernel's buffer is full; wait to be writable
        else
            listForFlush();
        afterWrite();
        return;
    }
#endif
    if (!m_socket)
        return;
    if (!head.isEmpty())
        m_socket->write(head.data(), head.size());
    m_socket->write(body);
    afterWrite();
}

void Link::endOfPass()
{
#ifdef Q_OS_UNIX
    m_flushListed = false;
    m_wroteThisPass = false;
    if (m_fd < 0 || m_out.isEmpty() || (m_writeNotifier && m_writeNotifier->isEnabled()))
        return;
    flushOut();
    afterWrite();
#endif
}

#ifdef Q_OS_UNIX
void Link::listForFlush()
{
    if (!m_flushListed && m_flusher) {
        m_flushListed = true;
        m_flusher->add(this);
    }
}

void Link::onFdWritable()
{
    flushOut();
    afterWrite();
}

void Link::flushOut()
{
    while (!m_out.isEmpty()) {
        iovec pieces[64];
        int count = 0;
        for (qsizetype i = 0; i < m_out.size() && count < 64; ++i) {
            const QByteArray &piece = m_out.at(i);
            const qsizetype skip = i == 0 ? m_outOffset : 0;
            pieces[count++]
                = {const_cast<char *>(piece.constData() + skip), size_t(piece.size() - skip)};
        }
        msghdr message {};
        message.msg_iov = pieces;
        message.msg_iovlen = count;
        const ssize_t n = ::sendmsg(m_fd, &message, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            closeNow();
            return;
        }
        m_outBytes -= n;
        qsizetype left = qsizetype(n);
        while (left > 0 && !m_out.isEmpty()) {
            const qsizetype rest = m_out.first().size() - m_outOffset;
            if (left < rest) {
                m_outOffset += left;
                left = 0;
            } else {
                left -= rest;
                m_out.removeFirst();
                m_outOffset = 0;
            }
        }
    }
    if (m_out.isEmpty()) {
        if (m_writeNotifier)
            m_writeNotifier->setEnabled(false);
        m_out = {}; // gives back the list's storage too
        return;
    }
    // The kernel's buffer is full: wait until the socket is writable again.
    if (!m_writeNotifier) {
        m_writeNotifier = new QSocketNotifier(m_fd, QSocketNotifier::Write, this);
        connect(m_writeNotifier, &QSocketNotifier::activated, this, &Link::onFdWritable);
    }
    m_writeNotifier->setEnabled(true);
}
#endif

// ---- LinkFlusher ---------------------------------------------------------------

void LinkFlusher::add(Link *link)
{
    m_links.append(link);
    if (m_links.size() == 1)
        QMetaObject::invokeMethod(this, &LinkFlusher::flushAll, Qt::QueuedConnection);
}

void LinkFlusher::remove(Link *link)
{
    m_links.removeOne(link);
}

void LinkFlusher::flushAll()
{
    // Links listed while this runs (a flush that closes a link and wakes a session, say)
    // wait for the next call, which add() posts.
    const QList<Link *> links = std::exchange(m_links, {});
    for (Link *link : links)
        link->endOfPass();
}

void Link::afterWrite()
{
    const qint64 pending = pendingBytes();
    if (pending == 0 && m_shutdownWhenFlushed) {
        shutdownNow();
        return;
    }
    if (m_state != State::Open)
        return;
    if (pending > m_limits.dropAt) {
        static thread_local LogThrottle throttle;
        if (quint64 more = 0; throttle.admit(QDateTime::currentMSecsSinceEpoch(), &more))
            qCInfo(lcServerNet).noquote()
                << "connection from" << m_peer << "reads too slowly:" << pending
                << "bytes queued; dropping it" << suppressedNote(more);
        closeNow(Drop::SlowReader);
        return;
    }
    if (!m_paused && pending > m_limits.pauseReadingAt) {
        m_paused = true;
        setReading(false);
        m_stalled = true;
        startTimer(m_limits.stallTimeoutMs);
    } else if (m_paused && pending <= m_limits.pauseReadingAt / 2) {
        m_paused = false;
        m_stalled = false;
        m_timer.stop();
        setReading(true);
    }
}

void Link::setReading(bool reading)
{
    if (m_reading == reading)
        return;
    m_reading = reading;
#ifdef Q_OS_UNIX
    if (m_readNotifier)
        m_readNotifier->setEnabled(reading);
#endif
    if (reading && m_socket && m_socket->bytesAvailable() > 0)
        QMetaObject::invokeMethod(this, &Link::onSocketReadable, Qt::QueuedConnection);
}

// ---- closing -------------------------------------------------------------------

void Link::shutdownWhenFlushed()
{
    m_shutdownWhenFlushed = true;
    if (pendingBytes() == 0)
        shutdownNow();
}

void Link::shutdownNow()
{
    if (m_state == State::ShutDown || m_state == State::Closed)
        return;
    m_shutdownWhenFlushed = false;
    m_state = State::ShutDown;
    // Our side is done: send FIN, then read (and drop) until the peer closes too, so
    // that unread input never turns the close into a reset that could cut our last
    // bytes short at the peer. The timer bounds the wait.
    if (!m_timer.isActive() || m_stalled)
        startTimer(m_limits.closeTimeoutMs);
    m_stalled = false;
    setReading(true);
#ifdef Q_OS_UNIX
    if (m_fdMode) {
        ::shutdown(m_fd, SHUT_WR);
        return;
    }
#endif
    if (m_socket)
        m_socket->disconnectFromHost();
}

void Link::closeNow(Drop why)
{
    if (m_state == State::Closed)
        return;
    m_state = State::Closed;
    m_timer.stop();
#ifdef Q_OS_UNIX
    if (m_fdMode) {
        delete m_readNotifier;
        m_readNotifier = nullptr;
        delete m_writeNotifier;
        m_writeNotifier = nullptr;
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = -1;
        m_out = {};
        m_outBytes = 0;
    }
#endif
    if (m_socket) {
        QAbstractSocket *socket = std::exchange(m_socket, nullptr);
        socket->disconnect(this);
        socket->abort();
        socket->deleteLater();
    }
    if (why != Drop::None)
        m_owner->linkDropped(this, why);
    // Told from the event loop, never from inside a call the receiver made.
    QMetaObject::invokeMethod(
        this,
        [this] {
            // The session owns an upgraded link; anything else the worker left to us.
            if (m_receiver)
                m_receiver->linkClosed();
            else
                deleteLater();
        },
        Qt::QueuedConnection);
}

void Link::startTimer(int ms)
{
    m_timer.start(ms, this);
}

void Link::timerEvent(QTimerEvent *event)
{
    if (event->timerId() != m_timer.timerId()) {
        QObject::timerEvent(event);
        return;
    }
    m_timer.stop();
    switch (m_state) {
    case State::Head:
        closeNow(Drop::HeadTimeout);
        return;
    case State::Open:
        if (m_stalled) {
            static thread_local LogThrottle throttle;
            if (quint64 more = 0; throttle.admit(QDateTime::currentMSecsSinceEpoch(), &more))
                qCInfo(lcServerNet).noquote()
                    << "connection from" << m_peer << "has not read its replies for"
                    << m_limits.stallTimeoutMs << "ms; dropping it" << suppressedNote(more);
            closeNow(Drop::SlowReader);
        }
        return;
    case State::Responding:
    case State::Closing:
    case State::ShutDown:
        closeNow(m_state == State::ShutDown ? Drop::None : Drop::CloseTimeout);
        return;
    case State::Closed:
        return;
    }
}

} // namespace parley::server
