#include "dynamoaccounts.h"

#include "dynamoitem.h"
#include "logging.h"

#include <QJsonArray>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace parley::server::dynamo {

namespace {

constexpr qint64 kMaxUsers = 1000; // as SqliteStore

// Attribute names besides the keys (Key:: in dynamotables.h).
const QString PasswordHash = u"passwordHash"_s;
const QString CreatedAt = u"createdAt"_s;
const QString LastSeen = u"lastSeen"_s;
const QString Device = u"device"_s;
const QString Expires = u"expires"_s;
const QString Revoked = u"revoked"_s;

// Every character a user name may start with ([a-z0-9_.-]), in DynamoDB's sort order
// (UTF-8 bytes), so walking the buckets in this order lists names in name order.
QStringList allBuckets()
{
    QStringList buckets {u"-"_s, u"."_s};
    for (char c = '0'; c <= '9'; ++c)
        buckets.append(QString(QLatin1Char(c)));
    buckets.append(u"_"_s);
    for (char c = 'a'; c <= 'z'; ++c)
        buckets.append(QString(QLatin1Char(c)));
    return buckets;
}

QJsonObject userKey(const QString &user)
{
    return {{Key::User, string(user)}};
}

QJsonObject tokenKey(const QByteArray &tokenHash)
{
    return {{Key::TokenHash, binary(tokenHash)}};
}

} // namespace

void Accounts::createUser(const NewUser &user, Callback<Done> done)
{
    const QJsonObject item {{Key::User, string(user.user)},
        {PasswordHash, binary(user.passwordHash)}, {CreatedAt, number(user.createdAt)}};
    const QJsonObject put {{u"TableName"_s, m_tables->names().users}, {u"Item"_s, item},
        {u"ConditionExpression"_s, u"attribute_not_exists(#u)"_s},
        {u"ExpressionAttributeNames"_s, QJsonObject {{u"#u"_s, Key::User}}}};
    // The user item is the truth; the directory entry follows it. A directory write that
    // fails is logged and healed by the next registration attempt of the name.
    const auto finish = [this, user, done](Result<Done> outcome) {
        addToDirectory(user.user, [outcome, done](Result<bool>) { done(outcome); });
    };
    m_tables->write(u"PutItem"_s, put, [this, user, finish, done](Result<bool> written) {
        if (!written) {
            done(written.error());
            return;
        }
        if (!written.value()) {
            finish(Done {});
            return;
        }
        // Taken, or our own earlier attempt whose answer was lost and got retried.
        m_tables->getItem(m_tables->names().users, userKey(user.user),
            [user, finish, done](Result<std::optional<QJsonObject>> found) {
                if (!found) {
                    done(found.error());
                    return;
                }
                const bool ours = found.value()
                    && binaryOf(*found.value(), PasswordHash) == user.passwordHash
                    && numberOf(*found.value(), CreatedAt) == user.createdAt;
                if (ours)
                    finish(Done {});
                else
                    finish(StoreError {StoreError::Code::Conflict, u"user name is taken"_s});
            });
    });
}

void Accounts::addToDirectory(const QString &user, std::function<void(Result<bool>)> done)
{
    const QJsonObject put {{u"TableName"_s, m_tables->names().directory},
        {u"Item"_s, QJsonObject {{Key::Bucket, string(user.left(1))}, {Key::User, string(user)}}}};
    m_tables->write(u"PutItem"_s, put, [user, done](Result<bool> written) {
        if (!written)
            qCWarning(lcServerDynamo).noquote()
                << "user" << user << "is not in the user directory yet:" << written.error().message;
        done(written);
    });
}

void Accounts::findUser(const QString &user, Callback<UserRecord> done)
{
    m_tables->getItem(m_tables->names().users, userKey(user),
        [user, done](Result<std::optional<QJsonObject>> found) {
            if (!found) {
                done(found.error());
                return;
            }
            if (!found.value()) {
                done(StoreError {StoreError::Code::NotFound, u"no such user: "_s + user});
                return;
            }
            const QJsonObject &item = *found.value();
            done(UserRecord {user, binaryOf(item, PasswordHash), optionalNumberOf(item, LastSeen)});
        });
}

void Accounts::listUsers(const QString &prefix, int limit, Callback<QStringList> done)
{
    const qint64 capped = std::clamp<qint64>(limit, 0, kMaxUsers);
    if (capped == 0) {
        done(QStringList {});
        return;
    }
    const QStringList buckets = prefix.isEmpty() ? allBuckets() : QStringList {prefix.left(1)};
    listBuckets(buckets, prefix, capped, {}, std::move(done));
}

void Accounts::listBuckets(QStringList buckets, QString prefix, qint64 limit, QStringList found,
    Callback<QStringList> done)
{
    if (buckets.isEmpty() || found.size() >= limit) {
        done(std::move(found));
        return;
    }
    const QString bucket = buckets.takeFirst();
    QJsonObject query {{u"TableName"_s, m_tables->names().directory},
        {u"ExpressionAttributeNames"_s, QJsonObject {{u"#b"_s, Key::Bucket}}},
        {u"KeyConditionExpression"_s, u"#b = :b"_s}};
    QJsonObject values {{u":b"_s, string(bucket)}};
    if (prefix.size() > 1) {
        query.insert(u"KeyConditionExpression"_s, u"#b = :b AND begins_with(#u, :p)"_s);
        query.insert(u"ExpressionAttributeNames"_s,
            QJsonObject {{u"#b"_s, Key::Bucket}, {u"#u"_s, Key::User}});
        values.insert(u":p"_s, string(prefix));
    }
    query.insert(u"ExpressionAttributeValues"_s, values);
    m_tables->queryAll(query, limit - found.size(),
        [this, buckets = std::move(buckets), prefix = std::move(prefix), limit,
            found = std::move(found), done](Result<QList<QJsonObject>> items) mutable {
            if (!items) {
                done(items.error());
                return;
            }
            for (const QJsonObject &item : items.value())
                found.append(stringOf(item, Key::User));
            listBuckets(
                std::move(buckets), std::move(prefix), limit, std::move(found), std::move(done));
        });
}

void Accounts::createToken(const TokenRecord &token, Callback<Done> done)
{
    const QJsonObject item {{Key::TokenHash, binary(token.tokenHash)},
        {Key::User, string(token.user)}, {Device, string(token.device)},
        {Expires, number(token.expires)}, {Revoked, boolean(false)}};
    const QJsonObject put {{u"TableName"_s, m_tables->names().tokens}, {u"Item"_s, item},
        {u"ConditionExpression"_s, u"attribute_not_exists(#t)"_s},
        {u"ExpressionAttributeNames"_s, QJsonObject {{u"#t"_s, Key::TokenHash}}}};
    m_tables->write(u"PutItem"_s, put, [this, token, done](Result<bool> written) {
        if (!written) {
            done(written.error());
            return;
        }
        if (!written.value()) {
            done(Done {});
            return;
        }
        m_tables->getItem(m_tables->names().tokens, tokenKey(token.tokenHash),
            [token, done](Result<std::optional<QJsonObject>> found) {
                if (!found) {
                    done(found.error());
                    return;
                }
                const bool ours = found.value() && stringOf(*found.value(), Key::User) == token.user
                    && stringOf(*found.value(), Device) == token.device
                    && numberOf(*found.value(), Expires) == token.expires;
                if (ours)
                    done(Done {});
                else
                    done(StoreError {StoreError::Code::Conflict, u"token already exists"_s});
            });
    });
}

void Accounts::findToken(const QByteArray &tokenHash, qint64 now, Callback<TokenRecord> done)
{
    m_tables->getItem(m_tables->names().tokens, tokenKey(tokenHash),
        [tokenHash, now, done](Result<std::optional<QJsonObject>> found) {
            if (!found) {
                done(found.error());
                return;
            }
            const std::optional<QJsonObject> &item = found.value();
            if (!item || booleanOf(*item, Revoked) || numberOf(*item, Expires) <= now) {
                done(StoreError {
                    StoreError::Code::NotFound, u"unknown, revoked or expired token"_s});
                return;
            }
            done(TokenRecord {tokenHash, stringOf(*item, Key::User), stringOf(*item, Device),
                numberOf(*item, Expires)});
        });
}

void Accounts::revokeToken(const QByteArray &tokenHash, Callback<Done> done)
{
    // Idempotent like SqliteStore: an unknown token (failed condition) is fine.
    const QJsonObject update {{u"TableName"_s, m_tables->names().tokens},
        {u"Key"_s, tokenKey(tokenHash)}, {u"UpdateExpression"_s, u"SET #r = :r"_s},
        {u"ConditionExpression"_s, u"attribute_exists(#t)"_s},
        {u"ExpressionAttributeNames"_s,
            QJsonObject {{u"#r"_s, Revoked}, {u"#t"_s, Key::TokenHash}}},
        {u"ExpressionAttributeValues"_s, QJsonObject {{u":r"_s, boolean(true)}}}};
    m_tables->write(u"UpdateItem"_s, update, [done](Result<bool> written) {
        if (!written)
            done(written.error());
        else
            done(Done {});
    });
}

void Accounts::setLastSeen(const QString &user, qint64 ts, Callback<Done> done)
{
    const QJsonObject update {{u"TableName"_s, m_tables->names().users}, {u"Key"_s, userKey(user)},
        {u"UpdateExpression"_s, u"SET #s = :s"_s},
        {u"ConditionExpression"_s, u"attribute_exists(#u)"_s},
        {u"ExpressionAttributeNames"_s, QJsonObject {{u"#s"_s, LastSeen}, {u"#u"_s, Key::User}}},
        {u"ExpressionAttributeValues"_s, QJsonObject {{u":s"_s, number(ts)}}}};
    m_tables->write(u"UpdateItem"_s, update, [user, done](Result<bool> written) {
        if (!written)
            done(written.error());
        else if (written.value())
            done(StoreError {StoreError::Code::NotFound, u"no such user: "_s + user});
        else
            done(Done {});
    });
}

void Accounts::lastSeen(const QStringList &users, Callback<QHash<QString, qint64>> done)
{
    QStringList distinct = users;
    distinct.removeDuplicates(); // BatchGetItem refuses repeated keys
    QList<QJsonObject> keys;
    for (const QString &user : std::as_const(distinct))
        keys.append(userKey(user));
    m_tables->batchGet(m_tables->names().users, keys, [done](Result<QList<QJsonObject>> items) {
        if (!items) {
            done(items.error());
            return;
        }
        QHash<QString, qint64> seen;
        for (const QJsonObject &item : items.value()) {
            if (const auto ts = optionalNumberOf(item, LastSeen))
                seen.insert(stringOf(item, Key::User), *ts);
        }
        done(seen);
    });
}

void Accounts::memberships(const QString &user, Tables::Done<QList<QJsonObject>> done)
{
    const QJsonObject query {{u"TableName"_s, m_tables->names().memberships},
        {u"KeyConditionExpression"_s, u"#u = :u"_s},
        {u"ExpressionAttributeNames"_s, QJsonObject {{u"#u"_s, Key::User}}},
        {u"ExpressionAttributeValues"_s, QJsonObject {{u":u"_s, string(user)}}}};
    m_tables->queryAll(query, 0, std::move(done));
}

void Accounts::conversations(
    const QString &user, Callback<QList<protocol::ConversationSummary>> done)
{
    memberships(user, [this, user, done](Result<QList<QJsonObject>> rows) {
        if (!rows) {
            done(rows.error());
            return;
        }
        QList<QJsonObject> keys;
        for (const QJsonObject &row : rows.value())
            keys.append(QJsonObject {{Key::Conv, string(stringOf(row, Key::Conv))}});
        m_tables->batchGet(
            m_tables->names().conversations, keys, [user, done](Result<QList<QJsonObject>> items) {
                if (!items) {
                    done(items.error());
                    return;
                }
                // A membership whose conversation item is missing (a crash before its
                // first seq was taken) has no messages: it is not listed.
                QList<protocol::ConversationSummary> summaries;
                for (const QJsonObject &item : items.value()) {
                    const bool isA = stringOf(item, Attr::UserA) == user;
                    const qint64 aDelivered = numberOf(item, Attr::ADelivered);
                    const qint64 aRead = numberOf(item, Attr::ARead);
                    const qint64 bDelivered = numberOf(item, Attr::BDelivered);
                    const qint64 bRead = numberOf(item, Attr::BRead);
                    summaries.append(protocol::ConversationSummary {stringOf(item, Key::Conv),
                        stringOf(item, isA ? Attr::UserB : Attr::UserA),
                        numberOf(item, Attr::LastSeq), isA ? aDelivered : bDelivered,
                        isA ? aRead : bRead, isA ? bDelivered : aDelivered, isA ? bRead : aRead,
                        numberOf(item, Attr::LastTs)});
                }
                std::sort(summaries.begin(), summaries.end(), [](const auto &a, const auto &b) {
                    return a.lastTs != b.lastTs ? a.lastTs > b.lastTs : a.conv < b.conv;
                });
                done(summaries);
            });
    });
}

void Accounts::conversationPeers(const QString &user, Callback<QStringList> done)
{
    memberships(user, [done](Result<QList<QJsonObject>> rows) {
        if (!rows) {
            done(rows.error());
            return;
        }
        QStringList peers;
        for (const QJsonObject &row : rows.value())
            peers.append(stringOf(row, Attr::Peer));
        peers.removeDuplicates();
        peers.sort();
        done(peers);
    });
}

} // namespace parley::server::dynamo
