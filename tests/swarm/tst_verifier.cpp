// The verifier on synthetic event streams: a clean run, then planted loss, duplicates,
// reordering, unacked sends, a second device that misses messages, deliveries that
// arrive before the ack, and the list of offenders.
#include "verifier.h"

#include <QtTest>

using namespace Qt::StringLiterals;
using parley::swarm::Verdict;
using parley::swarm::Verifier;

namespace {

// A conversation alice -> bob of `n` messages m1..mn with seq 1..n, bob on one device.
Verifier conversation(int n, bool deliver = true)
{
    Verifier v;
    v.addDevice(u"alice"_s, u"alice/d0"_s);
    v.addDevice(u"bob"_s, u"bob/d0"_s);
    for (int i = 1; i <= n; ++i) {
        const QString cid = u"m%1"_s.arg(i);
        v.sent(cid, u"alice"_s, u"bob"_s);
        v.acked(cid, u"alice:bob"_s, i);
        if (deliver)
            v.delivered(u"bob/d0"_s, cid, u"alice:bob"_s, i);
    }
    return v;
}

} // namespace

class TestVerifier : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cleanRun()
    {
        const Verifier v = conversation(100);
        QVERIFY(v.settled());
        const Verdict d = v.verdict();
        QCOMPARE(d.sent, 100);
        QCOMPARE(d.acked, 100);
        QCOMPARE(d.delivered, 100);
        QCOMPARE(d.lost + d.duplicates + d.reordered + d.unacked + d.mismatched, 0);
        QVERIFY(d.offenders.isEmpty());
    }

    void plantedFaults_data()
    {
        QTest::addColumn<QString>("plant");
        QTest::addColumn<qint64>("lost");
        QTest::addColumn<qint64>("duplicates");
        QTest::addColumn<qint64>("reordered");
        QTest::addColumn<qint64>("unacked");
        QTest::addColumn<QString>("offender"); // kind:cid of the first offender
        QTest::newRow("one lost") << u"lose m7"_s << 1LL << 0LL << 0LL << 0LL << u"lost:m7"_s;
        QTest::newRow("one duplicated twice")
            << u"duplicate m3"_s << 0LL << 2LL << 0LL << 0LL << u"duplicate:m3"_s;
        QTest::newRow("two swapped")
            << u"swap m4 m5"_s << 0LL << 0LL << 1LL << 0LL << u"reordered:m4"_s;
        QTest::newRow("never acked")
            << u"unack m9"_s << 0LL << 0LL << 0LL << 1LL << u"unacked:m9"_s;
    }
    void plantedFaults()
    {
        QFETCH(QString, plant);
        QFETCH(qint64, lost);
        QFETCH(qint64, duplicates);
        QFETCH(qint64, reordered);
        QFETCH(qint64, unacked);
        QFETCH(QString, offender);
        const QStringList words = plant.split(u' ');
        Verifier v;
        v.addDevice(u"bob"_s, u"bob/d0"_s);
        QList<int> order;
        for (int i = 1; i <= 10; ++i)
            order.append(i);
        if (words[0] == u"swap"_s)
            order.swapItemsAt(3, 4);
        for (int i = 1; i <= 10; ++i) {
            const QString cid = u"m%1"_s.arg(i);
            v.sent(cid, u"alice"_s, u"bob"_s);
            if (!(words[0] == u"unack"_s && words[1] == cid))
                v.acked(cid, u"alice:bob"_s, i);
        }
        for (const int i : order) {
            const QString cid = u"m%1"_s.arg(i);
            if (words[0] == u"lose"_s && words[1] == cid)
                continue;
            const int times = words[0] == u"duplicate"_s && words[1] == cid ? 3 : 1;
            for (int t = 0; t < times; ++t)
                v.delivered(u"bob/d0"_s, cid, u"alice:bob"_s, i);
        }
        const Verdict d = v.verdict();
        QCOMPARE(d.lost, lost);
        QCOMPARE(d.duplicates, duplicates);
        QCOMPARE(d.reordered, reordered);
        QCOMPARE(d.unacked, unacked);
        QCOMPARE(v.settled(), lost == 0 && unacked == 0);
        QVERIFY(!d.offenders.isEmpty());
        const auto &first = d.offenders.first();
        QCOMPARE(first.kind + u':' + first.cid, offender);
        QCOMPARE(first.conv, u"alice:bob"_s);
    }

    void sendOrderIsChecked()
    {
        // alice/d0 sends m1..m4; the server gives m3 a seq below m2's (the case of a
        // refused send queued again behind later ones). Every delivery is in seq order,
        // so only the send order can tell.
        Verifier v;
        v.addDevice(u"bob"_s, u"bob/d0"_s);
        const QList<std::pair<QString, qint64>> acks
            = {{u"m1"_s, 1}, {u"m2"_s, 3}, {u"m3"_s, 2}, {u"m4"_s, 4}};
        for (const auto &[cid, seq] : acks)
            v.sent(cid, u"alice"_s, u"bob"_s, u"alice/d0"_s);
        for (const auto &[cid, seq] : acks)
            v.acked(cid, u"alice:bob"_s, seq);
        for (const QString &cid : {u"m1"_s, u"m3"_s, u"m2"_s, u"m4"_s})
            v.delivered(u"bob/d0"_s, cid, u"alice:bob"_s,
                std::find_if(acks.cbegin(), acks.cend(), [&](const auto &a) {
                    return a.first == cid;
                })->second);
        const Verdict d = v.verdict();
        QCOMPARE(d.lost + d.duplicates + d.unacked + d.mismatched, 0);
        QCOMPARE(d.reordered, 1);
        QCOMPARE(d.offenders.size(), 1);
        QCOMPARE(d.offenders.first().kind, u"send_order"_s);
        QCOMPARE(d.offenders.first().cid, u"m3"_s);
        QVERIFY(d.offenders.first().detail.contains(u"after m2"_s));
    }

    void sendOrderIsPerSendingDevice()
    {
        // Two devices of alice send at the same time: their messages interleave in any
        // order, and that is not a violation; each device's own order still counts.
        Verifier v;
        v.addDevice(u"bob"_s, u"bob/d0"_s);
        v.sent(u"a1"_s, u"alice"_s, u"bob"_s, u"alice/d0"_s);
        v.sent(u"b1"_s, u"alice"_s, u"bob"_s, u"alice/d1"_s);
        v.sent(u"a2"_s, u"alice"_s, u"bob"_s, u"alice/d0"_s);
        v.sent(u"b2"_s, u"alice"_s, u"bob"_s, u"alice/d1"_s);
        const QList<std::pair<QString, qint64>> acks
            = {{u"b1"_s, 1}, {u"b2"_s, 2}, {u"a1"_s, 3}, {u"a2"_s, 4}};
        for (const auto &[cid, seq] : acks) {
            v.acked(cid, u"alice:bob"_s, seq);
            v.delivered(u"bob/d0"_s, cid, u"alice:bob"_s, seq);
        }
        QCOMPARE(v.verdict().reordered, 0);
    }

    void everyDeviceOfTheRecipient()
    {
        Verifier v;
        v.addDevice(u"bob"_s, u"bob/phone"_s);
        v.addDevice(u"bob"_s, u"bob/laptop"_s);
        v.sent(u"c1"_s, u"alice"_s, u"bob"_s);
        v.acked(u"c1"_s, u"alice:bob"_s, 1);
        v.delivered(u"bob/phone"_s, u"c1"_s, u"alice:bob"_s, 1);
        QVERIFY(!v.settled()); // the laptop has not got it yet
        Verdict d = v.verdict();
        QCOMPARE(d.lost, 1);
        QVERIFY(d.offenders.first().detail.contains(u"bob/laptop"_s));
        v.delivered(u"bob/laptop"_s, u"c1"_s, u"alice:bob"_s, 1);
        QVERIFY(v.settled());
        d = v.verdict();
        QCOMPARE(d.lost, 0);
        QCOMPARE(d.delivered, 2);
    }

    void deliveryBeforeSendAndAck()
    {
        // Threads race: the recipient may see a message before the sender records it.
        Verifier v;
        v.addDevice(u"bob"_s, u"bob/d0"_s);
        v.delivered(u"bob/d0"_s, u"c1"_s, u"alice:bob"_s, 1);
        QVERIFY(v.settled());
        v.sent(u"c1"_s, u"alice"_s, u"bob"_s);
        QVERIFY(!v.settled());
        v.acked(u"c1"_s, u"alice:bob"_s, 1);
        QVERIFY(v.settled());
        const Verdict d = v.verdict();
        QCOMPARE(d.lost + d.unexpected + d.unacked, 0);
        QCOMPARE(d.delivered, 1);
    }

    void mismatchAndUnexpected()
    {
        Verifier v;
        v.addDevice(u"bob"_s, u"bob/d0"_s);
        v.sent(u"c1"_s, u"alice"_s, u"bob"_s);
        v.acked(u"c1"_s, u"alice:bob"_s, 1);
        v.delivered(u"bob/d0"_s, u"c1"_s, u"alice:bob"_s, 2);
        v.delivered(u"bob/d0"_s, u"stranger"_s, u"bob:carol"_s, 1);
        const Verdict d = v.verdict();
        QCOMPARE(d.mismatched, 1);
        QCOMPARE(d.unexpected, 1);
        QCOMPARE(d.errors.value(u"verifier.mismatch"_s), 1);
        QCOMPARE(d.errors.value(u"verifier.unexpected"_s), 1);
    }

    void offendersAreCappedPerKind()
    {
        const Verifier v = conversation(50, false);
        const Verdict d = v.verdict(4);
        QCOMPARE(d.lost, 50);
        QCOMPARE(d.offenders.size(), 4);
        QCOMPARE(d.offenders.first().cid, u"m1"_s); // sending order
    }

    void resendCountsOnce()
    {
        Verifier v = conversation(3);
        v.sent(u"m2"_s, u"alice"_s, u"bob"_s); // the outbox resent it with the same cid
        v.acked(u"m2"_s, u"alice:bob"_s, 2);
        const Verdict d = v.verdict();
        QCOMPARE(d.sent, 3);
        QCOMPARE(d.duplicates, 0);
    }
};

QTEST_GUILESS_MAIN(TestVerifier)
#include "tst_verifier.moc"
