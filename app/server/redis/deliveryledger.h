// Which stored messages (conversation, seq) this node already pushed to a
// user's connections, for a while: the catch-up after a Redis outage pushes
// only what is not in here, so nothing reaches a connection twice.
// Not thread-safe: RedisBus guards it with its mutex.
#pragma once

#include <QByteArrayView>
#include <QHash>
#include <QString>

#include <map>
#include <optional>
#include <utility>

namespace parley::server::redis {

class DeliveryLedger
{
public:
    // False when (user, conv, seq) was already recorded.
    bool record(const QString &user, const QString &conv, qint64 seq, qint64 nowMs);
    bool contains(const QString &user, const QString &conv, qint64 seq) const;
    // Drops entries recorded before `beforeMs`.
    void prune(qint64 beforeMs);
    void forgetUser(const QString &user);
    qsizetype size() const;

    // (conv, seq) of an encoded "msg" frame; nullopt for any other frame.
    static std::optional<std::pair<QString, qint64>> messageKey(QByteArrayView frame);

private:
    // user -> conv -> seq -> when it was sent
    QHash<QString, QHash<QString, std::map<qint64, qint64>>> m_sent;
};

} // namespace parley::server::redis
