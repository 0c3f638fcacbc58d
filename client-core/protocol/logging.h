// Logging categories of parley_protocol. Enable with QT_LOGGING_RULES="parley.protocol*=true".
#pragma once

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcProtocol)
