// Command line, environment and config file of `parley server`, and their precedence.
#include "configcheck.h"
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
        QTest::newRow("unknown log format") << QStringList {u"--data-dir"_s, u"d"_s,
            u"--log-format"_s, u"logfmt"_s} << u"--log-format expects text or json"_s;
        QTest::newRow("check-config takes no value")
            << QStringList {u"--data-dir"_s, u"d"_s, u"--check-config=yes"_s} << u"check-config"_s;
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

    void checkConfigAndLogFormat_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QStringList>("env");
        QTest::addColumn<QString>("configFile"); // contents; empty: none
        QTest::addColumn<bool>("checkOnly");
        QTest::addColumn<bool>("json");
        QTest::newRow("defaults") << QStringList {} << QStringList {} << QString() << false
                                  << false;
        QTest::newRow("flags") << QStringList {u"--check-config"_s, u"--log-format"_s, u"json"_s}
                               << QStringList {} << QString() << true << true;
        QTest::newRow("log format from env, any case")
            << QStringList {} << QStringList {u"PARLEY_LOG_FORMAT=JSON"_s} << QString() << false
            << true;
        QTest::newRow("log format from the file")
            << QStringList {u"--check-config"_s} << QStringList {} << u"log-format = json\n"_s
            << true << true;
        QTest::newRow("flag beats env")
            << QStringList {u"--log-format"_s, u"text"_s}
            << QStringList {u"PARLEY_LOG_FORMAT=json"_s} << QString() << false << false;
        // --check-config is a command, not a setting: no environment variable turns it on.
        QTest::newRow("no env for check-config")
            << QStringList {} << QStringList {u"PARLEY_CHECK_CONFIG=1"_s} << QString() << false
            << false;
    }

    void checkConfigAndLogFormat()
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
        const ConfigParse p = parseServerConfig(QStringList {u"--data-dir"_s, u"d"_s} + args, env);
        QVERIFY2(p.config, qPrintable(p.output));
        QTEST(p.config->checkOnly, "checkOnly");
        QTEST(p.config->logFormat == parley::process::LogFormat::Json, "json");
    }

    void checkConfigIsNotAFileKey()
    {
        QTemporaryDir dir;
        QFile f(dir.filePath(u"parley.conf"_s));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("data-dir = d\ncheck-config\n");
        f.close();
        const ConfigParse p = parseServerConfig({u"--config"_s, f.fileName()}, {});
        QVERIFY(!p.config);
        QCOMPARE(p.exitCode, 2);
        QVERIFY2(p.output.contains(u":2: unknown setting 'check-config'"_s), qPrintable(p.output));
    }

    void dataDir()
    {
        QTemporaryDir dir;
        QVERIFY(dataDirProblem(dir.path()).isEmpty()); // exists, writable
        QVERIFY(dataDirProblem(dir.filePath(u"new/deeper"_s)).isEmpty()); // can be created
        QVERIFY2(!QFileInfo::exists(dir.filePath(u"new"_s)), "checking creates nothing");
        QCOMPARE(QDir(dir.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden),
            QStringList());

        QFile file(dir.filePath(u"file"_s));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        QString problem = dataDirProblem(file.fileName());
        QVERIFY2(problem.contains(u"is not a directory"_s), qPrintable(problem));
        problem = dataDirProblem(dir.filePath(u"file/sub"_s));
        QVERIFY2(problem.contains(u"cannot be created"_s), qPrintable(problem));
    }

    void dataDirReadOnly()
    {
        QTemporaryDir dir;
        // Read-only for us: permissions stop everyone but root, who writes anyway.
        const QString readOnly = dir.filePath(u"readonly"_s);
        QVERIFY(QDir().mkdir(readOnly));
        QVERIFY(QFile::setPermissions(readOnly, QFile::ReadOwner | QFile::ExeOwner));
        QFile probe(readOnly + u"/probe"_s);
        if (probe.open(QIODevice::WriteOnly)) {
            probe.remove();
            QSKIP("running as root: permissions do not stop writing");
        }
        QString problem = dataDirProblem(readOnly);
        QVERIFY2(problem.contains(u"is not writable"_s), qPrintable(problem));
        problem = dataDirProblem(readOnly + u"/sub"_s);
        QVERIFY2(problem.contains(u"cannot be created in "_s + readOnly), qPrintable(problem));
    }

    void checkSummaryHasNoSecrets()
    {
        QTemporaryDir dir;
        const ConfigParse p = parseServerConfig(
            {u"--data-dir"_s, dir.path(), u"--redis"_s, u"redis://app:hunter2@127.0.0.1:6379/3"_s,
                u"--node-id"_s, u"n1"_s, u"--check-config"_s},
            {});
        QVERIFY2(p.config, qPrintable(p.output));
        const ConfigCheck check = checkServerConfig(*p.config, QProcessEnvironment(), dir.path());
        QVERIFY2(check.errors.isEmpty(), qPrintable(check.errors.join(u'\n')));
        const QString summary = check.summary.join(u'\n');
        QVERIFY2(summary.contains(u"redis://app:***@127.0.0.1:6379/3"_s), qPrintable(summary));
        QVERIFY2(summary.contains(u"store: sqlite in "_s + dir.path()), qPrintable(summary));
        QVERIFY2(summary.contains(u"tls: off"_s), qPrintable(summary));
        QVERIFY(!summary.contains(u"hunter2"_s));
    }

    void checkDynamoDbSettings_data()
    {
        QTest::addColumn<QStringList>("env");
        QTest::addColumn<QString>("needle"); // in the summary, or in the error if `ok` is false
        QTest::addColumn<bool>("ok");
        QTest::newRow("environment")
            << QStringList {u"AWS_REGION=eu-west-1"_s, u"AWS_ACCESS_KEY_ID=AKIDEXAMPLE"_s,
                   u"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIsecret"_s}
            << u"region eu-west-1, tables parley_*, credentials from environment"_s << true;
        QTest::newRow("no region") << QStringList {u"AWS_ACCESS_KEY_ID=AKIDEXAMPLE"_s,
            u"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIsecret"_s}
                                   << u"no AWS region"_s << false;
        QTest::newRow("no credentials")
            << QStringList {u"AWS_REGION=eu-west-1"_s} << u"no AWS credentials"_s << false;
        QTest::newRow("half the credentials")
            << QStringList {u"AWS_REGION=eu-west-1"_s, u"AWS_ACCESS_KEY_ID=AKIDEXAMPLE"_s}
            << u"set both or neither"_s << false;
    }

    void checkDynamoDbSettings()
    {
        QFETCH(QStringList, env);
        QFETCH(QString, needle);
        QFETCH(bool, ok);
        QTemporaryDir home; // no ~/.aws
        QProcessEnvironment environment;
        for (const QString &entry : std::as_const(env))
            environment.insert(entry.section(u'=', 0, 0), entry.section(u'=', 1));
        const ConfigParse p = parseServerConfig({u"--store"_s, u"dynamodb"_s}, {});
        QVERIFY2(p.config, qPrintable(p.output));
        const ConfigCheck check = checkServerConfig(*p.config, environment, home.path());
        const QString text = (ok ? check.summary : check.errors).join(u'\n');
        QCOMPARE(check.errors.isEmpty(), ok);
        QVERIFY2(text.contains(needle), qPrintable(text));
        const QString everything = (check.summary + check.errors).join(u'\n');
        QVERIFY(!everything.contains(u"wJalrXUtnFEMIsecret"_s));
    }

    void help()
    {
        const ConfigParse p = parseServerConfig({u"--help"_s}, {});
        QVERIFY(!p.config);
        QCOMPARE(p.exitCode, 0);
        QVERIFY(p.output.contains(u"--listen"_s));
        QVERIFY(p.output.contains(u"PARLEY_DATA_DIR"_s));
        for (const QString &flag : {u"--store"_s, u"--dynamodb-endpoint"_s,
                 u"--dynamodb-table-prefix"_s, u"--create-tables"_s, u"PARLEY_STORE"_s,
                 u"--check-config"_s, u"--log-format text|json"_s, u"PARLEY_LOG_FORMAT"_s})
            QVERIFY2(p.output.contains(flag), qPrintable(flag));
        QVERIFY(!p.output.contains(u"PARLEY_CHECK_CONFIG"_s));
    }
};

QTEST_GUILESS_MAIN(TestServerConfig)
#include "tst_serverconfig.moc"
