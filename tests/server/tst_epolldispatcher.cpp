// EpollEventDispatcher: the dispatcher of the server's and the swarm's socket threads on
// Linux. The test's own main thread runs on it (see main() below), so QTest's waits, the
// timers and the sockets here all go through it. Nothing is timed: only order and counts.
#include "epolldispatcher.h"
#include "processcontrol.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QPointer>
#include <QSocketNotifier>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using parley::process::EpollEventDispatcher;

namespace {

// A connected pair of Unix stream sockets, closed on destruction.
struct SocketPair
{
    int fds[2] = {-1, -1};
    SocketPair() { QVERIFY(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0); }
    ~SocketPair()
    {
        for (int fd : fds) {
            if (fd >= 0)
                close(fd);
        }
    }
    void writeByte() const { QCOMPARE(write(fds[1], "x", 1), 1); }
    void drain() const
    {
        char buffer[64];
        while (read(fds[0], buffer, sizeof buffer) > 0) { }
    }
};

class TimerCounter : public QObject
{
public:
    std::vector<int> fired; // timer ids in firing order
    std::function<void(int)> onFire;

protected:
    void timerEvent(QTimerEvent *event) override
    {
        fired.push_back(event->timerId());
        if (onFire)
            onFire(event->timerId());
    }
};

} // namespace

class tst_EpollDispatcher : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void singleShotAndRepeatingTimers();
    void timersFireInDeadlineOrder();
    void zeroTimerRunsEveryPass();
    void timerKilledOrRestartedInItsHandler();
    void timerDoesNotRecurseIntoNestedLoop();
    void timerBookkeeping();
    void unregisterTimersOfAnObject();
    void readAndWriteNotifiers();
    void disabledNotifierStaysQuiet();
    void notifierDeletedByAnEarlierHandler();
    void excludeSocketNotifiers();
    void manySockets();
    void postedEventsAndWakeUpsAcrossThreads();
    void wakeUpsRacingTheDrain();
    void postsFromTheOwnThreadDoNotWaitForAWakeUp();
    void threadQuitsWhileIdle();
    void tcpEchoOverLoopback();
};

void tst_EpollDispatcher::initTestCase()
{
    QVERIFY(qobject_cast<EpollEventDispatcher *>(QCoreApplication::eventDispatcher()));
    QVERIFY(parley::process::raiseFileLimit() != 0);
}

void tst_EpollDispatcher::singleShotAndRepeatingTimers()
{
    int single = 0;
    QTimer::singleShot(5, this, [&] { ++single; });
    QTimer repeating;
    int ticks = 0;
    connect(&repeating, &QTimer::timeout, this, [&] { ++ticks; });
    repeating.start(1);
    QTRY_COMPARE(single, 1);
    QTRY_VERIFY(ticks >= 5);
    repeating.stop();
    const int after = ticks;
    QTest::qWait(20);
    QCOMPARE(ticks, after);
    QCOMPARE(single, 1);
}

void tst_EpollDispatcher::timersFireInDeadlineOrder()
{
    // Started in reverse: whatever the order of registration, the shorter fires first.
    std::vector<int> order;
    std::vector<std::unique_ptr<QTimer>> timers;
    for (int i = 9; i >= 0; --i) {
        auto timer = std::make_unique<QTimer>();
        timer->setSingleShot(true);
        timer->setTimerType(Qt::PreciseTimer);
        connect(timer.get(), &QTimer::timeout, this, [&order, i] { order.push_back(i); });
        timer->start(i * 15);
        timers.push_back(std::move(timer));
    }
    QTRY_COMPARE(order.size(), size_t(10));
    for (int i = 0; i < 10; ++i)
        QCOMPARE(order[size_t(i)], i);
}

void tst_EpollDispatcher::zeroTimerRunsEveryPass()
{
    // A zero timer runs once a pass, interleaved with other work, never starving it.
    QTimer zero;
    int zeros = 0;
    connect(&zero, &QTimer::timeout, this, [&] { ++zeros; });
    zero.start(0);
    int posted = 0;
    for (int i = 0; i < 3; ++i)
        QMetaObject::invokeMethod(
            this, [&] { ++posted; }, Qt::QueuedConnection);
    bool later = false;
    QTimer::singleShot(10, this, [&] { later = true; });
    QTRY_VERIFY(later);
    QCOMPARE(posted, 3);
    QVERIFY(zeros > 3);
    zero.stop();

    // One zero timer started by another's handler waits for the next pass.
    TimerCounter counter;
    int second = 0;
    counter.onFire = [&](int id) {
        if (second == 0 && counter.fired.size() == 1) {
            second = counter.startTimer(0);
            QCOMPARE(counter.fired.back(), id);
        }
    };
    const int first = counter.startTimer(0);
    QCoreApplication::processEvents();
    QCOMPARE(counter.fired.size(), size_t(1));
    QCOMPARE(counter.fired[0], first);
    QCoreApplication::processEvents();
    QVERIFY(std::count(counter.fired.begin(), counter.fired.end(), second) == 1);
    counter.killTimer(first);
    counter.killTimer(second);
}

void tst_EpollDispatcher::timerKilledOrRestartedInItsHandler()
{
    QTimer killed;
    int killedTicks = 0;
    connect(&killed, &QTimer::timeout, this, [&] {
        ++killedTicks;
        killed.stop();
    });
    killed.start(0);

    QTimer restarted;
    int restarts = 0;
    connect(&restarted, &QTimer::timeout, this, [&] {
        if (++restarts < 5)
            restarted.start(1); // killTimer + startTimer: the id may come back
    });
    restarted.setSingleShot(true);
    restarted.start(1);
    QTRY_COMPARE(restarts, 5);
    QTest::qWait(10);
    QCOMPARE(restarts, 5);
    QCOMPARE(killedTicks, 1);

    // A timer whose object is deleted by another timer's handler in the same pass.
    auto *victim = new QTimer;
    int victimTicks = 0;
    connect(victim, &QTimer::timeout, this, [&] { ++victimTicks; });
    QTimer killer;
    connect(&killer, &QTimer::timeout, this, [&] { delete std::exchange(victim, nullptr); });
    killer.setSingleShot(true);
    killer.start(0);
    victim->start(0);
    QTRY_VERIFY(!victim);
    QTest::qWait(5);
    QVERIFY(victimTicks <= 1);
}

void tst_EpollDispatcher::timerDoesNotRecurseIntoNestedLoop()
{
    // A repeating timer whose handler runs a nested loop is not fired again inside it.
    QTimer outer;
    int depth = 0, maxDepth = 0, runs = 0;
    connect(&outer, &QTimer::timeout, this, [&] {
        ++depth;
        maxDepth = std::max(maxDepth, depth);
        if (++runs == 1) {
            QEventLoop nested;
            QTimer::singleShot(30, &nested, &QEventLoop::quit);
            nested.exec();
        }
        --depth;
    });
    outer.start(1);
    QTRY_VERIFY(runs >= 3);
    outer.stop();
    QCOMPARE(maxDepth, 1);
}

void tst_EpollDispatcher::timerBookkeeping()
{
    auto *dispatcher = QCoreApplication::eventDispatcher();
    TimerCounter counter;
    const int id = counter.startTimer(60000, Qt::PreciseTimer);
    const int coarse = counter.startTimer(2400, Qt::VeryCoarseTimer);
    const int remaining = dispatcher->remainingTime(id);
    QVERIFY(remaining > 50000 && remaining <= 60000);
    const auto infos = dispatcher->registeredTimers(&counter);
    QCOMPARE(infos.size(), 2);
    for (const auto &info : infos) {
        if (info.timerId == id) {
            QCOMPARE(info.interval, 60000);
            QCOMPARE(info.timerType, Qt::PreciseTimer);
        } else {
            QCOMPARE(info.timerId, coarse);
            QCOMPARE(info.interval, 2000); // very coarse: whole seconds
        }
    }
    QVERIFY(dispatcher->unregisterTimer(id));
    QVERIFY(!dispatcher->unregisterTimer(id));
    QCOMPARE(dispatcher->remainingTime(id), -1);
    counter.killTimer(coarse);
    QVERIFY(dispatcher->registeredTimers(&counter).isEmpty());
}

void tst_EpollDispatcher::unregisterTimersOfAnObject()
{
    TimerCounter a, b;
    a.startTimer(0);
    a.startTimer(1);
    const int kept = b.startTimer(0);
    QVERIFY(QCoreApplication::eventDispatcher()->unregisterTimers(&a));
    QVERIFY(!QCoreApplication::eventDispatcher()->unregisterTimers(&a));
    QTest::qWait(5);
    QVERIFY(a.fired.empty());
    QVERIFY(!b.fired.empty());
    b.killTimer(kept);
}

void tst_EpollDispatcher::readAndWriteNotifiers()
{
    SocketPair pair;
    QSocketNotifier reader(pair.fds[0], QSocketNotifier::Read);
    QSocketNotifier writer(pair.fds[1], QSocketNotifier::Write);
    int reads = 0, writes = 0;
    connect(&reader, &QSocketNotifier::activated, this, [&] {
        ++reads;
        pair.drain();
    });
    connect(&writer, &QSocketNotifier::activated, this, [&] {
        ++writes;
        writer.setEnabled(false); // level-triggered: stays writable, so switch it off
    });
    QTRY_COMPARE(writes, 1);
    QCOMPARE(reads, 0);
    pair.writeByte();
    QTRY_COMPARE(reads, 1);
    QTest::qWait(5);
    QCOMPARE(reads, 1); // drained: not ready any more
    // Both directions on one descriptor: read and write notifiers of the same socket.
    QSocketNotifier sameFdWriter(pair.fds[0], QSocketNotifier::Write);
    int sameFdWrites = 0;
    connect(&sameFdWriter, &QSocketNotifier::activated, this, [&] {
        ++sameFdWrites;
        sameFdWriter.setEnabled(false);
    });
    pair.writeByte();
    QTRY_COMPARE(sameFdWrites, 1);
    QTRY_COMPARE(reads, 2);
    // The peer hangs up: the read notifier hears of it.
    close(std::exchange(pair.fds[1], -1));
    writer.setEnabled(false);
    QTRY_VERIFY(reads >= 3);
    reader.setEnabled(false);
}

void tst_EpollDispatcher::disabledNotifierStaysQuiet()
{
    SocketPair pair;
    QSocketNotifier reader(pair.fds[0], QSocketNotifier::Read);
    int reads = 0;
    connect(&reader, &QSocketNotifier::activated, this, [&] { ++reads; });
    reader.setEnabled(false);
    pair.writeByte();
    QTest::qWait(10);
    QCOMPARE(reads, 0);
    reader.setEnabled(true);
    QTRY_VERIFY(reads >= 1);
    reader.setEnabled(false);
}

void tst_EpollDispatcher::notifierDeletedByAnEarlierHandler()
{
    // Two sockets ready in the same pass; whichever runs first deletes the other's
    // notifier, which must then not be activated (it would be a use after free).
    SocketPair a, b;
    auto *na = new QSocketNotifier(a.fds[0], QSocketNotifier::Read);
    auto *nb = new QSocketNotifier(b.fds[0], QSocketNotifier::Read);
    QPointer<QSocketNotifier> pa = na, pb = nb;
    int activations = 0;
    connect(na, &QSocketNotifier::activated, this, [&] {
        ++activations;
        delete pb.data();
        a.drain();
    });
    connect(nb, &QSocketNotifier::activated, this, [&] {
        ++activations;
        delete pa.data();
        b.drain();
    });
    a.writeByte();
    b.writeByte();
    QTRY_COMPARE(activations, 1);
    QTest::qWait(10);
    QCOMPARE(activations, 1);
    QVERIFY(bool(pa) != bool(pb));
    delete pa.data();
    delete pb.data();
}

void tst_EpollDispatcher::excludeSocketNotifiers()
{
    SocketPair pair;
    QSocketNotifier reader(pair.fds[0], QSocketNotifier::Read);
    int reads = 0;
    connect(&reader, &QSocketNotifier::activated, this, [&] {
        ++reads;
        pair.drain();
    });
    pair.writeByte();
    bool posted = false;
    QMetaObject::invokeMethod(
        this, [&] { posted = true; }, Qt::QueuedConnection);
    QCoreApplication::processEvents(QEventLoop::ExcludeSocketNotifiers);
    QVERIFY(posted);
    QCOMPARE(reads, 0);
    QTRY_COMPARE(reads, 1);
}

void tst_EpollDispatcher::manySockets()
{
    // More descriptors than one epoll_wait hands back (1024), all ready at once: each
    // notifier is activated, once per byte written.
    constexpr int Count = 3000;
    std::vector<std::unique_ptr<SocketPair>> pairs;
    std::vector<std::unique_ptr<QSocketNotifier>> notifiers;
    std::vector<int> hits(Count, 0);
    for (int i = 0; i < Count; ++i) {
        pairs.push_back(std::make_unique<SocketPair>());
        auto notifier
            = std::make_unique<QSocketNotifier>(pairs.back()->fds[0], QSocketNotifier::Read);
        SocketPair *pair = pairs.back().get();
        connect(notifier.get(), &QSocketNotifier::activated, this, [&hits, pair, i] {
            ++hits[size_t(i)];
            pair->drain();
        });
        notifiers.push_back(std::move(notifier));
    }
    for (const auto &pair : pairs)
        pair->writeByte();
    QTRY_VERIFY(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
    // Every tenth again: only those wake.
    for (int i = 0; i < Count; i += 10)
        pairs[size_t(i)]->writeByte();
    QTRY_COMPARE(std::count(hits.begin(), hits.end(), 2), Count / 10);
    QTest::qWait(10);
    QCOMPARE(std::count(hits.begin(), hits.end(), 1), Count - Count / 10);
    notifiers.clear();
}

void tst_EpollDispatcher::postedEventsAndWakeUpsAcrossThreads()
{
    QThread thread;
    thread.setEventDispatcher(new EpollEventDispatcher);
    auto *target = new QObject; // deleted on its own thread below
    target->moveToThread(&thread);
    thread.start();
    QVERIFY(qobject_cast<EpollEventDispatcher *>(thread.eventDispatcher()));

    // Posts from several threads at once, to a loop that sleeps in epoll_wait between them.
    constexpr int PerPoster = 2000;
    std::atomic<int> received {0};
    std::vector<std::unique_ptr<QThread>> posters;
    for (int p = 0; p < 3; ++p) {
        posters.emplace_back(QThread::create([&] {
            for (int i = 0; i < PerPoster; ++i) {
                QMetaObject::invokeMethod(
                    target, [&] { ++received; }, Qt::QueuedConnection);
                if (i % 100 == 0)
                    QThread::usleep(200); // let it fall asleep again now and then
            }
        }));
        posters.back()->start();
    }
    for (auto &poster : posters)
        QVERIFY(poster->wait());
    QTRY_COMPARE(received.load(), 3 * PerPoster);

    // A timer on that thread, started from it.
    std::atomic<int> ticks {0};
    QMetaObject::invokeMethod(target, [&] {
        auto *timer = new QTimer(target);
        connect(timer, &QTimer::timeout, target, [&] { ++ticks; });
        timer->start(1);
    });
    QTRY_VERIFY(ticks.load() >= 3);
    QMetaObject::invokeMethod(
        target, [target] { delete target; }, Qt::BlockingQueuedConnection);
    thread.quit();
    QVERIFY(thread.wait());
}

void tst_EpollDispatcher::postsFromTheOwnThreadDoNotWaitForAWakeUp()
{
    // A thread that posts to itself writes no eventfd (it is awake); the posts must still
    // run before the loop sleeps. Nothing else would wake this thread: no timers, and the
    // only socket is drained. Each posted call posts the next, from inside
    // sendPostedEvents(), and the first is posted from a socket notifier's handler.
    QThread thread;
    thread.setEventDispatcher(new EpollEventDispatcher);
    auto *target = new QObject;
    target->moveToThread(&thread);
    thread.start();

    SocketPair pair;
    std::atomic<int> chain {0};
    std::function<void()> next = [&] {
        if (++chain < 1000)
            QMetaObject::invokeMethod(target, next, Qt::QueuedConnection);
    };
    QMetaObject::invokeMethod(
        target,
        [&] {
            auto *notifier = new QSocketNotifier(pair.fds[0], QSocketNotifier::Read, target);
            connect(notifier, &QSocketNotifier::activated, target, [&] {
                pair.drain();
                QMetaObject::invokeMethod(target, next, Qt::QueuedConnection);
            });
        },
        Qt::BlockingQueuedConnection);
    pair.writeByte();
    QTRY_COMPARE(chain.load(), 1000);

    QMetaObject::invokeMethod(
        target, [target] { delete target; }, Qt::BlockingQueuedConnection);
    thread.quit();
    QVERIFY(thread.wait());
}

void tst_EpollDispatcher::wakeUpsRacingTheDrain()
{
    // Ping-pong from several threads at once: each post must wake a loop that keeps
    // falling asleep. A wake-up lost while the loop drains its eventfd (a post landing
    // between the drain's read and its reset) left the loop asleep for good; this
    // found that race within a few thousand rounds.
    QThread thread;
    thread.setEventDispatcher(new EpollEventDispatcher);
    auto *target = new QObject;
    target->moveToThread(&thread);
    thread.start();
    constexpr int Posters = 4;
    constexpr int Rounds = 20000;
    std::atomic<int> received {0};
    std::atomic<bool> stalled {false};
    std::vector<std::unique_ptr<QThread>> posters;
    for (int p = 0; p < Posters; ++p) {
        posters.emplace_back(QThread::create([&] {
            for (int i = 0; i < Rounds && !stalled.load(); ++i) {
                std::atomic<bool> done {false};
                QMetaObject::invokeMethod(
                    target,
                    [&] {
                        ++received;
                        done.store(true);
                    },
                    Qt::QueuedConnection);
                QElapsedTimer waited;
                waited.start();
                while (!done.load()) {
                    if (waited.elapsed() > 10000) {
                        stalled.store(true);
                        return; // the event stays queued; `done` must outlive it
                    }
                    QThread::yieldCurrentThread();
                }
            }
        }));
        posters.back()->start();
    }
    for (auto &poster : posters)
        QVERIFY(poster->wait());
    QVERIFY2(!stalled.load(), "a posted event waited 10 s: the loop missed its wake-up");
    QCOMPARE(received.load(), Posters * Rounds);
    QMetaObject::invokeMethod(
        target, [target] { delete target; }, Qt::BlockingQueuedConnection);
    thread.quit();
    QVERIFY(thread.wait());
}

void tst_EpollDispatcher::threadQuitsWhileIdle()
{
    // quit() from outside interrupts a loop blocked with no timers at all.
    QThread thread;
    thread.setEventDispatcher(new EpollEventDispatcher);
    thread.start();
    QTest::qWait(20);
    thread.quit();
    QVERIFY(thread.wait(10000));
}

void tst_EpollDispatcher::tcpEchoOverLoopback()
{
    // Qt's own sockets on this dispatcher: many connections, each echoing a message.
    QTcpServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost));
    std::vector<QTcpSocket *> accepted;
    connect(&server, &QTcpServer::newConnection, this, [&] {
        while (QTcpSocket *socket = server.nextPendingConnection()) {
            accepted.push_back(socket);
            connect(socket, &QTcpSocket::readyRead, socket,
                [socket] { socket->write(socket->readAll()); });
        }
    });
    constexpr int Clients = 300;
    std::vector<std::unique_ptr<QTcpSocket>> clients;
    QByteArray expected;
    std::vector<QByteArray> got(Clients);
    for (int i = 0; i < Clients; ++i) {
        auto client = std::make_unique<QTcpSocket>();
        QTcpSocket *raw = client.get();
        connect(raw, &QTcpSocket::connected, this,
            [raw, i] { raw->write(QByteArray::number(i) + QByteArray(2000, 'x')); });
        connect(raw, &QTcpSocket::readyRead, this,
            [raw, &got, i] { got[size_t(i)] += raw->readAll(); });
        raw->connectToHost(server.serverAddress(), server.serverPort());
        clients.push_back(std::move(client));
    }
    QTRY_VERIFY_WITH_TIMEOUT(
        std::all_of(got.begin(), got.end(), [](const QByteArray &g) { return g.size() >= 2001; }),
        20000);
    for (int i = 0; i < Clients; ++i)
        QCOMPARE(got[size_t(i)], QByteArray::number(i) + QByteArray(2000, 'x'));
    // Peers close: the server side sees every disconnect.
    int disconnected = 0;
    for (QTcpSocket *socket : accepted)
        connect(socket, &QTcpSocket::disconnected, this, [&] { ++disconnected; });
    clients.clear();
    QTRY_COMPARE(disconnected, Clients);
    qDeleteAll(accepted);
}

int main(int argc, char **argv)
{
    QCoreApplication::setEventDispatcher(new EpollEventDispatcher);
    QCoreApplication app(argc, argv);
    tst_EpollDispatcher test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_epolldispatcher.moc"
