// The start of a store's own thread, shared by SqliteStore and DynamoStore.
#pragma once

#include <QString>
#include <QThread>

#include <functional>
#include <future>
#include <memory>

namespace parley::server {

using OpenedPromise = std::shared_ptr<std::promise<QString>>;

// Starts `thread` (named `name`) running `serve`, which reports through its promise whether
// the store opened (an empty string) or why not, and waits for that report. On failure
// the thread is joined and reset, and the reason returned.
inline QString startStoreThread(std::unique_ptr<QThread> &thread, const QString &name,
    std::function<void(OpenedPromise opened)> serve)
{
    auto opened = std::make_shared<std::promise<QString>>();
    std::future<QString> result = opened->get_future();
    thread.reset(QThread::create([serve = std::move(serve), opened] { serve(opened); }));
    thread->setObjectName(name);
    thread->start();
    QString problem = result.get();
    if (!problem.isEmpty()) {
        thread->wait();
        thread.reset();
    }
    return problem;
}

} // namespace parley::server
