// bench_dynamoclient: the HTTP transport under DynamoStore, alone, against dynalite. A
// closed loop of SigV4-signed PutItem requests of a message's size (the same as
// bench_store's raw loop), at each of several numbers in flight, through:
//   qnam          QNetworkAccessManager, set up as DynamoClient had it (HTTP/1.1, six
//                 connections per host, a 10 s transfer timeout)
//   pipeline      aws::HttpPipeline with --connections / --per-connection, the transport
//                 without DynamoClient's JSON and retries
//   dynamoclient  aws::DynamoClient::call("PutItem") with its default limits and retries
// Each prints answered puts/s, p50/p99 latency, this process's CPU time per answered put
// (what the client itself costs, less sensitive to other load on the machine than the
// rate) and errors (given up, or non-200 answers).
//
//   bench_dynamoclient [--seconds S] [--in-flight 1,8,32,64,256] [--clients qnam,...]
//                      [--connections N] [--per-connection D]
#include "benchsupport.h"
#include "dynalite.h"
#include "dynamoclient.h"
#include "httppipeline.h"
#include "metrics.h"
#include "sigv4.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>
#include <QUuid>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <vector>

using namespace Qt::StringLiterals;
namespace aws = parley::server::aws;

using parley::bench::spinFor;

namespace {

const QString Table = u"bench_dynamoclient"_s;

QJsonObject putItem(qint64 seq)
{
    auto s = [](const QString &value) { return QJsonObject {{u"S"_s, value}}; };
    auto n = [](qint64 value) { return QJsonObject {{u"N"_s, QString::number(value)}}; };
    return QJsonObject {{u"TableName"_s, Table},
        {u"Item"_s,
            QJsonObject {{u"conv"_s, s(u"conv-"_s + QString::number(seq % 50))}, {u"seq"_s, n(seq)},
                {u"sender"_s, s(u"bench-sender"_s)},
                {u"cid"_s, s(QUuid::createUuid().toString(QUuid::WithoutBraces))},
                {u"ts"_s, n(QDateTime::currentMSecsSinceEpoch())},
                {u"body"_s, s(u"benchmark message body of a typical length, 60 chars."_s)}}}};
}

QByteArray putItemBody(qint64 seq)
{
    return QJsonDocument(putItem(seq)).toJson(QJsonDocument::Compact);
}

QList<aws::Header> signedHeaders(const aws::AwsSettings &settings, const QByteArray &body)
{
    QList<aws::Header> headers {{"Content-Type", "application/x-amz-json-1.0"},
        {"X-Amz-Target", "DynamoDB_20120810.PutItem"}};
    headers += aws::sign({"POST", settings.endpoint, headers, body}, settings.credentials,
        settings.region, u"dynamodb"_s, QDateTime::currentDateTimeUtc())
                   .headers;
    return headers;
}

// One request through `client`, waited for.
QJsonObject callAndWait(
    aws::DynamoClient &client, const QString &operation, const QJsonObject &request, QString *error)
{
    bool finished = false;
    QJsonObject answer;
    client.call(operation, request, [&](const QJsonObject &response, const aws::DynamoError *e) {
        finished = true;
        answer = response;
        if (e)
            *error = e->type + u": "_s + e->message;
    });
    spinFor(60000, [&] { return finished; });
    return answer;
}

bool createTable(aws::DynamoClient &client)
{
    QString error;
    const QJsonObject attributes[]
        = {{{u"AttributeName"_s, u"conv"_s}, {u"AttributeType"_s, u"S"_s}},
            {{u"AttributeName"_s, u"seq"_s}, {u"AttributeType"_s, u"N"_s}}};
    const QJsonObject keys[] = {{{u"AttributeName"_s, u"conv"_s}, {u"KeyType"_s, u"HASH"_s}},
        {{u"AttributeName"_s, u"seq"_s}, {u"KeyType"_s, u"RANGE"_s}}};
    callAndWait(client, u"CreateTable"_s,
        {{u"TableName"_s, Table}, {u"BillingMode"_s, u"PAY_PER_REQUEST"_s},
            {u"AttributeDefinitions"_s, QJsonArray {attributes[0], attributes[1]}},
            {u"KeySchema"_s, QJsonArray {keys[0], keys[1]}}},
        &error);
    for (int i = 0; i < 300; ++i) {
        error.clear();
        const QJsonObject description
            = callAndWait(client, u"DescribeTable"_s, {{u"TableName"_s, Table}}, &error);
        if (description.value(u"Table"_s).toObject().value(u"TableStatus"_s) == u"ACTIVE"_s)
            return true;
        spinFor(100);
    }
    std::fprintf(stderr, "%s never became ACTIVE: %s\n", qPrintable(Table), qPrintable(error));
    return false;
}

struct Result
{
    double perSecond = 0;
    double p50Ms = 0;
    double p99Ms = 0;
    qint64 errors = 0;
    double cpuUsPerRequest = 0; // this process's CPU time (all threads) per answer
};

// A closed loop: `send(seq, finished)` starts one request and calls `finished(ok)` when it
// is over; a new one starts for each that ends, `inFlight` at a time, for `seconds`.
Result closedLoop(int inFlight, int seconds,
    const std::function<void(qint64 seq, std::function<void(bool ok)> finished)> &send)
{
    qint64 seq = 0, answered = 0, errors = 0, outstanding = 0;
    bool running = true;
    std::vector<double> latencies;
    QElapsedTimer clock;
    std::function<void()> issue = [&] {
        ++outstanding;
        QElapsedTimer started;
        started.start();
        send(++seq, [&, started](bool ok) {
            --outstanding;
            if (!running)
                return;
            latencies.push_back(double(started.nsecsElapsed()) / 1e6);
            ++answered;
            errors += ok ? 0 : 1;
            issue();
        });
    };
    clock.start();
    const std::clock_t cpuStart = std::clock();
    for (int i = 0; i < inFlight; ++i)
        issue();
    spinFor(seconds * 1000);
    running = false;
    const double elapsed = double(clock.nsecsElapsed()) / 1e9;
    const double cpuSeconds = double(std::clock() - cpuStart) / CLOCKS_PER_SEC;
    spinFor(60000, [&] { return outstanding == 0; });

    Result result;
    result.perSecond = double(answered - errors) / elapsed;
    result.errors = errors;
    result.cpuUsPerRequest = answered ? cpuSeconds * 1e6 / double(answered) : 0;
    std::sort(latencies.begin(), latencies.end());
    if (!latencies.empty()) {
        result.p50Ms = latencies[latencies.size() / 2];
        result.p99Ms = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
    }
    return result;
}

void print(const char *client, int inFlight, const Result &result, const QString &extra = {})
{
    std::printf("[%-12s] %4d in flight: %6.0f puts/s  p50 %6.1f ms  p99 %6.1f ms  client CPU "
                "%4.0f us/put  %lld errors%s\n",
        client, inFlight, result.perSecond, result.p50Ms, result.p99Ms, result.cpuUsPerRequest,
        result.errors, qPrintable(extra));
    std::fflush(stdout);
}

quint64 retries(parley::server::Metrics &metrics)
{
    quint64 total = 0;
    for (const char *reason : {"throttled", "server_error", "network_error", "timeout"})
        total += metrics
                     .counter("parley_dynamodb_retries_total",
                         "DynamoDB requests retried after throttling, 5xx, network errors or "
                         "timeouts.",
                         {{"operation", "PutItem"}, {"reason", reason}})
                     .value();
    return total;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(u"DynamoDB PutItem throughput per HTTP transport"_s);
    parser.addHelpOption();
    parser.addOption({u"seconds"_s, u"Seconds per measurement (default 5)."_s, u"S"_s, u"5"_s});
    parser.addOption(
        {u"in-flight"_s, u"Requests in flight, comma-separated."_s, u"LIST"_s, u"1,8,32,64,256"_s});
    parser.addOption({u"clients"_s, u"Which of qnam, pipeline, dynamoclient (default all)."_s,
        u"LIST"_s, u"qnam,pipeline,dynamoclient"_s});
    parser.addOption({u"connections"_s, u"HttpPipeline connections for `pipeline`."_s, u"N"_s,
        QString::number(aws::HttpLimits().connections)});
    parser.addOption({u"per-connection"_s, u"HttpPipeline requests per connection."_s, u"D"_s,
        QString::number(aws::HttpLimits().perConnection)});
    parser.process(app);
    const int seconds = parser.value(u"seconds"_s).toInt();
    const QStringList clients = parser.value(u"clients"_s).split(u',');

    QString error;
    parley::test::Dynalite *dynalite = parley::test::Dynalite::shared(&error);
    if (!dynalite) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    aws::AwsSettings settings;
    settings.region = u"us-east-1"_s;
    settings.credentials = {u"parleybench"_s, u"parleybench"_s, {}};
    settings.endpoint = QUrl(dynalite->endpoint().toString() + u'/');
    std::printf("dynalite: %s\n", qPrintable(settings.endpoint.toString()));
    {
        parley::server::Metrics metrics;
        aws::DynamoClient setup(settings, &metrics);
        if (!createTable(setup))
            return 1;
    }

    for (const QString &level : parser.value(u"in-flight"_s).split(u',')) {
        const int inFlight = level.toInt();
        if (clients.contains(u"qnam"_s)) {
            QNetworkAccessManager network;
            print("qnam", inFlight,
                closedLoop(inFlight, seconds, [&](qint64 seq, std::function<void(bool)> finished) {
                    const QByteArray body = putItemBody(seq);
                    QNetworkRequest request(settings.endpoint);
                    for (const aws::Header &header : signedHeaders(settings, body))
                        request.setRawHeader(header.first, header.second);
                    request.setTransferTimeout(10000);
                    request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
                    QNetworkReply *reply = network.post(request, body);
                    QObject::connect(reply, &QNetworkReply::finished, reply, [reply, finished] {
                        reply->deleteLater();
                        finished(reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt()
                            == 200);
                    });
                }));
        }
        if (clients.contains(u"pipeline"_s)) {
            aws::HttpLimits limits;
            limits.connections = parser.value(u"connections"_s).toInt();
            limits.perConnection = parser.value(u"per-connection"_s).toInt();
            limits.inFlight = limits.connections * limits.perConnection;
            aws::HttpPipeline pipeline(settings.endpoint, limits);
            print("pipeline", inFlight,
                closedLoop(inFlight, seconds,
                    [&](qint64 seq, std::function<void(bool)> finished) {
                        const QByteArray body = putItemBody(seq);
                        pipeline.post("/", signedHeaders(settings, body), body,
                            [finished](aws::HttpResult result) {
                                finished(result.response.status == 200);
                            });
                    }),
                u"  (%1 connections x %2)"_s.arg(limits.connections).arg(limits.perConnection));
        }
        if (clients.contains(u"dynamoclient"_s)) {
            parley::server::Metrics metrics;
            aws::DynamoClient client(settings, &metrics);
            const Result result = closedLoop(
                inFlight, seconds, [&](qint64 seq, std::function<void(bool)> finished) {
                    client.call(u"PutItem"_s, putItem(seq),
                        [finished](const QJsonObject &, const aws::DynamoError *error) {
                            finished(!error);
                        });
                });
            print("dynamoclient", inFlight, result, u"  %1 retries"_s.arg(retries(metrics)));
        }
    }
    return 0;
}
