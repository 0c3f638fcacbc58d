// Logging category of parley_swarm (enable with QT_LOGGING_RULES="parley.swarm*=true").
#pragma once

#include <QLoggingCategory>

namespace parley::swarm {
Q_DECLARE_LOGGING_CATEGORY(lcSwarm) // parley.swarm: the runner, users, faults
} // namespace parley::swarm
