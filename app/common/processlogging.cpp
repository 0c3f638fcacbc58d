#include "processlogging.h"

Q_LOGGING_CATEGORY(lcProcess, "parley.process", QtInfoMsg)
