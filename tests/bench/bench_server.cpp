// bench_server: drives a real `parley server` over loopback and prints
//   1. acked durable sends per second (closed loop, a window of sends in flight),
//   2. ack latency p50/p99 at a fixed offered rate (open loop: latency counts
//      from each message's intended send time),
//   3. resident memory per idle authenticated connection.
// It starts its own server (fresh data dir, raised rate limits) unless --url is given.
//
//   bench_server [--pairs N] [--seconds S] [--rate R] [--idle C] [--url ws://...]
#include "codec.h"
#include "eventdispatcher.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <sys/resource.h>
#include <vector>

using namespace Qt::StringLiterals;

namespace {

qint64 nowNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Runs the event loop until done() or ms have passed. It sleeps while nothing happens (a
// 2 ms timer wakes it to look at done() and the clock): processEvents() with a maximum
// time returns at once when no event is pending, and calling it in a loop kept a core
// busy, which the server and the store it measures then lacked.
void spinUntil(const std::function<bool()> &done, int ms)
{
    QElapsedTimer t;
    t.start();
    QTimer wake;
    wake.start(2);
    while (!done() && t.elapsed() < ms)
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
}

qint64 residentKiB(qint64 pid)
{
    QFile f(u"/proc/%1/status"_s.arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith("VmRSS:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, size_t(p / 100.0 * double(v.size())));
    return v[i];
}

struct Conn
{
    std::unique_ptr<QWebSocket> ws;
    QString user;
    QString token;
    bool ready = false;
    std::function<void(const QJsonObject &)> onFrame;
};

std::unique_ptr<Conn> connectUser(
    const QUrl &url, const QString &user, bool registerUser, const QString &token = {})
{
    auto c = std::make_unique<Conn>();
    c->user = user;
    c->ws = std::make_unique<QWebSocket>();
    Conn *raw = c.get();
    QObject::connect(
        c->ws.get(), &QWebSocket::textMessageReceived, c->ws.get(), [raw](const QString &text) {
            const QJsonObject f = QJsonDocument::fromJson(text.toUtf8()).object();
            if (f.value(u"type"_s) == u"welcome"_s) {
                raw->token = f.value(u"token"_s).toString();
                raw->ready = true;
            } else if (f.value(u"type"_s) == u"error"_s && !raw->ready) {
                std::fprintf(
                    stderr, "sign-in failed: %s\n", qPrintable(f.value(u"message"_s).toString()));
            }
            if (raw->onFrame)
                raw->onFrame(f);
        });
    QObject::connect(c->ws.get(), &QWebSocket::connected, c->ws.get(), [raw, registerUser, token] {
        QJsonObject f;
        if (!token.isEmpty())
            f = {{u"type"_s, u"resume"_s}, {u"token"_s, token}};
        else
            f = {{u"type"_s, registerUser ? u"register"_s : u"login"_s}, {u"user"_s, raw->user},
                {u"password"_s, u"benchmark-password"_s}};
        f.insert(u"rid"_s, u"auth"_s);
        raw->ws->sendTextMessage(
            QString::fromUtf8(QJsonDocument(f).toJson(QJsonDocument::Compact)));
    });
    c->ws->open(url);
    return c;
}

} // namespace

int main(int argc, char **argv)
{
    // The load generator's sockets on the epoll dispatcher (Qt's polls every socket on
    // every wake-up: two thirds of its CPU at 100 connections), so it takes less of the
    // cores it shares with the server and the store.
    parley::process::useScalableDispatcherForApplication();
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(u"Parley server benchmark"_s);
    parser.addHelpOption();
    parser.addOption({u"pairs"_s, u"Sender/receiver pairs (default 50)."_s, u"N"_s, u"50"_s});
    parser.addOption({u"seconds"_s, u"Seconds per measurement (default 10)."_s, u"S"_s, u"10"_s});
    parser.addOption({u"window"_s, u"Sends in flight per sender, throughput run (default 64)."_s,
        u"W"_s, u"64"_s});
    parser.addOption({u"rate"_s, u"Offered rate for the latency run, msgs/s (default 5000)."_s,
        u"R"_s, u"5000"_s});
    parser.addOption({u"idle"_s, u"Idle connections for the memory run (default 10000; 0 skips)."_s,
        u"C"_s, u"10000"_s});
    parser.addOption({u"url"_s, u"Use a running server instead of starting one."_s, u"URL"_s});
    parser.addOption({u"threads"_s, u"--threads for the server it starts."_s, u"T"_s, u"0"_s});
    parser.addOption({u"phases"_s,
        u"Measurements to run, comma-separated: throughput,latency,memory (default all)."_s,
        u"LIST"_s, u"throughput,latency,memory"_s});
    parser.addOption(
        {u"server-pid"_s, u"With --url: the server's pid, to read its memory."_s, u"PID"_s});
    parser.process(app);

    // 10k sockets need more than the usual 1024 descriptors.
    rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }

    const int pairs = parser.value(u"pairs"_s).toInt();
    const int seconds = parser.value(u"seconds"_s).toInt();
    const int window = parser.value(u"window"_s).toInt();
    const double rate = parser.value(u"rate"_s).toDouble();
    const int idle = parser.value(u"idle"_s).toInt();
    const QStringList phases = parser.value(u"phases"_s).split(u',');

    QTemporaryDir dataDir;
    QProcess server;
    QUrl url(parser.value(u"url"_s));
    if (url.isEmpty()) {
        QStringList args {u"server"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s,
            dataDir.path(), u"--send-burst"_s, u"100000"_s, u"--send-rate"_s, u"100000"_s,
            u"--frame-burst"_s, u"100000"_s, u"--frame-rate"_s, u"100000"_s};
        if (parser.value(u"threads"_s).toInt() > 0)
            args << u"--threads"_s << parser.value(u"threads"_s);
        server.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        server.start(QStringLiteral(PARLEY_BINARY), args);
        QByteArray out;
        static const QRegularExpression re(u"listening on ws://127.0.0.1:(\\d+)/ws"_s);
        spinUntil(
            [&] {
                server.waitForReadyRead(50);
                out += server.readAllStandardOutput();
                return re.match(QString::fromUtf8(out)).hasMatch();
            },
            30000);
        const auto m = re.match(QString::fromUtf8(out));
        if (!m.hasMatch()) {
            std::fprintf(stderr, "server did not start\n");
            return 1;
        }
        url = QUrl(u"ws://127.0.0.1:%1/ws"_s.arg(m.captured(1)));
    }
    std::printf("server: %s (%s)\n", qPrintable(url.toString()),
        server.state() == QProcess::Running ? "started by the benchmark" : "external");

    // Users: sender i talks to receiver i.
    const QString run = QString::number(QDateTime::currentMSecsSinceEpoch() % 100000);
    std::vector<std::unique_ptr<Conn>> senders, receivers;
    for (int i = 0; i < pairs; ++i) {
        senders.push_back(connectUser(url, u"s%1_%2"_s.arg(run).arg(i), true));
        receivers.push_back(connectUser(url, u"r%1_%2"_s.arg(run).arg(i), true));
    }
    spinUntil(
        [&] {
            return std::all_of(senders.begin(), senders.end(), [](auto &c) {
                return c->ready;
            }) && std::all_of(receivers.begin(), receivers.end(), [](auto &c) { return c->ready; });
        },
        120000);
    std::printf("signed in %d pairs\n", pairs);

    qint64 delivered = 0;
    for (auto &r : receivers)
        r->onFrame = [&delivered](const QJsonObject &f) {
            if (f.value(u"type"_s) == u"msg"_s)
                ++delivered;
        };

    // ---- 1. throughput, closed loop -------------------------------------------------
    if (phases.contains(u"throughput"_s)) {
        qint64 acked = 0;
        bool running = true;
        std::vector<int> inFlight(senders.size(), 0);
        std::vector<std::function<void()>> pump(senders.size());
        for (size_t i = 0; i < senders.size(); ++i) {
            Conn *c = senders[i].get();
            const QString to = receivers[i]->user;
            pump[i] = [c, to, i, window, &inFlight, &running] {
                while (running && inFlight[i] < window) {
                    ++inFlight[i];
                    const QJsonObject f {{u"type"_s, u"send"_s}, {u"to"_s, to},
                        {u"cid"_s, parley::protocol::newCid()},
                        {u"body"_s, u"benchmark message body of a typical length, 60 chars."_s}};
                    c->ws->sendTextMessage(
                        QString::fromUtf8(QJsonDocument(f).toJson(QJsonDocument::Compact)));
                }
            };
            c->onFrame = [i, &acked, &inFlight, &pump](const QJsonObject &f) {
                if (f.value(u"type"_s) == u"ack"_s) {
                    ++acked;
                    --inFlight[i];
                    pump[i]();
                } else if (f.value(u"type"_s) == u"error"_s) {
                    --inFlight[i];
                    std::fprintf(
                        stderr, "send error: %s\n", qPrintable(f.value(u"message"_s).toString()));
                }
            };
        }
        const qint64 delivered0 = delivered;
        QElapsedTimer t;
        t.start();
        for (auto &p : pump)
            p();
        spinUntil([] { return false; }, seconds * 1000);
        running = false;
        const double elapsed = double(t.nsecsElapsed()) / 1e9;
        const qint64 ackedAtEnd = acked;
        spinUntil(
            [&] {
                return std::all_of(inFlight.begin(), inFlight.end(), [](int n) { return n == 0; });
            },
            30000);
        std::printf("\n[throughput] %d senders x window %d for %.1f s\n", pairs, window, elapsed);
        std::printf("  acked sends/s:      %.0f\n", double(ackedAtEnd) / elapsed);
        std::printf("  delivered msgs/s:   %.0f\n", double(delivered - delivered0) / elapsed);
        for (auto &s : senders)
            s->onFrame = nullptr;
    }

    // ---- 2. latency at a fixed offered rate, open loop -------------------------------
    if (phases.contains(u"latency"_s)) {
        std::vector<double> latencies;
        latencies.reserve(size_t(rate * seconds) + 16);
        QHash<QString, qint64> intended; // cid -> intended send time
        for (auto &s : senders)
            s->onFrame = [&](const QJsonObject &f) {
                if (f.value(u"type"_s) == u"ack"_s) {
                    const auto it = intended.constFind(f.value(u"cid"_s).toString());
                    if (it != intended.constEnd())
                        latencies.push_back(double(nowNs() - *it) / 1e6);
                }
            };
        const qint64 total = qint64(rate * seconds);
        const double intervalNs = 1e9 / rate;
        const qint64 start = nowNs();
        qint64 sent = 0;
        QTimer tick;
        tick.setTimerType(Qt::PreciseTimer);
        QObject::connect(&tick, &QTimer::timeout, &tick, [&] {
            const qint64 now = nowNs();
            while (sent < total && start + qint64(double(sent) * intervalNs) <= now) {
                const qint64 due = start + qint64(double(sent) * intervalNs);
                const size_t i = size_t(sent % qint64(senders.size()));
                const QString cid = parley::protocol::newCid();
                intended.insert(cid, due);
                const QJsonObject f {{u"type"_s, u"send"_s}, {u"to"_s, receivers[i]->user},
                    {u"cid"_s, cid},
                    {u"body"_s, u"benchmark message body of a typical length, 60 chars."_s}};
                senders[i]->ws->sendTextMessage(
                    QString::fromUtf8(QJsonDocument(f).toJson(QJsonDocument::Compact)));
                ++sent;
            }
        });
        tick.start(1);
        spinUntil([&] { return qint64(latencies.size()) >= total; }, (seconds + 30) * 1000);
        tick.stop();
        std::printf("\n[latency] offered %.0f msgs/s for %d s, %zu acks\n", rate, seconds,
            latencies.size());
        std::printf("  ack p50:  %.2f ms\n", percentile(latencies, 50));
        std::printf("  ack p90:  %.2f ms\n", percentile(latencies, 90));
        std::printf("  ack p99:  %.2f ms\n", percentile(latencies, 99));
        std::printf("  ack max:  %.2f ms\n", percentile(latencies, 100));
        for (auto &s : senders)
            s->onFrame = nullptr;
    }

    // ---- 3. memory per idle connection ----------------------------------------------
    const qint64 serverPid = server.state() == QProcess::Running
        ? server.processId()
        : parser.value(u"server-pid"_s).toLongLong();
    if (phases.contains(u"memory"_s) && idle > 0 && serverPid > 0) {
        for (auto &r : receivers)
            r->onFrame = nullptr;
        spinUntil([] { return false; }, 2000);
        const qint64 before = residentKiB(serverPid);
        const QString token = senders[0]->token;
        std::vector<std::unique_ptr<Conn>> idles;
        idles.reserve(size_t(idle));
        int batch = 0;
        for (int i = 0; i < idle; ++i) {
            idles.push_back(connectUser(url, senders[0]->user, false, token));
            if (++batch == 200) { // don't overrun the listen backlog
                batch = 0;
                spinUntil(
                    [&] {
                        return std::all_of(
                            idles.end() - 200, idles.end(), [](auto &c) { return c->ready; });
                    },
                    30000);
            }
        }
        spinUntil(
            [&] {
                return std::all_of(idles.begin(), idles.end(), [](auto &c) { return c->ready; });
            },
            120000);
        const qint64 ready
            = std::count_if(idles.begin(), idles.end(), [](auto &c) { return c->ready; });
        spinUntil([] { return false; }, 3000);
        const qint64 after = residentKiB(serverPid);
        std::printf("\n[memory] %lld idle authenticated connections\n", ready);
        std::printf("  server RSS before: %lld KiB, after: %lld KiB\n", before, after);
        std::printf("  per idle connection: %.1f KiB\n",
            ready ? double(after - before) / double(ready) : 0.0);
        idles.clear();
    }

    senders.clear();
    receivers.clear();
    if (server.state() == QProcess::Running) {
        server.terminate();
        server.waitForFinished(30000);
    }
    return 0;
}
