// Debian's redis-server as a child process on a free loopback port, in a
// temporary directory, without persistence (every start is empty), plus the
// fault helpers the multi-node tests need: restart on the same port and
// CLIENT KILL of every client connection.
#pragma once

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QProcess>
#include <QString>
#include <QTemporaryDir>

#include <memory>

namespace parley::test {

class RedisServer : public QObject
{
public:
    explicit RedisServer(QObject *parent = nullptr);
    ~RedisServer() override;

    // Starts redis-server on 127.0.0.1 (a free port the first time, the same port
    // on a restart) and waits until it answers PING. `password`: requirepass.
    // False with errorString() when redis-server is missing or does not come up.
    bool start(const QString &password = {});
    void stop(); // SIGTERM, then SIGKILL
    bool restart(); // stop and start on the same port; data is gone
    bool isRunning() const;

    quint16 port() const { return m_port; }
    QString url() const; // redis://[:password@]127.0.0.1:PORT
    QString errorString() const { return m_error; }

    // Sends one command on a fresh connection and returns the raw RESP2 reply
    // (empty on failure). Blocking, with a timeout: test code only.
    QByteArray command(const QList<QByteArray> &arguments);
    // CLIENT KILL TYPE normal and TYPE pubsub: drops every client connection.
    // Returns how many were killed.
    int killClients();

private:
    std::unique_ptr<QProcess> m_process;
    QTemporaryDir m_dir;
    quint16 m_port = 0;
    QString m_password;
    QString m_error;
};

} // namespace parley::test
