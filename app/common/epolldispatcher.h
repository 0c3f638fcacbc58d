// An event dispatcher whose cost per wake-up follows the number of ready sockets, not the
// number of open ones. Qt's own dispatchers on Linux (glib's main loop, or poll() with
// QT_NO_GLIB) hand every registered descriptor to the kernel on each pass: at 10,000
// connections two thirds of the server's CPU went to sock_poll/tcp_poll and glib's scans
// (docs/performance.md). This one keeps an epoll set that changes only when a notifier is
// registered, unregistered or toggled, and waits on it with level-triggered epoll_wait.
//
// Timers live in a deadline-ordered set (one epoll_wait timeout covers all of them), posted
// events and cross-thread wake-ups come through an eventfd. Linux only; elsewhere
// makeEventDispatcher() (eventdispatcher.h) keeps Qt's default.
#pragma once

#include <QAbstractEventDispatcher>

#include <atomic>
#include <map>
#include <memory>
#include <sys/epoll.h>
#include <unordered_map>
#include <vector>

namespace parley::process {

class EpollEventDispatcher final : public QAbstractEventDispatcher
{
    Q_OBJECT

public:
    explicit EpollEventDispatcher(QObject *parent = nullptr);
    ~EpollEventDispatcher() override;

    // False when the kernel refused the epoll set or the eventfd (then do not install it).
    bool isValid() const { return m_epoll >= 0 && m_wakeFd >= 0; }

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;

    void registerSocketNotifier(QSocketNotifier *notifier) override;
    void unregisterSocketNotifier(QSocketNotifier *notifier) override;

    void registerTimer(
        int timerId, qint64 interval, Qt::TimerType timerType, QObject *object) override;
    bool unregisterTimer(int timerId) override;
    bool unregisterTimers(QObject *object) override;
    QList<TimerInfo> registeredTimers(QObject *object) const override;
    int remainingTime(int timerId) override;

    void wakeUp() override;
    void interrupt() override;

private:
    // One descriptor's notifiers (read, write, exception) and whether each is due in the
    // pass being dispatched: a notifier unregistered or replaced mid-pass is not activated.
    struct Socket
    {
        QSocketNotifier *notifiers[3] = {nullptr, nullptr, nullptr};
        bool pending[3] = {false, false, false};
        quint32 events = 0; // what the epoll set holds for it
        bool polled = false; // epoll refuses it (a regular file): always ready, as poll() says
    };
    struct Timer
    {
        int id = 0;
        qint64 intervalMs = 0;
        Qt::TimerType type = Qt::CoarseTimer;
        QObject *object = nullptr;
        qint64 deadlineNs = 0;
        bool removed = false;
        bool active = false; // its timerEvent is running (no recursion from a nested loop)
    };
    using TimerQueue = std::multimap<qint64, int>; // deadline (ns) -> timer id

    void updateSocket(int fd, Socket &socket);
    int waitTimeoutMs(qint64 nowNs) const;
    bool activateSockets(int ready);
    bool activateTimers();
    void schedule(const std::shared_ptr<Timer> &timer, qint64 deadlineNs);
    void unschedule(const Timer &timer);
    void drainWakeUp();

    int m_epoll = -1;
    int m_wakeFd = -1;
    std::atomic<bool> m_wakeUpPending {false};
    // A post from this dispatcher's own thread since the last sendPostedEvents(): the
    // thread is awake, so the eventfd is not written; the next wait just does not block.
    bool m_postedFromOwnThread = false;
    std::atomic<bool> m_interrupted {false};
    std::unordered_map<int, Socket> m_sockets;
    std::vector<int> m_due; // descriptors with a notifier due, in the pass being dispatched
    int m_polledCount = 0; // descriptors epoll refused, reported ready on every pass
    std::unordered_map<int, std::shared_ptr<Timer>> m_timers;
    TimerQueue m_queue;
    std::vector<epoll_event> m_events;
};

} // namespace parley::process
