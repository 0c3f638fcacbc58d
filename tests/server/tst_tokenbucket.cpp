#include "tokenbucket.h"

#include <QTest>

#include <limits>

using parley::server::TokenBucket;

class TestTokenBucket : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void startsFullThenRefuses();
    void refusedTakeTakesNothing();
    void refillsOverTime();
    void refillStopsAtCapacity();
    void fractionalCosts();
    void retryAfter_data();
    void retryAfter();
    void waitingRetryAfterAlwaysSucceeds_data();
    void waitingRetryAfterAlwaysSucceeds();
    void neverAvailable();
    void largeTimeJumps();
    void clockSteppingBackDoesNotMintTokens();
};

void TestTokenBucket::startsFullThenRefuses()
{
    // The protocol's default send limit: a burst of 200, 50 per second.
    TokenBucket bucket(200, 50);
    const qint64 t = 1'000'000;
    QCOMPARE(bucket.retryAfterMs(t), 0);
    for (int i = 0; i < 200; ++i)
        QVERIFY2(bucket.take(t), qPrintable(QString::number(i)));
    QVERIFY(!bucket.take(t));
    QCOMPARE(bucket.retryAfterMs(t), 20);
}

void TestTokenBucket::refusedTakeTakesNothing()
{
    TokenBucket bucket(2, 1);
    QVERIFY(bucket.take(0, 1.5));
    QVERIFY(!bucket.take(0, 1));
    QVERIFY(!bucket.take(0, 1));
    QCOMPARE(bucket.tokens(0), 0.5);
    QCOMPARE(bucket.retryAfterMs(0), 500);
}

void TestTokenBucket::refillsOverTime()
{
    TokenBucket bucket(5, 10); // one token per 100 ms
    for (int i = 0; i < 5; ++i)
        QVERIFY(bucket.take(0));
    QVERIFY(!bucket.take(0));
    QVERIFY(!bucket.take(99));
    QVERIFY(bucket.take(100));
    QVERIFY(!bucket.take(100));
    QVERIFY(!bucket.take(199));
    QVERIFY(bucket.take(200));
    // 250 ms later: 2.5 tokens.
    QCOMPARE(bucket.tokens(450), 2.5);
    QVERIFY(bucket.take(450));
    QVERIFY(bucket.take(450));
    QVERIFY(!bucket.take(450));
}

void TestTokenBucket::refillStopsAtCapacity()
{
    TokenBucket bucket(3, 100);
    QVERIFY(bucket.take(0, 3));
    QCOMPARE(bucket.tokens(10'000), 3.0);
    QVERIFY(bucket.take(10'000, 3));
    QVERIFY(!bucket.take(10'000));
}

void TestTokenBucket::fractionalCosts()
{
    TokenBucket bucket(1, 1);
    QVERIFY(bucket.take(0, 0.25));
    QVERIFY(bucket.take(0, 0.25));
    QVERIFY(bucket.take(0, 0.5));
    QVERIFY(!bucket.take(0, 0.25));
    QCOMPARE(bucket.retryAfterMs(0, 0.25), 250);
}

void TestTokenBucket::retryAfter_data()
{
    QTest::addColumn<double>("capacity");
    QTest::addColumn<double>("perSecond");
    QTest::addColumn<double>("drain"); // taken at t = 0
    QTest::addColumn<qint64>("now");
    QTest::addColumn<double>("want");
    QTest::addColumn<qint64>("expected");

    QTest::newRow("available") << 10.0 << 1.0 << 9.0 << qint64(0) << 1.0 << qint64(0);
    QTest::newRow("empty, 1/s") << 10.0 << 1.0 << 10.0 << qint64(0) << 1.0 << qint64(1000);
    QTest::newRow("empty, 1/s, 250 ms later")
        << 10.0 << 1.0 << 10.0 << qint64(250) << 1.0 << qint64(750);
    QTest::newRow("just available") << 10.0 << 1.0 << 10.0 << qint64(1000) << 1.0 << qint64(0);
    QTest::newRow("empty, 50/s") << 200.0 << 50.0 << 200.0 << qint64(0) << 1.0 << qint64(20);
    QTest::newRow("rounds up, 3/s") << 10.0 << 3.0 << 10.0 << qint64(0) << 1.0 << qint64(334);
    QTest::newRow("rounds up, 7/s") << 10.0 << 7.0 << 10.0 << qint64(0) << 1.0 << qint64(143);
    QTest::newRow("fast refill is still >= 1 ms")
        << 10.0 << 5000.0 << 10.0 << qint64(0) << 1.0 << qint64(1);
    QTest::newRow("several tokens") << 10.0 << 4.0 << 10.0 << qint64(0) << 2.5 << qint64(625);
    QTest::newRow("partly refilled") << 10.0 << 4.0 << 10.0 << qint64(100) << 2.5 << qint64(525);
    QTest::newRow("whole capacity") << 10.0 << 2.0 << 10.0 << qint64(0) << 10.0 << qint64(5000);
}

void TestTokenBucket::retryAfter()
{
    QFETCH(double, capacity);
    QFETCH(double, perSecond);
    QFETCH(double, drain);
    QFETCH(qint64, now);
    QFETCH(double, want);
    QFETCH(qint64, expected);

    TokenBucket bucket(capacity, perSecond);
    QVERIFY(bucket.take(0, drain));
    QCOMPARE(bucket.retryAfterMs(now, want), expected);
    // retryAfterMs() is a query: asking twice gives the same answer.
    QCOMPARE(bucket.retryAfterMs(now, want), expected);
    if (expected > 0) {
        QVERIFY(!bucket.take(now + expected - 1, want));
        QVERIFY(bucket.take(now + expected, want));
    } else {
        QVERIFY(bucket.take(now, want));
    }
}

void TestTokenBucket::waitingRetryAfterAlwaysSucceeds_data()
{
    QTest::addColumn<double>("perSecond");
    for (double rate : {0.3, 1.0, 3.0, 7.0, 13.0, 50.0, 333.0, 1000.0, 4999.0})
        QTest::addRow("%g/s", rate) << rate;
}

void TestTokenBucket::waitingRetryAfterAlwaysSucceeds()
{
    // The promise behind error.retryAfterMs: waiting that long is enough and
    // one millisecond less is not, with no floating-point drift over many rounds.
    QFETCH(double, perSecond);
    TokenBucket bucket(5, perSecond);
    qint64 now = 1'700'000'000'000;
    QVERIFY(bucket.take(now, 5));
    int waits = 0;
    for (int round = 0; round < 2000; ++round) {
        const QByteArray where = "round " + QByteArray::number(round);
        const qint64 wait = bucket.retryAfterMs(now);
        if (wait > 0) {
            ++waits;
            QVERIFY2(!bucket.take(now + wait - 1), where.constData());
            now += wait;
        }
        QVERIFY2(bucket.take(now), where.constData());
    }
    QVERIFY(waits > 0);
}

void TestTokenBucket::neverAvailable()
{
    const qint64 never = std::numeric_limits<qint64>::max();
    TokenBucket small(2, 10);
    QCOMPARE(small.retryAfterMs(0, 3), never);
    QVERIFY(!small.take(1'000'000, 3));

    TokenBucket noRefill(2, 0);
    QVERIFY(noRefill.take(0, 2));
    QCOMPARE(noRefill.retryAfterMs(1'000'000), never);
    QVERIFY(!noRefill.take(1'000'000));
}

void TestTokenBucket::largeTimeJumps()
{
    TokenBucket bucket(10, 1e6);
    QVERIFY(bucket.take(0, 10));
    QCOMPARE(bucket.tokens(std::numeric_limits<qint64>::max()), 10.0);
    QVERIFY(bucket.take(std::numeric_limits<qint64>::max(), 10));
    QVERIFY(!bucket.take(std::numeric_limits<qint64>::max()));
    QCOMPARE(bucket.retryAfterMs(std::numeric_limits<qint64>::max()), 1);

    // Starting far in the negative is no different.
    TokenBucket early(10, 1);
    QVERIFY(early.take(std::numeric_limits<qint64>::min(), 10));
    QCOMPARE(early.tokens(std::numeric_limits<qint64>::max()), 10.0);
}

void TestTokenBucket::clockSteppingBackDoesNotMintTokens()
{
    TokenBucket bucket(1, 10);
    QVERIFY(bucket.take(10'000));
    QVERIFY(!bucket.take(5'000));
    QVERIFY(!bucket.take(10'000));
    QCOMPARE(bucket.retryAfterMs(10'000), 100);
    QVERIFY(!bucket.take(10'099));
    QVERIFY(bucket.take(10'100));
}

QTEST_GUILESS_MAIN(TestTokenBucket)
#include "tst_tokenbucket.moc"
