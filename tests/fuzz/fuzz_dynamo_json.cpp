// libFuzzer harness: decoding what DynamoDB answers. The body goes through
// QJsonDocument::fromJson as in DynamoClient, then every item it carries (GetItem's
// Item, Query's and Scan's Items, BatchGetItem's Responses, keys) through the typed
// attribute readers of dynamoitem.h and parley::server::dynamo::messageOf. A message
// read from an item must survive messageItem() unchanged, every item goes through the
// search index's segment reader (segmentOf), and a segment made of a message that the
// server could have stored reads back unchanged and stays under DynamoDB's item size
// limit.
#include "codec.h"
#include "dynamoitem.h"
#include "dynamosearch.h"
#include "dynamotables.h"
#include "fuzzsupport.h"

#include <QJsonArray>
#include <QJsonDocument>

using parley::fuzz::check;
using namespace parley::server::dynamo;

namespace {

constexpr qsizetype MaxItemBytes = 400 * 1024; // DynamoDB's item size limit

void checkItem(const QJsonObject &item)
{
    for (auto it = item.constBegin(); it != item.constEnd(); ++it) {
        const QString &name = it.key();
        (void)stringOf(item, name);
        (void)optionalNumberOf(item, name);
        (void)numberOf(item, name);
        (void)binaryOf(item, name);
        (void)booleanOf(item, name);
    }
    const parley::protocol::Message message = messageOf(item);
    check(messageOf(messageItem(message)) == message, "messageItem() does not read back");
    (void)segments::segmentOf(item); // the table's items: anything must be refused cleanly
    if (message.body.size() > 4 * parley::protocol::MaxBodyChars || message.seq < 1
        || message.conv.isEmpty() || !parley::protocol::isValidUserName(message.from))
        return; // the server never stores such a message
    segments::Segment segment;
    segment.conv = message.conv;
    segment.firstSeq = message.seq;
    segment.lastSeq = message.seq;
    segment.firstTs = message.ts;
    segment.lastTs = message.ts;
    segment.lines.append(segments::lineOf(message));
    const QJsonObject index = segments::itemOf(segment);
    check(QJsonDocument(index).toJson(QJsonDocument::Compact).size() <= MaxItemBytes,
        "a segment over DynamoDB's size limit");
    const auto back = segments::segmentOf(index);
    check(back && back->lines.size() == 1 && back->lines.first().seq == message.seq
            && back->lines.first().ts == message.ts && back->lines.first().from == message.from
            && back->lines.first().words == segment.lines.first().words,
        "a segment does not read back");
}

void checkItems(const QJsonValue &items)
{
    const QJsonArray array = items.toArray();
    for (const QJsonValue &item : array)
        checkItem(item.toObject());
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    parley::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArray body(reinterpret_cast<const char *>(data), qsizetype(size));
    QJsonParseError parse;
    const QJsonDocument document = QJsonDocument::fromJson(body, &parse);
    if (parse.error != QJsonParseError::NoError || !document.isObject())
        return 0; // DynamoClient answers SerializationException
    const QJsonObject response = document.object();
    checkItem(response.value(QStringLiteral("Item")).toObject());
    checkItem(response.value(QStringLiteral("Attributes")).toObject());
    checkItem(response.value(QStringLiteral("LastEvaluatedKey")).toObject());
    checkItems(response.value(QStringLiteral("Items")));
    const QJsonObject responses = response.value(QStringLiteral("Responses")).toObject();
    for (auto it = responses.constBegin(); it != responses.constEnd(); ++it)
        checkItems(it.value());
    const QJsonObject unprocessed = response.value(QStringLiteral("UnprocessedKeys")).toObject();
    for (auto it = unprocessed.constBegin(); it != unprocessed.constEnd(); ++it)
        checkItems(it.value().toObject().value(QStringLiteral("Keys")));
    return 0;
}
