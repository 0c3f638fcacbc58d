#include "logging.h"

Q_LOGGING_CATEGORY(lcServer, "parley.server", QtInfoMsg)
Q_LOGGING_CATEGORY(lcServerNet, "parley.server.net", QtInfoMsg)
Q_LOGGING_CATEGORY(lcServerSession, "parley.server.session", QtInfoMsg)
Q_LOGGING_CATEGORY(lcServerStore, "parley.server.store", QtInfoMsg)
Q_LOGGING_CATEGORY(lcServerDynamo, "parley.server.dynamo", QtInfoMsg)
Q_LOGGING_CATEGORY(lcServerBus, "parley.server.bus", QtInfoMsg)
Q_LOGGING_CATEGORY(lcServerRedis, "parley.server.redis", QtInfoMsg)
Q_LOGGING_CATEGORY(lcServerAuth, "parley.server.auth", QtInfoMsg)
