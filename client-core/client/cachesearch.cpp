// CacheWorker's local search (Cache::search): the FTS5 query over the messages, and
// the outbox matched in memory. The index itself (schema version 2, kSearchV2) and the
// triggers that keep it are in cacheworker.cpp.
#include "cacheworker.h"
#include "logging.h"
#include "searchtext.h"

#include <QSqlQuery>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace parley::client {

namespace {

// The index streams its matches newest first (rowid = search_key) and stops at the
// limit; the exact filters are checked on the row (an empty filter matches all). The
// planner was seen scanning messages for the join: the index is named. Query words up
// to 4 characters use the prefix indexes; a longer one merges the doclists of the
// words it starts (the cost grows with how common they are).
constexpr QStringView SearchSql
    = u"SELECT m.conv, m.seq, m.sender, m.ts, m.body, coalesce(c.peer, '')"
      u" FROM messages_fts f JOIN messages m INDEXED BY messages_by_search_key"
      u"   ON m.search_key = f.rowid"
      u" LEFT JOIN conversations c ON c.conv = m.conv"
      u" WHERE messages_fts MATCH ? AND m.gap = 0 AND (? = '' OR m.conv = ?)"
      u" AND (? = '' OR m.sender = ?) ORDER BY f.rowid DESC LIMIT ?";

// The FTS5 phrase of a name's words ("al-ice:bob" -> "al ice bob"), which narrows the
// search inside the index; empty when the name has no words.
QString namePhrase(const QString &name)
{
    QStringList parts;
    for (const protocol::search::WordSpan &word : protocol::search::words(name))
        parts.append(word.folded);
    return parts.isEmpty() ? QString() : u'"' + parts.join(u' ') + u'"';
}

// Every query word as a prefix of a body word, and the filters' words in their columns.
QString searchExpression(const QStringList &query, const QString &conv, const QString &from)
{
    QString expression = protocol::search::fts5Expression(query, u"body");
    if (const QString phrase = namePhrase(conv); !phrase.isEmpty())
        expression += u" AND {conv} : "_s + phrase;
    if (const QString phrase = namePhrase(from); !phrase.isEmpty())
        expression += u" AND {sender} : "_s + phrase;
    return expression;
}

QVariant text(const QString &value) // NULL is not '' for the filters
{
    return value.isNull() ? QVariant(u""_s) : QVariant(value);
}

} // namespace

QList<SearchHit> CacheWorker::readSearch(
    const QStringList &words, const QString &conv, const QString &from, int limit)
{
    // Re-derived, so that whatever the caller passed, only letters and digits reach the
    // FTS5 expression (bound as a parameter, never pasted into the SQL).
    const QStringList query = protocol::search::queryWords(words.join(u' '));
    if (!isOpen() || query.isEmpty() || limit <= 0)
        return {};
    QList<SearchHit> hits = searchOutbox(query, conv, from);
    QSqlQuery *q = run(SearchSql,
        {searchExpression(query, conv, from), text(conv), text(conv), text(from), text(from),
            limit});
    if (!q) {
        qCWarning(lcClientCache).noquote() << "cache search failed:" << m_lastError;
        return hits;
    }
    while (q->next()) {
        SearchHit hit;
        hit.conv = q->value(0).toString();
        hit.seq = q->value(1).toLongLong();
        hit.from = q->value(2).toString();
        hit.ts = q->value(3).toLongLong();
        hit.body = q->value(4).toString();
        hit.peer = q->value(5).toString();
        hits.append(std::move(hit));
    }
    q->finish();
    // The index orders by ts, then by row within one millisecond; the contract says seq.
    std::stable_sort(hits.begin(), hits.end(), [](const SearchHit &a, const SearchHit &b) {
        return a.ts != b.ts ? a.ts > b.ts : a.seq > b.seq;
    });
    if (hits.size() > limit)
        hits.resize(limit);
    for (SearchHit &hit : hits)
        hit.snippet = protocol::search::snippet(hit.body, query);
    return hits;
}

QList<SearchHit> CacheWorker::searchOutbox(
    const QStringList &query, const QString &conv, const QString &from)
{
    // Messages typed offline are only in the outbox until acked, and a user looking for
    // what they just wrote expects to find it. The outbox is short (what is unsent), so
    // it is matched here rather than indexed.
    QList<SearchHit> hits;
    const QList<ChatMessage> queued = readOutbox(conv);
    for (const ChatMessage &m : queued) {
        if (m.cancelled || (!from.isEmpty() && m.from != from)
            || !protocol::search::matchesAll(protocol::search::indexWords(m.body), query))
            continue;
        SearchHit hit;
        hit.conv = m.conv;
        hit.peer = m.to;
        hit.from = m.from;
        hit.ts = m.ts > 0 ? m.ts : m.queuedAt;
        hit.body = m.body;
        hits.append(std::move(hit)); // seq 0: not acked yet
    }
    return hits;
}

} // namespace parley::client
