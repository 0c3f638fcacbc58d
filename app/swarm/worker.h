// One event-loop thread of the swarm: its share of the users (every device a real
// client-core Client), its share of the open-loop schedule, the faults for its users,
// an echo probe, and the metrics it records. Lives on its own QThread; the runner reads
// the counters (atomics) and swaps the histograms (under the lock) from the main thread.
#pragma once

#include "histogram.h"
#include "plan.h"

#include <QHash>
#include <QMap>
#include <QMutex>
#include <QObject>
#include <QRandomGenerator>
#include <QTimer>

#include <atomic>
#include <memory>

namespace parley::swarm {

struct RunContext;
class VirtualDevice;
class EchoProbe;

struct WorkerMetrics
{
    Histogram connect, ack, deliver, receipt, history, search, echo, lag;
    Histogram deliverThisSecond; // swapped out by the runner each second
    QMap<QString, qint64> actions;
    QMap<QString, qint64> errors;
    QMap<QString, QString> errorExamples; // code -> the first reason given for it
};

class Worker : public QObject
{
    Q_OBJECT
public:
    Worker(RunContext *context, int index, const QUrl &echo, QObject *parent = nullptr);
    ~Worker() override;

    // Run on the worker's thread (queued from the runner).
    void start();
    void stop(); // stops sending: the drain begins
    void shutdown(); // deletes every client (closing its link)

    // Counters, read from any thread.
    std::atomic<qint64> sent {0};
    std::atomic<qint64> acked {0};
    std::atomic<qint64> delivered {0};
    std::atomic<qint64> errorCount {0};
    std::atomic<qint64> online {0};
    std::atomic<qint64> signedIn {0};
    std::atomic<qint64> devices {0};

    // Metrics under their lock; the devices record through these helpers.
    template<typename F> void record(F &&apply)
    {
        QMutexLocker lock(&m_metricsLock);
        apply(m_metrics);
    }
    // `example`: what happened, in words (kept for the first error of each code).
    void error(const QString &code, const QString &example = {});
    void action(const QString &name);
    RunContext *context() const { return m_context; }
    void deviceSignedIn(VirtualDevice *device);
    void signInEnded(); // a first sign-in finished (welcomed or refused)

private:
    void tick();
    void startSignIns(qint64 now);
    void perform(double intendedSeconds);
    void applyFault(int faultIndex, bool begin);
    int pickSender();

    RunContext *m_context;
    int m_index;
    QUrl m_echo;
    QList<int> m_users; // indexes into the plan, this thread's share
    QHash<int, QList<VirtualDevice *>> m_devices; // by user
    QList<VirtualDevice *> m_connectQueue; // first devices, by connect time
    qsizetype m_nextConnect = 0;
    // Further devices of users that exist now, with the time they were due.
    QList<std::pair<VirtualDevice *, qint64>> m_logins;
    std::unique_ptr<Schedule> m_schedule;
    double m_nextAction = -1;
    QHash<int, int> m_stopped; // user -> stop-sending faults in force
    QTimer m_pacer;
    QRandomGenerator m_random;
    EchoProbe *m_probe = nullptr;
    QMutex m_metricsLock;
    WorkerMetrics m_metrics;
};

} // namespace parley::swarm
