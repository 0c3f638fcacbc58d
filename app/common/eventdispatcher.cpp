#include "eventdispatcher.h"

#include <QCoreApplication>
#include <QThread>

#ifdef Q_OS_LINUX
#include "epolldispatcher.h"
#endif

using namespace Qt::StringLiterals;

namespace parley::process {

#ifdef Q_OS_LINUX
namespace {

bool epollWanted()
{
    // PARLEY_EVENT_DISPATCHER=qt keeps Qt's own dispatcher: a way out if the epoll one
    // misbehaves somewhere, and the "before" side of an A/B benchmark with one binary.
    return qEnvironmentVariable("PARLEY_EVENT_DISPATCHER") != "qt"_L1;
}

} // namespace
#endif

QAbstractEventDispatcher *makeEventDispatcher()
{
#ifdef Q_OS_LINUX
    if (epollWanted()) {
        auto *dispatcher = new EpollEventDispatcher;
        if (dispatcher->isValid())
            return dispatcher;
        delete dispatcher;
    }
#endif
    return nullptr;
}

void useScalableDispatcherForApplication()
{
    if (QAbstractEventDispatcher *dispatcher = makeEventDispatcher())
        QCoreApplication::setEventDispatcher(dispatcher);
}

void useScalableDispatcher(QThread *thread)
{
    if (QAbstractEventDispatcher *dispatcher = makeEventDispatcher())
        thread->setEventDispatcher(dispatcher);
}

QString eventDispatcherName(QThread *thread)
{
#ifdef Q_OS_LINUX
    // What is installed, not what was asked for: a refused epoll set falls back to Qt's.
    if (qobject_cast<EpollEventDispatcher *>(thread->eventDispatcher()))
        return u"epoll"_s;
#else
    Q_UNUSED(thread)
#endif
    return u"qt"_s;
}

} // namespace parley::process
