// DynamoStore's search against dynalite, below the wire protocol: words as prefixes with
// case and accents folded, all words required, the conv and from filters, newest first,
// pages to the end with no repeats (also pages cut short by the read budget), other
// users' conversations, hostile queries, cursors that are not ours, a resend not
// duplicating hits, and the backfill of messages stored before the index existed.
#include "batchproxy.h"
#include "dynalite.h"
#include "dynamoitem.h"
#include "dynamostore.h"
#include "dynamotables.h"
#include "metrics.h"
#include "searchtext.h"
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
        const std::function<void(DynamoStoreOptions &)> &adjust = {}, bool addUsers = true)
    {
        DynamoStoreOptions adjusted = options(prefix);
        if (adjust)
            adjust(adjusted);
        auto store = std::make_unique<DynamoStore>(adjusted, &m_metrics);
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
        QTest::newRow("pages stop on the read budget") << 25;
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

    // A resend of an acked message, and one whose search items were lost with a node that
    // died after writing the message item: one hit each, found.
    void resendsDoNotDuplicateHits()
    {
        const QString prefix = freshPrefix();
        auto store = openStore(prefix);
        QVERIFY(store);
        const SendRequest first {u"ann"_s, u"bob"_s, u"r1"_s, u"resent words"_s, 100};
        QVERIFY(appendAll(*store, {first, first}));
        QVERIFY(appendAll(*store, {first}));
        // Written the way a node that died before the search items leaves it.
        const protocol::Message lost {
            u"ann:bob"_s, 2, u"ann"_s, u"bob"_s, u"r2"_s, u"resent lost words"_s, 200};
        const TableNames tables(prefix);
        QJsonObject sends = messageItem(lost);
        sends.insert(Key::SendId, string(u"ann#r2"_s));
        for (const auto &[table, item] :
            {std::pair(tables.sends, sends), std::pair(tables.messages, messageItem(lost))})
            QVERIFY(!raw(u"PutItem"_s, {{u"TableName"_s, table}, {u"Item"_s, item}})
                         .contains(u"error"_s));
        QCOMPARE(
            bodies(search(*store, query(u"bob"_s, u"resent"_s)).value()), QStringList {first.body});
        QVERIFY(appendAll(*store, {{u"ann"_s, u"bob"_s, u"r2"_s, lost.body, 300}}));
        QCOMPARE(bodies(search(*store, query(u"bob"_s, u"resent"_s)).value()),
            (QStringList {lost.body, first.body}));
    }

    // Index items DynamoDB leaves unprocessed (a proxy does it, as a throttled table
    // would) are written again before the ack; each message is one hit, once.
    void unprocessedIndexWritesAreRetried()
    {
        test::BatchProxy proxy(m_endpoint.port(), 0, 2);
        QVERIFY(proxy.listen());
        auto store = openStore(freshPrefix(),
            [&](DynamoStoreOptions &o) { o.endpoint = proxy.endpoint().toString(); });
        QVERIFY(store);
        QList<SendRequest> sends;
        for (int i = 0; i < 30; ++i)
            sends.append({i % 2 ? u"ann"_s : u"bob"_s, i % 2 ? u"bob"_s : u"ann"_s, u"u%1"_s.arg(i),
                u"throttled index %1"_s.arg(i), 100 + i});
        QVERIFY(appendAll(*store, sends));
        QVERIFY(proxy.withheldItems() > 30 * 2); // index items were among them
        int pages = 0;
        int shortPages = 0;
        const QList<protocol::SearchHit> hits
            = allPages(*store, query(u"ann"_s, u"throttled ind"_s, 7), &pages, &shortPages);
        QCOMPARE(hits.size(), 30);
        for (qsizetype i = 0; i < hits.size(); ++i)
            QCOMPARE(hits.at(i).body, u"throttled index %1"_s.arg(29 - i));
    }

    // A long message's items carry only their own bucket's words; the other words are
    // checked on the body.
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

    // An older deployment: seven tables, messages written without index items. Without
    // --create-tables the missing search table stops the start; with it, the table is
    // made and the backfill indexes the old messages (two nodes starting at once).
    void upgradeBackfillsOldMessages()
    {
        const QString prefix = freshPrefix();
        const TableNames names(prefix);
        for (const TableSpec &spec : tableSpecs(names)) {
            if (spec.name == names.search)
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
            QVERIFY(!raw(u"CreateTable"_s,
                {{u"TableName"_s, spec.name}, {u"AttributeDefinitions"_s, definitions},
                    {u"KeySchema"_s, schema}, {u"BillingMode"_s, u"PAY_PER_REQUEST"_s}})
                         .contains(u"error"_s));
        }
        constexpr int Count = 250; // three Scan pages of 100
        for (int i = 1; i <= Count; ++i) {
            const protocol::Message m {u"ann:bob"_s, i, u"ann"_s, u"bob"_s, u"o%1"_s.arg(i),
                u"old message %1"_s.arg(i), 5000 + i};
            QTRY_VERIFY_WITH_TIMEOUT(
                !raw(u"PutItem"_s, {{u"TableName"_s, names.messages}, {u"Item"_s, messageItem(m)}})
                     .contains(u"error"_s),
                30000); // dynalite makes a new table ACTIVE after a moment
        }

        DynamoStore without(options(prefix, false), &m_metrics);
        QString error;
        QVERIFY(!without.open(&error));
        QVERIFY2(error.contains(names.search) && error.contains(u"--create-tables"_s),
            qPrintable(error));

        auto first = openStore(prefix, {}, false);
        auto second = openStore(prefix, {}, false);
        QVERIFY(first && second);
        for (DynamoStore *store : {first.get(), second.get()}) {
            int pages = 0;
            int shortPages = 0;
            QTRY_COMPARE_WITH_TIMEOUT(
                allPages(*store, query(u"bob"_s, u"old mess"_s, 100), &pages, &shortPages).size(),
                Count, 60000);
        }
        const auto markerState = [&] {
            const QJsonObject marker = raw(u"GetItem"_s,
                {{u"TableName"_s, names.search}, {u"ConsistentRead"_s, true},
                    {u"Key"_s,
                        QJsonObject {{Key::UserBucket, string(u"#backfill"_s)},
                            {Key::Position, string(u"messages"_s)}}}});
            return stringOf(marker.value(u"Item"_s).toObject(), u"state"_s);
        };
        QTRY_COMPARE_WITH_TIMEOUT(markerState(), u"done"_s, 30000);
    }

    // A node died in the middle of the backfill: its marker holds the Scan's position and
    // an expired lease. The next node takes over from there, so the messages of the pages
    // already done are not read again (here: never indexed, which shows it).
    void backfillResumesFromItsMarker()
    {
        const QString prefix = freshPrefix();
        const TableNames names(prefix);
        auto store = openStore(prefix);
        QVERIFY(store);
        store.reset();
        constexpr int Count = 120;
        for (int i = 1; i <= Count; ++i) {
            const protocol::Message m {u"ann:bob"_s, i, u"ann"_s, u"bob"_s, u"o%1"_s.arg(i),
                u"ancient text %1"_s.arg(i), 5000 + i};
            QVERIFY(
                !raw(u"PutItem"_s, {{u"TableName"_s, names.messages}, {u"Item"_s, messageItem(m)}})
                     .contains(u"error"_s));
        }
        const QJsonObject scanned = raw(u"Scan"_s,
            {{u"TableName"_s, names.messages}, {u"Limit"_s, 50}, {u"ConsistentRead"_s, true}});
        const QJsonObject lastKey = scanned.value(u"LastEvaluatedKey"_s).toObject();
        QVERIFY(!lastKey.isEmpty());
        const QJsonObject marker {{Key::UserBucket, string(u"#backfill"_s)},
            {Key::Position, string(u"messages"_s)}, {u"state"_s, string(u"running"_s)},
            {u"owner"_s, string(u"deadnode"_s)}, {u"leaseUntil"_s, number(1000)},
            {u"lastKey"_s,
                string(QString::fromUtf8(QJsonDocument(lastKey).toJson(QJsonDocument::Compact)))}};
        QVERIFY(!raw(u"PutItem"_s, {{u"TableName"_s, names.search}, {u"Item"_s, marker}})
                     .contains(u"error"_s));

        store = openStore(
            prefix, [](DynamoStoreOptions &o) { o.backfillPageItems = 30; }, false);
        QVERIFY(store);
        int pages = 0;
        int shortPages = 0;
        QTRY_COMPARE_WITH_TIMEOUT(
            allPages(*store, query(u"ann"_s, u"ancient"_s, 100), &pages, &shortPages).size(),
            Count - 50, 60000);
        QSet<qint64> skipped;
        for (const QJsonValue &item : scanned.value(u"Items"_s).toArray())
            skipped.insert(numberOf(item.toObject(), Key::Seq));
        for (const protocol::SearchHit &hit :
            allPages(*store, query(u"ann"_s, u"ancient"_s, 100), &pages, &shortPages))
            QVERIFY(!skipped.contains(hit.seq));
    }

private:
    std::unique_ptr<DynamoStore> m_wordsStore;
    std::unique_ptr<DynamoStore> m_pagesStore;
    QString m_pagesPrefix;
};

QTEST_GUILESS_MAIN(TestDynamoSearch)
#include "tst_dynamosearch.moc"
