// The durable-store seam of the server. SqliteStore (embedded, default) and,
// later, DynamoStore implement it; session code only ever sees this interface.
//
// Every operation is asynchronous. The callback runs exactly once, on a thread
// owned by the store (never the caller's), in the order the store completed
// the operations; callers hop back to their own thread themselves. For
// SqliteStore completion order is submission order, which is what keeps acks in
// send order and `msg` frames of a conversation in seq order.
#pragma once

#include "frames.h"
#include "result.h"

#include <QByteArray>
#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

namespace parley::server {

template<typename T> using Callback = std::function<void(Result<T>)>;

struct NewUser
{
    QString user; // normalized (lowercase, validated)
    QByteArray passwordHash; // libsodium crypt_pwhash_str output
    qint64 createdAt = 0;
};

struct UserRecord
{
    QString user;
    QByteArray passwordHash;
    std::optional<qint64> lastSeen;
};

struct TokenRecord
{
    QByteArray tokenHash; // SHA-256 of the token; the token itself is never stored
    QString user;
    QString device;
    qint64 expires = 0;
};

struct SendRequest
{
    QString from;
    QString to;
    QString cid;
    QString body;
    qint64 ts = 0; // acceptance time, server ms
    // The connection that sent it (ChatService::newConnectionId), for SendOrderGuard; 0
    // (benchmarks, tests of the store alone): no order is kept between sends.
    quint64 origin = 0;
};

struct StoredSend
{
    protocol::Message message; // the first stored version when dup
    bool duplicate = false;
};

struct ReceiptUpdate
{
    QString user; // who sends the receipt
    QString conv;
    protocol::ReceiptKind kind = protocol::ReceiptKind::Delivered;
    qint64 upTo = 0;
};

struct ReceiptOutcome
{
    bool advanced = false; // false: nothing changed, nothing to forward
    qint64 delivered = 0; // the user's receipts after the update
    qint64 read = 0;
};

struct HistoryQuery
{
    QString conv;
    std::optional<qint64> after;
    std::optional<qint64> before;
    int limit = 50;
};

struct HistorySlice
{
    QList<protocol::Message> messages; // ascending seq; missing seqs as gap entries
    bool more = false;
};

// A search over the messages of one user's conversations (PROTOCOL.md, Search).
struct SearchQuery
{
    QString user; // only conversations this user is part of
    QStringList words; // protocol::search::queryWords(q): folded, distinct, non-empty
    std::optional<QString> conv; // the caller has checked that user is part of it
    std::optional<QString> from; // only messages sent by this user
    int limit = 20; // 1..100
    QString cursor; // SearchPage::next of the previous page; empty: the first page
};

struct SearchPage
{
    // Newest first; every hit has all the words (as word prefixes, case and accents
    // ignored) and a snippet with the matched words in [ ].
    QList<protocol::SearchHit> hits;
    std::optional<QString> next; // absent: no more hits
    // cursorAfter[i] continues the search right after hits[i] (same size as hits), so
    // the session can cut a page that would not fit in one frame without skipping hits.
    QStringList cursorAfter;
};

// ---- group conversations (docs/groups.md) ------------------------------------------

struct GroupMember
{
    QString user;
    bool admin = false;
    qint64 joinedSeq = 0; // the entry that added them (1: the group's creation)
    std::optional<qint64> leftSeq; // the entry that removed them (or they left); set: not a member
    qint64 delivered = 0;
    qint64 read = 0;
    bool operator==(const GroupMember &) const = default;
};

struct GroupState
{
    QString conv; // "g:" + 22 base64url characters
    QString name;
    QString createdBy;
    QList<GroupMember> members; // by user name; former members included (leftSeq set)
    qint64 lastSeq = 0;
    qint64 lastTs = 0;
    // The member entry of `user`, if they ever were one.
    const GroupMember *member(const QString &user) const
    {
        for (const GroupMember &m : members) {
            if (m.user == user)
                return &m;
        }
        return nullptr;
    }
    bool isMember(const QString &user) const // now
    {
        const GroupMember *m = member(user);
        return m && !m->leftSeq;
    }
};

struct NewGroup
{
    QString creator;
    QString cid; // (creator, cid) is created at most once
    QString name;
    QStringList members; // the others, checked by the caller: distinct, valid, not the creator
    qint64 ts = 0;
};

enum class GroupOp { Add, Remove, Leave, Rename, MakeAdmin, MakeMember };

struct GroupChange
{
    QString actor;
    QString cid; // the entry's cid: (actor, cid) is applied at most once
    QString conv;
    GroupOp op = GroupOp::Add;
    QStringList users; // Add, Remove, MakeAdmin, MakeMember
    QString name; // Rename
    qint64 ts = 0;
    int maxMembers = 256; // Add: the group's size limit, the actor included
};

// A membership entry: a stored message of the group (its seq, the actor as `from`, the
// request's cid) whose `event` says what changed, and the group as it stands after it.
struct GroupOutcome
{
    protocol::Message entry; // body empty
    QJsonObject event; // {"op": "create"|"add"|..., "users": [...], "name": ...}
    GroupState group;
    bool duplicate = false; // the cid was applied before: entry and event are the first ones
};

struct StoreHealth
{
    bool ok = false;
    QString backend; // "sqlite", "dynamodb"
    QString detail; // human readable state, e.g. the path or the last error
};

class Store
{
public:
    virtual ~Store() = default;

    // Synchronous set-up and tear-down, called once from the main thread.
    virtual bool open(QString *error) = 0;
    virtual void close() = 0; // finishes queued operations first
    virtual StoreHealth health() const = 0; // thread-safe

    virtual void createUser(const NewUser &user, Callback<Done> done) = 0; // Conflict if taken
    virtual void findUser(const QString &user, Callback<UserRecord> done) = 0; // NotFound
    virtual void listUsers(const QString &prefix, int limit, Callback<QStringList> done) = 0;

    virtual void createToken(const TokenRecord &token, Callback<Done> done) = 0;
    // NotFound when unknown, revoked or expired at `now`.
    virtual void findToken(const QByteArray &tokenHash, qint64 now, Callback<TokenRecord> done) = 0;
    virtual void revokeToken(const QByteArray &tokenHash, Callback<Done> done) = 0;

    // Stores a message once per (from, cid), assigning the conversation's next
    // seq. Resending a known cid returns the first stored message, duplicate=true.
    // NotFound if the recipient does not exist.
    virtual void appendMessage(const SendRequest &send, Callback<StoredSend> done) = 0;
    virtual void updateReceipt(const ReceiptUpdate &update, Callback<ReceiptOutcome> done) = 0;
    virtual void conversations(
        const QString &user, Callback<QList<protocol::ConversationSummary>> done)
        = 0;
    // The caller has checked membership; an unknown conversation is empty.
    virtual void history(const HistoryQuery &query, Callback<HistorySlice> done) = 0;
    // Users that share a conversation with `user` (for presence).
    virtual void conversationPeers(const QString &user, Callback<QStringList> done) = 0;

    // Invalid when the cursor is not one this store handed out.
    virtual void search(const SearchQuery &query, Callback<SearchPage> done) = 0;

    virtual void setLastSeen(const QString &user, qint64 ts, Callback<Done> done) = 0;
    virtual void lastSeen(const QStringList &users, Callback<QHash<QString, qint64>> done) = 0;

    // Group conversations (docs/groups.md). createGroup: NotFound naming a member who does
    // not exist. changeGroup: Forbidden unless the actor is a member (an admin for
    // everything but Leave), also for an id that does not exist; Invalid for a change that
    // changes nothing or would leave the group without an admin or over maxMembers;
    // NotFound for an added user who does not exist. group: Forbidden unless `user` is or
    // was a member.
    virtual void createGroup(const NewGroup &group, Callback<GroupOutcome> done) = 0;
    virtual void changeGroup(const GroupChange &change, Callback<GroupOutcome> done) = 0;
    virtual void group(const QString &conv, const QString &user, Callback<GroupState> done) = 0;
};

} // namespace parley::server
