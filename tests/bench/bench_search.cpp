// bench_search: search latency over 1,000,000 stored messages, on both sides.
//   server  SqliteStore::search (queue hop, FTS5 query, rows, snippets) on a store of
//           --messages messages among --users users. The database is written as schema
//           version 1 with plain SQL, then opened with SqliteStore, whose upgrade builds
//           the search index exactly as on a real server (the time is printed).
//   local   client-core's Cache::search on one account's cache of --messages messages,
//           written through Cache::saveMessages in big batches.
// Both are kept under --data (server-N/, cache-N/) so reruns skip the build. Each query
// of a fixed set runs --runs times; p50, p99 and max are printed per query.
//   --store dynamodb: the server part on DynamoStore against dynalite instead (the local
//           part is left out): the same corpus generator, users picked by the same ranks
//           and the same queries, on a smaller store (default 5,000 messages among 100
//           users, 10 runs per query; dynalite keeps no data between runs). The messages go
//           in through DynamoStore::appendMessage, and the queries wait until the search
//           index has caught up. Besides the latencies it prints the read capacity units
//           and DynamoDB requests per query (parley_dynamodb_capacity_units_total and
//           parley_dynamodb_requests_total deltas around each query's runs) and what
//           writing the messages cost.
//
//   bench_search [--data DIR] [--messages N] [--users N] [--runs N] [--skip-server]
//                [--skip-local] [--store sqlite|dynamodb]
#include "benchsupport.h"
#include "cache.h"
#include "dynalite.h"
#include "dynamostore.h"
#include "metrics.h"
#include "searchtext.h"
#include "sqlitestore.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QHash>
#include <QLoggingCategory>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <random>
#include <vector>

using namespace Qt::StringLiterals;
using namespace parley;

namespace {

// The most frequent words of chat first; a long tail of made-up words follows, and word
// frequencies fall off as 1/rank (Zipf).
const char *const CommonWords[] = {"the", "to", "i", "you", "and", "a", "it", "is", "that", "of",
    "for", "in", "on", "we", "me", "my", "be", "have", "this", "at", "with", "are", "so", "but",
    "not", "can", "do", "just", "what", "will", "your", "if", "get", "all", "was", "go", "know",
    "like", "no", "up", "out", "about", "time", "good", "see", "now", "think", "one", "how", "when",
    "there", "today", "then", "back", "tomorrow", "lunch", "meeting", "work", "home", "call",
    "later", "thanks", "yes", "ok", "sure", "need", "want", "make", "let", "did", "going", "well",
    "really", "night", "week", "day", "friday", "weekend", "plan", "place", "people", "new",
    "great", "love", "right", "still", "sorry", "maybe", "take", "come", "from", "some", "way",
    "first", "next", "last", "little", "much", "more", "over", "after", "before", "again", "never",
    "something", "thing", "things", "thinking", "meet", "said", "tell", "talk", "send", "check",
    "done", "soon", "here", "nice", "happy", "hope", "long", "big", "money", "team", "project",
    "report", "review", "coffee", "dinner", "movie", "game", "train", "flight", "hotel", "office",
    "email", "phone", "photo", "music", "book", "school", "car", "house", "party", "birthday",
    "morning", "evening", "problem", "idea", "question", "café", "déjà", "naïve", "résumé",
    "Zürich", "São", "Paulo", "Ωmega"};

class Corpus
{
public:
    explicit Corpus(quint64 seed)
        : m_random(seed)
    {
        for (const char *word : CommonWords)
            m_words.append(QString::fromUtf8(word));
        const char *const syllables[] = {"ka", "lo", "mi", "ren", "tas", "vel", "dor", "pri", "ul",
            "en", "sa", "to", "ber", "quin", "ha", "zo", "lu", "mar", "nes", "ti"};
        for (int i = 0; m_words.size() < 30000; ++i) {
            QString word;
            for (int n = i; word.size() < 4 || n > 0; n /= 20)
                word += QString::fromLatin1(syllables[n % 20]);
            m_words.append(word);
        }
        double sum = 0;
        for (qsizetype rank = 1; rank <= m_words.size(); ++rank)
            m_cumulative.push_back(sum += 1.0 / double(rank));
    }

    const QString &word(qsizetype rank) const { return m_words.at(rank); }
    QString body()
    {
        const int count = std::uniform_int_distribution<int>(0, 9)(m_random) < 7
            ? std::uniform_int_distribution<int>(2, 12)(m_random)
            : std::uniform_int_distribution<int>(12, 40)(m_random);
        QString text;
        for (int i = 0; i < count; ++i) {
            if (i > 0)
                text += std::uniform_int_distribution<int>(0, 11)(m_random) == 0 ? u", "_s : u" "_s;
            text += m_words.at(pick());
        }
        text[0] = text.at(0).toUpper();
        return text + (std::uniform_int_distribution<int>(0, 3)(m_random) == 0 ? u"?"_s : u"."_s);
    }
    // An index in 0..n-1 where low ones come far more often (u^5: a fifth of the picks
    // land in the first 0.03%): how activity spreads over users and conversations.
    int skewed(int n)
    {
        const double u = std::uniform_real_distribution<double>(0, 1)(m_random);
        return std::min(n - 1, int(std::pow(u, 5) * n));
    }
    int uniform(int n) { return std::uniform_int_distribution<int>(0, n - 1)(m_random); }

private:
    qsizetype pick()
    {
        const double target
            = std::uniform_real_distribution<double>(0, m_cumulative.back())(m_random);
        return std::lower_bound(m_cumulative.cbegin(), m_cumulative.cend(), target)
            - m_cumulative.cbegin();
    }

    std::mt19937_64 m_random;
    QStringList m_words;
    std::vector<double> m_cumulative;
};

QString userName(int i)
{
    return u"user%1"_s.arg(i, 6, 10, QLatin1Char('0'));
}

QString convOf(const QString &a, const QString &b)
{
    return a < b ? a + u':' + b : b + u':' + a;
}

struct Query
{
    QString label;
    QString q;
    QString conv;
    QString from;
    bool secondPage = false;
};

struct Figures
{
    double p50 = 0, p99 = 0, max = 0;
    qsizetype hits = 0;
};

Figures figuresOf(std::vector<double> ms, qsizetype hits)
{
    std::sort(ms.begin(), ms.end());
    const auto at = [&](double q) { return ms.at(std::min(ms.size() - 1, size_t(q * ms.size()))); };
    return {at(0.50), at(0.99), ms.back(), hits};
}

void printHeader()
{
    std::printf("%-7s %-30s %-30s %6s %9s %9s %9s\n", "side", "searcher", "query", "hits", "p50 ms",
        "p99 ms", "max ms");
}

void printRow(const QString &side, const QString &who, const Query &query, const Figures &f)
{
    std::printf("%-7s %-30s %-30s %6lld %9.2f %9.2f %9.2f\n", qPrintable(side), qPrintable(who),
        qPrintable(query.label), static_cast<long long>(f.hits), f.p50, f.p99, f.max);
    std::fflush(stdout);
}

// ---- server ---------------------------------------------------------------------------

struct GeneratedMessage
{
    QString from, to, conv, cid, body;
    qint64 ts = 0;
};

// The messages of a store of `messages` messages among `users` users, the same ones for the
// same arguments, in order; stops early when `take` returns false.
void generateMessages(
    int messages, int users, const std::function<bool(const GeneratedMessage &)> &take)
{
    Corpus corpus(42);
    qint64 ts = 1'672'531'200'000; // 2023-01-01, then a message every 30 s on average
    for (int i = 0; i < messages; ++i) {
        // Each user talks to a dozen friends of their own, some much more than others.
        const int sender = corpus.skewed(users);
        const int friendOf = (sender * 7919 + (corpus.skewed(12) + 1) * 104729) % users;
        const int recipient = friendOf == sender ? (sender + 1) % users : friendOf;
        GeneratedMessage m;
        m.from = userName(sender);
        m.to = userName(recipient);
        m.conv = convOf(m.from, m.to);
        ts += corpus.uniform(60'000);
        m.ts = ts;
        m.cid = u"c%1"_s.arg(i);
        m.body = corpus.body();
        if (!take(m))
            return;
    }
}

bool exec(QSqlQuery &sql, const QString &statement)
{
    if (sql.exec(statement))
        return true;
    std::fprintf(stderr, "%s: %s\n", qPrintable(statement), qPrintable(sql.lastError().text()));
    return false;
}

// A schema version 1 database of `messages` messages, written straight with SQL.
bool writeVersion1(const QString &path, int messages, int users)
{
    const QString name = u"bench-build"_s;
    bool ok = true;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, name);
        db.setDatabaseName(path);
        if (!db.open())
            return false;
        QSqlQuery sql(db);
        ok = exec(sql, u"PRAGMA journal_mode = OFF"_s) && exec(sql, u"PRAGMA synchronous = OFF"_s);
        for (QStringView statement : server::SqliteStore::schemaStatements(1))
            ok = ok && exec(sql, statement.toString());
        ok = ok && exec(sql, u"BEGIN"_s);
        QSqlQuery user(db);
        user.prepare(u"INSERT INTO users VALUES (?, x'00', 0, NULL)"_s);
        for (int i = 0; ok && i < users; ++i) {
            user.bindValue(0, userName(i));
            ok = user.exec();
        }
        QHash<QString, std::pair<qint64, qint64>> conversations; // conv -> last seq, ts
        QSqlQuery insert(db);
        insert.prepare(u"INSERT INTO messages (conv, seq, sender, recipient, cid, body, ts)"
                       u" VALUES (?, ?, ?, ?, ?, ?, ?)"_s);
        if (ok) {
            generateMessages(messages, users, [&](const GeneratedMessage &m) {
                auto &state = conversations[m.conv];
                state = {state.first + 1, m.ts};
                insert.bindValue(0, m.conv);
                insert.bindValue(1, state.first);
                insert.bindValue(2, m.from);
                insert.bindValue(3, m.to);
                insert.bindValue(4, m.cid);
                insert.bindValue(5, m.body);
                insert.bindValue(6, m.ts);
                ok = insert.exec();
                return ok;
            });
        }
        QSqlQuery conversation(db);
        conversation.prepare(u"INSERT INTO conversations (conv, user_a, user_b, last_seq, last_ts)"
                             u" VALUES (?, ?, ?, ?, ?)"_s);
        for (auto it = conversations.cbegin(); ok && it != conversations.cend(); ++it) {
            const QStringList members = it.key().split(u':');
            conversation.bindValue(0, it.key());
            conversation.bindValue(1, members.at(0));
            conversation.bindValue(2, members.at(1));
            conversation.bindValue(3, it->first);
            conversation.bindValue(4, it->second);
            ok = conversation.exec();
        }
        ok = ok && exec(sql, u"COMMIT"_s) && exec(sql, u"PRAGMA user_version = 1"_s);
        if (!ok)
            std::fprintf(stderr, "writing %s failed: %s\n", qPrintable(path),
                qPrintable(db.lastError().text()));
    }
    QSqlDatabase::removeDatabase(name);
    return ok;
}

// Users by how many messages they are in (the median one, the ones at the top 10% and 1%
// marks, the busiest), each with the conversation they use most.
struct Subject
{
    QString label, user, conv;
    qint64 messages = 0;
};

QList<Subject> pickSubjects(const QString &path)
{
    QList<Subject> subjects;
    const QString name = u"bench-read"_s;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, name);
        db.setDatabaseName(path);
        db.open();
        QSqlQuery sql(db);
        QList<std::pair<QString, qint64>> ranked;
        sql.exec(u"SELECT u, count(*) AS n FROM (SELECT sender AS u FROM messages"
                 u" UNION ALL SELECT recipient FROM messages) GROUP BY u ORDER BY n DESC, u"_s);
        while (sql.next())
            ranked.append({sql.value(0).toString(), sql.value(1).toLongLong()});
        if (ranked.isEmpty())
            return subjects;
        for (const auto &[label, index] : {std::pair {u"median user"_s, ranked.size() / 2},
                 std::pair {u"top 10% user"_s, ranked.size() / 10},
                 std::pair {u"top 1% user"_s, ranked.size() / 100},
                 std::pair {u"busiest user"_s, qsizetype(0)}}) {
            Subject s {label, ranked.at(index).first, {}, ranked.at(index).second};
            sql.prepare(u"SELECT conv FROM messages WHERE sender = ? OR recipient = ?"
                        u" GROUP BY conv ORDER BY count(*) DESC LIMIT 1"_s);
            sql.addBindValue(s.user);
            sql.addBindValue(s.user);
            if (sql.exec() && sql.next())
                s.conv = sql.value(0).toString();
            subjects.append(s);
        }
    }
    QSqlDatabase::removeDatabase(name);
    return subjects;
}

QList<Query> querySet(const Corpus &corpus, const QString &user, const QString &conv, bool pages)
{
    QList<Query> set {{u"1 letter: t"_s, u"t"_s}, {u"common 2-letter prefix: th"_s, u"th"_s},
        {u"3-letter prefix: mee"_s, u"mee"_s}, {u"4-letter prefix: thin"_s, u"thin"_s},
        {u"2 words: lunch fri"_s, u"lunch fri"_s},
        {u"rare word: "_s + corpus.word(20000), corpus.word(20000)},
        {u"th, conv filter"_s, u"th"_s, conv}, {u"th, from filter"_s, u"th"_s, {}, user}};
    if (pages)
        set.append({u"th, second page"_s, u"th"_s, {}, {}, true});
    return set;
}

server::Result<server::SearchPage> serverSearch(
    server::Store &store, const server::SearchQuery &query)
{
    std::promise<server::Result<server::SearchPage>> promise;
    auto future = promise.get_future();
    store.search(query, [&promise](server::Result<server::SearchPage> page) {
        promise.set_value(std::move(page));
    });
    return future.get();
}

// The request of one query of the set (for a second page: with the first page's cursor),
// then `beforeRuns`, then `runs` timed searches. Nothing when a second page does not
// exist; `failed` when a search fails.
struct TimedQuery
{
    std::vector<double> ms;
    qsizetype hits = 0;
    bool failed = false;
};

std::optional<TimedQuery> timeQuery(server::Store &store, const QString &user, const Query &query,
    int runs, const std::function<void()> &beforeRuns = {})
{
    server::SearchQuery request {user, protocol::search::queryWords(query.q),
        query.conv.isEmpty() ? std::nullopt : std::optional(query.conv),
        query.from.isEmpty() ? std::nullopt : std::optional(query.from), 20, {}};
    if (query.secondPage) {
        const auto first = serverSearch(store, request);
        if (!first || !first.value().next)
            return std::nullopt;
        request.cursor = *first.value().next;
    }
    if (beforeRuns)
        beforeRuns();
    TimedQuery timed;
    for (int i = 0; i < runs; ++i) {
        QElapsedTimer clock;
        clock.start();
        const auto page = serverSearch(store, request);
        timed.ms.push_back(clock.nsecsElapsed() / 1e6);
        if (!page) {
            std::fprintf(stderr, "search failed: %s\n", qPrintable(page.error().message));
            timed.failed = true;
            return timed;
        }
        timed.hits = page.value().hits.size();
    }
    return timed;
}

bool benchServer(const QString &dataDir, int messages, int users, int runs)
{
    const QString dir = QDir(dataDir).filePath(u"server-%1-%2"_s.arg(messages).arg(users));
    if (!QFileInfo::exists(dir)) {
        const QString building = dir + u".building"_s;
        QDir(building).removeRecursively();
        QDir().mkpath(building);
        QElapsedTimer clock;
        clock.start();
        std::printf("writing %d messages (schema version 1)...\n", messages);
        std::fflush(stdout);
        if (!writeVersion1(QDir(building).filePath(u"parley.sqlite3"_s), messages, users))
            return false;
        std::printf("  %.1f s\nupgrading (builds the search index)...\n", clock.elapsed() / 1e3);
        std::fflush(stdout);
        clock.restart();
        {
            server::SqliteStore store(building);
            QString error;
            if (!store.open(&error)) {
                std::fprintf(stderr, "open: %s\n", qPrintable(error));
                return false;
            }
        }
        std::printf("  upgrade of %d messages: %.1f s\n", messages, clock.elapsed() / 1e3);
        QDir().rename(building, dir);
    }
    server::SqliteStore store(dir);
    QString error;
    if (!store.open(&error)) {
        std::fprintf(stderr, "open: %s\n", qPrintable(error));
        return false;
    }
    const Corpus corpus(42);
    printHeader();
    for (const Subject &subject : pickSubjects(store.databasePath())) {
        const QString who = u"%1 (%2 msgs)"_s.arg(subject.label).arg(subject.messages);
        for (const Query &query : querySet(corpus, subject.user, subject.conv, true)) {
            const std::optional<TimedQuery> timed = timeQuery(store, subject.user, query, runs);
            if (!timed)
                continue;
            if (timed->failed)
                return false;
            printRow(u"server"_s, who, query, figuresOf(timed->ms, timed->hits));
        }
    }
    return true;
}

// ---- server on DynamoDB (dynalite) -------------------------------------------------------

// Users by the messages they are in, ranked as pickSubjects() ranks them in SQL (most first,
// then by name), each with the conversation they use most.
QList<Subject> rankSubjects(
    const QHash<QString, qint64> &perUser, const QHash<QString, QHash<QString, qint64>> &convs)
{
    QList<std::pair<QString, qint64>> ranked;
    for (auto it = perUser.cbegin(); it != perUser.cend(); ++it)
        ranked.append({it.key(), it.value()});
    std::sort(ranked.begin(), ranked.end(), [](const auto &l, const auto &r) {
        return l.second != r.second ? l.second > r.second : l.first < r.first;
    });
    QList<Subject> subjects;
    if (ranked.isEmpty())
        return subjects;
    for (const auto &[label, index] : {std::pair {u"median user"_s, ranked.size() / 2},
             std::pair {u"top 10% user"_s, ranked.size() / 10},
             std::pair {u"top 1% user"_s, ranked.size() / 100},
             std::pair {u"busiest user"_s, qsizetype(0)}}) {
        Subject s {label, ranked.at(index).first, {}, ranked.at(index).second};
        const QHash<QString, qint64> mine = convs.value(s.user);
        qint64 most = 0;
        for (auto it = mine.cbegin(); it != mine.cend(); ++it) {
            if (it.value() > most || (it.value() == most && it.key() < s.conv)) {
                most = it.value();
                s.conv = it.key();
            }
        }
        subjects.append(s);
    }
    return subjects;
}

bool benchDynamo(int messages, int users, int runs)
{
    using bench::CapacityUnits;
    using bench::DynamoRequests;
    using bench::ItemsWritten;
    using bench::MetricsText;
    QString error;
    test::Dynalite *dynalite = test::Dynalite::shared(&error);
    if (!dynalite) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return false;
    }
    test::Dynalite::useTestCredentials();
    QLoggingCategory::setFilterRules(u"parley.*.info=false"_s); // warnings still show
    server::Metrics metrics;
    server::DynamoStoreOptions options;
    options.endpoint = dynalite->endpoint().toString();
    options.tablePrefix = u"benchsearch_"_s;
    options.createTables = true;
    server::DynamoStore store(options, &metrics);
    if (!store.open(&error)) {
        std::fprintf(stderr, "open: %s\n", qPrintable(error));
        return false;
    }
    std::printf("DynamoStore on dynalite %s\n", qPrintable(options.endpoint));
    const auto scrape = [&metrics]() -> std::optional<QString> {
        return QString::fromUtf8(metrics.exposition());
    };

    // Callbacks run on the store's thread: only atomics cross over.
    constexpr int Window = 64;
    std::atomic<int> pending {0}, failed {0};
    const auto throttle
        = [&](int below) { bench::spinFor(600'000, [&] { return pending.load() < below; }); };
    QElapsedTimer clock;
    clock.start();
    for (int i = 0; i < users; ++i) {
        throttle(Window);
        ++pending;
        store.createUser({userName(i), "hash", 1}, [&](server::Result<server::Done> done) {
            if (!done)
                ++failed;
            --pending;
        });
    }
    throttle(1);
    const MetricsText before = MetricsText::parse(*scrape());
    std::printf("writing %d messages among %d users (DynamoStore::appendMessage, %d in "
                "flight)...\n",
        messages, users, Window);
    std::fflush(stdout);
    clock.restart();
    QHash<QString, qint64> perUser;
    QHash<QString, QHash<QString, qint64>> convs;
    generateMessages(messages, users, [&](const GeneratedMessage &m) {
        ++perUser[m.from];
        ++perUser[m.to];
        ++convs[m.from][m.conv];
        ++convs[m.to][m.conv];
        throttle(Window);
        ++pending;
        store.appendMessage(
            {m.from, m.to, m.cid, m.body, m.ts}, [&](server::Result<server::StoredSend> stored) {
                if (!stored)
                    ++failed;
                --pending;
            });
        return true;
    });
    throttle(1);
    const double appendSeconds = clock.elapsed() / 1e3;
    const bench::Settled settled = bench::waitUntilSettled(scrape);
    if (failed > 0) {
        std::fprintf(stderr, "%d writes failed\n", failed.load());
        return false;
    }
    const MetricsText &after = *settled.metrics;
    const double n = std::max(1, messages);
    std::printf("  acked in %.1f s (%.0f msgs/s); settled %.1f s later%s\n", appendSeconds,
        messages / appendSeconds, settled.seconds, settled.timedOut ? " (timed out)" : "");
    std::printf("  per message: %.2f items written, %.2f write units, %.2f read units\n",
        (after.sum(ItemsWritten) - before.sum(ItemsWritten)) / n,
        (after.sum(CapacityUnits, {{u"kind"_s, u"write"_s}})
            - before.sum(CapacityUnits, {{u"kind"_s, u"write"_s}}))
            / n,
        (after.sum(CapacityUnits, {{u"kind"_s, u"read"_s}})
            - before.sum(CapacityUnits, {{u"kind"_s, u"read"_s}}))
            / n);
    std::fflush(stdout);

    const Corpus corpus(42);
    std::printf("%-7s %-30s %-30s %6s %9s %9s %9s %10s %9s\n", "side", "searcher", "query", "hits",
        "p50 ms", "p99 ms", "max ms", "RCU/query", "req/query");
    for (const Subject &subject : rankSubjects(perUser, convs)) {
        const QString who = u"%1 (%2 msgs)"_s.arg(subject.label).arg(subject.messages);
        for (const Query &query : querySet(corpus, subject.user, subject.conv, true)) {
            MetricsText start;
            const std::optional<TimedQuery> timed = timeQuery(
                store, subject.user, query, runs, [&] { start = MetricsText::parse(*scrape()); });
            if (!timed)
                continue;
            if (timed->failed)
                return false;
            const MetricsText end = MetricsText::parse(*scrape());
            const double readUnits = (end.sum(CapacityUnits, {{u"kind"_s, u"read"_s}})
                                         - start.sum(CapacityUnits, {{u"kind"_s, u"read"_s}}))
                / runs;
            const double requests = (end.sum(DynamoRequests) - start.sum(DynamoRequests)) / runs;
            const Figures f = figuresOf(timed->ms, timed->hits);
            std::printf("%-7s %-30s %-30s %6lld %9.2f %9.2f %9.2f %10.2f %9.2f\n", "dynamo",
                qPrintable(who), qPrintable(query.label), static_cast<long long>(f.hits), f.p50,
                f.p99, f.max, readUnits, requests);
            std::fflush(stdout);
        }
    }
    std::printf("(read capacity units and DynamoDB requests per query, as the store's "
                "requests report them; %d runs per query)\n",
        runs);
    store.close();
    return true;
}

// ---- local (client-core cache) ---------------------------------------------------------

bool benchLocal(const QString &dataDir, int messages, int runs)
{
    const QString me = u"me"_s;
    constexpr int Peers = 2000;
    const QString dir = QDir(dataDir).filePath(u"cache-%1"_s.arg(messages));
    const QString file = u"/cache.sqlite3"_s;
    QObject context;
    const auto openCache = [&](client::Cache &cache, const QString &path) {
        QString problem = u"no answer"_s;
        bool answered = false;
        cache.open(path, &context, [&](QString error) {
            problem = error;
            answered = true;
        });
        bench::spinFor(600'000, [&] { return answered; });
        if (!problem.isEmpty())
            std::fprintf(stderr, "cache open: %s\n", qPrintable(problem));
        return problem.isEmpty();
    };
    if (!QFileInfo::exists(dir)) {
        const QString building = dir + u".building"_s;
        QDir(building).removeRecursively();
        QElapsedTimer clock;
        clock.start();
        {
            client::Cache cache;
            if (!openCache(cache, building + file))
                return false;
            Corpus corpus(7);
            QHash<QString, qint64> seqs;
            qint64 ts = 1'672'531'200'000;
            constexpr int Batch = 20000;
            for (int done = 0; done < messages;) {
                QList<client::ChatMessage> batch;
                for (int i = 0; i < Batch && done < messages; ++i, ++done) {
                    const QString peer
                        = u"peer%1"_s.arg(corpus.skewed(Peers), 4, 10, QLatin1Char('0'));
                    const bool outgoing = corpus.uniform(2) == 0;
                    client::ChatMessage m;
                    m.conv = convOf(me, peer);
                    m.seq = ++seqs[m.conv];
                    m.cid = u"c%1"_s.arg(done);
                    m.from = outgoing ? me : peer;
                    m.to = outgoing ? peer : me;
                    m.body = corpus.body();
                    m.ts = ts += corpus.uniform(60'000);
                    m.outgoing = outgoing;
                    m.state
                        = outgoing ? client::MessageState::Read : client::MessageState::Received;
                    batch.append(m);
                }
                cache.saveMessages(batch);
                bool flushed = false;
                cache.flush(&context, [&] { flushed = true; });
                bench::spinFor(600'000, [&] { return flushed; });
            }
        }
        std::printf(
            "local cache of %d messages written in %.1f s\n", messages, clock.elapsed() / 1e3);
        QDir().rename(building, dir);
    }
    client::Cache cache;
    if (!openCache(cache, dir + file))
        return false;
    const Corpus corpus(7);
    const QString busiestPeer = u"peer0000"_s;
    printHeader();
    for (const Query &query : querySet(corpus, me, convOf(me, busiestPeer), false)) {
        const QStringList words = protocol::search::queryWords(query.q);
        std::vector<double> ms;
        qsizetype hits = 0;
        for (int i = 0; i < runs; ++i) {
            QEventLoop loop;
            QElapsedTimer clock;
            clock.start();
            cache.search(words, query.conv, query.from, 20, &loop,
                [&](const QList<client::SearchHit> &found) {
                    ms.push_back(clock.nsecsElapsed() / 1e6);
                    hits = found.size();
                    loop.quit();
                });
            loop.exec();
        }
        printRow(u"local"_s, u"one account"_s, query, figuresOf(ms, hits));
    }
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(u"Search latency over a large store and cache."_s);
    parser.addHelpOption();
    const QCommandLineOption data(u"data"_s, u"Where the databases are kept."_s, u"dir"_s,
        QDir::temp().filePath(u"parley-bench-search"_s));
    const QCommandLineOption count(u"messages"_s, u"Messages stored."_s, u"n"_s, u"1000000"_s);
    const QCommandLineOption users(u"users"_s, u"Users on the server."_s, u"n"_s, u"20000"_s);
    const QCommandLineOption runs(u"runs"_s, u"Searches per query."_s, u"n"_s, u"200"_s);
    const QCommandLineOption skipServer(u"skip-server"_s, u"No server part."_s);
    const QCommandLineOption skipLocal(u"skip-local"_s, u"No local part."_s);
    const QCommandLineOption storeOption(u"store"_s,
        u"The server part's store: sqlite, or dynamodb on dynalite (then 5000 messages among "
        u"100 users and 10 runs per query unless given, and no local part)."_s,
        u"store"_s, u"sqlite"_s);
    parser.addOptions({data, count, users, runs, skipServer, skipLocal, storeOption});
    parser.process(app);
    const QString store = parser.value(storeOption);
    if (store != u"sqlite"_s && store != u"dynamodb"_s) {
        std::fprintf(stderr, "--store: sqlite or dynamodb\n");
        return 2;
    }
    if (store == u"dynamodb"_s) {
        const auto valueOr = [&](const QCommandLineOption &option, int fallback) {
            return parser.isSet(option) ? parser.value(option).toInt() : fallback;
        };
        return benchDynamo(std::max(1, valueOr(count, 5000)), std::max(2, valueOr(users, 100)),
                   std::max(1, valueOr(runs, 10)))
            ? 0
            : 1;
    }
    const int messages = parser.value(count).toInt();
    const int runCount = std::max(1, parser.value(runs).toInt());
    QDir().mkpath(parser.value(data));

    bool ok = true;
    if (!parser.isSet(skipServer))
        ok = benchServer(parser.value(data), messages, parser.value(users).toInt(), runCount);
    if (ok && !parser.isSet(skipLocal))
        ok = benchLocal(parser.value(data), messages, runCount);
    return ok ? 0 : 1;
}
