#include "logging.h"

namespace parley::client {
Q_LOGGING_CATEGORY(lcClient, "parley.client", QtInfoMsg)
Q_LOGGING_CATEGORY(lcClientNet, "parley.client.net", QtInfoMsg)
Q_LOGGING_CATEGORY(lcClientCache, "parley.client.cache", QtInfoMsg)
} // namespace parley::client
