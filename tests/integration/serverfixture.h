// Test fixtures for the integration suite: the real `parley server` binary on
// a free loopback port, and a small QWebSocket client that waits for frames.
#pragma once

#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTimer>
#include <QUrl>
#include <QWebSocket>
#include <QtTest>

#include <functional>
#include <memory>

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
        m_process = std::make_unique<QProcess>();
        m_process->setProcessChannelMode(QProcess::SeparateChannels);
        m_output.clear();
        QStringList args {QStringLiteral("server"), QStringLiteral("--listen"),
            QStringLiteral("127.0.0.1:%1").arg(port), QStringLiteral("--data-dir"), m_dataDir,
            QStringLiteral("--node-id"), QStringLiteral("test-node")};
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
