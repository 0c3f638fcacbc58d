// DynamoStore's search against dynalite, below the wire protocol: words as prefixes with
// case and accents folded, all words required, the conv and from filters, newest first,
// pages to the end with no repeats (also pages cut short by the read budget), other
// users' conversations, hostile queries, cursors that are not ours, a resend not
// duplicating hits; and the index written off the append path: items per message, the
// lag metric, a node killed (SIGKILL) before indexing, throttled indexing, the upgrade
// from the layout that indexed every word before the ack, and the sweep resuming.
#include "batchproxy.h"
#include "dynalite.h"
#include "dynamoitem.h"
#include "dynamosearch.h"
#include "dynamostore.h"
#include "dynamotables.h"
#include "metrics.h"
#include "searchtext.h"
#include "serverfixture.h"
#include "storetesting.h"

#include <QDir>
#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>
#include <QTest>

#include <functional>
#include <future>
#include <memory>

using namespace parley;
using namespace parley::server;
using namespace parley::server::dynamo;
using namespace Qt::StringLiterals;

namespace {

using testing::await;

template<typename T> QString why(const Result<T> &result)
{
    return result ? QString() : result.error().message;
}

SearchQuery query(const QString &user, const QString &q, int limit = 20)
{
    SearchQuery out;
    out.user = user;
    out.words = protocol::search::queryWords(q);
    out.limit = limit;
    return out;
}

QStringList bodies(const SearchPage &page)
{
    QStringList out;
    for (const protocol::SearchHit &hit : page.hits)
        out.append(hit.body);
    return out;
}

} // namespace

class TestDynamoSearch : public QObject
{
    Q_OBJECT

private:
    Metrics m_metrics;
    QUrl m_endpoint;
    int m_prefixes = 0;
    std::unique_ptr<aws::DynamoClient> m_raw; // for writing items the way older nodes did

    DynamoStoreOptions options(const QString &prefix, bool create = true)
    {
        DynamoStoreOptions o;
        o.endpoint = m_endpoint.toString();
        o.tablePrefix = prefix;
        o.createTables = create;
        return o;
    }

    QString freshPrefix() { return u"s%1_"_s.arg(++m_prefixes); }

    std::unique_ptr<DynamoStore> openStore(const QString &prefix,
        const std::function<void(DynamoStoreOptions &)> &adjust = {}, bool addUsers = true,
        Metrics *metrics = nullptr)
    {
        DynamoStoreOptions adjusted = options(prefix);
        if (adjust)
            adjust(adjusted);
        auto store = std::make_unique<DynamoStore>(adjusted, metrics ? metrics : &m_metrics);
        QString error;
        if (!store->open(&error)) {
            qWarning() << "open failed:" << error;
            return nullptr;
        }
        for (const QString &user : {u"ann"_s, u"bob"_s, u"cy"_s}) {
            const NewUser record {user, "hash", 1};
            if (addUsers && !await<Done>([&](auto done) { store->createUser(record, done); }))
                return nullptr;
        }
        return store;
    }

    QJsonObject raw(const QString &operation, const QJsonObject &request)
    {
        QEventLoop loop;
        QJsonObject answer;
        m_raw->call(
            operation, request, [&](const QJsonObject &response, const aws::DynamoError *e) {
                answer = e ? QJsonObject {{u"error"_s, e->type}} : response;
                loop.quit();
            });
        loop.exec();
        return answer;
    }

    // The search index of one conversation as stored: its segments, oldest first.
    QList<segments::Segment> segmentsOf(const QString &prefix, const QString &conv)
    {
        QList<segments::Segment> out;
        QJsonObject start;
        do {
            QJsonObject request {{u"TableName"_s, TableNames(prefix).search},
                {u"KeyConditionExpression"_s, u"#k = :k"_s},
                {u"ExpressionAttributeNames"_s, QJsonObject {{u"#k"_s, Key::UserBucket}}},
                {u"ExpressionAttributeValues"_s,
                    QJsonObject {{u":k"_s, string(segments::partition(conv))}}},
                {u"ConsistentRead"_s, true}};
            if (!start.isEmpty())
                request.insert(u"ExclusiveStartKey"_s, start);
            const QJsonObject page = raw(u"Query"_s, request);
            for (const QJsonValue &item : page.value(u"Items"_s).toArray())
                if (const auto segment = segments::segmentOf(item.toObject()))
                    out.append(*segment);
            start = page.value(u"LastEvaluatedKey"_s).toObject();
        } while (!start.isEmpty());
        return out;
    }

    // Seqs the index holds for `conv`; empty if the chain of segments is broken.
    QList<qint64> indexedSeqs(const QString &prefix, const QString &conv)
    {
        QList<qint64> seqs;
        qint64 watermark = 0;
        for (const segments::Segment &segment : segmentsOf(prefix, conv)) {
            if (segment.firstSeq != watermark + 1)
                return {};
            for (const segments::Line &line : segment.lines)
                seqs.append(line.seq);
            watermark = segment.lastSeq;
        }
        return seqs;
    }

    static QList<qint64> range(qint64 first, qint64 last)
    {
        QList<qint64> out;
        for (qint64 seq = first; seq <= last; ++seq)
            out.append(seq);
        return out;
    }

    qsizetype itemCount(const QString &table)
    {
        qsizetype count = 0;
        QJsonObject start;
        do {
            QJsonObject request {{u"TableName"_s, table}, {u"Select"_s, u"COUNT"_s}};
            if (!start.isEmpty())
                request.insert(u"ExclusiveStartKey"_s, start);
            const QJsonObject page = raw(u"Scan"_s, request);
            count += page.value(u"Count"_s).toInteger();
            start = page.value(u"LastEvaluatedKey"_s).toObject();
        } while (!start.isEmpty());
        return count;
    }

    // Creates the tables as an older release did (without the search table: before search).
    bool createTables(const QString &prefix, bool withSearch)
    {
        const TableNames names(prefix);
        for (const TableSpec &spec : tableSpecs(names)) {
            if (spec.name == names.search && !withSearch)
                continue;
            QJsonArray definitions {QJsonObject {
                {u"AttributeName"_s, spec.hashKey}, {u"AttributeType"_s, spec.hashType}}};
            QJsonArray schema {
                QJsonObject {{u"AttributeName"_s, spec.hashKey}, {u"KeyType"_s, u"HASH"_s}}};
            if (!spec.rangeKey.isEmpty()) {
                definitions.append(QJsonObject {
                    {u"AttributeName"_s, spec.rangeKey}, {u"AttributeType"_s, spec.rangeType}});
                schema.append(
                    QJsonObject {{u"AttributeName"_s, spec.rangeKey}, {u"KeyType"_s, u"RANGE"_s}});
            }
            if (raw(u"CreateTable"_s,
                    {{u"TableName"_s, spec.name}, {u"AttributeDefinitions"_s, definitions},
                        {u"KeySchema"_s, schema}, {u"BillingMode"_s, u"PAY_PER_REQUEST"_s}})
                    .contains(u"error"_s))
                return false;
        }
        return true;
    }

    // What a seq claim of another node leaves: the conversation's lastSeq and lastTs moved on.
    bool setLastSeq(const QString &prefix, const QString &conv, qint64 lastSeq, qint64 lastTs)
    {
        return !raw(u"UpdateItem"_s,
            {{u"TableName"_s, TableNames(prefix).conversations},
                {u"Key"_s, QJsonObject {{Key::Conv, string(conv)}}},
                {u"UpdateExpression"_s, u"SET #s = :s, #t = :t"_s},
                {u"ExpressionAttributeNames"_s,
                    QJsonObject {{u"#s"_s, Attr::LastSeq}, {u"#t"_s, Attr::LastTs}}},
                {u"ExpressionAttributeValues"_s,
                    QJsonObject {{u":s"_s, number(lastSeq)}, {u":t"_s, number(lastTs)}}}})
                    .contains(u"error"_s);
    }

    // Writes conversations the way an older node did: conversation and membership items,
    // messages and their sends items, and (with `oldIndex`) a per-user search item.
    bool writeOldConversation(const QString &prefix, const QString &a, const QString &b, int count,
        const QString &words, bool oldIndex)
    {
        const TableNames names(prefix);
        const QString conv = a + u':' + b;
        for (int i = 1; i <= count; ++i) {
            const protocol::Message m {
                conv, i, a, b, u"o%1"_s.arg(i), u"%1 %2"_s.arg(words).arg(i), 5000 + i};
            QJsonObject sends = messageItem(m);
            sends.insert(Key::SendId, string(a + u"#o%1"_s.arg(i)));
            QList<std::pair<QString, QJsonObject>> items {
                {names.messages, messageItem(m)}, {names.sends, sends}};
            if (oldIndex)
                items.append({names.search,
                    QJsonObject {{Key::UserBucket, string(b + u"#*"_s)},
                        {Key::Position,
                            string(u"%1#%2#%3"_s.arg(m.ts, 13, 10, QChar(u'0'))
                                       .arg(conv)
                                       .arg(i, 12, 10, QChar(u'0')))},
                        {u"conv"_s, string(conv)}, {u"seq"_s, number(i)}, {u"from"_s, string(a)},
                        {u"ts"_s, number(m.ts)}, {u"words"_s, string(m.body)}}});
            for (const auto &[table, item] : items) {
                if (raw(u"PutItem"_s, {{u"TableName"_s, table}, {u"Item"_s, item}})
                        .contains(u"error"_s))
                    return false;
            }
        }
        const QList<std::pair<QString, QJsonObject>> rest {
            {names.conversations,
                QJsonObject {{Key::Conv, string(conv)}, {Attr::UserA, string(a)},
                    {Attr::UserB, string(b)}, {Attr::LastSeq, number(count)},
                    {Attr::LastTs, number(5000 + count)}}},
            {names.memberships,
                QJsonObject {
                    {Key::User, string(a)}, {Key::Conv, string(conv)}, {Attr::Peer, string(b)}}},
            {names.memberships,
                QJsonObject {
                    {Key::User, string(b)}, {Key::Conv, string(conv)}, {Attr::Peer, string(a)}}}};
        for (const auto &[table, item] : rest) {
            if (raw(u"PutItem"_s, {{u"TableName"_s, table}, {u"Item"_s, item}})
                    .contains(u"error"_s))
                return false;
        }
        return true;
    }

    // Appends all at once and waits for every ack.
    static bool appendAll(DynamoStore &store, const QList<SendRequest> &sends)
    {
        std::vector<std::future<Result<StoredSend>>> results;
        for (const SendRequest &s : sends) {
            auto promise = std::make_shared<std::promise<Result<StoredSend>>>();
            results.push_back(promise->get_future());
            store.appendMessage(s, [promise](Result<StoredSend> r) { promise->set_value(r); });
        }
        for (auto &result : results) {
            const Result<StoredSend> r = result.get();
            if (!r) {
                qWarning() << "append failed:" << r.error().message;
                return false;
            }
        }
        return true;
    }

    static Result<SearchPage> search(DynamoStore &store, const SearchQuery &q)
    {
        return await<SearchPage>([&](auto done) { store.search(q, done); });
    }

    // Every page of a search, checking each page's shape on the way.
    static QList<protocol::SearchHit> allPages(
        DynamoStore &store, SearchQuery q, int *pages, int *shortPagesWithNext)
    {
        QList<protocol::SearchHit> hits;
        *pages = 0;
        *shortPagesWithNext = 0;
        for (;;) {
            const Result<SearchPage> page = search(store, q);
            if (!page) {
                qWarning() << "search failed:" << page.error().message;
                return {};
            }
            ++*pages;
            const bool emptyWithNext = page.value().hits.isEmpty() && page.value().next;
            if (page.value().hits.size() > q.limit || emptyWithNext
                || page.value().cursorAfter.size() != page.value().hits.size()) {
                qWarning() << "a page of" << page.value().hits.size() << "hits is malformed";
                return {};
            }
            hits.append(page.value().hits);
            if (!page.value().next)
                return hits;
            if (page.value().hits.size() < q.limit)
                ++*shortPagesWithNext;
            q.cursor = *page.value().next;
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QString error;
        test::Dynalite *dynalite = test::Dynalite::shared(&error);
        QVERIFY2(dynalite, qPrintable(error));
        m_endpoint = dynalite->endpoint();
        test::Dynalite::useTestCredentials();
        const auto settings = aws::resolveAwsSettings(
            QProcessEnvironment::systemEnvironment(), QDir::homePath(), m_endpoint.toString());
        QVERIFY(std::holds_alternative<aws::AwsSettings>(settings));
        m_raw
            = std::make_unique<aws::DynamoClient>(std::get<aws::AwsSettings>(settings), &m_metrics);
    }

    void cleanupTestCase()
    {
        m_wordsStore.reset();
        m_pagesStore.reset();
        m_raw.reset();
    }

    void findsWords_data()
    {
        QTest::addColumn<QString>("user");
        QTest::addColumn<QString>("q");
        QTest::addColumn<QString>("conv");
        QTest::addColumn<QString>("from");
        QTest::addColumn<QStringList>("expected"); // bodies, newest first

        const QString m1 = u"Déjà vu at the Café"_s;
        const QString m2 = u"the cafeteria opens at nine"_s;
        const QString m4 = u"Hello world 42"_s;
        const QString m5 = u"hello there, Ann"_s;
        const QString m6 = u"world peace"_s;
        QTest::newRow("prefix, two messages")
            << u"ann"_s << u"cafe"_s << QString() << QString() << QStringList {m2, m1};
        QTest::newRow("case and accents")
            << u"ann"_s << u"CAFÉ DÉJÀ"_s << QString() << QString() << QStringList {m1};
        QTest::newRow("all words required")
            << u"ann"_s << u"hello world"_s << QString() << QString() << QStringList {m4};
        QTest::newRow("short prefixes")
            << u"ann"_s << u"he wo"_s << QString() << QString() << QStringList {m4};
        QTest::newRow("digits") << u"ann"_s << u"42 HEL"_s << QString() << QString()
                                << QStringList {m4};
        QTest::newRow("one letter words")
            << u"ann"_s << u"a"_s << QString() << QString() << QStringList {m5, m2, m1};
        QTest::newRow("one letter and a word")
            << u"ann"_s << u"t c"_s << QString() << QString() << QStringList {m2, m1};
        QTest::newRow("every conversation")
            << u"ann"_s << u"wor"_s << QString() << QString() << QStringList {m6, m4};
        QTest::newRow("conv filter")
            << u"ann"_s << u"world"_s << u"ann:cy"_s << QString() << QStringList {m6};
        QTest::newRow("from filter")
            << u"ann"_s << u"hello"_s << QString() << u"bob"_s << QStringList {m5};
        QTest::newRow("from and conv")
            << u"ann"_s << u"hello"_s << u"ann:bob"_s << u"ann"_s << QStringList {m4};
        QTest::newRow("no match") << u"ann"_s << u"zebra"_s << QString() << QString()
                                  << QStringList {};
        QTest::newRow("a word inside another is no prefix")
            << u"ann"_s << u"orld"_s << QString() << QString() << QStringList {};
        QTest::newRow("bob never sees ann:cy")
            << u"bob"_s << u"world"_s << QString() << QString() << QStringList {m4};
        QTest::newRow("cy never sees ann:bob")
            << u"cy"_s << u"hello"_s << QString() << QString() << QStringList {};
        QTest::newRow("hostile: expression syntax")
            << u"ann"_s << u"#k = :k OR attribute_exists(x) -- \" ' *"_s << QString() << QString()
            << QStringList {};
        QTest::newRow("hostile: another user's partition")
            << u"bob"_s << u"ann#wo"_s << QString() << QString() << QStringList {};
        QTest::newRow("hostile: quotes around words") << u"ann"_s << u"\"hello\" AND NOT (world*)"_s
                                                      << QString() << QString() << QStringList {};
    }

    void findsWords()
    {
        QFETCH(QString, user);
        QFETCH(QString, q);
        QFETCH(QString, conv);
        QFETCH(QString, from);
        QFETCH(QStringList, expected);
        if (!m_wordsStore) {
            m_wordsStore = openStore(freshPrefix());
            QVERIFY(m_wordsStore);
            const QList<SendRequest> sends {
                {u"ann"_s, u"bob"_s, u"m1"_s, u"Déjà vu at the Café"_s, 1001},
                {u"bob"_s, u"ann"_s, u"m2"_s, u"the cafeteria opens at nine"_s, 1002},
                {u"ann"_s, u"bob"_s, u"m4"_s, u"Hello world 42"_s, 1004},
                {u"bob"_s, u"ann"_s, u"m5"_s, u"hello there, Ann"_s, 1005},
                {u"ann"_s, u"cy"_s, u"m6"_s, u"world peace"_s, 1006},
            };
            for (const SendRequest &s : sends) // one by one: ts order is seq order
                QVERIFY(appendAll(*m_wordsStore, {s}));
        }
        SearchQuery search = query(user, q);
        if (!conv.isEmpty())
            search.conv = conv;
        if (!from.isEmpty())
            search.from = from;
        QVERIFY(!search.words.isEmpty());
        const Result<SearchPage> page = TestDynamoSearch::search(*m_wordsStore, search);
        QVERIFY2(page, qPrintable(why(page)));
        QCOMPARE(bodies(page.value()), expected);
        QVERIFY(!page.value().next);
        for (const protocol::SearchHit &hit : page.value().hits) {
            QCOMPARE(hit.snippet, protocol::search::snippet(hit.body, search.words));
            QVERIFY2(hit.snippet.contains(u'['), qPrintable(hit.snippet));
            QVERIFY(hit.conv.split(u':').contains(user));
        }
    }

    // 130 hits over two conversations between 130 messages that share the anchor's
    // bucket but not the word; limit 20. With the default budget pages fill up; with a
    // budget of 25 items a page stops early, with a cursor, and the next goes on.
    void paginatesToTheEnd_data()
    {
        QTest::addColumn<int>("budget");
        QTest::newRow("pages fill up") << 1000;
        // The budget counts index lines per conversation and round: with two
        // conversations of half hits, 10 lines each give about 10 hits, so pages stop short.
        QTest::newRow("pages stop on the read budget") << 10;
    }

    void paginatesToTheEnd()
    {
        QFETCH(int, budget);
        if (!m_pagesStore) {
            m_pagesPrefix = freshPrefix();
            m_pagesStore = openStore(m_pagesPrefix);
            QVERIFY(m_pagesStore);
            QList<SendRequest> sends;
            for (int i = 0; i < 260; ++i) {
                const bool hit = i % 2 == 0;
                sends.append({u"ann"_s, i % 4 < 2 ? u"bob"_s : u"cy"_s, u"p%1"_s.arg(i),
                    hit ? u"apple pie number %1"_s.arg(i) : u"apricot jam number %1"_s.arg(i),
                    10000 + i});
            }
            QVERIFY(appendAll(*m_pagesStore, sends));
        }
        auto store = std::make_unique<DynamoStore>(
            [&] {
                DynamoStoreOptions o = options(m_pagesPrefix);
                o.searchReadBudget = budget;
                return o;
            }(),
            &m_metrics);
        QString error;
        QVERIFY2(store->open(&error), qPrintable(error));
        int pages = 0;
        int shortPages = 0;
        const QList<protocol::SearchHit> hits
            = allPages(*store, query(u"ann"_s, u"apple number"_s, 20), &pages, &shortPages);
        QCOMPARE(hits.size(), 130);
        QSet<QString> seen;
        for (qsizetype i = 0; i < hits.size(); ++i) {
            QCOMPARE(hits.at(i).body, u"apple pie number %1"_s.arg(258 - 2 * i)); // newest first
            QVERIFY(!seen.contains(hits.at(i).conv + QString::number(hits.at(i).seq)));
            seen.insert(hits.at(i).conv + QString::number(hits.at(i).seq));
        }
        if (budget < 40) {
            QVERIFY(pages > 7);
            QVERIFY(shortPages > 0);
        } else {
            QCOMPARE(pages, 7);
            QCOMPARE(shortPages, 0);
        }
        // cursorAfter[i] goes on right after hit i.
        SearchQuery first = query(u"ann"_s, u"apple"_s, 5);
        const Result<SearchPage> page = search(*store, first);
        QVERIFY2(page, qPrintable(why(page)));
        QCOMPARE(page.value().cursorAfter.size(), page.value().hits.size());
        first.cursor = page.value().cursorAfter.at(1);
        first.limit = 1;
        const Result<SearchPage> third = search(*store, first);
        QVERIFY2(third, qPrintable(why(third)));
        QCOMPARE(third.value().hits.value(0), page.value().hits.at(2));
    }

    void foreignCursorsAreInvalid_data()
    {
        QTest::addColumn<QString>("cursor");
        QTest::addColumn<QString>("q");
        QTest::addColumn<QString>("user");
        QTest::newRow("garbage") << u"not a cursor"_s << u"hello"_s << u"ann"_s;
        QTest::newRow("bad base64") << u"d1.***.***"_s << u"hello"_s << u"ann"_s;
        QTest::newRow("another query's") << u"<own>"_s << u"world"_s << u"ann"_s;
        QTest::newRow("another user's") << u"<own>"_s << u"hello"_s << u"bob"_s;
        QTest::newRow("tampered position") << u"<tampered>"_s << u"hello"_s << u"ann"_s;
    }

    void foreignCursorsAreInvalid()
    {
        QFETCH(QString, cursor);
        QFETCH(QString, q);
        QFETCH(QString, user);
        auto store = openStore(freshPrefix());
        QVERIFY(store);
        QVERIFY(appendAll(*store,
            {{u"ann"_s, u"bob"_s, u"a"_s, u"hello world"_s, 1},
                {u"bob"_s, u"ann"_s, u"b"_s, u"hello world again"_s, 2}}));
        const Result<SearchPage> own = search(*store, query(u"ann"_s, u"hello"_s, 1));
        QVERIFY2(own && own.value().next, qPrintable(why(own)));
        if (cursor == u"<own>"_s) {
            cursor = *own.value().next;
        } else if (cursor == u"<tampered>"_s) {
            QStringList parts = own.value().next->split(u'.');
            parts[1] = QString::fromLatin1(
                QByteArray("9999999999999#ann:bob#000000000001")
                    .toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
            cursor = parts.join(u'.');
        }
        SearchQuery foreign = query(user, q);
        foreign.cursor = cursor;
        const Result<SearchPage> page = search(*store, foreign);
        QVERIFY(!page);
        QCOMPARE(page.error().code, StoreError::Code::Invalid);
    }

    // A resend of an acked message, and a message whose node died after its message item
    // (so it was never indexed): one hit each, found before and after the resend.
    void resendsDoNotDuplicateHits()
    {
        const QString prefix = freshPrefix();
        auto store = openStore(prefix);
        QVERIFY(store);
        const SendRequest first {u"ann"_s, u"bob"_s, u"r1"_s, u"resent words"_s, 100};
        QVERIFY(appendAll(*store, {first, first}));
        QVERIFY(appendAll(*store, {first}));
        // Written the way a node that died right after the message item leaves it.
        const protocol::Message lost {
            u"ann:bob"_s, 2, u"ann"_s, u"bob"_s, u"r2"_s, u"resent lost words"_s, 200};
        const TableNames tables(prefix);
        QJsonObject sends = messageItem(lost);
        sends.insert(Key::SendId, string(u"ann#r2"_s));
        for (const auto &[table, item] :
            {std::pair(tables.sends, sends), std::pair(tables.messages, messageItem(lost))})
            QVERIFY(!raw(u"PutItem"_s, {{u"TableName"_s, table}, {u"Item"_s, item}})
                         .contains(u"error"_s));
        const QStringList both {lost.body, first.body};
        QCOMPARE(bodies(search(*store, query(u"bob"_s, u"resent"_s)).value()), both);
        QVERIFY(appendAll(*store, {{u"ann"_s, u"bob"_s, u"r2"_s, lost.body, 300}}));
        QCOMPARE(bodies(search(*store, query(u"bob"_s, u"resent"_s)).value()), both);
        store.reset(); // a clean stop indexes what is pending
        QCOMPARE(indexedSeqs(prefix, u"ann:bob"_s), (QList<qint64> {1, 2}));
    }

    // Message items DynamoDB leaves unprocessed (a proxy does it, as a throttled table
    // would) are written again before the ack; each message is one hit, once, before
    // and after it is indexed.
    void unprocessedMessageWritesAreRetried()
    {
        test::BatchProxy proxy(m_endpoint.port(), 0, 2);
        QVERIFY(proxy.listen());
        const QString prefix = freshPrefix();
        auto store = openStore(prefix, [&](DynamoStoreOptions &o) {
            o.endpoint = proxy.endpoint().toString();
            o.searchIndexIntervalMs = 200;
        });
        QVERIFY(store);
        QList<SendRequest> sends;
        for (int i = 0; i < 30; ++i)
            sends.append({i % 2 ? u"ann"_s : u"bob"_s, i % 2 ? u"bob"_s : u"ann"_s, u"u%1"_s.arg(i),
                u"throttled index %1"_s.arg(i), 100 + i});
        QVERIFY(appendAll(*store, sends));
        QVERIFY(proxy.withheldItems() >= 30); // message items were among them
        const auto check = [&] {
            int pages = 0;
            int shortPages = 0;
            const QList<protocol::SearchHit> hits
                = allPages(*store, query(u"ann"_s, u"throttled ind"_s, 7), &pages, &shortPages);
            QCOMPARE(hits.size(), 30);
            for (qsizetype i = 0; i < hits.size(); ++i)
                QCOMPARE(hits.at(i).body, u"throttled index %1"_s.arg(29 - i));
        };
        check();
        QTRY_COMPARE_WITH_TIMEOUT(indexedSeqs(prefix, u"ann:bob"_s), range(1, 30), 30000);
        check();
    }

    // A long message: every word is on its index line and checked on the body.
    void longMessagesMatchOnTheirBody()
    {
        auto store = openStore(freshPrefix());
        QVERIFY(store);
        QStringList words;
        for (int i = 0; i < 400; ++i)
            words.append(u"w%1x"_s.arg(i));
        const QString body = words.join(u' ') + u" Ünïcode ending"_s;
        QVERIFY(appendAll(*store,
            {{u"ann"_s, u"bob"_s, u"long"_s, body, 1},
                {u"ann"_s, u"bob"_s, u"short"_s, u"w1x unicode"_s, 2}}));
        QCOMPARE(search(*store, query(u"bob"_s, u"unicode w399x"_s)).value().hits.size(), 1);
        QCOMPARE(search(*store, query(u"bob"_s, u"unicode w1x"_s)).value().hits.size(), 2);
        QCOMPARE(search(*store, query(u"bob"_s, u"w1x ending"_s)).value().hits.size(), 1);
        QCOMPARE(search(*store, query(u"bob"_s, u"w4 e"_s)).value().hits.size(), 1);
    }

    // What the issue measured: 50 short messages between two users. The index is one
    // segment for them all (written when the store stops, here), not an item per word.
    void itemsPerMessage()
    {
        const QString prefix = freshPrefix();
        auto store = openStore(prefix, [](DynamoStoreOptions &o) {
            o.searchIndexIntervalMs = 3600 * 1000; // nothing is indexed before the stop
        });
        QVERIFY(store);
        const TableNames names(prefix);
        const qsizetype searchItemsBefore
            = itemCount(names.search); // the sweep's marker, the lease
        for (int i = 1; i <= 50; ++i)
            QVERIFY(appendAll(*store,
                {{i % 2 ? u"ann"_s : u"bob"_s, i % 2 ? u"bob"_s : u"ann"_s, u"m%1"_s.arg(i),
                    u"see you at lunch on friday %1"_s.arg(i), 1000 + i}}));
        QCOMPARE(itemCount(names.messages), 50);
        QCOMPARE(itemCount(names.sends), 50);
        QCOMPARE(itemCount(names.search), searchItemsBefore); // the ack did not wait for it
        QCOMPARE(bodies(search(*store, query(u"ann"_s, u"lunch fri 17"_s)).value()),
            QStringList {u"see you at lunch on friday 17"_s});
        store.reset();
        QCOMPARE(segmentsOf(prefix, u"ann:bob"_s).size(), 1);
        QCOMPARE(indexedSeqs(prefix, u"ann:bob"_s), range(1, 50));
        // The lease of the stopped node is gone: one segment is all the index added.
        QCOMPARE(itemCount(names.search), searchItemsBefore);
    }

    // parley_search_index_lag_seconds shows how old the oldest unindexed message is, and
    // goes back to 0 once it is indexed.
    void lagMetric()
    {
        Metrics metrics;
        const QString prefix = freshPrefix();
        auto store = openStore(
            prefix, [](DynamoStoreOptions &o) { o.searchIndexIntervalMs = 3600 * 1000; }, true,
            &metrics);
        QVERIFY(store);
        const qint64 old = QDateTime::currentMSecsSinceEpoch() - 5000;
        QVERIFY(appendAll(*store, {{u"ann"_s, u"bob"_s, u"lag1"_s, u"lagging words"_s, old}}));
        auto &lag = metrics.gauge("parley_search_index_lag_seconds", "");
        auto &pending = metrics.gauge("parley_search_index_pending_conversations", "");
        QTRY_VERIFY_WITH_TIMEOUT(lag.value() >= 5.0, 5000);
        QCOMPARE(pending.value(), 1.0);
        QVERIFY(metrics.exposition().contains("parley_search_index_lag_seconds "));
        store.reset();
        QCOMPARE(lag.value(), 0.0);
        QCOMPARE(pending.value(), 0.0);
        QCOMPARE(indexedSeqs(prefix, u"ann:bob"_s), (QList<qint64> {1}));
    }

    // A `parley server` killed (SIGKILL) before it indexed anything: once another node
    // runs and the dead node's lease has run out, that node sweeps, and every message
    // is in the index.
    void sigkilledNodeLeavesNothingUnindexed()
    {
        const QString prefix = freshPrefix();
        QTemporaryDir dir;
        QProcess server;
        server.setProcessEnvironment(test::dynamoEnvironment());
        server.setProcessChannelMode(QProcess::MergedChannels);
        server.start(QStringLiteral(PARLEY_BINARY),
            {u"server"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, dir.path(),
                u"--store"_s, u"dynamodb"_s, u"--dynamodb-endpoint"_s, m_endpoint.toString(),
                u"--dynamodb-table-prefix"_s, prefix, u"--create-tables"_s,
                u"--search-index-interval"_s, u"600000"_s, u"--search-index-lease"_s, u"2"_s});
        QVERIFY(server.waitForStarted(10000));
        static const QRegularExpression listening(u"listening on ws://[^:]+:(\\d+)/ws"_s);
        QByteArray output;
        QTRY_VERIFY_WITH_TIMEOUT(
            (output += server.readAll(), listening.match(QString::fromUtf8(output)).hasMatch()),
            30000);
        const quint16 port
            = quint16(listening.match(QString::fromUtf8(output)).captured(1).toUInt());
        {
            test::Client ann;
            test::Client bob;
            const QUrl url(u"ws://127.0.0.1:%1/ws"_s.arg(port));
            QVERIFY(ann.open(url) && bob.open(url));
            QCOMPARE(ann.signIn(u"ann"_s).value(u"type"_s).toString(), u"welcome"_s);
            QCOMPARE(bob.signIn(u"bob"_s).value(u"type"_s).toString(), u"welcome"_s);
            for (int i = 1; i <= 40; ++i) {
                const QJsonObject ack = ann.request(
                    {{u"type"_s, u"send"_s}, {u"to"_s, u"bob"_s}, {u"cid"_s, u"k%1"_s.arg(i)},
                        {u"body"_s, u"killed before indexing %1"_s.arg(i)}});
                QCOMPARE(ack.value(u"type"_s).toString(), u"ack"_s);
            }
        }
        server.kill();
        QVERIFY(server.waitForFinished(10000));
        QCOMPARE(indexedSeqs(prefix, u"ann:bob"_s), QList<qint64>());

        auto next = openStore(
            prefix,
            [](DynamoStoreOptions &o) {
                o.nodeLeaseMs = 2000;
                o.backfillLeaseMs = 2000;
            },
            false);
        QVERIFY(next);
        QTRY_COMPARE_WITH_TIMEOUT(indexedSeqs(prefix, u"ann:bob"_s), range(1, 40), 30000);
        int pages = 0;
        int shortPages = 0;
        QCOMPARE(
            allPages(*next, query(u"bob"_s, u"killed before"_s, 100), &pages, &shortPages).size(),
            40);
    }

    // Indexing through a proxy that throttles a fifth of the requests and fails others
    // with a 500 before or after applying them: the index ends complete, every message
    // once.
    void indexingSurvivesThrottlingAndFailures()
    {
        QString error;
        const std::optional<test::FaultPlan> plan
            = test::FaultPlan::parse(u"throttled=20,before=10,after=10,seed=5,inarow=3"_s, &error);
        QVERIFY2(plan, qPrintable(error));
        test::FaultProxy proxy(m_endpoint.port(), *plan);
        QVERIFY(proxy.listen());
        const QString prefix = freshPrefix();
        auto store = openStore(prefix, [&](DynamoStoreOptions &o) {
            o.endpoint = proxy.endpoint().toString();
            o.searchIndexIntervalMs = 100;
        });
        QVERIFY(store);
        for (int round = 0; round < 6; ++round) {
            QList<SendRequest> sends;
            for (int i = 0; i < 10; ++i) {
                const int n = round * 10 + i;
                sends.append(
                    {u"ann"_s, u"cy"_s, u"f%1"_s.arg(n), u"faulty path %1"_s.arg(n), 100 + n});
            }
            QVERIFY(appendAll(*store, sends));
            QTest::qWait(150); // several cycles, several segments
        }
        QTRY_COMPARE_WITH_TIMEOUT(indexedSeqs(prefix, u"ann:cy"_s), range(1, 60), 60000);
        QVERIFY(segmentsOf(prefix, u"ann:cy"_s).size() > 1);
    }

    // A clean stop that cannot catch a conversation up (a gap still open: another node's
    // append, here one that never finishes) lists it in its lease; the next node catches
    // up that conversation only, without a sweep.
    void cleanStopHandsOverWhatItCouldNotIndex()
    {
        const QString prefix = freshPrefix();
        const TableNames names(prefix);
        auto store = openStore(prefix, [](DynamoStoreOptions &o) {
            o.searchIndexIntervalMs = 100;
            o.gapSettleMs = 3600 * 1000;
        });
        QVERIFY(store);
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        QVERIFY(appendAll(*store, {{u"ann"_s, u"bob"_s, u"h1"_s, u"handed over 1"_s, now + 1}}));
        const protocol::Message three {
            u"ann:bob"_s, 3, u"ann"_s, u"bob"_s, u"h3"_s, u"handed over 3"_s, now + 3};
        QVERIFY(
            !raw(u"PutItem"_s, {{u"TableName"_s, names.messages}, {u"Item"_s, messageItem(three)}})
                 .contains(u"error"_s));
        QVERIFY(setLastSeq(prefix, u"ann:bob"_s, 3, now + 3));
        QVERIFY(appendAll(*store, {{u"ann"_s, u"bob"_s, u"h4"_s, u"handed over 4"_s, now + 4}}));
        QTRY_COMPARE_WITH_TIMEOUT(indexedSeqs(prefix, u"ann:bob"_s), (QList<qint64> {1}), 10000);
        store.reset();
        const QJsonObject leases = raw(u"Query"_s,
            {{u"TableName"_s, names.search}, {u"KeyConditionExpression"_s, u"#k = :k"_s},
                {u"ExpressionAttributeNames"_s, QJsonObject {{u"#k"_s, Key::UserBucket}}},
                {u"ExpressionAttributeValues"_s, QJsonObject {{u":k"_s, string(u"#nodes"_s)}}},
                {u"ConsistentRead"_s, true}});
        const QJsonArray items = leases.value(u"Items"_s).toArray();
        QCOMPARE(items.size(), 1);
        QCOMPARE(stringOf(items.first().toObject(), u"pending"_s), u"ann:bob"_s);

        auto next = openStore(
            prefix,
            [](DynamoStoreOptions &o) {
                o.searchIndexIntervalMs = 100;
                o.gapSettleMs = 0; // the gap is taken as a failed append now
            },
            false);
        QVERIFY(next);
        QTRY_COMPARE_WITH_TIMEOUT(
            indexedSeqs(prefix, u"ann:bob"_s), (QList<qint64> {1, 3, 4}), 30000);
        const QJsonObject marker = raw(u"GetItem"_s,
            {{u"TableName"_s, names.search}, {u"ConsistentRead"_s, true},
                {u"Key"_s,
                    QJsonObject {{Key::UserBucket, string(u"#backfill"_s)},
                        {Key::Position, string(u"segments"_s)}}}});
        QVERIFY(!marker.value(u"Item"_s).toObject().contains(u"gen"_s)); // no sweep asked for
    }

    // A message written into a gap that a segment has already recorded (a resend that
    // finishes an interrupted send long after): the segment is written again with it.
    void lateMessageIsPatchedIntoItsSegment()
    {
        const QString prefix = freshPrefix();
        const TableNames names(prefix);
        auto store = openStore(prefix, [](DynamoStoreOptions &o) {
            o.searchIndexIntervalMs = 100;
            o.gapSettleMs = 1000;
        });
        QVERIFY(store);
        const qint64 old = QDateTime::currentMSecsSinceEpoch() - 60000;
        QList<SendRequest> first;
        for (int i = 1; i <= 3; ++i)
            first.append({u"ann"_s, u"bob"_s, u"g%1"_s.arg(i), u"gap story %1"_s.arg(i), old + i});
        QVERIFY(appendAll(*store, first));
        // Seq 4 was claimed by a send that stopped after its sends item; 5 and 6 made it.
        const protocol::Message four {
            u"ann:bob"_s, 4, u"ann"_s, u"bob"_s, u"g4"_s, u"gap story 4"_s, old + 4};
        QJsonObject sends = messageItem(four);
        sends.insert(Key::SendId, string(u"ann#g4"_s));
        QVERIFY(!raw(u"PutItem"_s, {{u"TableName"_s, names.sends}, {u"Item"_s, sends}})
                     .contains(u"error"_s));
        for (int i = 5; i <= 6; ++i) {
            const protocol::Message m {u"ann:bob"_s, i, u"ann"_s, u"bob"_s, u"g%1"_s.arg(i),
                u"gap story %1"_s.arg(i), old + i};
            QVERIFY(
                !raw(u"PutItem"_s, {{u"TableName"_s, names.messages}, {u"Item"_s, messageItem(m)}})
                     .contains(u"error"_s));
        }
        QVERIFY(setLastSeq(prefix, u"ann:bob"_s, 6, old + 6));
        QVERIFY(appendAll(*store, {{u"ann"_s, u"bob"_s, u"g7"_s, u"gap story 7"_s, old + 7}}));
        // The gap settles (the message after it is old): the chain passes it.
        QTRY_COMPARE_WITH_TIMEOUT(
            indexedSeqs(prefix, u"ann:bob"_s), (QList<qint64> {1, 2, 3, 5, 6, 7}), 30000);
        QCOMPARE(segmentsOf(prefix, u"ann:bob"_s).constLast().gaps.contains(4)
                || segmentsOf(prefix, u"ann:bob"_s).constFirst().gaps.contains(4),
            true);
        // The resend finds the sends item, writes message 4, and the indexer patches it in.
        QVERIFY(appendAll(*store, {{u"ann"_s, u"bob"_s, u"g4"_s, u"gap story 4"_s, old + 4}}));
        QTRY_COMPARE_WITH_TIMEOUT(indexedSeqs(prefix, u"ann:bob"_s), range(1, 7), 30000);
        for (const segments::Segment &segment : segmentsOf(prefix, u"ann:bob"_s))
            QVERIFY(!segment.gaps.contains(4));
        int pages = 0;
        int shortPages = 0;
        QCOMPARE(
            allPages(*store, query(u"bob"_s, u"gap story"_s, 2), &pages, &shortPages).size(), 7);
    }

    // History stored by an older release on nodes whose clocks disagreed: times out of
    // order within a conversation. Swept into segments, every message is found once,
    // through pages cut short by a small read budget.
    void outOfOrderTimesPageWithoutSkips()
    {
        const QString prefix = freshPrefix();
        const TableNames names(prefix);
        {
            auto first = openStore(prefix); // creates the tables; its sweep finds nothing
            QVERIFY(first);
        }
        QVERIFY(writeOldConversation(prefix, u"ann"_s, u"bob"_s, 60, u"skewed clock"_s, false));
        QVERIFY(writeOldConversation(prefix, u"ann"_s, u"cy"_s, 60, u"skewed clock"_s, false));
        for (int i = 3; i <= 60; i += 7) { // a few messages 2 s "before" the one before
            const protocol::Message m {u"ann:bob"_s, i, u"ann"_s, u"bob"_s, u"o%1"_s.arg(i),
                u"skewed clock %1"_s.arg(i), 5000 + i - 2000};
            QVERIFY(
                !raw(u"PutItem"_s, {{u"TableName"_s, names.messages}, {u"Item"_s, messageItem(m)}})
                     .contains(u"error"_s));
        }
        // Restart the sweep: a marker that is not done.
        QVERIFY(!raw(u"DeleteItem"_s,
            {{u"TableName"_s, names.search},
                {u"Key"_s,
                    QJsonObject {{Key::UserBucket, string(u"#backfill"_s)},
                        {Key::Position, string(u"segments"_s)}}}})
                     .contains(u"error"_s));
        auto store = openStore(
            prefix, [](DynamoStoreOptions &o) { o.searchReadBudget = 5; }, false);
        QVERIFY(store);
        QTRY_COMPARE_WITH_TIMEOUT(indexedSeqs(prefix, u"ann:bob"_s), range(1, 60), 30000);
        QTRY_COMPARE_WITH_TIMEOUT(indexedSeqs(prefix, u"ann:cy"_s), range(1, 60), 30000);
        int pages = 0;
        int shortPages = 0;
        const QList<protocol::SearchHit> hits
            = allPages(*store, query(u"ann"_s, u"skewed"_s, 7), &pages, &shortPages);
        QSet<QString> seen;
        for (const protocol::SearchHit &hit : hits) {
            const QString id = hit.conv + u'#' + QString::number(hit.seq);
            QVERIFY2(!seen.contains(id), qPrintable(id));
            seen.insert(id);
        }
        QCOMPARE(seen.size(), 120);
    }

    // A deployment of the layout before segments: eight tables, messages indexed by word
    // per user, its backfill marker done. Upgraded nodes (two, started one right after
    // the other) sweep every conversation into segments and find every message. Without
    // the search table at all, the start names it.
    void upgradeFromTheWordLayout()
    {
        const QString prefix = freshPrefix();
        const TableNames names(prefix);
        QVERIFY(createTables(prefix, true));
        QTRY_VERIFY_WITH_TIMEOUT( // dynalite makes a new table ACTIVE after a moment
            !raw(u"PutItem"_s,
                {{u"TableName"_s, names.search},
                    {u"Item"_s,
                        QJsonObject {{Key::UserBucket, string(u"#backfill"_s)},
                            {Key::Position, string(u"messages"_s)},
                            {u"state"_s, string(u"done"_s)}}}})
                 .contains(u"error"_s),
            30000);
        constexpr int Count = 250;
        QVERIFY(writeOldConversation(prefix, u"ann"_s, u"bob"_s, Count, u"old message"_s, true));
        QVERIFY(writeOldConversation(prefix, u"bob"_s, u"cy"_s, 30, u"old message"_s, true));

        auto first = openStore(prefix, {}, false);
        auto second = openStore(prefix, {}, false);
        QVERIFY(first && second);
        QTRY_COMPARE_WITH_TIMEOUT(indexedSeqs(prefix, u"ann:bob"_s), range(1, Count), 60000);
        QTRY_COMPARE_WITH_TIMEOUT(indexedSeqs(prefix, u"bob:cy"_s), range(1, 30), 60000);
        for (DynamoStore *store : {first.get(), second.get()}) {
            int pages = 0;
            int shortPages = 0;
            QCOMPARE(
                allPages(*store, query(u"bob"_s, u"old mess"_s, 100), &pages, &shortPages).size(),
                Count + 30);
        }
        const auto markerState = [&] {
            const QJsonObject marker = raw(u"GetItem"_s,
                {{u"TableName"_s, names.search}, {u"ConsistentRead"_s, true},
                    {u"Key"_s,
                        QJsonObject {{Key::UserBucket, string(u"#backfill"_s)},
                            {Key::Position, string(u"segments"_s)}}}});
            return stringOf(marker.value(u"Item"_s).toObject(), u"state"_s);
        };
        QTRY_COMPARE_WITH_TIMEOUT(markerState(), u"done"_s, 30000);

        // Older still: no search table. The start without --create-tables names it.
        const QString older = freshPrefix();
        const TableNames olderNames(older);
        QVERIFY(createTables(older, false));
        DynamoStore without(options(older, false), &m_metrics);
        QString error;
        QVERIFY(!without.open(&error));
        QVERIFY2(error.contains(olderNames.search) && error.contains(u"--create-tables"_s),
            qPrintable(error));
    }

    // A node died in the middle of the sweep: its marker holds the Scan's position and an
    // expired lease. The next node takes over from there, so the conversations of the
    // pages already done are not read again (here: never indexed, which shows it).
    void sweepResumesFromItsMarker()
    {
        const QString prefix = freshPrefix();
        const TableNames names(prefix);
        auto store = openStore(prefix);
        QVERIFY(store);
        store.reset();
        QVERIFY(writeOldConversation(prefix, u"ann"_s, u"bob"_s, 20, u"ancient text"_s, false));
        QVERIFY(writeOldConversation(prefix, u"ann"_s, u"cy"_s, 20, u"ancient text"_s, false));
        QVERIFY(writeOldConversation(prefix, u"bob"_s, u"cy"_s, 20, u"ancient text"_s, false));
        const QJsonObject scanned = raw(u"Scan"_s,
            {{u"TableName"_s, names.conversations}, {u"Limit"_s, 1}, {u"ConsistentRead"_s, true}});
        const QJsonObject lastKey = scanned.value(u"LastEvaluatedKey"_s).toObject();
        QVERIFY(!lastKey.isEmpty());
        const QString skipped = stringOf(lastKey, Key::Conv);
        const QJsonObject marker {{Key::UserBucket, string(u"#backfill"_s)},
            {Key::Position, string(u"segments"_s)}, {u"state"_s, string(u"running"_s)},
            {u"owner"_s, string(u"deadnode"_s)}, {u"leaseUntil"_s, number(1000)},
            {u"lastKey"_s,
                string(QString::fromUtf8(QJsonDocument(lastKey).toJson(QJsonDocument::Compact)))}};
        QVERIFY(!raw(u"PutItem"_s, {{u"TableName"_s, names.search}, {u"Item"_s, marker}})
                     .contains(u"error"_s));

        store = openStore(
            prefix, [](DynamoStoreOptions &o) { o.backfillPageItems = 1; }, false);
        QVERIFY(store);
        for (const QString &conv : {u"ann:bob"_s, u"ann:cy"_s, u"bob:cy"_s}) {
            if (conv != skipped)
                QTRY_COMPARE_WITH_TIMEOUT(indexedSeqs(prefix, conv), range(1, 20), 30000);
        }
        QCOMPARE(indexedSeqs(prefix, skipped), QList<qint64>());
        // Still found: the query reads what is not indexed from the messages.
        int pages = 0;
        int shortPages = 0;
        QCOMPARE(
            allPages(*store, query(u"cy"_s, u"ancient"_s, 100), &pages, &shortPages).size(), 40);
    }

private:
    std::unique_ptr<DynamoStore> m_wordsStore;
    std::unique_ptr<DynamoStore> m_pagesStore;
    QString m_pagesPrefix;
};

QTEST_GUILESS_MAIN(TestDynamoSearch)
#include "tst_dynamosearch.moc"
