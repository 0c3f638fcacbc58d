// Command line, environment and config file of `parley server`, and their precedence.
#include "serverconfig.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace Qt::StringLiterals;
using namespace parley::server;

class TestServerConfig : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void defaultsAndFlags()
    {
        const ConfigParse p = parseServerConfig(
            {u"--listen"_s, u"127.0.0.1:9000"_s, u"--data-dir"_s, u"/tmp/x"_s, u"--node-id"_s,
                u"n1"_s, u"--allowed-origin"_s, u"https://a.example"_s, u"--allowed-origin"_s,
                u"https://b.example"_s},
            {});
        QVERIFY2(p.config, qPrintable(p.output));
        QCOMPARE(p.config->listenPort, 9000);
        QCOMPARE(p.config->listenAddress, QHostAddress(QHostAddress::LocalHost));
        QCOMPARE(p.config->dataDir, u"/tmp/x"_s);
        QCOMPARE(p.config->nodeId, u"n1"_s);
        QCOMPARE(p.config->allowedOrigins,
            QStringList({u"https://a.example"_s, u"https://b.example"_s}));
        QCOMPARE(p.config->sendBurst, 200.0);
        QCOMPARE(p.config->sendsPerSecond, 50.0);
        QVERIFY(p.config->workerThreads >= 1);
        QVERIFY(!p.config->useTls());
    }

    void ipv6AndLocalhost()
    {
        ConfigParse p
            = parseServerConfig({u"--listen"_s, u"[::1]:8443"_s, u"--data-dir"_s, u"d"_s}, {});
        QVERIFY2(p.config, qPrintable(p.output));
        QCOMPARE(p.config->listenAddress, QHostAddress(QHostAddress::LocalHostIPv6));
        p = parseServerConfig({u"--listen"_s, u"localhost:1"_s, u"--data-dir"_s, u"d"_s}, {});
        QVERIFY(p.config);
    }

    void precedence()
    {
        QTemporaryDir dir;
        const QString file = dir.filePath(u"parley.conf"_s);
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("# comment\ndata-dir = /from/file\nnode-id = file-node\nsend-rate = 10\nlisten = "
                "127.0.0.1:7000\n");
        f.close();
        const QStringList env {
            u"PARLEY_CONFIG="_s + file, u"PARLEY_NODE_ID=env-node"_s, u"PARLEY_SEND_RATE=20"_s};
        ConfigParse p = parseServerConfig({}, env);
        QVERIFY2(p.config, qPrintable(p.output));
        QCOMPARE(p.config->dataDir, u"/from/file"_s); // file only
        QCOMPARE(p.config->nodeId, u"env-node"_s); // env beats file
        QCOMPARE(p.config->sendsPerSecond, 20.0);
        QCOMPARE(p.config->listenPort, 7000);
        p = parseServerConfig({u"--node-id"_s, u"flag-node"_s}, env);
        QVERIFY(p.config);
        QCOMPARE(p.config->nodeId, u"flag-node"_s); // flag beats env
    }

    void storeSettings_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>("env");
        QTest::addColumn<QString>("configFile"); // contents; empty: none
        QTest::addColumn<bool>("dynamo");
        QTest::addColumn<QString>("endpoint");
        QTest::addColumn<QString>("prefix");
        QTest::addColumn<bool>("createTables");
        QTest::newRow("default sqlite") << QStringList {u"--data-dir"_s, u"d"_s} << QStringList {}
                                        << QString() << false << QString() << u"parley_"_s << false;
        QTest::newRow("dynamodb flags, no data dir")
            << QStringList {u"--store"_s, u"dynamodb"_s, u"--dynamodb-endpoint"_s,
                   u"http://127.0.0.1:8000"_s, u"--dynamodb-table-prefix"_s, u"chat."_s,
                   u"--create-tables"_s}
            << QStringList {} << QString() << true << u"http://127.0.0.1:8000"_s << u"chat."_s
            << true;
        QTest::newRow("dynamodb from env")
            << QStringList {}
            << QStringList {u"PARLEY_STORE=DynamoDB"_s,
                   u"PARLEY_DYNAMODB_ENDPOINT=https://dynamodb.eu-west-1.amazonaws.com"_s,
                   u"PARLEY_CREATE_TABLES=1"_s}
            << QString() << true << u"https://dynamodb.eu-west-1.amazonaws.com"_s << u"parley_"_s
            << true;
        QTest::newRow("dynamodb from config file")
            << QStringList {} << QStringList {}
            << u"store = dynamodb\ndynamodb-table-prefix = prod_\ncreate-tables\n"_s << true
            << QString() << u"prod_"_s << true;
        QTest::newRow("flag beats env")
            << QStringList {u"--store"_s, u"sqlite"_s, u"--data-dir"_s, u"d"_s}
            << QStringList {u"PARLEY_STORE=dynamodb"_s} << QString() << false << QString()
            << u"parley_"_s << false;
        QTest::newRow("empty prefix")
            << QStringList {u"--store"_s, u"dynamodb"_s, u"--dynamodb-table-prefix="_s}
            << QStringList {} << QString() << true << QString() << QString() << false;
    }

    void storeSettings()
    {
        QFETCH(QStringList, args);
        QFETCH(QStringList, env);
        QFETCH(QString, configFile);
        QTemporaryDir dir;
        if (!configFile.isEmpty()) {
            QFile f(dir.filePath(u"parley.conf"_s));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(configFile.toUtf8());
            f.close();
            args += {u"--config"_s, f.fileName()};
        }
        const ConfigParse p = parseServerConfig(args, env);
        QVERIFY2(p.config, qPrintable(p.output));
        QTEST(p.config->store == StoreBackend::DynamoDb, "dynamo");
        QTEST(p.config->dynamodbEndpoint, "endpoint");
        QTEST(p.config->dynamodbTablePrefix, "prefix");
        QTEST(p.config->createTables, "createTables");
    }

    void errors_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("needle");
        QTest::newRow("no data dir") << QStringList {} << u"--data-dir"_s;
        QTest::newRow("bad listen") << QStringList {u"--data-dir"_s, u"d"_s, u"--listen"_s,
            u"nonsense"_s} << u"HOST:PORT"_s;
        QTest::newRow("port too big") << QStringList {u"--data-dir"_s, u"d"_s, u"--listen"_s,
            u"127.0.0.1:70000"_s} << u"HOST:PORT"_s;
        QTest::newRow("unknown flag") << QStringList {u"--nope"_s} << u"nope"_s;
        QTest::newRow("plaintext public") << QStringList {u"--data-dir"_s, u"d"_s, u"--listen"_s,
            u"0.0.0.0:80"_s} << u"plaintext"_s;
        QTest::newRow("cert without key") << QStringList {u"--data-dir"_s, u"d"_s, u"--tls-cert"_s,
            u"c.pem"_s} << u"go together"_s;
        QTest::newRow("unreadable cert") << QStringList {u"--data-dir"_s, u"d"_s, u"--tls-cert"_s,
            u"/no/c.pem"_s, u"--tls-key"_s, u"/no/k.pem"_s}
                                         << u"cannot read certificate"_s;
        QTest::newRow("bad origin") << QStringList {u"--data-dir"_s, u"d"_s, u"--allowed-origin"_s,
            u"evil"_s} << u"origin"_s;
        QTest::newRow("bad number")
            << QStringList {u"--data-dir"_s, u"d"_s, u"--send-rate"_s, u"fast"_s} << u"numeric"_s;
        QTest::newRow("unknown store") << QStringList {u"--store"_s, u"mongo"_s} << u"--store"_s;
        QTest::newRow("sqlite needs data dir")
            << QStringList {u"--store"_s, u"sqlite"_s} << u"--data-dir"_s;
        QTest::newRow("endpoint not a url") << QStringList {u"--store"_s, u"dynamodb"_s,
            u"--dynamodb-endpoint"_s, u"127.0.0.1:8000"_s}
                                            << u"--dynamodb-endpoint"_s;
        QTest::newRow("endpoint not http") << QStringList {u"--store"_s, u"dynamodb"_s,
            u"--dynamodb-endpoint"_s, u"ftp://127.0.0.1"_s}
                                           << u"--dynamodb-endpoint"_s;
        QTest::newRow("bad table prefix")
            << QStringList {u"--store"_s, u"dynamodb"_s, u"--dynamodb-table-prefix"_s, u"parley/"_s}
            << u"--dynamodb-table-prefix"_s;
        QTest::newRow("stray argument")
            << QStringList {u"--data-dir"_s, u"d"_s, u"extra"_s} << u"extra"_s;
        QTest::newRow("redis not a redis url") << QStringList {u"--data-dir"_s, u"d"_s,
            u"--redis"_s, u"http://h:6379"_s} << u"--redis expects redis://"_s;
        QTest::newRow("redis bad db") << QStringList {u"--data-dir"_s, u"d"_s, u"--redis"_s,
            u"redis://:pw@h/x"_s} << u"database number"_s;
        QTest::newRow("node id unusable with redis") << QStringList {u"--data-dir"_s, u"d"_s,
            u"--redis"_s, u"redis://h"_s, u"--node-id"_s, u"node one"_s}
                                                     << u"--node-id may hold only"_s;
    }

    void redisSettings_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>("env");
        QTest::addColumn<QString>("redis");
        QTest::addColumn<QString>("nodeId");
        QTest::newRow("alone by default")
            << QStringList {} << QStringList {} << QString() << QString();
        QTest::newRow("flag") << QStringList {u"--redis"_s, u"redis://127.0.0.1:6379"_s,
            u"--node-id"_s, u"node-a"_s}
                              << QStringList {} << u"redis://127.0.0.1:6379"_s << u"node-a"_s;
        QTest::newRow("REDIS_URL") << QStringList {u"--node-id"_s, u"b"_s}
                                   << QStringList {u"REDIS_URL=rediss://u:pw@cache:6380/2"_s}
                                   << u"rediss://u:pw@cache:6380/2"_s << u"b"_s;
        QTest::newRow("PARLEY_REDIS beats REDIS_URL")
            << QStringList {u"--node-id"_s, u"c"_s}
            << QStringList {u"REDIS_URL=redis://one"_s, u"PARLEY_REDIS=redis://two"_s}
            << u"redis://two"_s << u"c"_s;
        QTest::newRow("flag beats env")
            << QStringList {u"--redis"_s, u"redis://flag"_s, u"--node-id"_s, u"d"_s}
            << QStringList {u"REDIS_URL=redis://env"_s} << u"redis://flag"_s << u"d"_s;
    }

    void redisSettings()
    {
        QFETCH(QStringList, args);
        QFETCH(QStringList, env);
        const ConfigParse p = parseServerConfig(QStringList {u"--data-dir"_s, u"d"_s} + args, env);
        QVERIFY2(p.config, qPrintable(p.output));
        QTEST(p.config->redisUrl, "redis");
        QFETCH(QString, nodeId);
        if (!nodeId.isEmpty())
            QCOMPARE(p.config->nodeId, nodeId);
    }

    void errors()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, needle);
        const ConfigParse p = parseServerConfig(args, {});
        QVERIFY(!p.config);
        QCOMPARE(p.exitCode, 2);
        QVERIFY2(p.output.contains(needle), qPrintable(p.output));
        QVERIFY2(!p.output.trimmed().contains(u'\n'), "errors are one line");
    }

    void plaintextAllowedWhenAsked()
    {
        const ConfigParse p = parseServerConfig(
            {u"--data-dir"_s, u"d"_s, u"--listen"_s, u"0.0.0.0:8080"_s, u"--allow-plaintext"_s},
            {});
        QVERIFY2(p.config, qPrintable(p.output));
        QVERIFY(p.config->allowPlaintext);
    }

    void unknownConfigKey()
    {
        QTemporaryDir dir;
        QFile f(dir.filePath(u"bad.conf"_s));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("data-dir = d\ncolour = blue\n");
        f.close();
        const ConfigParse p = parseServerConfig({u"--config"_s, f.fileName()}, {});
        QVERIFY(!p.config);
        QVERIFY2(
            p.output.contains(u"colour"_s) && p.output.contains(u":2"_s), qPrintable(p.output));
    }

    void help()
    {
        const ConfigParse p = parseServerConfig({u"--help"_s}, {});
        QVERIFY(!p.config);
        QCOMPARE(p.exitCode, 0);
        QVERIFY(p.output.contains(u"--listen"_s));
        QVERIFY(p.output.contains(u"PARLEY_DATA_DIR"_s));
        for (const QString &flag : {u"--store"_s, u"--dynamodb-endpoint"_s,
                 u"--dynamodb-table-prefix"_s, u"--create-tables"_s, u"PARLEY_STORE"_s})
            QVERIFY2(p.output.contains(flag), qPrintable(flag));
    }
};

QTEST_GUILESS_MAIN(TestServerConfig)
#include "tst_serverconfig.moc"
