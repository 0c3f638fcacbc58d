// SqliteStore: the embedded Store.
//
// Schema (version = PRAGMA user_version; kMigrations upgrades one version per
// entry, each in its own transaction; append entries, never edit old ones):
//   users(name TEXT PK, password_hash BLOB, created_at, last_seen NULL)     WITHOUT ROWID
//   tokens(token_hash BLOB PK, user -> users, device, expires, revoked 0|1)  WITHOUT ROWID
//   conversations(conv TEXT PK "a:b", user_a < user_b -> users, last_seq, last_ts,
//                 a_delivered, a_read, b_delivered, b_read)  WITHOUT ROWID, indexed by
//                 user_a and by user_b (not by last_ts, which changes on every send)
//   messages(id INTEGER PK, conv, seq, sender, recipient NULL, cid, body, ts, event NULL)
//                 UNIQUE(conv, seq) serves history, UNIQUE(sender, cid) is the
//                 idempotency key. A rowid table on purpose: bodies can be large, and
//                 an FTS5 external-content index (search) needs an integer rowid. Since
//                 version 4 `conv` is a one-on-one conversation or a group; a group's
//                 messages have no recipient, its membership entries an `event` (JSON).
//   groups(conv TEXT PK "g:...", name, created_by -> users, created_at, last_seq, last_ts)
//   group_members(conv -> groups, user -> users, admin, joined_seq, left_seq NULL,
//                 delivered, read) WITHOUT ROWID, indexed by user (version 4,
//                 docs/groups.md); a former member keeps their row with left_seq set.
//   message_search: FTS5 over messages.body and who may see each message (version 2;
//                 sqlitesearch.h), written in batches by the store thread since version 3:
//   search_progress(indexed_up_to): the highest message id the index holds. Messages above
//                 it are indexed IndexDelayMs after they are stored, or sooner (a search
//                 waiting, IndexBatchMessages waiting, the store opening or closing).
//
// Concurrency: one store thread owns the only connection. It drains the whole
// queue into one BEGIN IMMEDIATE ... COMMIT (group commit), runs each write in
// its own SAVEPOINT so a failing operation rolls back alone, and calls the
// callbacks only after COMMIT, in submission order. Searches, the one slow read, wait
// in a queue of their own and run one at a time between those transactions, in a read
// transaction of their own: a search never holds a write transaction open, and a burst
// of searches delays the writes queued behind them by one search at most.
#include "sqlitestore.h"

#include "logging.h"
#include "sqlitesearch.h"
#include "storethread.h"
#include "walcheckpointer.h"

#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QThread>
#include <QVariant>

#include <algorithm>
#include <array>
#include <atomic>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <unordered_map>

using namespace Qt::StringLiterals;

namespace parley::server {

namespace {

constexpr QStringView kSchemaV1[] = {
    u"CREATE TABLE users (name TEXT PRIMARY KEY NOT NULL, password_hash BLOB NOT NULL,"
    u" created_at INTEGER NOT NULL, last_seen INTEGER) WITHOUT ROWID",
    u"CREATE TABLE tokens (token_hash BLOB PRIMARY KEY NOT NULL,"
    u" user TEXT NOT NULL REFERENCES users(name), device TEXT NOT NULL,"
    u" expires INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    u"CREATE INDEX tokens_by_user ON tokens(user)",
    u"CREATE TABLE conversations (conv TEXT PRIMARY KEY NOT NULL,"
    u" user_a TEXT NOT NULL REFERENCES users(name), user_b TEXT NOT NULL REFERENCES users(name),"
    u" last_seq INTEGER NOT NULL DEFAULT 0, last_ts INTEGER NOT NULL DEFAULT 0,"
    u" a_delivered INTEGER NOT NULL DEFAULT 0, a_read INTEGER NOT NULL DEFAULT 0,"
    u" b_delivered INTEGER NOT NULL DEFAULT 0, b_read INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    u"CREATE INDEX conversations_by_a ON conversations(user_a)",
    u"CREATE INDEX conversations_by_b ON conversations(user_b)",
    u"CREATE TABLE messages (id INTEGER PRIMARY KEY,"
    u" conv TEXT NOT NULL REFERENCES conversations(conv), seq INTEGER NOT NULL,"
    u" sender TEXT NOT NULL, recipient TEXT NOT NULL, cid TEXT NOT NULL, body TEXT NOT NULL,"
    u" ts INTEGER NOT NULL, UNIQUE (conv, seq))",
    u"CREATE UNIQUE INDEX messages_by_sender_cid ON messages(sender, cid)",
};

// Version 4: group conversations (docs/groups.md). `messages` is rebuilt the way SQLite
// documents for a changed constraint (a new table, a copy with the same ids, drop, rename):
// `conv` no longer references `conversations` (a group's id is in `groups`; appends are
// the only writers and check the conversation), `recipient` may be NULL (a group message
// has none) and `event` holds a membership entry's JSON. The same ids keep the search index
// valid. With foreign keys on, the DROP deletes the rows first: the upgrade reads and
// writes every message twice, once.
constexpr QStringView kSchemaV4[] = {
    u"CREATE TABLE groups (conv TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,"
    u" created_by TEXT NOT NULL REFERENCES users(name), created_at INTEGER NOT NULL,"
    u" last_seq INTEGER NOT NULL DEFAULT 0, last_ts INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID",
    u"CREATE TABLE group_members (conv TEXT NOT NULL REFERENCES groups(conv),"
    u" user TEXT NOT NULL REFERENCES users(name),"
    u" admin INTEGER NOT NULL DEFAULT 0, joined_seq INTEGER NOT NULL, left_seq INTEGER,"
    u" delivered INTEGER NOT NULL DEFAULT 0, read INTEGER NOT NULL DEFAULT 0,"
    u" PRIMARY KEY (conv, user)) WITHOUT ROWID",
    u"CREATE INDEX group_members_by_user ON group_members(user)",
    sqlitesearch::DropBeforeV4[0],
    sqlitesearch::DropBeforeV4[1],
    sqlitesearch::DropBeforeV4[2],
    u"CREATE TABLE messages_v4 (id INTEGER PRIMARY KEY, conv TEXT NOT NULL,"
    u" seq INTEGER NOT NULL, sender TEXT NOT NULL, recipient TEXT, cid TEXT NOT NULL,"
    u" body TEXT NOT NULL, ts INTEGER NOT NULL, event TEXT, UNIQUE (conv, seq))",
    u"INSERT INTO messages_v4 (id, conv, seq, sender, recipient, cid, body, ts)"
    u" SELECT id, conv, seq, sender, recipient, cid, body, ts FROM messages ORDER BY id",
    u"DROP TABLE messages",
    u"ALTER TABLE messages_v4 RENAME TO messages",
    u"CREATE UNIQUE INDEX messages_by_sender_cid ON messages(sender, cid)",
    sqlitesearch::CreateAfterV4[0],
    sqlitesearch::CreateAfterV4[1],
    sqlitesearch::CreateAfterV4[2],
};
static_assert(
    std::size(sqlitesearch::DropBeforeV4) == 3 && std::size(sqlitesearch::CreateAfterV4) == 3);

constexpr std::array<std::span<const QStringView>, 4> kMigrations
    = {kSchemaV1, sqlitesearch::SchemaV2, sqlitesearch::SchemaV3, kSchemaV4};

constexpr qint64 kMaxHistory = 1000;
constexpr qint64 kMaxUsers = 1000;
constexpr int kMaxSearchHits = 100;
// The write-ahead log is copied back every CheckpointIntervalMs by WalCheckpointer; the
// store's own automatic checkpoint (inside a commit) only runs if the log ever reaches
// BackstopCheckpointPages (40 MiB of 4 KiB pages; SQLite's default is 1,000).
constexpr int CheckpointIntervalMs = 200;
constexpr int BackstopCheckpointPages = 10000;

// Prepared once per connection and cached by address, so each must stay a
// distinct constant.
namespace Sql {
constexpr QStringView Begin = u"BEGIN IMMEDIATE"; // takes the write lock up front: no deadlock
constexpr QStringView BeginRead = u"BEGIN"; // a batch of reads only: no write lock needed
constexpr QStringView Commit = u"COMMIT";
constexpr QStringView Rollback = u"ROLLBACK";
constexpr QStringView Savepoint = u"SAVEPOINT task";
constexpr QStringView Release = u"RELEASE task";
constexpr QStringView RollbackTo = u"ROLLBACK TO task";
constexpr QStringView IndexState
    = u"SELECT indexed_up_to, (SELECT coalesce(max(id), 0) FROM messages)"
      u" FROM search_progress";
constexpr QStringView SetIndexed = u"UPDATE search_progress SET indexed_up_to = ?";
constexpr QStringView InsertUser = u"INSERT INTO users (name, password_hash, created_at)"
                                   u" VALUES (?, ?, ?) ON CONFLICT DO NOTHING";
constexpr QStringView FindUser = u"SELECT password_hash, last_seen FROM users WHERE name = ?";
// A range, not LIKE: '_' and '%' are valid in names. char(0x10FFFF) sorts last.
constexpr QStringView ListUsers = u"SELECT name FROM users WHERE name >= ?"
                                  u" AND name < ? || char(1114111) ORDER BY name LIMIT ?";
constexpr QStringView FindUsers = u"SELECT name FROM users WHERE name IN (?, ?)";
constexpr QStringView SetLastSeen = u"UPDATE users SET last_seen = ? WHERE name = ?";
constexpr QStringView LastSeen
    = u"SELECT last_seen FROM users WHERE name = ? AND last_seen IS NOT NULL";
constexpr QStringView InsertToken = u"INSERT INTO tokens (token_hash, user, device, expires)"
                                    u" VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING";
constexpr QStringView FindToken = u"SELECT user, device, expires FROM tokens"
                                  u" WHERE token_hash = ? AND revoked = 0 AND expires > ?";
constexpr QStringView RevokeToken = u"UPDATE tokens SET revoked = 1 WHERE token_hash = ?";
constexpr QStringView FindByCid
    = u"SELECT conv, seq, recipient, body, ts FROM messages WHERE sender = ? AND cid = ?";
constexpr QStringView BumpConversation = u"UPDATE conversations SET last_seq = last_seq + 1,"
                                         u" last_ts = ? WHERE conv = ? RETURNING last_seq";
constexpr QStringView InsertConversation = u"INSERT INTO conversations"
                                           u" (conv, user_a, user_b, last_seq, last_ts)"
                                           u" VALUES (?, ?, ?, 1, ?)";
constexpr QStringView InsertMessage = u"INSERT INTO messages"
                                      u" (conv, seq, sender, recipient, cid, body, ts)"
                                      u" VALUES (?, ?, ?, ?, ?, ?, ?)";
constexpr QStringView FindConversation
    = u"SELECT user_a, user_b, last_seq, a_delivered, a_read, b_delivered, b_read"
      u" FROM conversations WHERE conv = ?";
constexpr QStringView SetReceiptsA
    = u"UPDATE conversations SET a_delivered = ?, a_read = ? WHERE conv = ?";
constexpr QStringView SetReceiptsB
    = u"UPDATE conversations SET b_delivered = ?, b_read = ? WHERE conv = ?";
constexpr QStringView ListConversations
    = u"SELECT conv, user_a, user_b, last_seq, last_ts, a_delivered, a_read, b_delivered, b_read"
      u" FROM conversations WHERE user_a = ? UNION ALL"
      u" SELECT conv, user_a, user_b, last_seq, last_ts, a_delivered, a_read, b_delivered, b_read"
      u" FROM conversations WHERE user_b = ? ORDER BY last_ts DESC, conv";
constexpr QStringView HistoryRange = u"SELECT seq, sender, recipient, cid, body, ts FROM messages"
                                     u" WHERE conv = ? AND seq BETWEEN ? AND ? ORDER BY seq";
constexpr QStringView Peers = u"SELECT user_b FROM conversations WHERE user_a = ?"
                              u" UNION SELECT user_a FROM conversations WHERE user_b = ?";
// Groups (version 4). A membership entry is a message with an `event` and no recipient;
// its (sender, cid) makes the request idempotent like a message's.
constexpr QStringView InsertGroup = u"INSERT INTO groups (conv, name, created_by, created_at)"
                                    u" VALUES (?, ?, ?, ?)";
constexpr QStringView FindGroup
    = u"SELECT name, created_by, last_seq, last_ts FROM groups WHERE conv = ?";
constexpr QStringView GroupMembers
    = u"SELECT user, admin, joined_seq, left_seq, delivered, read FROM group_members"
      u" WHERE conv = ? ORDER BY user";
constexpr QStringView MemberSince
    = u"SELECT joined_seq FROM group_members WHERE conv = ? AND user = ? AND left_seq IS NULL";
// A former member added again keeps their receipts: they only ever grow.
constexpr QStringView JoinGroup
    = u"INSERT INTO group_members (conv, user, admin, joined_seq) VALUES (?, ?, ?, ?)"
      u" ON CONFLICT (conv, user) DO UPDATE SET admin = excluded.admin,"
      u" joined_seq = excluded.joined_seq, left_seq = NULL";
constexpr QStringView LeaveGroup
    = u"UPDATE group_members SET left_seq = ?, admin = 0 WHERE conv = ? AND user = ?";
constexpr QStringView SetGroupAdmin
    = u"UPDATE group_members SET admin = ? WHERE conv = ? AND user = ?";
constexpr QStringView RenameGroup = u"UPDATE groups SET name = ? WHERE conv = ?";
constexpr QStringView BumpGroup = u"UPDATE groups SET last_seq = last_seq + 1, last_ts = ?"
                                  u" WHERE conv = ? RETURNING last_seq";
constexpr QStringView InsertGroupMessage
    = u"INSERT INTO messages (conv, seq, sender, recipient, cid, body, ts, event)"
      u" VALUES (?, ?, ?, NULL, ?, ?, ?, ?)";
constexpr QStringView FindEntryByCid
    = u"SELECT conv, seq, ts, event FROM messages WHERE sender = ? AND cid = ?";
} // namespace Sql

// Busy, locked, out of memory, read-only, I/O error, disk full, cannot open:
// the backend is unwell rather than the request wrong, so callers may retry.
StoreError fromSqlError(const QSqlError &error)
{
    bool numeric = false;
    const int primary = error.nativeErrorCode().toInt(&numeric) & 0xff;
    const bool transient = numeric
        && (primary == 5 || primary == 6 || primary == 7 || primary == 8 || primary == 10
            || primary == 13 || primary == 14);
    return StoreError {
        transient ? StoreError::Code::Unavailable : StoreError::Code::Internal, error.text()};
}

// "a:b" with the names sorted, as in PROTOCOL.md (kept local: no link dependency).
QString conversationKey(const QString &a, const QString &b)
{
    return a < b ? a + u':' + b : b + u':' + a;
}

QString prepareDataDir(const QString &dir)
{
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(dir.toStdU16String()), ec);
    if (ec)
        return u"data dir "_s + dir + u" cannot be created: "_s
            + QString::fromStdString(ec.message());
    // Catches read-only mounts and permissions even when running as root.
    QFile probe(QDir(dir).filePath(u".parley-write-probe"_s));
    if (!probe.open(QIODevice::WriteOnly))
        return u"data dir "_s + dir + u" is not writable: "_s + probe.errorString();
    probe.close();
    probe.remove();
    return {};
}

} // namespace

// ---- the store thread's connection ------------------------------------------

class SqliteStore::Connection
{
public:
    explicit Connection(QString name)
        : m_name(std::move(name))
    { }
    ~Connection()
    {
        m_statements.clear(); // queries go before the connection they use
        if (m_db.isValid())
            m_db.close();
        m_db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_name);
    }
    Q_DISABLE_COPY_MOVE(Connection)

    QString open(const QString &path, int busyTimeoutMs);

    bool exec(QStringView sql, std::initializer_list<QVariant> values = {})
    {
        QSqlQuery *query = run(sql, values);
        if (query)
            query->finish();
        return query;
    }

    template<typename Row>
    bool select(QStringView sql, std::initializer_list<QVariant> values, Row &&row)
    {
        QSqlQuery *query = run(sql, values);
        if (!query)
            return false;
        while (query->next())
            row(*query);
        const QSqlError error = query->lastError();
        query->finish(); // resets the statement so it holds no read snapshot
        if (error.isValid())
            m_error = fromSqlError(error);
        return !error.isValid();
    }

    Result<QStringList> strings(QStringView sql, std::initializer_list<QVariant> values)
    {
        QStringList column;
        if (!select(sql, values, [&](const QSqlQuery &q) { column.append(q.value(0).toString()); }))
            return m_error;
        return column;
    }

    int changes() const { return m_changes; } // rows written by the last exec()
    const StoreError &error() const { return m_error; }

private:
    QSqlQuery *run(QStringView sql, std::initializer_list<QVariant> values)
    {
        auto it = m_statements.find(sql.data());
        if (it == m_statements.end()) {
            QSqlQuery query(m_db);
            query.setForwardOnly(true);
            if (!query.prepare(sql.toString())) {
                m_error = fromSqlError(query.lastError());
                return nullptr;
            }
            it = m_statements.emplace(sql.data(), std::move(query)).first;
        }
        QSqlQuery &query = it->second;
        int index = 0;
        for (const QVariant &value : values) {
            // Qt binds a null QString as SQL NULL; the text columns here are NOT NULL.
            const bool nullText = value.typeId() == QMetaType::QString
                && static_cast<const QString *>(value.constData())->isNull();
            query.bindValue(index++, nullText ? QVariant(u""_s) : value);
        }
        if (!query.exec()) {
            m_error = fromSqlError(query.lastError());
            query.finish();
            return nullptr;
        }
        m_changes = query.numRowsAffected();
        return &query;
    }

    // One-off statements (pragmas, migrations); `first` receives the first value.
    bool raw(const QString &sql, QVariant *first = nullptr)
    {
        QSqlQuery query(m_db);
        if (!query.exec(sql)) {
            m_error = fromSqlError(query.lastError());
            return false;
        }
        if (first)
            *first = query.next() ? query.value(0) : QVariant();
        return true;
    }

    QString migrate();

    const QString m_name;
    QSqlDatabase m_db;
    std::unordered_map<const void *, QSqlQuery> m_statements; // keyed by the Sql:: constant
    StoreError m_error;
    int m_changes = 0;
};

QString SqliteStore::Connection::open(const QString &path, int busyTimeoutMs)
{
    m_db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_name);
    if (!m_db.isValid())
        return u"the Qt SQLite driver (QSQLITE) is not available"_s;
    m_db.setDatabaseName(path);
    if (!m_db.open())
        return u"cannot open "_s + path + u": "_s + m_db.lastError().text();
    QVariant mode;
    // busy_timeout first: switching to WAL needs the file lock.
    if (!raw(u"PRAGMA busy_timeout = "_s + QString::number(busyTimeoutMs))
        || !raw(u"PRAGMA journal_mode = WAL"_s, &mode) || !raw(u"PRAGMA synchronous = FULL"_s)
        || !raw(u"PRAGMA foreign_keys = ON"_s)
        // A backstop only: WalCheckpointer checkpoints beside this connection far sooner.
        || !raw(u"PRAGMA wal_autocheckpoint = "_s + QString::number(BackstopCheckpointPages)))
        return u"cannot configure "_s + path + u": "_s + m_error.message;
    if (mode.toString().compare(u"wal", Qt::CaseInsensitive) != 0)
        qCWarning(lcServerStore).noquote()
            << "WAL is not available for" << path << "- using" << mode.toString();
    const QString problem = migrate();
    return problem.isEmpty() ? QString() : path + u": "_s + problem;
}

QString SqliteStore::Connection::migrate()
{
    QVariant version;
    if (!raw(u"PRAGMA user_version"_s, &version))
        return u"cannot read the schema version: "_s + m_error.message;
    const int latest = int(kMigrations.size());
    const int current = version.toInt();
    if (current > latest)
        return u"schema version %1 is newer than this build supports (%2)"_s.arg(current).arg(
            latest);
    for (int next = current + 1; next <= latest; ++next) {
        if (current > 0) // indexing existing messages for search can take minutes
            qCInfo(lcServerStore) << "migrating the schema to version" << next;
        bool ok = raw(u"BEGIN IMMEDIATE"_s);
        for (QStringView statement : kMigrations[next - 1])
            ok = ok && raw(statement.toString());
        ok = ok && raw(u"PRAGMA user_version = "_s + QString::number(next)) && raw(u"COMMIT"_s);
        if (!ok) {
            const QString reason = m_error.message;
            raw(u"ROLLBACK"_s);
            return u"schema migration to version %1 failed: %2"_s.arg(next).arg(reason);
        }
        if (current > 0)
            qCInfo(lcServerStore) << "schema migrated to version" << next;
    }
    return {};
}

// ---- queued operations --------------------------------------------------------

class SqliteStore::Task
{
public:
    enum class Outcome { Succeeded, Failed, Broken }; // Broken: the transaction may be gone
    explicit Task(bool writes)
        : writes(writes)
    { }
    virtual ~Task() = default;
    virtual Outcome run(Connection &db) = 0; // computes the result, on the store thread
    virtual void complete() = 0; // delivers it, after COMMIT
    virtual void fail(const StoreError &error) = 0;
    const bool writes;
};

namespace {

using Connection = SqliteStore::Connection;

template<typename T> class TypedTask final : public SqliteStore::Task
{
public:
    using Body = std::function<Result<T>(Connection &)>;
    TypedTask(bool writes, Body body, Callback<T> done)
        : Task(writes)
        , m_body(std::move(body))
        , m_done(std::move(done))
    { }

    Outcome run(Connection &db) override
    {
        m_result.emplace(m_body(db));
        if (m_result->ok())
            return Outcome::Succeeded;
        return m_result->error().code == StoreError::Code::Unavailable ? Outcome::Broken
                                                                       : Outcome::Failed;
    }
    void complete() override { m_done(std::move(*m_result)); }
    void fail(const StoreError &error) override { m_done(Result<T>(error)); }

private:
    Body m_body;
    Callback<T> m_done;
    std::optional<Result<T>> m_result;
};

constexpr bool Writes = true;
constexpr bool Reads = false;

template<typename T>
std::unique_ptr<SqliteStore::Task> task(
    bool writes, Callback<T> done, typename TypedTask<T>::Body body)
{
    if (!done)
        done = [](Result<T>) {}; // "exactly once" needs something to call
    return std::make_unique<TypedTask<T>>(writes, std::move(body), std::move(done));
}

// ---- groups (docs/groups.md) ----

bool isGroupId(const QString &conv)
{
    return conv.startsWith(u"g:"_s);
}

const StoreError &notAMember()
{
    static const StoreError error {
        StoreError::Code::Forbidden, u"conv: you are not a member of this group"_s};
    return error;
}

// The group as stored; nullopt (and no error) when there is no such group.
Result<std::optional<GroupState>> loadGroup(Connection &db, const QString &conv)
{
    std::optional<GroupState> group;
    if (!db.select(Sql::FindGroup, {conv}, [&](const QSqlQuery &q) {
            group = GroupState {conv, q.value(0).toString(), q.value(1).toString(), {},
                q.value(2).toLongLong(), q.value(3).toLongLong()};
        }))
        return db.error();
    if (!group)
        return std::optional<GroupState>();
    if (!db.select(Sql::GroupMembers, {conv}, [&](const QSqlQuery &q) {
            GroupMember m {q.value(0).toString(), q.value(1).toBool(), q.value(2).toLongLong(),
                std::nullopt, q.value(4).toLongLong(), q.value(5).toLongLong()};
            if (!q.value(3).isNull())
                m.leftSeq = q.value(3).toLongLong();
            group->members.append(m);
        }))
        return db.error();
    return group;
}

// Appends the group's next message or, with an `event`, membership entry (the group
// exists): its seq.
Result<qint64> appendGroupRow(Connection &db, const QString &conv, const QString &from,
    const QString &cid, const QString &body, qint64 ts, const QJsonObject &event = {})
{
    qint64 seq = 0;
    if (!db.select(
            Sql::BumpGroup, {ts, conv}, [&](const QSqlQuery &q) { seq = q.value(0).toLongLong(); }))
        return db.error();
    // A null QVariant binds SQL NULL: a message has no event.
    const QVariant stored = event.isEmpty()
        ? QVariant()
        : QVariant(QString::fromUtf8(QJsonDocument(event).toJson(QJsonDocument::Compact)));
    if (!db.exec(Sql::InsertGroupMessage, {conv, seq, from, cid, body, ts, stored}))
        return db.error();
    return seq;
}

// The group as `user`, a member now or before, may see it; Forbidden for anyone else and
// for a group that does not exist.
Result<GroupState> readGroup(Connection &db, const QString &conv, const QString &user)
{
    const auto group = loadGroup(db, conv);
    if (!group)
        return group.error();
    if (!group.value() || !group.value()->member(user))
        return notAMember();
    return *group.value();
}

// The outcome of a membership entry: the entry as a message of the group, and the group
// as it stands now.
Result<GroupOutcome> entryOutcome(Connection &db, const QString &conv, qint64 seq,
    const QString &actor, const QString &cid, qint64 ts, QJsonObject event, bool duplicate)
{
    const Result<GroupState> group = readGroup(db, conv, actor);
    if (!group)
        return group.error();
    return GroupOutcome {protocol::Message {conv, seq, actor, {}, cid, {}, ts}, std::move(event),
        group.value(), duplicate};
}

// NotFound naming the first of `users` who does not exist (`field`: the request's field).
std::optional<StoreError> missingUser(Connection &db, const QStringList &users, QStringView field)
{
    for (const QString &user : users) {
        bool exists = false;
        if (!db.select(Sql::FindUser, {user}, [&](const QSqlQuery &) { exists = true; }))
            return db.error();
        if (!exists)
            return StoreError {
                StoreError::Code::NotFound, u"%1: there is no user named '%2'"_s.arg(field, user)};
    }
    return std::nullopt;
}

Result<StoredSend> appendToGroup(Connection &db, const SendRequest &send)
{
    bool member = false;
    if (!db.select(
            Sql::MemberSince, {send.to, send.from}, [&](const QSqlQuery &) { member = true; }))
        return db.error();
    if (!member)
        return notAMember();
    const Result<qint64> seq = appendGroupRow(db, send.to, send.from, send.cid, send.body, send.ts);
    if (!seq)
        return seq.error();
    return StoredSend {
        protocol::Message {send.to, seq.value(), send.from, {}, send.cid, send.body, send.ts},
        false};
}

QString groupOpName(GroupOp op)
{
    switch (op) {
    case GroupOp::Add:
        return u"add"_s;
    case GroupOp::Remove:
        return u"remove"_s;
    case GroupOp::Leave:
        return u"leave"_s;
    case GroupOp::Rename:
        return u"rename"_s;
    case GroupOp::MakeAdmin:
        return u"admin"_s;
    case GroupOp::MakeMember:
        return u"member"_s;
    }
    return {};
}

// A (sender, cid) already stored: the first outcome again if it was a membership entry.
std::optional<Result<GroupOutcome>> repeatedEntry(
    Connection &db, const QString &actor, const QString &cid)
{
    std::optional<protocol::Message> first;
    QString event;
    if (!db.select(Sql::FindEntryByCid, {actor, cid}, [&](const QSqlQuery &q) {
            first = protocol::Message {q.value(0).toString(), q.value(1).toLongLong(), actor, {},
                cid, {}, q.value(2).toLongLong()};
            event = q.value(3).toString();
        }))
        return Result<GroupOutcome>(db.error());
    if (!first)
        return std::nullopt;
    if (event.isEmpty())
        return Result<GroupOutcome>(
            StoreError {StoreError::Code::Invalid, u"cid: already used by a message of yours"_s});
    return entryOutcome(db, first->conv, first->seq, actor, cid, first->ts,
        QJsonDocument::fromJson(event.toUtf8()).object(), true);
}

QString newGroupId()
{
    QByteArray random(16, Qt::Uninitialized);
    QRandomGenerator::system()->generate(random.begin(), random.end());
    return u"g:"_s
        + QString::fromLatin1(
            random.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
}

Result<GroupOutcome> createGroup(Connection &db, const NewGroup &group)
{
    if (auto repeated = repeatedEntry(db, group.creator, group.cid))
        return *repeated;
    if (auto missing = missingUser(db, group.members, u"members"))
        return *missing;
    const QString conv = newGroupId();
    if (!db.exec(Sql::InsertGroup, {conv, group.name, group.creator, group.ts}))
        return db.error();
    QJsonObject event {{u"op"_s, u"create"_s}, {u"name"_s, group.name},
        {u"users"_s, QJsonArray::fromStringList(group.members)}};
    const Result<qint64> seq
        = appendGroupRow(db, conv, group.creator, group.cid, u""_s, group.ts, event); // 1
    if (!seq)
        return seq.error();
    if (!db.exec(Sql::JoinGroup, {conv, group.creator, true, seq.value()}))
        return db.error();
    for (const QString &user : group.members) {
        if (!db.exec(Sql::JoinGroup, {conv, user, false, seq.value()}))
            return db.error();
    }
    return entryOutcome(
        db, conv, seq.value(), group.creator, group.cid, group.ts, std::move(event), false);
}

Result<GroupOutcome> changeGroup(Connection &db, const GroupChange &change)
{
    if (auto repeated = repeatedEntry(db, change.actor, change.cid))
        return *repeated;
    const auto loaded = loadGroup(db, change.conv);
    if (!loaded)
        return loaded.error();
    if (!loaded.value() || !loaded.value()->isMember(change.actor))
        return notAMember();
    const GroupState &group = *loaded.value();
    const GroupMember *actor = group.member(change.actor);
    if (change.op != GroupOp::Leave && !actor->admin)
        return StoreError {
            StoreError::Code::Forbidden, u"only an admin of the group can do this"_s};

    const auto invalid = [](const QString &message) {
        return StoreError {StoreError::Code::Invalid, message};
    };
    QStringList current, admins;
    for (const GroupMember &m : group.members) {
        if (!m.leftSeq) {
            current.append(m.user);
            if (m.admin)
                admins.append(m.user);
        }
    }
    QStringList users = change.op == GroupOp::Leave ? QStringList {change.actor} : change.users;
    switch (change.op) {
    case GroupOp::Add:
        if (current.size() + users.size() > change.maxMembers)
            return invalid(u"users: a group has at most %1 members"_s.arg(change.maxMembers));
        for (const QString &user : users) {
            if (current.contains(user))
                return invalid(u"users: '%1' is already a member"_s.arg(user));
        }
        if (auto missing = missingUser(db, users, u"users"))
            return *missing;
        break;
    case GroupOp::Remove:
    case GroupOp::Leave:
    case GroupOp::MakeMember:
        for (const QString &user : users) {
            if (!current.contains(user))
                return invalid(u"users: '%1' is not a member"_s.arg(user));
            if (change.op == GroupOp::MakeMember && !admins.contains(user))
                return invalid(u"users: '%1' is not an admin"_s.arg(user));
        }
        if (change.op == GroupOp::Remove && users.contains(change.actor))
            return invalid(u"users: to leave the group, leave it"_s);
        {
            QStringList remainingAdmins = admins, remaining = current;
            for (const QString &user : users) {
                remainingAdmins.removeAll(user);
                if (change.op != GroupOp::MakeMember)
                    remaining.removeAll(user);
            }
            if (remainingAdmins.isEmpty() && !remaining.isEmpty())
                return invalid(u"the group needs an admin: name another admin first"_s);
        }
        break;
    case GroupOp::MakeAdmin:
        for (const QString &user : users) {
            if (!current.contains(user))
                return invalid(u"users: '%1' is not a member"_s.arg(user));
            if (admins.contains(user))
                return invalid(u"users: '%1' is already an admin"_s.arg(user));
        }
        break;
    case GroupOp::Rename:
        if (change.name == group.name)
            return invalid(u"name: the group already has this name"_s);
        break;
    }

    QJsonObject event {{u"op"_s, groupOpName(change.op)}};
    if (change.op == GroupOp::Rename)
        event.insert(u"name"_s, change.name);
    else
        event.insert(u"users"_s, QJsonArray::fromStringList(users));
    const Result<qint64> seq
        = appendGroupRow(db, change.conv, change.actor, change.cid, u""_s, change.ts, event);
    if (!seq)
        return seq.error();
    for (const QString &user : users) {
        bool ok = true;
        switch (change.op) {
        case GroupOp::Add:
            ok = db.exec(Sql::JoinGroup, {change.conv, user, false, seq.value()});
            break;
        case GroupOp::Remove:
        case GroupOp::Leave:
            ok = db.exec(Sql::LeaveGroup, {seq.value(), change.conv, user});
            break;
        case GroupOp::MakeAdmin:
        case GroupOp::MakeMember:
            ok = db.exec(Sql::SetGroupAdmin, {change.op == GroupOp::MakeAdmin, change.conv, user});
            break;
        case GroupOp::Rename:
            break;
        }
        if (!ok)
            return db.error();
    }
    if (change.op == GroupOp::Rename && !db.exec(Sql::RenameGroup, {change.name, change.conv}))
        return db.error();
    return entryOutcome(
        db, change.conv, seq.value(), change.actor, change.cid, change.ts, std::move(event), false);
}

Result<StoredSend> append(Connection &db, const SendRequest &send)
{
    std::optional<protocol::Message> first;
    const bool found = db.select(Sql::FindByCid, {send.from, send.cid}, [&](const QSqlQuery &q) {
        first = protocol::Message {q.value(0).toString(), q.value(1).toLongLong(), send.from,
            q.value(2).toString(), send.cid, q.value(3).toString(), q.value(4).toLongLong()};
    });
    if (!found)
        return db.error();
    if (first)
        return StoredSend {*first, true};

    if (isGroupId(send.to))
        return appendToGroup(db, send);
    const QString conv = conversationKey(send.from, send.to);
    qint64 seq = 0;
    if (!db.select(Sql::BumpConversation, {send.ts, conv},
            [&](const QSqlQuery &q) { seq = q.value(0).toLongLong(); }))
        return db.error();
    if (seq == 0) {
        // A new conversation. Users are never deleted, so only now must both exist.
        const Result<QStringList> known = db.strings(Sql::FindUsers, {send.from, send.to});
        if (!known)
            return known.error();
        for (const QString &user : {send.to, send.from}) {
            if (!known.value().contains(user))
                return StoreError {StoreError::Code::NotFound, u"no such user: "_s + user};
        }
        const bool fromFirst = send.from < send.to;
        if (!db.exec(Sql::InsertConversation,
                {conv, fromFirst ? send.from : send.to, fromFirst ? send.to : send.from, send.ts}))
            return db.error();
        seq = 1;
    }
    if (!db.exec(Sql::InsertMessage, {conv, seq, send.from, send.to, send.cid, send.body, send.ts}))
        return db.error();
    return StoredSend {
        protocol::Message {conv, seq, send.from, send.to, send.cid, send.body, send.ts}, false};
}

struct ConversationRow
{
    QString userA, userB;
    qint64 lastSeq = 0, aDelivered = 0, aRead = 0, bDelivered = 0, bRead = 0;
};

Result<ReceiptOutcome> receipt(Connection &db, const ReceiptUpdate &update)
{
    std::optional<ConversationRow> row;
    if (!db.select(Sql::FindConversation, {update.conv}, [&](const QSqlQuery &q) {
            row = ConversationRow {q.value(0).toString(), q.value(1).toString(),
                q.value(2).toLongLong(), q.value(3).toLongLong(), q.value(4).toLongLong(),
                q.value(5).toLongLong(), q.value(6).toLongLong()};
        }))
        return db.error();
    if (!row || (update.user != row->userA && update.user != row->userB))
        return ReceiptOutcome {};
    const bool isA = update.user == row->userA;
    const qint64 delivered = isA ? row->aDelivered : row->bDelivered;
    const qint64 read = isA ? row->aRead : row->bRead;
    const qint64 upTo = std::clamp<qint64>(update.upTo, 0, row->lastSeq);

    ReceiptOutcome outcome {false, delivered, read};
    if (update.kind == protocol::ReceiptKind::Read)
        outcome.read = std::max(read, upTo);
    outcome.delivered = std::max({delivered, upTo, outcome.read}); // read implies delivered
    outcome.advanced = outcome.delivered != delivered || outcome.read != read;
    if (outcome.advanced
        && !db.exec(isA ? Sql::SetReceiptsA : Sql::SetReceiptsB,
            {outcome.delivered, outcome.read, update.conv}))
        return db.error();
    return outcome;
}

Result<QList<protocol::ConversationSummary>> summaries(Connection &db, const QString &user)
{
    QList<protocol::ConversationSummary> items;
    const bool ok = db.select(Sql::ListConversations, {user, user}, [&](const QSqlQuery &q) {
        const bool isA = q.value(1).toString() == user;
        const qint64 aDelivered = q.value(5).toLongLong(), aRead = q.value(6).toLongLong();
        const qint64 bDelivered = q.value(7).toLongLong(), bRead = q.value(8).toLongLong();
        items.append(
            protocol::ConversationSummary {q.value(0).toString(), q.value(isA ? 2 : 1).toString(),
                q.value(3).toLongLong(), isA ? aDelivered : bDelivered, isA ? aRead : bRead,
                isA ? bDelivered : aDelivered, isA ? bRead : aRead, q.value(4).toLongLong()});
    });
    if (!ok)
        return db.error();
    return items;
}

Result<HistorySlice> history(Connection &db, const HistoryQuery &query)
{
    qint64 last = 0;
    if (!db.select(isGroupId(query.conv) ? Sql::FindGroup : Sql::FindConversation, {query.conv},
            [&](const QSqlQuery &q) { last = q.value(2).toLongLong(); }))
        return db.error();
    // Work on the seq range 1..last (gaps included), so `limit` and `more` count
    // gap entries exactly like messages. The caller rejects after + before.
    const qint64 limit = std::clamp<qint64>(query.limit, 1, kMaxHistory);
    HistorySlice slice;
    qint64 lo = 0;
    qint64 hi = 0;
    if (query.after) {
        if (*query.after >= last)
            return slice;
        lo = std::max<qint64>(*query.after, 0) + 1;
        hi = std::min(last, lo + limit - 1);
        slice.more = hi < last;
    } else {
        hi = last;
        if (query.before)
            hi = *query.before <= 1 ? 0 : std::min(*query.before - 1, last);
        if (hi < 1)
            return slice;
        lo = std::max<qint64>(1, hi - limit + 1);
        slice.more = lo > 1;
    }

    slice.messages.reserve(hi - lo + 1);
    qint64 next = lo;
    const auto gapsUntil = [&](qint64 end) {
        for (; next < end; ++next)
            slice.messages.append(protocol::Message {.conv = query.conv, .seq = next, .gap = true});
    };
    const bool ok = db.select(Sql::HistoryRange, {query.conv, lo, hi}, [&](const QSqlQuery &q) {
        const qint64 seq = q.value(0).toLongLong();
        gapsUntil(seq);
        slice.messages.append(
            protocol::Message {query.conv, seq, q.value(1).toString(), q.value(2).toString(),
                q.value(3).toString(), q.value(4).toString(), q.value(5).toLongLong()});
        next = seq + 1;
    });
    if (!ok)
        return db.error();
    gapsUntil(hi + 1);
    return slice;
}

Result<SearchPage> search(Connection &db, const SearchQuery &query, const QByteArray &cursorKey)
{
    qint64 before = std::numeric_limits<qint64>::max();
    if (!query.cursor.isEmpty()) {
        const std::optional<qint64> id = sqlitesearch::decodeCursor(cursorKey, query);
        if (!id)
            return StoreError {StoreError::Code::Invalid, u"not a search cursor of this store"_s};
        before = *id;
    }
    const int limit = std::clamp(query.limit, 1, kMaxSearchHits);
    const QString conv = query.conv.value_or(QString());
    const QString from = query.from.value_or(QString());
    SearchPage page;
    const bool ok = db.select(sqlitesearch::Sql,
        {sqlitesearch::matchExpression(query), before, query.user, query.user, conv, conv, from,
            from, limit + 1},
        [&](const QSqlQuery &q) {
            const QString body = q.value(5).toString();
            page.hits.append(protocol::SearchHit {q.value(1).toString(), q.value(2).toLongLong(),
                q.value(3).toString(), q.value(4).toLongLong(), body,
                sqlitesearch::fitSnippet(q.value(6).toString(), body, query.words)});
            page.cursorAfter.append(
                sqlitesearch::encodeCursor(cursorKey, query, q.value(0).toLongLong()));
        });
    if (!ok)
        return db.error();
    if (page.hits.size() > limit) { // the extra row only says that there is more
        page.hits.removeLast();
        page.cursorAfter.removeLast();
        page.next = page.cursorAfter.last();
    }
    return page;
}

} // namespace

// ---- SqliteStore --------------------------------------------------------------

SqliteStore::SqliteStore(QString dataDir)
    : m_dataDir(std::move(dataDir))
    , m_path(QDir(m_dataDir).filePath(u"parley.sqlite3"_s))
{
    m_healthDetail = u"not open: "_s + m_path;
}

SqliteStore::~SqliteStore()
{
    close();
}

bool SqliteStore::open(QString *error)
{
    const auto fail = [&](const QString &message) {
        qCWarning(lcServerStore).noquote() << "cannot open the store:" << message;
        setHealth(false, message);
        if (error)
            *error = message;
        return false;
    };
    {
        QMutexLocker lock(&m_mutex);
        if (m_state != State::Closed)
            return true;
        m_stopping = false;
    }
    if (const QString problem = prepareDataDir(m_dataDir); !problem.isEmpty())
        return fail(problem);

    // Unique per store: QSqlDatabase connections are process-wide by name.
    static std::atomic<int> connectionCount {0};
    const QString name = u"parley-store-"_s + QString::number(++connectionCount);
    if (const QString problem = startStoreThread(m_thread, u"parley-store"_s,
            [this, name](OpenedPromise opened) { serve(name, opened); });
        !problem.isEmpty())
        return fail(problem);

    m_checkpointer = std::make_unique<WalCheckpointer>(m_path, CheckpointIntervalMs);
    m_checkpointer->start();
    QMutexLocker lock(&m_mutex);
    m_state = State::Open;
    m_healthy = true;
    m_healthDetail = m_path;
    qCInfo(lcServerStore).noquote() << "store opened:" << m_path;
    return true;
}

void SqliteStore::close()
{
    {
        QMutexLocker lock(&m_mutex);
        if (m_state != State::Open)
            return;
        if (QThread::currentThread() == m_thread.get()) {
            qCWarning(lcServerStore) << "close() called from a store callback; ignored";
            return;
        }
        m_state = State::Closing; // from now on enqueue() refuses new work
        m_stopping = true;
        m_wake.wakeOne();
    }
    m_checkpointer.reset(); // its connection closes before the store's last one
    m_thread->wait();
    m_thread.reset();
    QMutexLocker lock(&m_mutex);
    m_state = State::Closed;
    m_healthy = false;
    m_healthDetail = u"closed: "_s + m_path;
    qCDebug(lcServerStore).noquote() << "store closed:" << m_path;
}

StoreHealth SqliteStore::health() const
{
    QMutexLocker lock(&m_mutex);
    return StoreHealth {m_state == State::Open && m_healthy, u"sqlite"_s, m_healthDetail};
}

void SqliteStore::setHealth(bool ok, const QString &detail)
{
    QMutexLocker lock(&m_mutex);
    m_healthy = ok;
    m_healthDetail = detail;
}

void SqliteStore::enqueue(std::unique_ptr<Task> task, Lane lane)
{
    {
        QMutexLocker lock(&m_mutex);
        if (m_state == State::Open) {
            if (lane == Lane::Search)
                m_searches.push_back(std::move(task));
            else
                m_queue.push_back(std::move(task));
            m_wake.wakeOne();
            return;
        }
    }
    task->fail(StoreError {StoreError::Code::Unavailable, u"the store is not open"_s});
}

void SqliteStore::serve(
    const QString &connectionName, std::shared_ptr<std::promise<QString>> opened)
{
    Connection db(connectionName);
    const QString problem = db.open(m_path, m_busyTimeoutMs);
    opened->set_value(problem);
    if (!problem.isEmpty())
        return;
    std::vector<std::unique_ptr<Task>> batch;
    std::vector<std::unique_ptr<Task>> search;
    // The search index follows the messages in batches (see the top of this file). Due at
    // start: a store that stopped with messages not indexed catches up first.
    bool indexDue = true;
    QDeadlineTimer indexDeadline(0);
    qint64 writesSinceIndex = 0;
    for (;;) {
        {
            QMutexLocker lock(&m_mutex);
            while (m_queue.empty() && m_searches.empty() && !m_stopping
                && !(indexDue && indexDeadline.hasExpired())) {
                if (indexDue)
                    m_wake.wait(&m_mutex, indexDeadline);
                else
                    m_wake.wait(&m_mutex);
            }
            if (m_queue.empty() && m_searches.empty() && m_stopping) {
                lock.unlock();
                if (indexDue)
                    indexPending(db);
                return; // stopping, and everything queued has run
            }
            batch.swap(m_queue);
            if (!m_searches.empty()) {
                search.push_back(std::move(m_searches.front()));
                m_searches.pop_front();
            }
        }
        // The batch first: a search sees every write queued before it.
        if (!batch.empty()) {
            const bool writes = std::any_of(batch.cbegin(), batch.cend(),
                [](const std::unique_ptr<Task> &task) { return task->writes; });
            runBatch(db, batch);
            if (writes) {
                if (!indexDue)
                    indexDeadline.setRemainingTime(sqlitesearch::IndexDelayMs);
                indexDue = true;
                writesSinceIndex += qint64(batch.size());
            }
        }
        if (indexDue
            && (!search.empty() || indexDeadline.hasExpired()
                || writesSinceIndex >= sqlitesearch::IndexBatchMessages)) {
            if (indexPending(db)) {
                indexDue = false;
                writesSinceIndex = 0;
            } else {
                indexDeadline.setRemainingTime(sqlitesearch::IndexDelayMs); // try again later
            }
        }
        if (!search.empty())
            runBatch(db, search);
        batch.clear();
        search.clear();
    }
}

bool SqliteStore::indexPending(Connection &db)
{
    qint64 indexed = 0, newest = 0;
    bool ok = db.exec(Sql::Begin) && db.select(Sql::IndexState, {}, [&](const QSqlQuery &row) {
        indexed = row.value(0).toLongLong();
        newest = row.value(1).toLongLong();
    });
    if (ok && newest > indexed) {
        ok = db.exec(sqlitesearch::IndexPending, {indexed, newest})
            && db.exec(Sql::SetIndexed, {newest});
    }
    if (ok && db.exec(Sql::Commit))
        return true;
    const StoreError error = db.error();
    db.exec(Sql::Rollback);
    // Nothing is lost: the messages are stored, and the next attempt indexes them.
    qCWarning(lcServerStore).noquote() << "indexing messages" << indexed + 1 << "to" << newest
                                       << "for search failed:" << error.message;
    return false;
}

void SqliteStore::runBatch(Connection &db, std::vector<std::unique_ptr<Task>> &batch)
{
    std::optional<StoreError> broken;
    const bool writes = std::any_of(batch.cbegin(), batch.cend(),
        [](const std::unique_ptr<Task> &task) { return task->writes; });
    if (!db.exec(writes ? Sql::Begin : Sql::BeginRead))
        broken = db.error();
    for (auto it = batch.begin(); !broken && it != batch.end(); ++it) {
        Task &task = **it;
        if (!task.writes) {
            if (task.run(db) == Task::Outcome::Broken)
                broken = db.error();
            continue;
        }
        if (!db.exec(Sql::Savepoint)) {
            broken = db.error();
            break;
        }
        switch (task.run(db)) {
        case Task::Outcome::Succeeded:
            if (!db.exec(Sql::Release))
                broken = db.error();
            break;
        case Task::Outcome::Failed: // roll back this operation's writes only
            if (!db.exec(Sql::RollbackTo) || !db.exec(Sql::Release))
                broken = db.error();
            break;
        case Task::Outcome::Broken: // SQLite may have rolled back the whole transaction
            broken = db.error();
            break;
        }
    }
    if (!broken && !db.exec(Sql::Commit))
        broken = db.error();

    if (broken) {
        db.exec(Sql::Rollback); // fails harmlessly when SQLite already rolled back
        StoreError error = *broken;
        error.message = u"store transaction failed, nothing was saved: "_s + error.message;
        qCWarning(lcServerStore).noquote()
            << "batch of" << batch.size() << "operations failed:" << error.message;
        m_batchFailed = true;
        setHealth(false, error.message);
        for (auto &task : batch)
            task->fail(error);
        return;
    }
    if (m_batchFailed) {
        m_batchFailed = false;
        setHealth(true, m_path);
        qCInfo(lcServerStore) << "store recovered";
    }
    for (auto &task : batch)
        task->complete();
}

// ---- operations -----------------------------------------------------------------

void SqliteStore::createUser(const NewUser &user, Callback<Done> done)
{
    enqueue(task<Done>(Writes, std::move(done), [user](Connection &db) -> Result<Done> {
        if (!db.exec(Sql::InsertUser, {user.user, user.passwordHash, user.createdAt}))
            return db.error();
        if (db.changes() == 0)
            return StoreError {StoreError::Code::Conflict, u"user name is taken"_s};
        return Done {};
    }));
}

void SqliteStore::findUser(const QString &user, Callback<UserRecord> done)
{
    enqueue(task<UserRecord>(Reads, std::move(done), [user](Connection &db) -> Result<UserRecord> {
        std::optional<UserRecord> found;
        const auto row = [&](const QSqlQuery &q) {
            found = UserRecord {user, q.value(0).toByteArray(), std::nullopt};
            if (!q.value(1).isNull())
                found->lastSeen = q.value(1).toLongLong();
        };
        if (!db.select(Sql::FindUser, {user}, row))
            return db.error();
        if (!found)
            return StoreError {StoreError::Code::NotFound, u"no such user: "_s + user};
        return *found;
    }));
}

void SqliteStore::listUsers(const QString &prefix, int limit, Callback<QStringList> done)
{
    const qint64 capped = std::clamp<qint64>(limit, 0, kMaxUsers);
    enqueue(task<QStringList>(Reads, std::move(done), [prefix, capped](Connection &db) {
        return db.strings(Sql::ListUsers, {prefix, prefix, capped});
    }));
}

void SqliteStore::createToken(const TokenRecord &token, Callback<Done> done)
{
    enqueue(task<Done>(Writes, std::move(done), [token](Connection &db) -> Result<Done> {
        if (!db.exec(Sql::InsertToken, {token.tokenHash, token.user, token.device, token.expires}))
            return db.error();
        if (db.changes() == 0)
            return StoreError {StoreError::Code::Conflict, u"token already exists"_s};
        return Done {};
    }));
}

void SqliteStore::findToken(const QByteArray &tokenHash, qint64 now, Callback<TokenRecord> done)
{
    enqueue(task<TokenRecord>(
        Reads, std::move(done), [tokenHash, now](Connection &db) -> Result<TokenRecord> {
            std::optional<TokenRecord> found;
            const auto row = [&](const QSqlQuery &q) {
                found = TokenRecord {tokenHash, q.value(0).toString(), q.value(1).toString(),
                    q.value(2).toLongLong()};
            };
            if (!db.select(Sql::FindToken, {tokenHash, now}, row))
                return db.error();
            if (!found)
                return StoreError {
                    StoreError::Code::NotFound, u"unknown, revoked or expired token"_s};
            return *found;
        }));
}

void SqliteStore::revokeToken(const QByteArray &tokenHash, Callback<Done> done)
{
    // Idempotent: an unknown or already revoked token is fine.
    enqueue(task<Done>(Writes, std::move(done), [tokenHash](Connection &db) -> Result<Done> {
        if (!db.exec(Sql::RevokeToken, {tokenHash}))
            return db.error();
        return Done {};
    }));
}

void SqliteStore::appendMessage(const SendRequest &send, Callback<StoredSend> done)
{
    // Both run on the store thread, in queue order. An append that fails on its own holds
    // its conversation back (for its connection) at once, before the later appends of the
    // same batch run; a batch that fails as a whole does it when its callbacks run, before
    // the next batch is admitted.
    const quint64 order = ++m_appendsSubmitted;
    auto finished = [this, send, order, done = std::move(done)](Result<StoredSend> result) {
        if (!result)
            m_sendOrder.failed(send, result.error(), QDateTime::currentMSecsSinceEpoch(), order);
        if (done)
            done(std::move(result));
    };
    enqueue(task<StoredSend>(Writes, std::move(finished), [this, send, order](Connection &db) {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        if (auto refused = m_sendOrder.admit(send, now, order))
            return Result<StoredSend>(*refused);
        Result<StoredSend> result = append(db, send);
        if (!result)
            m_sendOrder.failed(send, result.error(), now, order);
        return result;
    }));
}

void SqliteStore::createGroup(const NewGroup &group, Callback<GroupOutcome> done)
{
    enqueue(task<GroupOutcome>(Writes, std::move(done),
        [group](Connection &db) { return server::createGroup(db, group); }));
}

void SqliteStore::changeGroup(const GroupChange &change, Callback<GroupOutcome> done)
{
    enqueue(task<GroupOutcome>(Writes, std::move(done),
        [change](Connection &db) { return server::changeGroup(db, change); }));
}

void SqliteStore::group(const QString &conv, const QString &user, Callback<GroupState> done)
{
    enqueue(task<GroupState>(Reads, std::move(done),
        [conv, user](Connection &db) { return readGroup(db, conv, user); }));
}

void SqliteStore::updateReceipt(const ReceiptUpdate &update, Callback<ReceiptOutcome> done)
{
    enqueue(task<ReceiptOutcome>(
        Writes, std::move(done), [update](Connection &db) { return receipt(db, update); }));
}

void SqliteStore::conversations(
    const QString &user, Callback<QList<protocol::ConversationSummary>> done)
{
    enqueue(task<QList<protocol::ConversationSummary>>(
        Reads, std::move(done), [user](Connection &db) { return summaries(db, user); }));
}

void SqliteStore::history(const HistoryQuery &query, Callback<HistorySlice> done)
{
    enqueue(task<HistorySlice>(
        Reads, std::move(done), [query](Connection &db) { return server::history(db, query); }));
}

void SqliteStore::conversationPeers(const QString &user, Callback<QStringList> done)
{
    enqueue(task<QStringList>(Reads, std::move(done), [user](Connection &db) {
        return db.strings(Sql::Peers, {user, user});
    }));
}

void SqliteStore::setLastSeen(const QString &user, qint64 ts, Callback<Done> done)
{
    enqueue(task<Done>(Writes, std::move(done), [user, ts](Connection &db) -> Result<Done> {
        if (!db.exec(Sql::SetLastSeen, {ts, user}))
            return db.error();
        if (db.changes() == 0)
            return StoreError {StoreError::Code::NotFound, u"no such user: "_s + user};
        return Done {};
    }));
}

void SqliteStore::lastSeen(const QStringList &users, Callback<QHash<QString, qint64>> done)
{
    using Seen = QHash<QString, qint64>;
    enqueue(task<Seen>(Reads, std::move(done), [users](Connection &db) -> Result<Seen> {
        Seen seen;
        for (const QString &user : users) {
            const auto row
                = [&](const QSqlQuery &q) { seen.insert(user, q.value(0).toLongLong()); };
            if (!db.select(Sql::LastSeen, {user}, row))
                return db.error();
        }
        return seen;
    }));
}

QByteArray SqliteStore::randomKey()
{
    QByteArray key(32, Qt::Uninitialized);
    QRandomGenerator::system()->generate(key.begin(), key.end());
    return key;
}

void SqliteStore::search(const SearchQuery &query, Callback<SearchPage> done)
{
    enqueue(
        task<SearchPage>(Reads, std::move(done),
            [query, key = m_cursorKey](Connection &db) { return server::search(db, query, key); }),
        Lane::Search);
}

QList<QStringView> SqliteStore::schemaStatements(int version)
{
    if (version < 1 || version > int(kMigrations.size()))
        return {};
    const auto statements = kMigrations[version - 1];
    return QList<QStringView>(statements.begin(), statements.end());
}

} // namespace parley::server
