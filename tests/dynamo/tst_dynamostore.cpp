// DynamoStore against dynalite: what the wire-level suite cannot reach. The states a
// crash between the steps of an append leaves (written here item by item) and how the
// store answers them, resends racing their original, completion order per conversation,
// batched cid checks and message writes (with DynamoDB's UnprocessedKeys/Items, which a
// proxy produces), requests waiting for a free slot, paging past DynamoDB's 1 MB query
// pages, table set-up, and an unreachable endpoint.
#include "batchproxy.h"
#include "dynalite.h"
#include "dynamoitem.h"
#include "dynamostore.h"
#include "dynamotables.h"
#include "faultproxy.h"
#include "metrics.h"
#include "storetesting.h"

#include <QDateTime>
#include <QDir>
#include <QEventLoop>
#include <QJsonArray>
#include <QMutex>
#include <QTcpServer>
#include <QTest>

#include <chrono>
#include <functional>
#include <future>
#include <memory>

using namespace parley;
using namespace parley::server;
using namespace parley::server::dynamo;
using namespace Qt::StringLiterals;

namespace {

using testing::await;

// The error of a failed result, for QVERIFY2 (which builds its message eagerly).
template<typename T> QString why(const Result<T> &result)
{
    return result ? QString() : result.error().message;
}

SendRequest send(const QString &from, const QString &to, const QString &cid, qint64 ts = 1000)
{
    return SendRequest {from, to, cid, u"body of "_s + cid, ts};
}

} // namespace

class TestDynamoStore : public QObject
{
    Q_OBJECT

private:
    Metrics m_metrics;
    QUrl m_endpoint;
    int m_prefixes = 0;
    std::unique_ptr<aws::DynamoClient> m_raw; // for writing half-finished appends by hand

    DynamoStoreOptions options(const QString &prefix, bool create = true)
    {
        return DynamoStoreOptions {m_endpoint.toString(), prefix, create, {}};
    }

    // An open store on tables of its own; `adjust` changes its options (endpoint, limits).
    std::unique_ptr<DynamoStore> openStore(
        QString *prefix = nullptr, const std::function<void(DynamoStoreOptions &)> &adjust = {})
    {
        const QString fresh = u"t%1_"_s.arg(++m_prefixes);
        if (prefix)
            *prefix = fresh;
        DynamoStoreOptions adjusted = options(fresh);
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
            if (!await<Done>([&](auto done) { store->createUser(record, done); }))
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

    void put(const QString &table, const QJsonObject &item)
    {
        QVERIFY(
            !raw(u"PutItem"_s, {{u"TableName"_s, table}, {u"Item"_s, item}}).contains(u"error"_s));
    }

    void setLastSeq(const QString &prefix, const QString &conv, qint64 lastSeq)
    {
        const QJsonObject update {{u"TableName"_s, TableNames(prefix).conversations},
            {u"Key"_s, QJsonObject {{Key::Conv, string(conv)}}},
            {u"UpdateExpression"_s, u"SET #s = :s"_s},
            {u"ExpressionAttributeNames"_s, QJsonObject {{u"#s"_s, Attr::LastSeq}}},
            {u"ExpressionAttributeValues"_s, QJsonObject {{u":s"_s, number(lastSeq)}}}};
        QVERIFY(!raw(u"UpdateItem"_s, update).contains(u"error"_s));
    }

    static QJsonObject messageItem(const protocol::Message &m)
    {
        return {{Key::Conv, string(m.conv)}, {Key::Seq, number(m.seq)}, {u"from"_s, string(m.from)},
            {u"to"_s, string(m.to)}, {u"cid"_s, string(m.cid)}, {u"body"_s, string(m.body)},
            {u"ts"_s, number(m.ts)}};
    }

    static QList<qint64> seqs(const HistorySlice &slice, bool gaps)
    {
        QList<qint64> found;
        for (const protocol::Message &m : slice.messages) {
            if (m.gap == gaps)
                found.append(m.seq);
        }
        return found;
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

    void cleanupTestCase() { m_raw.reset(); }

    void openChecksAndCreatesTables()
    {
        const QString prefix = u"setup_"_s;
        DynamoStore without(options(prefix, false), &m_metrics);
        QString error;
        QVERIFY(!without.open(&error));
        QVERIFY2(
            error.contains(u"setup_"_s) && error.contains(u"--create-tables"_s), qPrintable(error));
        QVERIFY(!error.contains(u'\n'));
        QVERIFY(!without.health().ok);

        for (int run = 0; run < 2; ++run) { // the second run finds them all: idempotent
            DynamoStore store(options(prefix, true), &m_metrics);
            QVERIFY2(store.open(&error), qPrintable(error));
            QCOMPARE(store.health().backend, u"dynamodb"_s);
            QVERIFY(store.health().ok);
        }
        DynamoStore existing(options(prefix, false), &m_metrics);
        QVERIFY2(existing.open(&error), qPrintable(error));
    }

    void unreachableEndpointFailsOpenAndOperations()
    {
        QTcpServer closed; // a port that was free a moment ago
        QVERIFY(closed.listen(QHostAddress::LocalHost));
        const quint16 port = closed.serverPort();
        closed.close();
        DynamoStoreOptions dead {
            u"http://127.0.0.1:%1"_s.arg(port), u"x_"_s, true, aws::RetryPolicy {3, 1, 5, 2000}};
        DynamoStore store(dead, &m_metrics);
        QString error;
        QVERIFY(!store.open(&error));
        QVERIFY2(error.contains(u"cannot reach DynamoDB"_s), qPrintable(error));
        const Result<UserRecord> found
            = await<UserRecord>([&](auto done) { store.findUser(u"ann"_s, done); });
        QCOMPARE(found.error().code, StoreError::Code::Unavailable);
    }

    void appendTakesSeqsAndAnswersResendsOnce()
    {
        auto store = openStore();
        QVERIFY(store);
        for (int i = 1; i <= 3; ++i) {
            const auto stored = await<StoredSend>([&](auto done) {
                store->appendMessage(send(u"ann"_s, u"bob"_s, u"c%1"_s.arg(i)), done);
            });
            QVERIFY2(stored, qPrintable(why(stored)));
            QCOMPARE(stored.value().message.seq, i);
            QVERIFY(!stored.value().duplicate);
        }
        SendRequest changed = send(u"ann"_s, u"cy"_s, u"c2"_s, 5000);
        changed.body = u"another body"_s;
        const auto dup = await<StoredSend>([&](auto done) { store->appendMessage(changed, done); });
        QVERIFY(dup.value().duplicate);
        QCOMPARE(dup.value().message.conv, u"ann:bob"_s); // the first stands
        QCOMPARE(dup.value().message.seq, 2);
        QCOMPARE(dup.value().message.body, u"body of c2"_s);
        QCOMPARE(dup.value().message.ts, 1000);
        const auto ghost = await<StoredSend>(
            [&](auto done) { store->appendMessage(send(u"ann"_s, u"ghost"_s, u"g"_s), done); });
        QCOMPARE(ghost.error().code, StoreError::Code::NotFound);
    }

    // What each step of an append leaves when the node dies right after it, written by
    // hand, and what the store makes of it: a gap or the message, never a duplicate.
    void crashBetweenSteps_data()
    {
        QTest::addColumn<int>("stepsDone"); // of: 1 claim seq, 2 sends item, 3 message item
        QTest::newRow("after the seq was claimed") << 1;
        QTest::newRow("after the sends item") << 2;
        QTest::newRow("after the message item") << 3;
    }

    void crashBetweenSteps()
    {
        QFETCH(int, stepsDone);
        QString prefix;
        auto store = openStore(&prefix);
        QVERIFY(store);
        QVERIFY(await<StoredSend>(
            [&](auto done) { store->appendMessage(send(u"ann"_s, u"bob"_s, u"first"_s), done); }));
        // The interrupted send of cid "lost" took seq 2.
        const protocol::Message lost {
            u"ann:bob"_s, 2, u"ann"_s, u"bob"_s, u"lost"_s, u"body of lost"_s, 1500};
        const TableNames tables(prefix);
        setLastSeq(prefix, lost.conv, 2);
        if (stepsDone >= 2) {
            QJsonObject sends = messageItem(lost);
            sends.insert(Key::SendId, string(u"ann#lost"_s));
            put(tables.sends, sends);
        }
        if (stepsDone >= 3)
            put(tables.messages, messageItem(lost));
        // A restarted node has no cached lastSeq: a fresh store sees only the tables.
        store.reset();
        store = std::make_unique<DynamoStore>(options(prefix), &m_metrics);
        QString error;
        QVERIFY2(store->open(&error), qPrintable(error));

        const auto history = [&] {
            return await<HistorySlice>([&](auto done) {
                store->history(HistoryQuery {lost.conv, {}, {}, 50}, done);
            });
        };
        // Seq 2 is missing only after step 1; as the newest seq it may still be in flight.
        const QList<qint64> stored = stepsDone >= 3 ? QList<qint64> {1, 2} : QList<qint64> {1};
        QCOMPARE(seqs(history().value(), false), stored);
        QVERIFY(seqs(history().value(), true).isEmpty());

        // The client resends "lost" (it never got an ack).
        const auto resent = await<StoredSend>([&](auto done) {
            store->appendMessage(send(u"ann"_s, u"bob"_s, u"lost"_s, 1700), done);
        });
        QVERIFY2(resent, qPrintable(why(resent)));
        QCOMPARE(resent.value().duplicate, stepsDone >= 2);
        QCOMPARE(resent.value().message.seq, stepsDone >= 2 ? 2 : 3);
        QCOMPARE(resent.value().message.ts, stepsDone >= 2 ? 1500 : 1700);

        const auto next = await<StoredSend>(
            [&](auto done) { store->appendMessage(send(u"bob"_s, u"ann"_s, u"next"_s), done); });
        const HistorySlice after = history().value();
        if (stepsDone == 1) {
            QCOMPARE(next.value().message.seq, 4);
            QCOMPARE(seqs(after, false), (QList<qint64> {1, 3, 4}));
            QCOMPARE(seqs(after, true), QList<qint64> {2}); // the claimed seq is a gap
        } else {
            QCOMPARE(next.value().message.seq, 3);
            QCOMPARE(seqs(after, false), (QList<qint64> {1, 2, 3})); // written by the resend
        }
    }

    // Another node took seq 2 and is still writing it (throttled, retried) while seq 3 is
    // stored: a forward page stops before seq 2 instead of reporting a gap that a client
    // would record, and then drop the message when it comes. Once seq 3 is 10 s old,
    // seq 2 is a gap.
    void forwardHistoryWaitsForYoungGaps()
    {
        QString prefix;
        auto store = openStore(&prefix);
        QVERIFY(store);
        QVERIFY(await<StoredSend>(
            [&](auto done) { store->appendMessage(send(u"ann"_s, u"bob"_s, u"first"_s), done); }));
        const TableNames tables(prefix);
        setLastSeq(prefix, u"ann:bob"_s, 3);
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        protocol::Message third {
            u"ann:bob"_s, 3, u"bob"_s, u"ann"_s, u"third"_s, u"body of third"_s, now};
        put(tables.messages, messageItem(third));
        const auto forward = [&] {
            return await<HistorySlice>([&](auto done) {
                store->history(HistoryQuery {u"ann:bob"_s, 0, std::nullopt, 50}, done);
            });
        };
        HistorySlice page = forward().value();
        QCOMPARE(seqs(page, false), QList<qint64> {1});
        QVERIFY(seqs(page, true).isEmpty());
        QVERIFY(!page.more);
        // Backward pages (scrolling up) are unchanged: a client does not record their gaps.
        const HistorySlice backward = await<HistorySlice>([&](auto done) {
            store->history(HistoryQuery {u"ann:bob"_s, std::nullopt, std::nullopt, 50}, done);
        }).value();
        QCOMPARE(seqs(backward, false), (QList<qint64> {1, 3}));

        third.ts = now - 20000; // the same, seen 20 s later
        put(tables.messages, messageItem(third));
        page = forward().value();
        QCOMPARE(seqs(page, false), (QList<qint64> {1, 3}));
        QCOMPARE(seqs(page, true), QList<qint64> {2});
    }

    void resendsRacingTheirOriginalStoreOnce()
    {
        auto store = openStore();
        QVERIFY(store);
        // Submitted back to back: the resends overtake the original's writes.
        constexpr int Copies = 5;
        std::vector<std::future<Result<StoredSend>>> results;
        for (int i = 0; i < Copies; ++i) {
            for (const QString &cid : {u"same"_s, u"other%1"_s.arg(i)}) {
                auto promise = std::make_shared<std::promise<Result<StoredSend>>>();
                results.push_back(promise->get_future());
                store->appendMessage(send(u"ann"_s, u"bob"_s, cid),
                    [promise](Result<StoredSend> r) { promise->set_value(std::move(r)); });
            }
        }
        int originals = 0;
        QList<qint64> seqsSeen;
        for (std::size_t i = 0; i < results.size(); ++i) {
            const Result<StoredSend> r = results[i].get();
            QVERIFY2(r, qPrintable(why(r)));
            if (i % 2 == 0) {
                QCOMPARE(r.value().message.seq, 1);
                originals += r.value().duplicate ? 0 : 1;
            } else {
                seqsSeen.append(r.value().message.seq);
            }
        }
        QCOMPARE(originals, 1);
        QCOMPARE(seqsSeen, (QList<qint64> {2, 3, 4, 5, 6})); // no seq lost to a resend
    }

    // A burst over three conversations, submitted back to back so that cid checks
    // (BatchGetItem) and message writes (BatchWriteItem) share requests, with a cid stored
    // before the burst in its middle. Through a proxy that leaves every key and item
    // unprocessed a number of times first, as a throttled DynamoDB does.
    void batchedAppends_data()
    {
        QTest::addColumn<int>("unprocessedTimes");
        QTest::newRow("all processed at once") << 0;
        QTest::newRow("each key and item left unprocessed once") << 1;
        QTest::newRow("each key and item left unprocessed three times") << 3;
    }

    void batchedAppends()
    {
        QFETCH(int, unprocessedTimes);
        test::BatchProxy proxy(m_endpoint.port(), unprocessedTimes, unprocessedTimes);
        QVERIFY(proxy.listen());
        auto store = openStore(
            nullptr, [&](DynamoStoreOptions &o) { o.endpoint = proxy.endpoint().toString(); });
        QVERIFY(store);
        const auto early = await<StoredSend>(
            [&](auto done) { store->appendMessage(send(u"ann"_s, u"bob"_s, u"early"_s), done); });
        QVERIFY2(early, qPrintable(why(early)));
        QCOMPARE(early.value().message.seq, 1);

        constexpr int Count = 60;
        const std::pair<QString, QString> pairs[]
            = {{u"ann"_s, u"bob"_s}, {u"ann"_s, u"cy"_s}, {u"bob"_s, u"cy"_s}};
        std::vector<std::future<Result<StoredSend>>> results;
        QStringList cids;
        for (int i = 0; i < Count; ++i) {
            const auto &[from, to] = pairs[i % 3];
            cids.append(i == Count / 2 ? u"early"_s : u"burst%1"_s.arg(i));
            auto promise = std::make_shared<std::promise<Result<StoredSend>>>();
            results.push_back(promise->get_future());
            store->appendMessage(send(from, to, cids.last()),
                [promise](Result<StoredSend> r) { promise->set_value(std::move(r)); });
        }
        QHash<QString, QList<qint64>> acked {{u"ann:bob"_s, {1}}}; // conv -> seqs, in order
        for (int i = 0; i < Count; ++i) {
            const Result<StoredSend> r = results[std::size_t(i)].get();
            QVERIFY2(r, qPrintable(why(r)));
            if (cids.at(i) == u"early"_s) { // the first stands, and takes no new seq
                QVERIFY(r.value().duplicate);
                QCOMPARE(r.value().message.seq, 1);
                QCOMPARE(r.value().message.conv, u"ann:bob"_s);
                continue;
            }
            QVERIFY(!r.value().duplicate);
            acked[r.value().message.conv].append(r.value().message.seq);
        }
        // Acked means stored: history holds exactly the acked seqs, 1..n, and no gap.
        for (auto it = acked.cbegin(); it != acked.cend(); ++it) {
            QList<qint64> expected;
            for (qint64 seq = 1; seq <= it.value().size(); ++seq)
                expected.append(seq);
            QCOMPARE(it.value(), expected);
            const auto history = await<HistorySlice>([&](auto done) {
                store->history(HistoryQuery {it.key(), {}, {}, 100}, done);
            });
            QVERIFY2(history, qPrintable(why(history)));
            QCOMPARE(seqs(history.value(), false), expected);
            QVERIFY(seqs(history.value(), true).isEmpty());
        }
        QCOMPARE(proxy.withheldKeys() > 0, unprocessedTimes > 0);
        QCOMPARE(proxy.withheldItems() > 0, unprocessedTimes > 0);
    }

    // Message writes DynamoDB keeps leaving unprocessed: the send fails as unavailable
    // and is not acked. Its cid is claimed, so the client's resend, once DynamoDB writes
    // again, stores the message under the seq it took (docs/dynamodb.md section 5).
    void writesLeftUnprocessedAreNotAcked()
    {
        test::BatchProxy proxy(m_endpoint.port(), 0, -1);
        QVERIFY(proxy.listen());
        QString prefix;
        auto store = openStore(
            &prefix, [&](DynamoStoreOptions &o) { o.endpoint = proxy.endpoint().toString(); });
        QVERIFY(store);
        const auto failed = await<StoredSend>(
            [&](auto done) { store->appendMessage(send(u"ann"_s, u"bob"_s, u"w"_s), done); });
        QVERIFY(!failed);
        QCOMPARE(failed.error().code, StoreError::Code::Unavailable);
        QVERIFY2(failed.error().message.contains(u"unprocessed"_s), qPrintable(why(failed)));
        QVERIFY(proxy.withheldItems() > 1); // tried again before giving up

        store.reset();
        store = std::make_unique<DynamoStore>(options(prefix), &m_metrics); // no proxy
        QString error;
        QVERIFY2(store->open(&error), qPrintable(error));
        const auto resent = await<StoredSend>(
            [&](auto done) { store->appendMessage(send(u"ann"_s, u"bob"_s, u"w"_s), done); });
        QVERIFY2(resent, qPrintable(why(resent)));
        QVERIFY(resent.value().duplicate);
        QCOMPARE(resent.value().message.seq, 1);
        const auto history = await<HistorySlice>([&](auto done) {
            store->history(HistoryQuery {u"ann:bob"_s, {}, {}, 10}, done);
        });
        QCOMPARE(seqs(history.value(), false), QList<qint64> {1});
    }

    // At most maxRequestsInFlight requests are outstanding; the others wait in the store
    // and, when the backend stops answering, fail as unavailable after queueTimeoutMs
    // without ever being sent, instead of waiting for as long as the backend hangs.
    void requestsWaitingForASlotExpire()
    {
        test::BatchProxy proxy(m_endpoint.port(), 0, 0);
        QVERIFY(proxy.listen());
        QString prefix;
        auto store = openStore(&prefix, [&](DynamoStoreOptions &o) {
            o.endpoint = proxy.endpoint().toString();
            o.maxRequestsInFlight = 2;
            o.queueTimeoutMs = 300;
            o.retry.timeoutMs = 120000; // the two held requests wait for the proxy
            o.nodeLeaseMs = 3600 * 1000; // no lease renewal takes a slot during the test
        });
        QVERIFY(store);
        // The search sweep of the new tables takes slots too until it has finished.
        const QJsonObject marker {{u"TableName"_s, TableNames(prefix).search},
            {u"ConsistentRead"_s, true},
            {u"Key"_s,
                QJsonObject {{Key::UserBucket, string(u"#backfill"_s)},
                    {Key::Position, string(u"segments"_s)}}}};
        QTRY_COMPARE_WITH_TIMEOUT(
            stringOf(raw(u"GetItem"_s, marker).value(u"Item"_s).toObject(), u"state"_s), u"done"_s,
            30000);
        proxy.setHold(true);
        constexpr int Count = 6;
        std::vector<std::future<Result<UserRecord>>> results;
        for (int i = 0; i < Count; ++i) {
            auto promise = std::make_shared<std::promise<Result<UserRecord>>>();
            results.push_back(promise->get_future());
            store->findUser(
                u"ann"_s, [promise](Result<UserRecord> r) { promise->set_value(std::move(r)); });
        }
        QTRY_COMPARE_WITH_TIMEOUT(proxy.heldRequests(), 2, 30000);
        for (int i = 2; i < Count; ++i) {
            QCOMPARE(results[std::size_t(i)].wait_for(std::chrono::seconds(60)),
                std::future_status::ready);
            const Result<UserRecord> r = results[std::size_t(i)].get();
            QVERIFY(!r);
            QCOMPARE(r.error().code, StoreError::Code::Unavailable);
            QVERIFY2(r.error().message.contains(u"RequestQueueTimeout"_s), qPrintable(why(r)));
        }
        QCOMPARE(proxy.heldRequests(), 2); // the expired ones were never sent
        proxy.setHold(false);
        for (int i = 0; i < 2; ++i) {
            const Result<UserRecord> r = results[std::size_t(i)].get();
            QVERIFY2(r, qPrintable(why(r)));
            QCOMPARE(r.value().user, u"ann"_s);
        }
    }

    // A connection's messages take seqs in the order it sent them, also when the store
    // fails some of them part-way (a claim, a sends item, a message item or a cid check
    // lost to throttling and 500s): the failed one and everything after it is refused and
    // sent again, oldest first, as client-core does; nothing sent later is stored before it
    // (SendOrderGuard, dynamoconversations.h). Without the guard a failed sends item left
    // its message to be stored after the ones that had taken the following seqs.
    void sendOrderSurvivesStoreFailures()
    {
        QString prefix;
        QVERIFY(openStore(&prefix)); // tables and users, without faults
        test::FaultPlan plan;
        plan.throttledPercent = 10;
        plan.failedBeforePercent = 4;
        plan.failedAfterPercent = 4;
        plan.maxFaultsInARow = 2; // with two attempts, some requests fail for good
        plan.seed = 11;
        test::FaultProxy proxy(m_endpoint.port(), plan);
        QVERIFY(proxy.listen());
        DynamoStoreOptions faulty = options(prefix, false);
        faulty.endpoint = proxy.endpoint().toString();
        faulty.retry.maxAttempts = 2;
        faulty.retry.baseMs = 5;
        std::unique_ptr<DynamoStore> store;
        QString error;
        for (int attempt = 0; attempt < 50 && !store; ++attempt) { // its checks meet faults too
            store = std::make_unique<DynamoStore>(faulty, &m_metrics);
            if (!store->open(&error))
                store.reset();
        }
        QVERIFY2(store, qPrintable(error));

        constexpr int Count = 150;
        constexpr quint64 Connection = 5;
        QList<qint64> seqOf(Count, 0); // by send index; 0: not acked yet
        int next = 0; // the oldest message not acked
        int rounds = 0;
        int failures = 0;
        int overtakingRefused = 0;
        while (next < Count && ++rounds <= 500) {
            // Everything not acked, oldest first, all at once (the outbox's window).
            std::vector<std::future<Result<StoredSend>>> results;
            QList<int> sent;
            for (int i = next; i < Count; ++i) {
                if (seqOf[i] != 0)
                    continue;
                sent.append(i);
                auto promise = std::make_shared<std::promise<Result<StoredSend>>>();
                results.push_back(promise->get_future());
                SendRequest request = send(u"ann"_s, u"bob"_s, u"m%1"_s.arg(i), 1000 + i);
                request.origin = Connection;
                store->appendMessage(
                    request, [promise](Result<StoredSend> r) { promise->set_value(std::move(r)); });
            }
            for (qsizetype k = 0; k < sent.size(); ++k) {
                const int i = sent[k];
                auto &future = results[std::size_t(k)];
                QCOMPARE(future.wait_for(std::chrono::seconds(120)), std::future_status::ready);
                const Result<StoredSend> r = future.get();
                if (!r) {
                    ++failures;
                    if (r.error().code == StoreError::Code::OutOfOrder)
                        ++overtakingRefused;
                    continue;
                }
                // A later one may still be stored after a failure: when the earlier one's
                // sends item was written (its seq is kept) and only its message item failed.
                seqOf[i] = r.value().message.seq;
            }
            while (next < Count && seqOf[next] != 0)
                ++next;
        }
        QCOMPARE(next, Count);
        QVERIFY(failures > 0); // the store did fail sends
        for (int i = 1; i < Count; ++i)
            QVERIFY2(seqOf[i - 1] < seqOf[i],
                qPrintable(u"m%1 has seq %2, m%3 seq %4"_s.arg(i - 1)
                               .arg(seqOf[i - 1])
                               .arg(i)
                               .arg(seqOf[i])));
        qInfo("%d sends failed (%d of them refused as overtaking) in %d rounds; faults: %d",
            failures, overtakingRefused, rounds, proxy.counts().faults());

        store.reset();
        DynamoStore direct(options(prefix, false), &m_metrics);
        QVERIFY2(direct.open(&error), qPrintable(error));
        const auto history = await<HistorySlice>([&](auto done) {
            direct.history(HistoryQuery {u"ann:bob"_s, {}, {}, 1000}, done);
        });
        QVERIFY2(history, qPrintable(why(history)));
        QStringList stored;
        for (const protocol::Message &m : history.value().messages) {
            if (!m.gap)
                stored.append(m.cid);
        }
        QStringList sent;
        for (int i = 0; i < Count; ++i)
            sent.append(u"m%1"_s.arg(i));
        QCOMPARE(stored, sent);
    }

    void conversationCompletesInSubmissionOrder()
    {
        auto store = openStore();
        QVERIFY(store);
        constexpr int Count = 150;
        QMutex mutex;
        QHash<QString, QList<qint64>> order; // conv -> seqs in completion order
        std::vector<std::future<void>> finished;
        for (int i = 0; i < Count; ++i) {
            const bool toBob = i % 3 != 0;
            auto promise = std::make_shared<std::promise<void>>();
            finished.push_back(promise->get_future());
            store->appendMessage(send(u"ann"_s, toBob ? u"bob"_s : u"cy"_s, u"m%1"_s.arg(i)),
                [&, promise](Result<StoredSend> r) {
                    if (r) {
                        QMutexLocker lock(&mutex);
                        order[r.value().message.conv].append(r.value().message.seq);
                    }
                    promise->set_value();
                });
            if (i % 10 == 0) // receipts and history in between wait their turn
                store->updateReceipt(
                    ReceiptUpdate {u"bob"_s, u"ann:bob"_s, protocol::ReceiptKind::Read, i}, {});
        }
        for (auto &f : finished)
            f.get();
        for (const auto &[conv, count] :
            {std::pair(u"ann:bob"_s, 100), std::pair(u"ann:cy"_s, 50)}) {
            QList<qint64> expected;
            for (int seq = 1; seq <= count; ++seq)
                expected.append(seq);
            QCOMPARE(order.value(conv), expected);
        }
    }

    void receiptsOnlyMoveForward()
    {
        auto store = openStore();
        QVERIFY(store);
        for (int i = 0; i < 5; ++i)
            QVERIFY(await<StoredSend>([&](auto done) {
                store->appendMessage(send(u"ann"_s, u"bob"_s, u"r%1"_s.arg(i)), done);
            }));
        const auto receipt = [&](const QString &user, protocol::ReceiptKind kind, qint64 upTo) {
            return await<ReceiptOutcome>([&](auto done) {
                store->updateReceipt(ReceiptUpdate {user, u"ann:bob"_s, kind, upTo}, done);
            }).value();
        };
        ReceiptOutcome r = receipt(u"bob"_s, protocol::ReceiptKind::Read, 3);
        QVERIFY(r.advanced);
        QCOMPARE(r.read, 3);
        QCOMPARE(r.delivered, 3); // read implies delivered
        r = receipt(u"bob"_s, protocol::ReceiptKind::Delivered, 2);
        QVERIFY(!r.advanced);
        r = receipt(u"bob"_s, protocol::ReceiptKind::Delivered, 99);
        QVERIFY(r.advanced);
        QCOMPARE(r.delivered, 5); // clamped to lastSeq
        QVERIFY(!receipt(u"cy"_s, protocol::ReceiptKind::Read, 1).advanced); // not a member

        const auto items = await<QList<protocol::ConversationSummary>>(
            [&](auto done) { store->conversations(u"ann"_s, done); });
        QCOMPARE(items.value().size(), 1);
        QCOMPARE(items.value().first().peerDelivered, 5);
        QCOMPARE(items.value().first().peerRead, 3);
        QCOMPARE(items.value().first().lastSeq, 5);
    }

    void historyFollowsQueryPages()
    {
        auto store = openStore();
        QVERIFY(store);
        // 300 bodies of 4000 four-byte characters: ~4.8 MB, several 1 MB query pages.
        const QString body = QString::fromUtf8("\xF0\x9F\x98\x80").repeated(4000);
        constexpr int Count = 300;
        std::vector<std::future<Result<StoredSend>>> results;
        for (int i = 0; i < Count; ++i) {
            auto promise = std::make_shared<std::promise<Result<StoredSend>>>();
            results.push_back(promise->get_future());
            SendRequest big = send(u"ann"_s, u"bob"_s, u"big%1"_s.arg(i));
            big.body = body;
            store->appendMessage(
                big, [promise](Result<StoredSend> r) { promise->set_value(std::move(r)); });
        }
        for (auto &r : results)
            QVERIFY(r.get());
        Counter &queries = m_metrics.counter(
            "parley_dynamodb_requests_total", "", {{"operation", "Query"}, {"outcome", "ok"}});
        const quint64 queriesBefore = queries.value();
        const auto slice = await<HistorySlice>([&](auto done) {
            store->history(HistoryQuery {u"ann:bob"_s, 0, {}, 1000}, done);
        });
        QCOMPARE(slice.value().messages.size(), Count);
        QVERIFY(queries.value() - queriesBefore >= 2); // more than one 1 MB page
        QVERIFY(!slice.value().more);
        QCOMPARE(seqs(slice.value(), true), QList<qint64> {});
        QCOMPARE(slice.value().messages.last().seq, Count);
        QCOMPARE(slice.value().messages.first().body.size(), 8000);
    }

    void directoryListsNamesInOrder()
    {
        auto store = openStore(); // ann, bob, cy
        QVERIFY(store);
        for (const QString &user : {u"bea"_s, u"0zero"_s, u"b.b"_s, u"zed"_s, u"_under"_s})
            QVERIFY(await<Done>([&](auto done) {
                store->createUser(NewUser {user, "h", 1}, done);
            }));
        const auto list = [&](const QString &prefix, int limit) {
            return await<QStringList>([&](auto done) {
                store->listUsers(prefix, limit, done);
            }).value();
        };
        QCOMPARE(list({}, 100),
            (QStringList {u"0zero"_s, u"_under"_s, u"ann"_s, u"b.b"_s, u"bea"_s, u"bob"_s, u"cy"_s,
                u"zed"_s}));
        QCOMPARE(list({}, 3), (QStringList {u"0zero"_s, u"_under"_s, u"ann"_s}));
        QCOMPARE(list(u"b"_s, 10), (QStringList {u"b.b"_s, u"bea"_s, u"bob"_s}));
        QCOMPARE(list(u"be"_s, 10), QStringList {u"bea"_s});
        QCOMPARE(list(u"q"_s, 10), QStringList {});
        const auto taken = await<Done>([&](auto done) {
            store->createUser(NewUser {u"bea"_s, "x", 2}, done);
        });
        QCOMPARE(taken.error().code, StoreError::Code::Conflict);
    }
};

QTEST_GUILESS_MAIN(TestDynamoStore)
#include "tst_dynamostore.moc"
