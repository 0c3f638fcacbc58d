// What `parley server` and `parley swarm` need from the operating system alike.
#pragma once

#include <QString>
#include <QtGlobal>

#include <functional>

QT_BEGIN_NAMESPACE
class QObject;
QT_END_NAMESPACE

namespace parley::process {

// Raises the soft limit on open file descriptors to the hard limit (every connection is
// one) and returns the soft limit now in force; -1 where the platform has no such limit.
qint64 raiseFileLimit();

// Signals as calls on the event loop: the signal handler only writes a byte to a socket
// pair (the self-pipe trick) and the callback runs on `context`'s thread, which must be
// the calling thread. Each returns false, with `error` set, when the socket pair cannot
// be made; elsewhere than on Unix there are no such signals and they do nothing.

// SIGTERM and SIGINT: `onSignal` runs once, for the first of them. SIGPIPE is ignored.
bool handleTermination(QObject *context, std::function<void()> onSignal, QString *error);

// SIGHUP: `onReload` runs for every SIGHUP (several arriving at once may run it once).
// Until this is called a SIGHUP ends the process, as by default.
bool handleReload(QObject *context, std::function<void()> onReload, QString *error);

} // namespace parley::process
