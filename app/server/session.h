// One client connection: authentication, then the chat protocol. Lives on a
// worker thread. Replies leave in the order their requests arrived, whatever
// order the store, the bus or the password hasher answer in.
#pragma once

#include "bus.h"
#include "frames.h"
#include "link.h"
#include "store.h"
#include "tokenbucket.h"

#include <QByteArray>
#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QSet>

#include <memory>

namespace parley::server {

class ChatService;
class Worker;

class Session : public QObject, private Link::Receiver
{
    Q_OBJECT

public:
    // Takes the upgraded link (it becomes this session's child).
    // `client`: the address limits are counted under (the peer, or whom a trusted proxy
    // says it forwards); its connection was counted by the worker and is released here.
    Session(Link *link, ChatService *service, Worker *worker, ConnectionId id,
        const QHostAddress &client);
    ~Session() override;

    ConnectionId id() const { return m_id; }
    void deliver(const BusEvent &event);
    // Server shutdown: stop taking requests, close with 1001 once the replies
    // of requests already taken (writes in flight) have been sent.
    void drain();
    // Called by the worker every ping interval (one timer per thread, not per
    // connection, keeps idle connections cheap): pings, or drops a dead link.
    void livenessCheck();
    // Called by the worker once the sign-in deadline (--auth-timeout) has passed.
    void checkSignInDeadline();

Q_SIGNALS:
    void finished(parley::server::ConnectionId id);

private:
    enum class Phase { Anonymous, Authenticating, Authenticated };

    // A reply slot: requests get one each, in arrival order; frames are written
    // only when every earlier slot is filled.
    struct Slot
    {
        quint64 number = 0;
        bool filled = false;
        QList<QByteArray> frames;
        qint64 ackStartNs = 0; // a send: when it arrived (for the ack latency histogram)
    };

    // Link::Receiver
    void linkText(QByteArray utf8) override;
    void linkBinary(QByteArray data) override;
    void linkPong() override;
    void linkClosed() override;

    void process(const QByteArray &utf8); // decode and dispatch an admitted frame
    // The frame and drain checks every frame passes first: nullopt when admitted, else
    // the error to answer with. May close the connection (rate-limit abuse).
    std::optional<protocol::Error> admit(const QByteArray &utf8);
    static QString ridIn(const QByteArray &utf8);
    void processHeld();
    static protocol::SearchResults fitResults(const QString &rid, SearchPage page);
    static protocol::HistoryPage fitPage(
        const protocol::HistoryRequest &request, HistorySlice slice);
    void dispatch(const protocol::ClientFrame &frame, quint64 slot);

    void handleRegister(const protocol::Register &frame, quint64 slot);
    void handleLogin(const protocol::Login &frame, quint64 slot);
    void handleResume(const protocol::Resume &frame, quint64 slot);
    void handleLogout(const protocol::Logout &frame, quint64 slot);
    void handleSend(const protocol::Send &frame, quint64 slot);
    void handleReceipt(const protocol::ReceiptRequest &frame, quint64 slot);
    void handleSync(const protocol::SyncRequest &frame, quint64 slot);
    void handleHistory(const protocol::HistoryRequest &frame, quint64 slot);
    void handleTyping(const protocol::TypingRequest &frame, quint64 slot);
    void handleWatch(const protocol::Watch &frame, quint64 slot);
    void handleUsers(const protocol::UsersRequest &frame, quint64 slot);
    void handleSearch(const protocol::SearchRequest &frame, quint64 slot);

    void issueToken(const QString &rid, const QString &user, const QString &device, quint64 slot);
    void authenticated(const QString &user, const QString &device, const QString &token,
        qint64 expires, const QString &rid, quint64 slot);
    void authFailed(quint64 slot, const protocol::Error &error);
    void subscribeUser(const QString &user);
    void checkTokenIfDue();
    void closeSlowSignIn();
    void watchPresenceOf(const QStringList &users, bool announce);

    quint64 openSlot();
    void fill(quint64 slot, QList<QByteArray> frames);
    void fill(quint64 slot, const protocol::ServerFrame &frame);
    void fillError(quint64 slot, const QString &rid, protocol::ErrorCode code,
        const QString &message, std::optional<qint64> retryAfterMs = std::nullopt);
    void flush();
    void sendNow(const QByteArray &frame);
    void closeWith(int closeCode, const QString &reason);
    bool hasPendingSlots() const { return !m_slots.empty(); }
    protocol::Error storeError(const QString &rid, const StoreError &error) const;

    // Wraps a store callback: runs `fn` on this session's thread, and only if
    // the session still exists by then.
    template<typename T, typename Fn> Callback<T> onThread(Fn fn);
    void noteRefusedSend(const QString &to, const QString &cid);

    Link *m_link;
    ChatService *m_service;
    Worker *m_worker;
    ConnectionId m_id;
    QHostAddress m_client;
    // Expires with the session: password hashes queued for a closed connection are skipped.
    const std::shared_ptr<const bool> m_alive = std::make_shared<const bool>(true);
    Phase m_phase = Phase::Anonymous;
    bool m_closing = false; // close sent or being sent: nothing more goes out
    bool m_draining = false;
    bool m_closeAfterFlush = false;
    int m_closeCodeAfterFlush = 1000;

    QString m_user;
    QString m_device;
    QByteArray m_tokenHash; // of the token signed in with, or being resumed
    bool m_tokenRevoked = false; // a revocation arrived while resuming that token
    bool m_signInOverdue = false; // the sign-in deadline passed during a sign-in
    qint64 m_tokenCheckedMs = 0;

    QList<Slot> m_slots; // QList: no allocation while empty, O(1) removeFirst
    quint64 m_nextSlot = 1;
    struct Held
    {
        QByteArray utf8;
        std::optional<protocol::Error> refusal; // answered with this instead
    };
    QList<Held> m_held; // frames that arrived while authenticating

    TokenBucket m_frameBucket;
    TokenBucket m_sendBucket;
    TokenBucket m_authBucket;
    TokenBucket m_searchBucket;
    TokenBucket m_abuseBucket;
    QHash<QString, qint64> m_lastTypingMs;
    // Per recipient: the first send refused since the last one accepted (cid, when), which
    // later sends to that conversation wait for (send order = seq order).
    QHash<QString, std::pair<QString, qint64>> m_refusedSends;
    QSet<QString> m_presenceTopics;

    int m_missedPongs = 0;
};

} // namespace parley::server
