#include "redisserver.h"

#include <QDeadlineTimer>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>

using namespace Qt::StringLiterals;

namespace parley::test {

namespace {

quint16 freeLoopbackPort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

QByteArray encode(const QList<QByteArray> &arguments)
{
    QByteArray out = '*' + QByteArray::number(arguments.size()) + "\r\n";
    for (const QByteArray &a : arguments)
        out += '$' + QByteArray::number(a.size()) + "\r\n" + a + "\r\n";
    return out;
}

} // namespace

RedisServer::RedisServer(QObject *parent)
    : QObject(parent)
{ }

RedisServer::~RedisServer()
{
    stop();
}

bool RedisServer::isRunning() const
{
    return m_process && m_process->state() == QProcess::Running;
}

QString RedisServer::url() const
{
    if (m_password.isEmpty())
        return u"redis://127.0.0.1:%1"_s.arg(m_port);
    return u"redis://:%1@127.0.0.1:%2"_s.arg(m_password).arg(m_port);
}

bool RedisServer::start(const QString &password)
{
    m_password = password;
    const QString binary = QStandardPaths::findExecutable(u"redis-server"_s);
    if (binary.isEmpty()) {
        m_error = u"redis-server not found: apt-get install redis-server"_s;
        return false;
    }
    if (!m_dir.isValid()) {
        m_error = u"cannot create a temporary directory"_s;
        return false;
    }
    // A free port can be taken between the probe and redis binding it: retry.
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (m_port == 0 || attempt > 0)
            m_port = freeLoopbackPort();
        QStringList args {u"--port"_s, QString::number(m_port), u"--bind"_s, u"127.0.0.1"_s,
            u"--dir"_s, m_dir.path(), u"--save"_s, u""_s, u"--appendonly"_s, u"no"_s,
            u"--daemonize"_s, u"no"_s, u"--loglevel"_s, u"warning"_s};
        if (!m_password.isEmpty())
            args += {u"--requirepass"_s, m_password};
        m_process = std::make_unique<QProcess>();
        m_process->setProcessChannelMode(QProcess::MergedChannels);
        m_process->start(binary, args);
        if (!m_process->waitForStarted(10000)) {
            m_error = u"redis-server did not start: "_s + m_process->errorString();
            return false;
        }
        const QDeadlineTimer deadline(15000);
        while (!deadline.hasExpired() && m_process->state() == QProcess::Running) {
            const QByteArray pong = command({"PING"});
            if (pong.startsWith("+PONG"))
                return true;
            QThread::msleep(20);
        }
        const QByteArray output = m_process->readAll();
        stop();
        m_error = u"redis-server did not come up on port %1: %2"_s.arg(m_port).arg(
            QString::fromUtf8(output.right(300)));
    }
    return false;
}

void RedisServer::stop()
{
    if (!m_process || m_process->state() == QProcess::NotRunning)
        return;
    m_process->terminate();
    if (!m_process->waitForFinished(10000)) {
        m_process->kill();
        m_process->waitForFinished();
    }
}

bool RedisServer::restart()
{
    stop();
    return start(m_password);
}

QByteArray RedisServer::command(const QList<QByteArray> &arguments)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, m_port);
    if (!socket.waitForConnected(2000))
        return {};
    QByteArray request;
    if (!m_password.isEmpty())
        request += encode({"AUTH", m_password.toUtf8()});
    request += encode(arguments);
    socket.write(request);
    QByteArray reply;
    const QDeadlineTimer deadline(5000);
    // One line per expected reply is enough for what tests ask (status, integer, error).
    const int lines = m_password.isEmpty() ? 1 : 2;
    while (reply.count("\r\n") < lines && !deadline.hasExpired()) {
        if (!socket.waitForReadyRead(int(std::max<qint64>(1, deadline.remainingTime()))))
            break;
        reply += socket.readAll();
    }
    if (!m_password.isEmpty())
        reply.remove(0, reply.indexOf("\r\n") + 2);
    return reply;
}

int RedisServer::killClients()
{
    int killed = 0;
    for (const char *type : {"normal", "pubsub"}) {
        const QByteArray reply = command({"CLIENT", "KILL", "TYPE", type});
        if (reply.startsWith(':'))
            killed += reply.mid(1).trimmed().toInt();
    }
    return killed;
}

} // namespace parley::test
