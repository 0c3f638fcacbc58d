#include "logformat.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace parley::process {

namespace {

// Set once by installLogFormat() before the handler is installed; only read afterwards.
QString g_node;

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

void writeJsonLine(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    const QByteArray line
        = jsonLogLine(type, context.category, message, QDateTime::currentDateTimeUtc(), g_node);
    // One fwrite per line: stdio locks the stream per call, so lines from several
    // threads never interleave.
    std::fwrite(line.constData(), 1, size_t(line.size()), stderr);
    std::fflush(stderr);
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

QByteArray jsonLogLine(QtMsgType type, const char *category, const QString &message,
    const QDateTime &time, const QString &node)
{
    // QJsonDocument escapes what JSON requires (", \ and every control character), so
    // a message holding a newline stays on one line.
    const QJsonObject event {
        {u"ts"_s, time.toUTC().toString(Qt::ISODateWithMs)},
        {u"level"_s, levelName(type)},
        {u"category"_s, QString::fromUtf8(category ? category : "default")},
        {u"msg"_s, message},
        {u"node"_s, node},
    };
    return QJsonDocument(event).toJson(QJsonDocument::Compact) + '\n';
}

void installLogFormat(LogFormat format, const QString &node)
{
    if (format == LogFormat::Json) {
        g_node = node;
        qInstallMessageHandler(writeJsonLine);
        return;
    }
    if (qEnvironmentVariableIsEmpty("QT_MESSAGE_PATTERN"))
        qSetMessagePattern(u"%{time yyyy-MM-ddThh:mm:ss.zzz} %{type} %{category}: %{message}"_s);
}

} // namespace parley::process
