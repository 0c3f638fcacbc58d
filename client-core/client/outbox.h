// The outbox state machine: which of our unacknowledged messages go on the wire when,
// and what every ack, error, reconnect and cancel does to them. A plain class with an
// injected clock (every call takes nowMs): no sockets, no database. The Client persists
// each message it returns.
//
// Guarantees: messages leave in the order they were queued (per account); a message
// is resent with the same cid after a reconnect or when its ack is overdue (the
// server's cid dedupe makes that safe); only permanent errors fail a message.
#pragma once

#include "chatmessage.h"
#include "frames.h"

#include <QList>
#include <QSet>
#include <QString>

#include <limits>
#include <optional>

namespace parley::client {

struct OutboxOptions
{
    int maxInFlight = 100; // Sending at once (the server's send burst is 200)
    qint64 ackTimeoutMs = 15000; // Sending this long without an ack: resend
};

class Outbox
{
public:
    using Options = OutboxOptions;

    explicit Outbox(Options options = {});

    // Messages found in the local database at start (Queued, Sending or Failed), in the
    // order they were queued. Sending ones become Queued with maybeSent set.
    void restore(const QList<ChatMessage> &messages);

    // A new message from `me` to `peer`: cid = a fresh UUID, state Queued, queuedAt = nowMs.
    ChatMessage enqueue(const QString &me, const QString &peer, const QString &body, qint64 nowMs);

    // What to hand to the socket now, in queue order: Queued messages (and Sending ones
    // whose ack is overdue), within the in-flight window and not while paused by a
    // rate limit. Each returned message is now Sending (attempts + 1, sendingAt = nowMs).
    QList<ChatMessage> takeReady(qint64 nowMs);

    // The server stored it: Sent(seq). Returns the message (now off the outbox), or
    // nullopt if the cid is unknown (already resolved, or another device's message).
    std::optional<ChatMessage> acked(const protocol::Ack &ack, qint64 nowMs);
    // The echo of our own message arrived before its ack: resolves it the same way.
    std::optional<ChatMessage> echoed(const protocol::Message &message, qint64 nowMs);

    // An error reply to the send with this cid. Permanent codes (not_found, bad_request,
    // forbidden, too_large, unknown_type: see isPermanentSendError) make it Failed and
    // return it; every other code (rate_limited, unavailable, internal, unauthenticated)
    // puts it back to Queued and pauses sending for retryAfterMs (or 1 s); the return
    // value is then the Queued message.
    std::optional<ChatMessage> failed(
        const QString &cid, const protocol::Error &error, qint64 nowMs);

    // Messages it may have in flight now: maxInFlight, but right after a transient refusal
    // only those still in flight plus one, growing by one per ack (stop and go, then slow
    // start).
    int window() const { return std::min(m_window, m_options.maxInFlight); }
    // The link dropped: every Sending message goes back to Queued (maybeSent = true),
    // to be resent in order on the next link. Returns the changed messages.
    QList<ChatMessage> linkLost(qint64 nowMs);

    enum class CancelResult {
        Removed, // never handed to the socket: gone
        MayHaveBeenSent, // it may have reached the server: kept, not resent; a later ack
                         // or echo still resolves it
        NotCancellable, // already acked, or unknown
    };
    // For MayHaveBeenSent the message stays until acked() / echoed() or forget(), and is
    // never handed to the socket again (it neither counts as in flight nor has a deadline).
    // Failed messages are Removed (the server refused them). The mark is
    // ChatMessage::cancelled, so it survives restore().
    CancelResult cancel(const QString &cid, qint64 nowMs);
    // Failed -> Queued (the user pressed Retry). Returns the message, or nullopt.
    std::optional<ChatMessage> retry(const QString &cid, qint64 nowMs);
    // Drops a Failed or cancelled message for good (the user pressed Delete).
    bool forget(const QString &cid);

    // The next time takeReady could return something new (an ack deadline or the end
    // of a rate-limit pause), or -1 if nothing is waiting on time. While paused, ack
    // deadlines are pushed back to the pause end (takeReady returns nothing before it).
    // The pause end is reported while Queued messages wait for it, until the first
    // takeReady at or after it ends the pause; it may then lie in the past (call
    // takeReady now). Queued messages that only wait for window room report nothing:
    // an ack frees the room.
    qint64 nextDeadlineMs() const;

    std::optional<ChatMessage> find(const QString &cid) const;
    QList<ChatMessage> messages() const { return m_messages; } // queue order
    int inFlight() const; // Sending and not cancelled
    bool isEmpty() const { return m_messages.isEmpty(); }

private:
    qsizetype indexOf(const QString &cid) const;
    // Takes the message at index off the outbox as Sent (an ack or our own echo).
    ChatMessage resolve(qsizetype index, const QString &conv, qint64 seq, qint64 ts, qint64 nowMs);

    Options m_options;
    QList<ChatMessage> m_messages; // not yet acked, queue order (also Failed, cancelled)
    qint64 m_pausedUntilMs = 0; // 0: not paused
    // Messages allowed in flight: maxInFlight; after a transient refusal, those still in
    // flight plus one, then one more per ack (slow start), so a rate-limited sender does not
    // resend its whole window at once.
    int m_window = std::numeric_limits<int>::max();
};

bool isPermanentSendError(protocol::ErrorCode code);

} // namespace parley::client
