// The JSON log lines of parley_process: one line per event, valid JSON with the five
// fields, whatever the message holds.
#include "logformat.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QtTest>

using namespace Qt::StringLiterals;
using namespace parley::process;

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
        QCOMPARE(event.value(u"msg"_s).toString(), message);
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
};

QTEST_GUILESS_MAIN(TestLogFormat)
#include "tst_logformat.moc"
