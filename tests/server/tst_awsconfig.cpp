// Region, credentials and endpoint from the standard AWS sources, in the SDKs' order,
// with a temporary directory as the home and an explicit environment.
#include "awsconfig.h"

#include <QDir>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

using namespace Qt::StringLiterals;
using namespace parley::server::aws;

namespace {

const QByteArray decoyFile = "[default]\naws_access_key_id = DECOYKEY\naws_secret_access_key = "
                             "DECOYSECRET\nregion = decoy-region-1\n";

} // namespace

class TestAwsConfig : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void resolve_data()
    {
        QTest::addColumn<QStringList>("env"); // NAME=value; @HOME@ is the fake home
        QTest::addColumn<QString>("credentialsPath"); // relative to home
        QTest::addColumn<QByteArray>("credentialsFile");
        QTest::addColumn<QString>("configPath");
        QTest::addColumn<QByteArray>("configFile");
        QTest::addColumn<QString>("endpointOverride");
        // Expected: "region|key|secret|token|endpoint|profile|source", or "error:" followed
        // by ';'-separated texts the one-line error must mention.
        QTest::addColumn<QString>("expected");

        const QString creds = u".aws/credentials"_s;
        const QString config = u".aws/config"_s;
        const QString inCreds = u"profile \"%1\" in @HOME@/.aws/credentials"_s;
        const QString inConfig = u"profile \"%1\" in @HOME@/.aws/config"_s;

        QTest::newRow("environment only")
            << QStringList {u"AWS_ACCESS_KEY_ID=AKENV"_s, u"AWS_SECRET_ACCESS_KEY=secret/env+1"_s,
                   u"AWS_SESSION_TOKEN=tok"_s, u"AWS_REGION=eu-west-1"_s}
            << creds << QByteArray() << config << QByteArray() << QString()
            << u"eu-west-1|AKENV|secret/env+1|tok|https://dynamodb.eu-west-1.amazonaws.com|"
               u"default|environment"_s;
        QTest::newRow("environment beats the files")
            << QStringList {u"AWS_ACCESS_KEY_ID=AKENV"_s, u"AWS_SECRET_ACCESS_KEY=SENV"_s} << creds
            << decoyFile << config << QByteArray("[default]\nregion = us-west-2\n") << QString()
            << u"us-west-2|AKENV|SENV||https://dynamodb.us-west-2.amazonaws.com|default|"
               u"environment"_s;
        QTest::newRow("default profile, tolerant syntax")
            << QStringList() << creds
            << QByteArray("# my keys\n; another comment\n\n[default]\n  AWS_Access_Key_ID=AKFILE\n"
                          "aws_secret_access_key   =   SFILE  \r\naws_session_token = T1 # temp\n")
            << config << QByteArray("[default]\nregion=ca-central-1\n") << QString()
            << u"ca-central-1|AKFILE|SFILE|T1|https://dynamodb.ca-central-1.amazonaws.com|default|"_s
                + inCreds.arg(u"default");
        QTest::newRow("AWS_PROFILE selects a credentials section")
            << QStringList {u"AWS_PROFILE=work"_s, u"AWS_REGION=us-east-2"_s} << creds
            << QByteArray("[default]\naws_access_key_id = AKDEF\naws_secret_access_key = SDEF\n"
                          "[work]\naws_access_key_id = AKWORK\naws_secret_access_key = SWORK\n")
            << config << QByteArray() << QString()
            << u"us-east-2|AKWORK|SWORK||https://dynamodb.us-east-2.amazonaws.com|work|"_s
                + inCreds.arg(u"work");
        QTest::newRow("config profile supplies region and, as a fallback, credentials")
            << QStringList {u"AWS_PROFILE=dev"_s} << creds
            << QByteArray("[default]\naws_access_key_id = AKDEF\naws_secret_access_key = SDEF\n")
            << config
            << QByteArray("[dev]\nregion = wrong-1\n[profile   dev]\nregion = sa-east-1\n"
                          "aws_access_key_id = AKCFG\naws_secret_access_key = SCFG\n")
            << QString()
            << u"sa-east-1|AKCFG|SCFG||https://dynamodb.sa-east-1.amazonaws.com|dev|"_s
                + inConfig.arg(u"dev");
        QTest::newRow("credentials file beats config file")
            << QStringList() << creds
            << QByteArray("[default]\naws_access_key_id = AKCRED\naws_secret_access_key = SCRED\n")
            << config
            << QByteArray("[profile default]\nregion = ap-south-1\naws_access_key_id = AKCFG\n"
                          "aws_secret_access_key = SCFG\n")
            << QString()
            << u"ap-south-1|AKCRED|SCRED||https://dynamodb.ap-south-1.amazonaws.com|default|"_s
                + inCreds.arg(u"default");
        QTest::newRow("file locations from the environment")
            << QStringList {u"AWS_SHARED_CREDENTIALS_FILE=@HOME@/elsewhere/creds"_s,
                   u"AWS_CONFIG_FILE=~/elsewhere/conf"_s}
            << u"elsewhere/creds"_s
            << QByteArray("[default]\naws_access_key_id = AKX\naws_secret_access_key = SX\n")
            << u"elsewhere/conf"_s << QByteArray("[default]\nregion = eu-south-1\n") << QString()
            << u"eu-south-1|AKX|SX||https://dynamodb.eu-south-1.amazonaws.com|default|"
               u"profile \"default\" in @HOME@/elsewhere/creds"_s;
        QTest::newRow("nested service block does not shadow the profile")
            << QStringList {u"AWS_ACCESS_KEY_ID=AK"_s, u"AWS_SECRET_ACCESS_KEY=S"_s} << creds
            << QByteArray() << config
            << QByteArray("[default]\ns3 =\n  region = wrong-1\n  max_concurrent_requests = 4\n"
                          "region = eu-north-1 ; main\n")
            << QString()
            << u"eu-north-1|AK|S||https://dynamodb.eu-north-1.amazonaws.com|default|environment"_s;
        QTest::newRow("AWS_REGION beats AWS_DEFAULT_REGION")
            << QStringList {u"AWS_REGION=us-west-1"_s, u"AWS_DEFAULT_REGION=eu-west-2"_s,
                   u"AWS_ACCESS_KEY_ID=AK"_s, u"AWS_SECRET_ACCESS_KEY=S"_s}
            << creds << QByteArray() << config << QByteArray("[default]\nregion = eu-west-3\n")
            << QString()
            << u"us-west-1|AK|S||https://dynamodb.us-west-1.amazonaws.com|default|environment"_s;
        QTest::newRow("AWS_DEFAULT_REGION beats config; empty variables are unset")
            << QStringList {u"AWS_REGION="_s, u"AWS_DEFAULT_REGION=eu-west-2"_s,
                   u"AWS_ACCESS_KEY_ID=AK"_s, u"AWS_SECRET_ACCESS_KEY=S"_s,
                   u"AWS_ENDPOINT_URL_DYNAMODB="_s}
            << creds << QByteArray() << config << QByteArray("[default]\nregion = eu-west-3\n")
            << QString()
            << u"eu-west-2|AK|S||https://dynamodb.eu-west-2.amazonaws.com|default|environment"_s;

        const QStringList keysAndRegion {
            u"AWS_ACCESS_KEY_ID=AK"_s, u"AWS_SECRET_ACCESS_KEY=S"_s, u"AWS_REGION=us-east-1"_s};
        QTest::newRow("endpoint: the flag wins")
            << (keysAndRegion
                   + QStringList {u"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8001"_s,
                       u"AWS_ENDPOINT_URL=http://127.0.0.1:8002"_s})
            << creds << QByteArray() << config << QByteArray() << u"http://127.0.0.1:8000"_s
            << u"us-east-1|AK|S||http://127.0.0.1:8000|default|environment"_s;
        QTest::newRow("endpoint: AWS_ENDPOINT_URL_DYNAMODB beats AWS_ENDPOINT_URL")
            << (keysAndRegion
                   + QStringList {u"AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8001"_s,
                       u"AWS_ENDPOINT_URL=http://127.0.0.1:8002"_s})
            << creds << QByteArray() << config << QByteArray() << QString()
            << u"us-east-1|AK|S||http://127.0.0.1:8001|default|environment"_s;
        QTest::newRow("endpoint: AWS_ENDPOINT_URL")
            << (keysAndRegion + QStringList {u"AWS_ENDPOINT_URL=https://ddb.example.net"_s})
            << creds << QByteArray() << config << QByteArray() << QString()
            << u"us-east-1|AK|S||https://ddb.example.net|default|environment"_s;
        QTest::newRow("endpoint: China regions use amazonaws.com.cn")
            << QStringList {u"AWS_ACCESS_KEY_ID=AK"_s, u"AWS_SECRET_ACCESS_KEY=S"_s,
                   u"AWS_REGION=cn-north-1"_s}
            << creds << QByteArray() << config << QByteArray() << QString()
            << u"cn-north-1|AK|S||https://dynamodb.cn-north-1.amazonaws.com.cn|default|"
               u"environment"_s;

        QTest::newRow("error: no region")
            << QStringList {u"AWS_ACCESS_KEY_ID=AK"_s, u"AWS_SECRET_ACCESS_KEY=S"_s} << creds
            << QByteArray() << config << QByteArray("[default]\n") << QString()
            << u"error:AWS_REGION;@HOME@/.aws/config"_s;
        QTest::newRow("error: no credentials")
            << QStringList {u"AWS_PROFILE=work"_s, u"AWS_REGION=us-east-1"_s} << creds
            << QByteArray("[default]\naws_access_key_id = AKDEF\naws_secret_access_key = SDEF\n")
            << config << QByteArray() << QString()
            << u"error:AWS_ACCESS_KEY_ID;AWS_SECRET_ACCESS_KEY;\"work\";@HOME@/.aws/credentials"_s;
        QTest::newRow("error: half the environment credentials")
            << QStringList {u"AWS_ACCESS_KEY_ID=AK"_s, u"AWS_REGION=us-east-1"_s} << creds
            << decoyFile << config << QByteArray() << QString() << u"error:AWS_SECRET_ACCESS_KEY"_s;
        QTest::newRow("error: half the file credentials")
            << QStringList {u"AWS_REGION=us-east-1"_s} << creds
            << QByteArray("[default]\naws_access_key_id = AK\n") << config << QByteArray()
            << QString() << u"error:aws_secret_access_key;@HOME@/.aws/credentials"_s;
        QTest::newRow("error: endpoint is not http(s)")
            << (keysAndRegion + QStringList {u"AWS_ENDPOINT_URL=ftp://127.0.0.1:8000"_s}) << creds
            << QByteArray() << config << QByteArray() << QString()
            << u"error:ftp://127.0.0.1:8000;AWS_ENDPOINT_URL;http"_s;
        QTest::newRow("error: endpoint without a scheme")
            << keysAndRegion << creds << QByteArray() << config << QByteArray()
            << u"localhost:8000"_s << u"error:localhost:8000;--dynamodb-endpoint"_s;
        QTest::newRow("error: region that cannot be a host name")
            << QStringList {u"AWS_ACCESS_KEY_ID=AK"_s, u"AWS_SECRET_ACCESS_KEY=S"_s,
                   u"AWS_REGION=us east 1"_s}
            << creds << QByteArray() << config << QByteArray() << QString()
            << u"error:us east 1;AWS_REGION"_s;
    }

    void resolve()
    {
        QFETCH(QStringList, env);
        QFETCH(QString, credentialsPath);
        QFETCH(QByteArray, credentialsFile);
        QFETCH(QString, configPath);
        QFETCH(QByteArray, configFile);
        QFETCH(QString, endpointOverride);
        QFETCH(QString, expected);

        QTemporaryDir home;
        QVERIFY(home.isValid());
        const auto write = [&home](const QString &relativePath, const QByteArray &content) {
            const QString path = home.filePath(relativePath);
            QDir().mkpath(QFileInfo(path).absolutePath());
            QFile file(path);
            return file.open(QIODevice::WriteOnly) && file.write(content) == content.size();
        };
        if (!credentialsFile.isEmpty())
            QVERIFY(write(credentialsPath, credentialsFile));
        if (!configFile.isEmpty())
            QVERIFY(write(configPath, configFile));
        // Files at the default places that must lose to the ones the environment names.
        if (credentialsPath != u".aws/credentials")
            QVERIFY(write(u".aws/credentials"_s, decoyFile));
        if (configPath != u".aws/config")
            QVERIFY(write(u".aws/config"_s, decoyFile));

        QProcessEnvironment environment;
        for (const QString &entry : std::as_const(env)) {
            const qsizetype equals = entry.indexOf(u'=');
            environment.insert(
                entry.left(equals), entry.mid(equals + 1).replace(u"@HOME@"_s, home.path()));
        }
        expected.replace(u"@HOME@"_s, home.path());

        const auto result = resolveAwsSettings(environment, home.path(), endpointOverride);
        if (expected.startsWith(u"error:")) {
            const QString *error = std::get_if<QString>(&result);
            QVERIFY2(error, "expected an error");
            QVERIFY(!error->isEmpty());
            QVERIFY2(!error->contains(u'\n'), qPrintable(*error));
            const QStringList mentions = expected.mid(6).split(u';');
            for (const QString &mention : mentions)
                QVERIFY2(error->contains(mention),
                    qPrintable(u"\"%1\" does not mention %2"_s.arg(*error, mention)));
            return;
        }
        if (const QString *error = std::get_if<QString>(&result))
            QFAIL(qPrintable(*error));
        const AwsSettings &settings = std::get<AwsSettings>(result);
        const QStringList fields = expected.split(u'|');
        QCOMPARE(fields.size(), 7);
        QCOMPARE(settings.region, fields[0]);
        QCOMPARE(settings.credentials.accessKeyId, fields[1]);
        QCOMPARE(settings.credentials.secretAccessKey, fields[2]);
        QCOMPARE(settings.credentials.sessionToken, fields[3]);
        QCOMPARE(settings.endpoint, QUrl(fields[4]));
        QCOMPARE(settings.profile, fields[5]);
        QCOMPARE(settings.credentialsSource, fields[6]);
    }
};

QTEST_GUILESS_MAIN(TestAwsConfig)
#include "tst_awsconfig.moc"
