// Client: the one object the desktop UI and the swarm talk to. It ties the connection,
// the outbox, the per-conversation timelines, the cache and the credential store
// together and reports everything through signals. Every call returns at once; nothing
// here blocks the caller's thread.
//
// Guarantees (see docs/client-core.md): a sent message is written to the cache before
// send() returns and survives a crash or restart; it goes on the wire at least once
// (same cid on every attempt); each conversation's messages are announced exactly once,
// in seq order (messageAdded), whatever the link does.
#pragma once

#include "chatmessage.h"
#include "connection.h"
#include "outbox.h"

#include <QHash>
#include <QObject>
#include <QSslError>

#include <functional>
#include <memory>

namespace parley::client {

class Cache;
class CredentialStore;

struct PeerPresence
{
    bool online = false;
    qint64 lastSeen = 0; // ms since epoch when offline and known, else 0
    bool typing = false;
};

struct ClientOptions
{
    // Where the per-account databases go ("<dir>/<server>/<user>.sqlite3"); empty:
    // keep the cache in memory (the swarm, unless asked otherwise).
    QString dataDir;
    QString device = QStringLiteral("desktop");
    ConnectionOptions connection;
    OutboxOptions outbox;
    // Receipts for what reached the timeline are batched this long.
    int deliveredReceiptDelayMs = 250;
    // A conversation first seen with more than this many messages starts from its
    // newest page; older ones are fetched when the user scrolls.
    int initialPage = 100;
};

class Client : public QObject
{
    Q_OBJECT
    Q_PROPERTY(parley::client::ConnectionState state READ state NOTIFY stateChanged)
    Q_PROPERTY(QString user READ user NOTIFY signedIn)

public:
    using Options = ClientOptions;

    // credentials: not owned; must outlive the client.
    explicit Client(CredentialStore *credentials, Options options = {}, QObject *parent = nullptr);
    ~Client() override;

    // ---- account ----
    // The server to use (see Connection::setServer for the TLS rules).
    void setServer(const QUrl &url, const QByteArray &pinnedSha256 = {});
    // Sign in with a password (or create the account). remember: keep the token in the
    // credential store so resumeSaved() works next time.
    void signIn(const QString &user, const QString &password, bool createAccount, bool remember);
    // Resume with the token saved for this user on this server; authenticationRequired
    // is emitted when there is none or it no longer works.
    void resumeSaved(const QString &user);
    // Revokes the token on the server (when online), forgets it locally, goes Offline.
    void signOut();
    // Go offline / online without signing out (the UI's "work offline", app shutdown).
    void disconnectFromServer();
    void reconnectNow();

    ConnectionState state() const;
    QString user() const; // empty until signed in
    Connection *connection() const;
    Cache *cache() const;

    // ---- messages ----
    // Queues a message to peer; returns it at once in state Queued (already being
    // written to the cache). Empty or over-long bodies come back Failed.
    ChatMessage send(const QString &peer, const QString &body);
    Outbox::CancelResult cancel(const QString &cid);
    void retry(const QString &cid);
    void forget(const QString &cid); // delete a Failed or cancelled message
    // We showed the user everything up to seq: sends `read` and updates the cache.
    void markRead(const QString &conv, qint64 upToSeq);
    // Reads from the cache (instant, offline too): the newest `limit` before beforeSeq
    // (0: the newest, with our unacked messages last). When the cache has fewer than
    // asked and the server has older ones, they are fetched and arrive as
    // olderMessagesLoaded.
    void loadMessages(const QString &conv, qint64 beforeSeq, int limit, QObject *context,
        std::function<void(QList<ChatMessage>)> done);
    void loadConversations(QObject *context, std::function<void(QList<ConversationInfo>)> done);

    // ---- presence, typing, directory ----
    void setComposing(const QString &peer, bool composing); // throttled typing frames
    void watch(const QStringList &users);
    PeerPresence presence(const QString &user) const;
    void queryUsers(const QString &prefix, int limit, QObject *context,
        std::function<void(QList<protocol::UserEntry>, QString error)> done);

    // ---- search (see search.h for the as-you-type search with local + server merge) ----
    // One page of the server's search: done gets the reply, or an empty reply and a
    // human-readable error (offline, rate limited, bad query).
    void searchServer(const protocol::SearchRequest &request, QObject *context,
        std::function<void(protocol::SearchResults, QString error)> done);
    // The messages around conv's seq (about `radius` each side, ascending, gaps excluded)
    // for opening a conversation at a search hit: from the cache, and what the cache
    // lacks fetched from the server (and then cached). done always runs once; it gets
    // what could be found (the cached part when offline).
    void loadAround(const QString &conv, qint64 seq, int radius, QObject *context,
        std::function<void(QList<ChatMessage>)> done);

    // Messages in the outbox right now (queue order).
    QList<ChatMessage> pendingMessages() const;
    // Highest seq held in order for conv (for tests and the swarm's verifier).
    qint64 contiguousSeq(const QString &conv) const;

Q_SIGNALS:
    void stateChanged(parley::client::ConnectionState state);
    // The account's cache is open (before any network): cached conversations and
    // messages can be loaded and send() queues. Follows signIn() / resumeSaved().
    void accountReady(const QString &user);
    // The server accepted the sign-in (first welcome of this client).
    void signedIn(const QString &user);
    // The saved token is missing, expired or revoked, or the password was wrong:
    // ask the user. reason is human-readable; code is the server's error code if any.
    void authenticationRequired(const QString &reason, const QString &code);
    void untrustedCertificate(const QList<QSslError> &errors, const QByteArray &certSha256);
    void connectionError(const QString &message);

    // A message entered a conversation's timeline (incoming, ours acked, or ours queued),
    // exactly once per (conv, seq) / cid, in seq order per conversation.
    void messageAdded(const parley::client::ChatMessage &message);
    // A known message changed state (sending, sent, delivered, read, failed, cancelled).
    void messageChanged(const parley::client::ChatMessage &message);
    void messageRemoved(const QString &conv, const QString &cid); // cancelled before sending
    // Older messages fetched from the server for loadMessages (ascending).
    void olderMessagesLoaded(
        const QString &conv, const QList<parley::client::ChatMessage> &messages);
    void conversationChanged(const parley::client::ConversationInfo &info);
    void presenceChanged(const QString &user, const parley::client::PeerPresence &presence);
    // The sync after (re)connecting has finished and every moved conversation caught up.
    void synced();
    // Every message queued so far has been acked (or failed for good).
    void outboxDrained();

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace parley::client

Q_DECLARE_METATYPE(parley::client::PeerPresence)
