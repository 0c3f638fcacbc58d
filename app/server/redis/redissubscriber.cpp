#include "redissubscriber.h"

#include "logging.h"

namespace parley::server::redis {

namespace {
// Channels per SUBSCRIBE command when subscribing again after a reconnect.
constexpr int SubscribeChunk = 1000;
} // namespace

RedisSubscriber::RedisSubscriber(RedisConnection::Options options, QObject *parent)
    : QObject(parent)
    , m_link(new RedisConnection(std::move(options), this))
{
    connect(m_link, &RedisConnection::ready, this, &RedisSubscriber::onReady);
    connect(m_link, &RedisConnection::lost, this, &RedisSubscriber::lost);
    connect(m_link, &RedisConnection::pushed, this, &RedisSubscriber::onPush);
}

void RedisSubscriber::start()
{
    m_link->start();
}

void RedisSubscriber::stop()
{
    m_link->stop();
}

void RedisSubscriber::subscribe(const QByteArray &channel)
{
    if (m_channels.contains(channel))
        return;
    m_channels.insert(channel);
    m_link->command({"SUBSCRIBE", channel}, {}, false);
}

void RedisSubscriber::unsubscribe(const QByteArray &channel)
{
    if (!m_channels.remove(channel))
        return;
    m_link->command({"UNSUBSCRIBE", channel}, {}, false);
}

void RedisSubscriber::psubscribe(const QByteArray &pattern)
{
    if (m_patterns.contains(pattern))
        return;
    m_patterns.insert(pattern);
    m_link->command({"PSUBSCRIBE", pattern}, {}, false);
}

void RedisSubscriber::punsubscribe(const QByteArray &pattern)
{
    if (!m_patterns.remove(pattern))
        return;
    m_link->command({"PUNSUBSCRIBE", pattern}, {}, false);
}

void RedisSubscriber::sendInChunks(const QByteArray &verb, const QSet<QByteArray> &names)
{
    QList<QByteArray> command {verb};
    for (const QByteArray &name : names) {
        command.append(name);
        if (command.size() > SubscribeChunk) {
            m_link->command(command, {}, false);
            command = {verb};
        }
    }
    if (command.size() > 1)
        m_link->command(command, {}, false);
}

void RedisSubscriber::onReady()
{
    sendInChunks("SUBSCRIBE", m_channels);
    sendInChunks("PSUBSCRIBE", m_patterns);
    // A PING answered after the SUBSCRIBEs proves Redis has applied them all
    // (replies come in order), so anything published from then on arrives.
    m_link->command({"PING"}, [this](const RespValue &reply) {
        if (!reply.isError())
            Q_EMIT resubscribed();
    });
}

void RedisSubscriber::onPush(const RespValue &value)
{
    const auto &e = value.elements;
    if (e.empty() || !e[0].isString())
        return;
    const QByteArray &kind = e[0].string;
    if (kind == "message" && e.size() == 3) {
        Q_EMIT message(e[1].string, e[2].string);
    } else if (kind == "pmessage" && e.size() == 4) {
        Q_EMIT patternMessage(e[1].string, e[2].string, e[3].string);
    } else if (kind != "subscribe" && kind != "unsubscribe" && kind != "psubscribe"
        && kind != "punsubscribe") {
        qCDebug(lcServerRedis) << "ignoring push" << describe(value).left(80);
    }
}

} // namespace parley::server::redis
