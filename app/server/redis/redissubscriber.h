// The pub/sub side: a RedisConnection of its own (a subscribed RESP3 link
// still answers commands, but a separate link keeps a burst of messages from
// delaying command replies). Remembers its channels and patterns and
// subscribes to them again after every reconnect.
//
// Lives on one thread (the bus thread); not thread-safe.
#pragma once

#include "redisconnection.h"

#include <QByteArray>
#include <QObject>
#include <QSet>

namespace parley::server::redis {

class RedisSubscriber : public QObject
{
    Q_OBJECT

public:
    explicit RedisSubscriber(RedisConnection::Options options, QObject *parent = nullptr);

    void start();
    void stop();
    bool isReady() const { return m_link->isReady(); }
    QString lastError() const { return m_link->lastError(); }
    RedisConnection *link() const { return m_link; }

    // Idempotent; take effect at once when the link is up, else at the next connect.
    void subscribe(const QByteArray &channel);
    void unsubscribe(const QByteArray &channel);
    void psubscribe(const QByteArray &pattern);
    void punsubscribe(const QByteArray &pattern);
    qsizetype channelCount() const { return m_channels.size(); }
    qsizetype patternCount() const { return m_patterns.size(); }

Q_SIGNALS:
    // Every channel and pattern is subscribed again (after a connect or reconnect);
    // messages published while the link was down are lost.
    void resubscribed();
    void lost(const QString &reason);
    void message(const QByteArray &channel, const QByteArray &payload);
    void patternMessage(
        const QByteArray &pattern, const QByteArray &channel, const QByteArray &payload);

private:
    void onReady();
    void onPush(const RespValue &value);
    void sendInChunks(const QByteArray &verb, const QSet<QByteArray> &names);

    RedisConnection *m_link;
    QSet<QByteArray> m_channels;
    QSet<QByteArray> m_patterns;
};

} // namespace parley::server::redis
