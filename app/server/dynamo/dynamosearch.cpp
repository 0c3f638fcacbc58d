#include "dynamosearch.h"

#include "dynamoitem.h"
#include "searchtext.h"

#include <QCryptographicHash>
#include <QHash>
#include <QJsonArray>
#include <QRegularExpression>

#include <algorithm>
#include <limits>
#include <memory>
#include <utility>

using namespace Qt::StringLiterals;

namespace parley::server::dynamo {

namespace {

// Segments of one Query page (at most 64 KB of lines each, and a page stops at 1 MB).
constexpr int kSegmentsPerPage = 16;
// Messages of one tail page.
constexpr int kTailPage = 100;
// Rounds a request may spend while it has found nothing yet.
constexpr int kEmptyRounds = 10;

const QString SegmentPrefix = u"#seg#"_s;
const QString Conv = u"conv"_s;
const QString First = u"first"_s;
const QString Last = u"last"_s;
const QString FirstTs = u"firstTs"_s;
const QString LastTs = u"lastTs"_s;
const QString Gaps = u"gaps"_s; // seqs, separated by ' '
const QString Lines = u"lines"_s; // "<seq delta> <ts delta> <from> <word> <word>...", '\n'
const QString Count = u"n"_s; // lines

const QString CursorTag = u"d1"_s;

QString positionOf(qint64 ts, const QString &conv, qint64 seq)
{
    return u"%1#%2#%3"_s.arg(std::max<qint64>(ts, 0), 13, 10, QChar(u'0'))
        .arg(conv)
        .arg(seq, 12, 10, QChar(u'0'));
}

qint64 tsOfPosition(const QString &position)
{
    return QStringView(position).left(13).toLongLong();
}

// Binds a position to the user and the query, so a cursor of another search, another
// user's, or a mangled one is refused instead of silently answering something else. It
// is a checksum, not a secret: someone who computes it can start from any position, but
// still only within their own conversations.
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

QString messageKeyId(const QString &conv, qint64 seq)
{
    return conv + u'#' + QString::number(seq);
}

} // namespace

// ---- segments -------------------------------------------------------------------

namespace segments {

QString partition(const QString &conv)
{
    return SegmentPrefix + conv;
}

QString sortKey(qint64 firstTs, qint64 firstSeq)
{
    return u"%1#%2"_s.arg(std::max<qint64>(firstTs, 0), 13, 10, QChar(u'0'))
        .arg(firstSeq, 12, 10, QChar(u'0'));
}

Line lineOf(const protocol::Message &message)
{
    return Line {message.seq, message.ts, message.from, protocol::search::indexWords(message.body)};
}

qsizetype lineBytes(const Line &line)
{
    qsizetype bytes = 24 + line.from.size();
    for (const QString &word : line.words)
        bytes += 1 + word.toUtf8().size();
    return bytes;
}

QJsonObject newestFirst(const QString &table, const QString &conv, int limit)
{
    return {{u"TableName"_s, table}, {u"KeyConditionExpression"_s, u"#k = :k"_s},
        {u"ExpressionAttributeNames"_s, QJsonObject {{u"#k"_s, Key::UserBucket}}},
        {u"ExpressionAttributeValues"_s, QJsonObject {{u":k"_s, string(partition(conv))}}},
        {u"ScanIndexForward"_s, false}, {u"ConsistentRead"_s, true}, {u"Limit"_s, limit}};
}

QJsonObject itemOf(const Segment &segment)
{
    QStringList text;
    text.reserve(segment.lines.size());
    qint64 seq = segment.firstSeq - 1;
    qint64 ts = segment.firstTs;
    for (const Line &line : segment.lines) {
        QString entry = QString::number(line.seq - seq) + u' ' + QString::number(line.ts - ts)
            + u' ' + line.from;
        for (const QString &word : line.words)
            entry += u' ' + word;
        text.append(entry);
        seq = line.seq;
        ts = line.ts;
    }
    QJsonObject item {{Key::UserBucket, string(partition(segment.conv))},
        {Key::Position, string(segment.key())}, {Conv, string(segment.conv)},
        {First, number(segment.firstSeq)}, {Last, number(segment.lastSeq)},
        {FirstTs, number(segment.firstTs)}, {LastTs, number(segment.lastTs)},
        {Count, number(segment.lines.size())}};
    if (!text.isEmpty()) // DynamoDB refuses empty strings
        item.insert(Lines, string(text.join(u'\n')));
    if (!segment.gaps.isEmpty()) {
        QStringList gaps;
        for (qint64 gap : segment.gaps)
            gaps.append(QString::number(gap));
        item.insert(Gaps, string(gaps.join(u' ')));
    }
    return item;
}

std::optional<Segment> segmentOf(const QJsonObject &item)
{
    if (!stringOf(item, Key::UserBucket).startsWith(SegmentPrefix))
        return std::nullopt;
    Segment segment;
    segment.conv = stringOf(item, Conv);
    segment.firstSeq = numberOf(item, First);
    segment.lastSeq = numberOf(item, Last);
    segment.firstTs = numberOf(item, FirstTs);
    segment.lastTs = numberOf(item, LastTs);
    if (segment.conv.isEmpty() || segment.firstSeq < 1 || segment.lastSeq < segment.firstSeq)
        return std::nullopt;
    for (const QString &gap : stringOf(item, Gaps).split(u' ', Qt::SkipEmptyParts))
        segment.gaps.append(gap.toLongLong());
    qint64 seq = segment.firstSeq - 1;
    qint64 ts = segment.firstTs;
    const QString text = stringOf(item, Lines);
    for (QStringView entry : QStringView(text).split(u'\n', Qt::SkipEmptyParts)) {
        const QList<QStringView> fields = entry.split(u' ', Qt::SkipEmptyParts);
        if (fields.size() < 3)
            return std::nullopt;
        bool seqOk = false;
        bool tsOk = false;
        seq += fields.at(0).toLongLong(&seqOk);
        ts += fields.at(1).toLongLong(&tsOk);
        if (!seqOk || !tsOk)
            return std::nullopt;
        Line line {seq, ts, fields.at(2).toString(), {}};
        line.words.reserve(fields.size() - 3);
        for (qsizetype i = 3; i < fields.size(); ++i)
            line.words.append(fields.at(i).toString());
        segment.lines.append(std::move(line));
    }
    return segment;
}

} // namespace segments

// ---- the query ------------------------------------------------------------------

struct SearchIndex::Scan
{
    enum class Phase { Watermark, Tail, Segments, Done };
    QString conv;
    Phase phase = Phase::Watermark;
    qint64 watermark = 0; // last seq of the newest segment
    qint64 watermarkTs = 0; // and its lastTs: the least time a tail line counts with
    // Lines with a seq below this are still to be examined (the conversation is read
    // newest first).
    qint64 belowSeq = std::numeric_limits<qint64>::max();
    QString frontier; // position of the oldest line examined
    QJsonObject startKey; // paging inside the current phase
    // The segments' key condition of the current paging ("position <= upTo"); a page that
    // stops inside a segment resumes with a new one at that segment's key.
    std::optional<QString> upTo;
    bool upToSet = false; // upTo decided for this phase
    // Without a cursor, the watermark's Query reads the newest segments too; they are
    // examined after the tail.
    std::optional<QJsonObject> firstSegments;
    int examinedThisRound = 0;
    int found = 0; // candidates older than the cursor
};

struct SearchIndex::Run
{
    struct Candidate
    {
        QString position;
        QString conv;
        qint64 seq = 0;
    };
    SearchQuery query;
    Callback<SearchPage> done;
    QString after; // position to continue after; empty: from the newest
    std::vector<Scan> scans;
    QList<Candidate> candidates;
    QList<Candidate> hits; // chosen, newest first
    std::optional<QString> next;
    int running = 0; // scans with a request out in this round
    int rounds = 0;
    bool failed = false;
    int examined = 0;
};

SearchIndex::SearchIndex(Tables *tables, int readBudget)
    : m_tables(tables)
    , m_readBudget(std::max(1, readBudget))
{ }

SearchIndex::~SearchIndex() = default;

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
    if (query.conv) { // the caller has checked the membership
        run->scans.push_back(Scan {*query.conv});
        startScans(run);
        return;
    }
    const QJsonObject request {{u"TableName"_s, m_tables->names().memberships},
        {u"KeyConditionExpression"_s, u"#u = :u"_s},
        {u"ExpressionAttributeNames"_s, QJsonObject {{u"#u"_s, Key::User}}},
        {u"ExpressionAttributeValues"_s, QJsonObject {{u":u"_s, string(query.user)}}}};
    m_tables->queryAll(request, 0, [this, run](Result<QList<QJsonObject>> found) {
        if (!found) {
            run->done(found.error());
            return;
        }
        for (const QJsonObject &membership : found.value())
            run->scans.push_back(Scan {stringOf(membership, Key::Conv)});
        startScans(run);
    });
}

void SearchIndex::startScans(const std::shared_ptr<Run> &run)
{
    if (run->scans.empty()) {
        run->done(SearchPage {});
        return;
    }
    round(run);
}

// Every scan that is neither finished nor satisfied reads up to the budget more lines.
void SearchIndex::round(const std::shared_ptr<Run> &run)
{
    ++run->rounds;
    QList<std::size_t> started;
    for (std::size_t i = 0; i < run->scans.size(); ++i) {
        Scan &scan = run->scans.at(i);
        if (scan.phase == Scan::Phase::Done || scan.found >= run->query.limit)
            continue;
        scan.examinedThisRound = 0;
        started.append(i);
    }
    run->running = int(started.size());
    for (std::size_t i : started)
        step(run, i);
}

// One request of one conversation's scan, then either the next one or the end of its
// part in this round.
void SearchIndex::step(const std::shared_ptr<Run> &run, std::size_t index)
{
    Scan &scan = run->scans.at(index);
    const auto stepDone = [this, run, index] {
        Scan &s = run->scans.at(index);
        const bool stop = s.phase == Scan::Phase::Done || s.found >= run->query.limit
            || s.examinedThisRound >= m_readBudget || run->failed;
        if (!stop) {
            step(run, index);
            return;
        }
        if (--run->running == 0)
            settle(run);
    };
    const auto fail = [run, stepDone](const StoreError &error) {
        if (!run->failed) {
            run->failed = true;
            run->done(error);
        }
        stepDone();
    };
    // A line of this conversation, newest first: counts, and may be a candidate.
    const auto examine = [run, index](const segments::Line &line) {
        Scan &s = run->scans.at(index);
        if (line.seq >= s.belowSeq)
            return; // examined in an earlier round
        s.belowSeq = line.seq;
        const QString position = positionOf(line.ts, s.conv, line.seq);
        s.frontier = position;
        // Lines at or after the cursor are read (a segment mixes both) but not counted.
        if (!run->after.isEmpty() && position >= run->after)
            return;
        ++s.examinedThisRound;
        ++run->examined;
        if (run->query.from && line.from != *run->query.from)
            return;
        if (!protocol::search::matchesAll(line.words, run->query.words))
            return;
        ++s.found;
        run->candidates.append(Run::Candidate {position, s.conv, line.seq});
    };

    switch (scan.phase) {
    case Scan::Phase::Watermark: {
        const QJsonObject request = segments::newestFirst(
            m_tables->names().search, scan.conv, run->after.isEmpty() ? kSegmentsPerPage : 1);
        m_tables->call(u"Query"_s, request,
            [run, index, fail, stepDone](const QJsonObject &response, const aws::DynamoError *e) {
                if (e) {
                    fail(Tables::storeError(u"Query"_s, *e));
                    return;
                }
                Scan &s = run->scans.at(index);
                const QJsonArray items = response.value(u"Items"_s).toArray();
                if (!items.isEmpty()) {
                    if (const auto newest = segments::segmentOf(items.first().toObject())) {
                        s.watermark = newest->lastSeq;
                        s.watermarkTs = newest->lastTs;
                    }
                }
                if (run->after.isEmpty())
                    s.firstSegments = response;
                s.phase = Scan::Phase::Tail;
                stepDone();
            });
        return;
    }
    case Scan::Phase::Tail: {
        // The messages not indexed yet, newest first (below the cursor's seq when it is
        // in this conversation).
        qint64 hi = std::min(scan.belowSeq - 1, qint64(999'999'999'999));
        if (!run->after.isEmpty() && run->after.section(u'#', 1, 1) == scan.conv)
            hi = std::min(hi, run->after.section(u'#', 2, 2).toLongLong() - 1);
        if (hi <= scan.watermark) {
            scan.phase = Scan::Phase::Segments;
            scan.startKey = {};
            stepDone();
            return;
        }
        QJsonObject request {{u"TableName"_s, m_tables->names().messages},
            {u"KeyConditionExpression"_s, u"#c = :c AND #s BETWEEN :lo AND :hi"_s},
            {u"ExpressionAttributeNames"_s,
                QJsonObject {{u"#c"_s, Key::Conv}, {u"#s"_s, Key::Seq}}},
            {u"ExpressionAttributeValues"_s,
                QJsonObject {{u":c"_s, string(scan.conv)}, {u":lo"_s, number(scan.watermark + 1)},
                    {u":hi"_s, number(hi)}}},
            {u"ScanIndexForward"_s, false}, {u"ConsistentRead"_s, true},
            {u"Limit"_s, std::min(kTailPage, m_readBudget)}};
        m_tables->call(u"Query"_s, request,
            [run, index, fail, stepDone, examine](
                const QJsonObject &response, const aws::DynamoError *e) {
                if (e) {
                    fail(Tables::storeError(u"Query"_s, *e));
                    return;
                }
                const QJsonArray items = response.value(u"Items"_s).toArray();
                for (const QJsonValue &item : items) {
                    segments::Line line = segments::lineOf(messageOf(item.toObject()));
                    // As the indexer will: never before the indexed part (older releases'
                    // messages may have times out of order).
                    line.ts = std::max(line.ts, run->scans.at(index).watermarkTs);
                    examine(line);
                }
                Scan &s = run->scans.at(index);
                if (response.value(u"LastEvaluatedKey"_s).toObject().isEmpty()) {
                    s.phase = Scan::Phase::Segments;
                    s.startKey = {};
                }
                stepDone();
            });
        return;
    }
    case Scan::Phase::Segments: {
        const auto examinePage
            = [this, run, index, stepDone, examine](const QJsonObject &response) {
                  // Stopped after a segment: the next step resumes at that segment's key
                  // (its lines below the frontier are skipped) with no start key.
                  std::optional<QString> cutAt;
                  for (const QJsonValue &value : response.value(u"Items"_s).toArray()) {
                      const auto segment = segments::segmentOf(value.toObject());
                      if (!segment)
                          continue;
                      for (qsizetype i = segment->lines.size() - 1; i >= 0; --i)
                          examine(segment->lines.at(i));
                      const Scan &s = run->scans.at(index);
                      if (s.found >= run->query.limit || s.examinedThisRound >= m_readBudget) {
                          cutAt = segment->key();
                          break;
                      }
                  }
                  Scan &s = run->scans.at(index);
                  const QJsonObject nextKey = response.value(u"LastEvaluatedKey"_s).toObject();
                  if (cutAt) {
                      s.startKey = {};
                      s.upTo = cutAt;
                      s.upToSet = true;
                  } else if (nextKey.isEmpty())
                      s.phase = Scan::Phase::Done;
                  else
                      s.startKey = nextKey;
                  stepDone();
              };
        if (scan.firstSegments) { // read without a condition, as the pages after it
            const QJsonObject page = *std::exchange(scan.firstSegments, std::nullopt);
            scan.upToSet = true;
            examinePage(page);
            return;
        }
        // A continued paging keeps its condition (DynamoDB refuses a start key outside
        // it). Otherwise: with a cursor, the segments that start at or before its time
        // (a segment's key is at most its lines' times, 14.1).
        if (!scan.upToSet) {
            scan.upToSet = true;
            if (!run->after.isEmpty())
                scan.upTo = segments::sortKey(tsOfPosition(run->after) + 1, 0);
        }
        const std::optional<QString> upTo = scan.upTo;
        QJsonObject names {{u"#k"_s, Key::UserBucket}};
        QJsonObject values {{u":k"_s, string(segments::partition(scan.conv))}};
        QString condition = u"#k = :k"_s;
        if (upTo) {
            condition += u" AND #p <= :p"_s;
            names.insert(u"#p"_s, Key::Position);
            values.insert(u":p"_s, string(*upTo));
        }
        QJsonObject request {{u"TableName"_s, m_tables->names().search},
            {u"KeyConditionExpression"_s, condition}, {u"ExpressionAttributeNames"_s, names},
            {u"ExpressionAttributeValues"_s, values}, {u"ScanIndexForward"_s, false},
            {u"ConsistentRead"_s, true}, {u"Limit"_s, kSegmentsPerPage}};
        if (!scan.startKey.isEmpty())
            request.insert(u"ExclusiveStartKey"_s, scan.startKey);
        m_tables->call(u"Query"_s, request,
            [fail, examinePage](const QJsonObject &response, const aws::DynamoError *e) {
                if (e) {
                    fail(Tables::storeError(u"Query"_s, *e));
                    return;
                }
                examinePage(response);
            });
        return;
    }
    case Scan::Phase::Done:
        stepDone();
        return;
    }
}

// After a round: the hits are the newest candidates that no unfinished scan could still
// beat. A scan stopped by the budget has examined its conversation down to its frontier
// only, so nothing below the newest such frontier is certain yet.
void SearchIndex::settle(const std::shared_ptr<Run> &run)
{
    if (run->failed)
        return;
    const int limit = run->query.limit;
    std::optional<QString> boundary;
    bool unfinished = false;
    bool moreBelow = false; // a satisfied scan may have older candidates
    for (const Scan &scan : run->scans) {
        if (scan.phase == Scan::Phase::Done)
            continue;
        if (scan.found >= limit) {
            moreBelow = true;
            continue;
        }
        unfinished = true;
        if (!boundary || scan.frontier > *boundary)
            boundary = scan.frontier;
    }
    QList<Run::Candidate> eligible;
    for (const Run::Candidate &candidate : std::as_const(run->candidates)) {
        // The frontier line itself was examined: positions are unique, and the cursor
        // continues strictly below it.
        if (!boundary || candidate.position >= *boundary)
            eligible.append(candidate);
    }
    // Nothing certain yet: a page without hits but with a cursor would leave a client
    // unsure whether to ask again, so it only happens after kEmptyRounds rounds.
    if (eligible.isEmpty() && unfinished && run->rounds < kEmptyRounds) {
        round(run);
        return;
    }
    std::sort(eligible.begin(), eligible.end(),
        [](const Run::Candidate &a, const Run::Candidate &b) { return a.position > b.position; });
    const bool cutByLimit = eligible.size() > limit;
    if (cutByLimit)
        eligible.resize(limit);
    run->hits = eligible;
    if (eligible.size() == limit && (cutByLimit || unfinished || moreBelow))
        run->next = eligible.last().position;
    else if (boundary)
        run->next = *boundary;
    fetchBodies(run);
}

// The hits' bodies (BatchGetItem, 100 keys a request), the final check of every word on
// the body and the snippets.
void SearchIndex::fetchBodies(const std::shared_ptr<Run> &run)
{
    const auto answer = [run](QHash<QString, protocol::Message> messages) {
        SearchPage page;
        for (const Run::Candidate &hit : std::as_const(run->hits)) {
            const auto message = messages.constFind(messageKeyId(hit.conv, hit.seq));
            if (message == messages.constEnd()
                || !protocol::search::matchesAll(
                    protocol::search::indexWords(message->body), run->query.words))
                continue;
            page.hits.append(
                protocol::SearchHit {message->conv, message->seq, message->from, message->ts,
                    message->body, protocol::search::snippet(message->body, run->query.words)});
            page.cursorAfter.append(encodeCursor(run->query, hit.position));
        }
        if (run->next)
            page.next = encodeCursor(run->query, *run->next);
        run->done(page);
    };
    if (run->hits.isEmpty()) {
        answer({});
        return;
    }
    QList<QJsonObject> keys;
    for (const Run::Candidate &hit : std::as_const(run->hits))
        keys.append(QJsonObject {{Key::Conv, string(hit.conv)}, {Key::Seq, number(hit.seq)}});
    m_tables->batchGet(
        m_tables->names().messages, keys, [run, answer](Result<QList<QJsonObject>> found) {
            if (!found) {
                run->done(found.error());
                return;
            }
            QHash<QString, protocol::Message> messages;
            for (const QJsonObject &item : found.value()) {
                protocol::Message message = messageOf(item);
                messages.insert(messageKeyId(message.conv, message.seq), std::move(message));
            }
            answer(std::move(messages));
        });
}

} // namespace parley::server::dynamo
