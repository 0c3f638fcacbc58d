#include "logging.h"

Q_LOGGING_CATEGORY(lcProtocol, "parley.protocol", QtWarningMsg)
