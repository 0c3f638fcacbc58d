// Logging categories of parley_server. Enable with e.g.
// QT_LOGGING_RULES="parley.server.*.debug=true". Never log passwords, tokens or bodies.
#pragma once

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcServer)
Q_DECLARE_LOGGING_CATEGORY(lcServerNet)
Q_DECLARE_LOGGING_CATEGORY(lcServerSession)
Q_DECLARE_LOGGING_CATEGORY(lcServerStore)
Q_DECLARE_LOGGING_CATEGORY(lcServerDynamo)
Q_DECLARE_LOGGING_CATEGORY(lcServerBus)
Q_DECLARE_LOGGING_CATEGORY(lcServerRedis)
Q_DECLARE_LOGGING_CATEGORY(lcServerAuth)
