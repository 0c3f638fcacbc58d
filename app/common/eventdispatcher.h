// Which event dispatcher a thread with many sockets runs: the server's socket threads and
// main thread, and the swarm's device threads. On Linux an epoll dispatcher (its cost per
// wake-up follows the ready sockets, not all of them: epolldispatcher.h); elsewhere, or
// with PARLEY_EVENT_DISPATCHER=qt in the environment, Qt's default.
#pragma once

#include <QString>

QT_BEGIN_NAMESPACE
class QAbstractEventDispatcher;
class QThread;
QT_END_NAMESPACE

namespace parley::process {

// A new dispatcher for one thread, or nullptr to keep Qt's default.
QAbstractEventDispatcher *makeEventDispatcher();
// Before the QCoreApplication is constructed: the main thread's dispatcher.
void useScalableDispatcherForApplication();
// Before thread->start(): that thread's dispatcher.
void useScalableDispatcher(QThread *thread);
// "epoll" or "qt": the dispatcher `thread` runs (it has one once set or started), for logs.
QString eventDispatcherName(QThread *thread);

} // namespace parley::process
