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

// SIGTERM and SIGINT as a call on the event loop: the handler only writes a byte to a
// socket pair (the self-pipe trick) and `onSignal` runs once, on `context`'s thread,
// which must be the calling thread. SIGPIPE is ignored. Once per process. False, with
// `error` set, when the socket pair cannot be made; elsewhere than on Unix, nothing to do.
bool handleTermination(QObject *context, std::function<void()> onSignal, QString *error);

} // namespace parley::process
