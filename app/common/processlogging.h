// The logging categories of parley_process (the one such file of this library).
#pragma once

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcProcess)
