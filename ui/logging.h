// The desktop client's logging categories (QT_LOGGING_RULES turns them on).
#pragma once

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcUi) // parley.ui: sign-in flow, windows, notifications
