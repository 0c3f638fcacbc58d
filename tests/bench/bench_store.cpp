// bench_store: the server's two durable stores side by side, and the ceiling DynamoDB
// (here dynalite) sets, all measured in one run:
//   1. dynalite's own PutItem capacity: a closed loop of SigV4-signed PutItem requests of
//      a message's size straight to dynalite, at each of several numbers in flight; the
//      best rate counts.
//   2. per store (`--store sqlite`, `--store dynamodb` on the same dynalite), a server
//      started here with raised rate limits, measured by bench_server --url: acked sends
//      per second (closed loop), then ack latency p50/p99 at one offered rate for both
//      (by default half the slower store's throughput).
// Then a table, Parley on DynamoDB as a share of the raw PutItem capacity, and the
// DynamoDB requests the server made per stored message during the throughput run (from
// its /metrics: parley_dynamodb_requests_total over parley_messages_stored_total, less
// what signing the benchmark's users in costs, measured by a run that only signs in).
//
//   bench_store [--seconds S] [--pairs N] [--window W] [--rate R] [--in-flight 6,12,24,32]
#include "benchsupport.h"
#include "dynalite.h"
#include "sigv4.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTimer>
#include <QUuid>

#include <cstdio>
#ifdef Q_OS_LINUX
#include <csignal>
#include <sys/prctl.h>
#endif
#include <functional>
#include <memory>
#include <optional>
#include <vector>

using namespace Qt::StringLiterals;
namespace aws = parley::server::aws;

using parley::bench::spinFor;

namespace {

const QString Region = u"us-east-1"_s;
const aws::Credentials BenchCredentials {u"parleybench"_s, u"parleybench"_s, {}};
const QByteArray RawTable = "bench_raw_putitem";

QNetworkRequest signedRequest(
    const QUrl &endpoint, const QByteArray &operation, const QByteArray &body)
{
    const aws::SigningRequest signing {"POST", endpoint,
        {{"X-Amz-Target", "DynamoDB_20120810." + operation},
            {"Content-Type", "application/x-amz-json-1.0"}},
        body};
    const aws::Signature signature = aws::sign(
        signing, BenchCredentials, Region, u"dynamodb"_s, QDateTime::currentDateTimeUtc());
    QNetworkRequest request(endpoint);
    for (const aws::Header &header : signing.headers)
        request.setRawHeader(header.first, header.second);
    for (const aws::Header &header : signature.headers)
        request.setRawHeader(header.first, header.second);
    return request;
}

// One request, waited for: the HTTP status (0 without an answer) and the JSON answer.
std::pair<int, QJsonObject> callOnce(QNetworkAccessManager &network, const QUrl &endpoint,
    const QByteArray &operation, const QByteArray &body)
{
    QNetworkReply *reply = network.post(signedRequest(endpoint, operation, body), body);
    spinFor(30000, [reply] { return reply->isFinished(); });
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QJsonObject answer = QJsonDocument::fromJson(reply->readAll()).object();
    reply->deleteLater();
    return {status, answer};
}

bool createRawTable(const QUrl &endpoint)
{
    QNetworkAccessManager network;
    const auto [status, answer] = callOnce(network, endpoint, "CreateTable",
        R"({"TableName":")" + RawTable
            + R"(","BillingMode":"PAY_PER_REQUEST","AttributeDefinitions":[)"
              R"({"AttributeName":"conv","AttributeType":"S"},)"
              R"({"AttributeName":"seq","AttributeType":"N"}],)"
              R"("KeySchema":[{"AttributeName":"conv","KeyType":"HASH"},)"
              R"({"AttributeName":"seq","KeyType":"RANGE"}]})");
    if (status != 200) {
        std::fprintf(stderr, "CreateTable: HTTP %d %s\n", status,
            QJsonDocument(answer).toJson(QJsonDocument::Compact).constData());
        return false;
    }
    QElapsedTimer clock;
    clock.start();
    while (clock.elapsed() < 30000) {
        const auto [describeStatus, description] = callOnce(
            network, endpoint, "DescribeTable", R"({"TableName":")" + RawTable + R"("})");
        if (description.value(u"Table"_s).toObject().value(u"TableStatus"_s) == u"ACTIVE"_s)
            return true;
        spinFor(100);
    }
    std::fprintf(stderr, "%s never became ACTIVE\n", RawTable.constData());
    return false;
}

struct RawResult
{
    int inFlight = 0;
    double putsPerSecond = 0;
    qint64 errors = 0;
};

// A PutItem of a message's size, signed, as HTTP/1.1 bytes.
QByteArray putItemRequest(const QUrl &endpoint, qint64 seq)
{
    const QByteArray body = R"({"TableName":")" + RawTable + R"(","Item":{"conv":{"S":"conv-)"
        + QByteArray::number(seq % 50) + R"("},"seq":{"N":")" + QByteArray::number(seq)
        + R"("},"sender":{"S":"bench-sender"},"cid":{"S":")"
        + QUuid::createUuid().toByteArray(QUuid::WithoutBraces) + R"("},"ts":{"N":")"
        + QByteArray::number(QDateTime::currentMSecsSinceEpoch())
        + R"("},"body":{"S":"benchmark message body of a typical length, 60 chars."}}})";
    const aws::SigningRequest signing {"POST", endpoint,
        {{"X-Amz-Target", "DynamoDB_20120810.PutItem"},
            {"Content-Type", "application/x-amz-json-1.0"}},
        body};
    const aws::Signature signature = aws::sign(
        signing, BenchCredentials, Region, u"dynamodb"_s, QDateTime::currentDateTimeUtc());
    QByteArray request = "POST / HTTP/1.1\r\nHost: " + endpoint.host().toLatin1() + ':'
        + QByteArray::number(endpoint.port())
        + "\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n";
    for (const aws::Header &header : signing.headers + signature.headers)
        request += header.first + ": " + header.second + "\r\n";
    return request + "\r\n" + body;
}

// The size of the whole HTTP response at the start of `buffer` (0 while incomplete, -1
// without Content-Length, which dynalite always sends), and its status.
qsizetype responseSize(const QByteArray &buffer, int *status)
{
    const qsizetype headEnd = buffer.indexOf("\r\n\r\n");
    if (headEnd < 0)
        return 0;
    const QByteArray head = buffer.left(headEnd + 2).toLower();
    const QByteArray field = "\r\ncontent-length:";
    const qsizetype at = head.indexOf(field);
    if (at < 0)
        return -1;
    const qsizetype valueAt = at + field.size();
    const qint64 length
        = head.mid(valueAt, head.indexOf("\r\n", valueAt) - valueAt).trimmed().toLongLong();
    *status = buffer.mid(9, 3).toInt();
    const qsizetype size = headEnd + 4 + qsizetype(length);
    return buffer.size() >= size ? size : 0;
}

// A closed loop: each of `inFlight` keep-alive connections sends its next PutItem when the
// last one is answered. Plain sockets, not QNetworkAccessManager: on a 2-core machine its
// per-request cost would make this measure the client rather than dynalite.
RawResult measurePutItem(const QUrl &endpoint, int inFlight, int seconds)
{
    struct Connection
    {
        QTcpSocket socket;
        QByteArray received;
    };
    std::vector<std::unique_ptr<Connection>> connections;
    qint64 seq = 0, stored = 0, errors = 0;
    int open = 0;
    bool running = true;
    auto report = [&errors](int status, const QByteArray &response) {
        if (++errors == 1)
            std::fprintf(stderr, "PutItem: HTTP %d %s\n", status, response.constData());
    };
    for (int i = 0; i < inFlight; ++i) {
        connections.push_back(std::make_unique<Connection>());
        Connection *c = connections.back().get();
        QObject::connect(&c->socket, &QTcpSocket::connected, &c->socket,
            [&, c] { c->socket.write(putItemRequest(endpoint, ++seq)); });
        QObject::connect(&c->socket, &QTcpSocket::readyRead, &c->socket, [&, c] {
            c->received += c->socket.readAll();
            int status = 0;
            const qsizetype size = responseSize(c->received, &status);
            if (size == 0)
                return;
            if (size < 0 || status != 200)
                report(status, c->received);
            else
                ++stored;
            c->received.remove(0, std::max<qsizetype>(size, 0));
            if (running && size > 0) {
                c->socket.write(putItemRequest(endpoint, ++seq));
            } else {
                --open;
                c->socket.disconnect();
                c->socket.disconnectFromHost();
            }
        });
        QObject::connect(&c->socket, &QTcpSocket::errorOccurred, &c->socket, [&, c] {
            report(0, c->socket.errorString().toUtf8());
            --open;
            c->socket.disconnect();
        });
        ++open;
        c->socket.connectToHost(QHostAddress::LocalHost, quint16(endpoint.port()));
    }
    QElapsedTimer clock;
    clock.start();
    spinFor(seconds * 1000);
    running = false;
    const double elapsed = double(clock.nsecsElapsed()) / 1e9;
    const qint64 storedInTime = stored;
    spinFor(30000, [&] { return open == 0; });
    return {inFlight, double(storedInTime) / elapsed, errors};
}

// A `parley server` on a store of its own, with rate limits out of the benchmark's way.
class StoreServer
{
public:
    bool start(const QStringList &storeArgs, const QProcessEnvironment &environment)
    {
        QProcessEnvironment quiet = environment;
        quiet.insert(u"QT_LOGGING_RULES"_s, u"parley.*.info=false"_s); // warnings still show
        m_process.setProcessEnvironment(quiet);
        m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
#ifdef Q_OS_LINUX
        // Killed half way, the benchmark must not leave its servers running.
        m_process.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGTERM); });
#endif
        m_process.start(QStringLiteral(PARLEY_BINARY),
            QStringList {u"server"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s,
                m_dataDir.path(), u"--send-burst"_s, u"100000"_s, u"--send-rate"_s, u"100000"_s,
                u"--frame-burst"_s, u"100000"_s, u"--frame-rate"_s, u"100000"_s}
                + storeArgs);
        static const QRegularExpression listening(u"listening on (ws://127.0.0.1:\\d+/ws)"_s);
        QByteArray output;
        QRegularExpressionMatch match;
        spinFor(60000, [&] {
            output += m_process.readAllStandardOutput();
            match = listening.match(QString::fromUtf8(output));
            return match.hasMatch() || m_process.state() == QProcess::NotRunning;
        });
        if (!match.hasMatch())
            return false;
        m_url = QUrl(match.captured(1));
        return true;
    }
    ~StoreServer()
    {
        m_process.terminate();
        if (!m_process.waitForFinished(30000))
            m_process.kill();
        m_process.waitForFinished();
    }
    QUrl url() const
    {
        return m_url;
    }

private:
    QTemporaryDir m_dataDir;
    QProcess m_process;
    QUrl m_url;
};

// bench_server against `url`; the value after each label it prints.
std::optional<QHash<QString, double>> runBenchServer(
    const QUrl &url, const QStringList &options, const QStringList &labels)
{
    QProcess bench;
    bench.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    bench.start(QStringLiteral(BENCH_SERVER),
        QStringList {u"--url"_s, url.toString(), u"--idle"_s, u"0"_s} + options);
    if (!bench.waitForFinished(-1) || bench.exitCode() != 0)
        return std::nullopt;
    const QString output = QString::fromUtf8(bench.readAllStandardOutput());
    QHash<QString, double> values;
    for (const QString &label : labels) {
        const QRegularExpression re(QRegularExpression::escape(label) + u":\\s*([0-9.]+)"_s);
        const QRegularExpressionMatch match = re.match(output);
        if (!match.hasMatch()) {
            std::fprintf(stderr, "bench_server printed no \"%s\":\n%s\n", qPrintable(label),
                qPrintable(output));
            return std::nullopt;
        }
        values.insert(label, match.captured(1).toDouble());
    }
    return values;
}

// The server's /metrics (served on its WebSocket port): DynamoDB requests by operation
// (every attempt, every outcome) and messages stored.
struct RequestCounts
{
    QHash<QString, double> byOperation;
    double stored = 0;

    RequestCounts operator-(const RequestCounts &earlier) const
    {
        RequestCounts difference {{}, stored - earlier.stored};
        for (auto it = byOperation.cbegin(); it != byOperation.cend(); ++it)
            difference.byOperation.insert(
                it.key(), it.value() - earlier.byOperation.value(it.key()));
        return difference;
    }
};

std::optional<RequestCounts> scrapeRequests(const QUrl &wsUrl)
{
    QUrl metricsUrl = wsUrl;
    metricsUrl.setScheme(u"http"_s);
    metricsUrl.setPath(u"/metrics"_s);
    QNetworkAccessManager network;
    QNetworkReply *reply = network.get(QNetworkRequest(metricsUrl));
    spinFor(30000, [reply] { return reply->isFinished(); });
    const QString text = QString::fromUtf8(reply->readAll());
    const bool ok = reply->error() == QNetworkReply::NoError;
    reply->deleteLater();
    if (!ok)
        return std::nullopt;
    static const QRegularExpression request(
        u"^parley_dynamodb_requests_total\\{operation=\"(\\w+)\",[^}]*\\} ([0-9.e+]+)$"_s,
        QRegularExpression::MultilineOption);
    static const QRegularExpression stored(
        u"^parley_messages_stored_total ([0-9.e+]+)$"_s, QRegularExpression::MultilineOption);
    RequestCounts counts;
    for (auto it = request.globalMatch(text); it.hasNext();) {
        const QRegularExpressionMatch match = it.next();
        counts.byOperation[match.captured(1)] += match.captured(2).toDouble();
    }
    counts.stored = stored.match(text).captured(1).toDouble();
    return counts;
}

struct StoreResult
{
    QString name;
    double sendsPerSecond = 0;
    double p50 = 0;
    double p99 = 0;
};

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(u"Parley store benchmark: SQLite, DynamoDB (dynalite) and "
                                     u"dynalite's raw PutItem capacity"_s);
    parser.addHelpOption();
    parser.addOption({u"seconds"_s, u"Seconds per measurement (default 10)."_s, u"S"_s, u"10"_s});
    parser.addOption({u"pairs"_s, u"Sender/receiver pairs (default 50)."_s, u"N"_s, u"50"_s});
    parser.addOption({u"window"_s, u"Sends in flight per sender (default 64)."_s, u"W"_s, u"64"_s});
    parser.addOption({u"rate"_s,
        u"Offered rate for the latency runs, msgs/s (default: half the slower store's "
        u"throughput)."_s,
        u"R"_s});
    parser.addOption({u"in-flight"_s,
        u"PutItem requests in flight for the raw capacity, comma-separated (default "
        u"6,12,24,32)."_s,
        u"LIST"_s, u"6,12,24,32"_s});
    parser.process(app);
    const int seconds = parser.value(u"seconds"_s).toInt();
    const QStringList common {u"--pairs"_s, parser.value(u"pairs"_s), u"--seconds"_s,
        QString::number(seconds), u"--window"_s, parser.value(u"window"_s)};

    QString error;
    parley::test::Dynalite *dynalite = parley::test::Dynalite::shared(&error);
    if (!dynalite) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    const QUrl endpoint(dynalite->endpoint().toString() + u'/');
    std::printf("dynalite: %s\n", qPrintable(endpoint.toString()));

    // ---- 1. dynalite's raw PutItem capacity ---------------------------------------
    if (!createRawTable(endpoint))
        return 1;
    RawResult best;
    for (const QString &level : parser.value(u"in-flight"_s).split(u',')) {
        const RawResult result = measurePutItem(endpoint, level.toInt(), seconds);
        std::printf("[raw PutItem] %2d in flight: %7.0f puts/s, %lld errors\n", result.inFlight,
            result.putsPerSecond, result.errors);
        if (result.putsPerSecond > best.putsPerSecond)
            best = result;
    }

    // ---- 2. the two stores, each behind its own server ----------------------------
    QProcessEnvironment dynamoEnvironment = QProcessEnvironment::systemEnvironment();
    for (const char *name :
        {"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"})
        dynamoEnvironment.remove(QString::fromLatin1(name));
    dynamoEnvironment.insert(u"AWS_REGION"_s, Region);
    dynamoEnvironment.insert(u"AWS_ACCESS_KEY_ID"_s, BenchCredentials.accessKeyId);
    dynamoEnvironment.insert(u"AWS_SECRET_ACCESS_KEY"_s, BenchCredentials.secretAccessKey);
    StoreServer sqlite, dynamo;
    if (!sqlite.start({u"--store"_s, u"sqlite"_s}, QProcessEnvironment::systemEnvironment())
        || !dynamo.start(
            {u"--store"_s, u"dynamodb"_s, u"--dynamodb-endpoint"_s, endpoint.toString(),
                u"--dynamodb-table-prefix"_s, u"bench_"_s, u"--create-tables"_s},
            dynamoEnvironment)) {
        std::fprintf(stderr, "a server did not start\n");
        return 1;
    }
    std::vector<StoreResult> results {{u"sqlite"_s}, {u"dynamodb (dynalite)"_s}};
    const QUrl urls[] = {sqlite.url(), dynamo.url()};
    std::optional<RequestCounts> signIn, throughput; // DynamoDB requests, per run
    const auto countRequests = [&](const QStringList &options, const QStringList &labels,
                                   std::optional<RequestCounts> *counts) {
        const std::optional<RequestCounts> before = scrapeRequests(dynamo.url());
        auto values = runBenchServer(dynamo.url(), options, labels);
        const std::optional<RequestCounts> after = scrapeRequests(dynamo.url());
        if (before && after)
            *counts = *after - *before;
        return values;
    };
    // bench_server signs its users in first: a run that does only that tells what it costs.
    std::printf("[%s] signing in only...\n", qPrintable(results[1].name));
    std::fflush(stdout);
    if (!countRequests(common + QStringList {u"--phases"_s, u"none"_s}, {}, &signIn))
        return 1;
    for (size_t i = 0; i < results.size(); ++i) {
        std::printf("[%s] throughput...\n", qPrintable(results[i].name));
        std::fflush(stdout);
        const QStringList options = common + QStringList {u"--phases"_s, u"throughput"_s};
        const auto values = urls[i] == dynamo.url()
            ? countRequests(options, {u"acked sends/s"_s}, &throughput)
            : runBenchServer(urls[i], options, {u"acked sends/s"_s});
        if (!values)
            return 1;
        results[i].sendsPerSecond = values->value(u"acked sends/s"_s);
    }
    const double rate = parser.isSet(u"rate"_s)
        ? parser.value(u"rate"_s).toDouble()
        : std::max(50.0, std::min(results[0].sendsPerSecond, results[1].sendsPerSecond) / 2);
    for (size_t i = 0; i < results.size(); ++i) {
        std::printf("[%s] latency at %.0f msgs/s...\n", qPrintable(results[i].name), rate);
        std::fflush(stdout);
        const auto values = runBenchServer(urls[i],
            common + QStringList {u"--phases"_s, u"latency"_s, u"--rate"_s, QString::number(rate)},
            {u"ack p50"_s, u"ack p99"_s});
        if (!values)
            return 1;
        results[i].p50 = values->value(u"ack p50"_s);
        results[i].p99 = values->value(u"ack p99"_s);
    }

    std::printf("\n%-24s %12s %14s %14s\n", "", "msgs/s", "ack p50 (ms)", "ack p99 (ms)");
    for (const StoreResult &result : results)
        std::printf("%-24s %12.0f %14.2f %14.2f\n", qPrintable(result.name), result.sendsPerSecond,
            result.p50, result.p99);
    std::printf("%-24s %12.0f   (PutItem/s, best at %d in flight)\n", "dynalite raw PutItem",
        best.putsPerSecond, best.inFlight);
    std::printf("latency offered at %.0f msgs/s; %d s per measurement\n", rate, seconds);
    if (best.putsPerSecond > 0)
        std::printf("Parley on DynamoDB: %.0f%% of dynalite's raw PutItem capacity\n",
            100.0 * results[1].sendsPerSecond / best.putsPerSecond);
    if (signIn && throughput && throughput->stored > 0) {
        const RequestCounts messages = *throughput - *signIn;
        double total = 0;
        QString detail;
        QStringList operations = messages.byOperation.keys();
        operations.sort();
        for (const QString &operation : operations) {
            const double perMessage = messages.byOperation.value(operation) / messages.stored;
            if (perMessage < 0.0005)
                continue;
            total += perMessage;
            detail += u" %1 %2"_s.arg(operation).arg(perMessage, 0, 'f', 3);
        }
        std::printf("DynamoDB requests per stored message (throughput run, %.0f messages, "
                    "sign-ins left out): %.3f =%s\n",
            messages.stored, total, qPrintable(detail));
    } else {
        std::printf("DynamoDB requests per stored message: the server's /metrics could not be "
                    "read\n");
    }
    return 0;
}
