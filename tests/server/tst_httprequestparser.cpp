#include "httprequestparser.h"

#include <QTest>

using parley::server::HttpRequestParser;
using State = HttpRequestParser::State;

namespace {

// A literal that may hold NUL bytes.
template<qsizetype N> QByteArray raw(const char (&s)[N])
{
    return QByteArray(s, N - 1);
}

// QStringBuilder expressions must become real QByteArrays before they go into
// a QTest data row.
QByteArray cat(std::initializer_list<QByteArrayView> parts)
{
    QByteArray out;
    for (QByteArrayView part : parts)
        out += part;
    return out;
}

// Everything observable about a parse, so feeds with different splits can be
// compared in one QCOMPARE that prints the difference.
QByteArray describe(const HttpRequestParser &p)
{
    QByteArray out;
    switch (p.state()) {
    case State::NeedMore:
        return "NeedMore";
    case State::Error:
        return QByteArray(
            "Error " + QByteArray::number(p.errorStatus()) + ' ' + p.errorMessage().toUtf8());
    case State::Complete:
        out = "Complete consumed=" + QByteArray::number(p.bytesConsumed());
        break;
    }
    out += "\nmethod=" + p.method() + "\ntarget=" + p.target() + "\npath=" + p.path()
        + "\nquery=" + p.query() + "\nversion=" + p.version()
        + "\nupgrade=" + (p.isWebSocketUpgrade() ? "yes" : "no");
    for (const HttpRequestParser::Header &h : p.headers())
        out += "\n" + h.name + ": " + h.value;
    return out;
}

QByteArray parseWhole(QByteArrayView input)
{
    HttpRequestParser p;
    p.feed(input);
    return describe(p);
}

QByteArray parseByteByByte(QByteArrayView input)
{
    HttpRequestParser p;
    for (qsizetype i = 0; i < input.size() && p.state() == State::NeedMore; ++i)
        p.feed(input.sliced(i, 1));
    return describe(p);
}

QByteArray parseSplit(QByteArrayView input, qsizetype at)
{
    HttpRequestParser p;
    if (p.feed(input.first(at)) == State::NeedMore)
        p.feed(input.sliced(at));
    return describe(p);
}

// Feeding the input whole, byte by byte, and in two pieces split anywhere must
// give the same result.
void verifySplitIndependence(const QByteArray &input)
{
    const QByteArray whole = parseWhole(input);
    QCOMPARE(parseByteByByte(input), whole);
    for (qsizetype at = 0; at <= input.size(); ++at) {
        const QByteArray split = parseSplit(input, at);
        if (split != whole)
            QCOMPARE(cat({split, "\n(split at ", QByteArray::number(at), ")"}), whole);
    }
}

const QByteArray upgradeRequest = "GET /ws HTTP/1.1\r\n"
                                  "Host: chat.example.org:8443\r\n"
                                  "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0)\r\n"
                                  "Accept: */*\r\n"
                                  "Accept-Language: en-GB,en;q=0.5\r\n"
                                  "Accept-Encoding: gzip, deflate, br\r\n"
                                  "Sec-WebSocket-Version: 13\r\n"
                                  "Origin: https://chat.example.org\r\n"
                                  "Sec-WebSocket-Protocol: parley.v1\r\n"
                                  "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Connection: keep-alive, Upgrade\r\n"
                                  "Pragma: no-cache\r\n"
                                  "Cache-Control: no-cache\r\n"
                                  "Upgrade: websocket\r\n"
                                  "\r\n";

QByteArray withHeaders(QByteArrayView headers)
{
    return QByteArray("GET /ws HTTP/1.1\r\nHost: h\r\n" + headers.toByteArray() + "\r\n");
}

} // namespace

class TestHttpRequestParser : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void goodRequests_data();
    void goodRequests();
    void badRequests_data();
    void badRequests();
    void limits_data();
    void limits();
    void stopsAtEndOfHead_data();
    void stopsAtEndOfHead();
    void ignoresInputAfterCompleteOrError();
    void headerLookup();
    void reset();
    void webSocketUpgrade_data();
    void webSocketUpgrade();
    void response_data();
    void response();
};

void TestHttpRequestParser::goodRequests_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QByteArray>("method");
    QTest::addColumn<QByteArray>("path");
    QTest::addColumn<QByteArray>("query");
    QTest::addColumn<QByteArray>("version");
    QTest::addColumn<QByteArray>("headerName");
    QTest::addColumn<QByteArray>("headerValue");
    QTest::addColumn<bool>("upgrade");

    QTest::newRow("healthz") << QByteArray("GET /healthz HTTP/1.1\r\nHost: localhost:8080\r\n\r\n")
                             << QByteArray("GET") << QByteArray("/healthz") << QByteArray()
                             << QByteArray("HTTP/1.1") << QByteArray("host")
                             << QByteArray("localhost:8080") << false;
    QTest::newRow("metrics with query")
        << QByteArray("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept: text/plain\r\n\r\n")
        << QByteArray("GET") << QByteArray("/metrics") << QByteArray("x=1")
        << QByteArray("HTTP/1.1") << QByteArray("ACCEPT") << QByteArray("text/plain") << false;
    QTest::newRow("websocket upgrade")
        << upgradeRequest << QByteArray("GET") << QByteArray("/ws") << QByteArray()
        << QByteArray("HTTP/1.1") << QByteArray("sec-websocket-key")
        << QByteArray("dGhlIHNhbXBsZSBub25jZQ==") << true;
    QTest::newRow("LF only") << QByteArray("GET /healthz HTTP/1.1\nHost: x\nUser-Agent: nc\n\n")
                             << QByteArray("GET") << QByteArray("/healthz") << QByteArray()
                             << QByteArray("HTTP/1.1") << QByteArray("user-agent")
                             << QByteArray("nc") << false;
    QTest::newRow("mixed line endings")
        << QByteArray("GET / HTTP/1.1\r\nHost: x\nA: 1\r\n\n") << QByteArray("GET")
        << QByteArray("/") << QByteArray() << QByteArray("HTTP/1.1") << QByteArray("a")
        << QByteArray("1") << false;
    QTest::newRow("HTTP/1.0 needs no Host")
        << QByteArray("HEAD / HTTP/1.0\r\n\r\n") << QByteArray("HEAD") << QByteArray("/")
        << QByteArray() << QByteArray("HTTP/1.0") << QByteArray("host") << QByteArray() << false;
    QTest::newRow("empty line before request line")
        << QByteArray("\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") << QByteArray("GET")
        << QByteArray("/metrics") << QByteArray() << QByteArray("HTTP/1.1") << QByteArray("host")
        << QByteArray("x") << false;
    QTest::newRow("absolute form")
        << QByteArray("GET http://example.org:8080/metrics?a=b&c HTTP/1.1\r\nHost: "
                      "example.org:8080\r\n\r\n")
        << QByteArray("GET") << QByteArray("/metrics") << QByteArray("a=b&c")
        << QByteArray("HTTP/1.1") << QByteArray("host") << QByteArray("example.org:8080") << false;
    QTest::newRow("absolute form without path")
        << QByteArray("GET http://example.org HTTP/1.1\r\nHost: example.org\r\n\r\n")
        << QByteArray("GET") << QByteArray("/") << QByteArray() << QByteArray("HTTP/1.1")
        << QByteArray("host") << QByteArray("example.org") << false;
    QTest::newRow("empty query") << QByteArray("GET /metrics? HTTP/1.1\r\nHost: x\r\n\r\n")
                                 << QByteArray("GET") << QByteArray("/metrics") << QByteArray()
                                 << QByteArray("HTTP/1.1") << QByteArray("host") << QByteArray("x")
                                 << false;
    QTest::newRow("repeated header joined")
        << QByteArray("GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\naccept: b\r\nACCEPT: c\r\n\r\n")
        << QByteArray("GET") << QByteArray("/") << QByteArray() << QByteArray("HTTP/1.1")
        << QByteArray("Accept") << QByteArray("a, b, c") << false;
    QTest::newRow("whitespace around value")
        << QByteArray("GET / HTTP/1.1\r\nHost: x\r\nX-Pad: \t a  b \t\r\n\r\n") << QByteArray("GET")
        << QByteArray("/") << QByteArray() << QByteArray("HTTP/1.1") << QByteArray("x-pad")
        << QByteArray("a  b") << false;
    QTest::newRow("empty value") << QByteArray("GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\n\r\n")
                                 << QByteArray("GET") << QByteArray("/") << QByteArray()
                                 << QByteArray("HTTP/1.1") << QByteArray("x-empty") << QByteArray()
                                 << false;
    QTest::newRow("non-ASCII value bytes")
        << QByteArray("GET / HTTP/1.1\r\nHost: x\r\nX-Name: Zo\xc3\xab\r\n\r\n")
        << QByteArray("GET") << QByteArray("/") << QByteArray() << QByteArray("HTTP/1.1")
        << QByteArray("x-name") << QByteArray("Zo\xc3\xab") << false;
    QTest::newRow("zero Content-Length")
        << QByteArray("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        << QByteArray("POST") << QByteArray("/healthz") << QByteArray() << QByteArray("HTTP/1.1")
        << QByteArray("content-length") << QByteArray("0") << false;
    QTest::newRow("token method") << QByteArray("M-SEARCH * HTTP/1.1\r\nHost: x\r\n\r\n")
                                  << QByteArray("M-SEARCH") << QByteArray("*") << QByteArray()
                                  << QByteArray("HTTP/1.1") << QByteArray("host") << QByteArray("x")
                                  << false;
}

void TestHttpRequestParser::goodRequests()
{
    QFETCH(QByteArray, input);
    QFETCH(QByteArray, method);
    QFETCH(QByteArray, path);
    QFETCH(QByteArray, query);
    QFETCH(QByteArray, version);
    QFETCH(QByteArray, headerName);
    QFETCH(QByteArray, headerValue);
    QFETCH(bool, upgrade);

    HttpRequestParser p;
    QCOMPARE(p.feed(input), State::Complete);
    QCOMPARE(p.errorStatus(), 0);
    QCOMPARE(p.bytesConsumed(), input.size());
    QCOMPARE(p.method(), method);
    QCOMPARE(p.path(), path);
    QCOMPARE(p.query(), query);
    QCOMPARE(p.version(), version);
    QCOMPARE(p.header(headerName), headerValue);
    QCOMPARE(p.isWebSocketUpgrade(), upgrade);

    verifySplitIndependence(input);
}

void TestHttpRequestParser::badRequests_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("status");

    const auto ok = [](QByteArrayView rest) {
        return cat({"GET / HTTP/1.1\r\nHost: x\r\n", rest});
    };

    QTest::newRow("garbage") << QByteArray("hello\r\n\r\n") << 400;
    QTest::newRow("binary garbage") << raw("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\n\n") << 400;
    QTest::newRow("HTTP/2.0") << QByteArray("GET / HTTP/2.0\r\nHost: x\r\n\r\n") << 505;
    QTest::newRow("HTTP/2 preface") << QByteArray("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") << 505;
    QTest::newRow("HTTP/1.2") << QByteArray("GET / HTTP/1.2\r\nHost: x\r\n\r\n") << 505;
    QTest::newRow("HTTP/0.9 request") << QByteArray("GET /\r\n\r\n") << 400;
    QTest::newRow("lowercase version") << QByteArray("GET / http/1.1\r\nHost: x\r\n\r\n") << 400;
    QTest::newRow("long version") << QByteArray("GET / HTTP/1.10\r\nHost: x\r\n\r\n") << 400;
    QTest::newRow("double space") << QByteArray("GET  / HTTP/1.1\r\nHost: x\r\n\r\n") << 400;
    QTest::newRow("trailing space") << QByteArray("GET / HTTP/1.1 \r\nHost: x\r\n\r\n") << 400;
    QTest::newRow("tab separator") << QByteArray("GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n") << 400;
    QTest::newRow("bad method") << QByteArray("GE(T / HTTP/1.1\r\nHost: x\r\n\r\n") << 400;
    QTest::newRow("relative target")
        << QByteArray("GET healthz HTTP/1.1\r\nHost: x\r\n\r\n") << 400;
    QTest::newRow("fragment in target")
        << QByteArray("GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n") << 400;
    QTest::newRow("non-ASCII target")
        << QByteArray("GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n") << 400;
    QTest::newRow("NUL in target") << raw("GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n") << 400;
    QTest::newRow("NUL in header") << ok(raw("X-A: a\0b\r\n\r\n")) << 400;
    QTest::newRow("DEL in header") << ok("X-A: a\x7f\r\n\r\n") << 400;
    QTest::newRow("bare CR") << ok("X-A: a\rb\r\n\r\n") << 400;
    QTest::newRow("missing colon") << ok("NoColonHere\r\n\r\n") << 400;
    QTest::newRow("empty name") << ok(": value\r\n\r\n") << 400;
    QTest::newRow("space before colon") << ok("X-A : value\r\n\r\n") << 400;
    QTest::newRow("space in name") << ok("X A: value\r\n\r\n") << 400;
    QTest::newRow("invalid name char") << ok("X(A): value\r\n\r\n") << 400;
    QTest::newRow("obs-fold") << ok("X-A: first\r\n second\r\n\r\n") << 400;
    QTest::newRow("obs-fold with tab") << ok("X-A: first\r\n\tsecond\r\n\r\n") << 400;
    QTest::newRow("missing Host") << QByteArray("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n") << 400;
    QTest::newRow("two Host") << ok("Host: y\r\n\r\n") << 400;
    QTest::newRow("body") << ok("Content-Length: 5\r\n\r\nhello") << 413;
    QTest::newRow("chunked body") << ok("Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n") << 413;
    QTest::newRow("bad Content-Length") << ok("Content-Length: abc\r\n\r\n") << 400;
    QTest::newRow("negative Content-Length") << ok("Content-Length: -1\r\n\r\n") << 400;
    QTest::newRow("oversize request line")
        << cat({"GET /", QByteArray(9000, 'a'), " HTTP/1.1\r\nHost: x\r\n\r\n"}) << 414;
    QByteArray big = ok({});
    for (int i = 0; i < 20; ++i)
        big += "X-Filler-" + QByteArray::number(i) + ": " + QByteArray(1000, 'f') + "\r\n";
    QTest::newRow("oversize headers") << cat({big, "\r\n"}) << 431;
    QByteArray many = ok({});
    for (int i = 0; i < 101; ++i)
        many += "X-" + QByteArray::number(i) + ": v\r\n";
    QTest::newRow("too many headers") << cat({many, "\r\n"}) << 431;
    QTest::newRow("endless request line") << QByteArray(20000, 'G') << 414;
}

void TestHttpRequestParser::badRequests()
{
    QFETCH(QByteArray, input);
    QFETCH(int, status);

    HttpRequestParser p;
    QCOMPARE(p.feed(input), State::Error);
    QCOMPARE(p.errorStatus(), status);
    QVERIFY(!p.errorMessage().isEmpty());
    QVERIFY(!p.isWebSocketUpgrade());

    verifySplitIndependence(input);
}

void TestHttpRequestParser::limits_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<int>("status"); // 0: Complete

    const auto requestLine = [](qsizetype length) {
        const QByteArrayView pre = "GET /";
        const QByteArrayView post = " HTTP/1.1";
        return cat({pre, QByteArray(length - pre.size() - post.size(), 'a'), post});
    };
    const qsizetype maxLine = HttpRequestParser::MaxRequestLineBytes;
    QTest::newRow("request line at limit")
        << cat({requestLine(maxLine), "\r\nHost: x\r\n\r\n"}) << 0;
    QTest::newRow("request line at limit, LF") << cat({requestLine(maxLine), "\nHost: x\n\n"}) << 0;
    QTest::newRow("request line over limit")
        << cat({requestLine(maxLine + 1), "\r\nHost: x\r\n\r\n"}) << 414;

    // A head of exactly MaxHeadBytes, padded by one header's value.
    const QByteArrayView start = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
    const QByteArrayView end = "\r\n\r\n";
    const qsizetype pad = HttpRequestParser::MaxHeadBytes - start.size() - end.size();
    QTest::newRow("head at limit") << cat({start, QByteArray(pad, 'p'), end}) << 0;
    QTest::newRow("head over limit by its last LF")
        << cat({start, QByteArray(pad + 1, 'p'), end}) << 431;

    QByteArray hundred = "GET / HTTP/1.1\r\n";
    for (int i = 1; i < HttpRequestParser::MaxHeaders; ++i)
        hundred += "X-" + QByteArray::number(i) + ": v\r\n";
    // Empty lines before the request line are skipped, but still count.
    QTest::newRow("endless empty lines") << QByteArray(20000, '\n') << 431;
    QTest::newRow("100 headers") << cat({hundred, "Host: x\r\n\r\n"}) << 0;
    QTest::newRow("101 headers") << cat({hundred, "Host: x\r\nX-Last: v\r\n\r\n"}) << 431;
}

void TestHttpRequestParser::limits()
{
    QFETCH(QByteArray, input);
    QFETCH(int, status);

    HttpRequestParser p;
    QCOMPARE(p.feed(input), status == 0 ? State::Complete : State::Error);
    QCOMPARE(p.errorStatus(), status);
    if (status == 0)
        QCOMPARE(p.bytesConsumed(), input.size());
    QCOMPARE(parseByteByByte(input), parseWhole(input));
}

void TestHttpRequestParser::stopsAtEndOfHead_data()
{
    QTest::addColumn<QByteArray>("head");
    QTest::addColumn<QByteArray>("after");

    // A client may send its first frame right behind the upgrade request.
    const QByteArray maskedTextFrame("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
    QTest::newRow("websocket frame") << upgradeRequest << maskedTextFrame;
    QTest::newRow("frame starting with LF") << upgradeRequest << QByteArray("\n\r\n\x81\x80");
    QTest::newRow("pipelined request") << QByteArray("GET /healthz HTTP/1.1\nHost: x\n\n")
                                       << QByteArray("GET /metrics HTTP/1.1\nHost: x\n\n");
}

void TestHttpRequestParser::stopsAtEndOfHead()
{
    QFETCH(QByteArray, head);
    QFETCH(QByteArray, after);
    const QByteArray input = cat({head, after});

    for (qsizetype at = 0; at <= input.size(); ++at) {
        HttpRequestParser p;
        // A listener appends whatever arrives and feeds it while the parser wants more.
        QByteArray buffered = input.first(at);
        if (p.feed(buffered) == State::NeedMore)
            p.feed(input.sliced(at));
        buffered += input.sliced(at);
        QCOMPARE(p.state(), State::Complete);
        QCOMPARE(p.bytesConsumed(), head.size());
        QCOMPARE(buffered.sliced(p.bytesConsumed()), input.sliced(head.size()));
    }
}

void TestHttpRequestParser::ignoresInputAfterCompleteOrError()
{
    HttpRequestParser p;
    QCOMPARE(p.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), State::Complete);
    const qsizetype consumed = p.bytesConsumed();
    QCOMPARE(p.feed("X-Late: 1\r\n\r\n"), State::Complete);
    QCOMPARE(p.bytesConsumed(), consumed);
    QVERIFY(!p.hasHeader("x-late"));

    HttpRequestParser bad;
    QCOMPARE(bad.feed("nonsense\r\n"), State::Error);
    QCOMPARE(bad.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), State::Error);
    QCOMPARE(bad.errorStatus(), 400);
}

void TestHttpRequestParser::headerLookup()
{
    HttpRequestParser p;
    QCOMPARE(p.feed("GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nX-Multi: 1\r\nx-multi: 2\r\n\r\n"),
        State::Complete);
    QVERIFY(p.hasHeader("X-EMPTY"));
    QCOMPARE(p.header("x-empty"), QByteArray(""));
    QVERIFY(!p.hasHeader("x-absent"));
    QVERIFY(p.header("x-absent").isNull());
    QCOMPARE(p.header("X-Multi"), QByteArray("1, 2"));
    QVERIFY(!p.hasHeader("x-mult"));
    QCOMPARE(p.headers().size(), 4);
    QCOMPARE(p.headers().at(3).name, QByteArray("x-multi")); // the name as sent
}

void TestHttpRequestParser::reset()
{
    HttpRequestParser p;
    QCOMPARE(p.feed("GET /a?b HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n"), State::Complete);
    p.reset();
    QCOMPARE(p.state(), State::NeedMore);
    QCOMPARE(p.bytesConsumed(), 0);
    QVERIFY(p.headers().isEmpty());
    QCOMPARE(p.feed("GET /metrics HT"), State::NeedMore);
    QCOMPARE(p.feed("TP/1.0\r\n\r\n"), State::Complete);
    QCOMPARE(p.path(), QByteArray("/metrics"));
    QCOMPARE(p.query(), QByteArray());
    QVERIFY(!p.hasHeader("x-a"));

    QCOMPARE(p.feed("x"), State::Complete);
    p.reset();
    QCOMPARE(p.feed("BAD\r\n"), State::Error);
    p.reset();
    QCOMPARE(p.errorStatus(), 0);
    QVERIFY(p.errorMessage().isEmpty());
}

void TestHttpRequestParser::webSocketUpgrade_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<bool>("upgrade");

    const QByteArrayView key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    QTest::newRow("minimal") << withHeaders(
        cat({"Connection: Upgrade\r\nUpgrade: websocket\r\n", key}))
                             << true;
    QTest::newRow("any case") << withHeaders(
        cat({"connection: UPGRADE\r\nupgrade: WebSocket\r\n", key}))
                              << true;
    QTest::newRow("connection list") << withHeaders(
        cat({"Connection: keep-alive,upgrade , close\r\nUpgrade: websocket\r\n", key}))
                                     << true;
    QTest::newRow("connection split over lines") << withHeaders(
        cat({"Connection: keep-alive\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n", key}))
                                                 << true;
    QTest::newRow("browser") << upgradeRequest << true;
    QTest::newRow("plain GET") << withHeaders("Accept: */*\r\n") << false;
    QTest::newRow("no key") << withHeaders("Connection: Upgrade\r\nUpgrade: websocket\r\n")
                            << false;
    QTest::newRow("empty key") << withHeaders(
        "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key:\r\n")
                               << false;
    QTest::newRow("no Connection") << withHeaders(cat({"Upgrade: websocket\r\n", key})) << false;
    QTest::newRow("Connection keep-alive")
        << withHeaders(cat({"Connection: keep-alive\r\nUpgrade: websocket\r\n", key})) << false;
    QTest::newRow("token is not a substring")
        << withHeaders(cat({"Connection: upgraded\r\nUpgrade: websocket\r\n", key})) << false;
    QTest::newRow("other protocol")
        << withHeaders(cat({"Connection: Upgrade\r\nUpgrade: h2c\r\n", key})) << false;
    QTest::newRow("websocket prefix")
        << withHeaders(cat({"Connection: Upgrade\r\nUpgrade: websockets\r\n", key})) << false;
    QTest::newRow("POST") << cat(
        {"POST /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n", key,
            "\r\n"}) << false;
    QTest::newRow("HTTP/1.0") << cat(
        {"GET /ws HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n", key, "\r\n"})
                              << false;
    QTest::newRow("incomplete") << upgradeRequest.chopped(2) << false;
}

void TestHttpRequestParser::webSocketUpgrade()
{
    QFETCH(QByteArray, input);
    QFETCH(bool, upgrade);

    HttpRequestParser p;
    p.feed(input);
    QCOMPARE(p.isWebSocketUpgrade(), upgrade);
}

void TestHttpRequestParser::response_data()
{
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("contentType");
    QTest::addColumn<QByteArray>("body");
    QTest::addColumn<bool>("close");
    QTest::addColumn<QByteArray>("expected");

    QTest::newRow("healthz") << 200 << QByteArray("application/json")
                             << QByteArray("{\"status\":\"ok\"}") << true
                             << QByteArray("HTTP/1.1 200 OK\r\n"
                                           "Content-Type: application/json\r\n"
                                           "Content-Length: 15\r\n"
                                           "Cache-Control: no-store\r\n"
                                           "Connection: close\r\n"
                                           "\r\n"
                                           "{\"status\":\"ok\"}");
    QTest::newRow("keep open") << 404 << QByteArray("text/plain; charset=utf-8")
                               << QByteArray("not found\n") << false
                               << QByteArray("HTTP/1.1 404 Not Found\r\n"
                                             "Content-Type: text/plain; charset=utf-8\r\n"
                                             "Content-Length: 10\r\n"
                                             "Cache-Control: no-store\r\n"
                                             "\r\n"
                                             "not found\n");
    QTest::newRow("no body") << 431 << QByteArray() << QByteArray() << true
                             << QByteArray("HTTP/1.1 431 Request Header Fields Too Large\r\n"
                                           "Content-Length: 0\r\n"
                                           "Cache-Control: no-store\r\n"
                                           "Connection: close\r\n"
                                           "\r\n");
    QTest::newRow("UTF-8 body counts bytes")
        << 400 << QByteArray("text/plain; charset=utf-8") << QByteArray("caf\xc3\xa9") << true
        << QByteArray("HTTP/1.1 400 Bad Request\r\n"
                      "Content-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: 5\r\n"
                      "Cache-Control: no-store\r\n"
                      "Connection: close\r\n"
                      "\r\n"
                      "caf\xc3\xa9");
    QTest::newRow("unknown status") << 299 << QByteArray() << QByteArray() << true
                                    << QByteArray("HTTP/1.1 299 \r\n"
                                                  "Content-Length: 0\r\n"
                                                  "Cache-Control: no-store\r\n"
                                                  "Connection: close\r\n"
                                                  "\r\n");
}

void TestHttpRequestParser::response()
{
    QFETCH(int, status);
    QFETCH(QByteArray, contentType);
    QFETCH(QByteArray, body);
    QFETCH(bool, close);
    QFETCH(QByteArray, expected);

    QCOMPARE(HttpRequestParser::response(status, contentType, body, close), expected);

    // Every status the parser reports has its reason phrase.
    for (int s : {400, 413, 414, 431, 505})
        QVERIFY(!HttpRequestParser::reasonPhrase(s).isEmpty());
    QCOMPARE(HttpRequestParser::reasonPhrase(414), QByteArrayView("URI Too Long"));
    QCOMPARE(HttpRequestParser::reasonPhrase(505), QByteArrayView("HTTP Version Not Supported"));
}

QTEST_GUILESS_MAIN(TestHttpRequestParser)
#include "tst_httprequestparser.moc"
