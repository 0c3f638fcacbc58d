// bench_client: the client-core cache, measured through the public Cache API.
//   1. bulk insert: --conversations conversations of --messages messages each, in pages
//      of 500 (history pages), plus --filler small conversations: messages/s and CPU;
//   2. first screen: a NEW Cache opened on that file until loadMessages(conv, 0, 50)
//      answers, 20 times with fresh Cache objects: p50/p90/max ms (the OS file cache
//      stays warm, so this is "cold-ish": a new connection, thread and statements);
//   3. the conversation list: loadConversations over every conversation, 20 times, with
//      everything unread and again once read up to the last 3 messages of each;
//   4. the cache write path of the receive path: saveMessages of one message per call,
//      then a flush: CPU µs per message (user+sys of the whole process), on a file and
//      in memory (the swarm).
// It prints a table and asserts nothing.
//
//   bench_client [--messages N] [--conversations C] [--filler F] [--single S] [--db PATH]
#include "cache.h"
#include "chatmessage.h"
#include "codec.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QRandomGenerator>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <sys/resource.h>
#include <vector>

using namespace Qt::StringLiterals;
using parley::client::Cache;
using parley::client::ChatMessage;
using parley::client::ConversationInfo;
using parley::client::MessageState;

namespace {

const QString kUser = u"alice"_s; // the signed-in user of the benchmark's cache
constexpr int kPage = 500; // messages per saveMessages call in the bulk insert
constexpr int kFirstScreen = 50;
constexpr int kRepeats = 20;
constexpr int kFillerMessages = 10;
constexpr int kKeptUnread = 3; // per conversation, in the second conversation list

struct Options
{
    int messages = 100000;
    int conversations = 1;
    int filler = 999; // with one big conversation, the list holds 1000
    int single = 20000;
    QString db;
};

class Report
{
public:
    void add(const QString &section, const QString &metric, double value, const char *unit)
    {
        m_rows.push_back({section, metric, value, QString::fromLatin1(unit)});
    }
    void print() const
    {
        std::printf("%-46s %-16s %12s  %s\n", "section", "metric", "value", "unit");
        for (const Row &row : m_rows) {
            std::printf("%-46s %-16s %12.1f  %s\n", qUtf8Printable(row.section),
                qUtf8Printable(row.metric), row.value, qUtf8Printable(row.unit));
        }
    }

private:
    struct Row
    {
        QString section;
        QString metric;
        double value;
        QString unit;
    };
    std::vector<Row> m_rows;
};

double cpuSeconds()
{
    rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double percentile(std::vector<double> values, double p)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const size_t i = std::min(values.size() - 1, size_t(p / 100.0 * double(values.size())));
    return values[i];
}

void addLatencies(Report &report, const QString &section, const std::vector<double> &ms)
{
    report.add(section, u"p50"_s, percentile(ms, 50), "ms");
    report.add(section, u"p90"_s, percentile(ms, 90), "ms");
    report.add(section, u"max"_s, *std::max_element(ms.begin(), ms.end()), "ms");
}

// Runs one Cache request and blocks in an event loop (not a busy spin, which would
// count as CPU) until its callback ran.
template<typename T, typename Call> T await(Call call)
{
    QEventLoop loop;
    std::optional<T> result;
    call(&loop, [&](T value) {
        result = std::move(value);
        loop.quit();
    });
    loop.exec();
    return std::move(*result);
}

void flush(Cache &cache)
{
    QEventLoop loop;
    cache.flush(&loop, [&loop] { loop.quit(); });
    loop.exec();
}

bool open(Cache &cache, const QString &path)
{
    const QString error
        = await<QString>([&](QObject *context, auto done) { cache.open(path, context, done); });
    if (!error.isEmpty())
        std::fprintf(stderr, "bench_client: %s\n", qUtf8Printable(error));
    return error.isEmpty();
}

QString conversationWith(const QString &peer)
{
    return kUser < peer ? kUser + u':' + peer : peer + u':' + kUser;
}

// Roughly what a chat looks like: 60% incoming, bodies of 10 to 200 characters.
QList<ChatMessage> makeConversation(const QString &peer, int count, qint64 firstTs)
{
    QRandomGenerator random(qHash(peer));
    QList<ChatMessage> messages;
    messages.reserve(count);
    for (int i = 0; i < count; ++i) {
        ChatMessage m;
        m.conv = conversationWith(peer);
        m.seq = i + 1;
        m.cid = parley::protocol::newCid();
        m.outgoing = random.bounded(10) < 4;
        m.from = m.outgoing ? kUser : peer;
        m.to = m.outgoing ? peer : kUser;
        m.body = QString(10 + random.bounded(190), u'x');
        m.ts = firstTs + qint64(i) * 1000;
        m.state = m.outgoing ? MessageState::Read : MessageState::Received;
        if (m.outgoing) {
            m.attempts = 1;
            m.queuedAt = m.sendingAt = m.ts - 50;
            m.sentAt = m.ts;
            m.deliveredAt = m.ts + 100;
            m.readAt = m.ts + 200;
        }
        messages.append(std::move(m));
    }
    return messages;
}

QString bigPeer(int index)
{
    return u"peer%1"_s.arg(index, 4, 10, QChar(u'0'));
}

QString fillerPeer(int index)
{
    return u"filler%1"_s.arg(index, 4, 10, QChar(u'0'));
}

// 1. Fills the database file; returns false if it cannot be opened.
bool measureBulkInsert(const Options &options, Report &report)
{
    Cache cache;
    if (!open(cache, options.db))
        return false;
    const qint64 start = 1'700'000'000'000;
    std::vector<QList<ChatMessage>> big;
    for (int c = 0; c < options.conversations; ++c)
        big.push_back(makeConversation(bigPeer(c), options.messages, start + c));

    const double cpuBefore = cpuSeconds();
    QElapsedTimer timer;
    timer.start();
    for (const QList<ChatMessage> &conversation : big) {
        for (qsizetype i = 0; i < conversation.size(); i += kPage)
            cache.saveMessages(conversation.mid(i, kPage));
    }
    flush(cache);
    const double seconds = double(timer.nsecsElapsed()) / 1e9;
    const double total = double(options.messages) * options.conversations;
    const QString section = u"bulk insert (%1 x %2 msgs, pages of %3)"_s.arg(options.conversations)
                                .arg(options.messages)
                                .arg(kPage);
    report.add(section, u"throughput"_s, total / seconds, "msg/s");
    report.add(section, u"CPU per message"_s, (cpuSeconds() - cpuBefore) / total * 1e6, "us");

    for (int f = 0; f < options.filler; ++f)
        cache.saveMessages(makeConversation(fillerPeer(f), kFillerMessages, start - f * 60'000));
    flush(cache);
    return true; // the destructor closes the file (and checkpoints the WAL)
}

// 2. What the user waits for when opening the app on a long conversation.
void measureFirstScreen(const Options &options, Report &report)
{
    const QString conv = conversationWith(bigPeer(0));
    std::vector<double> ms;
    for (int i = 0; i < kRepeats; ++i) {
        QElapsedTimer timer;
        timer.start();
        Cache cache;
        cache.open(options.db, nullptr, {});
        const QList<ChatMessage> screen
            = await<QList<ChatMessage>>([&](QObject *context, auto done) {
                  cache.loadMessages(conv, 0, kFirstScreen, context, done);
              });
        ms.push_back(double(timer.nsecsElapsed()) / 1e6);
        if (screen.size() != std::min(kFirstScreen, options.messages))
            std::fprintf(
                stderr, "bench_client: first screen has %lld messages\n", qlonglong(screen.size()));
    }
    addLatencies(report, u"first screen (new Cache + open + 50 msgs)"_s, ms);
}

// 3. The conversation list, on an open cache: first with nothing read (the unread
// counts walk every incoming message), then read up to the last few messages of each
// conversation, as a user who keeps up.
void measureConversationList(const Options &options, Report &report)
{
    Cache cache;
    if (!open(cache, options.db))
        return;
    auto measure = [&](const QString &state) {
        std::vector<double> ms;
        qsizetype count = 0;
        for (int i = 0; i < kRepeats; ++i) {
            QElapsedTimer timer;
            timer.start();
            count = await<QList<ConversationInfo>>([&](QObject *context, auto done) {
                cache.loadConversations(context, done);
            }).size();
            ms.push_back(double(timer.nsecsElapsed()) / 1e6);
        }
        addLatencies(report, u"loadConversations (%1, %2)"_s.arg(count).arg(state), ms);
    };
    measure(u"all unread"_s);
    for (int c = 0; c < options.conversations; ++c)
        cache.markRead(conversationWith(bigPeer(c)), options.messages - kKeptUnread, 0);
    for (int f = 0; f < options.filler; ++f)
        cache.markRead(conversationWith(fillerPeer(f)), kFillerMessages - kKeptUnread, 0);
    flush(cache);
    measure(u"%1 unread each"_s.arg(kKeptUnread));
}

// 4. The cache part of the receive path: every message saved on its own, as the
// Client does when a message frame comes out of the timeline.
//
// The whole receive path (decode frame -> TimelineBuffer -> Cache) belongs next to
// this as measureReceivePath(options, report), reusing makeConversation and Report.
void measureCacheWritePath(const Options &options, Report &report, bool inMemory)
{
    Cache cache;
    if (!open(cache, inMemory ? QString() : options.db))
        return;
    const QList<ChatMessage> messages
        = makeConversation(u"single"_s, options.single, 1'800'000'000'000);
    flush(cache);
    const double cpuBefore = cpuSeconds();
    QElapsedTimer timer;
    timer.start();
    for (const ChatMessage &message : messages)
        cache.saveMessages({message});
    flush(cache);
    const double seconds = double(timer.nsecsElapsed()) / 1e9;
    const QString section = u"saveMessages x1 (%1 calls, %2)"_s.arg(options.single)
                                .arg(inMemory ? u"memory"_s : u"file"_s);
    report.add(section, u"CPU per message"_s,
        (cpuSeconds() - cpuBefore) / double(options.single) * 1e6, "us");
    report.add(section, u"throughput"_s, double(options.single) / seconds, "msg/s");
}

std::optional<Options> parseOptions(const QCoreApplication &app)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(u"Measures the client cache (prints numbers only)."_s);
    parser.addHelpOption();
    const QCommandLineOption messages(
        u"messages"_s, u"Messages in each big conversation (default 100000)."_s, u"N"_s);
    const QCommandLineOption conversations(u"conversations"_s,
        u"Big conversations; the first screen opens the first (default 1)."_s, u"C"_s);
    const QCommandLineOption filler(
        u"filler"_s, u"Extra conversations of 10 messages for the list (default 999)."_s, u"F"_s);
    const QCommandLineOption single(u"single"_s,
        u"Messages saved one call at a time in the write path (default 20000)."_s, u"S"_s);
    const QCommandLineOption db(u"db"_s,
        u"Database file, replaced (default: a file in a temporary directory)."_s, u"PATH"_s);
    parser.addOptions({messages, conversations, filler, single, db});
    parser.process(app);

    Options options;
    bool ok = true;
    auto number = [&](const QCommandLineOption &option, int &value, int minimum) {
        if (!parser.isSet(option))
            return;
        bool valid = false;
        value = parser.value(option).toInt(&valid);
        if (!valid || value < minimum) {
            std::fprintf(stderr, "bench_client: --%s must be an integer >= %d\n",
                qUtf8Printable(option.names().constFirst()), minimum);
            ok = false;
        }
    };
    number(messages, options.messages, 1);
    number(conversations, options.conversations, 1);
    number(filler, options.filler, 0);
    number(single, options.single, 1);
    options.db = parser.value(db);
    return ok ? std::optional(options) : std::nullopt;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    std::optional<Options> options = parseOptions(app);
    if (!options)
        return 2;
    QTemporaryDir tempDir;
    if (options->db.isEmpty())
        options->db = tempDir.filePath(u"bench.sqlite3"_s);
    for (const QString &suffix : {u""_s, u"-wal"_s, u"-shm"_s})
        QFile::remove(options->db + suffix);
    std::printf("database: %s\n", qUtf8Printable(options->db));

    Report report;
    if (!measureBulkInsert(*options, report))
        return 1;
    measureFirstScreen(*options, report);
    measureConversationList(*options, report);
    measureCacheWritePath(*options, report, false);
    measureCacheWritePath(*options, report, true);
    report.print();
    return 0;
}
