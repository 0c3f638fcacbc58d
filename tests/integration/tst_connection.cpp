// Connection against the real `parley server`: the state machine, sign-in and resume,
// backoff and recovery from cut, refused, frozen and restarted links, the ws:// policy
// and TLS pinning. Link faults come from a TcpProxy between the client and the server.
#include "connection.h"
#include "serverfixture.h"
#include "tcpproxy.h"

#include <QCryptographicHash>
#include <QSignalSpy>
#include <QTcpServer>
#include <QSslCertificate>
#include <QTemporaryDir>
#include <QtTest>

using namespace Qt::StringLiterals;
using namespace parley::client;
using namespace parley::test;
namespace protocol = parley::protocol;

namespace {

constexpr int WaitMs = 20000;
const QString Password = u"correct horse"_s;

// Small delays so that recovery takes milliseconds, not minutes.
ConnectionOptions fastOptions()
{
    ConnectionOptions options;
    options.backoff = BackoffPolicy {50, 500, 60000};
    options.connectTimeoutMs = 5000;
    options.watchNetwork = false; // the test machine's network does not change
    return options;
}

QString uniqueUser(const char *prefix)
{
    static int counter = 0;
    return u"%1%2"_s.arg(QLatin1StringView(prefix)).arg(++counter);
}

SignIn registration(const QString &user)
{
    return SignIn {SignIn::Kind::Register, user, Password, {}, u"laptop"_s};
}

QUrl wsUrl(quint16 port)
{
    return QUrl(u"ws://127.0.0.1:%1/ws"_s.arg(port));
}

// Everything a Connection reports, in order.
class Recorder
{
public:
    explicit Recorder(Connection &connection)
        : stateSpy(&connection, &Connection::stateChanged)
    {
        QObject::connect(&connection, &Connection::welcomed, &connection,
            [this](const protocol::Welcome &welcome) { welcomes.append(welcome); });
        QObject::connect(&connection, &Connection::frameReceived, &connection,
            [this](const protocol::ServerFrame &frame) { frames.append(frame); });
        QObject::connect(&connection, &Connection::errorOccurred, &connection,
            [this](const QString &message) { errors.append(message); });
        QObject::connect(&connection, &Connection::authenticationFailed, &connection,
            [this](const protocol::Error &error) { authFailures.append(error); });
        QObject::connect(&connection, &Connection::untrustedCertificate, &connection,
            [this](
                const QList<QSslError> &, const QByteArray &sha256) { untrusted.append(sha256); });
        QObject::connect(&connection, &Connection::stateChanged, &connection,
            [this, &connection](ConnectionState state) {
                if (state == ConnectionState::Backoff)
                    backoffDelays.append(connection.backoffRemainingMs());
            });
    }

    QList<ConnectionState> states() const
    {
        QList<ConnectionState> result;
        for (const QList<QVariant> &arguments : stateSpy)
            result.append(arguments.at(0).value<ConnectionState>());
        return result;
    }
    qsizetype count(ConnectionState state) const { return states().count(state); }
    bool hasErrorContaining(const QString &text) const
    {
        return std::any_of(errors.cbegin(), errors.cend(),
            [&](const QString &message) { return message.contains(text); });
    }
    // The reply carrying rid, if it has arrived.
    template<typename Frame> std::optional<Frame> reply(const QString &rid) const
    {
        for (const protocol::ServerFrame &frame : frames) {
            if (const auto *typed = std::get_if<Frame>(&frame); typed && typed->rid == rid)
                return *typed;
        }
        return std::nullopt;
    }

    QSignalSpy stateSpy;
    QList<protocol::Welcome> welcomes;
    QList<protocol::ServerFrame> frames;
    QStringList errors;
    QList<protocol::Error> authFailures;
    QList<QByteArray> untrusted;
    QList<qint64> backoffDelays; // backoffRemainingMs() on entering Backoff
};

} // namespace

class tst_Connection : public QObject
{
    Q_OBJECT

private:
    ServerProcess m_server;
    QTemporaryDir m_tlsDir;
    QString m_certPath;
    QString m_keyPath;

    // Registers `user` on the shared server and leaves it signed out; returns its token.
    QString registerUser(const QString &user)
    {
        Connection connection(fastOptions());
        Recorder recorder(connection);
        connection.setServer(m_server.url());
        connection.setSignIn(registration(user));
        connection.open();
        if (!waitUntil([&] { return !recorder.welcomes.isEmpty(); }, WaitMs))
            return {};
        connection.close();
        return recorder.welcomes.first().token;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_server.start());
        QCOMPARE(m_server.url().scheme(), u"ws"_s);

        QVERIFY(m_tlsDir.isValid());
        m_certPath = m_tlsDir.filePath(u"cert.pem"_s);
        m_keyPath = m_tlsDir.filePath(u"key.pem"_s);
        QProcess openssl; // output captured: its progress dots stay out of the test log
        openssl.start(u"openssl"_s,
            {u"req"_s, u"-x509"_s, u"-newkey"_s, u"rsa:2048"_s, u"-nodes"_s, u"-keyout"_s,
                m_keyPath, u"-out"_s, m_certPath, u"-days"_s, u"2"_s, u"-subj"_s,
                u"/CN=127.0.0.1"_s, u"-addext"_s, u"subjectAltName=IP:127.0.0.1"_s});
        QVERIFY(openssl.waitForFinished(60000));
        QVERIFY2(openssl.exitStatus() == QProcess::NormalExit && openssl.exitCode() == 0,
            openssl.readAllStandardError().constData());
    }

    void registerGoesOnline()
    {
        ConnectionOptions options = fastOptions();
        options.watchNetwork = true; // following reachability leaves a healthy link alone
        Connection connection(options);
        Recorder recorder(connection);
        const QString user = uniqueUser("reg");
        connection.setServer(m_server.url());
        connection.setSignIn(registration(user));
        QVERIFY(!connection.send(protocol::SyncRequest {u"early"_s})); // nothing to send on
        QCOMPARE(connection.state(), ConnectionState::Offline);

        connection.open();
        QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionState::Online, WaitMs);
        const QList<ConnectionState> expected {
            ConnectionState::Connecting, ConnectionState::Authenticating, ConnectionState::Online};
        QCOMPARE(recorder.states(), expected);
        QCOMPARE(connection.hello().protocol, protocol::ProtocolVersion);
        QCOMPARE(connection.hello().node, u"test-node"_s);
        QCOMPARE(recorder.welcomes.size(), 1);
        QCOMPARE(recorder.welcomes.first().user, user);
        QCOMPARE(recorder.welcomes.first().device, u"laptop"_s);
        QVERIFY(!recorder.welcomes.first().token.isEmpty());
        QCOMPARE(connection.backoffRemainingMs(), -1);

        QVERIFY(connection.send(protocol::SyncRequest {u"sync"_s}));
        QTRY_VERIFY_WITH_TIMEOUT(
            recorder.reply<protocol::Conversations>(u"sync"_s).has_value(), WaitMs);
        QVERIFY(recorder.reply<protocol::Conversations>(u"sync"_s)->items.isEmpty());

        connection.close();
        QCOMPARE(connection.state(), ConnectionState::Offline);
        QCOMPARE(recorder.states().last(), ConnectionState::Offline);
        QVERIFY(!connection.send(protocol::SyncRequest {u"late"_s}));
        QVERIFY(recorder.errors.isEmpty());
    }

    void cutLinkResumesAsTheSameUser()
    {
        const QString peer = uniqueUser("peer");
        QVERIFY(!registerUser(peer).isEmpty());

        TcpProxy proxy(m_server.port());
        QVERIFY(proxy.listen());
        Connection connection(fastOptions());
        Recorder recorder(connection);
        const QString user = uniqueUser("cut");
        connection.setServer(wsUrl(proxy.port()));
        connection.setSignIn(registration(user));
        connection.open();
        QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionState::Online, WaitMs);
        QVERIFY(connection.send(protocol::Send {u"s1"_s, peer, u"cid-1"_s, u"before the cut"_s}));
        QTRY_VERIFY_WITH_TIMEOUT(recorder.reply<protocol::Ack>(u"s1"_s).has_value(), WaitMs);

        proxy.cutAll();
        QTRY_VERIFY_WITH_TIMEOUT(recorder.count(ConnectionState::Backoff) == 1, WaitMs);
        QTRY_COMPARE_WITH_TIMEOUT(recorder.welcomes.size(), 2, WaitMs);
        QCOMPARE(connection.state(), ConnectionState::Online);
        QCOMPARE(proxy.accepted(), 2);
        QCOMPARE(recorder.errors.size(), 1);
        QVERIFY(recorder.authFailures.isEmpty());
        // resume: the same user, device and token
        QCOMPARE(recorder.welcomes.at(1).user, user);
        QCOMPARE(recorder.welcomes.at(1).device, u"laptop"_s);
        QCOMPARE(recorder.welcomes.at(1).token, recorder.welcomes.at(0).token);

        // The server serves the same account: the conversation from before the cut is there.
        QVERIFY(connection.send(protocol::SyncRequest {u"sync"_s}));
        QTRY_VERIFY_WITH_TIMEOUT(
            recorder.reply<protocol::Conversations>(u"sync"_s).has_value(), WaitMs);
        const auto items = recorder.reply<protocol::Conversations>(u"sync"_s)->items;
        QCOMPARE(items.size(), 1);
        QCOMPARE(items.first().peer, peer);
        QCOMPARE(items.first().lastSeq, 1);
    }

    void wrongPasswordFailsForGood()
    {
        const QString user = uniqueUser("pw");
        QVERIFY(!registerUser(user).isEmpty());

        TcpProxy proxy(m_server.port());
        QVERIFY(proxy.listen());
        Connection connection(fastOptions());
        Recorder recorder(connection);
        connection.setServer(wsUrl(proxy.port()));
        connection.setSignIn(SignIn {SignIn::Kind::Login, user, u"wrong password"_s, {}, u"x"_s});
        connection.open();
        QTRY_COMPARE_WITH_TIMEOUT(recorder.authFailures.size(), 1, WaitMs);
        QCOMPARE(recorder.authFailures.first().code, protocol::ErrorCode::AuthFailed);
        QCOMPARE(connection.state(), ConnectionState::Offline);
        const QList<ConnectionState> expected {
            ConnectionState::Connecting, ConnectionState::Authenticating, ConnectionState::Offline};
        QCOMPARE(recorder.states(), expected);

        // No retry loop: nothing reconnects, by timer or by reconnectNow().
        connection.reconnectNow();
        QTest::qWait(2000);
        QCOMPARE(proxy.accepted(), 1);
        QCOMPARE(connection.state(), ConnectionState::Offline);
        QVERIFY(recorder.welcomes.isEmpty());
    }

    void badTokenFailsForGood_data()
    {
        QTest::addColumn<bool>("revoked");
        QTest::newRow("garbage token") << false;
        QTest::newRow("revoked token") << true;
    }
    void badTokenFailsForGood()
    {
        QFETCH(bool, revoked);
        QString token = u"not-a-token-this-server-ever-issued"_s;
        if (revoked) {
            Connection first(fastOptions());
            Recorder recorder(first);
            first.setServer(m_server.url());
            first.setSignIn(registration(uniqueUser("revoked")));
            first.open();
            QTRY_COMPARE_WITH_TIMEOUT(first.state(), ConnectionState::Online, WaitMs);
            token = recorder.welcomes.first().token;
            QVERIFY(first.send(protocol::Logout {u"bye"_s}));
            QTRY_VERIFY_WITH_TIMEOUT(recorder.reply<protocol::Ok>(u"bye"_s).has_value(), WaitMs);
            // The server closes with 1000; the resume that follows is refused for good.
            QTRY_COMPARE_WITH_TIMEOUT(recorder.authFailures.size(), 1, WaitMs);
            QCOMPARE(recorder.authFailures.first().code, protocol::ErrorCode::AuthFailed);
            QCOMPARE(first.state(), ConnectionState::Offline);
        }

        TcpProxy proxy(m_server.port());
        QVERIFY(proxy.listen());
        Connection connection(fastOptions());
        Recorder recorder(connection);
        connection.setServer(wsUrl(proxy.port()));
        connection.setSignIn(SignIn {SignIn::Kind::Resume, {}, {}, token, {}});
        connection.open();
        // docs/protocol.md: an unknown, revoked or expired token is auth_failed.
        QTRY_COMPARE_WITH_TIMEOUT(recorder.authFailures.size(), 1, WaitMs);
        QCOMPARE(recorder.authFailures.first().code, protocol::ErrorCode::AuthFailed);
        QCOMPARE(connection.state(), ConnectionState::Offline);
        QTest::qWait(2000);
        QCOMPARE(proxy.accepted(), 1);
        QCOMPARE(connection.state(), ConnectionState::Offline);
    }

    void connectFailuresAreNamed_data()
    {
        QTest::addColumn<QString>("path"); // "closed": a port nothing listens on
        QTest::addColumn<QString>("code");
        QTest::addColumn<QString>("words");
        QTest::newRow("wrong path") << u"/chat"_s << u"connect.http_404"_s << u"ends in /ws"_s;
        QTest::newRow("nothing listening")
            << u"closed"_s << u"connect.refused"_s << u"connection refused"_s;
    }
    void connectFailuresAreNamed()
    {
        QFETCH(QString, path);
        QFETCH(QString, code);
        QFETCH(QString, words);
        quint16 port = m_server.port();
        if (path == u"closed"_s) {
            QTcpServer probe;
            QVERIFY(probe.listen(QHostAddress::LocalHost));
            port = probe.serverPort();
        }
        Connection connection(fastOptions());
        Recorder recorder(connection);
        QStringList codes, reasons;
        connect(&connection, &Connection::connectFailed, this,
            [&](const QString &c, const QString &reason) {
                codes.append(c);
                reasons.append(reason);
            });
        QUrl url(u"ws://127.0.0.1:%1"_s.arg(port));
        url.setPath(path == u"closed"_s ? u"/ws"_s : path);
        connection.setServer(url);
        connection.setSignIn(registration(uniqueUser("named")));
        connection.open();
        QTRY_VERIFY_WITH_TIMEOUT(codes.size() >= 2, WaitMs);
        connection.close();
        QCOMPARE(codes.first(), code);
        QVERIFY2(reasons.first().contains(words), qPrintable(reasons.first()));
        QVERIFY2(recorder.hasErrorContaining(words), qPrintable(recorder.errors.join(u'|')));
    }

    void aBareHostAndPortMeansTheWsPath()
    {
        Connection connection(fastOptions());
        Recorder recorder(connection);
        connection.setServer(QUrl(u"ws://127.0.0.1:%1"_s.arg(m_server.port())));
        QCOMPARE(connection.server().path(), u"/ws"_s);
        connection.setSignIn(registration(uniqueUser("bare")));
        connection.open();
        QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionState::Online, WaitMs);
    }

    void serverDownBacksOffThenRecovers()
    {
        TcpProxy proxy(m_server.port());
        QVERIFY(proxy.listen());
        proxy.setRefusing(true);
        Connection connection(fastOptions());
        Recorder recorder(connection);
        connection.setServer(wsUrl(proxy.port()));
        connection.setSignIn(registration(uniqueUser("down")));
        connection.open();

        QTRY_VERIFY_WITH_TIMEOUT(recorder.backoffDelays.size() >= 6, WaitMs);
        QVERIFY(recorder.welcomes.isEmpty());
        // Each wait is drawn under a ceiling that doubles from 50 ms to the 500 ms cap.
        for (qsizetype attempt = 0; attempt < recorder.backoffDelays.size(); ++attempt) {
            const qint64 ceiling = std::min<qint64>(500, 50LL << std::min<qsizetype>(attempt, 10));
            QVERIFY2(recorder.backoffDelays.at(attempt) <= ceiling,
                qPrintable(u"attempt %1 waited %2 ms, over %3"_s.arg(attempt)
                               .arg(recorder.backoffDelays.at(attempt))
                               .arg(ceiling)));
        }
        QCOMPARE(recorder.errors.size(), recorder.backoffDelays.size());

        proxy.setRefusing(false);
        QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionState::Online, WaitMs);
        QCOMPARE(recorder.welcomes.size(), 1);
        QVERIFY(proxy.accepted() >= 7);
    }

    void frozenLinkIsDeclaredDead()
    {
        TcpProxy proxy(m_server.port());
        QVERIFY(proxy.listen());
        ConnectionOptions options = fastOptions();
        options.pingIntervalMs = 200;
        options.deadAfterMs = 1000;
        options.connectTimeoutMs = 2000;
        Connection connection(options);
        Recorder recorder(connection);
        connection.setServer(wsUrl(proxy.port()));
        connection.setSignIn(registration(uniqueUser("frozen")));
        connection.open();
        QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionState::Online, WaitMs);
        // Pings keep a healthy but quiet link alive well past deadAfterMs.
        QTest::qWait(2500);
        QCOMPARE(connection.state(), ConnectionState::Online);
        QVERIFY(recorder.errors.isEmpty());

        proxy.setFrozen(true); // no FIN, no RST: only the missing pongs tell
        QTRY_VERIFY_WITH_TIMEOUT(
            recorder.hasErrorContaining(u"no answer from the server"_s), WaitMs);
        QVERIFY(recorder.count(ConnectionState::Backoff) >= 1);
        proxy.setFrozen(false);
        QTRY_COMPARE_WITH_TIMEOUT(recorder.welcomes.size(), 2, WaitMs);
        QCOMPARE(connection.state(), ConnectionState::Online);
        QCOMPARE(recorder.welcomes.at(1).token, recorder.welcomes.at(0).token);
    }

    void stuckHandshakeTimesOut()
    {
        TcpProxy proxy(m_server.port());
        QVERIFY(proxy.listen());
        proxy.setFrozen(true); // TCP connects, the upgrade request goes nowhere
        ConnectionOptions options = fastOptions();
        options.connectTimeoutMs = 1000;
        Connection connection(options);
        Recorder recorder(connection);
        connection.setServer(wsUrl(proxy.port()));
        connection.setSignIn(registration(uniqueUser("stuck")));
        connection.open();
        QTRY_VERIFY_WITH_TIMEOUT(
            recorder.hasErrorContaining(u"could not connect within"_s), WaitMs);
        QCOMPARE(recorder.states().first(), ConnectionState::Connecting);
        QVERIFY(recorder.count(ConnectionState::Backoff) >= 1);
        QVERIFY(recorder.count(ConnectionState::Authenticating) == 0);

        proxy.setFrozen(false);
        QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionState::Online, WaitMs);
        QVERIFY(proxy.accepted() >= 2);
    }

    void serverRestartResumes()
    {
        ServerProcess server;
        QVERIFY(server.start());
        Connection connection(fastOptions());
        Recorder recorder(connection);
        const QString user = uniqueUser("restart");
        connection.setServer(server.url());
        connection.setSignIn(registration(user));
        connection.open();
        QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionState::Online, WaitMs);

        // SIGTERM: the server drains and closes with 1001 "server shutting down".
        server.process()->terminate();
        QTRY_VERIFY_WITH_TIMEOUT(recorder.count(ConnectionState::Backoff) >= 1, WaitMs);
        QVERIFY2(recorder.hasErrorContaining(u"1001"_s), qPrintable(recorder.errors.join(u'\n')));
        QTRY_VERIFY_WITH_TIMEOUT(server.process()->state() == QProcess::NotRunning, WaitMs);
        QCOMPARE(server.process()->exitCode(), 0);

        // Same data directory and port: the token is still good.
        QVERIFY(server.start({}, server.port()));
        QTRY_COMPARE_WITH_TIMEOUT(recorder.welcomes.size(), 2, WaitMs);
        QCOMPARE(connection.state(), ConnectionState::Online);
        QCOMPARE(recorder.welcomes.at(1).user, user);
        QCOMPARE(recorder.welcomes.at(1).token, recorder.welcomes.at(0).token);
        QVERIFY(recorder.authFailures.isEmpty());
        connection.close();
        QCOMPARE(server.stop(), 0);
    }

    void reconnectNowSkipsTheBackoff()
    {
        TcpProxy proxy(m_server.port());
        QVERIFY(proxy.listen());
        proxy.setRefusing(true);
        ConnectionOptions options = fastOptions();
        options.backoff = BackoffPolicy {60000, 600000, 60000};
        Connection connection(options);
        Recorder recorder(connection);
        connection.setServer(wsUrl(proxy.port()));
        connection.setSignIn(registration(uniqueUser("now")));
        connection.open();
        QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionState::Backoff, WaitMs);

        // Jitter may draw a short wait; fail again (each time at once) until the timer
        // alone would take far longer than the wait below.
        for (int i = 0; i < 30 && connection.backoffRemainingMs() < 3 * WaitMs; ++i) {
            const int accepted = proxy.accepted();
            const qsizetype backoffs = recorder.count(ConnectionState::Backoff);
            connection.reconnectNow();
            QTRY_COMPARE_WITH_TIMEOUT(proxy.accepted(), accepted + 1, WaitMs);
            QTRY_COMPARE_WITH_TIMEOUT(
                recorder.count(ConnectionState::Backoff), backoffs + 1, WaitMs);
        }
        QVERIFY(connection.backoffRemainingMs() >= 3 * WaitMs);

        proxy.setRefusing(false);
        connection.reconnectNow();
        QCOMPARE(connection.state(), ConnectionState::Connecting);
        QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionState::Online, WaitMs);
        QCOMPARE(connection.backoffRemainingMs(), -1);

        // Online, reconnectNow() drops the link (it may be stuck) and signs in again.
        connection.reconnectNow();
        QCOMPARE(connection.state(), ConnectionState::Connecting);
        QTRY_COMPARE_WITH_TIMEOUT(recorder.welcomes.size(), 2, WaitMs);
        QCOMPARE(connection.state(), ConnectionState::Online);
    }

    void unencryptedLinksOnlyToLoopback_data()
    {
        QTest::addColumn<QUrl>("url");
        QTest::addColumn<bool>("allowed");
        QTest::newRow("ws to a public address") << QUrl(u"ws://192.0.2.1/ws"_s) << false;
        QTest::newRow("ws to a host name") << QUrl(u"ws://chat.example.org/ws"_s) << false;
        QTest::newRow("http") << QUrl(u"http://127.0.0.1/ws"_s) << false;
        QTest::newRow("no address") << QUrl() << false;
        QTest::newRow("ws to 127.0.0.1") << QUrl(u"ws://127.0.0.1:9/ws"_s) << true;
        QTest::newRow("ws to 127.1.2.3") << QUrl(u"ws://127.1.2.3:9/ws"_s) << true;
        QTest::newRow("ws to ::1") << QUrl(u"ws://[::1]:9/ws"_s) << true;
        QTest::newRow("ws to localhost") << QUrl(u"ws://LocalHost:9/ws"_s) << true;
        QTest::newRow("wss") << QUrl(u"wss://127.0.0.1:9/ws"_s) << true;
    }
    void unencryptedLinksOnlyToLoopback()
    {
        QFETCH(QUrl, url);
        QFETCH(bool, allowed);
        Connection connection(fastOptions());
        Recorder recorder(connection);
        connection.setServer(url);
        connection.setSignIn(registration(u"nobody"_s));
        connection.open();
        if (allowed) {
            QCOMPARE(connection.state(), ConnectionState::Connecting);
            connection.close();
            QCOMPARE(connection.state(), ConnectionState::Offline);
            return;
        }
        // Refused before any socket exists, synchronously.
        QCOMPARE(connection.state(), ConnectionState::Offline);
        QVERIFY(recorder.states().isEmpty());
        QCOMPARE(recorder.errors.size(), 1);
        if (url.scheme() == "ws"_L1) {
            QCOMPARE(recorder.errors.first(),
                u"refusing an unencrypted connection to %1; use wss://"_s.arg(url.host()));
        }
        connection.reconnectNow(); // not wanted: nothing happens
        QTest::qWait(200);
        QCOMPARE(connection.state(), ConnectionState::Offline);
        QVERIFY(recorder.states().isEmpty());
    }

    void tlsCertificatePinning_data()
    {
        QTest::addColumn<QString>("pin"); // "none", "wrong" or "right"
        QTest::newRow("not pinned") << u"none"_s;
        QTest::newRow("another certificate pinned") << u"wrong"_s;
        QTest::newRow("this certificate pinned") << u"right"_s;
    }
    void tlsCertificatePinning()
    {
        QFETCH(QString, pin);
        const QList<QSslCertificate> certs = QSslCertificate::fromPath(m_certPath);
        QCOMPARE(certs.size(), 1);
        const QByteArray sha256
            = QCryptographicHash::hash(certs.first().toDer(), QCryptographicHash::Sha256);

        ServerProcess server;
        QVERIFY(server.start({u"--tls-cert"_s, m_certPath, u"--tls-key"_s, m_keyPath}));
        QCOMPARE(server.url().scheme(), u"wss"_s);
        TcpProxy proxy(server.port()); // counts the attempts
        QVERIFY(proxy.listen());
        Connection connection(fastOptions());
        Recorder recorder(connection);
        QByteArray pinned;
        if (pin == "right"_L1)
            pinned = sha256;
        else if (pin == "wrong"_L1)
            pinned = QCryptographicHash::hash("another certificate", QCryptographicHash::Sha256);
        connection.setServer(QUrl(u"wss://127.0.0.1:%1/ws"_s.arg(proxy.port())), pinned);
        connection.setSignIn(registration(uniqueUser("tls")));
        connection.open();

        if (pin == "right"_L1) {
            QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionState::Online, WaitMs);
            QVERIFY(recorder.untrusted.isEmpty());
            QCOMPARE(recorder.welcomes.size(), 1);
        } else {
            QTRY_COMPARE_WITH_TIMEOUT(recorder.untrusted.size(), 1, WaitMs);
            QCOMPARE(recorder.untrusted.first().toHex(), sha256.toHex());
            QCOMPARE(connection.state(), ConnectionState::Offline);
            // No retry loop: the user decides, then calls setServer() with the pin.
            QTest::qWait(2000);
            QCOMPARE(proxy.accepted(), 1);
            QCOMPARE(recorder.untrusted.size(), 1);
            QCOMPARE(connection.state(), ConnectionState::Offline);
            QVERIFY(recorder.welcomes.isEmpty());

            connection.setServer(connection.server(), recorder.untrusted.first());
            connection.open();
            QTRY_COMPARE_WITH_TIMEOUT(connection.state(), ConnectionState::Online, WaitMs);
            QCOMPARE(recorder.welcomes.size(), 1);
        }
        connection.close();
        QCOMPARE(server.stop(), 0);
    }
};

QTEST_GUILESS_MAIN(tst_Connection)
#include "tst_connection.moc"
