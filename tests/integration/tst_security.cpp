// What an attacker tried against a real `parley server` on loopback (issue "Security
// hardening"), each with the documented outcome: a token signed out while resumes race
// it, connections that never sign in, a token revoked behind the bus's back, frames that
// break RFC 6455, text fragmented inside a character, heads with bare line feeds, and a
// client that never reads its replies.
#include "serverfixture.h"

#include <QHostAddress>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTcpSocket>
#include <QUuid>
#include <QtEndian>

using namespace Qt::StringLiterals;
using namespace parley::test;

namespace {

QByteArray httpExchange(quint16 port, const QByteArray &request)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(5000))
        return {};
    socket.write(request);
    QByteArray response;
    waitUntil(
        [&] {
            response += socket.readAll();
            return socket.state() == QAbstractSocket::UnconnectedState;
        },
        20000);
    return response + socket.readAll();
}

// The value of one sample line of /metrics, e.g.
// `parley_connections_dropped_total{reason="slow_reader"}`; -1 if absent.
double metric(quint16 port, const QByteArray &sample)
{
    const QByteArray body = httpExchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    for (const QByteArray &line : body.split('\n')) {
        if (line.startsWith(QByteArray(sample + ' ')))
            return line.sliced(sample.size() + 1).trimmed().toDouble();
    }
    return -1;
}

// A WebSocket client on a bare TCP socket: it frames by hand, so it can break the rules,
// and it reads only when told to.
class RawWebSocket
{
public:
    bool open(quint16 port)
    {
        socket.connectToHost(QHostAddress::LocalHost, port);
        if (!socket.waitForConnected(5000))
            return false;
        socket.write("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n");
        QByteArray head;
        if (!waitUntil([&] {
                head += socket.readAll();
                return head.contains("\r\n\r\n");
            }))
            return false;
        buffer = head.sliced(head.indexOf("\r\n\r\n") + 4);
        return head.startsWith("HTTP/1.1 101") && nextText().contains("\"hello\"");
    }

    static QByteArray frame(int opcode, QByteArrayView payload, bool fin = true, bool masked = true)
    {
        QByteArray out;
        out += char((fin ? 0x80 : 0) | opcode);
        const char mask = masked ? char(0x80) : char(0);
        if (payload.size() < 126) {
            out += char(mask | char(payload.size()));
        } else {
            out += char(mask | 126);
            char length[2];
            qToBigEndian<quint16>(quint16(payload.size()), length);
            out.append(length, 2);
        }
        if (!masked)
            return out + payload.toByteArray();
        const char key[4] = {0x12, 0x34, 0x56, 0x78};
        out.append(key, 4);
        for (qsizetype i = 0; i < payload.size(); ++i)
            out += char(payload[i] ^ key[i & 3]);
        return out;
    }

    void sendText(const QByteArray &text) { socket.write(frame(0x1, text)); }

    // The next server frame as (opcode, payload), or opcode -1 when none came.
    std::pair<int, QByteArray> next(int ms = 10000)
    {
        std::pair<int, QByteArray> result {-1, {}};
        waitUntil(
            [&] {
                buffer += socket.readAll();
                if (buffer.size() < 2)
                    return socket.state() != QAbstractSocket::ConnectedState;
                qsizetype length = buffer[1] & 0x7f, offset = 2;
                if (length == 126) {
                    if (buffer.size() < 4)
                        return false;
                    length = qFromBigEndian<quint16>(buffer.constData() + 2);
                    offset = 4;
                } else if (length == 127) {
                    if (buffer.size() < 10)
                        return false;
                    length = qsizetype(qFromBigEndian<quint64>(buffer.constData() + 2));
                    offset = 10;
                }
                if (buffer.size() < offset + length)
                    return false;
                result = {buffer[0] & 0x0f, buffer.sliced(offset, length)};
                buffer.remove(0, offset + length);
                return true;
            },
            ms);
        return result;
    }

    QByteArray nextText(int ms = 10000)
    {
        for (;;) {
            const auto [opcode, payload] = next(ms);
            if (opcode == 0x1 || opcode < 0 || opcode == 0x8)
                return opcode == 0x1 ? payload : QByteArray();
        }
    }

    QTcpSocket socket;
    QByteArray buffer;
};

QJsonObject json(const QByteArray &text)
{
    return QJsonDocument::fromJson(text).object();
}

} // namespace

class TestSecurity : public QObject
{
    Q_OBJECT

private:
    std::unique_ptr<ServerProcess> m_server;
    int m_users = 0;

    QString name(const QString &base)
    {
        return base + QStringLiteral("_s") + QString::number(++m_users);
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_server = std::make_unique<ServerProcess>();
        QVERIFY(m_server->start());
    }

    void cleanupTestCase()
    {
        if (m_server)
            QCOMPARE(m_server->stop(), 0);
    }

    void logoutRacingResumesLeavesNoSessionSignedIn()
    {
        // Several connections resume a token while another signs it out. Whatever the
        // interleaving, none of them may stay signed in: each resume is refused, or the
        // connection it opened is closed with 1000.
        const QString user = name(u"racer"_s);
        constexpr int Rounds = 15;
        constexpr int Resumers = 5;
        int welcomed = 0;
        for (int round = 0; round < Rounds; ++round) {
            Client owner;
            QVERIFY(owner.open(m_server->url()));
            const QJsonObject welcome = owner.signIn(user, u"correct horse"_s, round > 0);
            const QString token = welcome.value(u"token"_s).toString();
            QVERIFY2(!token.isEmpty(), QJsonDocument(welcome).toJson().constData());

            std::vector<std::unique_ptr<Client>> resumers;
            for (int i = 0; i < Resumers; ++i) {
                resumers.push_back(std::make_unique<Client>());
                QVERIFY(resumers.back()->open(m_server->url()));
            }
            // Resumes on either side of the logout.
            for (int i = 0; i < Resumers; ++i) {
                if (i == Resumers / 2)
                    owner.send({{u"type"_s, u"logout"_s}, {u"rid"_s, u"out"_s}});
                resumers[size_t(i)]->send(
                    {{u"type"_s, u"resume"_s}, {u"token"_s, token}, {u"rid"_s, u"r"_s}});
            }
            QCOMPARE(owner.reply(u"out"_s).value(u"type"_s).toString(), u"ok"_s);
            for (auto &client : resumers) {
                const QJsonObject answer = client->reply(u"r"_s);
                const QString type = answer.value(u"type"_s).toString();
                if (type == u"welcome"_s) {
                    ++welcomed;
                    QVERIFY2(waitUntil([&] { return client->closed; }, 10000),
                        "a connection resumed with a signed-out token stayed open");
                    QCOMPARE(client->closeCode, QWebSocketProtocol::CloseCodeNormal);
                } else {
                    QCOMPARE(answer.value(u"code"_s).toString(), u"auth_failed"_s);
                }
            }
        }
        qInfo("%d of %d resumes were welcomed before the sign-out and then closed", welcomed,
            Rounds * Resumers);
    }

    void connectionsThatNeverSignInAreClosed()
    {
        ServerProcess server;
        QVERIFY(server.start({u"--auth-timeout"_s, u"1"_s}));
        Client idle;
        QVERIFY(idle.open(server.url()));
        Client member;
        QVERIFY(member.open(server.url()));
        QCOMPARE(member.signIn(u"member"_s).value(u"type"_s).toString(), u"welcome"_s);
        QVERIFY(waitUntil([&] { return idle.closed; }, 15000));
        QCOMPARE(idle.closeCode, QWebSocketProtocol::CloseCodePolicyViolated);
        // The one that signed in in time stays.
        QCOMPARE(member.request({{u"type"_s, u"sync"_s}}).value(u"type"_s).toString(),
            u"conversations"_s);
        QVERIFY(!member.closed);
        QCOMPARE(
            metric(server.port(), R"(parley_connections_dropped_total{reason="signin_deadline"})"),
            1.0);
        QCOMPARE(server.stop(), 0);
    }

    void aTokenRevokedBehindTheBusIsNoticed()
    {
        if (usesDynamoDb())
            QSKIP("revokes the token in the SQLite file directly");
        ServerProcess server;
        QVERIFY(server.start({u"--token-check-interval"_s, u"1"_s, u"--ping-interval"_s, u"1"_s}));
        Client client;
        QVERIFY(client.open(server.url()));
        QCOMPARE(client.signIn(u"quiet"_s).value(u"type"_s).toString(), u"welcome"_s);
        {
            // Another writer (as a second node would be) signs the token out; no bus
            // message tells this server.
            auto db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"behind"_s);
            db.setDatabaseName(server.dataDir() + u"/parley.sqlite3"_s);
            QVERIFY(db.open());
            QSqlQuery query(db);
            QVERIFY(query.exec(u"PRAGMA busy_timeout = 5000"_s));
            QVERIFY(query.exec(u"UPDATE tokens SET revoked = 1"_s));
            query.finish();
            db.close();
        }
        QSqlDatabase::removeDatabase(u"behind"_s);
        QVERIFY(waitUntil([&] { return client.closed; }, 15000));
        QCOMPARE(client.closeCode, QWebSocketProtocol::CloseCodeNormal);
        QCOMPARE(server.stop(), 0);
    }

    void unmaskedFramesCloseWith1002()
    {
        const double before = metric(
            m_server->port(), R"(parley_connections_dropped_total{reason="protocol_error"})");
        RawWebSocket raw;
        QVERIFY(raw.open(m_server->port()));
        raw.socket.write(RawWebSocket::frame(0x1, R"({"type":"sync","rid":"1"})", true, false));
        const auto [opcode, payload] = raw.next();
        QCOMPARE(opcode, 0x8);
        QCOMPARE(qFromBigEndian<quint16>(payload.constData()), quint16(1002));
        QVERIFY(waitUntil([&] { return raw.socket.state() == QAbstractSocket::UnconnectedState; }));
        QCOMPARE(metric(m_server->port(),
                     R"(parley_connections_dropped_total{reason="protocol_error"})"),
            before + 1);
    }

    void fragmentsMaySplitACharacter()
    {
        // One text message in three fragments, cut inside the two-byte 'ö' and the
        // four-byte emoji: valid as a whole, so it is answered like any frame.
        RawWebSocket raw;
        QVERIFY(raw.open(m_server->port()));
        const QByteArray text
            = "{\"type\":\"n\xC3\xB6pe\",\"rid\":\"frag\",\"x\":\"\xF0\x9F\x98\x80\"}";
        const qsizetype first = text.indexOf('\xC3') + 1;
        const qsizetype second = text.indexOf('\xF0') + 2;
        raw.socket.write(RawWebSocket::frame(0x1, text.first(first), false)
            + RawWebSocket::frame(0x0, text.sliced(first, second - first), false)
            + RawWebSocket::frame(0x9, "ping between fragments")
            + RawWebSocket::frame(0x0, text.sliced(second)));
        const QJsonObject reply = json(raw.nextText());
        QCOMPARE(reply.value(u"type"_s).toString(), u"error"_s);
        QCOMPARE(reply.value(u"rid"_s).toString(), u"frag"_s);
        QCOMPARE(reply.value(u"code"_s).toString(), u"unknown_type"_s);
        QCOMPARE(raw.socket.state(), QAbstractSocket::ConnectedState);
    }

    void headsWithBareLineFeedsAreAnswered()
    {
        // One line-ending rule for the whole head (a bare LF ends a line as CRLF does):
        // every head is answered and the socket closed, never left waiting.
        QVERIFY(httpExchange(m_server->port(), "GET /healthz HTTP/1.1\nHost: x\n\n")
                    .startsWith("HTTP/1.1 200 OK"));
        const QByteArray mixed = httpExchange(m_server->port(),
            "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\n");
        QVERIFY2(mixed.startsWith("HTTP/1.1 101"), mixed.constData());
    }

    void healthDetailsOnlyForTheOperatorOnTheMachine()
    {
        // /healthz names the database file (or the DynamoDB endpoint, an error text) only
        // to a caller on loopback that came through no proxy.
        const QByteArray local
            = httpExchange(m_server->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY2(local.contains("\"detail\""), local.constData());
        for (const QByteArray header : {"X-Forwarded-For: 203.0.113.9",
                 "Forwarded: for=203.0.113.9", "X-Real-IP: 203.0.113.9"}) {
            const QByteArray proxied = httpExchange(
                m_server->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n" + header + "\r\n\r\n");
            QVERIFY2(proxied.startsWith("HTTP/1.1 200"), proxied.constData());
            QVERIFY2(!proxied.contains("\"detail\""), proxied.constData());
            QVERIFY(!proxied.contains(m_server->dataDir().toUtf8()));
        }
    }

    void aClientThatNeverReadsIsDropped()
    {
        ServerProcess server;
        QVERIFY(server.start({u"--slow-reader-timeout"_s, u"1"_s}));
        // A conversation long enough for history pages of about 64 KiB.
        Client writer;
        QVERIFY(writer.open(server.url()));
        QCOMPARE(writer.signIn(u"writer"_s).value(u"type"_s).toString(), u"welcome"_s);
        RawWebSocket reader;
        QVERIFY(reader.open(server.port()));
        reader.sendText(
            R"({"type":"register","rid":"reg","user":"reader","password":"correct horse"})");
        QCOMPARE(json(reader.nextText(30000)).value(u"type"_s).toString(), u"welcome"_s);
        QString conv;
        for (int i = 0; i < 100; ++i) {
            const QJsonObject ack = writer.request({{u"type"_s, u"send"_s}, {u"to"_s, u"reader"_s},
                {u"cid"_s, QUuid::createUuid().toString(QUuid::WithoutBraces)},
                {u"body"_s, QString(3000, u'x')}});
            QCOMPARE(ack.value(u"type"_s).toString(), u"ack"_s);
            conv = ack.value(u"conv"_s).toString();
        }
        // It stops reading and keeps asking for pages.
        reader.socket.setReadBufferSize(1024);
        const QByteArray history = "{\"type\":\"history\",\"conv\":\"" + conv.toUtf8()
            + "\",\"before\":1000,\"limit\":100}";
        for (int i = 0; i < 300 && reader.socket.state() == QAbstractSocket::ConnectedState; ++i) {
            reader.sendText(history);
            reader.socket.waitForBytesWritten(100);
        }
        const QByteArray dropped = R"(parley_connections_dropped_total{reason="slow_reader"})";
        QVERIFY(waitUntil([&] { return metric(server.port(), dropped) == 1.0; }, 30000));
        QVERIFY(waitUntil(
            [&] {
                reader.socket.readAll(); // a kilobyte at a time, only to see the close
                return reader.socket.state() == QAbstractSocket::UnconnectedState;
            },
            30000));
        // Everyone else is served as before.
        QCOMPARE(writer.request({{u"type"_s, u"sync"_s}}).value(u"type"_s).toString(),
            u"conversations"_s);
        QCOMPARE(server.stop(), 0);
    }
};

QTEST_GUILESS_MAIN(TestSecurity)
#include "tst_security.moc"
