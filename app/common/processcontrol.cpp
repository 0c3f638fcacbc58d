#include "processcontrol.h"

#include <QObject>
#include <QSocketNotifier>

#ifdef Q_OS_UNIX
#include <atomic>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace parley::process {

#ifdef Q_OS_UNIX
namespace {

// The write end of the socket pair each watched signal goes to, set before its handler
// is installed. Atomics of int are lock-free, so the handler may read them.
std::atomic<int> g_writeEnd[NSIG];

void writeSignalByte(int signalNumber)
{
    const int savedErrno = errno; // the interrupted code may be about to read errno
    const char byte = 1;
    [[maybe_unused]] const auto written
        = ::write(g_writeEnd[signalNumber].load(std::memory_order_relaxed), &byte, 1);
    errno = savedErrno;
}

bool watchSignals(std::initializer_list<int> signalNumbers, bool once, QObject *context,
    std::function<void()> onSignal, QString *error)
{
    int pair[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
        *error = QStringLiteral("cannot set up signal handling");
        return false;
    }
    // Non-blocking both ways: a burst of signals must never block the handler on a full
    // buffer, and the reader drains whatever is there without waiting for more.
    for (const int fd : pair) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    const int readEnd = pair[0];
    auto *notifier = new QSocketNotifier(readEnd, QSocketNotifier::Read, context);
    QObject::connect(notifier, &QSocketNotifier::activated, context,
        [notifier, readEnd, once, onSignal = std::move(onSignal)] {
            char bytes[64];
            while (::read(readEnd, bytes, sizeof bytes) > 0) { }
            if (once)
                notifier->setEnabled(false);
            onSignal();
        });
    struct sigaction action = {};
    action.sa_handler = writeSignalByte;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (const int signalNumber : signalNumbers) {
        g_writeEnd[signalNumber].store(pair[1]);
        sigaction(signalNumber, &action, nullptr);
    }
    return true;
}

} // namespace

qint64 raiseFileLimit()
{
    rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return -1;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    return qint64(limit.rlim_cur);
}

bool handleTermination(QObject *context, std::function<void()> onSignal, QString *error)
{
    std::signal(SIGPIPE, SIG_IGN);
    return watchSignals({SIGTERM, SIGINT}, true, context, std::move(onSignal), error);
}

bool handleReload(QObject *context, std::function<void()> onReload, QString *error)
{
    return watchSignals({SIGHUP}, false, context, std::move(onReload), error);
}
#else
qint64 raiseFileLimit()
{
    return -1;
}

bool handleTermination(QObject *, std::function<void()>, QString *)
{
    return true;
}

bool handleReload(QObject *, std::function<void()>, QString *)
{
    return true;
}
#endif

} // namespace parley::process
