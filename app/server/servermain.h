#pragma once

#include <QStringList>

namespace parley::server {

// `parley server ...`: parses the configuration, runs a node until SIGTERM or
// SIGINT, and returns the process exit code. `arguments` excludes the program
// name and the mode word.
int runServer(int argc, char **argv, const QStringList &arguments);

} // namespace parley::server
