// Operating `parley server` (issue 9): --check-config on good and bad configurations,
// --log-format json on stderr without secrets or bodies, and SIGHUP reloading the TLS
// certificate under live connections. Everything against the real binary on 127.0.0.1.
#include "serverfixture.h"

#include <QSslCertificate>
#include <QSslSocket>
#include <QTcpSocket>

#include <csignal>

using namespace Qt::StringLiterals;
using namespace parley::test;

namespace {

struct Run
{
    int exitCode = -1;
    QString out;
    QString err;
};

Run runParley(const QStringList &args,
    const QProcessEnvironment &environment = QProcessEnvironment::systemEnvironment())
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(QStringLiteral(PARLEY_BINARY), args);
    Run run;
    if (!process.waitForFinished(60000)) {
        process.kill();
        process.waitForFinished();
        return run;
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

// A self-signed P-256 certificate for 127.0.0.1; returns its SHA-256 fingerprint.
QByteArray makeCertificate(const QString &certPath, const QString &keyPath)
{
    QProcess openssl; // output captured: its progress output stays out of the test log
    openssl.start(u"openssl"_s,
        {u"req"_s, u"-x509"_s, u"-newkey"_s, u"ec"_s, u"-pkeyopt"_s,
            u"ec_paramgen_curve:prime256v1"_s, u"-nodes"_s, u"-keyout"_s, keyPath, u"-out"_s,
            certPath, u"-days"_s, u"2"_s, u"-subj"_s, u"/CN=127.0.0.1"_s, u"-addext"_s,
            u"subjectAltName=IP:127.0.0.1"_s});
    if (!openssl.waitForFinished(60000) || openssl.exitCode() != 0)
        return {};
    const QList<QSslCertificate> certs = QSslCertificate::fromPath(certPath);
    return certs.isEmpty() ? QByteArray() : certs.first().digest(QCryptographicHash::Sha256);
}

bool copyOver(const QString &from, const QString &to)
{
    QFile::remove(to);
    return QFile::copy(from, to);
}

bool writeFile(const QString &path, const QByteArray &contents)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly | QIODevice::Truncate)
        && file.write(contents) == contents.size();
}

// The SHA-256 fingerprint of the certificate the server presents to a new connection.
QByteArray presentedFingerprint(quint16 port)
{
    QSslSocket socket;
    socket.setPeerVerifyMode(QSslSocket::VerifyNone);
    socket.connectToHostEncrypted(u"127.0.0.1"_s, port);
    if (!socket.waitForEncrypted(15000))
        return {};
    return socket.peerCertificate().digest(QCryptographicHash::Sha256);
}

// GET over TLS (any certificate) or plain TCP; the whole response, headers included.
QByteArray httpGet(quint16 port, const QByteArray &path, bool tls)
{
    std::unique_ptr<QTcpSocket> socket;
    if (tls) {
        auto ssl = std::make_unique<QSslSocket>();
        ssl->setPeerVerifyMode(QSslSocket::VerifyNone);
        ssl->connectToHostEncrypted(u"127.0.0.1"_s, port);
        if (!ssl->waitForEncrypted(15000))
            return {};
        socket = std::move(ssl);
    } else {
        socket = std::make_unique<QTcpSocket>();
        socket->connectToHost(QHostAddress::LocalHost, port);
        if (!socket->waitForConnected(15000))
            return {};
    }
    socket->write("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    QByteArray response;
    while (socket->state() == QAbstractSocket::ConnectedState && socket->waitForReadyRead(15000))
        response += socket->readAll();
    return response + socket->readAll();
}

QSslConfiguration trusting(const QString &certPath)
{
    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setCaCertificates(QSslCertificate::fromPath(certPath));
    return tls;
}

QJsonObject sendFrame(const QString &to, const QString &body)
{
    return {{u"type"_s, u"send"_s}, {u"to"_s, to},
        {u"cid"_s, QUuid::createUuid().toString(QUuid::WithoutBraces)}, {u"body"_s, body}};
}

void sighup(ServerProcess &server)
{
    ::kill(pid_t(server.process()->processId()), SIGHUP);
}

} // namespace

class TestOperations : public QObject
{
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_certA, m_keyA, m_certB, m_keyB;
    QByteArray m_fingerprintA, m_fingerprintB;

    // The TLS files a server is started with, A's to begin with; tests overwrite them.
    QString liveCert() const { return m_dir.filePath(u"live-cert.pem"_s); }
    QString liveKey() const { return m_dir.filePath(u"live-key.pem"_s); }

private Q_SLOTS:
    void initTestCase()
    {
        if (usesDynamoDb())
            QSKIP("these tests do not depend on the store; they run with sqlite only");
        QVERIFY(m_dir.isValid());
        m_certA = m_dir.filePath(u"a-cert.pem"_s);
        m_keyA = m_dir.filePath(u"a-key.pem"_s);
        m_certB = m_dir.filePath(u"b-cert.pem"_s);
        m_keyB = m_dir.filePath(u"b-key.pem"_s);
        m_fingerprintA = makeCertificate(m_certA, m_keyA);
        m_fingerprintB = makeCertificate(m_certB, m_keyB);
        QVERIFY2(!m_fingerprintA.isEmpty() && !m_fingerprintB.isEmpty(), "openssl req failed");
        QVERIFY(m_fingerprintA != m_fingerprintB);
    }

    void init() { QVERIFY(copyOver(m_certA, liveCert()) && copyOver(m_keyA, liveKey())); }

    void checkConfig_data()
    {
        // In `config` and `args`: %D is a fresh directory, %CA/%KA and %CB/%KB the files of
        // certificates A and B, %SRC the source tree.
        QTest::addColumn<QString>("config"); // the config file; empty: none
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("needle"); // on stdout for 0, on stderr for 2

        QTest::newRow("good, sqlite") << u"listen = 127.0.0.1:0\ndata-dir = %D/data\n"_s
                                      << QStringList {} << 0 << u"store: sqlite in %D/data"_s;
        QTest::newRow("good, tls and redis with a password")
            << u"data-dir = %D\ntls-cert = %CA\ntls-key = %KA\nnode-id = n1\n"_s
            << QStringList {u"--redis"_s, u"redis://app:Sup3r-Secret@127.0.0.1:1/2"_s} << 0
            << u"bus: Redis at redis://app:***@127.0.0.1:1/2, node n1"_s;
        QTest::newRow("the shipped server.conf")
            << QString()
            << QStringList {u"--config"_s, u"%SRC/packaging/server.conf"_s, u"--data-dir"_s,
                   u"%D/state"_s}
            << 0 << u"listen: ws://127.0.0.1:8443/ws"_s;
        QTest::newRow("missing certificate")
            << QString()
            << QStringList {u"--data-dir"_s, u"%D"_s, u"--tls-cert"_s, u"%D/missing.pem"_s,
                   u"--tls-key"_s, u"%KA"_s}
            << 2 << u"cannot read certificate %D/missing.pem"_s;
        QTest::newRow("key of another certificate")
            << u"data-dir = %D\ntls-cert = %CA\ntls-key = %KB\n"_s << QStringList {} << 2
            << u"the private key %KB does not belong to the certificate %CA"_s;
        QTest::newRow("a certificate that is no certificate")
            << QString()
            << QStringList {u"--data-dir"_s, u"%D"_s, u"--tls-cert"_s, u"%KA"_s, u"--tls-key"_s,
                   u"%KA"_s}
            << 2 << u"holds no PEM certificate"_s;
        QTest::newRow("data dir under a file")
            << QString() << QStringList {u"--data-dir"_s, u"%D/file/data"_s} << 2
            << u"data dir %D/file/data cannot be created: %D/file is not a directory"_s;
        QTest::newRow("data dir is a file")
            << QString() << QStringList {u"--data-dir"_s, u"%D/file"_s} << 2
            << u"data dir %D/file is not a directory"_s;
        QTest::newRow("bad redis url")
            << QString() << QStringList {u"--data-dir"_s, u"%D"_s, u"--redis"_s, u"http://h:1"_s}
            << 2 << u"--redis expects redis://"_s;
        QTest::newRow("unknown key in the file")
            << u"data-dir = %D\ncolour = blue\n"_s << QStringList {} << 2
            << u":2: unknown setting 'colour'"_s;
        QTest::newRow("dynamodb without a region")
            << u"store = dynamodb\n"_s << QStringList {} << 2 << u"no AWS region"_s;
    }

    void checkConfig()
    {
        QFETCH(QString, config);
        QFETCH(QStringList, args);
        QFETCH(int, exitCode);
        QFETCH(QString, needle);
        QTemporaryDir dir;
        QVERIFY(writeFile(dir.filePath(u"file"_s), "not a directory\n"));
        auto expand = [&](QString text) {
            return text.replace(u"%SRC"_s, QStringLiteral(PARLEY_SOURCE_DIR))
                .replace(u"%D"_s, dir.path())
                .replace(u"%CA"_s, m_certA)
                .replace(u"%KA"_s, m_keyA)
                .replace(u"%CB"_s, m_certB)
                .replace(u"%KB"_s, m_keyB);
        };
        QStringList command {u"server"_s, u"--check-config"_s};
        if (!config.isEmpty()) {
            QVERIFY(writeFile(dir.filePath(u"server.conf"_s), expand(config).toUtf8()));
            command += {u"--config"_s, dir.filePath(u"server.conf"_s)};
        }
        for (const QString &arg : std::as_const(args))
            command += expand(arg);
        // No AWS settings of the machine's leak in; a home without ~/.aws.
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        for (const QString &name : environment.keys()) {
            if (name.startsWith(u"AWS_"_s) || name.startsWith(u"PARLEY_"_s)
                || name == u"REDIS_URL"_s)
                environment.remove(name);
        }
        environment.insert(u"HOME"_s, dir.path());

        const Run run = runParley(command, environment);
        QCOMPARE(run.exitCode, exitCode);
        if (exitCode == 0) {
            QVERIFY2(run.out.startsWith(u"configuration OK\n"_s), qPrintable(run.out));
            QVERIFY2(run.out.contains(expand(needle)), qPrintable(run.out));
            QVERIFY2(run.err.isEmpty(), qPrintable(run.err));
        } else {
            QVERIFY2(run.err.contains(u"parley server: "_s + expand(needle))
                    || run.err.contains(expand(needle)),
                qPrintable(run.err));
            QVERIFY2(run.out.isEmpty(), qPrintable(run.out));
        }
        QVERIFY(!run.out.contains(u"Sup3r-Secret"_s) && !run.err.contains(u"Sup3r-Secret"_s));
        // Checking opened no store: no database file anywhere under the directory.
        QVERIFY(!QFileInfo::exists(dir.filePath(u"parley.sqlite3"_s)));
        QVERIFY(!QFileInfo::exists(dir.filePath(u"data"_s)));
    }

    void jsonLogsHoldNoSecrets()
    {
        // Debug output too: every category at every level must keep the secrets out.
        const QByteArray rules = qgetenv("QT_LOGGING_RULES");
        qputenv("QT_LOGGING_RULES", "parley.*.debug=true");
        ServerProcess server;
        const bool started = server.start({u"--log-format"_s, u"json"_s});
        qputenv("QT_LOGGING_RULES", rules);
        QVERIFY2(started, server.errors().constData());

        const QString password = u"Pw-7c41d9e2-do-not-log"_s;
        const QString body = u"Body-3f0a8b51 the \"secret\" plan\nline two"_s;
        Client alice, bob, again;
        QVERIFY(alice.open(server.url()) && bob.open(server.url()) && again.open(server.url()));
        const QJsonObject welcome = alice.signIn(u"opsalice"_s, password);
        QCOMPARE(welcome.value(u"type"_s).toString(), u"welcome"_s);
        const QString token = welcome.value(u"token"_s).toString();
        QVERIFY(!token.isEmpty());
        QCOMPARE(bob.signIn(u"opsbob"_s, password).value(u"type"_s).toString(), u"welcome"_s);
        QCOMPARE(
            again.signIn(u"opsalice"_s, password, true).value(u"type"_s).toString(), u"welcome"_s);
        QCOMPARE(again.request({{u"type"_s, u"logout"_s}}).value(u"type"_s).toString(), u"ok"_s);
        QCOMPARE(alice.request(sendFrame(u"opsbob"_s, body)).value(u"type"_s).toString(), u"ack"_s);
        QCOMPARE(bob.next(u"msg"_s).value(u"body"_s).toString(), body);
        // Rejected frames are logged (at debug): their bodies and passwords must not be.
        QCOMPARE(
            alice.request({{u"type"_s, u"send"_s}, {u"body"_s, body}}).value(u"type"_s).toString(),
            u"error"_s);
        Client wrong;
        QVERIFY(wrong.open(server.url()));
        QCOMPARE(wrong.signIn(u"opsbob"_s, password + u"x"_s, true).value(u"type"_s).toString(),
            u"error"_s);
        Client resumed;
        QVERIFY(resumed.open(server.url()));
        QCOMPARE(resumed.request({{u"type"_s, u"resume"_s}, {u"token"_s, token}})
                     .value(u"type"_s)
                     .toString(),
            u"welcome"_s);
        QCOMPARE(server.stop(), 0);

        const QByteArray stderrText = server.errors();
        QVERIFY(stderrText.endsWith('\n'));
        const QList<QByteArray> lines = stderrText.chopped(1).split('\n');
        static const QRegularExpression isoUtcMs(
            u"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$"_s);
        const QStringList levels {u"debug"_s, u"info"_s, u"warning"_s, u"critical"_s};
        QSet<QString> categories;
        for (const QByteArray &line : lines) {
            QJsonParseError error;
            const QJsonDocument document = QJsonDocument::fromJson(line, &error);
            QVERIFY2(
                error.error == QJsonParseError::NoError && document.isObject(), line.constData());
            const QJsonObject event = document.object();
            QCOMPARE(event.keys(),
                QStringList({u"category"_s, u"level"_s, u"msg"_s, u"node"_s, u"ts"_s}));
            QVERIFY2(isoUtcMs.match(event.value(u"ts"_s).toString()).hasMatch(), line.constData());
            QVERIFY2(levels.contains(event.value(u"level"_s).toString()), line.constData());
            QCOMPARE(event.value(u"node"_s).toString(), u"test-node"_s);
            categories.insert(event.value(u"category"_s).toString());
            for (const QString &secret : {password, token, u"Body-3f0a8b51"_s, u"line two"_s})
                QVERIFY2(!line.contains(secret.toUtf8()), line.constData());
        }
        // The run logged what it should have: a sign-in, a rejected frame, the stop.
        for (const char *category : {"parley.server", "parley.server.auth", "parley.protocol"})
            QVERIFY2(categories.contains(QString::fromLatin1(category)), category);
        QVERIFY(stderrText.contains("registered user"));
        QVERIFY(stderrText.contains("\"msg\":\"stopped\""));
    }

    void sighupReloadsCertificate()
    {
        ServerProcess server;
        QVERIFY2(server.start({u"--tls-cert"_s, liveCert(), u"--tls-key"_s, liveKey()}),
            server.errors().constData());
        QCOMPARE(presentedFingerprint(server.port()), m_fingerprintA);
        const QSslConfiguration trustA = trusting(m_certA), trustB = trusting(m_certB);
        Client before;
        QVERIFY(before.open(server.url(), &trustA));
        QCOMPARE(before.signIn(u"reloadalice"_s).value(u"type"_s).toString(), u"welcome"_s);

        QVERIFY(copyOver(m_certB, liveCert()) && copyOver(m_keyB, liveKey()));
        sighup(server);
        QVERIFY2(
            waitUntil([&] { return server.errors().contains("TLS certificate reloaded"); }, 20000),
            server.errors().constData());

        // A connection opened now trusts only B, and is shown B's certificate.
        QCOMPARE(presentedFingerprint(server.port()), m_fingerprintB);
        Client after;
        QVERIFY(after.open(server.url(), &trustB));
        QCOMPARE(after.signIn(u"reloadbob"_s).value(u"type"_s).toString(), u"welcome"_s);
        // The connection from before the reload keeps going: a send is acked and delivered.
        QCOMPARE(
            before.request(sendFrame(u"reloadbob"_s, u"still here"_s)).value(u"type"_s).toString(),
            u"ack"_s);
        QCOMPARE(after.next(u"msg"_s).value(u"body"_s).toString(), u"still here"_s);
        QVERIFY(!before.closed);

        const QByteArray metrics = httpGet(server.port(), "/metrics", true);
        QVERIFY2(metrics.contains("\nparley_tls_reloads_total{outcome=\"ok\"} 1\n"),
            metrics.constData());
        QVERIFY(metrics.contains("\nparley_tls_reloads_total{outcome=\"failed\"} 0\n"));
        QCOMPARE(server.stop(), 0);
    }

    void sighupWithBrokenFilesKeepsTheCertificate_data()
    {
        QTest::addColumn<QString>("breakage");
        QTest::newRow("garbage certificate") << u"garbage"_s;
        QTest::newRow("key of another certificate") << u"mismatch"_s;
        QTest::newRow("missing key") << u"missing"_s;
    }

    void sighupWithBrokenFilesKeepsTheCertificate()
    {
        QFETCH(QString, breakage);
        ServerProcess server;
        QVERIFY2(server.start({u"--tls-cert"_s, liveCert(), u"--tls-key"_s, liveKey()}),
            server.errors().constData());
        const QSslConfiguration trustA = trusting(m_certA);
        Client alice, bob;
        QVERIFY(alice.open(server.url(), &trustA) && bob.open(server.url(), &trustA));
        QCOMPARE(alice.signIn(u"brokenalice"_s).value(u"type"_s).toString(), u"welcome"_s);
        QCOMPARE(bob.signIn(u"brokenbob"_s).value(u"type"_s).toString(), u"welcome"_s);

        if (breakage == u"garbage"_s)
            QVERIFY(writeFile(liveCert(), "-----BEGIN CERTIFICATE-----\nnot base64\n"));
        else if (breakage == u"mismatch"_s)
            QVERIFY(copyOver(m_certB, liveCert()));
        else
            QVERIFY(QFile::remove(liveKey()));
        sighup(server);
        QVERIFY2(waitUntil([&] { return server.errors().contains("TLS reload failed"); }, 20000),
            server.errors().constData());

        QCOMPARE(presentedFingerprint(server.port()), m_fingerprintA);
        Client later;
        QVERIFY(later.open(server.url(), &trustA));
        QCOMPARE(alice.request(sendFrame(u"brokenbob"_s, u"after a failed reload"_s))
                     .value(u"type"_s)
                     .toString(),
            u"ack"_s);
        QCOMPARE(bob.next(u"msg"_s).value(u"body"_s).toString(), u"after a failed reload"_s);
        const QByteArray metrics = httpGet(server.port(), "/metrics", true);
        QVERIFY2(metrics.contains("\nparley_tls_reloads_total{outcome=\"failed\"} 1\n"),
            metrics.constData());
        QVERIFY(metrics.contains("\nparley_tls_reloads_total{outcome=\"ok\"} 0\n"));
        QCOMPARE(server.stop(), 0);
    }

    void sighupWithoutTls()
    {
        ServerProcess server;
        QVERIFY(server.start());
        Client c;
        QVERIFY(c.open(server.url()));
        sighup(server);
        QVERIFY2(waitUntil([&] { return server.errors().contains("nothing to reload"); }, 20000),
            server.errors().constData());
        QCOMPARE(server.process()->state(), QProcess::Running);
        QVERIFY(httpGet(server.port(), "/healthz", false).startsWith("HTTP/1.1 200"));
        QCOMPARE(c.signIn(u"plainsighup"_s).value(u"type"_s).toString(), u"welcome"_s);
        QCOMPARE(server.stop(), 0);
    }
};

QTEST_GUILESS_MAIN(TestOperations)
#include "tst_operations.moc"
