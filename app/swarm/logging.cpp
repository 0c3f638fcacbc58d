#include "logging.h"

namespace parley::swarm {
Q_LOGGING_CATEGORY(lcSwarm, "parley.swarm", QtInfoMsg)
} // namespace parley::swarm
