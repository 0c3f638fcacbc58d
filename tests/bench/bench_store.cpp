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
//   3. the cost of a stored message on DynamoDB (a server of its own on dynalite, tables
//      of their own): --cost-messages messages of each of three sizes (short like "see
//      you at lunch on friday 17", 1,000 and 4,000 characters of prose-like text) over
//      --cost-pairs pairs of users, each size followed by a wait until the server's search
//      index has caught up and its counters stopped moving; then, per message, the items
//      written and the capacity units consumed by table (parley_dynamodb_items_written_total
//      and parley_dynamodb_capacity_units_total, which come from the ConsumedCapacity that
//      DynamoDB reports) and the DynamoDB requests, from /metrics deltas around each size.
//
//   bench_store [--seconds S] [--pairs N] [--window W] [--rate R] [--in-flight 6,12,24,32]
//               [--cost-messages N] [--cost-pairs N] [--cost-only | --no-cost]
#include "benchsupport.h"
#include "codec.h"
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
#include <QWebSocket>

#include <cstdio>
#ifdef Q_OS_LINUX
#include <csignal>
#include <sys/prctl.h>
#endif
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <vector>

using namespace Qt::StringLiterals;
namespace aws = parley::server::aws;

using parley::bench::MetricsText;
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

// The server's /metrics text, or nothing if it could not be read.
std::optional<QString> fetchMetrics(const QUrl &wsUrl)
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
    return text;
}

std::optional<RequestCounts> scrapeRequests(const QUrl &wsUrl)
{
    const std::optional<QString> text = fetchMetrics(wsUrl);
    if (!text)
        return std::nullopt;
    const MetricsText metrics = MetricsText::parse(*text);
    return RequestCounts {metrics.by(parley::bench::DynamoRequests, u"operation"_s),
        metrics.sum(u"parley_messages_stored_total"_s)};
}

struct StoreResult
{
    QString name;
    double sendsPerSecond = 0;
    double p50 = 0;
    double p99 = 0;
};

QProcessEnvironment dynamoEnvironment()
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const char *name :
        {"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"})
        environment.remove(QString::fromLatin1(name));
    environment.insert(u"AWS_REGION"_s, Region);
    environment.insert(u"AWS_ACCESS_KEY_ID"_s, BenchCredentials.accessKeyId);
    environment.insert(u"AWS_SECRET_ACCESS_KEY"_s, BenchCredentials.secretAccessKey);
    return environment;
}

// ---- 3. the cost of a stored message --------------------------------------------------

// Prose-like text: the common words of writing and chat most of the time, else made-up
// words of varied letters (names, rarer words), in sentences of 4 to 18 words.
class Prose
{
public:
    explicit Prose(quint64 seed)
        : m_random(seed)
    { }

    // Exactly `chars` characters (at least 2), the last one a full stop.
    QString text(qsizetype chars)
    {
        QString out;
        while (out.size() < chars) {
            const int words = between(4, 18);
            for (int i = 0; i < words; ++i) {
                QString word = between(0, 9) < 6 ? common() : madeUp();
                if (i == 0)
                    word[0] = word.at(0).toUpper();
                if (!out.isEmpty())
                    out += u' ';
                out += word;
                if (i + 1 < words && between(0, 9) == 0)
                    out += u',';
            }
            out += between(0, 5) == 0 ? u'?' : u'.';
        }
        out.truncate(chars - 1);
        if (out.endsWith(u' ') || out.endsWith(u','))
            out[out.size() - 1] = u's';
        return out + u'.';
    }

private:
    int between(int low, int high)
    {
        return std::uniform_int_distribution<int>(low, high)(m_random);
    }
    QString common()
    {
        static const char *const words[] = {"the", "of", "and", "to", "a", "in", "is", "it", "you",
            "that", "he", "was", "for", "on", "are", "with", "as", "his", "they", "be", "at", "one",
            "have", "this", "from", "or", "had", "by", "not", "but", "what", "some", "we", "can",
            "out", "other", "were", "all", "there", "when", "up", "use", "your", "how", "said",
            "an", "each", "she", "which", "do", "their", "time", "if", "will", "way", "about",
            "many", "then", "them", "would", "write", "like", "so", "these", "her", "long", "make",
            "thing", "see", "him", "two", "has", "look", "more", "day", "could", "go", "come",
            "did", "number", "sound", "no", "most", "people", "my", "over", "know", "water", "than",
            "call", "first", "who", "may", "down", "side", "been", "now", "find", "any", "new",
            "work", "part", "take", "get", "place", "made", "live", "where", "after", "back",
            "little", "only", "round", "man", "year", "came", "show", "every", "good", "me", "give",
            "our", "under", "name", "very", "through", "just", "form", "sentence", "great", "think",
            "say", "help", "low", "line", "differ", "turn", "cause", "much", "mean", "before",
            "move", "right", "boy", "old", "too", "same", "tell", "does", "set", "three", "want",
            "air", "well", "also", "play", "small", "end", "put", "home", "read", "hand", "port",
            "large", "spell", "add", "even", "land", "here", "must", "big", "high", "such",
            "follow", "act", "why", "ask", "men", "change", "went", "light", "kind", "off", "need",
            "house", "picture", "try", "us", "again", "animal", "point", "mother", "world", "near",
            "build", "self", "earth", "father", "head", "stand", "own", "page", "should", "country",
            "found", "answer", "school", "grow", "study", "still", "learn", "plant", "cover",
            "food", "sun", "four", "between", "state", "keep", "eye", "never", "last", "let",
            "thought", "city", "tree", "cross", "farm", "hard", "start", "might", "story", "saw",
            "far", "sea", "draw", "left", "late", "run", "while", "press", "close", "night", "real",
            "life", "few", "north", "open", "seem", "together", "next", "white", "children",
            "begin", "got", "walk", "example", "ease", "paper", "group", "always", "music", "those",
            "both", "mark", "often", "letter", "until", "mile", "river", "car", "feet", "care",
            "second", "book", "carry", "took", "science", "eat", "room", "friend", "began", "idea",
            "fish", "mountain", "stop", "once", "base", "hear", "horse", "cut", "sure", "watch",
            "color", "face", "wood", "main", "enough", "plain", "girl", "usual", "young", "ready",
            "above", "ever", "red", "list", "though", "feel", "talk", "bird", "soon", "body", "dog",
            "family", "direct", "pose", "leave", "song", "measure", "door", "product", "black",
            "short", "numeral", "class", "wind", "question", "happen", "complete", "ship", "area",
            "half", "rock", "order", "fire", "south", "problem", "piece", "told", "knew", "pass",
            "since", "top", "whole", "king", "space", "heard", "best", "hour", "better", "true",
            "during", "hundred", "five", "remember", "step", "early", "hold", "west", "ground",
            "interest", "reach", "fast", "verb", "sing", "listen", "six", "table", "travel", "less",
            "morning", "ten", "simple", "several", "vowel", "toward", "war", "lay", "against",
            "pattern", "slow", "center", "love", "person", "money", "serve", "appear", "road",
            "map", "rain", "rule", "govern", "pull", "cold", "notice", "voice", "unit", "power",
            "town", "fine", "certain", "fly", "fall", "lead", "cry", "dark", "machine", "note",
            "wait", "plan", "figure", "star", "box", "noun", "field", "rest", "correct", "able",
            "pound", "done", "beauty", "drive", "stood", "contain", "front", "teach", "week",
            "final", "gave", "green", "quick", "develop", "ocean", "warm", "free", "minute",
            "strong", "special", "mind", "behind", "clear", "tail", "produce", "fact", "street",
            "inch", "multiply", "nothing", "course", "stay", "wheel", "full", "force", "blue",
            "object", "decide", "surface", "deep", "moon", "island", "foot", "system", "busy",
            "test", "record", "boat", "common", "gold", "possible", "plane", "stead", "dry",
            "wonder", "laugh", "thousand", "ago", "ran", "check", "game", "shape", "equate", "hot",
            "miss", "brought", "heat", "snow", "tire", "bring", "yes", "distant", "fill", "east",
            "paint", "language", "among"};
        constexpr int count = int(sizeof(words) / sizeof(words[0]));
        // Zipf-like: the first words far more often than the last.
        const double u = std::uniform_real_distribution<double>(0, 1)(m_random);
        return QString::fromLatin1(words[std::min(count - 1, int(u * u * u * count))]);
    }
    QString madeUp()
    {
        static const char *const syllables[] = {"ka", "lo", "mi", "ren", "tas", "vel", "dor", "pri",
            "ul", "en", "sa", "to", "ber", "quin", "ha", "zo", "lu", "mar", "nes", "ti", "gra",
            "fo", "wil", "chet", "ob", "stu", "ny", "pe", "dri", "ax"};
        QString word;
        for (int n = between(2, 4); n > 0; --n)
            word += QString::fromLatin1(syllables[between(0, 29)]);
        return word;
    }

    std::mt19937_64 m_random;
};

// A signed-up user on a WebSocket.
struct Chatter
{
    QWebSocket socket;
    QString user;
    bool ready = false;
    std::function<void(const QJsonObject &)> onFrame;
};

std::unique_ptr<Chatter> signUp(const QUrl &url, const QString &user)
{
    auto chatter = std::make_unique<Chatter>();
    chatter->user = user;
    Chatter *c = chatter.get();
    QObject::connect(
        &c->socket, &QWebSocket::textMessageReceived, &c->socket, [c](const QString &text) {
            const QJsonObject frame = QJsonDocument::fromJson(text.toUtf8()).object();
            if (frame.value(u"type"_s) == u"welcome"_s)
                c->ready = true;
            else if (frame.value(u"type"_s) == u"error"_s && !c->ready)
                std::fprintf(stderr, "sign-up of %s failed: %s\n", qPrintable(c->user),
                    qPrintable(frame.value(u"message"_s).toString()));
            if (c->onFrame)
                c->onFrame(frame);
        });
    QObject::connect(&c->socket, &QWebSocket::connected, &c->socket, [c] {
        const QJsonObject frame {{u"type"_s, u"register"_s}, {u"user"_s, c->user},
            {u"password"_s, u"benchmark-password"_s}, {u"rid"_s, u"auth"_s}};
        c->socket.sendTextMessage(
            QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)));
    });
    c->socket.open(url);
    return chatter;
}

struct CostRun
{
    QString label;
    QString sample; // the first message
    int messages = 0;
    qint64 chars = 0; // over all messages
    int acked = 0;
    int errors = 0;
    double sendSeconds = 0;
    parley::bench::Settled settled;
    std::optional<MetricsText> before;
};

// Sends `count` messages over the pairs, sender i to receiver i, at most `window` in flight
// per sender, and waits for their acks.
void sendMessages(std::vector<std::unique_ptr<Chatter>> &senders,
    const std::vector<std::unique_ptr<Chatter>> &receivers, int count,
    const std::function<QString(int)> &body, int window, CostRun &run)
{
    int next = 0;
    std::vector<int> inFlight(senders.size(), 0);
    const auto sendOne = [&](size_t i) {
        const QString text = body(next++);
        if (run.sample.isEmpty())
            run.sample = text;
        run.chars += text.size();
        ++inFlight[i];
        const QJsonObject frame {{u"type"_s, u"send"_s}, {u"to"_s, receivers[i]->user},
            {u"cid"_s, parley::protocol::newCid()}, {u"body"_s, text}};
        senders[i]->socket.sendTextMessage(
            QString::fromUtf8(QJsonDocument(frame).toJson(QJsonDocument::Compact)));
    };
    for (size_t i = 0; i < senders.size(); ++i) {
        senders[i]->onFrame = [&, i](const QJsonObject &frame) {
            const QString type = frame.value(u"type"_s).toString();
            if (type == u"ack"_s) {
                ++run.acked;
            } else if (type == u"error"_s) {
                if (++run.errors <= 3)
                    std::fprintf(stderr, "send error: %s\n",
                        qPrintable(frame.value(u"message"_s).toString()));
            } else {
                return;
            }
            --inFlight[i];
            while (inFlight[i] < window && next < count)
                sendOne(i);
        };
    }
    QElapsedTimer clock;
    clock.start();
    for (int round = 0; round < window; ++round) { // round robin: every pair gets its share
        for (size_t i = 0; i < senders.size() && next < count; ++i)
            sendOne(i);
    }
    spinFor(300000, [&] { return run.acked + run.errors >= count; });
    run.sendSeconds = double(clock.nsecsElapsed()) / 1e9;
    run.messages = count;
    for (auto &sender : senders)
        sender->onFrame = nullptr;
}

// "benchcost_search" -> "search"
QString tableLabel(const QString &table, const QString &prefix)
{
    return table.startsWith(prefix) ? table.mid(prefix.size()) : table;
}

struct CostFigures
{
    double items = 0, writeUnits = 0, readUnits = 0, writeRequests = 0, readRequests = 0;
};

CostFigures printCost(const CostRun &run, const QString &prefix)
{
    using namespace parley::bench;
    CostFigures figures;
    const double n = std::max(1, run.messages);
    std::printf("\n[cost] %s: %d messages (%.0f characters on average), %d acked, %d errors, "
                "sent in %.2f s; settled %.1f s after the last ack\n",
        qPrintable(run.label), run.messages, double(run.chars) / n, run.acked, run.errors,
        run.sendSeconds, run.settled.seconds);
    std::printf(
        "  e.g. \"%s%s\"\n", qPrintable(run.sample.left(72)), run.sample.size() > 72 ? "..." : "");
    if (!run.before || !run.settled.metrics) {
        std::printf("  the server's /metrics could not be read\n");
        return figures;
    }
    const MetricsText &before = *run.before, &after = *run.settled.metrics;
    if (run.settled.timedOut)
        std::printf("  warning: not settled after 60 s (%s %.0f): figures may be short\n",
            qPrintable(IndexPending), after.sum(IndexPending));
    if (!after.has(CapacityUnits))
        std::printf("  note: the server reports no %s (no capacity accounting)\n",
            qPrintable(CapacityUnits));
    const auto delta
        = [&](const QString &name, const QString &label, const MetricsText::Labels &match = {}) {
              QHash<QString, double> values = after.by(name, label, match);
              const QHash<QString, double> earlier = before.by(name, label, match);
              for (auto it = earlier.cbegin(); it != earlier.cend(); ++it)
                  values[it.key()] -= it.value();
              return values;
          };
    const QHash<QString, double> items = delta(ItemsWritten, u"table"_s);
    const QHash<QString, double> writes
        = delta(CapacityUnits, u"table"_s, {{u"kind"_s, u"write"_s}});
    const QHash<QString, double> reads = delta(CapacityUnits, u"table"_s, {{u"kind"_s, u"read"_s}});
    QStringList tables = items.keys() + writes.keys() + reads.keys();
    tables.removeDuplicates();
    tables.sort();
    std::printf("  %-22s %14s %12s %12s\n", "per message, by table", "items written", "write units",
        "read units");
    for (const QString &table : std::as_const(tables)) {
        const double i = items.value(table) / n, w = writes.value(table) / n,
                     r = reads.value(table) / n;
        if (i < 0.0005 && w < 0.0005 && r < 0.0005)
            continue;
        std::printf(
            "  %-22s %14.3f %12.3f %12.3f\n", qPrintable(tableLabel(table, prefix)), i, w, r);
        figures.items += i;
        figures.writeUnits += w;
        figures.readUnits += r;
    }
    std::printf("  %-22s %14.3f %12.3f %12.3f\n", "total", figures.items, figures.writeUnits,
        figures.readUnits);

    const QHash<QString, double> requests = delta(DynamoRequests, u"operation"_s);
    QStringList operations = requests.keys();
    operations.sort();
    QString writeDetail, readDetail;
    for (const QString &operation : std::as_const(operations)) {
        const double perMessage = requests.value(operation) / n;
        if (perMessage < 0.0005)
            continue;
        const QString part = u" %1 %2"_s.arg(operation).arg(perMessage, 0, 'f', 3);
        if (WriteOperations.contains(operation)) {
            figures.writeRequests += perMessage;
            writeDetail += part;
        } else {
            figures.readRequests += perMessage;
            readDetail += part;
        }
    }
    std::printf("  DynamoDB write requests per message: %.3f =%s\n", figures.writeRequests,
        qPrintable(writeDetail.isEmpty() ? u" -"_s : writeDetail));
    std::printf("  DynamoDB other requests per message: %.3f =%s\n", figures.readRequests,
        qPrintable(readDetail.isEmpty() ? u" -"_s : readDetail));
    if (after.has(IndexLag))
        std::printf("  %s at the end: %.3f\n", qPrintable(IndexLag), after.sum(IndexLag));
    std::fflush(stdout);
    return figures;
}

// Part 3: its own server on its own tables, so nothing earlier runs on in the background.
bool measureCost(const QUrl &endpoint, int messages, int pairs)
{
    const QString prefix = u"benchcost_"_s;
    StoreServer server;
    if (!server.start({u"--store"_s, u"dynamodb"_s, u"--dynamodb-endpoint"_s, endpoint.toString(),
                          u"--dynamodb-table-prefix"_s, prefix, u"--create-tables"_s},
            dynamoEnvironment())) {
        std::fprintf(stderr, "the server for the cost run did not start\n");
        return false;
    }
    std::printf("\n[cost] server %s on tables %s*, %d pairs of users\n",
        qPrintable(server.url().toString()), qPrintable(prefix), pairs);
    std::fflush(stdout);
    const QString run = QString::number(QDateTime::currentMSecsSinceEpoch() % 100000);
    std::vector<std::unique_ptr<Chatter>> senders, receivers;
    for (int i = 0; i < pairs; ++i) {
        senders.push_back(signUp(server.url(), u"ca%1_%2"_s.arg(run).arg(i)));
        receivers.push_back(signUp(server.url(), u"cb%1_%2"_s.arg(run).arg(i)));
    }
    const auto allReady = [](const std::vector<std::unique_ptr<Chatter>> &chatters) {
        return std::all_of(
            chatters.begin(), chatters.end(), [](const auto &c) { return c->ready; });
    };
    spinFor(60000, [&] { return allReady(senders) && allReady(receivers); });
    if (!allReady(senders) || !allReady(receivers)) {
        std::fprintf(stderr, "the cost run's users did not sign in\n");
        return false;
    }
    const auto scrape = [&server] { return fetchMetrics(server.url()); };

    struct Size
    {
        QString label;
        std::function<QString(int)> body;
    };
    Prose prose(2024);
    const Size sizes[] = {
        {u"short"_s, [](int i) { return u"see you at lunch on friday %1"_s.arg(i % 28 + 1); }},
        {u"1000 chars"_s, [&prose](int) { return prose.text(1000); }},
        {u"4000 chars"_s, [&prose](int) { return prose.text(4000); }},
    };
    parley::bench::Settled settled = parley::bench::waitUntilSettled(scrape);
    std::vector<CostFigures> figures;
    for (const Size &size : sizes) {
        CostRun cost;
        cost.label = size.label;
        cost.before = settled.metrics;
        sendMessages(senders, receivers, messages, size.body, 8, cost);
        cost.settled = settled = parley::bench::waitUntilSettled(scrape);
        figures.push_back(printCost(cost, prefix));
    }

    std::printf("\n%-36s %12s %12s %12s\n", "DynamoDB cost per stored message", "short",
        "1000 chars", "4000 chars");
    const auto row = [&](const char *label, double CostFigures::*field) {
        std::printf("%-36s", label);
        for (const CostFigures &f : figures)
            std::printf(" %12.3f", f.*field);
        std::printf("\n");
    };
    row("items written", &CostFigures::items);
    row("write capacity units", &CostFigures::writeUnits);
    row("write requests", &CostFigures::writeRequests);
    row("read capacity units", &CostFigures::readUnits);
    row("other requests (reads)", &CostFigures::readRequests);
    std::printf("(%d messages of each size over %d pairs, dynalite; write units as DynamoDB "
                "reports them in ConsumedCapacity)\n",
        messages, pairs);
    std::fflush(stdout);
    return true;
}

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
    parser.addOption({u"cost-messages"_s,
        u"Messages of each size for the cost per stored message (default 200)."_s, u"N"_s,
        u"200"_s});
    parser.addOption({u"cost-pairs"_s,
        u"Sender/receiver pairs for the cost per stored message (default 4)."_s, u"N"_s, u"4"_s});
    parser.addOption({u"cost-only"_s,
        u"Only measure the DynamoDB cost per stored message (short, 1000 and 4000 "
        u"characters)."_s});
    parser.addOption({u"no-cost"_s, u"Leave out the cost per stored message."_s});
    parser.process(app);
    const int costMessages = std::max(1, parser.value(u"cost-messages"_s).toInt());
    const int costPairs = std::max(1, parser.value(u"cost-pairs"_s).toInt());
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
    if (parser.isSet(u"cost-only"_s))
        return measureCost(endpoint, costMessages, costPairs) ? 0 : 1;

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
    StoreServer sqlite, dynamo;
    if (!sqlite.start({u"--store"_s, u"sqlite"_s}, QProcessEnvironment::systemEnvironment())
        || !dynamo.start(
            {u"--store"_s, u"dynamodb"_s, u"--dynamodb-endpoint"_s, endpoint.toString(),
                u"--dynamodb-table-prefix"_s, u"bench_"_s, u"--create-tables"_s},
            dynamoEnvironment())) {
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
    std::fflush(stdout);
    if (!parser.isSet(u"no-cost"_s) && !measureCost(endpoint, costMessages, costPairs))
        return 1;
    return 0;
}
