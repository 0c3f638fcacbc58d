// dynalite, the local DynamoDB from npm (pinned in tests/package.json, installed by
// scripts/test.sh with `npm ci --prefix tests`), as a child process on a free loopback
// port. It keeps its tables in memory, so every start is empty.
#pragma once

#include <QObject>
#include <QProcess>
#include <QString>
#include <QUrl>

#include <memory>

namespace parley::test {

class Dynalite : public QObject
{
public:
    explicit Dynalite(QObject *parent = nullptr);
    ~Dynalite() override;

    // Starts node with dynalite's cli.js on 127.0.0.1 and waits until it accepts TCP
    // connections. False when node or dynalite is missing or it does not come up:
    // errorString() says why and what to run.
    bool start();
    // SIGTERM, then SIGKILL if it does not exit.
    void stop();

    bool isRunning() const;
    quint16 port() const { return m_port; }
    QUrl endpoint() const; // http://127.0.0.1:PORT
    QString errorString() const { return m_error; }

    // The dynalite of this test process, started on first use. A child of the application
    // object, so it outlives every server a test starts and restarts.
    static Dynalite *shared(QString *error);

    // Points this process's AWS settings at dynalite's test credentials (region
    // us-east-1, key "parleytest") and drops the developer's own profile, session token,
    // endpoints and default region, so none of them leaks into a test.
    static void useTestCredentials();

private:
    enum class Launch { Up, PortTaken, Failed };
    Launch launch(const QString &node, const QString &cli, quint16 port);

    std::unique_ptr<QProcess> m_process;
    quint16 m_port = 0;
    QString m_error;
};

} // namespace parley::test
