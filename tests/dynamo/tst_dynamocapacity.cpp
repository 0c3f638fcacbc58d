// DynamoClient's capacity accounting: the ReturnConsumedCapacity it asks for, and what it
// adds to parley_dynamodb_capacity_units_total{table,kind} and
// parley_dynamodb_items_written_total{table}, against dynalite (its answers for items of
// 1 and 3 KB, reads, batches, failed requests), a proxy that leaves batch items
// unprocessed, and a scripted endpoint answering in real DynamoDB's format
// (ReadCapacityUnits / WriteCapacityUnits beside CapacityUnits).
#include "batchproxy.h"
#include "dynalite.h"
#include "dynamoclient.h"
#include "metrics.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTest>
#include <QThread>

#include <memory>

using namespace parley;
using namespace parley::server;
using namespace Qt::StringLiterals;

namespace {

const QString Table = u"capacity_items"_s;

// An HTTP/1.1 endpoint on loopback that answers every request with `answer` (status 200)
// and keeps the request bodies it received.
class ScriptedEndpoint : public QObject
{
public:
    ScriptedEndpoint()
    {
        connect(&m_server, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *socket = m_server.nextPendingConnection()) {
                socket->setParent(this);
                connect(socket, &QTcpSocket::readyRead, this, [this, socket] { serve(socket); });
            }
        });
    }
    bool listen() { return m_server.listen(QHostAddress::LocalHost, 0); }
    QUrl endpoint() const { return QUrl(u"http://127.0.0.1:%1/"_s.arg(m_server.serverPort())); }

    QByteArray answer;
    QList<QJsonObject> requests;

private:
    void serve(QTcpSocket *socket)
    {
        QByteArray &buffer = m_buffers[socket];
        buffer += socket->readAll();
        for (;;) {
            const qsizetype headEnd = buffer.indexOf("\r\n\r\n");
            if (headEnd < 0)
                return;
            qsizetype length = 0;
            for (const QByteArray &line : buffer.left(headEnd).split('\n')) {
                if (line.toLower().startsWith("content-length:"))
                    length = line.mid(15).trimmed().toLongLong();
            }
            if (buffer.size() < headEnd + 4 + length)
                return;
            requests.append(QJsonDocument::fromJson(buffer.mid(headEnd + 4, length)).object());
            buffer.remove(0, headEnd + 4 + length);
            socket->write("HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n"
                          "Content-Length: "
                + QByteArray::number(answer.size()) + "\r\n\r\n" + answer);
        }
    }

    QTcpServer m_server;
    QHash<QTcpSocket *, QByteArray> m_buffers;
};

QJsonObject string(const QString &value)
{
    return {{u"S"_s, value}};
}

QJsonObject key(int sk)
{
    return {{u"pk"_s, string(u"p"_s)}, {u"sk"_s, QJsonObject {{u"N"_s, QString::number(sk)}}}};
}

// An item of about `bytes` bytes as DynamoDB sizes it (names plus values): a body of that
// many letters and a few bytes of key.
QJsonObject item(int sk, int bytes)
{
    QJsonObject item = key(sk);
    item.insert(u"body"_s, string(QString(bytes, u'x')));
    return item;
}

} // namespace

class TestDynamoCapacity : public QObject
{
    Q_OBJECT

private:
    Metrics m_metrics;
    aws::AwsSettings m_settings;
    std::unique_ptr<aws::DynamoClient> m_client;

    struct Answer
    {
        QJsonObject response;
        QString error; // the DynamoError's type; empty on success
    };

    static Answer call(
        aws::DynamoClient &client, const QString &operation, const QJsonObject &request)
    {
        QEventLoop loop;
        Answer answer;
        client.call(
            operation, request, [&](const QJsonObject &response, const aws::DynamoError *error) {
                answer = {response, error ? error->type : QString()};
                loop.quit();
            });
        loop.exec();
        return answer;
    }
    Answer call(const QString &operation, const QJsonObject &request)
    {
        return call(*m_client, operation, request);
    }

    // The value of one series in the registry's exposition; 0 while it does not exist.
    double sample(const QByteArray &series) const
    {
        for (const QByteArray &line : m_metrics.exposition().split('\n')) {
            if (line.startsWith(series) && line.size() > series.size()
                && line.at(series.size()) == ' ')
                return line.mid(series.size() + 1).toDouble();
        }
        return 0;
    }
    double units(const QString &table, QByteArrayView kind) const
    {
        return sample("parley_dynamodb_capacity_units_total{kind=\"" + kind.toByteArray()
            + "\",table=\"" + table.toUtf8() + "\"}");
    }
    double items(const QString &table) const
    {
        return sample("parley_dynamodb_items_written_total{table=\"" + table.toUtf8() + "\"}");
    }

    static double reported(const QJsonObject &response)
    {
        const QJsonValue consumed = response.value(u"ConsumedCapacity"_s);
        if (consumed.isObject())
            return consumed[u"CapacityUnits"_s].toDouble();
        double sum = 0;
        for (const QJsonValue &entry : consumed.toArray())
            sum += entry[u"CapacityUnits"_s].toDouble();
        return sum;
    }

    QJsonObject put(int sk, int bytes) const
    {
        return {{u"TableName"_s, Table}, {u"Item"_s, item(sk, bytes)}};
    }

private Q_SLOTS:
    void initTestCase()
    {
        QString error;
        test::Dynalite *dynalite = test::Dynalite::shared(&error);
        QVERIFY2(dynalite, qPrintable(error));
        test::Dynalite::useTestCredentials();
        const auto settings = aws::resolveAwsSettings(QProcessEnvironment::systemEnvironment(),
            QDir::homePath(), dynalite->endpoint().toString());
        QVERIFY(std::holds_alternative<aws::AwsSettings>(settings));
        m_settings = std::get<aws::AwsSettings>(settings);
        m_client = std::make_unique<aws::DynamoClient>(m_settings, &m_metrics);

        const QJsonObject create {{u"TableName"_s, Table}, {u"BillingMode"_s, u"PAY_PER_REQUEST"_s},
            {u"AttributeDefinitions"_s,
                QJsonArray {
                    QJsonObject {{u"AttributeName"_s, u"pk"_s}, {u"AttributeType"_s, u"S"_s}},
                    QJsonObject {{u"AttributeName"_s, u"sk"_s}, {u"AttributeType"_s, u"N"_s}}}},
            {u"KeySchema"_s,
                QJsonArray {QJsonObject {{u"AttributeName"_s, u"pk"_s}, {u"KeyType"_s, u"HASH"_s}},
                    QJsonObject {{u"AttributeName"_s, u"sk"_s}, {u"KeyType"_s, u"RANGE"_s}}}}};
        QCOMPARE(call(u"CreateTable"_s, create).error, QString());
        const QDeadlineTimer deadline(30000);
        while (call(u"DescribeTable"_s, {{u"TableName"_s, Table}})
                   .response[u"Table"_s][u"TableStatus"_s]
            != u"ACTIVE"_s) {
            QVERIFY(!deadline.hasExpired());
            QThread::msleep(50);
        }
    }

    void cleanupTestCase() { m_client.reset(); }

    // dynalite bills writes by the KB, the larger of the old and the new item.
    void writesCountUnitsAndItems()
    {
        const double unitsBefore = units(Table, "write");
        const double itemsBefore = items(Table);

        const Answer small = call(u"PutItem"_s, put(1, 1000));
        QCOMPARE(small.error, QString());
        QVERIFY(small.response.contains(u"ConsumedCapacity"_s)); // asked for on our behalf
        QCOMPARE(units(Table, "write") - unitsBefore, 1.0);
        QCOMPARE(items(Table) - itemsBefore, 1.0);

        QCOMPARE(call(u"PutItem"_s, put(2, 3000)).error, QString());
        QCOMPARE(units(Table, "write") - unitsBefore, 4.0);

        const QJsonObject update {{u"TableName"_s, Table}, {u"Key"_s, key(2)},
            {u"UpdateExpression"_s, u"SET flag = :v"_s},
            {u"ExpressionAttributeValues"_s,
                QJsonObject {{u":v"_s, QJsonObject {{u"N"_s, u"1"_s}}}}}};
        QCOMPARE(call(u"UpdateItem"_s, update).error, QString());
        QCOMPARE(units(Table, "write") - unitsBefore, 7.0);

        QCOMPARE(
            call(u"DeleteItem"_s, {{u"TableName"_s, Table}, {u"Key"_s, key(2)}}).error, QString());
        QCOMPARE(units(Table, "write") - unitsBefore, 10.0);
        QCOMPARE(items(Table) - itemsBefore, 4.0);
        QCOMPARE(units(Table, "read"), 0.0); // writes are never read units
    }

    void callersChoiceIsKept()
    {
        const double unitsBefore = units(Table, "write");
        const double itemsBefore = items(Table);
        QJsonObject none = put(3, 100);
        none.insert(u"ReturnConsumedCapacity"_s, u"NONE"_s);
        const Answer quiet = call(u"PutItem"_s, none);
        QCOMPARE(quiet.error, QString());
        QVERIFY(!quiet.response.contains(u"ConsumedCapacity"_s));
        QCOMPARE(units(Table, "write"), unitsBefore); // nothing reported, nothing counted
        QCOMPARE(items(Table) - itemsBefore, 1.0); // the item is written all the same

        // INDEXES adds a per-index breakdown of the same total: counted once.
        QJsonObject indexes = put(4, 100);
        indexes.insert(u"ReturnConsumedCapacity"_s, u"INDEXES"_s);
        const Answer detailed = call(u"PutItem"_s, indexes);
        QCOMPARE(detailed.error, QString());
        QVERIFY(detailed.response[u"ConsumedCapacity"_s].toObject().contains(u"Table"_s));
        QCOMPARE(units(Table, "write") - unitsBefore, 1.0);
    }

    void failedRequestsCountNothing()
    {
        QCOMPARE(call(u"PutItem"_s, put(5, 100)).error, QString());
        const double unitsBefore = units(Table, "write");
        const double itemsBefore = items(Table);
        QJsonObject conditional = put(5, 100);
        conditional.insert(u"ConditionExpression"_s, u"attribute_not_exists(pk)"_s);
        QCOMPARE(call(u"PutItem"_s, conditional).error, u"ConditionalCheckFailedException"_s);
        QJsonObject missing = put(1, 100);
        missing.insert(u"TableName"_s, u"no_such_table"_s);
        QCOMPARE(call(u"PutItem"_s, missing).error, u"ResourceNotFoundException"_s);
        QCOMPARE(units(Table, "write"), unitsBefore);
        QCOMPARE(items(Table), itemsBefore);
        QCOMPARE(items(u"no_such_table"_s), 0.0);
    }

    // Reads are billed by 4 KB, half for eventually consistent ones; a Query or Scan by
    // the total size of what it read.
    void readsCountReadUnits()
    {
        QCOMPARE(call(u"PutItem"_s, put(6, 3000)).error, QString());
        const double writeBefore = units(Table, "write");
        const double itemsBefore = items(Table);
        double read = units(Table, "read");

        QCOMPARE(
            call(u"GetItem"_s, {{u"TableName"_s, Table}, {u"Key"_s, key(6)}}).error, QString());
        QCOMPARE(units(Table, "read") - read, 0.5);
        read = units(Table, "read");
        QCOMPARE(call(u"GetItem"_s,
                     {{u"TableName"_s, Table}, {u"Key"_s, key(6)}, {u"ConsistentRead"_s, true}})
                     .error,
            QString());
        QCOMPARE(units(Table, "read") - read, 1.0);

        const QJsonObject query {{u"TableName"_s, Table},
            {u"KeyConditionExpression"_s, u"pk = :p"_s},
            {u"ExpressionAttributeValues"_s, QJsonObject {{u":p"_s, string(u"p"_s)}}}};
        for (const QString &operation : {u"Query"_s, u"Scan"_s}) {
            read = units(Table, "read");
            const Answer answer = call(
                operation, operation == u"Query"_s ? query : QJsonObject {{u"TableName"_s, Table}});
            QCOMPARE(answer.error, QString());
            QVERIFY2(reported(answer.response) > 0, qPrintable(operation));
            QCOMPARE(units(Table, "read") - read, reported(answer.response));
        }

        read = units(Table, "read");
        const QJsonObject batchGet {{u"RequestItems"_s,
            QJsonObject {
                {Table, QJsonObject {{u"Keys"_s, QJsonArray {key(1), key(6), key(99)}}}}}}};
        const Answer batch = call(u"BatchGetItem"_s, batchGet);
        QCOMPARE(batch.error, QString());
        QVERIFY(batch.response[u"ConsumedCapacity"_s].isArray());
        QVERIFY(reported(batch.response) > 0);
        QCOMPARE(units(Table, "read") - read, reported(batch.response));

        QCOMPARE(units(Table, "write"), writeBefore);
        QCOMPARE(items(Table), itemsBefore);
    }

    void batchWriteCountsProcessedItems()
    {
        double unitsBefore = units(Table, "write");
        double itemsBefore = items(Table);
        const auto putRequest = [](const QJsonObject &item) {
            return QJsonObject {{u"PutRequest"_s, QJsonObject {{u"Item"_s, item}}}};
        };
        const auto batch = [](const QJsonArray &requests) {
            return QJsonObject {{u"RequestItems"_s, QJsonObject {{Table, requests}}}};
        };
        const Answer direct = call(u"BatchWriteItem"_s,
            batch({putRequest(item(10, 1000)), putRequest(item(11, 3000)),
                putRequest(item(12, 100))}));
        QCOMPARE(direct.error, QString());
        QVERIFY(direct.response[u"ConsumedCapacity"_s].isArray());
        QCOMPARE(units(Table, "write") - unitsBefore, 5.0);
        QCOMPARE(items(Table) - itemsBefore, 3.0);

        // Through a proxy that leaves each put unprocessed the first time it sees it.
        QString error;
        test::BatchProxy proxy(test::Dynalite::shared(&error)->port(), 0, 1);
        QVERIFY(proxy.listen());
        aws::AwsSettings viaProxy = m_settings;
        viaProxy.endpoint = proxy.endpoint();
        aws::DynamoClient client(viaProxy, &m_metrics);
        itemsBefore = items(Table);
        const QJsonObject a = item(20, 100), b = item(21, 100), c = item(22, 100);
        const Answer none
            = call(client, u"BatchWriteItem"_s, batch({putRequest(a), putRequest(b)}));
        QCOMPARE(none.error, QString());
        QCOMPARE(none.response[u"UnprocessedItems"_s][Table].toArray().size(), 2);
        QCOMPARE(items(Table), itemsBefore);
        const Answer some = call(
            client, u"BatchWriteItem"_s, batch({putRequest(a), putRequest(b), putRequest(c)}));
        QCOMPARE(some.error, QString());
        QCOMPARE(some.response[u"UnprocessedItems"_s][Table].toArray().size(), 1);
        QCOMPARE(items(Table) - itemsBefore, 2.0);
        QCOMPARE(proxy.withheldItems(), 3);
    }

    // Real DynamoDB splits the total into ReadCapacityUnits and WriteCapacityUnits.
    void splitUnitsAndRequestShape()
    {
        ScriptedEndpoint endpoint;
        QVERIFY(endpoint.listen());
        aws::AwsSettings scripted = m_settings;
        scripted.endpoint = endpoint.endpoint();
        aws::DynamoClient client(scripted, &m_metrics);
        const QString table = u"scripted"_s;

        endpoint.answer = R"({"ConsumedCapacity":{"TableName":"scripted","CapacityUnits":3,)"
                          R"("ReadCapacityUnits":1,"WriteCapacityUnits":2}})";
        QCOMPARE(call(client, u"UpdateItem"_s, {{u"TableName"_s, table}}).error, QString());
        QCOMPARE(units(table, "read"), 1.0);
        QCOMPARE(units(table, "write"), 2.0);
        QCOMPARE(items(table), 1.0);
        QCOMPARE(
            endpoint.requests.last().value(u"ReturnConsumedCapacity"_s).toString(), u"TOTAL"_s);

        endpoint.answer = R"({"ConsumedCapacity":[{"TableName":"scripted","CapacityUnits":2.5,)"
                          R"("ReadCapacityUnits":2.5}],"Responses":{}})";
        QCOMPARE(call(client, u"BatchGetItem"_s, {{u"RequestItems"_s, QJsonObject {}}}).error,
            QString());
        QCOMPARE(units(table, "read"), 3.5);

        // Answers that make no sense add nothing, and break nothing.
        for (const char *odd : {R"({"ConsumedCapacity":{"TableName":"scripted",)"
                                R"("CapacityUnits":"lots"}})",
                 R"({"ConsumedCapacity":{"TableName":"scripted","CapacityUnits":-4}})",
                 R"({"ConsumedCapacity":[7,null,{"TableName":"scripted"}]})",
                 R"({"ConsumedCapacity":"TOTAL"})"}) {
            endpoint.answer = odd;
            QCOMPARE(call(client, u"Query"_s, {{u"TableName"_s, table}}).error, QString());
        }
        QCOMPARE(units(table, "read"), 3.5);
        QCOMPARE(units(table, "write"), 2.0);

        // Operations outside the accounting are sent as they are.
        endpoint.answer = R"({"Table":{"TableStatus":"ACTIVE"}})";
        QCOMPARE(call(client, u"DescribeTable"_s, {{u"TableName"_s, table}}).error, QString());
        QCOMPARE(endpoint.requests.last(), QJsonObject({{u"TableName"_s, table}}));
    }
};

QTEST_GUILESS_MAIN(TestDynamoCapacity)
#include "tst_dynamocapacity.moc"
