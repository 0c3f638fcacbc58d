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
};

} // namespace parley::server
