// Test fixtures for the integration suite: the real `parley server` binary on
// a free loopback port, and a small QWebSocket client that waits for frames.
//
// The store the servers use comes from PARLEY_TEST_STORE: `sqlite` (the default),
// `dynamodb` (one dynalite per test process) or `dynamodb-faults` (the same dynalite
// behind a FaultProxy whose plan PARLEY_TEST_FAULTS may override).
#pragma once

#include "dynalite.h"
#include "faultproxy.h"

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>
#include <QtTest>

#include <functional>
#include <memory>
#include <optional>

namespace parley::test {

// Waits (spinning the event loop) until `done` is true or `ms` elapsed.
inline bool waitUntil(const std::function<bool()> &done, int ms = 10000)
{
    QElapsedTimer clock;
    clock.start();
    while (!done()) {
        if (clock.elapsed() > ms)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
        QTest::qSleep(1);
    }
    return true;
}

// Sends one raw HTTP request to the server on loopback and returns everything it answered
// until it closed the connection (waiting at most `ms`); empty if it could not connect.
inline QByteArray httpExchange(quint16 port, const QByteArray &request, int ms = 10000)
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
        ms);
    return response + socket.readAll();
}

enum class TestStore { Sqlite, DynamoDb, DynamoDbWithFaults };

inline TestStore testStore()
{
    const QByteArray name = qgetenv("PARLEY_TEST_STORE");
    if (name.isEmpty() || name == "sqlite")
        return TestStore::Sqlite;
    if (name == "dynamodb")
        return TestStore::DynamoDb;
    if (name == "dynamodb-faults")
        return TestStore::DynamoDbWithFaults;
    qFatal("PARLEY_TEST_STORE=%s: expected sqlite, dynamodb or dynamodb-faults", name.constData());
}

inline bool usesDynamoDb()
{
    return testStore() != TestStore::Sqlite;
}

// The store backend /healthz names.
inline QString storeBackend()
{
    return usesDynamoDb() ? QStringLiteral("dynamodb") : QStringLiteral("sqlite");
}

namespace detail {
inline QPointer<FaultProxy> &faultProxySlot()
{
    static QPointer<FaultProxy> proxy;
    return proxy;
}
} // namespace detail

// The fault proxy of this test process: null unless a server started under dynamodb-faults.
inline FaultProxy *faultProxy()
{
    return detail::faultProxySlot();
}

// Where the servers of this test process send DynamoDB requests: the shared dynalite, or
// the fault proxy in front of it. Both are children of the application object, so they
// outlive every server, restarts included. Empty, with `error` set, if they cannot start.
inline QUrl dynamoEndpoint(QString *error)
{
    Dynalite *dynalite = Dynalite::shared(error);
    if (!dynalite)
        return {};
    if (testStore() != TestStore::DynamoDbWithFaults)
        return dynalite->endpoint();
    QPointer<FaultProxy> &proxy = detail::faultProxySlot();
    if (!proxy) {
        // By default a fifth of the requests is throttled, and 5% each fail with a 500
        // before and after being applied.
        const QString spec = qEnvironmentVariable(
            "PARLEY_TEST_FAULTS", QStringLiteral("throttled=20,before=5,after=5,seed=7,inarow=3"));
        const std::optional<FaultPlan> plan = FaultPlan::parse(spec, error);
        if (!plan)
            return {};
        auto created
            = std::make_unique<FaultProxy>(dynalite->port(), *plan, QCoreApplication::instance());
        if (!created->listen()) {
            *error = QStringLiteral("the fault proxy cannot listen on 127.0.0.1");
            return {};
        }
        proxy = created.release();
    }
    return proxy->endpoint();
}

// Tables of their own for each data dir: a server restarted on the same data dir finds
// its data again, and no other server of the test sees it.
inline QString dynamoTablePrefix(const QString &dataDir)
{
    const QByteArray hash
        = QCryptographicHash::hash(dataDir.toUtf8(), QCryptographicHash::Sha1).toHex();
    return QStringLiteral("t%1_").arg(QString::fromLatin1(hash.left(12)));
}

// dynalite takes any credentials; a developer's own AWS settings must not leak in.
inline QProcessEnvironment dynamoEnvironment()
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const char *name : {"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION",
             "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"})
        environment.remove(QString::fromLatin1(name));
    environment.insert(QStringLiteral("AWS_REGION"), QStringLiteral("us-east-1"));
    environment.insert(QStringLiteral("AWS_ACCESS_KEY_ID"), QStringLiteral("parleytest"));
    environment.insert(QStringLiteral("AWS_SECRET_ACCESS_KEY"), QStringLiteral("parleytest"));
    return environment;
}

class ServerProcess
{
public:
    explicit ServerProcess(QString dataDir = {})
        : m_dataDir(std::move(dataDir))
    {
        if (m_dataDir.isEmpty())
            m_dataDir = m_tmp.path();
    }
    ~ServerProcess() { stop(); }

    // Starts `parley server` on 127.0.0.1 with an OS-chosen port (or `port`),
    // and waits for its "listening on" line.
    bool start(const QStringList &extraArgs = {}, quint16 port = 0)
    {
        QStringList args {QStringLiteral("server"), QStringLiteral("--listen"),
            QStringLiteral("127.0.0.1:%1").arg(port), QStringLiteral("--data-dir"), m_dataDir,
            QStringLiteral("--node-id"), QStringLiteral("test-node")};
        QUrl dynamoDb;
        if (usesDynamoDb()) {
            QString error;
            dynamoDb = dynamoEndpoint(&error);
            if (dynamoDb.isEmpty()) {
                m_process.reset();
                m_errors += error.toUtf8();
                qWarning("%s", qPrintable(error));
                return false;
            }
            args += {QStringLiteral("--store"), QStringLiteral("dynamodb"),
                QStringLiteral("--dynamodb-endpoint"), dynamoDb.toString(),
                QStringLiteral("--dynamodb-table-prefix"), dynamoTablePrefix(m_dataDir),
                QStringLiteral("--create-tables")};
        }
        m_process = std::make_unique<QProcess>();
        m_process->setProcessChannelMode(QProcess::SeparateChannels);
        if (!dynamoDb.isEmpty())
            m_process->setProcessEnvironment(dynamoEnvironment());
        m_output.clear();
        args += extraArgs;
        m_process->start(QStringLiteral(PARLEY_BINARY), args);
        if (!m_process->waitForStarted(10000))
            return false;
        static const QRegularExpression listening(
            QStringLiteral("listening on (wss?)://[^:]+:(\\d+)/ws"));
        const bool up = waitUntil(
            [&] {
                m_output += m_process->readAllStandardOutput();
                m_errors += m_process->readAllStandardError();
                return listening.match(QString::fromUtf8(m_output)).hasMatch()
                    || m_process->state() == QProcess::NotRunning;
            },
            30000);
        const auto match = listening.match(QString::fromUtf8(m_output));
        if (!up || !match.hasMatch())
            return false;
        m_scheme = match.captured(1);
        m_port = quint16(match.captured(2).toUInt());
        return true;
    }

    // SIGTERM and wait; returns the exit code (or -1 if it had to be killed).
    int stop(int waitMs = 30000)
    {
        if (!m_process || m_process->state() == QProcess::NotRunning)
            return m_process ? m_process->exitCode() : 0;
        m_process->terminate();
        if (!m_process->waitForFinished(waitMs)) {
            m_process->kill();
            m_process->waitForFinished();
            return -1;
        }
        m_errors += m_process->readAllStandardError();
        return m_process->exitCode();
    }

    void kill()
    {
        if (m_process && m_process->state() != QProcess::NotRunning) {
            m_process->kill();
            m_process->waitForFinished();
        }
    }

    QProcess *process() const { return m_process.get(); }
    quint16 port() const { return m_port; }
    QString dataDir() const { return m_dataDir; }
    QByteArray errors()
    {
        if (m_process)
            m_errors += m_process->readAllStandardError();
        return m_errors;
    }
    QUrl url(const QString &path = QStringLiteral("/ws")) const
    {
        return QUrl(QStringLiteral("%1://127.0.0.1:%2%3").arg(m_scheme).arg(m_port).arg(path));
    }

private:
    QTemporaryDir m_tmp;
    QString m_dataDir;
    std::unique_ptr<QProcess> m_process;
    QByteArray m_output;
    QByteArray m_errors;
    QString m_scheme = QStringLiteral("ws");
    quint16 m_port = 0;
};

// A WebSocket client that records every frame it receives.
class Client : public QObject
{
public:
    explicit Client(QObject *parent = nullptr)
        : QObject(parent)
    {
        QObject::connect(
            &socket, &QWebSocket::textMessageReceived, this, [this](const QString &text) {
                const QJsonObject frame = QJsonDocument::fromJson(text.toUtf8()).object();
                frames.append(frame);
            });
        QObject::connect(&socket, &QWebSocket::disconnected, this, [this] {
            closed = true;
            closeCode = socket.closeCode();
        });
    }

    bool open(const QUrl &url, const QSslConfiguration *tls = nullptr)
    {
        QNetworkRequest request(url);
        request.setRawHeader("Sec-WebSocket-Protocol", "parley.v1");
        if (tls)
            socket.setSslConfiguration(*tls);
        socket.open(request);
        if (!waitUntil([&] { return socket.state() == QAbstractSocket::ConnectedState || closed; }))
            return false;
        return socket.state() == QAbstractSocket::ConnectedState
            && !next(QStringLiteral("hello")).isEmpty();
    }

    void send(const QJsonObject &frame)
    {
        socket.sendTextMessage(
            QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)));
    }
    void sendRaw(const QByteArray &text) { socket.sendTextMessage(QString::fromUtf8(text)); }

    // The first not yet consumed frame of `type` (any type if empty), removed
    // from the queue; an empty object if none arrives within `ms`.
    QJsonObject next(const QString &type = {}, int ms = 10000)
    {
        QJsonObject found;
        waitUntil(
            [&] {
                for (qsizetype i = 0; i < frames.size(); ++i) {
                    if (type.isEmpty()
                        || frames.at(i).value(QStringLiteral("type")).toString() == type) {
                        found = frames.takeAt(i);
                        return true;
                    }
                }
                return closed;
            },
            ms);
        return found;
    }

    // The reply carrying this rid (ack, error, ok, ...).
    QJsonObject reply(const QString &rid, int ms = 10000)
    {
        QJsonObject found;
        waitUntil(
            [&] {
                for (qsizetype i = 0; i < frames.size(); ++i) {
                    if (frames.at(i).value(QStringLiteral("rid")).toString() == rid) {
                        found = frames.takeAt(i);
                        return true;
                    }
                }
                return closed;
            },
            ms);
        return found;
    }

    QJsonObject request(QJsonObject frame, int ms = 10000)
    {
        const QString rid = QString::number(++m_rid);
        frame.insert(QStringLiteral("rid"), rid);
        send(frame);
        return reply(rid, ms);
    }

    // register (or login when `login`), returning the welcome (or the error).
    QJsonObject signIn(const QString &user,
        const QString &password = QStringLiteral("correct horse"), bool login = false,
        const QString &device = {})
    {
        QJsonObject frame {
            {QStringLiteral("type"), login ? QStringLiteral("login") : QStringLiteral("register")},
            {QStringLiteral("user"), user}, {QStringLiteral("password"), password}};
        if (!device.isEmpty())
            frame.insert(QStringLiteral("device"), device);
        return request(frame, 30000);
    }

    QWebSocket socket {QString(), QWebSocketProtocol::VersionLatest};
    QList<QJsonObject> frames;
    bool closed = false;
    QWebSocketProtocol::CloseCode closeCode = QWebSocketProtocol::CloseCodeNormal;

private:
    int m_rid = 0;
};

} // namespace parley::test
