#include "dynalite.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QFileInfo>
#include <QPointer>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>

#ifdef Q_OS_LINUX
#include <csignal>
#include <sys/prctl.h>
#endif

using namespace Qt::StringLiterals;

namespace parley::test {

namespace {

constexpr int StartAttempts = 5;
constexpr int StartTimeoutMs = 30000;
const QString InstallHint = u"run scripts/test.sh, which installs Node.js and "
                            u"dynalite (npm ci --prefix tests)"_s;

// dynalite takes --port 0 as "the default, 4567", so the port is chosen here: the OS
// hands out a free one, which is closed again for dynalite to bind (a race another
// process can win, hence the retry in start()).
quint16 freeLoopbackPort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

bool acceptsConnections(quint16 port)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    return socket.waitForConnected(2000);
}

} // namespace

Dynalite::Dynalite(QObject *parent)
    : QObject(parent)
{ }

Dynalite::~Dynalite()
{
    stop();
}

bool Dynalite::start()
{
    stop();
    m_error.clear();
    QString node = QStandardPaths::findExecutable(u"node"_s);
    if (node.isEmpty())
        node = QStandardPaths::findExecutable(u"nodejs"_s);
    if (node.isEmpty()) {
        m_error = u"DynamoDB tests need Node.js (node) for dynalite, and it is not on PATH: "_s
            + InstallHint;
        return false;
    }
    const QString cli = QStringLiteral(PARLEY_SOURCE_DIR "/tests/node_modules/dynalite/cli.js");
    if (!QFileInfo::exists(cli)) {
        m_error = u"DynamoDB tests need dynalite, and %1 is missing: "_s.arg(cli) + InstallHint;
        return false;
    }
    for (int attempt = 0; attempt < StartAttempts; ++attempt) {
        const quint16 port = freeLoopbackPort();
        if (port == 0) {
            m_error = u"no free loopback port for dynalite"_s;
            return false;
        }
        switch (launch(node, cli, port)) {
        case Launch::Up:
            m_port = port;
            return true;
        case Launch::PortTaken:
            continue;
        case Launch::Failed:
            return false;
        }
    }
    m_error = u"dynalite found its port taken %1 times in a row"_s.arg(StartAttempts);
    return false;
}

Dynalite::Launch Dynalite::launch(const QString &node, const QString &cli, quint16 port)
{
    m_process = std::make_unique<QProcess>();
    m_process->setProcessChannelMode(QProcess::SeparateChannels);
#ifdef Q_OS_LINUX
    // A test killed by its timeout must not leave dynalite running behind it.
    m_process->setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGTERM); });
#endif
    // --host: loopback only (its default is every interface). No --path: in memory.
    m_process->start(node, {cli, u"--host"_s, u"127.0.0.1"_s, u"--port"_s, QString::number(port)});
    if (!m_process->waitForStarted(10000)) {
        m_error = u"could not start %1: %2"_s.arg(node, m_process->errorString());
        return Launch::Failed;
    }
    // It prints this line from its listen() callback, so the port is ours once it appears.
    const QByteArray listening = "Dynalite listening at";
    QByteArray output, errors;
    const QDeadlineTimer deadline(StartTimeoutMs);
    while (!output.contains(listening) && m_process->state() == QProcess::Running
        && !deadline.hasExpired()) {
        m_process->waitForReadyRead(100);
        output += m_process->readAllStandardOutput();
        errors += m_process->readAllStandardError();
    }
    errors += m_process->readAllStandardError();
    if (output.contains(listening) && acceptsConnections(port))
        return Launch::Up;
    stop();
    if (errors.contains("EADDRINUSE"))
        return Launch::PortTaken;
    m_error = u"dynalite did not come up on 127.0.0.1:%1: %2"_s.arg(port).arg(
        QString::fromUtf8(errors.right(2000) + output.right(500)).trimmed());
    return Launch::Failed;
}

void Dynalite::stop()
{
    if (!m_process)
        return;
    if (m_process->state() != QProcess::NotRunning) {
        m_process->terminate();
        if (!m_process->waitForFinished(5000)) {
            m_process->kill();
            m_process->waitForFinished(5000);
        }
    }
    m_process.reset();
    m_port = 0;
}

bool Dynalite::isRunning() const
{
    return m_process && m_process->state() == QProcess::Running;
}

QUrl Dynalite::endpoint() const
{
    return QUrl(u"http://127.0.0.1:%1"_s.arg(m_port));
}

Dynalite *Dynalite::shared(QString *error)
{
    static QPointer<Dynalite> instance;
    if (instance) {
        // Starting a new one would hand the next server empty tables: say so instead.
        if (!instance->isRunning()) {
            *error = u"dynalite exited during the test"_s;
            return nullptr;
        }
        return instance;
    }
    instance = new Dynalite(QCoreApplication::instance());
    if (!instance->start()) {
        *error = instance->errorString();
        delete instance; // the next server tries again and reports the same
        return nullptr;
    }
    return instance;
}

void Dynalite::useTestCredentials()
{
    for (const char *name : {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
             "AWS_ENDPOINT_URL_DYNAMODB", "AWS_DEFAULT_REGION"})
        qunsetenv(name);
    qputenv("AWS_REGION", "us-east-1");
    qputenv("AWS_ACCESS_KEY_ID", "parleytest");
    qputenv("AWS_SECRET_ACCESS_KEY", "parleytest");
}

} // namespace parley::test
