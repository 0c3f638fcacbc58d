// Runs one swarm (one shard) from start to report: plans the users, starts the worker
// threads and the echo yardstick, prints progress each second, stops sending when the
// stages end, waits for the last messages (the drain), and assembles the Report.
#pragma once

#include "report.h"
#include "runcontext.h"

#include <QObject>
#include <QThread>
#include <QTimer>

#include <memory>
#include <optional>

class QEventLoop;

namespace parley::swarm {

class Worker;
class EchoServer;

struct RunOptions
{
    QUrl server;
    int users = 0;
    Scenario scenario;
    int threads = 1;
    int shardIndex = 0; // in the users' names
    double drainSeconds = 15;
    // How long to wait for the first sign-in after users start connecting before
    // declaring that the swarm cannot run.
    double firstSignInSeconds = 30;
    bool terminal = false; // progress as one rewritten line, else JSON lines
};

class Runner : public QObject
{
    Q_OBJECT
public:
    explicit Runner(RunOptions options, QObject *parent = nullptr);
    ~Runner() override;

    // Blocks in a local event loop until the run is over. Nothing (and `error` set)
    // when the swarm could not run at all (no user ever signed in, no echo port...).
    std::optional<Report> run(QString *error);
    // Ctrl+C / SIGTERM: stop at once and report what was seen (the run fails).
    void interrupt();

private:
    void onSecond();
    void beginDrain();
    void checkDrain();
    void finish(const QString &abortReason);
    Report collect();
    qint64 sum(std::atomic<qint64> Worker::*counter) const;

    RunOptions m_options;
    RunContext m_context;
    QList<QThread *> m_threads;
    QList<Worker *> m_workers;
    QThread m_echoThread;
    EchoServer *m_echo = nullptr;
    QTimer m_second;
    QTimer m_drainPoll;
    qint64 m_drainDeadlineUs = -1;
    QString m_abort;
    bool m_interrupted = false;
    bool m_finished = false;
    QList<TimelinePoint> m_timeline;
    qint64 m_lastSent = 0, m_lastAcked = 0, m_lastDelivered = 0, m_lastErrors = 0;
    double m_cpuAtStart = 0;
    QEventLoop *m_loop = nullptr;
};

// CPU seconds (user + system) this process has used so far.
double processCpuSeconds();

} // namespace parley::swarm
