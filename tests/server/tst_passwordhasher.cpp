// PasswordHasher: Argon2id round trip, and hashes queued for a requester that has gone
// (a closed connection) are skipped instead of spent.
#include "passwordhasher.h"

#include <QCoreApplication>
#include <QTest>

#include <memory>

using namespace parley::server;
using namespace Qt::StringLiterals;

class TestPasswordHasher : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QVERIFY(PasswordHasher::initialize()); }

    void hashAndVerify()
    {
        PasswordHasher hasher;
        const auto requester = std::make_shared<const bool>(true);
        QByteArray hashed;
        hasher.hash(u"correct horse"_s, requester, this, [&](QByteArray h) { hashed = h; });
        QTRY_VERIFY_WITH_TIMEOUT(!hashed.isEmpty(), 30000);
        QVERIFY(hashed.startsWith("$argon2id$"));

        int answers = 0;
        bool right = false;
        bool wrong = true;
        hasher.verify(u"correct horse"_s, hashed, requester, this, [&](bool ok) {
            right = ok;
            ++answers;
        });
        hasher.verify(u"battery staple"_s, hashed, requester, this, [&](bool ok) {
            wrong = ok;
            ++answers;
        });
        QTRY_COMPARE_WITH_TIMEOUT(answers, 2, 30000);
        QVERIFY(right);
        QVERIFY(!wrong);
    }

    void expiredRequesterIsSkipped()
    {
        int expiredAnswers = 0;
        int liveAnswers = 0;
        {
            PasswordHasher hasher;
            const auto live = std::make_shared<const bool>(true);
            auto gone = std::make_shared<const bool>(true);
            const PasswordHasher::Requester goneRequester = gone;
            gone.reset(); // the connection closed while its sign-in was queued
            for (int i = 0; i < 4; ++i) {
                hasher.hash(u"p"_s, goneRequester, this, [&](QByteArray) { ++expiredAnswers; });
                hasher.verifyDummy(u"p"_s, goneRequester, this, [&](bool) { ++expiredAnswers; });
            }
            hasher.hash(u"p"_s, live, this, [&](QByteArray) { ++liveAnswers; });
            QTRY_COMPARE_WITH_TIMEOUT(liveAnswers, 1, 30000);
        } // the hasher waits for whatever still runs
        QCoreApplication::processEvents(); // deliver any answer still queued
        QCOMPARE(expiredAnswers, 0);
        QCOMPARE(liveAnswers, 1);
    }
};

QTEST_GUILESS_MAIN(TestPasswordHasher)
#include "tst_passwordhasher.moc"
