#include "outbox.h"

#include "codec.h"
#include "logging.h"

#include <algorithm>

namespace parley::client {

namespace {
// How long a transient error without retryAfterMs pauses sending.
constexpr qint64 DefaultRetryAfterMs = 1000;
} // namespace

bool isPermanentSendError(protocol::ErrorCode code)
{
    using protocol::ErrorCode;
    switch (code) {
    case ErrorCode::NotFound:
    case ErrorCode::BadRequest:
    case ErrorCode::Forbidden:
    case ErrorCode::TooLarge:
    case ErrorCode::UnknownType:
        return true; // the same frame would be refused again
    case ErrorCode::RateLimited:
    case ErrorCode::Unavailable:
    case ErrorCode::Internal:
    case ErrorCode::Unauthenticated: // the connection signs in again
    case ErrorCode::AuthFailed:
    case ErrorCode::UserExists:
        return false; // not about the message: resending the same cid is safe
    }
    return false;
}

Outbox::Outbox(Options options)
    : m_options(options)
{ }

void Outbox::restore(const QList<ChatMessage> &messages)
{
    // Restored messages were queued before anything enqueued since start; a message
    // already here (enqueued, and read back by the same load) keeps its place.
    QList<ChatMessage> restored;
    for (ChatMessage message : messages) {
        if (indexOf(message.cid) >= 0)
            continue;
        switch (message.state) {
        case MessageState::Sending:
            message.state = MessageState::Queued;
            message.maybeSent = true;
            break;
        case MessageState::Queued:
        case MessageState::Failed:
            break;
        default:
            qCWarning(lcClient) << "outbox: not restoring" << message.cid << "in state"
                                << messageStateName(message.state);
            continue;
        }
        restored.append(message);
    }
    m_messages = restored + m_messages;
}

ChatMessage Outbox::enqueue(
    const QString &me, const QString &peer, const QString &body, qint64 nowMs)
{
    ChatMessage message;
    message.conv = protocol::conversationId(me, peer);
    message.cid = protocol::newCid();
    message.from = me;
    message.to = peer;
    message.body = body;
    message.ts = nowMs;
    message.outgoing = true;
    message.state = MessageState::Queued;
    message.queuedAt = nowMs;
    m_messages.append(message);
    return message;
}

QList<ChatMessage> Outbox::takeReady(qint64 nowMs)
{
    QList<ChatMessage> ready;
    if (nowMs < m_pausedUntilMs)
        return ready;
    m_pausedUntilMs = 0; // over: no longer a deadline

    int inFlight = this->inFlight();
    const int window = std::min(m_window, m_options.maxInFlight);
    for (ChatMessage &message : m_messages) {
        if (message.cancelled)
            continue;
        const bool overdue = message.state == MessageState::Sending
            && message.sendingAt + m_options.ackTimeoutMs <= nowMs;
        const bool admitted = message.state == MessageState::Queued && inFlight < window;
        if (!overdue && !admitted)
            continue;
        if (overdue)
            qCDebug(lcClient) << "outbox: no ack for" << message.cid << "after"
                              << nowMs - message.sendingAt << "ms, resending";
        else
            ++inFlight; // an overdue message is in flight already
        message.state = MessageState::Sending;
        ++message.attempts;
        message.sendingAt = nowMs;
        ready.append(message);
    }
    return ready;
}

std::optional<ChatMessage> Outbox::acked(const protocol::Ack &ack, qint64 nowMs)
{
    const qsizetype index = indexOf(ack.cid);
    if (index < 0)
        return std::nullopt;
    return resolve(index, ack.conv, ack.seq, ack.ts, nowMs);
}

std::optional<ChatMessage> Outbox::echoed(const protocol::Message &message, qint64 nowMs)
{
    const qsizetype index = indexOf(message.cid);
    // cids are chosen per sender: another user's message may carry the same one.
    if (index < 0 || m_messages.at(index).from != message.from)
        return std::nullopt;
    return resolve(index, message.conv, message.seq, message.ts, nowMs);
}

std::optional<ChatMessage> Outbox::failed(
    const QString &cid, const protocol::Error &error, qint64 nowMs)
{
    const qsizetype index = indexOf(cid);
    if (index < 0)
        return std::nullopt;
    ChatMessage &message = m_messages[index];
    if (isPermanentSendError(error.code)) {
        qCDebug(lcClient) << "outbox:" << cid << "refused:" << protocol::errorCodeName(error.code)
                          << error.message;
        message.state = MessageState::Failed;
        message.failure = error.message;
        message.failedAt = nowMs;
        // Refused means never stored: it is an ordinary Failed message now (Retry or
        // Delete), not one that may still be acked.
        message.cancelled = false;
        return message;
    }
    const qint64 pause = error.retryAfterMs.value_or(DefaultRetryAfterMs);
    qCDebug(lcClient) << "outbox:" << cid << "got" << protocol::errorCodeName(error.code)
                      << ", pausing sends for" << pause << "ms";
    message.state = MessageState::Queued;
    m_pausedUntilMs = std::max(m_pausedUntilMs, nowMs + pause);
    // Stop and go: besides what is still in flight, one message goes at a time, the oldest
    // first (the server holds the later ones of its conversation until it comes); each ack
    // lets one more go along (slow start back to maxInFlight).
    m_window = inFlight() + 1;
    return message;
}

QList<ChatMessage> Outbox::linkLost(qint64 /*nowMs*/)
{
    QList<ChatMessage> changed;
    for (ChatMessage &message : m_messages) {
        if (message.state != MessageState::Sending)
            continue;
        message.state = MessageState::Queued;
        message.maybeSent = true;
        changed.append(message);
    }
    return changed;
}

Outbox::CancelResult Outbox::cancel(const QString &cid, qint64 /*nowMs*/)
{
    const qsizetype index = indexOf(cid);
    if (index < 0)
        return CancelResult::NotCancellable;
    const ChatMessage &message = m_messages.at(index);
    const bool neverSent
        = message.state == MessageState::Queued && message.attempts == 0 && !message.maybeSent;
    if (neverSent || message.state == MessageState::Failed) {
        m_messages.removeAt(index);
        return CancelResult::Removed;
    }
    m_messages[index].cancelled = true;
    return CancelResult::MayHaveBeenSent;
}

std::optional<ChatMessage> Outbox::retry(const QString &cid, qint64 /*nowMs*/)
{
    const qsizetype index = indexOf(cid);
    if (index < 0 || m_messages.at(index).state != MessageState::Failed)
        return std::nullopt;
    ChatMessage &message = m_messages[index];
    message.state = MessageState::Queued;
    message.failure.clear();
    message.failedAt = 0;
    return message;
}

bool Outbox::forget(const QString &cid)
{
    const qsizetype index = indexOf(cid);
    if (index < 0)
        return false;
    if (m_messages.at(index).state != MessageState::Failed && !m_messages.at(index).cancelled)
        return false;
    m_messages.removeAt(index);
    return true;
}

qint64 Outbox::nextDeadlineMs() const
{
    qint64 next = -1;
    for (const ChatMessage &message : m_messages) {
        if (message.cancelled)
            continue;
        qint64 at = -1;
        if (message.state == MessageState::Sending)
            at = message.sendingAt + m_options.ackTimeoutMs;
        else if (message.state == MessageState::Queued && m_pausedUntilMs > 0)
            at = m_pausedUntilMs;
        else
            continue;
        at = std::max(at, m_pausedUntilMs); // nothing leaves before the pause ends
        if (next < 0 || at < next)
            next = at;
    }
    return next;
}

std::optional<ChatMessage> Outbox::find(const QString &cid) const
{
    const qsizetype index = indexOf(cid);
    if (index < 0)
        return std::nullopt;
    return m_messages.at(index);
}

int Outbox::inFlight() const
{
    return int(std::count_if(m_messages.cbegin(), m_messages.cend(),
        [](const ChatMessage &m) { return m.state == MessageState::Sending && !m.cancelled; }));
}

qsizetype Outbox::indexOf(const QString &cid) const
{
    const auto it = std::find_if(m_messages.cbegin(), m_messages.cend(),
        [&cid](const ChatMessage &m) { return m.cid == cid; });
    return it == m_messages.cend() ? -1 : qsizetype(it - m_messages.cbegin());
}

ChatMessage Outbox::resolve(
    qsizetype index, const QString &conv, qint64 seq, qint64 ts, qint64 nowMs)
{
    // A cancelled message that is acked lost the race honestly: it is Sent.
    ChatMessage message = m_messages.takeAt(index);
    message.cancelled = false;
    if (m_window < m_options.maxInFlight)
        ++m_window;
    message.conv = conv;
    message.seq = seq;
    message.ts = ts;
    message.state = MessageState::Sent;
    message.sentAt = nowMs;
    return message;
}

} // namespace parley::client
