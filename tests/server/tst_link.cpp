// Link: the server's connection below the chat protocol, over real loopback TCP. The
// request head and its deadline, plain responses, the upgrade handshake, frames both
// ways, both close handshakes and their deadline, protocol errors, and the bounded
// outgoing queue (reading pauses over the mark, a slow reader is dropped).
#include "link.h"

#include <QHostAddress>
#include <QTcpServer>
#include <QTcpSocket>
#include <QtEndian>
#include <QtTest>

#include <memory>

using namespace parley::server;
using P = WsFrameParser;

namespace {

bool waitUntil(const std::function<bool()> &done, int ms = 10000)
{
    QElapsedTimer clock;
    clock.start();
    while (!done()) {
        if (clock.elapsed() > ms)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 10);
    }
    return true;
}

// Owner and receiver in one: records what the link reports, and answers requests
// the way the worker does (a plain response, or an upgrade).
class Harness : public QTcpServer, public Link::Owner, public Link::Receiver
{
public:
    LinkFlusher flusher; // as the worker has: frames after the first of a pass are coalesced
    Link::Limits limits;
    QPointer<Link> link;
    QByteArrayList texts;
    int pongs = 0;
    bool closed = false;
    QList<Link::Drop> drops;
    bool echo = false;

    ~Harness() override { delete link.data(); } // before the flusher it uses

protected:
    void incomingConnection(qintptr descriptor) override
    {
        link = new Link(descriptor, std::nullopt, limits, this, this, &flusher);
        QVERIFY(link->start());
    }

    void linkRequest(Link *l) override
    {
        if (l->request().path() == "/ws") {
            if (l->upgrade("parley.v1"))
                l->setReceiver(this);
            return;
        }
        l->respond("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nhi\n");
    }
    void linkDropped(Link *, Link::Drop why) override { drops << why; }
    void linkText(QByteArray utf8) override
    {
        texts << utf8;
        if (echo)
            link->sendText(utf8);
    }
    void linkBinary(QByteArray) override { texts << "<binary>"; }
    void linkPong() override { ++pongs; }
    void linkClosed() override { closed = true; }
};

const QByteArray Upgrade = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                           "Sec-WebSocket-Protocol: chat, parley.v1\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n";

QByteArray closePayload(int code)
{
    QByteArray payload(2, Qt::Uninitialized);
    qToBigEndian<quint16>(quint16(code), payload.data());
    return payload;
}

// Reads server frames off a raw client socket.
struct FrameReader
{
    QByteArray buffer;

    // The next complete frame as (opcode, payload), if one has arrived.
    std::optional<std::pair<int, QByteArray>> next(QTcpSocket &socket)
    {
        buffer += socket.readAll();
        if (buffer.size() < 2)
            return std::nullopt;
        const int opcode = buffer[0] & 0x0f;
        qsizetype length = buffer[1] & 0x7f;
        qsizetype offset = 2;
        if (length == 126) {
            if (buffer.size() < 4)
                return std::nullopt;
            length = qFromBigEndian<quint16>(buffer.constData() + 2);
            offset = 4;
        } else if (length == 127) {
            if (buffer.size() < 10)
                return std::nullopt;
            length = qsizetype(qFromBigEndian<quint64>(buffer.constData() + 2));
            offset = 10;
        }
        if (buffer.size() < offset + length)
            return std::nullopt;
        std::pair<int, QByteArray> frame {opcode, buffer.sliced(offset, length)};
        buffer.remove(0, offset + length);
        return frame;
    }

    std::optional<std::pair<int, QByteArray>> wait(QTcpSocket &socket, int ms = 10000)
    {
        std::optional<std::pair<int, QByteArray>> frame;
        waitUntil([&] { return (frame = next(socket)).has_value(); }, ms);
        return frame;
    }
};

} // namespace

class TestLink : public QObject
{
    Q_OBJECT

    std::unique_ptr<Harness> m_harness;
    std::unique_ptr<QTcpSocket> m_client;
    FrameReader m_reader;

    void connectClient()
    {
        QVERIFY(m_harness->listen(QHostAddress::LocalHost));
        m_client = std::make_unique<QTcpSocket>();
        m_client->connectToHost(QHostAddress::LocalHost, m_harness->serverPort());
        QVERIFY(m_client->waitForConnected(5000));
        QVERIFY(waitUntil([&] { return m_harness->link != nullptr; }));
    }

    void upgradeClient()
    {
        connectClient();
        m_client->write(Upgrade);
        QByteArray head;
        QVERIFY(waitUntil([&] {
            head += m_client->readAll();
            return head.contains("\r\n\r\n");
        }));
        QVERIFY2(head.startsWith("HTTP/1.1 101 Switching Protocols\r\n"), head.constData());
        // The key and answer of RFC 6455 section 1.3.
        QVERIFY(head.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        QVERIFY(head.contains("\r\nSec-WebSocket-Protocol: parley.v1\r\n"));
        m_reader.buffer = head.sliced(head.indexOf("\r\n\r\n") + 4);
    }

    bool clientSawEof()
    {
        return waitUntil([&] {
            m_reader.buffer += m_client->readAll();
            return m_client->state() == QAbstractSocket::UnconnectedState;
        });
    }

    // The client stops reading; the server's replies fill the kernel's buffers, then the
    // link's queue passes the mark (64 KiB in the tests that call this).
    void stopReadingUntilPaused()
    {
        m_client->setReadBufferSize(1024);
        const QByteArray big(60 * 1024, 'r');
        for (int i = 0; i < 2000 && m_harness->link->pendingBytes() <= 64 * 1024; ++i) {
            m_harness->link->sendText(big);
            QCoreApplication::processEvents();
        }
    }

private Q_SLOTS:
    void init()
    {
        m_harness = std::make_unique<Harness>();
        m_reader = {};
    }

    void cleanup()
    {
        m_client.reset();
        m_harness.reset();
    }

    void plainResponseThenClose()
    {
        connectClient();
        m_client->write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY(clientSawEof());
        QCOMPARE(m_reader.buffer,
            QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nhi\n"));
    }

    void headDeadline()
    {
        m_harness->limits.headTimeoutMs = 200;
        connectClient();
        m_client->write("GET /ws HTTP/1.1\r\nHost: x\r\n"); // never finished
        QVERIFY(clientSawEof());
        QCOMPARE(m_harness->drops, QList<Link::Drop> {Link::Drop::HeadTimeout});
    }

    void bareLineFeedsEndTheHeadLikeCrlf()
    {
        // One rule for the whole head: a bare LF ends a line as CRLF does (RFC 9112
        // section 2.2 allows it), so such a head is answered, never left waiting.
        connectClient();
        m_client->write("GET /healthz HTTP/1.1\r\nHost: x\r\n\n");
        QVERIFY(clientSawEof());
        QVERIFY(m_reader.buffer.startsWith("HTTP/1.1 200 OK"));
    }

    void malformedHandshakesAreRefused_data()
    {
        QTest::addColumn<QByteArray>("request");
        QTest::addColumn<QByteArray>("status");
        QTest::newRow("version 8") << QByteArray(Upgrade).replace("Version: 13", "Version: 8")
                                   << QByteArray("HTTP/1.1 426 ");
        QTest::newRow("short key") << QByteArray(Upgrade).replace("dGhlIHNhbXBsZSBub25jZQ==",
            "c2hvcnQ=") << QByteArray("HTTP/1.1 400 ");
        QTest::newRow("key not base64") << QByteArray(Upgrade).replace("dGhlIHNhbXBsZSBub25jZQ==",
            "!!!!") << QByteArray("HTTP/1.1 400 ");
    }

    void malformedHandshakesAreRefused()
    {
        QFETCH(QByteArray, request);
        QFETCH(QByteArray, status);
        connectClient();
        m_client->write(request);
        QVERIFY(clientSawEof());
        QVERIFY2(m_reader.buffer.startsWith(status), m_reader.buffer.constData());
    }

    void framesBothWays()
    {
        m_harness->echo = true;
        upgradeClient();
        m_client->write(P::clientFrame(P::Text, "héllo, wörld"));
        const auto frame = m_reader.wait(*m_client);
        QVERIFY(frame);
        QCOMPARE(frame->first, int(P::Text));
        QCOMPARE(frame->second, QByteArray("héllo, wörld"));
        QCOMPARE(m_harness->texts, QByteArrayList {"héllo, wörld"});
    }

    void aBurstInOnePassArrivesWholeAndInOrder()
    {
        // The first frame is written at once, the rest wait for the end of the pass.
        upgradeClient();
        for (int i = 0; i < 500; ++i)
            m_harness->link->sendText("frame " + QByteArray::number(i));
        QVERIFY(m_harness->link->pendingBytes() > 0);
        for (int i = 0; i < 500; ++i) {
            const auto frame = m_reader.wait(*m_client);
            QVERIFY(frame);
            QCOMPARE(frame->second, "frame " + QByteArray::number(i));
        }
        QCOMPARE(m_harness->link->pendingBytes(), 0);
    }

    void framesRightBehindTheHead()
    {
        connectClient();
        m_client->write(
            Upgrade + P::clientFrame(P::Text, "early") + P::clientFrame(P::Text, "bird"));
        QVERIFY(waitUntil([&] { return m_harness->texts.size() == 2; }));
        QCOMPARE(m_harness->texts, (QByteArrayList {"early", "bird"}));
    }

    void pingsAndPongs()
    {
        upgradeClient();
        m_client->write(P::clientFrame(P::Ping, "abc"));
        auto frame = m_reader.wait(*m_client);
        QVERIFY(frame);
        QCOMPARE(frame->first, int(P::Pong));
        QCOMPARE(frame->second, QByteArray("abc"));

        m_harness->link->ping();
        frame = m_reader.wait(*m_client);
        QVERIFY(frame);
        QCOMPARE(frame->first, int(P::Ping));
        m_client->write(P::clientFrame(P::Pong, ""));
        QVERIFY(waitUntil([&] { return m_harness->pongs == 1; }));
    }

    void peerStartsTheCloseHandshake()
    {
        upgradeClient();
        m_client->write(P::clientFrame(P::Close, closePayload(4001)));
        const auto frame = m_reader.wait(*m_client);
        QVERIFY(frame);
        QCOMPARE(frame->first, int(P::Close));
        QCOMPARE(frame->second, closePayload(4001)); // echoed
        QVERIFY(clientSawEof()); // the server closes TCP first
        QVERIFY(waitUntil([&] { return m_harness->closed; }));
        QVERIFY(m_harness->drops.isEmpty());
    }

    void serverStartsTheCloseHandshake()
    {
        upgradeClient();
        m_harness->link->close(1008, QStringLiteral("too many frames"));
        const auto frame = m_reader.wait(*m_client);
        QVERIFY(frame);
        QCOMPARE(frame->first, int(P::Close));
        QCOMPARE(frame->second, closePayload(1008) + "too many frames");
        QVERIFY(!m_harness->link->isOpen());
        m_harness->link->sendText("after close"); // dropped: nothing follows a close frame
        m_client->write(P::clientFrame(P::Close, closePayload(1008)));
        QVERIFY(clientSawEof());
        QVERIFY(m_reader.buffer.isEmpty());
        QVERIFY(waitUntil([&] { return m_harness->closed; }));
        QVERIFY(m_harness->drops.isEmpty());
    }

    void closeHandshakeHasADeadline()
    {
        m_harness->limits.closeTimeoutMs = 200;
        upgradeClient();
        m_harness->link->close(1001, QStringLiteral("server shutting down"));
        QVERIFY(m_reader.wait(*m_client));
        QVERIFY(clientSawEof()); // the client never answered; the server closed anyway
        QVERIFY(waitUntil([&] { return m_harness->closed; }));
        QCOMPARE(m_harness->drops, QList<Link::Drop> {Link::Drop::CloseTimeout});
    }

    void protocolErrorsCloseWithTheirCode_data()
    {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<int>("code");
        QTest::newRow("unmasked") << P::clientFrame(P::Text, "hi", true, 0, 0, false) << 1002;
        QTest::newRow("invalid UTF-8") << P::clientFrame(P::Text, "\xED\xA0\x80") << 1007;
        QTest::newRow("too big") << P::clientFrame(P::Binary, QByteArray(65537, 'x')) << 1009;
    }

    void protocolErrorsCloseWithTheirCode()
    {
        QFETCH(QByteArray, input);
        QFETCH(int, code);
        upgradeClient();
        m_client->write(input);
        const auto frame = m_reader.wait(*m_client);
        QVERIFY(frame);
        QCOMPARE(frame->first, int(P::Close));
        QCOMPARE(frame->second.first(2), closePayload(code));
        QVERIFY(clientSawEof());
        QVERIFY(m_harness->texts.isEmpty());
    }

    void fragmentsMaySplitACharacter()
    {
        upgradeClient();
        const QByteArray text = "caf\xC3\xA9 \xF0\x9F\x98\x80";
        m_client->write(P::clientFrame(P::Text, text.first(4), false)
            + P::clientFrame(P::Continuation, text.sliced(4, 3), false)
            + P::clientFrame(P::Continuation, text.sliced(7)));
        QVERIFY(waitUntil([&] { return m_harness->texts.size() == 1; }));
        QCOMPARE(m_harness->texts.first(), text);
    }

    void readingPausesWhileRepliesPileUp()
    {
        m_harness->limits.pauseReadingAt = 64 * 1024;
        m_harness->limits.dropAt = 64 * 1024 * 1024;
        upgradeClient();
        stopReadingUntilPaused();
        QVERIFY(m_harness->link->pendingBytes() > 64 * 1024);
        // A request sent now is not read while the replies wait...
        m_client->write(P::clientFrame(P::Text, "while paused"));
        QVERIFY(m_client->waitForBytesWritten(5000));
        QTest::qWait(100);
        QCoreApplication::processEvents();
        QVERIFY(m_harness->texts.isEmpty());
        // ...and is read once the client reads its replies.
        m_client->setReadBufferSize(0);
        QVERIFY(waitUntil([&] {
            m_client->readAll();
            return m_harness->texts.size() == 1;
        }));
        QCOMPARE(m_harness->texts.first(), QByteArray("while paused"));
        QVERIFY(m_harness->link->isOpen());
        QVERIFY(m_harness->drops.isEmpty());
    }

    void aReaderThatStaysSlowIsDropped()
    {
        m_harness->limits.pauseReadingAt = 64 * 1024;
        m_harness->limits.stallTimeoutMs = 300;
        upgradeClient();
        stopReadingUntilPaused();
        QVERIFY(waitUntil([&] { return m_harness->closed; }));
        QCOMPARE(m_harness->drops, QList<Link::Drop> {Link::Drop::SlowReader});
    }

    void aQueuePastTheLimitIsDropped()
    {
        m_harness->limits.dropAt = 1024 * 1024;
        upgradeClient();
        m_client->setReadBufferSize(1024);
        const QByteArray big(60 * 1024, 'r');
        qint64 most = 0;
        for (int i = 0; i < 5000 && m_harness->link->isOpen(); ++i) {
            m_harness->link->sendText(big);
            most = std::max(most, m_harness->link->pendingBytes());
        }
        QVERIFY(!m_harness->link->isOpen());
        QVERIFY(most <= 1024 * 1024);
        QVERIFY(waitUntil([&] { return m_harness->closed; }));
        QCOMPARE(m_harness->drops, QList<Link::Drop> {Link::Drop::SlowReader});
    }
};

QTEST_GUILESS_MAIN(TestLink)
#include "tst_link.moc"
