#pragma once

#include <QStringList>

namespace parley::swarm {

// `parley swarm ...` and `parley swarm merge ...`: returns the process exit code, 0 when
// every threshold held, 1 when one failed (named on stdout), 2 when the swarm could not
// run (bad arguments or files, no user could sign in). `arguments` are the words after
// "swarm"; argc/argv are the process's, for QCoreApplication.
int runSwarm(int argc, char **argv, const QStringList &arguments);

} // namespace parley::swarm
