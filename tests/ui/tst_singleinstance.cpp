// One client per profile: a second launch of the same profile reaches the running one,
// which brings its window to the front, and exits; other profiles run side by side.
#include "singleinstance.h"

#include <QLocalSocket>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using parley::ui::SingleInstance;

class TestSingleInstance : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_home;

    QProcessEnvironment environment() const
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"QT_QPA_PLATFORM"_s, u"offscreen"_s);
        env.insert(u"XDG_CONFIG_HOME"_s, m_home.filePath(u"config"_s));
        env.insert(u"XDG_DATA_HOME"_s, m_home.filePath(u"data"_s));
        env.insert(u"QT_LOGGING_RULES"_s, u"parley.ui.info=true"_s);
        return env;
    }

    // The data dir the client derives for a profile under XDG_DATA_HOME.
    QString profileDir(const QString &name) const
    {
        return m_home.filePath(u"data/parley/profiles/"_s + name);
    }

    static bool isListening(const QString &key)
    {
        QLocalSocket probe;
        probe.connectToServer(SingleInstance::serverName(key));
        const bool up = probe.waitForConnected(200);
        probe.abort();
        return up;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_home.isValid()); }

    void secondCallReachesTheFirst()
    {
        const QString key = m_home.filePath(u"in-process"_s);
        SingleInstance first(key);
        QString error;
        QVERIFY2(first.listen(&error), qPrintable(error));
        QSignalSpy spy(&first, &SingleInstance::activationRequested);
        QVERIFY(SingleInstance::activateRunning(key));
        QTRY_COMPARE(spy.count(), 1);
        QVERIFY(SingleInstance::activateRunning(key));
        QTRY_COMPARE(spy.count(), 2);
    }

    void nobodyToReach()
    {
        QVERIFY(!SingleInstance::activateRunning(m_home.filePath(u"nobody"_s), 500));
    }

    void strangersAreIgnored()
    {
        const QString key = m_home.filePath(u"strangers"_s);
        SingleInstance first(key);
        QString error;
        QVERIFY(first.listen(&error));
        QSignalSpy spy(&first, &SingleInstance::activationRequested);
        QLocalSocket stranger;
        stranger.connectToServer(SingleInstance::serverName(key));
        QVERIFY(stranger.waitForConnected(2000));
        stranger.write("something else\n");
        QVERIFY(stranger.waitForBytesWritten(2000));
        // The instance hangs up once it has read the stranger's line: by then it has
        // decided, and it must not have asked for the window.
        QTRY_COMPARE(stranger.state(), QLocalSocket::UnconnectedState);
        QCOMPARE(spy.count(), 0);
        QVERIFY(SingleInstance::activateRunning(key));
        QTRY_COMPARE(spy.count(), 1); // only the real request counted
    }

    void secondLaunchRaisesTheFirstAndExits()
    {
        QProcess first;
        first.setProcessEnvironment(environment());
        first.setProcessChannelMode(QProcess::SeparateChannels);
        first.start(QStringLiteral(PARLEY_BINARY), {u"--profile"_s, u"solo"_s});
        QVERIFY(first.waitForStarted());
        const QString key = profileDir(u"solo"_s);
        QTRY_VERIFY_WITH_TIMEOUT(isListening(key), 30000);

        QProcess second;
        second.setProcessEnvironment(environment());
        second.start(QStringLiteral(PARLEY_BINARY), {u"--profile"_s, u"solo"_s});
        QVERIFY(second.waitForFinished(30000));
        QCOMPARE(second.exitStatus(), QProcess::NormalExit);
        QCOMPARE(second.exitCode(), 0);
        QVERIFY(second.readAllStandardOutput().contains("already running with profile solo"));

        QByteArray log;
        QTRY_VERIFY_WITH_TIMEOUT(
            (log += first.readAllStandardError()).contains("asked for the window"), 10000);
        QCOMPARE(first.state(), QProcess::Running);

        // Another profile is not "the same client": it starts alongside.
        QProcess other;
        other.setProcessEnvironment(environment());
        other.start(QStringLiteral(PARLEY_BINARY), {u"--profile"_s, u"other"_s});
        QVERIFY(other.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(isListening(profileDir(u"other"_s)), 30000);
        QCOMPARE(other.state(), QProcess::Running);

        for (QProcess *p : {&first, &other}) {
            p->terminate();
            if (!p->waitForFinished(10000)) {
                p->kill();
                p->waitForFinished();
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestSingleInstance)
#include "tst_singleinstance.moc"
