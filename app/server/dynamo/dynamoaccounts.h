// The per-user half of DynamoStore: users and their name directory, tokens, last seen,
// and the per-user views of conversations (sync, presence peers). Store thread only.
#pragma once

#include "dynamotables.h"
#include "store.h"

namespace parley::server::dynamo {

class Accounts
{
public:
    explicit Accounts(Tables *tables)
        : m_tables(tables)
    { }

    void createUser(const NewUser &user, Callback<Done> done);
    void findUser(const QString &user, Callback<UserRecord> done);
    void listUsers(const QString &prefix, int limit, Callback<QStringList> done);

    void createToken(const TokenRecord &token, Callback<Done> done);
    void findToken(const QByteArray &tokenHash, qint64 now, Callback<TokenRecord> done);
    void revokeToken(const QByteArray &tokenHash, Callback<Done> done);

    void setLastSeen(const QString &user, qint64 ts, Callback<Done> done);
    void lastSeen(const QStringList &users, Callback<QHash<QString, qint64>> done);

    void conversations(const QString &user, Callback<QList<protocol::ConversationSummary>> done);
    void conversationPeers(const QString &user, Callback<QStringList> done);

private:
    void addToDirectory(const QString &user, std::function<void(Result<bool>)> done);
    void listBuckets(QStringList buckets, QString prefix, qint64 limit, QStringList found,
        Callback<QStringList> done);
    void memberships(const QString &user, Tables::Done<QList<QJsonObject>> done);

    Tables *m_tables;
};

} // namespace parley::server::dynamo
