// How the headless modes write their log lines on stderr: one text line, or one JSON
// object per line for log collectors (journald, Loki, CloudWatch, ...), and how text that
// may come from outside (device names, headers, ...) is made safe to log.
//
// Untrusted text in logs. Every message goes through escapeLogText() in both formats:
// whatever a message holds, an event is exactly one line, free of characters that move
// the cursor, break the line or reorder the text in a terminal or a log viewer, and at
// most MaxLogMessageChars long (plus a short suffix saying how much was cut).
//
// The escapes, the same in the text line and in the JSON "msg" (before JSON's own
// escaping):
//   \n \r \t                     newline, carriage return, tab
//   \xNN   (NN < 80)             the other C0 controls (U+0000-U+001F) and DEL (U+007F)
//   \xNN   (NN >= 80)            a byte that is not valid UTF-8 (logField() on bytes only)
//   \uXXXX                       C1 controls (U+0080-U+009F), U+2028, U+2029, the bidi
//                                controls (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069),
//                                U+FEFF, lone surrogates and every other character
//                                QChar::isPrint() rejects (format, private use, unassigned)
//   \UXXXXXXXX                   the same beyond U+FFFF
// Hex digits are lower case. Everything else, spaces and non-ASCII letters included, is
// kept as is. "Unassigned" follows the Unicode tables of the Qt in use, so an emoji newer
// than those shows as an escape.
//
// A backslash is NOT escaped in a message: messages often hold text QDebug already quoted
// and escaped, or fields from logField(), and escaping again would double every escape.
// So in free message text a literal "\n" typed by a client looks like an escape, but it can
// never break the line. Where a value must be unambiguous, log it with logField(): it
// quotes the value and escapes '\' and '"' too, so nothing inside can fake an escape, a
// closing quote or a neighbouring field.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <QStringView>
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

// The longest message (in UTF-16 code units, after escaping) a log line holds. A longer
// one is cut at an escape or character boundary and ends in "… (+N chars)", N being the
// number of characters (code points; an invalid byte or lone surrogate counts one) of the
// original text left out.
inline constexpr qsizetype MaxLogMessageChars = 4096;
// The default cap of logField(): enough for a URL or a user agent, short enough that a
// client cannot fill the log with a header.
inline constexpr qsizetype DefaultLogFieldChars = 200;

// "text" or "json", in any case; nullopt for anything else.
std::optional<LogFormat> parseLogFormat(const QString &name);
QString logFormatName(LogFormat format);

// `text` with every non-printable character escaped as described at the top (backslashes
// kept), cut to at most `maxChars` code units plus the "… (+N chars)" suffix. A negative
// `maxChars` means no cap. Escaping is idempotent: escaping the result changes nothing
// (as long as it is not cut again). Text that needs nothing comes back unchanged.
QString escapeLogText(QStringView text, qsizetype maxChars = MaxLogMessageChars);

// One untrusted value for a log message, e.g. qCInfo(lc).noquote() << "origin" <<
// logField(origin): the text escaped like escapeLogText() plus '\' as \\ and '"' as \",
// cut to `maxChars` code units, in double quotes. A cut value reads "abc"… (+N chars),
// with the suffix outside the quotes. The bytes overload decodes UTF-8 leniently: every
// byte that is not part of a well-formed sequence (overlong forms, encoded surrogates and
// values beyond U+10FFFF included) becomes \xNN with NN >= 80, which no character escape
// uses; the cut and N then count such a byte as one character.
QString logField(QStringView text, qsizetype maxChars = DefaultLogFieldChars);
QString logField(QByteArrayView utf8, qsizetype maxChars = DefaultLogFieldChars);

// One event as one text line ending in '\n', in UTF-8: "<time> <level> <category>:
// <message>", the time as yyyy-MM-ddThh:mm:ss.zzz in the time zone `time` is in (the
// handler passes local time, as Qt's %{time} does), the level debug, info, warning,
// critical or fatal, the message through escapeLogText(). `category` may be null
// ("default").
QByteArray textLogLine(
    QtMsgType type, const char *category, const QString &message, const QDateTime &time);

// One event as one line of compact JSON ending in '\n': "ts" (ISO 8601 UTC with
// milliseconds), "level" (debug, info, warning, critical, fatal), "category", "msg",
// "node". "msg" is the message through escapeLogText(); JSON escapes the rest (quotes,
// backslashes), so the line never breaks. `category` may be null ("default").
QByteArray jsonLogLine(QtMsgType type, const char *category, const QString &message,
    const QDateTime &time, const QString &node);

// Installs the format for the whole process; call once, before other threads log. Both
// formats install a message handler that writes each event to stderr in one write, the
// message escaped and capped as above.
// Text: textLogLine(), or, if QT_MESSAGE_PATTERN is set, Qt's qFormatLogMessage() with
// that pattern (only the message part is escaped).
// Json: jsonLogLine().
void installLogFormat(LogFormat format, const QString &node);

} // namespace parley::process
