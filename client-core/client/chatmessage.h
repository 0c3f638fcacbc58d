// The client's view of one message, shared by the outbox, the timeline, the cache
// and everything above them (the desktop UI, the swarm).
#pragma once

#include <QMetaType>
#include <QString>

#include <optional>

namespace parley::client {

// Where a message stands. Outgoing messages move forward through these states and
// never back (Failed can go back to Queued through Client::retry). Incoming messages
// are Received, then Read once the user has seen them.
enum class MessageState {
    Queued, // written locally, not yet handed to the socket
    Sending, // handed to the socket, no ack yet
    Sent, // acked: stored by the server, seq known
    Delivered, // the peer's device has it
    Read, // the peer has seen it
    Failed, // refused for good (not_found, bad_request, forbidden); see `failure`
    Received, // incoming, not yet read by us
};
QString messageStateName(MessageState state);

struct ChatMessage
{
    QString conv; // "alice:bob" (sorted members)
    qint64 seq = 0; // 0 until acked (outgoing) or for a message never stored
    QString cid; // sender's id (UUID for ours); may be empty for history gaps
    QString from;
    QString to;
    QString body;
    qint64 ts = 0; // server timestamp (ms since epoch) once stored, else the time it was queued
    bool outgoing = false; // from == the signed-in user
    bool gap = false; // a seq the server skipped: no content, never shown
    MessageState state = MessageState::Received;
    QString failure; // why Failed (the server's message)
    // Honest cancel: set when the user cancelled a message that may already have reached
    // the server; a later ack still resolves it (it then shows as sent).
    bool maybeSent = false;
    // The user cancelled it after it may have reached the server: never sent again, and
    // shown as "may have been sent" until an ack or echo resolves it.
    bool cancelled = false;
    int attempts = 0; // times handed to the socket

    // A timestamp (ms since epoch) for each step, 0 when not reached.
    qint64 queuedAt = 0;
    qint64 sendingAt = 0;
    qint64 sentAt = 0;
    qint64 deliveredAt = 0;
    qint64 readAt = 0;
    qint64 failedAt = 0;

    bool isPending() const { return outgoing && seq == 0 && state != MessageState::Failed; }
    friend bool operator==(const ChatMessage &, const ChatMessage &) = default;
};

// One conversation as the client knows it.
struct ConversationInfo
{
    QString conv;
    QString peer;
    qint64 lastSeq = 0; // highest seq known to exist on the server
    qint64 lastTs = 0;
    QString lastBody; // preview of the newest cached message
    QString lastFrom;
    qint64 contiguousSeq = 0; // every seq up to this one is cached (or known to be a gap)
    qint64 floorSeq = 0; // older than this was never fetched (loaded on demand); 0: from the start
    qint64 readUpTo = 0; // we have read up to here
    qint64 peerDelivered = 0; // the peer's receipts on our messages
    qint64 peerRead = 0;
    int unread = 0; // incoming messages above readUpTo
    friend bool operator==(const ConversationInfo &, const ConversationInfo &) = default;
};

} // namespace parley::client

Q_DECLARE_METATYPE(parley::client::ChatMessage)
Q_DECLARE_METATYPE(parley::client::ConversationInfo)
