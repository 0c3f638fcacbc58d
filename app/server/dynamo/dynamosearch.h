// Server search on DynamoDB (docs/dynamodb.md, section "Search"). Store thread only.
//
// The index is written off the append path, per conversation, in *segments*: one item of
// the search table per run of consecutive seqs of a conversation, keyed
// ("#seg#<conv>", "<lastTs of the segment before, 13 digits>#<first seq, 12 digits>") and
// holding one compact line per message (seq, ts, sender, the message's distinct folded
// words). A conversation's segments form an unbroken chain from seq 1: a segment starts
// right after the last seq of the one before it (its *watermark*), and it is written
// with a condition on its key, so two nodes indexing the same conversation cannot write
// overlapping segments. The messages after the watermark (the *tail*, normally the last
// second's) are read from the messages table by the query itself, so a message is found
// from its ack on, whether or not it is indexed yet.
//
// A query reads, for each of the user's conversations (or the one of the `conv` filter),
// the tail and then the segments newest first, checks the words and the filters on the
// lines, and merges the conversations by position ("<ts>#<conv>#<seq>", newest first).
// Within a conversation the lines' times never go backwards (the seq claim keeps new
// messages so, and the indexer raises an older message's to the one before it), so seq
// order is position order there, and a segment's key is at most its lines' times.
#pragma once

#include "dynamotables.h"
#include "store.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

namespace parley::server::dynamo {

namespace segments {

// The search table's partition of a conversation's segments; no "<user>#<bucket>" of the
// older layout and no marker starts with '#', and user names cannot.
QString partition(const QString &conv);
QString sortKey(qint64 firstTs, qint64 firstSeq);
// Lines of one segment stay under this many bytes of UTF-8; a longer run of messages
// takes several segments (an item may hold 400 KB; smaller ones read cheaper, and a
// query page of them stays small).
constexpr qsizetype kMaxLinesBytes = 16 * 1024;

struct Line
{
    qint64 seq = 0;
    qint64 ts = 0;
    QString from;
    QStringList words; // distinct, folded (protocol::search::indexWords)
};

struct Segment
{
    QString conv;
    qint64 firstSeq = 0;
    qint64 lastSeq = 0; // the watermark once written
    qint64 firstTs = 0;
    qint64 lastTs = 0;
    QList<qint64> gaps; // seqs in [firstSeq, lastSeq] that had no message when indexed
    QList<Line> lines; // seq order
    QString key() const { return sortKey(firstTs, firstSeq); }
};

Line lineOf(const protocol::Message &message);
QJsonObject itemOf(const Segment &segment);
// nullopt: not a segment item, or a damaged one (the caller treats it as absent).
std::optional<Segment> segmentOf(const QJsonObject &item);
// Bytes one line takes in an item (to cut segments).
qsizetype lineBytes(const Line &line);
// A consistent Query of a conversation's segments, newest first, `limit` a page.
QJsonObject newestFirst(const QString &table, const QString &conv, int limit);

} // namespace segments

class SearchIndex
{
public:
    // readBudget: index lines one conversation's scan examines per round before the
    // request answers with what it found and a cursor that goes on from there.
    SearchIndex(Tables *tables, int readBudget);
    ~SearchIndex();
    Q_DISABLE_COPY_MOVE(SearchIndex)

    void search(const SearchQuery &query, Callback<SearchPage> done);

private:
    struct Run;
    struct Scan;
    void startScans(const std::shared_ptr<Run> &run);
    void round(const std::shared_ptr<Run> &run);
    void step(const std::shared_ptr<Run> &run, std::size_t index);
    void settle(const std::shared_ptr<Run> &run);
    void fetchBodies(const std::shared_ptr<Run> &run);

    Tables *m_tables;
    const int m_readBudget;
};

} // namespace parley::server::dynamo
