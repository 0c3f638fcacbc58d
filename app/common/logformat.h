// How the headless modes write their log lines on stderr: Qt's text lines, or one JSON
// object per line for log collectors (journald, Loki, CloudWatch, ...).
#pragma once

#include <QByteArray>
#include <QString>
#include <QtGlobal>

#include <optional>

QT_BEGIN_NAMESPACE
class QDateTime;
QT_END_NAMESPACE

namespace parley::process {

enum class LogFormat {
    Text, // "2026-11-23T10:41:09.496 info parley.server: message"
    Json, // {"category":..,"level":..,"msg":..,"node":..,"ts":..}
};

// "text" or "json", in any case; nullopt for anything else.
std::optional<LogFormat> parseLogFormat(const QString &name);
QString logFormatName(LogFormat format);

// One event as one line of compact JSON ending in '\n': "ts" (ISO 8601 UTC with
// milliseconds), "level" (debug, info, warning, critical, fatal), "category", "msg",
// "node". Quotes, backslashes, newlines and other control characters in the message are
// escaped, so the line never breaks. `category` may be null ("default").
QByteArray jsonLogLine(QtMsgType type, const char *category, const QString &message,
    const QDateTime &time, const QString &node);

// Installs the format for the whole process; call once, before other threads log.
// Text: Qt's own output with the pattern above, unless QT_MESSAGE_PATTERN is set.
// Json: a message handler writing jsonLogLine() of each event to stderr in one write.
void installLogFormat(LogFormat format, const QString &node);

} // namespace parley::process
