#include "worker.h"

#include "echo.h"
#include "logging.h"
#include "runcontext.h"
#include "virtualdevice.h"

using namespace Qt::StringLiterals;

namespace parley::swarm {

namespace {
// While sign-ins wait for a slot another thread may free, look again this often.
constexpr qint64 SlotPollUs = 10000;
constexpr int SenderTries = 8; // random picks before an action is skipped (nobody eligible)
constexpr int WatchBatch = 3;
// Each sign-up or log-in costs the server an Argon2id hash, and the server hashes for
// attempts the client has already abandoned: past its hashing capacity nobody gets in
// at all. A few sign-ins in flight (all threads together) keep its queue short; the
// connect latency still counts from each user's intended time, so waiting is measured.
constexpr int MaxSignInsInFlight = 16;

// Takes one of the run's sign-in slots if one is free.
bool takeSignInSlot(std::atomic<int> &inFlight)
{
    int now = inFlight.load();
    while (now < MaxSignInsInFlight) {
        if (inFlight.compare_exchange_weak(now, now + 1))
            return true;
    }
    return false;
}
} // namespace

Worker::Worker(RunContext *context, int index, const QUrl &echo, QObject *parent)
    : QObject(parent)
    , m_context(context)
    , m_index(index)
    , m_echo(echo)
    , m_pacer(this)
    , m_random(context->scenario.seed * 7919u + quint32(index))
{
    // One wake-up per due action or sign-in, not a fixed tick: thousands of sockets make
    // every pass through the event loop expensive.
    m_pacer.setTimerType(Qt::PreciseTimer);
    m_pacer.setSingleShot(true);
    connect(&m_pacer, &QTimer::timeout, this, &Worker::tick);
}

Worker::~Worker() = default;

void Worker::error(const QString &code, const QString &example)
{
    errorCount.fetch_add(1, std::memory_order_relaxed);
    record([&](WorkerMetrics &m) {
        ++m.errors[code];
        if (!example.isEmpty() && !m.errorExamples.contains(code))
            m.errorExamples.insert(code, example);
    });
}

void Worker::action(const QString &name)
{
    record([&name](WorkerMetrics &m) { ++m.actions[name]; });
}

void Worker::start()
{
    // Clients are created here, on the worker's thread, so their sockets and timers
    // belong to this event loop.
    const int deviceCount = m_context->scenario.devices;
    for (int user = 0; user < m_context->users.size(); ++user) {
        if (m_context->users.at(user).thread != m_index)
            continue;
        m_users.append(user);
        QList<VirtualDevice *> list;
        for (int d = 0; d < deviceCount; ++d)
            list.append(new VirtualDevice(this, user, d, this));
        m_devices.insert(user, list);
        m_connectQueue.append(list.first());
        devices.fetch_add(deviceCount, std::memory_order_relaxed);
    }
    m_schedule = std::make_unique<Schedule>(&m_context->scenario, m_context->threads, m_index);
    m_nextAction = m_schedule->next();
    for (qsizetype i = 0; i < m_context->scenario.faults.size(); ++i) {
        const Fault &fault = m_context->scenario.faults.at(i);
        const qint64 startMs = qint64(fault.at * 1000) - m_context->nowUs() / 1000;
        QTimer::singleShot(
            std::max<qint64>(0, startMs), this, [this, i] { applyFault(int(i), true); });
        if (fault.kind != Fault::Kind::ReconnectStorm)
            QTimer::singleShot(std::max<qint64>(0, startMs + qint64(fault.seconds * 1000)), this,
                [this, i] { applyFault(int(i), false); });
    }
    if (!m_echo.isEmpty()) {
        m_probe = new EchoProbe(
            m_echo, &m_context->clock,
            [this](qint64 us) { record([us](WorkerMetrics &m) { m.echo.record(us); }); }, this);
        m_probe->start();
    }
    tick();
}

void Worker::stop()
{
    m_nextAction = -1;
    tick();
}

void Worker::shutdown()
{
    m_pacer.stop();
    const auto all = m_devices;
    m_devices.clear();
    m_connectQueue.clear();
    m_logins.clear();
    for (const QList<VirtualDevice *> &list : all)
        qDeleteAll(list);
    delete std::exchange(m_probe, nullptr);
}

void Worker::deviceSignedIn(VirtualDevice *device)
{
    // Client::signedIn comes once per client: at the end of its first sign-in.
    signedIn.fetch_add(1, std::memory_order_relaxed);
    m_context->signingIn.fetch_sub(1);
    const int user = device->user();
    const qint64 now = m_context->nowUs();
    if (device->deviceIndex() == 0 && !m_context->ready[user].exchange(true)) {
        m_context->verify([&](Verifier &v) {
            for (VirtualDevice *d : std::as_const(m_devices[user]))
                v.addDevice(m_context->users.at(user).name, d->id());
        });
        // The user exists now: its other devices log in.
        for (VirtualDevice *d : std::as_const(m_devices[user])) {
            if (d->deviceIndex() != 0)
                m_logins.append({d, now});
        }
    }
    tick(); // start more sign-ins now that a slot is free, and reschedule
}

void Worker::signInEnded()
{
    m_context->signingIn.fetch_sub(1);
    tick();
}

void Worker::startSignIns(qint64 now)
{
    // Slots freed on other threads are picked up at the next tick (at most 10 ms away).
    while (!m_logins.isEmpty() && takeSignInSlot(m_context->signingIn)) {
        const auto [device, intended] = m_logins.takeFirst();
        device->signIn(intended);
    }
    while (m_nextConnect < m_connectQueue.size()) {
        VirtualDevice *device = m_connectQueue.at(m_nextConnect);
        const qint64 intended = qint64(m_context->users.at(device->user()).connectAt * 1e6);
        if (intended > now || !takeSignInSlot(m_context->signingIn))
            break;
        device->signIn(intended);
        ++m_nextConnect;
    }
}

void Worker::tick()
{
    const qint64 now = m_context->nowUs();
    startSignIns(now);
    while (m_nextAction >= 0 && m_context->sending.load(std::memory_order_relaxed)) {
        const qint64 intended = qint64(m_nextAction * 1e6);
        if (intended > now)
            break;
        record([lag = now - intended](WorkerMetrics &m) { m.lag.record(lag); });
        perform(m_nextAction);
        m_nextAction = m_schedule->next();
    }
    // Sleep until the next action or sign-in is due.
    qint64 next = -1;
    auto consider = [&next](qint64 at) {
        if (next < 0 || at < next)
            next = at;
    };
    if (m_nextAction >= 0 && m_context->sending.load(std::memory_order_relaxed))
        consider(qint64(m_nextAction * 1e6));
    if (!m_logins.isEmpty())
        consider(now + SlotPollUs);
    if (m_nextConnect < m_connectQueue.size()) {
        const VirtualDevice *device = m_connectQueue.at(m_nextConnect);
        const qint64 due = qint64(m_context->users.at(device->user()).connectAt * 1e6);
        consider(std::max(due, now + (due <= now ? SlotPollUs : 0)));
    }
    if (next < 0)
        m_pacer.stop();
    else
        m_pacer.start(int(std::clamp<qint64>((next - now + 999) / 1000, 0, 60000)));
}

int Worker::pickSender()
{
    if (m_users.isEmpty())
        return -1;
    for (int attempt = 0; attempt < SenderTries; ++attempt) {
        const int user = m_users.at(m_random.bounded(int(m_users.size())));
        if (m_context->isReady(user) && !m_stopped.value(user))
            return user;
    }
    return -1;
}

void Worker::perform(double intendedSeconds)
{
    const qint64 intended = qint64(intendedSeconds * 1e6);
    const int user = pickSender();
    if (user < 0) {
        action(u"skipped"_s);
        return;
    }
    const QList<int> &peers = m_context->users.at(user).peers;
    QList<int> readyPeers;
    for (const int p : peers) {
        if (m_context->isReady(p))
            readyPeers.append(p);
    }
    VirtualDevice *device = m_devices.value(user).first();
    const Mix &mix = m_context->scenario.mix;
    double draw = m_random.generateDouble() * mix.total();
    const int peer
        = readyPeers.isEmpty() ? -1 : readyPeers.at(m_random.bounded(int(readyPeers.size())));
    if ((draw -= mix.send) < 0) {
        if (peer < 0)
            return action(u"skipped"_s);
        device->send(peer, intended);
    } else if ((draw -= mix.typing) < 0) {
        if (peer < 0)
            return action(u"skipped"_s);
        device->typing(peer);
        action(u"typing"_s);
    } else if ((draw -= mix.history) < 0) {
        if (peer < 0)
            return action(u"skipped"_s);
        device->history(peer, intended);
        action(u"history"_s);
    } else if ((draw -= mix.search) < 0) {
        device->search(intended);
        action(u"search"_s);
    } else if ((draw -= mix.burst) < 0) {
        if (peer < 0)
            return action(u"skipped"_s);
        // All at once: over the server's send burst, most are refused and sent again, and
        // the verifier checks they still get seqs in the order they were written.
        for (int i = 0; i < mix.burstSize; ++i)
            device->send(peer, intended);
        action(u"burst"_s);
    } else {
        QStringList names;
        for (int i = 0; i < WatchBatch; ++i)
            names.append(m_context->users.at(m_random.bounded(int(m_context->users.size()))).name);
        device->watch(names);
        action(u"presence"_s);
    }
}

void Worker::applyFault(int faultIndex, bool begin)
{
    const Fault &fault = m_context->scenario.faults.at(faultIndex);
    int hit = 0;
    for (const int user : std::as_const(m_users)) {
        if (!faultHits(m_context->scenario, faultIndex, user))
            continue;
        ++hit;
        switch (fault.kind) {
        case Fault::Kind::Disconnect:
            for (VirtualDevice *d : std::as_const(m_devices[user])) {
                if (begin)
                    d->disconnect();
                else
                    d->reconnect();
            }
            break;
        case Fault::Kind::StopSending:
            m_stopped[user] += begin ? 1 : -1;
            break;
        case Fault::Kind::ReconnectStorm:
            for (VirtualDevice *d : std::as_const(m_devices[user]))
                d->dropLink();
            break;
        }
    }
    qCInfo(lcSwarm).noquote() << u"thread %1: %2 %3 for %4 users"_s.arg(m_index)
                                     .arg(begin ? u"begin"_s : u"end"_s, faultKindName(fault.kind))
                                     .arg(hit);
}

} // namespace parley::swarm
