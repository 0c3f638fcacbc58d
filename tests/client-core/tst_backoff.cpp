// Backoff: exponential ceilings, full jitter, reset after a stable link. The random
// source is injected, so every delay here is exact.
#include "backoff.h"

#include <QTest>

using parley::client::Backoff;
using parley::client::BackoffPolicy;
using parley::client::LinkEnd;

namespace {

BackoffPolicy policy(qint64 baseMs = 500, qint64 capMs = 30000, qint64 stableMs = 60000)
{
    return BackoffPolicy {baseMs, capMs, stableMs};
}

Backoff withDraw(double draw, BackoffPolicy p = policy())
{
    return Backoff(p, [draw] { return draw; });
}

} // namespace

class tst_Backoff : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void ceilingDoublesUpToTheCap_data()
    {
        QTest::addColumn<int>("attempts");
        QTest::addColumn<qint64>("ceiling");
        QTest::newRow("first") << 0 << qint64(500);
        QTest::newRow("second") << 1 << qint64(1000);
        QTest::newRow("third") << 2 << qint64(2000);
        QTest::newRow("fourth") << 3 << qint64(4000);
        QTest::newRow("fifth") << 4 << qint64(8000);
        QTest::newRow("sixth") << 5 << qint64(16000);
        QTest::newRow("capped") << 6 << qint64(30000); // 32000 is over the cap
        QTest::newRow("stays capped") << 20 << qint64(30000);
    }
    void ceilingDoublesUpToTheCap()
    {
        QFETCH(int, attempts);
        QFETCH(qint64, ceiling);
        Backoff backoff = withDraw(0.999999);
        for (int i = 0; i < attempts; ++i)
            backoff.nextDelayMs();
        QCOMPARE(backoff.attempts(), attempts);
        QCOMPARE(backoff.currentCeilingMs(), ceiling);
        // The largest draw lands on the ceiling itself: the range is [0, ceiling].
        QCOMPARE(backoff.nextDelayMs(), ceiling);
        QCOMPARE(backoff.attempts(), attempts + 1);
    }

    void jitterStaysWithinTheCeiling_data()
    {
        QTest::addColumn<double>("draw");
        QTest::addColumn<int>("attempts");
        QTest::addColumn<qint64>("delay");
        // floor(draw * (ceiling + 1))
        QTest::newRow("zero, first") << 0.0 << 0 << qint64(0);
        QTest::newRow("zero, capped") << 0.0 << 10 << qint64(0);
        QTest::newRow("half, first") << 0.5 << 0 << qint64(250); // 250.5
        QTest::newRow("half, third") << 0.5 << 2 << qint64(1000); // 1000.5
        QTest::newRow("half, capped") << 0.5 << 10 << qint64(15000); // 15000.5
        QTest::newRow("almost one, first") << 0.999999 << 0 << qint64(500);
        QTest::newRow("almost one, capped") << 0.999999 << 10 << qint64(30000);
        // A source that breaks its promise and returns 1 still stays in range.
        QTest::newRow("one, first") << 1.0 << 0 << qint64(500);
    }
    void jitterStaysWithinTheCeiling()
    {
        QFETCH(double, draw);
        QFETCH(int, attempts);
        QFETCH(qint64, delay);
        Backoff backoff = withDraw(draw);
        for (int i = 0; i < attempts; ++i)
            backoff.nextDelayMs();
        QCOMPARE(backoff.nextDelayMs(), delay);
    }

    void defaultRandomSourceStaysInRange()
    {
        Backoff backoff(policy(100, 1000));
        for (int i = 0; i < 200; ++i) {
            const qint64 ceiling = backoff.currentCeilingMs();
            const qint64 delay = backoff.nextDelayMs();
            QVERIFY2(delay >= 0 && delay <= ceiling,
                qPrintable(QStringLiteral("%1 not in [0, %2]").arg(delay).arg(ceiling)));
        }
    }

    void stableLinkResetsTheCount_data()
    {
        QTest::addColumn<qint64>("upForMs");
        QTest::addColumn<int>("attemptsAfter");
        QTest::newRow("stable for a minute") << qint64(60000) << 0;
        QTest::newRow("stable for longer") << qint64(600000) << 0;
        QTest::newRow("flapped after 5 s") << qint64(5000) << 4;
        QTest::newRow("just short of stable") << qint64(59999) << 4;
    }
    void stableLinkResetsTheCount()
    {
        QFETCH(qint64, upForMs);
        QFETCH(int, attemptsAfter);
        Backoff backoff = withDraw(0.5);
        for (int i = 0; i < 4; ++i)
            backoff.nextDelayMs();
        const qint64 t = 1000000;
        backoff.linkUp(t);
        backoff.linkDown(t + upForMs);
        QCOMPARE(backoff.attempts(), attemptsAfter);
        QCOMPARE(backoff.currentCeilingMs(), attemptsAfter == 0 ? qint64(500) : qint64(8000));
    }

    void howTheLinkEndedDecides_data()
    {
        QTest::addColumn<bool>("traffic");
        QTest::addColumn<int>("end"); // LinkEnd
        QTest::addColumn<qint64>("ceilingAfter");
        // Four failed attempts before (ceiling 8 s), then a link up for 3 s.
        QTest::newRow("lost after traffic: back at once")
            << true << int(LinkEnd::Lost) << qint64(500);
        QTest::newRow("lost before any traffic: keeps backing off")
            << false << int(LinkEnd::Lost) << qint64(8000);
        QTest::newRow("closed by the server: keeps backing off")
            << true << int(LinkEnd::ServerClosed) << qint64(8000);
        QTest::newRow("server restart after traffic: spread over 5 s")
            << true << int(LinkEnd::ServerRestart) << qint64(8000);
    }
    void howTheLinkEndedDecides()
    {
        QFETCH(bool, traffic);
        QFETCH(int, end);
        QFETCH(qint64, ceilingAfter);
        Backoff backoff = withDraw(0.5);
        for (int i = 0; i < 4; ++i)
            backoff.nextDelayMs();
        backoff.linkUp(1000);
        if (traffic)
            backoff.trafficSeen();
        backoff.linkDown(4000, LinkEnd(end));
        QCOMPARE(backoff.currentCeilingMs(), ceilingAfter);
    }

    void aFlappingLinkThatWorksReconnectsFast()
    {
        // A link cut every few seconds, each one signing in and carrying traffic: the
        // delay before each reconnect stays within the base, however many cuts.
        Backoff backoff = withDraw(0.999999);
        qint64 t = 0;
        for (int cut = 0; cut < 100; ++cut) {
            backoff.linkUp(t);
            backoff.trafficSeen();
            t += 3000;
            backoff.linkDown(t, LinkEnd::Lost);
            QVERIFY(backoff.nextDelayMs() <= 500);
        }
    }

    void aRestartSpreadsEvenAFreshClient()
    {
        // From attempt 0 the ceiling would be 500 ms: every client of a restarting server
        // would be back within half a second. The restart raises it to the spread.
        Backoff backoff = withDraw(0.5);
        backoff.linkUp(0);
        backoff.trafficSeen();
        backoff.linkDown(100000, LinkEnd::ServerRestart);
        QVERIFY(backoff.currentCeilingMs() >= 5000);
        QVERIFY(backoff.currentCeilingMs() < 10000);
    }

    void aLinkDroppedAtOnceProvesNothing()
    {
        // With provenAfterMs set: signed in, a frame, and gone within the second proves
        // nothing (the server may be dropping every link it takes), so the count grows.
        BackoffPolicy strict;
        strict.provenAfterMs = 1000;
        Backoff backoff(strict, [] { return 0.5; });
        for (int i = 0; i < 4; ++i)
            backoff.nextDelayMs();
        backoff.linkUp(0);
        backoff.trafficSeen();
        backoff.linkDown(999, LinkEnd::Lost);
        QCOMPARE(backoff.attempts(), 4);
        backoff.linkUp(2000);
        backoff.trafficSeen();
        backoff.linkDown(3000, LinkEnd::Lost);
        QCOMPARE(backoff.attempts(), 0);
    }

    void trafficBeforeSignInDoesNotCount()
    {
        Backoff backoff = withDraw(0.5);
        for (int i = 0; i < 4; ++i)
            backoff.nextDelayMs();
        backoff.trafficSeen(); // not signed in: ignored
        backoff.linkUp(0);
        backoff.linkDown(1000, LinkEnd::Lost);
        QCOMPARE(backoff.attempts(), 4);
    }

    void linkDownWithoutLinkUpKeepsCounting()
    {
        Backoff backoff = withDraw(0.5);
        backoff.nextDelayMs();
        backoff.nextDelayMs();
        backoff.linkDown(10000000); // never came up: a failed attempt, not a stable link
        QCOMPARE(backoff.attempts(), 2);
        // Each linkDown consumes the linkUp: a second one does not reset either.
        backoff.linkUp(0);
        backoff.linkDown(5000);
        backoff.linkDown(100000);
        QCOMPARE(backoff.attempts(), 2);
    }

    void resetStartsOver()
    {
        Backoff backoff = withDraw(0.999999);
        for (int i = 0; i < 7; ++i)
            backoff.nextDelayMs();
        backoff.reset();
        QCOMPARE(backoff.attempts(), 0);
        QCOMPARE(backoff.nextDelayMs(), qint64(500));
    }

    void hugeAttemptCountsDoNotOverflow_data()
    {
        QTest::addColumn<qint64>("baseMs");
        QTest::addColumn<qint64>("capMs");
        QTest::newRow("defaults") << qint64(500) << qint64(30000);
        QTest::newRow("cap near the limit")
            << qint64(500) << std::numeric_limits<qint64>::max() / 2;
        QTest::newRow("base over half the cap") << qint64(3) << qint64(5);
    }
    void hugeAttemptCountsDoNotOverflow()
    {
        QFETCH(qint64, baseMs);
        QFETCH(qint64, capMs);
        Backoff backoff(policy(baseMs, capMs), [] { return 0.999999; });
        for (int i = 0; i < 100; ++i)
            backoff.nextDelayMs();
        QCOMPARE(backoff.attempts(), 100);
        QCOMPARE(backoff.currentCeilingMs(), capMs);
        const qint64 delay = backoff.nextDelayMs();
        QVERIFY(delay > 0);
        QVERIFY(delay <= capMs);
    }
};

QTEST_GUILESS_MAIN(tst_Backoff)
#include "tst_backoff.moc"
