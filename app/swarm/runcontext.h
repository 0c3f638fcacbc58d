// What every worker thread of a run shares: the plan, the clock, which users are
// signed in, and the verifier (behind a lock). Set up before the threads start;
// afterwards only the atomics and the verifier change.
#pragma once

#include "plan.h"
#include "scenario.h"
#include "verifier.h"

#include <QElapsedTimer>
#include <QMutex>
#include <QUrl>

#include <atomic>
#include <memory>

namespace parley::swarm {

struct RunContext
{
    Scenario scenario;
    QUrl server;
    QList<UserPlan> users;
    QString password; // of every virtual user of this run; never logged
    int threads = 1;
    QElapsedTimer clock; // started when the run starts
    std::unique_ptr<std::atomic<bool>[]> ready; // per user: its first device signed in
    std::atomic<bool> sending {true}; // false once the stages are over (drain)
    std::atomic<int> signingIn {0}; // first sign-ins in flight, all threads together

    qint64 nowUs() const { return clock.nsecsElapsed() / 1000; }
    bool isReady(int user) const { return ready[user].load(std::memory_order_relaxed); }

    template<typename F> void verify(F &&apply)
    {
        QMutexLocker lock(&m_verifierLock);
        apply(m_verifier);
    }

private:
    QMutex m_verifierLock;
    Verifier m_verifier;
};

} // namespace parley::swarm
