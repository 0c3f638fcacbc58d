#include "logformat.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdio>
#include <cstring>

using namespace Qt::StringLiterals;

namespace parley::process {

namespace {

// Set once by installLogFormat() before the handler is installed; only read afterwards.
QString g_node;
bool g_customPattern = false; // QT_MESSAGE_PATTERN was set: format with qFormatLogMessage()

QString levelName(QtMsgType type)
{
    switch (type) {
    case QtDebugMsg:
        return u"debug"_s;
    case QtInfoMsg:
        return u"info"_s;
    case QtWarningMsg:
        return u"warning"_s;
    case QtCriticalMsg:
        return u"critical"_s;
    case QtFatalMsg:
        return u"fatal"_s;
    }
    return u"unknown"_s;
}

// Whether a code point (or a lone surrogate) is written as an escape. See logformat.h.
bool mustEscape(char32_t c)
{
    if (c < 0x7f)
        return c < 0x20; // C0 controls
    if (c <= 0x9f)
        return true; // DEL and the C1 controls
    switch (c) {
    case 0x200e: // LEFT-TO-RIGHT MARK
    case 0x200f: // RIGHT-TO-LEFT MARK
    case 0x2028: // LINE SEPARATOR: category Zl, which QChar::isPrint() accepts
    case 0x2029: // PARAGRAPH SEPARATOR: Zp, likewise
    case 0xfeff: // ZERO WIDTH NO-BREAK SPACE / byte order mark
        return true;
    default:
        break;
    }
    if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
        return true; // bidi embeddings, overrides and isolates
    // Control, format, surrogate, private use and unassigned.
    return !QChar::isPrint(c);
}

// The text needs neither escapes nor a cut: log it as it is, without a copy.
bool isClean(QStringView text, qsizetype maxChars)
{
    if (maxChars >= 0 && text.size() > maxChars)
        return false;
    const qsizetype size = text.size();
    for (qsizetype i = 0; i < size; ++i) {
        const char16_t c = text[i].unicode();
        if (c >= 0x20 && c < 0x7f)
            continue; // printable ASCII: the common case
        char32_t cp = c;
        if (QChar::isHighSurrogate(c) && i + 1 < size && text[i + 1].isLowSurrogate()) {
            cp = QChar::surrogateToUcs4(c, text[i + 1].unicode());
            ++i;
        }
        if (mustEscape(cp))
            return false;
    }
    return true;
}

// One character of the input: a code point (or lone surrogate), or a byte that is not
// valid UTF-8.
struct Unit
{
    char32_t value = 0;
    bool invalidByte = false;
};

struct Utf16Reader
{
    QStringView text;
    qsizetype pos = 0;

    bool next(Unit &unit)
    {
        if (pos >= text.size())
            return false;
        const char16_t c = text[pos++].unicode();
        unit = {c, false};
        if (QChar::isHighSurrogate(c) && pos < text.size() && text[pos].isLowSurrogate())
            unit.value = QChar::surrogateToUcs4(c, text[pos++].unicode());
        return true;
    }
};

// Well-formed UTF-8 as in table 3-7 of the Unicode standard: no overlong forms, no
// surrogates, nothing beyond U+10FFFF. A byte that does not start a well-formed sequence
// is one invalid unit; decoding resumes at the next byte.
struct Utf8Reader
{
    QByteArrayView bytes;
    qsizetype pos = 0;

    bool next(Unit &unit)
    {
        if (pos >= bytes.size())
            return false;
        const auto byte = [this](qsizetype i) { return uchar(bytes[i]); };
        const uchar b0 = byte(pos);
        if (b0 < 0x80) {
            unit = {b0, false};
            ++pos;
            return true;
        }
        int length = 0;
        uchar lo = 0x80, hi = 0xbf; // range of the second byte
        char32_t value = 0;
        if (b0 >= 0xc2 && b0 <= 0xdf) {
            length = 2;
            value = b0 & 0x1f;
        } else if (b0 >= 0xe0 && b0 <= 0xef) {
            length = 3;
            value = b0 & 0x0f;
            if (b0 == 0xe0)
                lo = 0xa0;
            else if (b0 == 0xed)
                hi = 0x9f;
        } else if (b0 >= 0xf0 && b0 <= 0xf4) {
            length = 4;
            value = b0 & 0x07;
            if (b0 == 0xf0)
                lo = 0x90;
            else if (b0 == 0xf4)
                hi = 0x8f;
        }
        bool valid = length > 0 && pos + length <= bytes.size();
        for (int i = 1; valid && i < length; ++i) {
            const uchar b = byte(pos + i);
            valid = i == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xbf);
            value = (value << 6) | (b & 0x3f);
        }
        if (!valid) {
            unit = {b0, true};
            ++pos;
            return true;
        }
        unit = {value, false};
        pos += length;
        return true;
    }
};

// Writes how `unit` appears in the log into `out` (room for 10), returns the length.
qsizetype represent(const Unit &unit, bool field, char16_t *out)
{
    static constexpr char16_t hex[] = u"0123456789abcdef";
    const auto escape = [out](char16_t kind, char32_t value, int digits) {
        out[0] = u'\\';
        out[1] = kind;
        for (int i = 0; i < digits; ++i)
            out[2 + i] = hex[(value >> (4 * (digits - 1 - i))) & 0xf];
        return qsizetype(2 + digits);
    };
    const char32_t c = unit.value;
    if (unit.invalidByte)
        return escape(u'x', c, 2);
    if (field && (c == u'\\' || c == u'"')) {
        out[0] = u'\\';
        out[1] = char16_t(c);
        return 2;
    }
    if (!mustEscape(c)) {
        if (QChar::requiresSurrogates(c)) {
            out[0] = QChar::highSurrogate(c);
            out[1] = QChar::lowSurrogate(c);
            return 2;
        }
        out[0] = char16_t(c);
        return 1;
    }
    switch (c) {
    case u'\n':
        return escape(u'n', 0, 0);
    case u'\r':
        return escape(u'r', 0, 0);
    case u'\t':
        return escape(u't', 0, 0);
    default:
        break;
    }
    if (c < 0x80)
        return escape(u'x', c, 2);
    if (c <= 0xffff)
        return escape(u'u', c, 4);
    return escape(u'U', c, 8);
}

struct Escaped
{
    QString text;
    qsizetype omitted = 0; // characters of the input cut off
};

template<typename Reader>
Escaped escapeUnits(Reader reader, qsizetype sizeHint, qsizetype maxChars, bool field)
{
    Escaped result;
    result.text.reserve(maxChars < 0 ? sizeHint : qMin(sizeHint, maxChars));
    Unit unit;
    char16_t buffer[10];
    while (reader.next(unit)) {
        const qsizetype length = represent(unit, field, buffer);
        if (maxChars >= 0 && result.text.size() + length > maxChars) {
            // Never half an escape or half a surrogate pair: stop before this one.
            result.omitted = 1;
            while (reader.next(unit))
                ++result.omitted;
            break;
        }
        result.text.append(reinterpret_cast<const QChar *>(buffer), length);
    }
    return result;
}

QString cutSuffix(qsizetype omitted)
{
    return u"\u2026 (+"_s + QString::number(omitted) + u" chars)"_s;
}

QString quotedField(Escaped escaped)
{
    QString result;
    result.reserve(escaped.text.size() + (escaped.omitted ? 24 : 2));
    result += u'"';
    result += escaped.text;
    result += u'"';
    if (escaped.omitted)
        result += cutSuffix(escaped.omitted);
    return result;
}

// `message` itself when it is clean, else its escaped form kept in `storage`.
const QString &safeMessage(const QString &message, QString &storage)
{
    if (isClean(message, MaxLogMessageChars))
        return message;
    storage = escapeLogText(message, MaxLogMessageChars);
    return storage;
}

void writeLine(const QByteArray &line)
{
    // One fwrite per line: stdio locks the stream per call, so lines from several
    // threads never interleave.
    std::fwrite(line.constData(), 1, size_t(line.size()), stderr);
    std::fflush(stderr);
}

void writeTextLine(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (!g_customPattern) {
        writeLine(textLogLine(type, context.category, message, QDateTime::currentDateTime()));
        return;
    }
    QString storage;
    QString formatted = qFormatLogMessage(type, context, safeMessage(message, storage));
    // As Qt's own handler: nothing when the pattern yields nothing (%{if-...}).
    if (formatted.isNull())
        return;
    formatted += u'\n';
    writeLine(formatted.toUtf8());
}

void writeJsonLine(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    writeLine(
        jsonLogLine(type, context.category, message, QDateTime::currentDateTimeUtc(), g_node));
}

} // namespace

std::optional<LogFormat> parseLogFormat(const QString &name)
{
    const QString lower = name.toLower();
    if (lower == u"text"_s)
        return LogFormat::Text;
    if (lower == u"json"_s)
        return LogFormat::Json;
    return std::nullopt;
}

QString logFormatName(LogFormat format)
{
    return format == LogFormat::Json ? u"json"_s : u"text"_s;
}

QString escapeLogText(QStringView text, qsizetype maxChars)
{
    if (isClean(text, maxChars))
        return text.toString();
    Escaped escaped = escapeUnits(Utf16Reader {text}, text.size(), maxChars, false);
    if (escaped.omitted)
        escaped.text += cutSuffix(escaped.omitted);
    return escaped.text;
}

QString logField(QStringView text, qsizetype maxChars)
{
    return quotedField(escapeUnits(Utf16Reader {text}, text.size(), maxChars, true));
}

QString logField(QByteArrayView utf8, qsizetype maxChars)
{
    return quotedField(escapeUnits(Utf8Reader {utf8}, utf8.size(), maxChars, true));
}

QByteArray textLogLine(
    QtMsgType type, const char *category, const QString &message, const QDateTime &time)
{
    // The line Qt's own handler wrote with the pattern
    // "%{time yyyy-MM-ddThh:mm:ss.zzz} %{type} %{category}: %{message}".
    QString storage;
    const QString &safe = safeMessage(message, storage);
    const char *name = category ? category : "default";
    const QString level = levelName(type);
    const qsizetype nameLength = qsizetype(std::strlen(name));
    QString line;
    line.reserve(23 + 1 + level.size() + 1 + nameLength + 2 + safe.size() + 1);
    line += time.toString(u"yyyy-MM-ddThh:mm:ss.zzz");
    line += u' ';
    line += level;
    line += u' ';
    line += QString::fromUtf8(name, nameLength);
    line += u": ";
    line += safe;
    line += u'\n';
    return line.toUtf8();
}

QByteArray jsonLogLine(QtMsgType type, const char *category, const QString &message,
    const QDateTime &time, const QString &node)
{
    // QJsonDocument escapes what JSON requires (", \ and every control character); the
    // message is escaped before, so the decoded "msg" is as safe as the text line.
    QString storage;
    const QJsonObject event {
        {u"ts"_s, time.toUTC().toString(Qt::ISODateWithMs)},
        {u"level"_s, levelName(type)},
        {u"category"_s, QString::fromUtf8(category ? category : "default")},
        {u"msg"_s, safeMessage(message, storage)},
        {u"node"_s, node},
    };
    return QJsonDocument(event).toJson(QJsonDocument::Compact) + '\n';
}

void installLogFormat(LogFormat format, const QString &node)
{
    g_node = node;
    if (format == LogFormat::Json) {
        qInstallMessageHandler(writeJsonLine);
        return;
    }
    g_customPattern = !qEnvironmentVariableIsEmpty("QT_MESSAGE_PATTERN");
    // Also for anything that still formats through Qt (qFormatLogMessage()).
    if (!g_customPattern)
        qSetMessagePattern(u"%{time yyyy-MM-ddThh:mm:ss.zzz} %{type} %{category}: %{message}"_s);
    qInstallMessageHandler(writeTextLine);
}

} // namespace parley::process
