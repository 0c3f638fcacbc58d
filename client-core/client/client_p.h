// Client's private state, shared by client.cpp (the public API, sign-in, sending) and
// clientsync.cpp (incoming frames, the timelines, catching up after a reconnect).
#pragma once

#include "cache.h"
#include "client.h"
#include "codec.h"
#include "credentialstore.h"
#include "timeline.h"

#include <QDateTime>
#include <QSet>
#include <QTimer>

namespace parley::client {

namespace detail {

inline constexpr int HistoryPageLimit = 500; // the server's cap
inline constexpr qint64 TypingShownForMs = 6000; // a peer's "typing" fades without a refresh
inline constexpr int LogoutTimeoutMs = 3000;
inline constexpr qint64 RequestTimeoutMs = 30000;
// While a conversation holds messages after a missing seq, ask again this often.
inline constexpr int StalledTimelineRetryMs = 2000;

inline qint64 wallNowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

} // namespace detail

using namespace detail;
// Private header of two source files: the protocol types are used everywhere here.
using namespace parley::protocol;
using namespace Qt::StringLiterals;

struct Client::Private
{
    Client *q = nullptr;
    CredentialStore *credentials = nullptr;
    ClientOptions options;
    Connection *connection = nullptr;
    Cache *cache = nullptr;
    Outbox outbox;
    QTimer wakeup; // outbox deadlines, typing throttles, typing expiry
    QTimer receiptTimer; // batches delivered receipts
    // Asks again for what a conversation is missing while messages after it are held: a
    // server leaves out a seq another node may still be writing (it is neither a message
    // nor a gap yet), and nothing else may ask again once the conversation goes quiet.
    QTimer stallTimer;

    QString user; // signed-in (or signing-in) user, lowercased
    QString cacheUser; // whose database is open
    bool remember = false;
    bool everSignedIn = false;
    bool resuming = false; // the connection signs in with a token (saved, or after a welcome)
    quint64 nextRid = 1;

    QHash<QString, ConversationInfo> conversations;
    QHash<QString, TimelineBuffer> timelines;
    // Our own messages resolved through the outbox: already announced by send(), so
    // the timeline must not announce them a second time.
    QSet<QString> ownCids;
    QHash<QString, std::function<void(const ServerFrame &)>> pending; // by rid
    // When each pending request gives up waiting (a reply the link lost or that could not
    // be read); it is then answered with `unavailable` like a request cut by a disconnect.
    QHash<QString, qint64> pendingDeadline;
    QHash<QString, qint64> deliveredToSend; // conv -> upTo
    QHash<QString, qint64> readToSend; // conv -> upTo
    QHash<QString, TypingThrottle> typing; // by peer
    QHash<QString, qint64> peerTypingAt; // peer -> wall ms of the last "start"
    QHash<QString, PeerPresence> presence;
    QSet<QString> watched;
    int fetchesAfterSync = -1; // outstanding catch-up fetches; -1: not syncing

    // Wall-clock ms: the outbox stamps each step with it, and deadlines are short.
    static qint64 now() { return wallNowMs(); }
    QString nextRequestId() { return u"r"_s + QString::number(nextRid++); }
    QString account(const QString &name) const
    {
        const QUrl url = connection->server();
        return name + u'@' + url.host() + u':'
            + QString::number(url.port(url.scheme() == u"wss"_s ? 443 : 80));
    }
    QString peerOf(const QString &conv) const
    {
        const auto members = conversationMembers(conv);
        if (!members)
            return {};

        return members->first == user ? members->second : members->first;
    }

    // ---- plumbing ----
    bool request(ClientFrame frame, std::function<void(const ServerFrame &)> onReply);
    void openCache(const QString &name, std::function<void()> then);
    void startConnection(SignIn signIn);
    void onAuthenticationFailed(const Error &error);
    void scheduleWakeup();
    void onWakeup();
    void expireRequests(qint64 nowMs);
    void pump();

    // ---- frames ----
    void onFrame(const ServerFrame &frame);
    void onWelcome(const Welcome &welcome);
    void onStateChanged(ConnectionState state);
    void sync();
    void onConversations(const Conversations &list);
    void fetchAfter(const QString &conv, qint64 after);
    void retryStalledTimelines();
    void onAck(const Ack &ack);
    void onMessage(const Message &message);
    void onReceipt(const ReceiptEvent &receipt);
    void onSendError(const QString &cid, const Error &error);
    void checkDrained();

    // ---- timeline ----
    ChatMessage fromWire(const Message &message) const;
    TimelineBuffer &timeline(const QString &conv);
    ConversationInfo &conversation(const QString &conv);
    void feed(const QString &conv, const ChatMessage &message);
    void apply(const QString &conv, const TimelineBuffer::Result &result);
    void resolved(const ChatMessage &message); // ours, acked or echoed
    void flushReceipts();
    void fetchDone();
};

} // namespace parley::client
