// AbuseGuard and clientAddress(): per-address and per-account limits, trusted proxies.
#include "abuseguard.h"

#include <QTest>

using namespace Qt::StringLiterals;
using namespace parley::server;

namespace {

QHostAddress addr(const char *text)
{
    return QHostAddress(QString::fromLatin1(text));
}

QList<Subnet> subnets(std::initializer_list<const char *> texts)
{
    QList<Subnet> list;
    for (const char *text : texts)
        list.append(*parseSubnet(QString::fromLatin1(text)));
    return list;
}

AbuseLimits noExempt()
{
    AbuseLimits limits;
    limits.exempt = {};
    return limits;
}

} // namespace

class TestAbuseGuard : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void clientAddressFromTrustedProxies_data()
    {
        QTest::addColumn<QString>("peer");
        QTest::addColumn<QByteArray>("forwardedFor");
        QTest::addColumn<QString>("expected");
        // Trusted: 127.0.0.1 and 10.0.0.0/8.
        QTest::newRow("untrusted peer ignores the header")
            << u"192.0.2.9"_s << QByteArray("198.51.100.1") << u"192.0.2.9"_s;
        QTest::newRow("no header") << u"127.0.0.1"_s << QByteArray() << u"127.0.0.1"_s;
        QTest::newRow("one hop") << u"127.0.0.1"_s << QByteArray("198.51.100.1")
                                 << u"198.51.100.1"_s;
        QTest::newRow("rightmost untrusted wins over a forged left part")
            << u"127.0.0.1"_s << QByteArray("1.2.3.4, 198.51.100.1") << u"198.51.100.1"_s;
        QTest::newRow("trusted hops are skipped")
            << u"127.0.0.1"_s << QByteArray("198.51.100.1, 10.1.2.3") << u"198.51.100.1"_s;
        QTest::newRow("all trusted: the leftmost")
            << u"127.0.0.1"_s << QByteArray("10.0.0.2,10.0.0.1") << u"10.0.0.2"_s;
        QTest::newRow("port on IPv4")
            << u"127.0.0.1"_s << QByteArray("198.51.100.1:5000") << u"198.51.100.1"_s;
        QTest::newRow("bracketed IPv6 with port")
            << u"127.0.0.1"_s << QByteArray("[2001:db8::5]:443") << u"2001:db8::5"_s;
        QTest::newRow("bare IPv6")
            << u"127.0.0.1"_s << QByteArray("2001:db8::5") << u"2001:db8::5"_s;
        QTest::newRow("garbage stops at the last good address")
            << u"127.0.0.1"_s << QByteArray("198.51.100.1, not-an-ip") << u"127.0.0.1"_s;
        QTest::newRow("garbage behind a trusted hop")
            << u"127.0.0.1"_s << QByteArray("unknown, 10.0.0.7") << u"10.0.0.7"_s;
        QTest::newRow("empty element") << u"127.0.0.1"_s << QByteArray(" , ") << u"127.0.0.1"_s;
        QTest::newRow("IPv4-mapped peer is IPv4")
            << u"::ffff:127.0.0.1"_s << QByteArray("198.51.100.1") << u"198.51.100.1"_s;
    }

    void clientAddressFromTrustedProxies()
    {
        QFETCH(QString, peer);
        QFETCH(QByteArray, forwardedFor);
        QFETCH(QString, expected);
        const auto trusted = subnets({"127.0.0.1", "10.0.0.0/8"});
        QCOMPARE(clientAddress(QHostAddress(peer), forwardedFor, trusted), QHostAddress(expected));
    }

    void parsesSubnets()
    {
        QVERIFY(parseSubnet(u"10.0.0.0/8"_s));
        QVERIFY(parseSubnet(u"::1"_s));
        QVERIFY(parseSubnet(u" 192.0.2.1 "_s));
        QVERIFY(!parseSubnet(u"10.0.0.0/33"_s));
        QVERIFY(!parseSubnet(u"example.org"_s));
        QVERIFY(!parseSubnet(u""_s));
    }

    void ipv6CountsPerSlash64()
    {
        QCOMPARE(AbuseGuard::addressKey(addr("2001:db8:1:2:aaaa::1")),
            AbuseGuard::addressKey(addr("2001:db8:1:2:bbbb::9")));
        QVERIFY(AbuseGuard::addressKey(addr("2001:db8:1:2::1"))
            != AbuseGuard::addressKey(addr("2001:db8:1:3::1")));
        QCOMPARE(AbuseGuard::addressKey(addr("::ffff:192.0.2.1")), u"192.0.2.1"_s);
    }

    void connectionCapPerAddress()
    {
        AbuseLimits limits = noExempt();
        limits.connectionsPerAddress = 3;
        AbuseGuard guard(limits);
        const QHostAddress a = addr("192.0.2.1");
        QVERIFY(guard.openConnection(a));
        QVERIFY(guard.openConnection(a));
        QVERIFY(guard.openConnection(a));
        QVERIFY(!guard.openConnection(a));
        QVERIFY(guard.openConnection(addr("192.0.2.2"))); // another address is not affected
        guard.closeConnection(a);
        QVERIFY(guard.openConnection(a));
        QVERIFY(!guard.openConnection(a));
    }

    void exemptAddressesAreNotCounted()
    {
        AbuseLimits limits; // loopback exempt by default in the config; here explicitly
        limits.exempt = subnets({"127.0.0.0/8"});
        limits.connectionsPerAddress = 1;
        AbuseGuard guard(limits);
        for (int i = 0; i < 10; ++i)
            QVERIFY(guard.openConnection(addr("127.0.0.1")));
        QVERIFY(guard.openConnection(addr("192.0.2.1")));
        QVERIFY(!guard.openConnection(addr("192.0.2.1")));
    }

    void failedSignInsPerAddress()
    {
        AbuseLimits limits = noExempt();
        limits.signInFailuresPerAddress = 4;
        limits.signInFailuresPerAccount = 0;
        AbuseGuard guard(limits);
        const QHostAddress a = addr("192.0.2.1");
        QByteArray scope;
        SignInTicket ticket;
        qint64 now = 1'000'000;
        // Spraying: a different account each time, all failing (never signInSucceeded).
        for (int i = 0; i < 4; ++i)
            QCOMPARE(guard.beginSignIn(a, u"user%1"_s.arg(i), now, &scope, &ticket), 0);
        const qint64 wait = guard.beginSignIn(a, u"user9"_s, now, &scope, &ticket);
        QVERIFY(wait > 0);
        QCOMPARE(scope, QByteArray("address"));
        QVERIFY(wait <= 15'000); // 4 per minute: one every 15 s
        // Another address is not affected.
        QCOMPARE(guard.beginSignIn(addr("192.0.2.2"), u"user9"_s, now, &scope, &ticket), 0);
        // After the wait, one more attempt.
        QCOMPARE(guard.beginSignIn(a, u"user9"_s, now + wait, &scope, &ticket), 0);
    }

    void successfulSignInsCostNothing()
    {
        AbuseLimits limits = noExempt();
        limits.signInFailuresPerAddress = 2;
        limits.signInFailuresPerAccount = 2;
        AbuseGuard guard(limits);
        const QHostAddress a = addr("192.0.2.1");
        QByteArray scope;
        SignInTicket ticket;
        // Thousands of people behind one NAT signing in correctly.
        for (int i = 0; i < 1000; ++i) {
            QCOMPARE(guard.beginSignIn(a, u"user%1"_s.arg(i), 5000, &scope, &ticket), 0);
            guard.signInSucceeded(a, u"user%1"_s.arg(i), 5000, ticket);
        }
    }

    void concurrentGuessesAreCountedBeforeTheirResult()
    {
        // The token is taken when the attempt starts: 40 guesses in flight at once get
        // no further than the limit.
        AbuseLimits limits = noExempt();
        limits.signInFailuresPerAddress = 1000;
        limits.signInFailuresPerAccount = 5;
        AbuseGuard guard(limits);
        QByteArray scope;
        SignInTicket ticket;
        int started = 0;
        for (int i = 0; i < 40; ++i)
            started
                += guard.beginSignIn(addr("192.0.2.1"), u"victim"_s, 10'000, &scope, &ticket) == 0;
        QCOMPARE(started, 5);
        QCOMPARE(scope, QByteArray("account"));
    }

    void accountLimitSparesAddressesKnownToTheAccount()
    {
        AbuseLimits limits = noExempt();
        limits.signInFailuresPerAddress = 1000;
        limits.signInFailuresPerAccount = 3;
        AbuseGuard guard(limits);
        const QHostAddress home = addr("192.0.2.50");
        QByteArray scope;
        SignInTicket ticket;
        qint64 now = 100'000;
        QCOMPARE(guard.beginSignIn(home, u"victim"_s, now, &scope, &ticket), 0);
        guard.signInSucceeded(home, u"victim"_s, now, ticket);
        // An attacker elsewhere drains the account's bucket...
        for (int i = 0; i < 3; ++i)
            QCOMPARE(guard.beginSignIn(addr("198.51.100.7"), u"victim"_s, now, &scope, &ticket), 0);
        QVERIFY(guard.beginSignIn(addr("198.51.100.8"), u"victim"_s, now, &scope, &ticket) > 0);
        QCOMPARE(scope, QByteArray("account"));
        // ...but the real user at home still signs in, even after a mistyped password.
        QCOMPARE(guard.beginSignIn(home, u"victim"_s, now, &scope, &ticket), 0);
        QCOMPARE(guard.beginSignIn(home, u"victim"_s, now, &scope, &ticket), 0);
        guard.signInSucceeded(home, u"victim"_s, now, ticket);
        // And a lock-out lasts one refill (20 s at 3 per minute), not more.
        QCOMPARE(
            guard.beginSignIn(addr("203.0.113.1"), u"victim"_s, now + 20'000, &scope, &ticket), 0);
    }

    void whatWasTakenIsWhatGoesBack()
    {
        // Two logins at once from a new address: both took from the account's bucket; the
        // first success makes the address known, and the second still gives its token back.
        AbuseLimits limits = noExempt();
        limits.signInFailuresPerAccount = 2;
        AbuseGuard guard(limits);
        const QHostAddress phone = addr("192.0.2.60");
        QByteArray scope;
        SignInTicket first, second, ticket;
        QCOMPARE(guard.beginSignIn(phone, u"owner"_s, 0, &scope, &first), 0);
        QCOMPARE(guard.beginSignIn(phone, u"owner"_s, 0, &scope, &second), 0);
        QVERIFY(first.account && second.account);
        guard.signInSucceeded(phone, u"owner"_s, 0, first);
        guard.signInSucceeded(phone, u"owner"_s, 0, second);
        // Both tokens are back: two attempts from elsewhere, then a refusal.
        QCOMPARE(guard.beginSignIn(addr("198.51.100.1"), u"owner"_s, 0, &scope, &ticket), 0);
        QCOMPARE(guard.beginSignIn(addr("198.51.100.2"), u"owner"_s, 0, &scope, &ticket), 0);
        QVERIFY(guard.beginSignIn(addr("198.51.100.3"), u"owner"_s, 0, &scope, &ticket) > 0);
        // A sign-in the store could not check gives back what it took.
        AbuseGuard other(limits);
        QCOMPARE(other.beginSignIn(phone, u"owner"_s, 0, &scope, &ticket), 0);
        QCOMPARE(other.beginSignIn(phone, u"owner"_s, 0, &scope, &second), 0);
        other.signInAbandoned(phone, u"owner"_s, 0, ticket);
        other.signInAbandoned(phone, u"owner"_s, 0, second);
        QCOMPARE(other.beginSignIn(phone, u"owner"_s, 0, &scope, &ticket), 0);
        QCOMPARE(other.beginSignIn(phone, u"owner"_s, 0, &scope, &ticket), 0);
        QVERIFY(other.beginSignIn(phone, u"owner"_s, 0, &scope, &ticket) > 0);
    }

    void registrationsPerAddress()
    {
        AbuseLimits limits = noExempt();
        limits.registrationsPerAddress = 3;
        AbuseGuard guard(limits);
        for (int i = 0; i < 3; ++i)
            QCOMPARE(guard.beginRegistration(addr("192.0.2.1"), 0), 0);
        QVERIFY(guard.beginRegistration(addr("192.0.2.1"), 0) > 0);
        QCOMPARE(guard.beginRegistration(addr("192.0.2.2"), 0), 0);
        QCOMPARE(guard.beginRegistration(addr("192.0.2.1"), 20'000), 0);
    }

    void zeroMeansNoLimit()
    {
        AbuseLimits limits = noExempt();
        limits.connectionsPerAddress = 0;
        limits.signInFailuresPerAddress = 0;
        limits.signInFailuresPerAccount = 0;
        limits.registrationsPerAddress = 0;
        AbuseGuard guard(limits);
        QByteArray scope;
        SignInTicket ticket;
        for (int i = 0; i < 500; ++i) {
            QVERIFY(guard.openConnection(addr("192.0.2.1")));
            QCOMPARE(guard.beginSignIn(addr("192.0.2.1"), u"victim"_s, 0, &scope, &ticket), 0);
            QCOMPARE(guard.beginRegistration(addr("192.0.2.1"), 0), 0);
        }
    }

    void idleEntriesAreSwept()
    {
        AbuseLimits limits = noExempt();
        AbuseGuard guard(limits);
        QByteArray scope;
        SignInTicket ticket;
        for (int i = 0; i < 100; ++i)
            guard.beginSignIn(
                QHostAddress(quint32(0xC0000200 + i)), u"u%1"_s.arg(i), 0, &scope, &ticket);
        QCOMPARE(guard.entryCount(), 200);
        // Two minutes later every bucket is full again: the next call sweeps them all.
        guard.beginRegistration(addr("198.51.100.1"), 120'000);
        QCOMPARE(guard.entryCount(), 1);
    }
};

QTEST_APPLESS_MAIN(TestAbuseGuard)
#include "tst_abuseguard.moc"
