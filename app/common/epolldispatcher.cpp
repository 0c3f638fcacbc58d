#include "epolldispatcher.h"

#include "processlogging.h"

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QTimerEvent>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <ctime>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace parley::process {

namespace {

// Descriptors handled per epoll_wait; more ready ones wait for the next pass (level-triggered).
constexpr int MaxEventsPerPass = 1024;
constexpr qint64 NsPerMs = 1000000;

qint64 nowNs()
{
    timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

constexpr quint32 epollEventsOf(int type)
{
    switch (type) {
    case QSocketNotifier::Read:
        return EPOLLIN;
    case QSocketNotifier::Write:
        return EPOLLOUT;
    default:
        return EPOLLPRI;
    }
}

} // namespace

EpollEventDispatcher::EpollEventDispatcher(QObject *parent)
    : QAbstractEventDispatcher(parent)
    , m_epoll(epoll_create1(EPOLL_CLOEXEC))
    , m_wakeFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
{
    if (m_epoll < 0 || m_wakeFd < 0) {
        qCWarning(lcProcess) << "epoll dispatcher unavailable:" << qt_error_string(errno);
        return;
    }
    epoll_event event {};
    event.events = EPOLLIN;
    event.data.fd = m_wakeFd;
    if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_wakeFd, &event) != 0) {
        qCWarning(lcProcess) << "epoll dispatcher unavailable:" << qt_error_string(errno);
        close(m_wakeFd);
        m_wakeFd = -1;
    }
    m_events.resize(MaxEventsPerPass);
}

EpollEventDispatcher::~EpollEventDispatcher()
{
    if (m_wakeFd >= 0)
        close(m_wakeFd);
    if (m_epoll >= 0)
        close(m_epoll);
}

namespace {
// The dispatcher whose processEvents() this thread runs (each thread has at most one).
thread_local const EpollEventDispatcher *t_running = nullptr;
} // namespace

// ---- the pass ---------------------------------------------------------------------------

bool EpollEventDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags)
{
    t_running = this;
    m_interrupted.store(false);
    Q_EMIT awake();
    // Every post also calls wakeUp(). From another thread that leaves the eventfd readable,
    // so the wait below returns at once; from this thread it sets m_postedFromOwnThread.
    m_postedFromOwnThread = false;
    QCoreApplication::sendPostedEvents();

    const bool mayWait = (flags & QEventLoop::WaitForMoreEvents) && !m_interrupted.load()
        && !m_postedFromOwnThread;
    if (mayWait)
        Q_EMIT aboutToBlock();
    if (m_interrupted.load())
        return false;

    const int timeoutMs = mayWait && m_polledCount == 0 ? waitTimeoutMs(nowNs()) : 0;
    bool handled = false;
    if (flags & QEventLoop::ExcludeSocketNotifiers) {
        // Wait for wake-ups and timers only; sockets stay ready in the epoll set for later.
        pollfd wake {m_wakeFd, POLLIN, 0};
        if (poll(&wake, 1, timeoutMs) > 0) {
            drainWakeUp();
            handled = true;
        }
    } else {
        const int ready = epoll_wait(m_epoll, m_events.data(), int(m_events.size()), timeoutMs);
        if (ready < 0 && errno != EINTR)
            qCWarning(lcProcess) << "epoll_wait failed:" << qt_error_string(errno);
        handled = activateSockets(std::max(ready, 0));
    }
    if (activateTimers())
        handled = true;
    return handled;
}

int EpollEventDispatcher::waitTimeoutMs(qint64 now) const
{
    for (const auto &[deadline, id] : m_queue) {
        const auto it = m_timers.find(id);
        if (it == m_timers.end() || it->second->active)
            continue; // a timer whose handler is running (nested loop) does not count
        if (deadline <= now)
            return 0;
        const qint64 ms = (deadline - now + NsPerMs - 1) / NsPerMs;
        return int(std::min<qint64>(ms, INT_MAX));
    }
    return -1;
}

bool EpollEventDispatcher::activateSockets(int ready)
{
    // First mark everything due, then activate: a handler may unregister (or replace) a
    // notifier of a later descriptor, which clears its mark, or run a nested loop that
    // reuses m_events.
    std::vector<int> due;
    due.swap(m_due);
    due.clear();
    bool handled = false;
    for (int i = 0; i < ready; ++i) {
        const int fd = m_events[size_t(i)].data.fd;
        const quint32 revents = m_events[size_t(i)].events;
        if (fd == m_wakeFd) {
            drainWakeUp();
            handled = true;
            continue;
        }
        const auto it = m_sockets.find(fd);
        if (it == m_sockets.end())
            continue;
        Socket &socket = it->second;
        const bool failed = revents & (EPOLLERR | EPOLLHUP);
        bool any = false;
        if (socket.notifiers[QSocketNotifier::Read] && (revents & (EPOLLIN | EPOLLRDHUP) || failed))
            any = socket.pending[QSocketNotifier::Read] = true;
        if (socket.notifiers[QSocketNotifier::Write] && (revents & EPOLLOUT || failed))
            any = socket.pending[QSocketNotifier::Write] = true;
        if (socket.notifiers[QSocketNotifier::Exception]
            && (revents & EPOLLPRI || (failed && !any)))
            any = socket.pending[QSocketNotifier::Exception] = true;
        if (any)
            due.push_back(fd);
    }
    if (m_polledCount > 0) {
        for (auto &[fd, socket] : m_sockets) {
            if (!socket.polled)
                continue;
            for (int type = 0; type < 3; ++type)
                socket.pending[type] = socket.notifiers[type] != nullptr;
            due.push_back(fd);
        }
    }

    for (const int fd : due) {
        for (int type = 0; type < 3; ++type) {
            // Looked up again each time: a handler may have changed the map.
            const auto it = m_sockets.find(fd);
            if (it == m_sockets.end())
                break;
            if (!it->second.pending[type])
                continue;
            it->second.pending[type] = false;
            QSocketNotifier *notifier = it->second.notifiers[type];
            QEvent event(QEvent::SockAct);
            QCoreApplication::sendEvent(notifier, &event);
            handled = true;
        }
    }
    due.clear();
    if (m_due.empty())
        m_due.swap(due); // keep the capacity for the next pass
    return handled;
}

void EpollEventDispatcher::drainWakeUp()
{
    // Read first, then clear. The other order loses wake-ups for good: a wakeUp() between
    // the reset and the read writes, the read swallows it, and the flag stays set with the
    // eventfd empty, so every later wakeUp() skips its write (tst_epolldispatcher's
    // wakeUpsRacingTheDrain). In this order a wakeUp() that still sees the flag set comes
    // after the read, and its event was posted before the next pass sends posted events.
    eventfd_t value = 0;
    [[maybe_unused]] const int rc = eventfd_read(m_wakeFd, &value);
    m_wakeUpPending.store(false);
}

void EpollEventDispatcher::wakeUp()
{
    if (t_running == this) {
        // Posted by this thread, which is not waiting: no system call, only make sure the
        // next pass does not block before it has sent the event (a server thread posts
        // to itself thousands of times a second: replies, flushes, deferred deletes).
        m_postedFromOwnThread = true;
        return;
    }
    if (m_wakeUpPending.exchange(true))
        return;
    [[maybe_unused]] const int rc = eventfd_write(m_wakeFd, 1);
}

void EpollEventDispatcher::interrupt()
{
    m_interrupted.store(true);
    wakeUp();
}

// ---- socket notifiers ------------------------------------------------------------------

void EpollEventDispatcher::registerSocketNotifier(QSocketNotifier *notifier)
{
    const int fd = int(notifier->socket());
    const int type = notifier->type();
    Socket &socket = m_sockets[fd];
    if (socket.notifiers[type] && socket.notifiers[type] != notifier)
        qCWarning(lcProcess) << "several socket notifiers of one type for descriptor" << fd;
    socket.notifiers[type] = notifier;
    socket.pending[type] = false;
    updateSocket(fd, socket);
}

void EpollEventDispatcher::unregisterSocketNotifier(QSocketNotifier *notifier)
{
    const int fd = int(notifier->socket());
    const int type = notifier->type();
    const auto it = m_sockets.find(fd);
    if (it == m_sockets.end() || it->second.notifiers[type] != notifier)
        return;
    it->second.notifiers[type] = nullptr;
    it->second.pending[type] = false;
    updateSocket(fd, it->second);
}

void EpollEventDispatcher::updateSocket(int fd, Socket &socket)
{
    quint32 wanted = 0;
    for (int type = 0; type < 3; ++type) {
        if (socket.notifiers[type])
            wanted |= epollEventsOf(type);
    }
    if (wanted == 0) {
        // A descriptor already closed left the set by itself: EBADF/ENOENT are expected.
        if (socket.events != 0)
            epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
        if (socket.polled)
            --m_polledCount;
        m_sockets.erase(fd);
        return;
    }
    if (wanted == socket.events || socket.polled)
        return;
    epoll_event event {};
    event.events = wanted;
    event.data.fd = fd;
    int op = socket.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    int rc = epoll_ctl(m_epoll, op, fd, &event);
    if (rc != 0 && (errno == EEXIST || errno == ENOENT)) {
        // The set and our view disagree: a descriptor closed and its number reused.
        op = errno == EEXIST ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        rc = epoll_ctl(m_epoll, op, fd, &event);
    }
    if (rc == 0) {
        socket.events = wanted;
    } else if (errno == EPERM) {
        // Regular files cannot be in an epoll set; poll() calls them always ready.
        socket.polled = true;
        ++m_polledCount;
    } else {
        qCWarning(lcProcess) << "cannot watch descriptor" << fd << qt_error_string(errno);
    }
}

// ---- timers ----------------------------------------------------------------------------

void EpollEventDispatcher::registerTimer(
    int timerId, qint64 interval, Qt::TimerType timerType, QObject *object)
{
    auto timer = std::make_shared<Timer>();
    timer->id = timerId;
    timer->type = timerType;
    timer->object = object;
    // A very coarse timer fires on whole seconds, as Qt's own dispatchers do.
    timer->intervalMs
        = timerType == Qt::VeryCoarseTimer ? (interval + 500) / 1000 * 1000 : interval;
    if (const auto old = m_timers.find(timerId); old != m_timers.end()) {
        old->second->removed = true;
        unschedule(*old->second);
        m_timers.erase(old);
    }
    m_timers.emplace(timerId, timer);
    schedule(timer, nowNs() + timer->intervalMs * NsPerMs);
}

bool EpollEventDispatcher::unregisterTimer(int timerId)
{
    const auto it = m_timers.find(timerId);
    if (it == m_timers.end())
        return false;
    it->second->removed = true;
    unschedule(*it->second);
    m_timers.erase(it);
    return true;
}

bool EpollEventDispatcher::unregisterTimers(QObject *object)
{
    bool any = false;
    for (auto it = m_timers.begin(); it != m_timers.end();) {
        if (it->second->object == object) {
            it->second->removed = true;
            unschedule(*it->second);
            it = m_timers.erase(it);
            any = true;
        } else {
            ++it;
        }
    }
    return any;
}

QList<QAbstractEventDispatcher::TimerInfo> EpollEventDispatcher::registeredTimers(
    QObject *object) const
{
    QList<TimerInfo> timers;
    for (const auto &[id, timer] : m_timers) {
        if (timer->object == object)
            timers.append(TimerInfo(id, int(timer->intervalMs), timer->type));
    }
    return timers;
}

int EpollEventDispatcher::remainingTime(int timerId)
{
    const auto it = m_timers.find(timerId);
    if (it == m_timers.end())
        return -1;
    const qint64 left = it->second->deadlineNs - nowNs();
    return left <= 0 ? 0 : int(std::min<qint64>((left + NsPerMs - 1) / NsPerMs, INT_MAX));
}

void EpollEventDispatcher::schedule(const std::shared_ptr<Timer> &timer, qint64 deadlineNs)
{
    timer->deadlineNs = deadlineNs;
    m_queue.emplace(deadlineNs, timer->id);
}

void EpollEventDispatcher::unschedule(const Timer &timer)
{
    auto [first, last] = m_queue.equal_range(timer.deadlineNs);
    for (auto it = first; it != last; ++it) {
        if (it->second == timer.id) {
            m_queue.erase(it);
            return;
        }
    }
}

bool EpollEventDispatcher::activateTimers()
{
    if (m_queue.empty())
        return false;
    const qint64 now = nowNs();
    // Taken before any fires: a timer fires at most once a pass, and one started by a
    // handler waits for the next pass even with a zero interval.
    std::vector<std::shared_ptr<Timer>> expired;
    for (auto it = m_queue.begin(); it != m_queue.end() && it->first <= now; ++it) {
        if (const auto timer = m_timers.find(it->second); timer != m_timers.end())
            expired.push_back(timer->second);
    }
    bool handled = false;
    for (const std::shared_ptr<Timer> &timer : expired) {
        if (timer->removed || timer->active || timer->deadlineNs > now)
            continue;
        unschedule(*timer);
        const qint64 interval = timer->intervalMs * NsPerMs;
        qint64 next = now + interval;
        if (timer->type == Qt::PreciseTimer && interval > 0) {
            // Keeps its phase; after a stall it skips the missed beats instead of bursting.
            next = timer->deadlineNs + interval;
            if (next <= now)
                next = now + interval;
        }
        schedule(timer, next);
        timer->active = true;
        QTimerEvent event(timer->id);
        QCoreApplication::sendEvent(timer->object, &event);
        timer->active = false;
        handled = true;
    }
    return handled;
}

} // namespace parley::process
