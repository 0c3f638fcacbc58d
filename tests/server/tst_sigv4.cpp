// SigV4: AWS's published examples, the canonical request piece by piece, and a
// cross-check against the signatures botocore computes for the same requests.
#include "sigv4.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTimeZone>
#include <QUrlQuery>
#include <QtTest>

using namespace Qt::StringLiterals;
using namespace parley::server::aws;

namespace {

// The example credentials of AWS's SigV4 documentation.
const QString exampleAccessKey = u"AKIDEXAMPLE"_s;
const QString exampleSecret = u"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"_s;

const QByteArray emptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

QUrl parseUrl(const QString &text)
{
    return QUrl(text, QUrl::StrictMode);
}

// "Name: value" lines -> headers; everything after the first ':' is the value, untrimmed.
QList<Header> headers(const QByteArrayList &lines)
{
    QList<Header> result;
    for (const QByteArray &line : lines) {
        const qsizetype colon = line.indexOf(':');
        result.append({line.left(colon), line.mid(colon + 1)});
    }
    return result;
}

QByteArray headerValue(const QList<Header> &headers, const QByteArray &name)
{
    for (const auto &[headerName, value] : headers) {
        if (headerName == name)
            return value;
    }
    return {};
}

// Signs one JSON-described request with botocore at a fixed time and prints the
// Authorization and X-Amz-Date headers and the canonical request it signed. SigV4Auth
// reads the clock itself: datetime.datetime.utcnow() in botocore 1.29,
// get_current_datetime() in later versions, so both are pinned.
// Single quotes only: moc 6.4 mis-lexes a raw string holding an odd number of '"'.
constexpr char botocoreScript[] = R"py(
import base64, datetime, json, sys, types
try:
    import botocore
    import botocore.auth as auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as error:
    sys.exit(f'botocore is not importable: {error}')
if sys.argv[1:] == ['--probe']:
    print(botocore.__version__)
    sys.exit(0)

case = json.load(sys.stdin)
fixed = datetime.datetime.strptime(case['timestamp'], '%Y%m%dT%H%M%SZ')

class FixedClock(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return fixed

auth.datetime = types.SimpleNamespace(datetime=FixedClock)
if hasattr(auth, 'get_current_datetime'):
    auth.get_current_datetime = lambda *args, **kwargs: fixed

class RecordingSigV4Auth(auth.SigV4Auth):
    def canonical_request(self, request):
        self.recorded = super().canonical_request(request)
        return self.recorded

request = AWSRequest(method=case['method'], url=case['url'],
                     data=base64.b64decode(case['body']),
                     params=[tuple(p) for p in case['params']])
for name, value in case['headers']:
    request.headers[name] = value  # appends, so repeated headers stay repeated
signer = RecordingSigV4Auth(
    Credentials(case['accessKey'], case['secretKey'], case['sessionToken'] or None),
    case['service'], case['region'])
signer.add_auth(request)
print(json.dumps({'authorization': request.headers['Authorization'],
                  'amzDate': request.headers['X-Amz-Date'],
                  'canonicalRequest': signer.recorded}))
)py";

} // namespace

class TestSigV4 : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_scriptDir;
    QString m_python; // an interpreter that can import botocore; empty if none
    QString m_pythonProblem;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_scriptDir.isValid());
        QFile script(m_scriptDir.filePath(u"botocore_sign.py"_s));
        QVERIFY(script.open(QIODevice::WriteOnly));
        script.write(botocoreScript);
        script.close();

        // Debian's python3-botocore lives under /usr/bin/python3; a python3 earlier on
        // PATH (pyenv, venv) may have its own botocore or none.
        QStringList candidates {u"/usr/bin/python3"_s};
        const QString onPath = QStandardPaths::findExecutable(u"python3"_s);
        if (!onPath.isEmpty() && !candidates.contains(onPath))
            candidates.append(onPath);
        for (const QString &python : std::as_const(candidates)) {
            QProcess probe;
            probe.start(python, {script.fileName(), u"--probe"_s});
            if (probe.waitForFinished(60000) && probe.exitStatus() == QProcess::NormalExit
                && probe.exitCode() == 0) {
                m_python = python;
                return;
            }
        }
        m_pythonProblem
            = u"no python3 with botocore found (tried %1): install python3-botocore"_s.arg(
                candidates.join(u", "));
    }

    void signingKeyMatchesAwsExample()
    {
        // "Examples of how to derive a signing key for Signature Version 4" (AWS docs).
        QCOMPARE(signingKey(exampleSecret, "20120215", u"us-east-1"_s, u"iam"_s).toHex(),
            QByteArray("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"));
    }

    void listUsersMatchesAwsExample_data()
    {
        QTest::addColumn<QDateTime>("when");
        const QDateTime utc(QDate(2015, 8, 30), QTime(12, 36), QTimeZone::utc());
        QTest::newRow("utc") << utc;
        QTest::newRow("another time zone") << utc.toOffsetFromUtc(2 * 3600);
    }

    void listUsersMatchesAwsExample()
    {
        // The GET ListUsers request of AWS's "Create a signed AWS API request" walkthrough.
        QFETCH(QDateTime, when);
        SigningRequest request {"GET",
            parseUrl(u"https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"_s),
            headers({"Content-Type: application/x-www-form-urlencoded; charset=utf-8"}), {}};
        const Signature signature
            = sign(request, {exampleAccessKey, exampleSecret, {}}, u"us-east-1"_s, u"iam"_s, when);

        QCOMPARE(signature.canonicalRequest,
            QByteArray("GET\n/\nAction=ListUsers&Version=2010-05-08\n"
                       "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
                       "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                       "content-type;host;x-amz-date\n"
                + emptySha256));
        QCOMPARE(signature.stringToSign,
            QByteArray("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
                       "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"));
        QCOMPARE(signature.signature,
            QByteArray("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"));
        QCOMPARE(headerValue(signature.headers, "Authorization"),
            QByteArray(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                "SignedHeaders=content-type;host;x-amz-date, "
                "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"));
        QCOMPARE(headerValue(signature.headers, "X-Amz-Date"), QByteArray("20150830T123600Z"));
        QVERIFY(headerValue(signature.headers, "X-Amz-Security-Token").isEmpty());
    }

    void canonicalRequest_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QString>("url");
        QTest::addColumn<QByteArrayList>("headerLines");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QByteArray>("expected"); // everything before the payload hash
        QTest::addColumn<QByteArray>("expectedNames");

        QTest::newRow("empty path is /")
            << QByteArray("GET") << u"https://example.amazonaws.com"_s
            << QByteArrayList {"Host:example.amazonaws.com"} << QByteArray()
            << QByteArray("GET\n/\n\nhost:example.amazonaws.com\n\nhost") << QByteArray("host");
        QTest::newRow("method upper-cased")
            << QByteArray("post") << u"https://h.example/"_s << QByteArrayList {"host:h.example"}
            << QByteArray() << QByteArray("POST\n/\n\nhost:h.example\n\nhost")
            << QByteArray("host");
        QTest::newRow("values trimmed, inner whitespace collapsed")
            << QByteArray("GET") << u"https://h.example/"_s
            << QByteArrayList {"host:h.example", "My-Header1:    value1  with \t  spaces   ",
                   "My-Header2:\t\"a   b   c\""}
            << QByteArray()
            << QByteArray("GET\n/\n\nhost:h.example\nmy-header1:value1 with spaces\n"
                          "my-header2:\"a b c\"\n\nhost;my-header1;my-header2")
            << QByteArray("host;my-header1;my-header2");
        QTest::newRow("names lower-cased and sorted")
            << QByteArray("POST") << u"https://h.example/"_s
            << QByteArrayList {"X-Amz-Target:DynamoDB_20120810.Query",
                   "X-Amz-Date:20240229T235959Z", "Host:h.example",
                   "Content-Type:application/x-amz-json-1.0"}
            << QByteArray("{}")
            << QByteArray("POST\n/\n\ncontent-type:application/x-amz-json-1.0\nhost:h.example\n"
                          "x-amz-date:20240229T235959Z\nx-amz-target:DynamoDB_20120810.Query\n\n"
                          "content-type;host;x-amz-date;x-amz-target")
            << QByteArray("content-type;host;x-amz-date;x-amz-target");
        QTest::newRow("repeated header joined with commas")
            << QByteArray("GET") << u"https://h.example/"_s
            << QByteArrayList {"X-Multi: b", "host:h.example", "x-multi:  a "} << QByteArray()
            << QByteArray("GET\n/\n\nhost:h.example\nx-multi:b,a\n\nhost;x-multi")
            << QByteArray("host;x-multi");
        QTest::newRow("query sorted by name, then value; '=' always present")
            << QByteArray("GET") << u"https://h.example/?b=2&a=3&flag&a=1&A=0"_s
            << QByteArrayList {"host:h.example"} << QByteArray()
            << QByteArray("GET\n/\nA=0&a=1&a=3&b=2&flag=\nhost:h.example\n\nhost")
            << QByteArray("host");
        QTest::newRow("query decoded, then encoded with the unreserved set")
            << QByteArray("GET")
            << u"https://h.example/?k%20y=a%20b/c+d%26e%3Df&%c3%a9=~-._&t=x:y@z!*"_s
            << QByteArrayList {"host:h.example"} << QByteArray()
            << QByteArray("GET\n/\n%C3%A9=~-._&k%20y=a%20b%2Fc%2Bd%26e%3Df&t=x%3Ay%40z%21%2A\n"
                          "host:h.example\n\nhost")
            << QByteArray("host");
        QTest::newRow("path: dot segments and repeated slashes removed, wire form encoded again")
            << QByteArray("GET") << u"https://h.example/a%20b/./x/../y//%C3%BC~z/"_s
            << QByteArrayList {"host:h.example"} << QByteArray()
            << QByteArray("GET\n/a%2520b/y/%25C3%25BC~z/\n\nhost:h.example\n\nhost")
            << QByteArray("host");
    }

    void canonicalRequest()
    {
        QFETCH(QByteArray, method);
        QFETCH(QString, url);
        QFETCH(QByteArrayList, headerLines);
        QFETCH(QByteArray, body);
        QFETCH(QByteArray, expected);
        QFETCH(QByteArray, expectedNames);

        const SigningRequest request {method, parseUrl(url), {}, body};
        QByteArray names;
        const QByteArray canonical
            = parley::server::aws::canonicalRequest(request, headers(headerLines), &names);
        QCOMPARE(canonical,
            expected + '\n' + QCryptographicHash::hash(body, QCryptographicHash::Sha256).toHex());
        QCOMPARE(names, expectedNames);
    }

    void signAddsHostDateAndToken_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<QString>("sessionToken");
        QTest::addColumn<QByteArray>("expectedHost");

        QTest::newRow("default https port omitted")
            << u"https://dynamodb.us-east-1.amazonaws.com:443/"_s << QString()
            << QByteArray("dynamodb.us-east-1.amazonaws.com");
        QTest::newRow("default http port omitted")
            << u"http://localhost:80/"_s << QString() << QByteArray("localhost");
        QTest::newRow("other port kept") << u"http://127.0.0.1:8000/"_s << u"token/with+chars="_s
                                         << QByteArray("127.0.0.1:8000");
        QTest::newRow("IPv6 in brackets")
            << u"http://[::1]:8000/"_s << QString() << QByteArray("[::1]:8000");
    }

    void signAddsHostDateAndToken()
    {
        QFETCH(QString, url);
        QFETCH(QString, sessionToken);
        QFETCH(QByteArray, expectedHost);

        // Headers the signer owns are replaced, not signed twice.
        const SigningRequest request {"POST", parseUrl(url),
            headers({"X-Amz-Target:DynamoDB_20120810.GetItem", "Host:wrong.example",
                "X-Amz-Date:19990101T000000Z"}),
            "{}"};
        const QDateTime when(QDate(2024, 2, 29), QTime(23, 59, 59), QTimeZone::utc());
        const Signature signature = sign(request, {exampleAccessKey, exampleSecret, sessionToken},
            u"us-west-2"_s, u"dynamodb"_s, when);

        QVERIFY2(signature.canonicalRequest.contains(QByteArray("\nhost:" + expectedHost + '\n')),
            signature.canonicalRequest.constData());
        QCOMPARE(signature.canonicalRequest.count("host:"), 1);
        QCOMPARE(signature.canonicalRequest.count("x-amz-date:20240229T235959Z\n"), 1);
        QCOMPARE(headerValue(signature.headers, "X-Amz-Date"), QByteArray("20240229T235959Z"));
        QCOMPARE(headerValue(signature.headers, "X-Amz-Security-Token"), sessionToken.toUtf8());
        const QByteArray names = sessionToken.isEmpty()
            ? QByteArray("host;x-amz-date;x-amz-target")
            : QByteArray("host;x-amz-date;x-amz-security-token;x-amz-target");
        const QByteArray expectedStart
            = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240229/us-west-2/dynamodb/aws4_request, "
              "SignedHeaders="
            + names + ", Signature=";
        QVERIFY(headerValue(signature.headers, "Authorization").startsWith(expectedStart));
    }

    void matchesBotocore_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QString>("url");
        QTest::addColumn<QByteArrayList>("headerLines");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QString>("sessionToken");
        QTest::addColumn<QString>("region");
        QTest::addColumn<QString>("service");

        const QByteArrayList putItem {
            "Content-Type: application/x-amz-json-1.0", "X-Amz-Target: DynamoDB_20120810.PutItem"};
        const QByteArray putItemBody = "{\"TableName\":\"parley_messages\",\"Item\":{\"pk\":{\"S\":"
                                       "\"c#1\"},\"seq\":{\"N\":\"42\"}},"
                                       "\"ConditionExpression\":\"attribute_not_exists(pk)\"}";
        QTest::newRow("DynamoDB PutItem")
            << QByteArray("POST") << u"https://dynamodb.us-east-1.amazonaws.com/"_s << putItem
            << putItemBody << QString() << u"us-east-1"_s << u"dynamodb"_s;
        QTest::newRow("session token")
            << QByteArray("POST") << u"https://dynamodb.eu-central-1.amazonaws.com/"_s << putItem
            << putItemBody << u"IQoJb3JpZ2luX2VjEXAMPLE/session+token=="_s << u"eu-central-1"_s
            << u"dynamodb"_s;
        QTest::newRow("local endpoint on port 8000")
            << QByteArray("POST") << u"http://127.0.0.1:8000/"_s
            << QByteArrayList {"Content-Type: application/x-amz-json-1.0",
                   "X-Amz-Target: DynamoDB_20120810.Query"}
            << QByteArray(
                   "{\"TableName\":\"parley_messages\",\"KeyConditionExpression\":\"pk = :p\","
                   "\"ExpressionAttributeValues\":{\":p\":{\"S\":\"c#1\"}},\"Limit\":100}")
            << QString() << u"us-east-1"_s << u"dynamodb"_s;
        QTest::newRow("IPv6 endpoint") << QByteArray("POST") << u"http://[::1]:4567/"_s << putItem
                                       << putItemBody << QString() << u"local"_s << u"dynamodb"_s;
        QTest::newRow("unicode body")
            << QByteArray("POST") << u"https://dynamodb.ap-southeast-2.amazonaws.com/"_s << putItem
            << QByteArray("{\"Item\":{\"text\":{\"S\":\"héllo wörld 👋 日本語 \\u0000\"}}}")
            << QString() << u"ap-southeast-2"_s << u"dynamodb"_s;
        QTest::newRow("empty body")
            << QByteArray("GET") << u"https://dynamodb.us-west-2.amazonaws.com/"_s
            << QByteArrayList() << QByteArray() << QString() << u"us-west-2"_s << u"dynamodb"_s;
        QTest::newRow("query with special characters")
            << QByteArray("GET")
            << u"https://example.amazonaws.com/?b=2&a=x%20y&a=1&c=a/b+c%26d%3De&%C3%A9=%C3%BC~&flag&t=x:y@z!*'()"_s
            << QByteArrayList() << QByteArray() << QString() << u"us-east-1"_s << u"service"_s;
        QTest::newRow("path segments")
            << QByteArray("GET") << u"https://example.amazonaws.com/a%20b/./x/../y//%C3%BC~z/"_s
            << QByteArrayList() << QByteArray() << QString() << u"us-east-1"_s << u"service"_s;
        QTest::newRow("messy header values")
            << QByteArray("POST") << u"https://dynamodb.us-east-1.amazonaws.com:443/"_s
            << QByteArrayList {"content-TYPE:   application/x-amz-json-1.0  ",
                   "X-Amz-Target:DynamoDB_20120810.BatchWriteItem", "X-Multi: one  two",
                   "x-multi:\tthree"}
            << QByteArray("{\"RequestItems\":{}}") << QString() << u"us-east-1"_s << u"dynamodb"_s;
    }

    void matchesBotocore()
    {
        QFETCH(QByteArray, method);
        QFETCH(QString, url);
        QFETCH(QByteArrayList, headerLines);
        QFETCH(QByteArray, body);
        QFETCH(QString, sessionToken);
        QFETCH(QString, region);
        QFETCH(QString, service);
        if (m_python.isEmpty())
            QSKIP(qPrintable(m_pythonProblem));

        const QUrl requestUrl = parseUrl(url);
        QVERIFY(requestUrl.isValid());
        const QDateTime when(QDate(2024, 2, 29), QTime(23, 59, 59), QTimeZone::utc());
        const SigningRequest request {method, requestUrl, headers(headerLines), body};
        const Signature ours
            = sign(request, {exampleAccessKey, exampleSecret, sessionToken}, region, service, when);

        // botocore gets the path as Qt sends it and the query as decoded parameters, which
        // it encodes itself, as an AWS endpoint does.
        QJsonArray params;
        const auto items = QUrlQuery(requestUrl).queryItems(QUrl::FullyDecoded);
        for (const auto &[name, value] : items)
            params.append(QJsonArray {name, value});
        QJsonArray headerPairs;
        for (const auto &[name, value] : headers(headerLines))
            headerPairs.append(QJsonArray {QString::fromUtf8(name), QString::fromUtf8(value)});
        const QJsonObject job {
            {u"method"_s, QString::fromLatin1(method)},
            {u"url"_s, requestUrl.adjusted(QUrl::RemoveQuery).toString(QUrl::FullyEncoded)},
            {u"params"_s, params},
            {u"headers"_s, headerPairs},
            {u"body"_s, QString::fromLatin1(body.toBase64())},
            {u"accessKey"_s, exampleAccessKey},
            {u"secretKey"_s, exampleSecret},
            {u"sessionToken"_s, sessionToken},
            {u"region"_s, region},
            {u"service"_s, service},
            {u"timestamp"_s, u"20240229T235959Z"_s},
        };

        QProcess python;
        python.start(m_python, {m_scriptDir.filePath(u"botocore_sign.py"_s)});
        QVERIFY2(python.waitForStarted(), qPrintable(python.errorString()));
        python.write(QJsonDocument(job).toJson());
        python.closeWriteChannel();
        QVERIFY(python.waitForFinished(60000));
        QVERIFY2(python.exitCode() == 0, python.readAllStandardError().constData());
        const QJsonObject theirs = QJsonDocument::fromJson(python.readAllStandardOutput()).object();

        QCOMPARE(theirs.value(u"amzDate"_s).toString(), u"20240229T235959Z"_s);
        QCOMPARE(QString::fromUtf8(ours.canonicalRequest),
            theirs.value(u"canonicalRequest"_s).toString());
        QCOMPARE(QString::fromLatin1(headerValue(ours.headers, "Authorization")),
            theirs.value(u"authorization"_s).toString());
    }
};

QTEST_GUILESS_MAIN(TestSigV4)
#include "tst_sigv4.moc"
