// Shared by the benchmark programs.
#pragma once

#include <QEventLoop>
#include <QObject>
#include <QTimer>

#include <functional>

namespace parley::bench {

// Runs the event loop until `done` or `ms` passed, sleeping while nothing happens (a busy
// loop would take the CPU that the measured processes, or the measured path, need).
inline void spinFor(
    int ms, const std::function<bool()> &done = [] { return false; })
{
    if (done())
        return;
    QEventLoop loop;
    QTimer check;
    QObject::connect(&check, &QTimer::timeout, &loop, [&] {
        if (done())
            loop.quit();
    });
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    check.start(5);
    loop.exec();
}

} // namespace parley::bench
