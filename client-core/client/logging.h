// Logging categories of parley_client_core (enable with QT_LOGGING_RULES="parley.client*=true").
#pragma once

#include <QLoggingCategory>

namespace parley::client {
Q_DECLARE_LOGGING_CATEGORY(lcClient) // parley.client: the facade, sign-in, sync
Q_DECLARE_LOGGING_CATEGORY(lcClientNet) // parley.client.net: connection states, liveness
Q_DECLARE_LOGGING_CATEGORY(lcClientCache) // parley.client.cache: the local database
} // namespace parley::client
