// The log lines of parley_process: one line per event in both formats (valid JSON with
// the five fields), whatever the message holds; untrusted text escaped and capped.
//
// Registered twice: once as is, once with QT_MESSAGE_PATTERN set (installedHandler()
// then checks the pattern is honoured).
#include "logformat.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QRegularExpression>
#include <QTemporaryFile>
#include <QtTest>

#include <cstdio>
#include <functional>

#ifdef Q_OS_UNIX
#include <unistd.h>
#endif

using namespace Qt::StringLiterals;
using namespace parley::process;

Q_LOGGING_CATEGORY(lcLogTest, "parley.logtest")

namespace {

QString ucs4(char32_t c)
{
    return QString::fromUcs4(&c, 1);
}

#ifdef Q_OS_UNIX
// What `body` writes on file descriptor 2.
QByteArray captureStderr(const std::function<void()> &body)
{
    QTemporaryFile file;
    if (!file.open())
        return QByteArray("cannot open a temporary file");
    std::fflush(stderr);
    const int saved = ::dup(2);
    ::dup2(file.handle(), 2);
    body();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    file.seek(0);
    return file.readAll();
}
#endif

} // namespace

class TestLogFormat : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void names_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("valid");
        QTest::addColumn<bool>("json");
        QTest::newRow("text") << u"text"_s << true << false;
        QTest::newRow("json") << u"json"_s << true << true;
        QTest::newRow("upper case") << u"JSON"_s << true << true;
        QTest::newRow("empty") << QString() << false << false;
        QTest::newRow("other") << u"logfmt"_s << false << false;
    }

    void names()
    {
        QFETCH(QString, name);
        const std::optional<LogFormat> format = parseLogFormat(name);
        QTEST(format.has_value(), "valid");
        if (format) {
            QTEST(*format == LogFormat::Json, "json");
            QCOMPARE(logFormatName(*format), name.toLower());
        }
    }

    void oneValidLinePerEvent_data()
    {
        QTest::addColumn<QString>("message");
        QTest::newRow("plain") << u"node \"vm\" listening on \"127.0.0.1\" 8443"_s;
        QTest::newRow("quotes and backslashes") << u"a \"quoted\" \\path\\ and \\\""_s;
        QTest::newRow("newlines") << u"first line\nsecond line\r\nthird\n"_s;
        QTest::newRow("control characters")
            << u"tab\there, bell\u0007, escape\u001b[31m, nul"_s + QChar(0) + u" end"_s;
        QTest::newRow("unicode") << u"héllo 👋 — ünïcode"_s;
        QTest::newRow("looks like json") << u"\"}, {\"level\":\"fatal\""_s;
        QTest::newRow("empty") << QString();
        QTest::newRow("line separator") << u"name\u2028forged line\u2029"_s;
        QTest::newRow("bidi and c1") << u"\u202eevil\u202c \u0085 \u009b31m \u007f"_s;
        QTest::newRow("too long") << QString(MaxLogMessageChars + 10, u'x');
    }

    void oneValidLinePerEvent()
    {
        QFETCH(QString, message);
        const QDateTime time(QDate(2026, 11, 23), QTime(15, 4, 5, 67), Qt::UTC);
        const QByteArray line
            = jsonLogLine(QtWarningMsg, "parley.server.net", message, time, u"node-1"_s);
        QVERIFY(line.endsWith('\n'));
        QCOMPARE(line.count('\n'), 1);
        QCOMPARE(line.count('\r'), 0);
        for (const char c : line.chopped(1))
            QVERIFY2(uchar(c) >= 0x20, "no raw control character in the line");

        QJsonParseError error;
        const QJsonDocument document = QJsonDocument::fromJson(line, &error);
        QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
        QVERIFY(document.isObject());
        const QJsonObject event = document.object();
        QCOMPARE(
            event.keys(), QStringList({u"category"_s, u"level"_s, u"msg"_s, u"node"_s, u"ts"_s}));
        QCOMPARE(event.value(u"msg"_s).toString(), escapeLogText(message));
        // Nothing but JSON escapes and printable characters, even once decoded.
        QVERIFY(!line.contains("\xe2\x80\xa8") && !line.contains("\xe2\x80\xa9"));
        QVERIFY(!event.value(u"msg"_s).toString().contains(QChar(0x2028)));
        QCOMPARE(event.value(u"level"_s).toString(), u"warning"_s);
        QCOMPARE(event.value(u"category"_s).toString(), u"parley.server.net"_s);
        QCOMPARE(event.value(u"node"_s).toString(), u"node-1"_s);
        QCOMPARE(event.value(u"ts"_s).toString(), u"2026-11-23T15:04:05.067Z"_s);
    }

    void levelsAndTimeZone_data()
    {
        QTest::addColumn<int>("type");
        QTest::addColumn<QString>("level");
        QTest::newRow("debug") << int(QtDebugMsg) << u"debug"_s;
        QTest::newRow("info") << int(QtInfoMsg) << u"info"_s;
        QTest::newRow("warning") << int(QtWarningMsg) << u"warning"_s;
        QTest::newRow("critical") << int(QtCriticalMsg) << u"critical"_s;
        QTest::newRow("fatal") << int(QtFatalMsg) << u"fatal"_s;
    }

    void levelsAndTimeZone()
    {
        QFETCH(int, type);
        // A local time two hours east of UTC comes out as UTC.
        const QDateTime local(QDate(2026, 1, 2), QTime(3, 4, 5, 6), Qt::OffsetFromUTC, 7200);
        const QJsonObject event = QJsonDocument::fromJson(
            jsonLogLine(QtMsgType(type), nullptr, u"m"_s, local, QString()))
                                      .object();
        QTEST(event.value(u"level"_s).toString(), "level");
        QCOMPARE(event.value(u"category"_s).toString(), u"default"_s);
        QCOMPARE(event.value(u"ts"_s).toString(), u"2026-01-02T01:04:05.006Z"_s);
    }

    void escapeText_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("escaped");
        // Kept as is.
        QTest::newRow("plain ascii")
            << u"node listening on 127.0.0.1:8443"_s << u"node listening on 127.0.0.1:8443"_s;
        QTest::newRow("empty") << QString() << QString();
        QTest::newRow("backslash and quotes kept")
            << u"C:\\dir \"q\" \\n"_s << u"C:\\dir \"q\" \\n"_s;
        QTest::newRow("unicode letters and emoji")
            << u"héllo 👋 — ünïcode 日本"_s << u"héllo 👋 — ünïcode 日本"_s;
        QTest::newRow("no-break space") << u"a\u00a0b"_s << u"a\u00a0b"_s;
        // C0 controls and DEL.
        QTest::newRow("newline") << u"a\nb"_s << u"a\\nb"_s;
        QTest::newRow("crlf") << u"a\r\n"_s << u"a\\r\\n"_s;
        QTest::newRow("tab") << u"a\tb"_s << u"a\\tb"_s;
        QTest::newRow("nul") << u"a"_s + QChar(0) + u"b"_s << u"a\\x00b"_s;
        QTest::newRow("bell") << u"\u0007"_s << u"\\x07"_s;
        QTest::newRow("ansi escape") << u"\u001b[31mred"_s << u"\\x1b[31mred"_s;
        QTest::newRow("unit separator") << u"\u001f"_s << u"\\x1f"_s;
        QTest::newRow("del") << u"\u007f"_s << u"\\x7f"_s;
        // C1 controls.
        QTest::newRow("c1 first") << u"\u0080"_s << u"\\u0080"_s;
        QTest::newRow("c1 next line") << u"a\u0085b"_s << u"a\\u0085b"_s;
        QTest::newRow("c1 csi") << u"\u009b31m"_s << u"\\u009b31m"_s;
        QTest::newRow("c1 last") << u"\u009f"_s << u"\\u009f"_s;
        // Line and paragraph separators.
        QTest::newRow("line separator") << u"a\u2028b"_s << u"a\\u2028b"_s;
        QTest::newRow("paragraph separator") << u"a\u2029b"_s << u"a\\u2029b"_s;
        // Bidi controls.
        QTest::newRow("lrm") << u"\u200e"_s << u"\\u200e"_s;
        QTest::newRow("rlm") << u"\u200f"_s << u"\\u200f"_s;
        QTest::newRow("lre") << u"\u202a"_s << u"\\u202a"_s;
        QTest::newRow("rlo") << u"\u202eevil"_s << u"\\u202eevil"_s;
        QTest::newRow("lri") << u"\u2066"_s << u"\\u2066"_s;
        QTest::newRow("pdi") << u"\u2069"_s << u"\\u2069"_s;
        // Byte order mark and other format characters.
        QTest::newRow("bom") << u"\ufeffname"_s << u"\\ufeffname"_s;
        QTest::newRow("soft hyphen") << u"ad\u00admin"_s << u"ad\\u00admin"_s;
        QTest::newRow("zero width space") << u"ad\u200bmin"_s << u"ad\\u200bmin"_s;
        QTest::newRow("language tag beyond bmp") << ucs4(0xe0001) << u"\\U000e0001"_s;
        QTest::newRow("private use") << u"\ue000"_s << u"\\ue000"_s;
        QTest::newRow("noncharacter") << u"\uffff"_s << u"\\uffff"_s;
        // Lone surrogates; a pair is one character and kept.
        QTest::newRow("lone high surrogate") << QString(QChar(0xd83d)) + u"x"_s << u"\\ud83dx"_s;
        QTest::newRow("lone low surrogate") << u"x"_s + QChar(0xdc4b) << u"x\\udc4b"_s;
        QTest::newRow("reversed pair")
            << QString(QChar(0xdc4b)) + QChar(0xd83d) << u"\\udc4b\\ud83d"_s;
        QTest::newRow("high surrogate at the end") << QString(QChar(0xd83d)) << u"\\ud83d"_s;
    }

    void escapeText()
    {
        QFETCH(QString, text);
        QFETCH(QString, escaped);
        QCOMPARE(escapeLogText(text), escaped);
        // Idempotent: the escapes are printable ASCII.
        QCOMPARE(escapeLogText(escaped), escaped);
        for (const QChar c : escaped)
            QVERIFY(c.unicode() >= 0x20 && c.unicode() != 0x7f);
    }

    void cap_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qsizetype>("maxChars");
        QTest::addColumn<QString>("expected");
        QTest::newRow("at the limit") << u"abcde"_s << qsizetype(5) << u"abcde"_s;
        QTest::newRow("one over") << u"abcdef"_s << qsizetype(5) << u"abcde\u2026 (+1 chars)"_s;
        QTest::newRow("zero") << u"abc"_s << qsizetype(0) << u"\u2026 (+3 chars)"_s;
        QTest::newRow("no cap") << u"abcdef"_s << qsizetype(-1) << u"abcdef"_s;
        QTest::newRow("escapes count")
            << u"ab\ncd"_s << qsizetype(4) << u"ab\\n\u2026 (+2 chars)"_s;
        QTest::newRow("escape never split")
            << u"abc\u2028d"_s << qsizetype(5) << u"abc\u2026 (+2 chars)"_s;
        QTest::newRow("surrogate pair never split")
            << u"ab👋c"_s << qsizetype(3) << u"ab\u2026 (+2 chars)"_s;
        QTest::newRow("omitted counted in characters")
            << u"a👋👋👋"_s << qsizetype(1) << u"a\u2026 (+3 chars)"_s;
        QTest::newRow("default limit")
            << QString(MaxLogMessageChars + 100, u'x') << MaxLogMessageChars
            << QString(MaxLogMessageChars, u'x') + u"\u2026 (+100 chars)"_s;
    }

    void cap()
    {
        QFETCH(QString, text);
        QFETCH(qsizetype, maxChars);
        QTEST(escapeLogText(text, maxChars), "expected");
    }

    void defaultCap()
    {
        const QString longText(MaxLogMessageChars + 1, u'y');
        QVERIFY(escapeLogText(longText).endsWith(u"\u2026 (+1 chars)"_s));
        QCOMPARE(escapeLogText(QString(MaxLogMessageChars, u'y')).size(), MaxLogMessageChars);
        // The same cap in both line formats.
        const QDateTime time(QDate(2026, 11, 23), QTime(10, 41, 9, 496), Qt::UTC);
        const QByteArray message = escapeLogText(longText).toUtf8();
        QVERIFY(textLogLine(QtInfoMsg, "c", longText, time).endsWith(QByteArray(message + '\n')));
        QCOMPARE(QJsonDocument::fromJson(jsonLogLine(QtInfoMsg, "c", longText, time, u"n"_s))
                     .object()
                     .value(u"msg"_s)
                     .toString(),
            QString::fromUtf8(message));
    }

    void fieldText_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qsizetype>("maxChars");
        QTest::addColumn<QString>("expected");
        QTest::newRow("plain") << u"https://chat.example.org"_s << qsizetype(200)
                               << u"\"https://chat.example.org\""_s;
        QTest::newRow("empty") << QString() << qsizetype(200) << u"\"\""_s;
        QTest::newRow("quote and backslash")
            << u"a\" user=\"admin\\"_s << qsizetype(200) << u"\"a\\\" user=\\\"admin\\\\\""_s;
        QTest::newRow("forged escape") << u"\\u2028"_s << qsizetype(200) << u"\"\\\\u2028\""_s;
        QTest::newRow("controls") << u"a\u2028\n\u202e"_s << qsizetype(200)
                                  << u"\"a\\u2028\\n\\u202e\""_s;
        QTest::newRow("cut outside the quotes")
            << u"abcdef"_s << qsizetype(3) << u"\"abc\"\u2026 (+3 chars)"_s;
        QTest::newRow("escaped quote never split")
            << u"ab\"c"_s << qsizetype(3) << u"\"ab\"\u2026 (+2 chars)"_s;
    }

    void fieldText()
    {
        QFETCH(QString, text);
        QFETCH(qsizetype, maxChars);
        QTEST(logField(text, maxChars), "expected");
    }

    void fieldBytes_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<qsizetype>("maxChars");
        QTest::addColumn<QString>("expected");
        QTest::newRow("ascii") << QByteArray("https://a.example") << qsizetype(200)
                               << u"\"https://a.example\""_s;
        QTest::newRow("valid utf-8")
            << QByteArray("h\xc3\xa9 \xf0\x9f\x91\x8b") << qsizetype(200) << u"\"hé 👋\""_s;
        QTest::newRow("control bytes")
            << QByteArray("a\nb\x1b[0m\x7f") << qsizetype(200) << u"\"a\\nb\\x1b[0m\\x7f\""_s;
        QTest::newRow("line separator")
            << QByteArray("a\xe2\x80\xa8z") << qsizetype(200) << u"\"a\\u2028z\""_s;
        QTest::newRow("c1 encoded") << QByteArray("\xc2\x85") << qsizetype(200) << u"\"\\u0085\""_s;
        QTest::newRow("invalid byte") << QByteArray("a\xff"
                                                    "b")
                                      << qsizetype(200) << u"\"a\\xffb\""_s;
        QTest::newRow("latin-1 byte")
            << QByteArray("caf\xe9") << qsizetype(200) << u"\"caf\\xe9\""_s;
        QTest::newRow("lone continuation")
            << QByteArray("\x80") << qsizetype(200) << u"\"\\x80\""_s;
        QTest::newRow("overlong slash")
            << QByteArray("\xc0\xaf") << qsizetype(200) << u"\"\\xc0\\xaf\""_s;
        QTest::newRow("overlong three bytes")
            << QByteArray("\xe0\x80\xaf") << qsizetype(200) << u"\"\\xe0\\x80\\xaf\""_s;
        QTest::newRow("truncated sequence")
            << QByteArray("\xe2\x80z") << qsizetype(200) << u"\"\\xe2\\x80z\""_s;
        QTest::newRow("truncated at the end")
            << QByteArray("z\xf0\x9f\x91") << qsizetype(200) << u"\"z\\xf0\\x9f\\x91\""_s;
        QTest::newRow("encoded surrogate")
            << QByteArray("\xed\xa0\x80") << qsizetype(200) << u"\"\\xed\\xa0\\x80\""_s;
        QTest::newRow("beyond U+10FFFF")
            << QByteArray("\xf4\x90\x80\x80") << qsizetype(200) << u"\"\\xf4\\x90\\x80\\x80\""_s;
        QTest::newRow("U+10FFFF") << QByteArray("\xf4\x8f\xbf\xbf") << qsizetype(200)
                                  << u"\"\\U0010ffff\""_s;
        QTest::newRow("nul") << QByteArray("a\0b", 3) << qsizetype(200) << u"\"a\\x00b\""_s;
        QTest::newRow("cut counts bytes and characters")
            << QByteArray("ab\xff\xc3\xa9\xff") << qsizetype(2) << u"\"ab\"\u2026 (+3 chars)"_s;
        QTest::newRow("invalid byte escape never split")
            << QByteArray("a\xff") << qsizetype(3) << u"\"a\"\u2026 (+1 chars)"_s;
    }

    void fieldBytes()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(qsizetype, maxChars);
        QTEST(logField(QByteArrayView(bytes), maxChars), "expected");
    }

    void longOriginHeader()
    {
        // The header of issue 18: 16 KB of Origin on every rejection.
        const QByteArray origin = "https://" + QByteArray(16 * 1024, 'a') + "\xe2\x80\xa8";
        const QString field = logField(QByteArrayView(origin));
        QCOMPARE(field,
            u"\"https://"_s + QString(DefaultLogFieldChars - 8, u'a') + u"\"\u2026 (+"_s
                + QString::number(origin.size() - DefaultLogFieldChars - 2) + u" chars)"_s);
        QCOMPARE(logField(QByteArrayView(origin), 20), logField(QString::fromUtf8(origin), 20));
    }

    void oneLineInBothFormats_data()
    {
        QTest::addColumn<QString>("message");
        QTest::newRow("separator and newline")
            << u"device \"a\u2028b\"\n2026-11-23T10:41:09.496 info parley.server: forged"_s;
        QTest::newRow("carriage return and paragraph")
            << u"x\r2026-11-23T10:41:09.496 info\u2029y\u0085z"_s;
    }

    void oneLineInBothFormats()
    {
        QFETCH(QString, message);
        const QDateTime time(QDate(2026, 11, 23), QTime(10, 41, 9, 496), Qt::UTC);
        const QByteArray text = textLogLine(QtInfoMsg, "parley.server", message, time);
        const QByteArray json = jsonLogLine(QtInfoMsg, "parley.server", message, time, u"n"_s);
        for (const QByteArray &line : {text, json}) {
            QCOMPARE(line.count('\n'), 1);
            QVERIFY(line.endsWith('\n'));
            QVERIFY(!line.contains('\r'));
            QVERIFY(!line.contains("\xe2\x80\xa8"));
            QVERIFY(!line.contains("\xe2\x80\xa9"));
            QVERIFY(!line.contains("\xc2\x85"));
            // Exactly one line in any splitter that knows Unicode line breaks too.
            static const QRegularExpression breaks(u"[\\n\\r\\x{85}\\x{2028}\\x{2029}]"_s);
            QCOMPARE(QString::fromUtf8(line.chopped(1)).split(breaks).size(), 1);
        }
        QCOMPARE(text,
            "2026-11-23T10:41:09.496 info parley.server: " + escapeLogText(message).toUtf8()
                + '\n');
        const QString msg = QJsonDocument::fromJson(json).object().value(u"msg"_s).toString();
        QCOMPARE(msg.split(QRegularExpression(u"[\\n\\r\\x{85}\\x{2028}\\x{2029}]"_s)).size(), 1);
        QCOMPARE(msg, escapeLogText(message));
    }

    void textLine_data()
    {
        QTest::addColumn<int>("type");
        QTest::addColumn<QByteArray>("line");
        QTest::newRow("info") << int(
            QtInfoMsg) << QByteArray("2026-11-23T10:41:09.496 info parley.server: message\n");
        QTest::newRow("warning") << int(
            QtWarningMsg) << QByteArray("2026-11-23T10:41:09.496 warning parley.server: message\n");
        QTest::newRow("debug") << int(
            QtDebugMsg) << QByteArray("2026-11-23T10:41:09.496 debug parley.server: message\n");
        QTest::newRow("critical")
            << int(QtCriticalMsg)
            << QByteArray("2026-11-23T10:41:09.496 critical parley.server: message\n");
    }

    void textLine()
    {
        QFETCH(int, type);
        const QDateTime time(QDate(2026, 11, 23), QTime(10, 41, 9, 496), Qt::UTC);
        QTEST(textLogLine(QtMsgType(type), "parley.server", u"message"_s, time), "line");
        QCOMPARE(textLogLine(QtInfoMsg, nullptr, u"m"_s, time),
            QByteArray("2026-11-23T10:41:09.496 info default: m\n"));
    }

    void installedHandler_data()
    {
        QTest::addColumn<bool>("json");
        QTest::newRow("text") << false;
        QTest::newRow("json") << true;
    }

    // The handler installLogFormat() installs, on the real stderr: one line per event,
    // the message escaped, the line format (or QT_MESSAGE_PATTERN) kept.
    void installedHandler()
    {
#ifndef Q_OS_UNIX
        QSKIP("captures file descriptor 2");
#else
        QFETCH(bool, json);
        const QString message = u"device \"a\u2028b\"\nforged line \u202e"_s;
        const QString escaped = u"device \"a\\u2028b\"\\nforged line \\u202e"_s;
        // QTest's own handler, to put back.
        const QtMessageHandler testHandler = qInstallMessageHandler(nullptr);
        qInstallMessageHandler(testHandler);
        const QByteArray output = captureStderr([&] {
            installLogFormat(json ? LogFormat::Json : LogFormat::Text, u"node-7"_s);
            qCInfo(lcLogTest).noquote() << message;
            qCWarning(lcLogTest).noquote() << u"plain"_s;
            qInstallMessageHandler(testHandler);
        });
        const QList<QByteArray> lines = output.split('\n');
        QCOMPARE(lines.size(), 3);
        QVERIFY(lines.at(2).isEmpty());
        if (json) {
            const QJsonObject first = QJsonDocument::fromJson(lines.at(0)).object();
            QCOMPARE(first.value(u"msg"_s).toString(), escaped);
            QCOMPARE(first.value(u"level"_s).toString(), u"info"_s);
            QCOMPARE(first.value(u"category"_s).toString(), u"parley.logtest"_s);
            QCOMPARE(first.value(u"node"_s).toString(), u"node-7"_s);
            QCOMPARE(QJsonDocument::fromJson(lines.at(1)).object().value(u"msg"_s).toString(),
                u"plain"_s);
            return;
        }
        const QString pattern = qEnvironmentVariable("QT_MESSAGE_PATTERN");
        if (!pattern.isEmpty()) {
            // Registered as tst_logformat_pattern with "%{type}|%{category}|%{message}".
            QCOMPARE(pattern, u"%{type}|%{category}|%{message}"_s);
            QCOMPARE(QString::fromUtf8(lines.at(0)), u"info|parley.logtest|"_s + escaped);
            QCOMPARE(lines.at(1), QByteArray("warning|parley.logtest|plain"));
            return;
        }
        static const QRegularExpression time(
            u"^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3} "_s);
        const QString first = QString::fromUtf8(lines.at(0));
        const QString second = QString::fromUtf8(lines.at(1));
        QVERIFY2(time.match(first).hasMatch(), qPrintable(first));
        QCOMPARE(first.mid(24), u"info parley.logtest: "_s + escaped);
        QVERIFY2(time.match(second).hasMatch(), qPrintable(second));
        QCOMPARE(second.mid(24), u"warning parley.logtest: plain"_s);
#endif
    }
};

QTEST_GUILESS_MAIN(TestLogFormat)
#include "tst_logformat.moc"
