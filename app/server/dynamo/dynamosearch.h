// Server search on DynamoDB: the word index written alongside each message and the
// queries that read it (docs/dynamodb.md, section "Search"). Store thread only.
//
// The `search` table holds, for each member of a message's conversation and each
// distinct two-character start of the message's folded words (its "buckets"), one item
// keyed ("<user>#<bucket>", "<ts>#<conv>#<seq>"), plus one item in the member's "*"
// bucket (every message). An item carries conv, seq, from, ts and the message's folded
// words, so a query reads one bucket newest first and checks every word and the filters
// on the item, then fetches the bodies of the hits only. Every item is a function of the
// message alone, so writing them again (a retry, a resend, the backfill) changes nothing.
#pragma once

#include "dynamobatch.h"
#include "dynamotables.h"
#include "store.h"

#include <QJsonObject>
#include <QList>
#include <QString>

#include <functional>

namespace parley::server::dynamo {

// The index items of one message: both members, every bucket.
QList<QJsonObject> searchItems(const protocol::Message &message);

class SearchIndex
{
public:
    // readBudget: index items one search request examines at most before it answers with
    // what it found and a cursor that goes on from there.
    SearchIndex(Tables *tables, int readBudget);
    ~SearchIndex();
    Q_DISABLE_COPY_MOVE(SearchIndex)

    // Puts every index item of `message` (shared BatchWriteItem requests, unprocessed
    // items retried); answered once all are confirmed, or with the first failure.
    void index(const protocol::Message &message, std::function<void(Result<bool>)> done);
    void search(const SearchQuery &query, Callback<SearchPage> done);

    // Puts `items` into the search table through `writer`; answered once after all.
    static void putAll(
        Batcher &writer, const QList<QJsonObject> &items, std::function<void(Result<bool>)> done);

private:
    struct Run;
    void readPage(const std::shared_ptr<Run> &run);
    void fetchBodies(const std::shared_ptr<Run> &run, QList<QJsonObject> candidates, bool more);

    Tables *m_tables;
    Batcher m_writes;
    const int m_readBudget;
};

} // namespace parley::server::dynamo
