#include "runner.h"

#include "echo.h"
#include "eventdispatcher.h"
#include "logging.h"
#include "worker.h"

#include <QEventLoop>
#include <QJsonDocument>
#include <QRandomGenerator>

#include <cstdio>
#include <sys/resource.h>

using namespace Qt::StringLiterals;

namespace parley::swarm {

namespace {

constexpr int DrainPollMs = 200;

QString randomWord(int length)
{
    static const char Alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    QString word;
    for (int i = 0; i < length; ++i)
        word += QLatin1Char(Alphabet[QRandomGenerator::system()->bounded(36)]);
    return word;
}

} // namespace

double processCpuSeconds()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval &t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

Runner::Runner(RunOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
{
    m_context.scenario = m_options.scenario;
    m_context.server = m_options.server;
    m_context.threads = std::max(1, m_options.threads);
    // Unique names per run and shard: "s" + 5 random characters + shard + "-" + index.
    const QString prefix = u"s"_s + randomWord(5) + QString::number(m_options.shardIndex) + u'-';
    m_context.users = planUsers(m_context.scenario, m_options.users, m_context.threads, prefix);
    m_context.password = randomWord(24);
    m_context.ready = std::make_unique<std::atomic<bool>[]>(size_t(m_options.users));
    m_second.setInterval(1000);
    connect(&m_second, &QTimer::timeout, this, &Runner::onSecond);
    m_drainPoll.setInterval(DrainPollMs);
    connect(&m_drainPoll, &QTimer::timeout, this, &Runner::checkDrain);
}

Runner::~Runner()
{
    for (QThread *thread : std::as_const(m_threads)) {
        thread->quit();
        thread->wait();
    }
    qDeleteAll(m_workers); // their threads are done: deleting from here is safe
    qDeleteAll(m_threads);
    m_echoThread.quit();
    m_echoThread.wait();
    delete m_echo;
}

qint64 Runner::sum(std::atomic<qint64> Worker::*counter) const
{
    qint64 total = 0;
    for (const Worker *w : m_workers)
        total += (w->*counter).load(std::memory_order_relaxed);
    return total;
}

std::optional<Report> Runner::run(QString *error)
{
    m_echo = new EchoServer;
    m_echo->moveToThread(&m_echoThread);
    m_echoThread.setObjectName(u"swarm-echo"_s);
    m_echoThread.start();
    bool listening = false;
    QMetaObject::invokeMethod(
        m_echo, [&] { listening = m_echo->listen(); }, Qt::BlockingQueuedConnection);
    if (!listening) {
        *error = u"cannot open the echo yardstick on 127.0.0.1"_s;
        return std::nullopt;
    }
    m_cpuAtStart = processCpuSeconds();
    m_context.clock.start();
    for (int i = 0; i < m_context.threads; ++i) {
        auto *thread = new QThread;
        thread->setObjectName(u"swarm-%1"_s.arg(i));
        auto *worker = new Worker(&m_context, i, m_echo->url());
        worker->moveToThread(thread);
        // Thousands of sockets a thread: epoll on Linux instead of Qt's poll-everything.
        process::useScalableDispatcher(thread);
        m_threads.append(thread);
        m_workers.append(worker);
        thread->start();
        QMetaObject::invokeMethod(worker, &Worker::start, Qt::QueuedConnection);
    }
    qCInfo(lcSwarm) << "started" << m_options.users << "users on" << m_context.threads
                    << "threads against" << m_options.server.toString();
    m_second.start();
    const double stages = m_context.scenario.duration();
    QTimer::singleShot(qint64(stages * 1000), this, &Runner::beginDrain);
    const double firstSignIn = m_context.scenario.connectSeconds() + m_options.firstSignInSeconds;
    QTimer::singleShot(qint64(firstSignIn * 1000), this, [this] {
        if (sum(&Worker::signedIn) == 0)
            finish(u"no user could sign in to %1 within %2 s"_s.arg(m_options.server.toString())
                       .arg(m_options.firstSignInSeconds));
    });
    QEventLoop loop;
    m_loop = &loop;
    if (!m_finished)
        loop.exec();
    m_loop = nullptr;
    if (m_options.terminal)
        std::fputs("\n", stdout);
    // Read both before the shutdown: sign-ins still arriving then would count only in one.
    const qint64 onlineAtEnd = sum(&Worker::online);
    const qint64 signedInAtEnd = sum(&Worker::signedIn);
    for (Worker *worker : std::as_const(m_workers))
        QMetaObject::invokeMethod(worker, &Worker::shutdown, Qt::BlockingQueuedConnection);
    if (!m_abort.isEmpty()) {
        *error = m_abort;
        return std::nullopt;
    }
    Report report = collect();
    report.onlineAtEnd = onlineAtEnd;
    report.signedIn = signedInAtEnd;
    if (m_interrupted)
        report.failures.append(u"interrupted after %1 s"_s.arg(report.elapsedSeconds, 0, 'f', 1));
    if (report.signedIn == 0 && report.devices > 0 && !report.errorExamples.isEmpty()) {
        // Nobody ever got in: name the cause the devices met most often.
        QString top;
        for (auto it = report.errorExamples.cbegin(); it != report.errorExamples.cend(); ++it) {
            if (top.isEmpty()
                || report.verdict.errors.value(it.key()) > report.verdict.errors.value(top))
                top = it.key();
        }
        report.failures.append(u"no device could sign in: %1 (%2, %3 times)"_s
                                   .arg(report.errorExamples.value(top), top)
                                   .arg(report.verdict.errors.value(top)));
    } else if (report.onlineAtEnd == 0 && report.devices > 0)
        report.failures.append(
            u"the server went away and stayed away: none of the %1 devices "
            u"was connected at the end of the run (%2 messages never "
            u"acknowledged, %3 acknowledged but not delivered)"_s.arg(report.devices)
                .arg(report.verdict.unacked)
                .arg(report.verdict.lost));
    return report;
}

void Runner::interrupt()
{
    m_interrupted = true;
    finish({});
}

void Runner::beginDrain()
{
    m_context.sending.store(false);
    for (Worker *worker : std::as_const(m_workers))
        QMetaObject::invokeMethod(worker, &Worker::stop, Qt::QueuedConnection);
    m_drainDeadlineUs = m_context.nowUs() + qint64(m_options.drainSeconds * 1e6);
    qCInfo(lcSwarm) << "stages over; waiting up to" << m_options.drainSeconds
                    << "s for the last acks and deliveries";
    m_drainPoll.start();
    checkDrain();
}

void Runner::checkDrain()
{
    bool settled = false;
    m_context.verify([&settled](Verifier &v) { settled = v.settled(); });
    if (settled || m_context.nowUs() >= m_drainDeadlineUs)
        finish({});
}

void Runner::finish(const QString &abortReason)
{
    if (m_finished)
        return;
    m_finished = true;
    m_abort = abortReason;
    m_second.stop();
    m_drainPoll.stop();
    onSecond(); // the last partial second
    if (m_loop)
        m_loop->quit();
}

void Runner::onSecond()
{
    const qint64 sent = sum(&Worker::sent), acked = sum(&Worker::acked);
    const qint64 delivered = sum(&Worker::delivered), errors = sum(&Worker::errorCount);
    TimelinePoint point;
    point.second = int(m_timeline.size());
    point.online = sum(&Worker::online);
    point.sent = sent - std::exchange(m_lastSent, sent);
    point.acked = acked - std::exchange(m_lastAcked, acked);
    point.delivered = delivered - std::exchange(m_lastDelivered, delivered);
    point.errors = errors - std::exchange(m_lastErrors, errors);
    Histogram soFar;
    for (Worker *w : std::as_const(m_workers)) {
        w->record([&](WorkerMetrics &m) {
            point.deliver.merge(m.deliverThisSecond);
            m.deliverThisSecond.clear();
            soFar.merge(m.deliver);
        });
    }
    m_timeline.append(point);
    const qint64 signedIn = sum(&Worker::signedIn), devices = sum(&Worker::devices);
    const double p99 = double(soFar.percentile(99)) / 1000.0;
    if (m_options.terminal) {
        const QString line = u"\r[%1s] signed in %2/%3  online %4  sent/s %5  delivered/s %6  "
                             u"deliver p99 %7 ms  errors %8 "_s.arg(point.second, 4)
                                 .arg(signedIn)
                                 .arg(devices)
                                 .arg(point.online)
                                 .arg(point.sent)
                                 .arg(point.delivered)
                                 .arg(p99, 0, 'f', 1)
                                 .arg(errors);
        std::fputs(line.toLocal8Bit().constData(), stdout);
    } else {
        const QJsonObject line {{u"t"_s, point.second}, {u"signed_in"_s, signedIn},
            {u"devices"_s, devices}, {u"online"_s, point.online}, {u"sent_per_s"_s, point.sent},
            {u"delivered_per_s"_s, point.delivered}, {u"deliver_p99_ms"_s, p99},
            {u"errors"_s, errors}};
        std::fputs(
            QJsonDocument(line).toJson(QJsonDocument::Compact).append('\n').constData(), stdout);
    }
    std::fflush(stdout);
}

Report Runner::collect()
{
    Report r;
    r.server = m_options.server.toString();
    r.scenario = m_context.scenario.name;
    r.users = m_options.users;
    r.devices = sum(&Worker::devices);
    r.durationSeconds = m_context.scenario.duration();
    r.elapsedSeconds = double(m_context.nowUs()) / 1e6;
    r.cpuSeconds = processCpuSeconds() - m_cpuAtStart;
    m_context.verify([&r](Verifier &v) { r.verdict = v.verdict(); });
    for (Worker *w : std::as_const(m_workers)) {
        w->record([&r](WorkerMetrics &m) {
            r.connect.merge(m.connect);
            r.ack.merge(m.ack);
            r.deliver.merge(m.deliver);
            r.receipt.merge(m.receipt);
            r.history.merge(m.history);
            r.search.merge(m.search);
            r.echo.merge(m.echo);
            r.lag.merge(m.lag);
            for (auto it = m.actions.cbegin(); it != m.actions.cend(); ++it)
                r.actions[it.key()] += it.value();
            for (auto it = m.errors.cbegin(); it != m.errors.cend(); ++it)
                r.verdict.errors[it.key()] += it.value();
            for (auto it = m.errorExamples.cbegin(); it != m.errorExamples.cend(); ++it) {
                if (!r.errorExamples.contains(it.key()))
                    r.errorExamples.insert(it.key(), it.value());
            }
        });
    }
    r.timeline = m_timeline;
    return r;
}

} // namespace parley::swarm
