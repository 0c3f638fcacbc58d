// --redis / REDIS_URL parsing: the accepted forms, and bad URLs getting a clear
// error that never shows the password.
#include "redisurl.h"

#include <QtTest>

using namespace Qt::StringLiterals;
using namespace parley::server::redis;

class tst_RedisUrl : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void valid_data();
    void valid();
    void invalid_data();
    void invalid();
};

void tst_RedisUrl::valid_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("tls");
    QTest::addColumn<QString>("host");
    QTest::addColumn<int>("port");
    QTest::addColumn<QString>("user");
    QTest::addColumn<QString>("password");
    QTest::addColumn<int>("db");
    QTest::addColumn<QString>("redacted");

    QTest::newRow("host only") << u"redis://127.0.0.1"_s << false << u"127.0.0.1"_s << 6379
                               << QString() << QString() << 0 << u"redis://127.0.0.1:6379"_s;
    QTest::newRow("port") << u"redis://localhost:7000"_s << false << u"localhost"_s << 7000
                          << QString() << QString() << 0 << u"redis://localhost:7000"_s;
    QTest::newRow("db") << u"redis://h:6380/3"_s << false << u"h"_s << 6380 << QString()
                        << QString() << 3 << u"redis://h:6380/3"_s;
    QTest::newRow("trailing slash") << u"redis://h/"_s << false << u"h"_s << 6379 << QString()
                                    << QString() << 0 << u"redis://h:6379"_s;
    QTest::newRow("password only") << u"redis://:s3cret@h:6379"_s << false << u"h"_s << 6379
                                   << QString() << u"s3cret"_s << 0 << u"redis://:***@h:6379"_s;
    QTest::newRow("user and password")
        << u"redis://parley:p%40ss%3Aword@redis.example.org:6379/2"_s << false
        << u"redis.example.org"_s << 6379 << u"parley"_s << u"p@ss:word"_s << 2
        << u"redis://parley:***@redis.example.org:6379/2"_s;
    QTest::newRow("tls") << u"rediss://u:pw@cache.internal:6380"_s << true << u"cache.internal"_s
                         << 6380 << u"u"_s << u"pw"_s << 0
                         << u"rediss://u:***@cache.internal:6380"_s;
    QTest::newRow("ipv6") << u"redis://[::1]:6379"_s << false << u"::1"_s << 6379 << QString()
                          << QString() << 0 << u"redis://[::1]:6379"_s;
}

void tst_RedisUrl::valid()
{
    QFETCH(QString, text);
    QString error;
    const std::optional<RedisUrl> url = parseRedisUrl(text, &error);
    QVERIFY2(url, qPrintable(error));
    QTEST(url->tls, "tls");
    QTEST(url->host, "host");
    QTEST(int(url->port), "port");
    QTEST(url->user, "user");
    QTEST(url->password, "password");
    QTEST(url->db, "db");
    QTEST(url->redacted(), "redacted");
}

void tst_RedisUrl::invalid_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("reason");

    QTest::newRow("empty") << QString() << u"(empty)"_s;
    QTest::newRow("wrong scheme")
        << u"http://hunter2secret@h:6379"_s
        << u"(the scheme must be redis or rediss), not 'http://***@h:6379'"_s;
    QTest::newRow("no scheme") << u"127.0.0.1:6379"_s
                               << u"(no scheme: start with redis:// or rediss://)"_s;
    QTest::newRow("no host") << u"redis://:hunter2secret@:6379"_s << u"(no host)"_s;
    QTest::newRow("bad port") << u"redis://u:hunter2secret@h:99999"_s
                              << u"not 'redis://***@h:99999'"_s;
    QTest::newRow("port not a number") << u"redis://h:abc"_s << u"(not a valid URL)"_s;
    QTest::newRow("user without password")
        << u"redis://parley@h"_s << u"(a user needs a password: user:password@)"_s;
    QTest::newRow("bad db") << u"redis://:hunter2secret@h/x"_s
                            << u"(the path must be a database number like /0)"_s;
    QTest::newRow("negative db") << u"redis://h/-1"_s
                                 << u"(the path must be a database number like /0)"_s;
    QTest::newRow("query") << u"redis://:hunter2secret@h?timeout=5"_s
                           << u"(no query or fragment is understood)"_s;
    QTest::newRow("space in host")
        << u"redis://:hunter2secret@ho st:6379"_s << u"not 'redis://***@ho st:6379'"_s;
}

void tst_RedisUrl::invalid()
{
    QFETCH(QString, text);
    QFETCH(QString, reason);
    QString error;
    QVERIFY(!parseRedisUrl(text, &error));
    QVERIFY2(error.startsWith(u"--redis expects redis://[user:password@]host[:port][/db]"_s),
        qPrintable(error));
    QVERIFY2(error.contains(reason), qPrintable(error));
    QVERIFY2(!error.contains(u"hunter2secret"_s), qPrintable(error));
}

QTEST_APPLESS_MAIN(tst_RedisUrl)
#include "tst_redisurl.moc"
