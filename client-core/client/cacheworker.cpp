// CacheWorker: the SQL side of the Cache.
//
// Schema (version = PRAGMA user_version; kMigrations upgrades one version per entry,
// each in its own transaction; append entries, never edit old ones):
//   conversations(conv TEXT PK "a:b", peer, last_seq, last_ts, contiguous_seq, floor_seq,
//                 read_up_to, peer_delivered, peer_read)  WITHOUT ROWID
//   messages(id INTEGER PK, conv, seq, cid, sender, recipient, body, ts, outgoing 0|1,
//            gap 0|1, state, failure, attempts, <step>_at...)  UNIQUE(conv, seq)
//            A rowid table on purpose: bodies can be large, and the planned FTS5
//            external-content index (local search) needs an integer rowid.
//            No index on cid: no query needs one, and with random UUIDs it made every
//            insert into a large file cache touch a random page (~70% more CPU per
//            saved message in bench_client). Add it with the query that needs it.
//            messages_by_state(conv, state, seq) WHERE gap = 0 serves receipts, markRead
//            and unread counts without walking a long history: 'received' only holds
//            incoming messages and 'sent'/'delivered' only outgoing ones. So "unread"
//            is counted as incoming messages above read_up_to still in state received.
//            V2: search_key (virtual: ts << 21 | id's low 21 bits, indexed) and
//            messages_fts, the FTS5 external-content index of (body, conv, sender) by
//            search_key over the non-gap rows, kept by triggers (see kSearchV2).
//   outbox(cid TEXT PK, position (queue order), conv, recipient, sender, body, state,
//          failure, maybe_sent, attempts, queued_at, sending_at, failed_at, ts) WITHOUT ROWID
// States are stored by name (messageStateName), so reordering the enum cannot corrupt
// a database. Conversation rows come from saveMessages and updateConversation; receipts
// and read marks only move an existing row (a row without a peer would be an empty
// conversation in the list).
//
// Writes queue up from any thread; the cache thread commits everything queued so far
// in one BEGIN IMMEDIATE ... COMMIT. A failing batch is rolled back and retried once
// with each write in its own SAVEPOINT, so only a write that fails again is lost.
#include "cacheworker.h"

#include "logging.h"

#include <QDir>
#include <QFileInfo>
#include <QMutexLocker>
#include <QSqlError>
#include <QThread>

#include <algorithm>
#include <array>
#include <limits>
#include <span>

using namespace Qt::StringLiterals;

namespace parley::client {

namespace {

constexpr QStringView kSchemaV1[] = {
    u"CREATE TABLE conversations (conv TEXT PRIMARY KEY NOT NULL, peer TEXT NOT NULL DEFAULT '',"
    u" last_seq INTEGER NOT NULL DEFAULT 0, last_ts INTEGER NOT NULL DEFAULT 0,"
    u" contiguous_seq INTEGER NOT NULL DEFAULT 0, floor_seq INTEGER NOT NULL DEFAULT 0,"
    u" read_up_to INTEGER NOT NULL DEFAULT 0, peer_delivered INTEGER NOT NULL DEFAULT 0,"
    u" peer_read INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    u"CREATE TABLE messages (id INTEGER PRIMARY KEY, conv TEXT NOT NULL, seq INTEGER NOT NULL,"
    u" cid TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL, body TEXT NOT NULL,"
    u" ts INTEGER NOT NULL, outgoing INTEGER NOT NULL, gap INTEGER NOT NULL,"
    u" state TEXT NOT NULL, failure TEXT NOT NULL, attempts INTEGER NOT NULL,"
    u" queued_at INTEGER NOT NULL, sending_at INTEGER NOT NULL, sent_at INTEGER NOT NULL,"
    u" delivered_at INTEGER NOT NULL, read_at INTEGER NOT NULL, failed_at INTEGER NOT NULL,"
    u" UNIQUE (conv, seq))",
    u"CREATE INDEX messages_by_state ON messages(conv, state, seq) WHERE gap = 0",
    u"CREATE TABLE outbox (cid TEXT PRIMARY KEY NOT NULL, position INTEGER NOT NULL,"
    u" conv TEXT NOT NULL, recipient TEXT NOT NULL, sender TEXT NOT NULL, body TEXT NOT NULL,"
    u" state TEXT NOT NULL, failure TEXT NOT NULL, maybe_sent INTEGER NOT NULL,"
    u" cancelled INTEGER NOT NULL, attempts INTEGER NOT NULL, queued_at INTEGER NOT NULL, "
    u"sending_at INTEGER NOT NULL,"
    u" failed_at INTEGER NOT NULL, ts INTEGER NOT NULL) WITHOUT ROWID",
    u"CREATE INDEX outbox_by_conv ON outbox(conv, position)",
    // New rows take max(position) + 1: without this, a long offline queue made every
    // outbox write scan the table.
    u"CREATE INDEX outbox_by_position ON outbox(position)",
};

// Local search (PROTOCOL search rules): an FTS5 index over the bodies of the stored
// messages, gap rows excluded. Its rowid is search_key, the send time in the high bits
// and the low 21 bits of id below it, so "newest first" is the index's own rowid order
// and a search streams the newest matches and stops at its limit instead of sorting
// every match. conv and sender are indexed too so that a filtered search narrows inside
// the index; the SQL then checks them exactly. The index is external content (the text
// stays in messages only) and triggers keep it in step with every insert, update and
// delete, whichever statement makes them. Rows stored before this version are indexed
// by the migration itself.
constexpr QStringView kSearchV2[] = {
    u"ALTER TABLE messages ADD COLUMN search_key INTEGER"
    u" GENERATED ALWAYS AS ((ts << 21) | (id & 2097151)) VIRTUAL",
    u"CREATE INDEX messages_by_search_key ON messages(search_key)",
    u"CREATE VIRTUAL TABLE messages_fts USING fts5(body, conv, sender, content = 'messages',"
    u" content_rowid = 'search_key', tokenize = 'unicode61 remove_diacritics 2',"
    u" prefix = '1 2 3 4')",
    u"CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.gap = 0 BEGIN"
    u" INSERT INTO messages_fts (rowid, body, conv, sender)"
    u" VALUES (new.search_key, new.body, new.conv, new.sender); END",
    u"CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.gap = 0 BEGIN"
    u" INSERT INTO messages_fts (messages_fts, rowid, body, conv, sender)"
    u" VALUES ('delete', old.search_key, old.body, old.conv, old.sender); END",
    u"CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, conv, sender, gap, ts, id"
    u" ON messages BEGIN"
    u" INSERT INTO messages_fts (messages_fts, rowid, body, conv, sender)"
    u"   SELECT 'delete', old.search_key, old.body, old.conv, old.sender WHERE old.gap = 0;"
    u" INSERT INTO messages_fts (rowid, body, conv, sender)"
    u"   SELECT new.search_key, new.body, new.conv, new.sender WHERE new.gap = 0; END",
    u"INSERT INTO messages_fts (rowid, body, conv, sender)"
    u" SELECT search_key, body, conv, sender FROM messages WHERE gap = 0",
};

constexpr std::array<std::span<const QStringView>, 2> kMigrations = {kSchemaV1, kSearchV2};

constexpr int kBusyTimeoutMs = 5000; // two Caches on one file (tests, a second client)

// Prepared once per connection and cached by address, so each must stay a distinct
// constant. The state names are messageStateName's.
namespace Sql {
constexpr QStringView Begin = u"BEGIN IMMEDIATE";
constexpr QStringView Commit = u"COMMIT";
constexpr QStringView Rollback = u"ROLLBACK";
constexpr QStringView Savepoint = u"SAVEPOINT write";
constexpr QStringView Release = u"RELEASE write";
constexpr QStringView RollbackTo = u"ROLLBACK TO write";
// A stored message keeps its row; an outgoing one only moves forward (sent < delivered
// < read) and only fills the step timestamps it did not have.
constexpr QStringView SaveMessage
    = u"INSERT INTO messages (conv, seq, cid, sender, recipient, body, ts, outgoing, gap,"
      u" state, failure, attempts, queued_at, sending_at, sent_at, delivered_at, read_at,"
      u" failed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
      u" ON CONFLICT (conv, seq) DO UPDATE SET"
      u" state = CASE WHEN (CASE excluded.state WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2"
      u"   WHEN 'read' THEN 3 ELSE 0 END) > (CASE messages.state WHEN 'sent' THEN 1"
      u"   WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 ELSE 0 END)"
      u"   THEN excluded.state ELSE messages.state END,"
      u" queued_at = CASE messages.queued_at WHEN 0 THEN excluded.queued_at"
      u"   ELSE messages.queued_at END,"
      u" sending_at = CASE messages.sending_at WHEN 0 THEN excluded.sending_at"
      u"   ELSE messages.sending_at END,"
      u" sent_at = CASE messages.sent_at WHEN 0 THEN excluded.sent_at ELSE messages.sent_at END,"
      u" delivered_at = CASE messages.delivered_at WHEN 0 THEN excluded.delivered_at"
      u"   ELSE messages.delivered_at END,"
      u" read_at = CASE messages.read_at WHEN 0 THEN excluded.read_at ELSE messages.read_at END,"
      u" failed_at = CASE messages.failed_at WHEN 0 THEN excluded.failed_at"
      u"   ELSE messages.failed_at END"
      u" WHERE messages.outgoing = 1 AND excluded.outgoing = 1";
constexpr QStringView TouchConversation
    = u"INSERT INTO conversations (conv, peer, last_seq, last_ts) VALUES (?, ?, ?, ?)"
      u" ON CONFLICT (conv) DO UPDATE SET"
      u" peer = CASE peer WHEN '' THEN excluded.peer ELSE peer END,"
      u" last_seq = max(last_seq, excluded.last_seq), last_ts = max(last_ts, excluded.last_ts)";
constexpr QStringView EnsureConversation
    = u"INSERT INTO conversations (conv) VALUES (?) ON CONFLICT DO NOTHING";
constexpr QStringView UpdateConversation // NULL: keep the stored value
    = u"UPDATE conversations SET peer = coalesce(?, peer), last_seq = coalesce(?, last_seq),"
      u" last_ts = coalesce(?, last_ts), contiguous_seq = coalesce(?, contiguous_seq),"
      u" floor_seq = coalesce(?, floor_seq), read_up_to = coalesce(?, read_up_to),"
      u" peer_delivered = coalesce(?, peer_delivered), peer_read = coalesce(?, peer_read)"
      u" WHERE conv = ?";
constexpr QStringView SaveOutgoing // a new cid goes to the back of the queue
    = u"INSERT INTO outbox (cid, position, conv, recipient, sender, body, state, failure,"
      u" maybe_sent, cancelled, attempts, queued_at, sending_at, failed_at, ts)"
      u" VALUES (?, (SELECT coalesce(max(position), 0) + 1 FROM outbox),"
      u" ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cid) DO UPDATE SET"
      u" conv = excluded.conv, recipient = excluded.recipient, sender = excluded.sender,"
      u" body = excluded.body, state = excluded.state, failure = excluded.failure,"
      u" maybe_sent = excluded.maybe_sent, cancelled = excluded.cancelled, attempts = "
      u"excluded.attempts,"
      u" queued_at = excluded.queued_at, sending_at = excluded.sending_at,"
      u" failed_at = excluded.failed_at, ts = excluded.ts";
constexpr QStringView DeleteOutgoing = u"DELETE FROM outbox WHERE cid = ?";
constexpr QStringView PeerDelivered
    = u"UPDATE messages SET state = 'delivered',"
      u" delivered_at = CASE delivered_at WHEN 0 THEN ? ELSE delivered_at END"
      u" WHERE conv = ? AND state = 'sent' AND gap = 0 AND seq <= ? AND outgoing = 1";
constexpr QStringView PeerRead // read implies delivered
    = u"UPDATE messages SET state = 'read',"
      u" delivered_at = CASE delivered_at WHEN 0 THEN ? ELSE delivered_at END,"
      u" read_at = CASE read_at WHEN 0 THEN ? ELSE read_at END"
      u" WHERE conv = ? AND state IN ('sent', 'delivered') AND gap = 0 AND seq <= ?"
      u" AND outgoing = 1";
constexpr QStringView ConversationDelivered
    = u"UPDATE conversations SET peer_delivered = max(peer_delivered, ?) WHERE conv = ?";
constexpr QStringView ConversationRead
    = u"UPDATE conversations SET peer_delivered = max(peer_delivered, ?),"
      u" peer_read = max(peer_read, ?) WHERE conv = ?";
constexpr QStringView MarkRead
    = u"UPDATE messages SET state = 'read', read_at = CASE read_at WHEN 0 THEN ? ELSE read_at END"
      u" WHERE conv = ? AND state = 'received' AND gap = 0 AND seq <= ? AND outgoing = 0";
constexpr QStringView ConversationReadUpTo
    = u"UPDATE conversations SET read_up_to = max(read_up_to, ?) WHERE conv = ?";
// Newest non-gap message per conversation through the (conv, seq) index; unread through
// messages_by_state ('received' is incoming only).
constexpr QStringView Conversations
    = u"SELECT c.conv, c.peer, c.last_seq, c.last_ts, c.contiguous_seq, c.floor_seq,"
      u" c.read_up_to, c.peer_delivered, c.peer_read, m.body, m.sender,"
      u" (SELECT count(*) FROM messages u WHERE u.conv = c.conv AND u.state = 'received'"
      u"   AND u.gap = 0 AND u.seq > c.read_up_to)"
      u" FROM conversations c LEFT JOIN messages m ON m.conv = c.conv AND m.seq ="
      u"   (SELECT n.seq FROM messages n WHERE n.conv = c.conv AND n.gap = 0"
      u"    ORDER BY n.seq DESC LIMIT 1)"
      u" ORDER BY c.last_ts DESC, c.conv";
#define PARLEY_MESSAGE_COLUMNS                                                                     \
    u"SELECT seq, cid, sender, recipient, body, ts, outgoing, gap, state, failure, attempts,"      \
    u" queued_at, sending_at, sent_at, delivered_at, read_at, failed_at FROM messages"
constexpr QStringView NewestMessages
    = PARLEY_MESSAGE_COLUMNS u" WHERE conv = ? AND seq < ? AND gap = 0 ORDER BY seq DESC LIMIT ?";
constexpr QStringView MessageRange
    = PARLEY_MESSAGE_COLUMNS u" WHERE conv = ? AND seq BETWEEN ? AND ? AND gap = 0 ORDER BY seq";
#undef PARLEY_MESSAGE_COLUMNS
#define PARLEY_OUTBOX_COLUMNS                                                                      \
    u"SELECT cid, conv, recipient, sender, body, state, failure, maybe_sent, attempts,"            \
    u" queued_at, sending_at, failed_at, ts, cancelled FROM outbox"
constexpr QStringView Outbox = PARLEY_OUTBOX_COLUMNS u" ORDER BY position";
constexpr QStringView OutboxOfConversation
    = PARLEY_OUTBOX_COLUMNS u" WHERE conv = ? ORDER BY position";
#undef PARLEY_OUTBOX_COLUMNS
} // namespace Sql

// Qt binds a null QString as SQL NULL; the text columns here are NOT NULL.
QVariant text(const QString &value)
{
    return value.isNull() ? QVariant(u""_s) : QVariant(value);
}

// -1 (unknown) becomes NULL, which UpdateConversation reads as "keep".
QVariant known(qint64 value)
{
    return value < 0 ? QVariant() : QVariant(value);
}

MessageState stateFromName(const QString &name, MessageState fallback)
{
    for (int i = 0; i <= int(MessageState::Received); ++i) {
        if (messageStateName(MessageState(i)) == name)
            return MessageState(i);
    }
    qCWarning(lcClientCache) << "unknown message state in the cache:" << name;
    return fallback;
}

} // namespace

CacheWorker::CacheWorker(QString connectionName)
    : m_connectionName(std::move(connectionName))
{ }

CacheWorker::~CacheWorker() = default; // close() already ran on the cache thread

// ---- the write queue ----------------------------------------------------------

void CacheWorker::enqueue(Write write, Durability durability)
{
    bool postCommit = false;
    {
        QMutexLocker lock(&m_pendingMutex);
        m_pending.push_back({std::move(write), durability});
        postCommit = !std::exchange(m_commitPosted, true);
    }
    // Everything queued until the cache thread gets to this commits together.
    if (postCommit)
        QMetaObject::invokeMethod(
            this, [this] { commitPending(); }, Qt::QueuedConnection);
}

void CacheWorker::commitPending()
{
    if (m_state.load() == State::NotOpened)
        return; // kept: open() commits them, or drops them if it fails
    std::vector<PendingWrite> batch;
    {
        QMutexLocker lock(&m_pendingMutex);
        batch.swap(m_pending);
        m_commitPosted = false;
    }
    if (batch.empty())
        return;
    if (m_state.load() != State::Open) {
        qCDebug(lcClientCache) << "cache not open:" << batch.size() << "writes dropped";
        return;
    }
    if (commitBatch(batch, false))
        return;
    qCWarning(lcClientCache).noquote()
        << "cache write batch of" << batch.size() << "failed, retrying:" << m_lastError;
    if (!commitBatch(batch, true))
        qCWarning(lcClientCache).noquote()
            << "cache write batch of" << batch.size() << "lost:" << m_lastError;
}

bool CacheWorker::commitBatch(const std::vector<PendingWrite> &batch, bool isolateWrites)
{
    // The outbox must survive a crash or power loss: a batch holding an outbox write
    // fsyncs the WAL at COMMIT. Everything else can be fetched again from the server.
    const bool synced = std::any_of(batch.begin(), batch.end(),
        [](const PendingWrite &pending) { return pending.durability == Durability::Synced; });
    if (synced && !raw(u"PRAGMA synchronous = FULL"_s))
        return false;
    qint64 applied = 0;
    bool ok = exec(Sql::Begin);
    for (auto it = batch.begin(); ok && it != batch.end(); ++it) {
        if (!isolateWrites) {
            ok = it->write(*this);
            ++applied;
            continue;
        }
        ok = exec(Sql::Savepoint);
        if (ok && it->write(*this)) {
            ok = exec(Sql::Release);
            ++applied;
        } else if (ok) {
            qCWarning(lcClientCache).noquote() << "cache write dropped:" << m_lastError;
            ok = exec(Sql::RollbackTo) && exec(Sql::Release);
        }
    }
    ok = ok && exec(Sql::Commit);
    if (!ok) {
        const QString reason = m_lastError;
        exec(Sql::Rollback); // fails harmlessly when SQLite already rolled back
        m_lastError = reason;
    }
    if (synced)
        raw(u"PRAGMA synchronous = NORMAL"_s);
    if (ok)
        m_writesCommitted += applied;
    return ok;
}

// ---- opening and closing ------------------------------------------------------

QString CacheWorker::open(const QString &path)
{
    if (m_state.load() != State::NotOpened)
        return u"the cache was already opened"_s;
    const bool inMemory = path.isEmpty();
    QString problem;
    if (!inMemory) {
        const QString dir = QFileInfo(path).absolutePath();
        if (!QDir().mkpath(dir))
            problem = u"cannot create the directory "_s + dir;
    }
    if (problem.isEmpty()) {
        m_db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_connectionName);
        if (!m_db.isValid())
            problem = u"the Qt SQLite driver (QSQLITE) is not available"_s;
    }
    if (problem.isEmpty()) {
        m_db.setDatabaseName(inMemory ? u":memory:"_s : path);
        if (!m_db.open())
            problem = m_db.lastError().text();
    }
    if (problem.isEmpty())
        problem = configureAndMigrate(inMemory);
    if (problem.isEmpty()) {
        m_state = State::Open;
    } else {
        problem
            = u"cannot open the cache "_s + (inMemory ? u"in memory"_s : path) + u": "_s + problem;
        qCWarning(lcClientCache).noquote() << problem;
        m_statements.clear();
        m_db.close();
        m_state = State::Closed;
    }
    commitPending(); // writes issued before open(): committed now, or dropped
    return problem;
}

QString CacheWorker::configureAndMigrate(bool inMemory)
{
    // busy_timeout first: switching to WAL needs the file lock.
    if (!raw(u"PRAGMA busy_timeout = "_s + QString::number(kBusyTimeoutMs)))
        return m_lastError;
    if (!inMemory) {
        QVariant mode;
        if (!raw(u"PRAGMA journal_mode = WAL"_s, &mode))
            return m_lastError;
        if (mode.toString().compare(u"wal", Qt::CaseInsensitive) != 0)
            qCWarning(lcClientCache).noquote() << "WAL is not available for" << m_db.databaseName()
                                               << "- using" << mode.toString();
    }
    // A chat cache can lose its last commits on power loss (the server has them again);
    // the outbox batches override this (see commitBatch).
    if (!raw(u"PRAGMA synchronous = NORMAL"_s))
        return m_lastError;
    return migrate();
}

QString CacheWorker::migrate()
{
    QVariant version;
    if (!raw(u"PRAGMA user_version"_s, &version))
        return u"cannot read the schema version: "_s + m_lastError;
    const int latest = int(kMigrations.size());
    const int current = version.toInt();
    if (current > latest)
        return u"schema version %1 is newer than this build supports (%2)"_s.arg(current).arg(
            latest);
    for (int next = current + 1; next <= latest; ++next) {
        bool ok = raw(u"BEGIN IMMEDIATE"_s);
        for (QStringView statement : kMigrations[next - 1])
            ok = ok && raw(statement.toString());
        ok = ok && raw(u"PRAGMA user_version = "_s + QString::number(next)) && raw(u"COMMIT"_s);
        if (!ok) {
            const QString reason = m_lastError;
            raw(u"ROLLBACK"_s);
            return u"schema migration to version %1 failed: %2"_s.arg(next).arg(reason);
        }
        if (current > 0)
            qCInfo(lcClientCache) << "cache schema migrated to version" << next;
    }
    return {};
}

void CacheWorker::close()
{
    commitPending();
    m_state = State::Closed;
    m_statements.clear(); // queries go before the connection they use
    m_db.close();
    m_db = QSqlDatabase();
    if (QSqlDatabase::contains(m_connectionName))
        QSqlDatabase::removeDatabase(m_connectionName);
}

// ---- statements ---------------------------------------------------------------

QSqlQuery *CacheWorker::run(QStringView sql, std::initializer_list<QVariant> values)
{
    auto it = m_statements.find(sql.data());
    if (it == m_statements.end()) {
        QSqlQuery query(m_db);
        query.setForwardOnly(true);
        if (!query.prepare(sql.toString())) {
            m_lastError = query.lastError().text();
            return nullptr;
        }
        it = m_statements.emplace(sql.data(), std::move(query)).first;
    }
    QSqlQuery &query = it->second;
    int index = 0;
    for (const QVariant &value : values)
        query.bindValue(index++, value);
    if (!query.exec()) {
        m_lastError = query.lastError().text();
        query.finish();
        return nullptr;
    }
    return &query;
}

bool CacheWorker::exec(QStringView sql, std::initializer_list<QVariant> values)
{
    QSqlQuery *query = run(sql, values);
    if (query)
        query->finish();
    return query;
}

bool CacheWorker::raw(const QString &sql, QVariant *first)
{
    QSqlQuery query(m_db);
    if (!query.exec(sql)) {
        m_lastError = query.lastError().text();
        return false;
    }
    if (first)
        *first = query.next() ? query.value(0) : QVariant();
    return true;
}

// ---- writes -------------------------------------------------------------------

bool CacheWorker::writeMessages(const QList<ChatMessage> &messages)
{
    struct Seen
    {
        QString conv;
        QString peer;
        qint64 lastSeq = 0;
        qint64 lastTs = 0;
    };
    QList<Seen> seen; // usually one conversation per call
    for (const ChatMessage &m : messages) {
        const bool saved = exec(Sql::SaveMessage,
            {text(m.conv), m.seq, text(m.cid), text(m.from), text(m.to), text(m.body), m.ts,
                int(m.outgoing), int(m.gap), messageStateName(m.state), text(m.failure), m.attempts,
                m.queuedAt, m.sendingAt, m.sentAt, m.deliveredAt, m.readAt, m.failedAt});
        if (!saved)
            return false;
        // Acked: off the outbox in the same transaction, so it is never in both or neither.
        if (m.outgoing && !m.cid.isEmpty() && !exec(Sql::DeleteOutgoing, {m.cid}))
            return false;
        auto it = std::find_if(
            seen.begin(), seen.end(), [&m](const Seen &s) { return s.conv == m.conv; });
        if (it == seen.end())
            it = seen.insert(seen.end(), Seen {m.conv});
        if (it->peer.isEmpty())
            it->peer = m.outgoing ? m.to : m.from;
        it->lastSeq = std::max(it->lastSeq, m.seq);
        it->lastTs = std::max(it->lastTs, m.ts);
    }
    for (const Seen &s : std::as_const(seen)) {
        if (!exec(Sql::TouchConversation, {text(s.conv), text(s.peer), s.lastSeq, s.lastTs}))
            return false;
    }
    return true;
}

bool CacheWorker::writeOutgoing(const ChatMessage &m)
{
    return exec(Sql::SaveOutgoing,
        {text(m.cid), text(m.conv), text(m.to), text(m.from), text(m.body),
            messageStateName(m.state), text(m.failure), int(m.maybeSent), int(m.cancelled),
            m.attempts, m.queuedAt, m.sendingAt, m.failedAt, m.ts});
}

bool CacheWorker::deleteOutgoing(const QString &cid)
{
    return exec(Sql::DeleteOutgoing, {text(cid)});
}

bool CacheWorker::writeConversation(const Cache::ConversationUpdate &u)
{
    return exec(Sql::EnsureConversation, {text(u.conv)})
        && exec(Sql::UpdateConversation,
            {u.peer.isEmpty() ? QVariant() : QVariant(u.peer), known(u.lastSeq), known(u.lastTs),
                known(u.contiguousSeq), known(u.floorSeq), known(u.readUpTo),
                known(u.peerDelivered), known(u.peerRead), text(u.conv)});
}

bool CacheWorker::writePeerReceipt(
    const QString &conv, protocol::ReceiptKind kind, qint64 upTo, qint64 atMs)
{
    if (kind == protocol::ReceiptKind::Delivered) {
        return exec(Sql::PeerDelivered, {atMs, text(conv), upTo})
            && exec(Sql::ConversationDelivered, {upTo, text(conv)});
    }
    return exec(Sql::PeerRead, {atMs, atMs, text(conv), upTo})
        && exec(Sql::ConversationRead, {upTo, upTo, text(conv)});
}

bool CacheWorker::writeRead(const QString &conv, qint64 upTo, qint64 atMs)
{
    return exec(Sql::MarkRead, {atMs, text(conv), upTo})
        && exec(Sql::ConversationReadUpTo, {upTo, text(conv)});
}

// ---- reads --------------------------------------------------------------------

QList<ConversationInfo> CacheWorker::readConversations()
{
    QList<ConversationInfo> conversations;
    if (!isOpen())
        return conversations;
    QSqlQuery *q = run(Sql::Conversations, {});
    if (!q) {
        qCWarning(lcClientCache).noquote() << "cache read failed:" << m_lastError;
        return conversations;
    }
    while (q->next()) {
        ConversationInfo c;
        c.conv = q->value(0).toString();
        c.peer = q->value(1).toString();
        c.lastSeq = q->value(2).toLongLong();
        c.lastTs = q->value(3).toLongLong();
        c.contiguousSeq = q->value(4).toLongLong();
        c.floorSeq = q->value(5).toLongLong();
        c.readUpTo = q->value(6).toLongLong();
        c.peerDelivered = q->value(7).toLongLong();
        c.peerRead = q->value(8).toLongLong();
        c.lastBody = q->value(9).toString();
        c.lastFrom = q->value(10).toString();
        c.unread = q->value(11).toInt();
        conversations.append(std::move(c));
    }
    q->finish(); // holds no read snapshot between calls
    return conversations;
}

QList<ChatMessage> CacheWorker::readMessages(const QString &conv, qint64 beforeSeq, int limit)
{
    if (!isOpen())
        return {};
    const qint64 below = beforeSeq > 0 ? beforeSeq : std::numeric_limits<qint64>::max();
    QList<ChatMessage> messages
        = collectMessages(run(Sql::NewestMessages, {text(conv), below, limit}), conv);
    std::reverse(messages.begin(), messages.end());
    if (beforeSeq <= 0)
        messages.append(readOutbox(conv));
    return messages;
}

QList<ChatMessage> CacheWorker::readRange(const QString &conv, qint64 fromSeq, qint64 toSeq)
{
    if (!isOpen())
        return {};
    return collectMessages(run(Sql::MessageRange, {text(conv), fromSeq, toSeq}), conv);
}

QList<ChatMessage> CacheWorker::readOutbox(const QString &conv)
{
    if (!isOpen())
        return {};
    return collectOutbox(
        conv.isEmpty() ? run(Sql::Outbox, {}) : run(Sql::OutboxOfConversation, {conv}));
}

QList<ChatMessage> CacheWorker::collectMessages(QSqlQuery *q, const QString &conv)
{
    QList<ChatMessage> messages;
    if (!q) {
        qCWarning(lcClientCache).noquote() << "cache read failed:" << m_lastError;
        return messages;
    }
    while (q->next()) {
        ChatMessage m;
        m.conv = conv;
        m.seq = q->value(0).toLongLong();
        m.cid = q->value(1).toString();
        m.from = q->value(2).toString();
        m.to = q->value(3).toString();
        m.body = q->value(4).toString();
        m.ts = q->value(5).toLongLong();
        m.outgoing = q->value(6).toBool();
        m.gap = q->value(7).toBool();
        m.state = stateFromName(
            q->value(8).toString(), m.outgoing ? MessageState::Sent : MessageState::Received);
        m.failure = q->value(9).toString();
        m.attempts = q->value(10).toInt();
        m.queuedAt = q->value(11).toLongLong();
        m.sendingAt = q->value(12).toLongLong();
        m.sentAt = q->value(13).toLongLong();
        m.deliveredAt = q->value(14).toLongLong();
        m.readAt = q->value(15).toLongLong();
        m.failedAt = q->value(16).toLongLong();
        messages.append(std::move(m));
    }
    q->finish();
    return messages;
}

QList<ChatMessage> CacheWorker::collectOutbox(QSqlQuery *q)
{
    QList<ChatMessage> messages;
    if (!q) {
        qCWarning(lcClientCache).noquote() << "cache read failed:" << m_lastError;
        return messages;
    }
    while (q->next()) {
        ChatMessage m;
        m.outgoing = true; // seq stays 0: not acked
        m.cid = q->value(0).toString();
        m.conv = q->value(1).toString();
        m.to = q->value(2).toString();
        m.from = q->value(3).toString();
        m.body = q->value(4).toString();
        m.state = stateFromName(q->value(5).toString(), MessageState::Queued);
        m.failure = q->value(6).toString();
        m.maybeSent = q->value(7).toBool();
        m.attempts = q->value(8).toInt();
        m.queuedAt = q->value(9).toLongLong();
        m.sendingAt = q->value(10).toLongLong();
        m.failedAt = q->value(11).toLongLong();
        m.ts = q->value(12).toLongLong();
        m.cancelled = q->value(13).toBool();
        messages.append(std::move(m));
    }
    q->finish();
    return messages;
}

} // namespace parley::client
