// SendOrderGuard: which failures hold a connection's conversation back, what ends the hold.
#include "sendorder.h"

#include <QtTest>

using namespace Qt::StringLiterals;
using parley::server::SendOrderGuard;
using parley::server::SendRequest;
using parley::server::StoreError;

namespace {

SendRequest send(quint64 origin, const QString &to, const QString &cid)
{
    return SendRequest {u"alice"_s, to, cid, u"body"_s, 0, origin};
}

const StoreError Unavailable {StoreError::Code::Unavailable, u"down"_s};
constexpr quint64 Later = 1'000'000; // submitted after every failure of these tests

} // namespace

class TestSendOrder : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void laterSendsWaitForTheFailedOne()
    {
        SendOrderGuard guard;
        QVERIFY(!guard.admit(send(1, u"bob"_s, u"a"_s), 0, Later));
        guard.failed(send(1, u"bob"_s, u"a"_s), Unavailable, 10, 1);
        // A later failure (one refused, or one that failed too) does not move the hold.
        guard.failed(send(1, u"bob"_s, u"b"_s), Unavailable, 11, 2);
        const auto refused = guard.admit(send(1, u"bob"_s, u"b"_s), 20, Later);
        QVERIFY(refused);
        QCOMPARE(refused->code, StoreError::Code::OutOfOrder);
        QVERIFY(refused->message.contains(u"bob"_s));
        QVERIFY(!guard.admit(send(2, u"bob"_s, u"x"_s), 20, Later)); // another connection
        QVERIFY(!guard.admit(send(1, u"carol"_s, u"y"_s), 20, Later)); // another conversation
        QVERIFY(!guard.admit(send(0, u"bob"_s, u"z"_s), 20, Later)); // no connection: never held
        guard.sentAgain(send(1, u"bob"_s, u"x"_s)); // not the held one: nothing changes
        QVERIFY(guard.admit(send(1, u"bob"_s, u"b"_s), 25, Later));
        QVERIFY(!guard.admit(send(1, u"bob"_s, u"a"_s), 30, Later)); // the failed one again
        QVERIFY(!guard.admit(send(1, u"bob"_s, u"b"_s), 31, Later));
        QCOMPARE(guard.holds(), 0);
    }

    // Failures can be learned out of submission order (DynamoDB: a later message's cid
    // check fails while an earlier one's sends item is still being written): the hold
    // moves to the older one, which the client sends again first.
    void theOldestFailureHolds()
    {
        SendOrderGuard guard;
        guard.failed(send(1, u"bob"_s, u"later"_s), Unavailable, 10, 9);
        guard.failed(send(1, u"bob"_s, u"earlier"_s), Unavailable, 11, 4);
        guard.failed(send(1, u"bob"_s, u"latest"_s), Unavailable, 12, 12);
        QVERIFY(guard.admit(send(1, u"bob"_s, u"later"_s), 20, Later));
        // Submitted before the failed one (still checking its cid when that failed): it
        // cannot overtake it, and goes on.
        QVERIFY(!guard.admit(send(1, u"bob"_s, u"before"_s), 20, 3));
        QVERIFY(!guard.admit(send(1, u"bob"_s, u"earlier"_s), 21, Later));
        QVERIFY(!guard.admit(send(1, u"bob"_s, u"later"_s), 22, Later));
    }

    // A held message answered without admission (a duplicate) ends the hold too.
    void theHeldMessageSentAgainEndsTheHold()
    {
        SendOrderGuard guard;
        guard.failed(send(1, u"bob"_s, u"a"_s), Unavailable, 10, 1);
        guard.sentAgain(send(2, u"bob"_s, u"a"_s)); // another connection's cid "a"
        QVERIFY(guard.admit(send(1, u"bob"_s, u"b"_s), 20, Later));
        guard.sentAgain(send(1, u"bob"_s, u"a"_s));
        QVERIFY(!guard.admit(send(1, u"bob"_s, u"b"_s), 21, Later));
        QCOMPARE(guard.holds(), 0);
    }

    void onlyRetriedFailuresHold_data()
    {
        QTest::addColumn<int>("code");
        QTest::addColumn<bool>("holds");
        QTest::newRow("unavailable") << int(StoreError::Code::Unavailable) << true;
        QTest::newRow("internal") << int(StoreError::Code::Internal) << true;
        QTest::newRow("not found") << int(StoreError::Code::NotFound) << false;
        QTest::newRow("invalid") << int(StoreError::Code::Invalid) << false;
        QTest::newRow("conflict") << int(StoreError::Code::Conflict) << false;
        QTest::newRow("out of order") << int(StoreError::Code::OutOfOrder) << false;
    }

    void onlyRetriedFailuresHold()
    {
        QFETCH(int, code);
        QFETCH(bool, holds);
        SendOrderGuard guard;
        guard.failed(send(1, u"bob"_s, u"a"_s), StoreError {StoreError::Code(code), {}}, 0, 1);
        QCOMPARE(bool(guard.admit(send(1, u"bob"_s, u"b"_s), 1, Later)), holds);
        QCOMPARE(SendOrderGuard::retried(StoreError {StoreError::Code(code), {}}), holds);
    }

    // A message the user cancelled never comes again: the hold ends after HoldMs, and a
    // new failure after that holds for the new message.
    void holdExpires()
    {
        SendOrderGuard guard;
        guard.failed(send(1, u"bob"_s, u"a"_s), Unavailable, 1000, 1);
        QVERIFY(guard.admit(send(1, u"bob"_s, u"b"_s), 1000 + SendOrderGuard::HoldMs, Later));
        QVERIFY(!guard.admit(send(1, u"bob"_s, u"b"_s), 1001 + SendOrderGuard::HoldMs, Later));
        guard.failed(send(1, u"bob"_s, u"a"_s), Unavailable, 1000, 1);
        guard.failed(send(1, u"bob"_s, u"c"_s), Unavailable, 1001 + SendOrderGuard::HoldMs, 3);
        QVERIFY(guard.admit(send(1, u"bob"_s, u"d"_s), 1002 + SendOrderGuard::HoldMs, Later));
        QVERIFY(!guard.admit(send(1, u"bob"_s, u"c"_s), 1002 + SendOrderGuard::HoldMs, Later));
    }

    // Bounded: a flood of failing connections cannot grow the table past MaxHolds; expired
    // holds make room first.
    void holdsAreBounded()
    {
        SendOrderGuard guard;
        for (quint64 origin = 1; origin <= quint64(SendOrderGuard::MaxHolds); ++origin)
            guard.failed(send(origin, u"bob"_s, u"a"_s), Unavailable, 0, origin);
        QCOMPARE(guard.holds(), SendOrderGuard::MaxHolds);
        const quint64 beyond = quint64(SendOrderGuard::MaxHolds) + 1;
        guard.failed(send(beyond, u"bob"_s, u"a"_s), Unavailable, 1, beyond);
        QCOMPARE(guard.holds(), SendOrderGuard::MaxHolds);
        QVERIFY(!guard.admit(send(beyond, u"bob"_s, u"b"_s), 2, Later)); // not kept
        guard.failed(
            send(beyond, u"bob"_s, u"a"_s), Unavailable, SendOrderGuard::HoldMs + 1, beyond + 1);
        QCOMPARE(guard.holds(), 1); // the expired ones went
        QVERIFY(guard.admit(send(beyond, u"bob"_s, u"b"_s), SendOrderGuard::HoldMs + 2, Later));
    }
};

QTEST_GUILESS_MAIN(TestSendOrder)
#include "tst_sendorder.moc"
