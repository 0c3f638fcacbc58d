// Server search on SqliteStore: the FTS5 index over message bodies (schema version 2)
// and the pieces of a search query (MATCH expression, cursor, snippet).
//
// message_search is an external-content FTS5 table over the view message_search_source:
//   body     the message body (unicode61, remove_diacritics 2: case and accents folded,
//            words are runs of letters and digits, combining marks stay in their word)
//   members  who may see the message, as tokens no query word can produce: U+E000 'u'
//            hex(member) for sender and recipient, U+E000 's' hex(sender). A search ANDs
//            its words with the user's token, so FTS5 intersects the user's posting list
//            with the words' instead of walking every user's matches ("th" matches a
//            third of all messages; one user's share of them is tiny).
// prefix='1 2 3' keeps 1- to 3-letter prefixes (what as-you-type sends most) as single
// posting lists; longer prefixes merge the lists of their words, which are short.
// Messages are append-only; the update and delete triggers keep the index right should
// an operator edit rows by hand.
#pragma once

#include "store.h"

#include <QString>
#include <QStringView>

#include <optional>

namespace parley::server::sqlitesearch {

// The member tokens of a message, as SQL over a row's sender and recipient columns
// (the view and the triggers must compute exactly the same text).
#define PARLEY_SEARCH_MEMBERS(row)                                                                 \
    u"char(57344) || 'u' || hex(" row u"sender) || ' ' || char(57344) || 'u' || "                  \
    u"hex"                                                                                         \
    u"(" row u"recipient) || ' ' || char(57344) || 's' || "                                        \
    u"hex(" row u"sender)"

inline constexpr QStringView SchemaV2[] = {
    u"CREATE VIEW message_search_source AS SELECT id, body, " PARLEY_SEARCH_MEMBERS(
        u"") u" AS members FROM messages",
    u"CREATE VIRTUAL TABLE message_search USING fts5(body, members,"
    u" content='message_search_source', content_rowid='id',"
    u" tokenize='unicode61 remove_diacritics 2', prefix='1 2 3')",
    u"CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN"
    u" INSERT INTO message_search (rowid, body, members) VALUES (new.id, "
    u"new.body, " PARLEY_SEARCH_MEMBERS(u"new.") u"); END",
    u"CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN"
    u" INSERT INTO message_search (message_search, rowid, body, members)"
    u" VALUES ('delete', old.id, old.body, " PARLEY_SEARCH_MEMBERS(u"old.") u"); END",
    u"CREATE TRIGGER message_search_update AFTER UPDATE ON messages BEGIN"
    u" INSERT INTO message_search (message_search, rowid, body, members)"
    u" VALUES ('delete', old.id, old.body, " PARLEY_SEARCH_MEMBERS(
        u"old.") u");"
                 u" INSERT INTO message_search (rowid, body, members) VALUES (new.id, "
                 u"new.body, " PARLEY_SEARCH_MEMBERS(u"new.") u"); END",
    // Messages stored before the index existed.
    u"INSERT INTO message_search (message_search) VALUES ('rebuild')",
};

// Version 3: the index is written in batches off the send path (SqliteStore indexes what
// search_progress says is not indexed yet: every IndexDelayMs, when IndexBatchMessages are
// waiting, before every search, and when the store opens or closes). Per transaction, the
// insert trigger had written a small FTS5 segment for every few messages, and FTS5 merged
// them again: a third of the server's CPU at 2,500 msgs/s (docs/performance.md). The
// delete and update triggers now touch only rows the index already holds.
inline constexpr QStringView SchemaV3[] = {
    u"CREATE TABLE search_progress (id INTEGER PRIMARY KEY CHECK (id = 1),"
    u" indexed_up_to INTEGER NOT NULL)",
    u"INSERT INTO search_progress (id, indexed_up_to)"
    u" SELECT 1, coalesce(max(id), 0) FROM messages",
    u"DROP TRIGGER message_search_insert",
    u"DROP TRIGGER message_search_delete",
    u"DROP TRIGGER message_search_update",
    u"CREATE TRIGGER message_search_delete AFTER DELETE ON messages"
    u" WHEN old.id <= (SELECT indexed_up_to FROM search_progress) BEGIN"
    u" INSERT INTO message_search (message_search, rowid, body, members)"
    u" VALUES ('delete', old.id, old.body, " PARLEY_SEARCH_MEMBERS(u"old.") u"); END",
    u"CREATE TRIGGER message_search_update AFTER UPDATE ON messages"
    u" WHEN old.id <= (SELECT indexed_up_to FROM search_progress) BEGIN"
    u" INSERT INTO message_search (message_search, rowid, body, members)"
    u" VALUES ('delete', old.id, old.body, " PARLEY_SEARCH_MEMBERS(
        u"old.") u");"
                 u" INSERT INTO message_search (rowid, body, members) VALUES (new.id, "
                 u"new.body, " PARLEY_SEARCH_MEMBERS(u"new.") u"); END",
};

// Version 4 (group conversations, docs/groups.md): `messages` is rebuilt without its
// reference to `conversations`, with a nullable `recipient` and an `event` column
// (SqliteStore's kSchemaV4), so the view and the triggers that read it are dropped before
// and made again after, and a group message (no recipient) has the group as its audience:
// "c" and its conversation id instead of the two users' "u" tokens. One-on-one messages
// keep exactly the text they were indexed with, which FTS5's 'delete' needs.
#define PARLEY_SEARCH_AUDIENCE(row)                                                                \
    u"CASE WHEN " row u"recipient IS NULL THEN char(57344) || 'c' || hex(" row u"conv)"            \
    u" || ' ' || char(57344) || 's' || hex(" row u"sender) ELSE " PARLEY_SEARCH_MEMBERS(           \
        row) u" END"

inline constexpr QStringView DropBeforeV4[] = {
    u"DROP TRIGGER message_search_delete",
    u"DROP TRIGGER message_search_update",
    u"DROP VIEW message_search_source",
};

inline constexpr QStringView CreateAfterV4[] = {
    u"CREATE VIEW message_search_source AS SELECT id, body, " PARLEY_SEARCH_AUDIENCE(
        u"") u" AS members FROM messages",
    u"CREATE TRIGGER message_search_delete AFTER DELETE ON messages"
    u" WHEN old.id <= (SELECT indexed_up_to FROM search_progress) BEGIN"
    u" INSERT INTO message_search (message_search, rowid, body, members)"
    u" VALUES ('delete', old.id, old.body, " PARLEY_SEARCH_AUDIENCE(u"old.") u"); END",
    u"CREATE TRIGGER message_search_update AFTER UPDATE ON messages"
    u" WHEN old.id <= (SELECT indexed_up_to FROM search_progress) BEGIN"
    u" INSERT INTO message_search (message_search, rowid, body, members)"
    u" VALUES ('delete', old.id, old.body, " PARLEY_SEARCH_AUDIENCE(
        u"old.") u");"
                 u" INSERT INTO message_search (rowid, body, members) VALUES (new.id, "
                 u"new.body, " PARLEY_SEARCH_AUDIENCE(u"new.") u"); END",
};

// Indexes the messages with ids in (?, ?]: binds the last indexed id and the newest id.
inline constexpr QStringView IndexPending
    = u"INSERT INTO message_search (rowid, body, members) SELECT id, body, " PARLEY_SEARCH_AUDIENCE(
        u"") u" FROM messages WHERE id > ? AND id <= ? ORDER BY id";

#undef PARLEY_SEARCH_AUDIENCE
#undef PARLEY_SEARCH_MEMBERS

// How long a stored message may wait for the index when nothing searches, and how many may
// wait before the store indexes them at once (PROTOCOL: searchable within 1 s of the ack).
inline constexpr int IndexDelayMs = 250;
inline constexpr qint64 IndexBatchMessages = 5000;

// The hits of one page, newest (highest id) first; one more row than the page tells
// whether there is a next page. The MATCH expression narrows with the member tokens; the
// plain conditions after it decide who sees what. Binds: match, before id, user, user,
// conv, conv, from, from, rows.
inline constexpr QStringView Sql
    = u"SELECT m.id, m.conv, m.seq, m.sender, m.ts, m.body,"
      u" snippet(message_search, 0, '[', ']', '\u2026', 20)"
      u" FROM message_search CROSS JOIN messages AS m ON m.id = message_search.rowid"
      u" WHERE message_search MATCH ? AND message_search.rowid < ?"
      u" AND (m.sender = ? OR m.recipient = ?) AND (? = '' OR m.conv = ?)"
      u" AND (? = '' OR m.sender = ?)"
      u" ORDER BY message_search.rowid DESC LIMIT ?";

// The FTS5 expression for query: its member tokens (the user's; both of conv's members;
// from as sender) in the members column, every word as a prefix in the body column.
QString matchExpression(const SearchQuery &query);

// Cursors name the message id a page continues below, bound to the user and the query by
// an HMAC-SHA-256 under the store's key: base64url of "s2:<id>:<mac, 12 bytes in hex>".
// The key is made when the store opens, so cursors last as long as the server process.
QString encodeCursor(const QByteArray &key, const SearchQuery &query, qint64 id);
// The id, or nothing when query.cursor is not one encodeCursor made for this query.
std::optional<qint64> decodeCursor(const QByteArray &key, const SearchQuery &query);

// FTS5's snippet counts tokens, so long words can make it exceed the protocol's length;
// then the shared snippet rules draw it from the body instead.
QString fitSnippet(const QString &ftsSnippet, const QString &body, const QStringList &words);

} // namespace parley::server::sqlitesearch
