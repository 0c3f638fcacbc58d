// HttpPipeline (the HTTP/1.1 client under DynamoClient) and its response parser. The
// parser is fed every split of pipelined responses; the pipeline talks to a scripted
// server on 127.0.0.1 that answers, dribbles, closes, stays silent or counts, as each
// test needs, and to a TLS server with a certificate made here by openssl.
#include "httppipeline.h"

#include <QFile>
#include <QProcess>
#include <QSslKey>
#include <QSslServer>
#include <QSslSocket>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <functional>
#include <memory>
#include <optional>

using namespace Qt::StringLiterals;
using parley::server::aws::HttpLimits;
using parley::server::aws::HttpPipeline;
using parley::server::aws::HttpResponse;
using parley::server::aws::HttpResponseParser;
using parley::server::aws::HttpResult;

namespace {

QByteArray contentLengthResponse(const QByteArray &body, const QByteArray &extra = {})
{
    return "HTTP/1.1 200 OK\r\nX-Echo: " + body + "\r\n" + extra
        + "Content-Length: " + QByteArray::number(body.size()) + "\r\n\r\n" + body;
}

QByteArray chunkedResponse(const QByteArray &body)
{
    QByteArray out
        = "HTTP/1.1 200 OK\r\nX-Echo: " + body + "\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (qsizetype at = 0; at < body.size(); at += 3) {
        const QByteArray chunk = body.mid(at, 3);
        out += QByteArray::number(chunk.size(), 16) + ";ext=1\r\n" + chunk + "\r\n";
    }
    return out + "0\r\nX-Trailer: t\r\n\r\n";
}

QByteArray emptyResponse(const QByteArray &echo)
{
    return "HTTP/1.1 200 OK\r\nX-Echo: " + echo + "\r\nContent-Length: 0\r\n\r\n";
}

// One line per response, so feeds with different splits compare in one QCOMPARE.
QByteArray describe(const QList<HttpResponse> &responses, bool ok)
{
    QByteArray out;
    for (const HttpResponse &response : responses)
        out += QByteArray::number(response.status) + (response.closesConnection ? " close " : " ")
            + response.header("x-echo") + " [" + response.body + "]\n";
    return out + (ok ? "ok" : "error");
}

QByteArray parse(const QList<QByteArrayView> &pieces, bool closeAtEnd)
{
    HttpResponseParser parser;
    QList<HttpResponse> responses;
    bool ok = true;
    for (QByteArrayView piece : pieces)
        ok = ok && parser.feed(piece, &responses);
    if (ok && closeAtEnd)
        ok = parser.finish(&responses);
    return describe(responses, ok);
}

// What arrived on one accepted connection.
struct Peer
{
    QTcpSocket *socket = nullptr;
    QByteArray buffer;
    QList<QByteArray> requests; // bodies, in arrival order
    int answered = 0;
};

// A server on 127.0.0.1 that splits what it receives into requests and lets the test
// decide what to answer. It records the most connections and unanswered requests it saw.
class ScriptedServer : public QObject
{
public:
    std::function<void(Peer &peer)> onRequest; // after each complete request

    bool listen(QTcpServer *server)
    {
        m_server.reset(server);
        server->setParent(nullptr);
        // After the handshake, for a QSslServer.
        connect(server, &QTcpServer::pendingConnectionAvailable, this, [this] {
            while (QTcpSocket *socket = m_server->nextPendingConnection())
                adopt(socket);
        });
        return server->listen(QHostAddress::LocalHost, 0);
    }
    quint16 port() const { return m_server->serverPort(); }
    QUrl url(const QString &scheme = u"http"_s) const
    {
        return QUrl(u"%1://127.0.0.1:%2"_s.arg(scheme).arg(port()));
    }

    void answer(Peer &peer, const QByteArray &bytes, int count = 1)
    {
        peer.socket->write(bytes);
        peer.answered += count;
    }
    int unanswered() const
    {
        int total = 0;
        for (const auto &peer : m_peers)
            total += int(peer->requests.size()) - peer->answered;
        return total;
    }

    std::vector<std::unique_ptr<Peer>> m_peers; // every connection ever accepted
    int maxOpen = 0;
    int maxUnansweredOnOne = 0;
    int maxUnanswered = 0;

private:
    void adopt(QTcpSocket *socket)
    {
        socket->setParent(this);
        m_peers.push_back(std::make_unique<Peer>());
        Peer *peer = m_peers.back().get();
        peer->socket = socket;
        ++m_open;
        maxOpen = std::max(maxOpen, m_open);
        connect(socket, &QTcpSocket::disconnected, this, [this] { --m_open; });
        connect(socket, &QTcpSocket::readyRead, this, [this, peer] { read(*peer); });
    }

    void read(Peer &peer)
    {
        peer.buffer += peer.socket->readAll();
        for (;;) {
            const qsizetype headEnd = peer.buffer.indexOf("\r\n\r\n");
            if (headEnd < 0)
                return;
            const QByteArray head = peer.buffer.left(headEnd).toLower();
            const qsizetype at = head.indexOf("content-length: ") + 16;
            const qsizetype length = head.mid(at, head.indexOf('\r', at) - at).toLongLong();
            if (peer.buffer.size() < headEnd + 4 + length)
                return;
            peer.requests.append(peer.buffer.mid(headEnd + 4, length));
            peer.buffer.remove(0, headEnd + 4 + length);
            maxUnansweredOnOne
                = std::max(maxUnansweredOnOne, int(peer.requests.size()) - peer.answered);
            maxUnanswered = std::max(maxUnanswered, unanswered());
            if (onRequest)
                onRequest(peer);
        }
    }

    std::unique_ptr<QTcpServer> m_server;
    int m_open = 0;
};

// The results of posts, by index, as they come back.
struct Results
{
    std::vector<std::optional<HttpResult>> slots;
    int count = 0;

    void post(HttpPipeline &pipeline, const QByteArray &body)
    {
        const size_t index = slots.size();
        slots.emplace_back();
        pipeline.post(
            "/", {{"Content-Type", "text/plain"}}, body, [this, index](HttpResult result) {
                QVERIFY(!slots[index]); // exactly once
                slots[index] = std::move(result);
                ++count;
            });
    }
    const HttpResult &at(size_t index) const { return *slots.at(index); }
};

HttpLimits limits(int connections, int perConnection, int inFlight, int timeoutMs = 30000)
{
    HttpLimits result;
    result.connections = connections;
    result.perConnection = perConnection;
    result.inFlight = inFlight;
    result.timeoutMs = timeoutMs;
    return result;
}

} // namespace

class TestHttpPipeline : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parserSplits_data();
    void parserSplits();
    void parserRejects_data();
    void parserRejects();
    void pipelinedAnswersMatchInOrder_data();
    void pipelinedAnswersMatchInOrder();
    void answerDribbledByteByByte();
    void serverClosingMidResponseFailsTheUnanswered();
    void connectionCloseHeaderEndsTheConnection();
    void timeoutCountsFromTheWrite();
    void connectionsAndInFlightStayBounded();
    void refusedConnectionFailsTheQueue();
    void tlsWithTrustedCertificate();
};

void TestHttpPipeline::parserSplits_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<bool>("closeAtEnd");
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("content-length")
        << contentLengthResponse("hello") << false << QByteArray("200 hello [hello]\nok");
    QTest::newRow("pipelined mix")
        << QByteArray("HTTP/1.1 100 Continue\r\n\r\n" + contentLengthResponse("a")
               + chunkedResponse("chunked body") + emptyResponse("e")
               + "HTTP/1.1 204 No Content\r\nX-Echo: n\r\n\r\n"
               + "HTTP/1.1 500 Internal Server Error\r\nx-echo: f\r\ncontent-length: 2\r\n\r\n{}")
        << false
        << QByteArray("200 a [a]\n200 chunked body [chunked body]\n200 e []\n204 n []\n"
                      "500 f [{}]\nok");
    QTest::newRow("connection close")
        << contentLengthResponse("x", "Connection: keep-alive, close\r\n") << false
        << QByteArray("200 close x [x]\nok");
    QTest::newRow("http/1.0 closes") << QByteArray("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nz")
                                     << false << QByteArray("200 close  [z]\nok");
    QTest::newRow("close-delimited body")
        << QByteArray("HTTP/1.1 200 OK\r\nX-Echo: u\r\n\r\nuntil the end") << true
        << QByteArray("200 close u [until the end]\nok");
    QTest::newRow("cut short") << QByteArray(contentLengthResponse("abcdef").chopped(2)) << true
                               << QByteArray("error");
}

void TestHttpPipeline::parserSplits()
{
    QFETCH(QByteArray, input);
    QFETCH(bool, closeAtEnd);
    QFETCH(QByteArray, expected);

    QCOMPARE(parse({input}, closeAtEnd), expected);
    for (qsizetype split = 0; split <= input.size(); ++split) {
        const QByteArrayView all(input);
        QCOMPARE(parse({all.first(split), all.sliced(split)}, closeAtEnd), expected);
    }
    QList<QByteArrayView> bytes;
    for (qsizetype i = 0; i < input.size(); ++i)
        bytes.append(QByteArrayView(input).sliced(i, 1));
    QCOMPARE(parse(bytes, closeAtEnd), expected);
}

void TestHttpPipeline::parserRejects_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::newRow("not http") << QByteArray("SSH-2.0-OpenSSH\r\n\r\n");
    QTest::newRow("bad status") << QByteArray("HTTP/1.1 2x0 OK\r\n\r\n");
    QTest::newRow("switching protocols") << QByteArray("HTTP/1.1 101 Switching\r\n\r\n");
    QTest::newRow("bad chunk size")
        << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    QTest::newRow("chunk without crlf")
        << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n");
    QTest::newRow("conflicting lengths")
        << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
    QTest::newRow("negative length") << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n");
    QTest::newRow("folded header") << QByteArray("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n");
    QTest::newRow("huge head") << QByteArray(
        "HTTP/1.1 200 OK\r\nX: " + QByteArray(HttpResponseParser::MaxHeadBytes + 1, 'x'));
}

void TestHttpPipeline::parserRejects()
{
    QFETCH(QByteArray, input);
    HttpResponseParser parser;
    QList<HttpResponse> responses;
    QVERIFY(!parser.feed(input, &responses));
    QVERIFY(!parser.errorString().isEmpty());
    QVERIFY(responses.isEmpty());
    QVERIFY(!parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &responses));
}

void TestHttpPipeline::pipelinedAnswersMatchInOrder_data()
{
    QTest::addColumn<int>("framing");
    QTest::newRow("content-length") << 0;
    QTest::newRow("chunked") << 1;
    QTest::newRow("content-length 0") << 2;
    QTest::newRow("mixed") << 3;
}

// Eight requests go out back to back on one connection before any answer; the answers
// come in one write and each reaches its own request.
void TestHttpPipeline::pipelinedAnswersMatchInOrder()
{
    QFETCH(int, framing);
    ScriptedServer server;
    QVERIFY(server.listen(new QTcpServer));
    server.onRequest = [&server, framing](Peer &peer) {
        if (peer.requests.size() < 8)
            return;
        QByteArray all;
        for (qsizetype i = 0; i < peer.requests.size(); ++i) {
            const QByteArray &body = peer.requests.at(i);
            const int kind = framing == 3 ? int(i % 3) : framing;
            all += kind == 0 ? contentLengthResponse(body)
                : kind == 1  ? chunkedResponse(body)
                             : emptyResponse(body);
        }
        server.answer(peer, all, int(peer.requests.size()));
    };
    HttpPipeline pipeline(server.url(), limits(1, 8, 8));
    Results results;
    for (int i = 0; i < 8; ++i)
        results.post(pipeline, "request-" + QByteArray::number(i));
    QCOMPARE(pipeline.connectionCount(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(results.count, 8, 10000);
    for (int i = 0; i < 8; ++i) {
        const HttpResult &result = results.at(i);
        QVERIFY2(result.ok(), qPrintable(result.error));
        QCOMPARE(result.response.header("X-Echo"), "request-" + QByteArray::number(i));
    }
    QCOMPARE(server.m_peers.size(), size_t(1));
    QCOMPARE(pipeline.inFlight(), 0);
}

void TestHttpPipeline::answerDribbledByteByByte()
{
    ScriptedServer server;
    QVERIFY(server.listen(new QTcpServer));
    QByteArray pending;
    QTimer dribble;
    Peer *answering = nullptr;
    connect(&dribble, &QTimer::timeout, this, [&] {
        if (pending.isEmpty())
            return dribble.stop();
        answering->socket->write(pending.left(1));
        answering->socket->flush();
        pending.remove(0, 1);
    });
    server.onRequest = [&](Peer &peer) {
        if (peer.requests.size() < 3)
            return;
        pending = contentLengthResponse(peer.requests.at(0)) + chunkedResponse(peer.requests.at(1))
            + emptyResponse(peer.requests.at(2));
        answering = &peer;
        peer.answered = 3;
        dribble.start(1);
    };
    HttpPipeline pipeline(server.url(), limits(1, 4, 4));
    Results results;
    for (const QByteArray body : {"first", "second body", "third"})
        results.post(pipeline, body);
    QTRY_COMPARE_WITH_TIMEOUT(results.count, 3, 30000);
    QCOMPARE(results.at(0).response.body, "first");
    QCOMPARE(results.at(1).response.body, "second body");
    QCOMPARE(results.at(2).response.header("x-echo"), "third");
    QCOMPARE(results.at(2).response.body, QByteArray());
}

// Answer 1 whole, answer 2 half, then the server closes: 1 succeeds, 2 to 4 fail as
// network errors, and the next requests go out on a new connection.
void TestHttpPipeline::serverClosingMidResponseFailsTheUnanswered()
{
    ScriptedServer server;
    QVERIFY(server.listen(new QTcpServer));
    server.onRequest = [&server](Peer &peer) {
        if (&peer == server.m_peers.front().get()) {
            if (peer.requests.size() == 4) {
                server.answer(peer, contentLengthResponse(peer.requests.at(0)));
                peer.socket->write(contentLengthResponse(peer.requests.at(1)).left(30));
                peer.socket->disconnectFromHost();
            }
            return;
        }
        server.answer(peer, contentLengthResponse(peer.requests.last()));
    };
    HttpPipeline pipeline(server.url(), limits(1, 4, 4));
    Results results;
    for (int i = 0; i < 4; ++i)
        results.post(pipeline, "r" + QByteArray::number(i));
    QTRY_COMPARE_WITH_TIMEOUT(results.count, 4, 10000);
    QVERIFY(results.at(0).ok());
    QCOMPARE(results.at(0).response.body, "r0");
    for (int i = 1; i < 4; ++i) {
        QVERIFY(!results.at(i).ok());
        QVERIFY(!results.at(i).timedOut);
        QVERIFY(!results.at(i).error.isEmpty());
    }
    QCOMPARE(pipeline.inFlight(), 0);

    results.post(pipeline, "after-1");
    results.post(pipeline, "after-2");
    QTRY_COMPARE_WITH_TIMEOUT(results.count, 6, 10000);
    QCOMPARE(results.at(4).response.body, "after-1");
    QCOMPARE(results.at(5).response.body, "after-2");
    QCOMPARE(server.m_peers.size(), size_t(2));
}

// The server answers the first of three pipelined requests with `Connection: close` and
// then ignores the rest: those fail, and the connection is not used again.
void TestHttpPipeline::connectionCloseHeaderEndsTheConnection()
{
    ScriptedServer server;
    QVERIFY(server.listen(new QTcpServer));
    server.onRequest = [&server](Peer &peer) {
        if (&peer != server.m_peers.front().get())
            server.answer(peer, contentLengthResponse(peer.requests.last()));
        else if (peer.requests.size() == 3)
            server.answer(
                peer, contentLengthResponse(peer.requests.at(0), "Connection: close\r\n"));
    };
    HttpPipeline pipeline(server.url(), limits(1, 4, 4));
    Results results;
    for (int i = 0; i < 3; ++i)
        results.post(pipeline, "c" + QByteArray::number(i));
    QTRY_COMPARE_WITH_TIMEOUT(results.count, 3, 10000);
    QCOMPARE(results.at(0).response.body, "c0");
    QVERIFY(results.at(0).response.closesConnection);
    QVERIFY(!results.at(1).ok());
    QVERIFY(!results.at(2).ok());
    QCOMPARE(pipeline.connectionCount(), 0);

    results.post(pipeline, "next");
    QTRY_COMPARE_WITH_TIMEOUT(results.count, 4, 10000);
    QCOMPARE(results.at(3).response.body, "next");
    QCOMPARE(server.m_peers.size(), size_t(2));
}

// One request at a time; the server never answers the first. It times out, and the
// second, which waited in the queue all that time, still gets its whole timeout once
// written: it succeeds on the next connection.
void TestHttpPipeline::timeoutCountsFromTheWrite()
{
    ScriptedServer server;
    QVERIFY(server.listen(new QTcpServer));
    server.onRequest = [&server](Peer &peer) {
        if (&peer != server.m_peers.front().get())
            server.answer(peer, contentLengthResponse(peer.requests.last()));
    };
    HttpPipeline pipeline(server.url(), limits(1, 1, 1, 1500));
    Results results;
    results.post(pipeline, "silence");
    results.post(pipeline, "patient");
    QCOMPARE(pipeline.queued(), 2); // nothing connected yet
    QTRY_COMPARE_WITH_TIMEOUT(pipeline.inFlight(), 1, 10000);
    QCOMPARE(pipeline.queued(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(results.count, 2, 30000);
    QVERIFY(results.at(0).timedOut);
    QVERIFY(!results.at(0).ok());
    QVERIFY2(results.at(1).ok(), qPrintable(results.at(1).error));
    QCOMPARE(results.at(1).response.body, "patient");
}

// 40 requests against limits of 3 connections, 2 per connection, 5 in all: the server
// holds its answers until the pipeline has filled up, then answers as requests arrive.
void TestHttpPipeline::connectionsAndInFlightStayBounded()
{
    ScriptedServer server;
    QVERIFY(server.listen(new QTcpServer));
    bool holding = true;
    server.onRequest = [&](Peer &peer) {
        if (!holding)
            server.answer(peer, contentLengthResponse(peer.requests.last()));
    };
    HttpPipeline pipeline(server.url(), limits(3, 2, 5));
    Results results;
    for (int i = 0; i < 40; ++i)
        results.post(pipeline, "b" + QByteArray::number(i));
    QTRY_COMPARE_WITH_TIMEOUT(server.unanswered(), 5, 10000);
    QCOMPARE(pipeline.inFlight(), 5);
    QCOMPARE(pipeline.queued(), 35);
    QVERIFY(pipeline.connectionCount() <= 3);

    holding = false;
    for (const auto &peer : server.m_peers) {
        for (qsizetype i = peer->answered; i < peer->requests.size(); ++i)
            server.answer(*peer, contentLengthResponse(peer->requests.at(i)));
    }
    QTRY_COMPARE_WITH_TIMEOUT(results.count, 40, 30000);
    for (int i = 0; i < 40; ++i)
        QCOMPARE(results.at(i).response.body, "b" + QByteArray::number(i));
    QVERIFY2(server.maxOpen <= 3, qPrintable(QString::number(server.maxOpen)));
    QVERIFY(server.m_peers.size() <= 3); // kept alive, not reopened
    QVERIFY2(
        server.maxUnansweredOnOne <= 2, qPrintable(QString::number(server.maxUnansweredOnOne)));
    QVERIFY2(server.maxUnanswered <= 5, qPrintable(QString::number(server.maxUnanswered)));
}

void TestHttpPipeline::refusedConnectionFailsTheQueue()
{
    QTcpServer closed;
    QVERIFY(closed.listen(QHostAddress::LocalHost, 0));
    const quint16 port = closed.serverPort();
    closed.close();
    HttpPipeline pipeline(QUrl(u"http://127.0.0.1:%1"_s.arg(port)), limits(2, 2, 4));
    Results results;
    for (int i = 0; i < 6; ++i)
        results.post(pipeline, "x");
    QTRY_COMPARE_WITH_TIMEOUT(results.count, 6, 10000);
    for (int i = 0; i < 6; ++i)
        QVERIFY(!results.at(i).ok());
    QCOMPARE(pipeline.queued(), 0);
    QCOMPARE(pipeline.connectionCount(), 0);
}

// https with normal verification: a certificate the pipeline was told to trust works, the
// same server is refused with the system's authorities only.
void TestHttpPipeline::tlsWithTrustedCertificate()
{
    if (!QSslSocket::supportsSsl())
        QSKIP("no TLS backend");
    const QString openssl = QStandardPaths::findExecutable(u"openssl"_s);
    if (openssl.isEmpty())
        QSKIP("openssl is not installed");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    QProcess make;
    make.start(openssl,
        {u"req"_s, u"-x509"_s, u"-newkey"_s, u"ec"_s, u"-pkeyopt"_s, u"ec_paramgen_curve:P-256"_s,
            u"-nodes"_s, u"-days"_s, u"2"_s, u"-subj"_s, u"/CN=127.0.0.1"_s, u"-addext"_s,
            u"subjectAltName=IP:127.0.0.1"_s, u"-keyout"_s, dir.filePath(u"key.pem"_s), u"-out"_s,
            dir.filePath(u"cert.pem"_s)});
    QVERIFY(make.waitForFinished(60000));
    QCOMPARE(make.exitCode(), 0);
    QFile certFile(dir.filePath(u"cert.pem"_s));
    QFile keyFile(dir.filePath(u"key.pem"_s));
    QVERIFY(certFile.open(QIODevice::ReadOnly) && keyFile.open(QIODevice::ReadOnly));
    const QSslCertificate certificate(&certFile, QSsl::Pem);
    const QSslKey key(&keyFile, QSsl::Ec, QSsl::Pem);
    QVERIFY(!certificate.isNull() && !key.isNull());

    auto *tls = new QSslServer;
    QSslConfiguration serverSide = QSslConfiguration::defaultConfiguration();
    serverSide.setLocalCertificate(certificate);
    serverSide.setPrivateKey(key);
    serverSide.setPeerVerifyMode(QSslSocket::VerifyNone);
    tls->setSslConfiguration(serverSide);
    ScriptedServer server;
    QVERIFY(server.listen(tls));
    server.onRequest = [&server](Peer &peer) {
        server.answer(peer, contentLengthResponse(peer.requests.last()));
    };

    HttpPipeline trusting(server.url(u"https"_s), limits(2, 4, 8));
    QSslConfiguration clientSide = QSslConfiguration::defaultConfiguration();
    clientSide.addCaCertificate(certificate);
    trusting.setSslConfiguration(clientSide);
    Results results;
    for (int i = 0; i < 6; ++i)
        results.post(trusting, "tls-" + QByteArray::number(i));
    QTRY_COMPARE_WITH_TIMEOUT(results.count, 6, 30000);
    for (int i = 0; i < 6; ++i) {
        QVERIFY2(results.at(i).ok(), qPrintable(results.at(i).error));
        QCOMPARE(results.at(i).response.body, "tls-" + QByteArray::number(i));
    }

    HttpPipeline doubting(server.url(u"https"_s), limits(1, 1, 1));
    Results refused;
    refused.post(doubting, "never");
    QTRY_COMPARE_WITH_TIMEOUT(refused.count, 1, 30000);
    QVERIFY(!refused.at(0).ok());
    QVERIFY(!refused.at(0).error.isEmpty());
}

QTEST_GUILESS_MAIN(TestHttpPipeline)
#include "tst_httppipeline.moc"
