#include "dynamosearch.h"

#include "dynamoitem.h"
#include "searchtext.h"

#include <QCryptographicHash>
#include <QHash>
#include <QJsonArray>
#include <QRegularExpression>

#include <algorithm>
#include <memory>
#include <utility>

using namespace Qt::StringLiterals;

namespace parley::server::dynamo {

namespace {

// Batches of index items on their way before new ones wait (as the message writes).
constexpr int kWriteBatchesOutstanding = 4;
// Items of one Query page: a page of small items stays far below DynamoDB's 1 MB.
constexpr int kPageItems = 200;
// Read budgets a request may spend while it has found nothing yet.
constexpr int kEmptyPageBudgets = 10;
// Up to this many bytes of folded words (UTF-8, space-separated) every item carries all
// of the message's words, so matching happens on the item and an item stays within one
// write unit (1 KB). A longer message's items carry the words of their own bucket only,
// and its other words are checked on the body, which a hit needs anyway.
constexpr qsizetype kInlineWordsBytes = 640;

const QString Conv = u"conv"_s;
const QString Seq = u"seq"_s;
const QString From = u"from"_s;
const QString Ts = u"ts"_s;
const QString Words = u"words"_s; // folded words, separated by ' '
const QString Partial = u"partial"_s; // true: `words` holds this bucket's words only
const QString EveryMessage = u"*"_s; // the bucket of every message: not a word start

const QString CursorTag = u"d1"_s;

// The bucket of a folded word: its first two code points; none for a one-letter word,
// which only the "*" bucket finds (a one-letter query word is a prefix of too many
// buckets to read them all).
QString bucketOf(const QString &word)
{
    qsizetype end = 0;
    for (int points = 0; points < 2; ++points) {
        if (end >= word.size())
            return {};
        end += word.at(end).isHighSurrogate() && end + 1 < word.size() ? 2 : 1;
    }
    return word.left(end);
}

QString positionOf(qint64 ts, const QString &conv, qint64 seq)
{
    return u"%1#%2#%3"_s.arg(std::max<qint64>(ts, 0), 13, 10, QChar(u'0'))
        .arg(conv)
        .arg(seq, 12, 10, QChar(u'0'));
}

// Binds a position to the user and the query, so a cursor of another search, another
// user's, or a mangled one is refused instead of silently answering something else. It
// is a checksum, not a secret: someone who computes it can start from any position, but
// still only within their own partitions (the partition key starts with the user).
QByteArray cursorCheck(const SearchQuery &query, const QString &position)
{
    const QString bound = QStringList {query.user, query.words.join(u' '),
        query.conv.value_or(QString()), query.from.value_or(QString()), position}
                              .join(u'\n');
    return QCryptographicHash::hash(bound.toUtf8(), QCryptographicHash::Sha256).left(9);
}

constexpr auto kBase64 = QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals;

QString encodeCursor(const SearchQuery &query, const QString &position)
{
    return CursorTag + u'.' + QString::fromLatin1(position.toUtf8().toBase64(kBase64)) + u'.'
        + QString::fromLatin1(cursorCheck(query, position).toBase64(kBase64));
}

// The position a cursor continues after; nullopt when it is not one of ours for this query.
std::optional<QString> decodeCursor(const SearchQuery &query)
{
    const QStringList parts = query.cursor.split(u'.');
    if (parts.size() != 3 || parts.at(0) != CursorTag)
        return std::nullopt;
    const auto position = QByteArray::fromBase64Encoding(
        parts.at(1).toLatin1(), kBase64 | QByteArray::AbortOnBase64DecodingErrors);
    const auto check = QByteArray::fromBase64Encoding(
        parts.at(2).toLatin1(), kBase64 | QByteArray::AbortOnBase64DecodingErrors);
    if (!position || !check)
        return std::nullopt;
    const QString decoded = QString::fromUtf8(*position);
    static const QRegularExpression shape(u"^[0-9]{13}#[^#]+#[0-9]{12}$"_s);
    if (!shape.match(decoded).hasMatch() || *check != cursorCheck(query, decoded))
        return std::nullopt;
    return decoded;
}

QString wordsText(const QStringList &words)
{
    return words.join(u' ');
}

QStringList wordsOf(const QJsonObject &item)
{
    return stringOf(item, Words).split(u' ', Qt::SkipEmptyParts);
}

// The index words and the message fields a query checks without reading the message.
bool passesFilters(
    const QJsonObject &item, const SearchQuery &query, const QStringList &anchorWords)
{
    if (query.conv && stringOf(item, Conv) != *query.conv)
        return false;
    if (query.from && stringOf(item, From) != *query.from)
        return false;
    // A partial item knows its own bucket's words only: the other words wait for the body.
    return protocol::search::matchesAll(
        wordsOf(item), booleanOf(item, Partial) ? anchorWords : query.words);
}

QString messageKeyId(const QString &conv, qint64 seq)
{
    return conv + u'#' + QString::number(seq);
}

} // namespace

QList<QJsonObject> searchItems(const protocol::Message &message)
{
    const QStringList words = protocol::search::indexWords(message.body);
    QStringList buckets;
    QHash<QString, QStringList> wordsByBucket;
    for (const QString &word : words) {
        const QString bucket = bucketOf(word);
        if (bucket.isEmpty())
            continue;
        if (!wordsByBucket.contains(bucket))
            buckets.append(bucket);
        wordsByBucket[bucket].append(word);
    }
    buckets.append(EveryMessage);
    const QString all = wordsText(words);
    const bool partial = all.toUtf8().size() > kInlineWordsBytes;
    const QString position = positionOf(message.ts, message.conv, message.seq);

    QList<QJsonObject> items;
    for (const QString &user : {message.from, message.to}) {
        for (const QString &bucket : std::as_const(buckets)) {
            QJsonObject item {{Key::UserBucket, string(user + u'#' + bucket)},
                {Key::Position, string(position)}, {Conv, string(message.conv)},
                {Seq, number(message.seq)}, {From, string(message.from)}, {Ts, number(message.ts)}};
            const QString carried = partial ? wordsText(wordsByBucket.value(bucket)) : all;
            if (!carried.isEmpty()) // DynamoDB refuses empty strings in items
                item.insert(Words, string(carried));
            if (partial)
                item.insert(Partial, boolean(true));
            items.append(item);
        }
    }
    return items;
}

struct SearchIndex::Run
{
    SearchQuery query;
    Callback<SearchPage> done;
    QString partition; // "<user>#<bucket>" of the anchor word
    QStringList anchorWords; // the query words in the anchor's bucket
    QString after; // position to continue after; empty: from the newest
    int examined = 0;
    SearchPage page;
};

SearchIndex::SearchIndex(Tables *tables, int readBudget)
    : m_tables(tables)
    , m_writes(tables, Batcher::Kind::Put, tables->names().search, {Key::UserBucket, Key::Position},
          kWriteBatchesOutstanding, Batcher::Full::Leaves, Tables::Priority::Finishing)
    , m_readBudget(std::max(1, readBudget))
{ }

SearchIndex::~SearchIndex() = default;

void SearchIndex::putAll(
    Batcher &writer, const QList<QJsonObject> &items, std::function<void(Result<bool>)> done)
{
    struct Progress
    {
        qsizetype remaining;
        std::optional<StoreError> failure;
        std::function<void(Result<bool>)> done;
    };
    if (items.isEmpty()) {
        done(false);
        return;
    }
    auto progress = std::make_shared<Progress>(Progress {items.size(), {}, std::move(done)});
    for (const QJsonObject &item : items) {
        writer.submit(item, [progress](Result<std::optional<QJsonObject>> written) {
            if (!written && !progress->failure)
                progress->failure = written.error();
            if (--progress->remaining > 0)
                return;
            if (progress->failure)
                progress->done(*progress->failure);
            else
                progress->done(false);
        });
    }
}

void SearchIndex::index(const protocol::Message &message, std::function<void(Result<bool>)> done)
{
    putAll(m_writes, searchItems(message), std::move(done));
}

void SearchIndex::search(const SearchQuery &query, Callback<SearchPage> done)
{
    auto run = std::make_shared<Run>();
    run->query = query;
    run->query.limit = std::clamp(query.limit, 1, 100);
    run->done = std::move(done);
    if (!query.cursor.isEmpty()) {
        const std::optional<QString> after = decodeCursor(query);
        if (!after) {
            run->done(StoreError {StoreError::Code::Invalid, u"not a cursor of this search"_s});
            return;
        }
        run->after = *after;
    }
    // The longest word has the most selective bucket (ties: the first). With one-letter
    // words only, every message of the user is a candidate.
    QString anchor;
    for (const QString &word : query.words) {
        if (!bucketOf(word).isEmpty() && word.size() > anchor.size())
            anchor = word;
    }
    const QString bucket = anchor.isEmpty() ? EveryMessage : bucketOf(anchor);
    run->partition = query.user + u'#' + bucket;
    for (const QString &word : query.words) {
        if (!anchor.isEmpty() && bucketOf(word) == bucket)
            run->anchorWords.append(word);
    }
    readPage(run);
}

// One Query page of the anchor bucket, newest first, after the last position examined.
void SearchIndex::readPage(const std::shared_ptr<Run> &run)
{
    QJsonObject values {{u":k"_s, string(run->partition)}};
    QJsonObject names {{u"#k"_s, Key::UserBucket}};
    QString condition = u"#k = :k"_s;
    if (!run->after.isEmpty()) {
        condition += u" AND #p < :after"_s;
        names.insert(u"#p"_s, Key::Position);
        values.insert(u":after"_s, string(run->after));
    }
    // Past the budget (only while nothing was found) a page at a time, budget-sized.
    const int left = m_readBudget - run->examined;
    const int limit = std::min(kPageItems, left > 0 ? left : m_readBudget);
    const QJsonObject request {{u"TableName"_s, m_tables->names().search},
        {u"KeyConditionExpression"_s, condition}, {u"ExpressionAttributeNames"_s, names},
        {u"ExpressionAttributeValues"_s, values}, {u"ScanIndexForward"_s, false},
        {u"ConsistentRead"_s, true}, {u"Limit"_s, limit}};
    m_tables->call(u"Query"_s, request,
        [this, run](const QJsonObject &response, const aws::DynamoError *error) {
            if (error) {
                run->done(Tables::storeError(u"Query"_s, *error));
                return;
            }
            const QJsonArray items = response.value(u"Items"_s).toArray();
            const qsizetype wanted = run->query.limit - run->page.hits.size();
            QList<QJsonObject> candidates;
            bool stoppedEarly = false;
            for (const QJsonValue &value : items) {
                if (candidates.size() >= wanted) {
                    stoppedEarly = true;
                    break;
                }
                const QJsonObject item = value.toObject();
                ++run->examined;
                run->after = stringOf(item, Key::Position);
                if (passesFilters(item, run->query, run->anchorWords))
                    candidates.append(item);
            }
            const bool more
                = stoppedEarly || !response.value(u"LastEvaluatedKey"_s).toObject().isEmpty();
            fetchBodies(run, std::move(candidates), more);
        });
}

// The bodies of the candidates (BatchGetItem, 100 keys a request), the final check of
// every word on the body, then either the answer or the next page.
void SearchIndex::fetchBodies(
    const std::shared_ptr<Run> &run, QList<QJsonObject> candidates, bool more)
{
    const auto goOn = [this, run, more] {
        if (!more) {
            run->done(run->page);
            return;
        }
        // The budget cuts a page once it has a hit: a page without hits but with a
        // cursor would leave a client unsure whether to ask again. Past ten budgets it
        // answers anyway, so no request reads a whole history.
        const bool budgetSpent = run->examined >= m_readBudget
            && (!run->page.hits.isEmpty() || run->examined >= kEmptyPageBudgets * m_readBudget);
        if (run->page.hits.size() >= run->query.limit || budgetSpent) {
            run->page.next = encodeCursor(run->query, run->after);
            run->done(run->page);
            return;
        }
        readPage(run);
    };
    if (candidates.isEmpty()) {
        goOn();
        return;
    }
    QList<QJsonObject> keys;
    for (const QJsonObject &candidate : std::as_const(candidates))
        keys.append(
            QJsonObject {{Key::Conv, candidate.value(Conv)}, {Key::Seq, candidate.value(Seq)}});
    m_tables->batchGet(m_tables->names().messages, keys,
        [run, candidates = std::move(candidates), goOn](Result<QList<QJsonObject>> found) {
            if (!found) {
                run->done(found.error());
                return;
            }
            QHash<QString, protocol::Message> messages;
            for (const QJsonObject &item : found.value()) {
                protocol::Message message = messageOf(item);
                messages.insert(messageKeyId(message.conv, message.seq), std::move(message));
            }
            for (const QJsonObject &candidate : candidates) {
                // No message item: a send still being stored, or one that failed before
                // its ack; its resend writes it, and it is found from then on.
                const auto message = messages.constFind(
                    messageKeyId(stringOf(candidate, Conv), numberOf(candidate, Seq)));
                if (message == messages.constEnd()
                    || !protocol::search::matchesAll(
                        protocol::search::indexWords(message->body), run->query.words))
                    continue;
                run->page.hits.append(
                    protocol::SearchHit {message->conv, message->seq, message->from, message->ts,
                        message->body, protocol::search::snippet(message->body, run->query.words)});
                run->page.cursorAfter.append(
                    encodeCursor(run->query, stringOf(candidate, Key::Position)));
            }
            goOn();
        });
}

} // namespace parley::server::dynamo
