#include "session.h"

#include "chatservice.h"
#include "codec.h"
#include "logformat.h"
#include "logging.h"
#include "passwordhasher.h"
#include "searchtext.h"
#include "worker.h"

#include <QDateTime>

#include <chrono>

using namespace Qt::StringLiterals;
using namespace parley::protocol;

namespace parley::server {

namespace {

qint64 nowMs()
{
    return QDateTime::currentMSecsSinceEpoch();
}

qint64 monotonicNs()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Frames refused by the frame bucket are themselves metered: a client that keeps
// sending after being told to slow down (1000 refusals at once, or more than 20
// a second for long) is closed with 1008. A client flushing a large outbox is
// slowed down, not cut off.
constexpr double AbuseBurst = 1000;
// Searches per connection: a client searching as the user types sends a few a second.
constexpr double SearchBurst = 20;
constexpr double SearchesPerSecond = 5;
// The most hits one search page holds (PROTOCOL: limit capped at 100).
constexpr int SearchLimitCap = 100;
constexpr double AbusePerSecond = 20;
// How long later sends to a conversation wait for a refused one to be sent again.
constexpr qint64 SendHoldMs = 30'000;
// What a send held back for an earlier refused one is told to wait: long enough that a
// client whose refused message never comes (cancelled) does not spin on the hold.
constexpr qint64 HeldSendRetryMs = 1000;
// Conversations one connection may have held at once (a bound on m_refusedSends).
constexpr qsizetype MaxHeldConversations = 256;
// Frames held while an authentication is in flight.
constexpr int MaxHeldFrames = 64;
constexpr int CloseNormal = 1000;
constexpr int CloseGoingAway = 1001;
constexpr int ClosePolicy = 1008;

QString ridOf(const ClientFrame &frame)
{
    return std::visit([](const auto &f) { return f.rid; }, frame);
}

} // namespace

Session::Session(
    Link *link, ChatService *service, Worker *worker, ConnectionId id, const QHostAddress &client)
    : QObject(worker)
    , m_link(link)
    , m_service(service)
    , m_worker(worker)
    , m_id(id)
    , m_client(client)
    , m_frameBucket(service->config().frameBurst, service->config().framesPerSecond)
    , m_sendBucket(service->config().sendBurst, service->config().sendsPerSecond)
    , m_authBucket(10, 0.5)
    , m_searchBucket(SearchBurst, SearchesPerSecond)
    , m_abuseBucket(AbuseBurst, AbusePerSecond)
{
    m_link->setParent(this);
    m_link->setReceiver(this);

    m_service->connectionOpened();
    Hello hello;
    hello.server = m_service->serverName();
    hello.node = m_service->config().nodeId;
    sendNow(encode(ServerFrame(hello)));
}

Session::~Session()
{
    m_service->bus().unsubscribeAll(m_id);
    if (m_phase == Phase::Authenticated)
        m_service->bus().connectionDown(m_user, m_id);
    m_service->connectionClosed();
    m_service->guard().closeConnection(m_client);
}

template<typename T, typename Fn> Callback<T> Session::onThread(Fn fn)
{
    // The worker outlives every session on its thread, so it is a safe target
    // for the queued call; the session itself is looked up when the call runs.
    QPointer<Worker> worker = m_worker;
    const ConnectionId id = m_id;
    Worker *target = m_worker;
    return [target, worker, id, fn = std::move(fn)](Result<T> result) mutable {
        QMetaObject::invokeMethod(
            target,
            [worker, id, fn, result = std::move(result)]() mutable {
                if (Session *session = worker ? worker->session(id) : nullptr)
                    fn(session, std::move(result));
            },
            Qt::QueuedConnection);
    };
}

// ---- input -------------------------------------------------------------------

void Session::linkPong()
{
    m_missedPongs = 0;
}

void Session::linkText(QByteArray text)
{
    m_missedPongs = 0;
    if (m_closing)
        return;
    std::optional<Error> refusal = admit(text);
    if (m_closing)
        return;
    if (m_phase == Phase::Authenticating) {
        // Held in arrival order, refusals included, so that every reply (with its rid)
        // still leaves in request order once the sign-in is answered.
        if (!refusal && m_held.size() >= MaxHeldFrames)
            refusal = Error {ridIn(text), ErrorCode::RateLimited,
                u"too many frames before authentication finished"_s, 1000};
        m_held.append(refusal ? Held {{}, std::move(refusal)} : Held {text, {}});
        return;
    }
    if (refusal)
        fill(openSlot(), ServerFrame(*refusal));
    else
        process(text);
}

void Session::linkBinary(QByteArray)
{
    m_missedPongs = 0;
    if (m_closing)
        return;
    // Metered like any frame, so binary spam is closed with 1008 like text spam.
    std::optional<Error> refusal = admit({});
    if (m_closing)
        return;
    m_service->frameRejected(ErrorCode::BadRequest);
    const Error error = refusal.value_or(Error {{}, ErrorCode::BadRequest,
        u"binary frames are not part of the protocol; send JSON text"_s, {}});
    if (m_phase == Phase::Authenticating)
        m_held.append(Held {{}, error});
    else
        fill(openSlot(), ServerFrame(error));
}

QString Session::ridIn(const QByteArray &utf8)
{
    if (utf8.isEmpty())
        return {};
    const auto decoded = decodeClientFrame(utf8);
    return decoded ? ridOf(decoded.value()) : decoded.error().rid;
}

std::optional<Error> Session::admit(const QByteArray &text)
{
    if (m_draining)
        return Error {ridIn(text), ErrorCode::Unavailable, u"the server is shutting down"_s, {}};
    if (m_frameBucket.take(nowMs()))
        return std::nullopt;
    m_service->frameRejected(ErrorCode::RateLimited);
    if (!m_abuseBucket.take(nowMs())) {
        qCInfo(lcServerSession) << "connection" << m_id << "closed for rate-limit abuse";
        closeWith(ClosePolicy, u"too many frames"_s);
        return std::nullopt;
    }
    QString rid;
    if (!text.isEmpty()) {
        const auto decoded = decodeClientFrame(text);
        rid = decoded ? ridOf(decoded.value()) : decoded.error().rid;
        // A send refused here holds back the later ones to its conversation (noteRefusedSend).
        // Also while signing in: the frames held meanwhile are processed after it.
        if (const Send *send = decoded ? std::get_if<Send>(&decoded.value()) : nullptr)
            noteRefusedSend(send->to, send->cid);
    }
    return Error {rid, ErrorCode::RateLimited, u"too many frames; slow down"_s,
        m_frameBucket.retryAfterMs(nowMs())};
}

void Session::noteRefusedSend(const QString &to, const QString &cid)
{
    // Only the first refusal counts: the conversation waits for that message, the oldest
    // the client has not had stored.
    if (m_refusedSends.contains(to))
        return;
    if (m_refusedSends.size() >= MaxHeldConversations) {
        // Bounded: expired holds go first; a connection refused to more conversations
        // than this at once is flooding, and its further holds are not kept.
        const qint64 now = nowMs();
        m_refusedSends.removeIf(
            [now](const auto &it) { return now - it.value().second > SendHoldMs; });
        if (m_refusedSends.size() >= MaxHeldConversations)
            return;
    }
    m_refusedSends.insert(to, {cid, nowMs()});
}

void Session::process(const QByteArray &utf8)
{
    const auto decoded = decodeClientFrame(utf8);
    if (!decoded) {
        const DecodeError &e = decoded.error();
        // Before sign-in, any known request other than the sign-in ones is
        // `unauthenticated`, whatever its fields: the contract's rule, and the
        // more useful answer for a client that forgot to sign in.
        static const QStringList authTypes {u"register"_s, u"login"_s, u"resume"_s};
        if (m_phase != Phase::Authenticated && e.code == ErrorCode::BadRequest && !e.type.isEmpty()
            && !authTypes.contains(e.type)) {
            m_service->frameRejected(ErrorCode::Unauthenticated);
            fillError(openSlot(), e.rid, ErrorCode::Unauthenticated,
                u"sign in first (register, login or resume)"_s);
            return;
        }
        m_service->frameRejected(e.code);
        fillError(openSlot(), e.rid, e.code, e.message);
        return;
    }
    dispatch(decoded.value(), openSlot());
}

void Session::dispatch(const ClientFrame &frame, quint64 slot)
{
    const QString rid = ridOf(frame);
    const bool isAuth = std::holds_alternative<Register>(frame)
        || std::holds_alternative<Login>(frame) || std::holds_alternative<Resume>(frame);
    if (isAuth) {
        if (m_phase == Phase::Authenticated) {
            fillError(
                slot, rid, ErrorCode::BadRequest, u"this connection is already authenticated"_s);
            return;
        }
        if (!m_authBucket.take(nowMs())) {
            fillError(slot, rid, ErrorCode::RateLimited,
                u"too many sign-in attempts; wait a moment"_s, m_authBucket.retryAfterMs(nowMs()));
            return;
        }
    } else if (m_phase != Phase::Authenticated) {
        fillError(
            slot, rid, ErrorCode::Unauthenticated, u"sign in first (register, login or resume)"_s);
        return;
    }

    std::visit(
        [&](const auto &f) {
            using F = std::decay_t<decltype(f)>;
            if constexpr (std::is_same_v<F, Register>)
                handleRegister(f, slot);
            else if constexpr (std::is_same_v<F, Login>)
                handleLogin(f, slot);
            else if constexpr (std::is_same_v<F, Resume>)
                handleResume(f, slot);
            else if constexpr (std::is_same_v<F, Logout>)
                handleLogout(f, slot);
            else if constexpr (std::is_same_v<F, Send>)
                handleSend(f, slot);
            else if constexpr (std::is_same_v<F, ReceiptRequest>)
                handleReceipt(f, slot);
            else if constexpr (std::is_same_v<F, SyncRequest>)
                handleSync(f, slot);
            else if constexpr (std::is_same_v<F, HistoryRequest>)
                handleHistory(f, slot);
            else if constexpr (std::is_same_v<F, TypingRequest>)
                handleTyping(f, slot);
            else if constexpr (std::is_same_v<F, Watch>)
                handleWatch(f, slot);
            else if constexpr (std::is_same_v<F, UsersRequest>)
                handleUsers(f, slot);
            else if constexpr (std::is_same_v<F, SearchRequest>)
                handleSearch(f, slot);
        },
        frame);
}

// ---- authentication ----------------------------------------------------------

void Session::handleRegister(const Register &frame, quint64 slot)
{
    const int minLength = m_service->config().minPasswordLength;
    if (codePointCount(frame.password) < minLength) {
        fillError(slot, frame.rid, ErrorCode::BadRequest,
            u"password: must be at least %1 characters"_s.arg(minLength));
        return;
    }
    if (const qint64 wait = m_service->guard().beginRegistration(m_client, nowMs())) {
        m_service->throttled("registrations_per_address");
        m_service->frameRejected(ErrorCode::RateLimited);
        fillError(slot, frame.rid, ErrorCode::RateLimited,
            u"too many registrations from your address; try again later"_s, wait);
        return;
    }
    m_phase = Phase::Authenticating;
    m_service->hasher().hash(frame.password, m_alive, m_worker,
        [worker = QPointer<Worker>(m_worker), id = m_id, frame, slot](QByteArray hash) {
            Session *self = worker ? worker->session(id) : nullptr;
            if (!self)
                return;
            if (hash.isEmpty()) {
                self->authFailed(
                    slot, {frame.rid, ErrorCode::Internal, u"could not hash the password"_s, {}});
                return;
            }
            NewUser user {frame.user, hash, nowMs()};
            self->m_service->store().createUser(
                user, self->onThread<Done>([frame, slot](Session *s, Result<Done> result) {
                    if (!result) {
                        if (result.error().code == StoreError::Code::Conflict)
                            s->authFailed(slot,
                                {frame.rid, ErrorCode::UserExists,
                                    u"the name '%1' is taken"_s.arg(frame.user), {}});
                        else
                            s->authFailed(slot, s->storeError(frame.rid, result.error()));
                        return;
                    }
                    qCInfo(lcServerAuth) << "registered user" << frame.user;
                    s->issueToken(frame.rid, frame.user, frame.device, slot);
                }));
        });
}

void Session::handleLogin(const Login &frame, quint64 slot)
{
    // Taken before the password is checked, given back if it is right (AbuseGuard).
    QByteArray scope;
    SignInTicket ticket;
    if (const qint64 wait
        = m_service->guard().beginSignIn(m_client, frame.user, nowMs(), &scope, &ticket)) {
        m_service->throttled(QByteArray("signin_failures_per_" + scope));
        m_service->frameRejected(ErrorCode::RateLimited);
        fillError(slot, frame.rid, ErrorCode::RateLimited,
            scope == "account" ? u"too many failed sign-ins to this account; wait a moment"_s
                               : u"too many failed sign-ins from your address; wait a moment"_s,
            wait);
        return;
    }
    m_phase = Phase::Authenticating;
    m_service->store().findUser(frame.user,
        onThread<UserRecord>([frame, slot, ticket](Session *s, Result<UserRecord> result) {
            const Error wrong {
                frame.rid, ErrorCode::AuthFailed, u"wrong user name or password"_s, {}};
            auto verified = [frame, slot, wrong, ticket, worker = QPointer<Worker>(s->m_worker),
                                id = s->m_id](bool ok) {
                Session *self = worker ? worker->session(id) : nullptr;
                if (!self)
                    return;
                if (ok) {
                    self->m_service->guard().signInSucceeded(
                        self->m_client, frame.user, nowMs(), ticket);
                    self->issueToken(frame.rid, frame.user, frame.device, slot);
                } else {
                    self->authFailed(slot, wrong);
                }
            };
            if (result) {
                s->m_service->hasher().verify(
                    frame.password, result.value().passwordHash, s->m_alive, s->m_worker, verified);
            } else if (result.error().code == StoreError::Code::NotFound) {
                // Same answer and the same time spent as a wrong password.
                s->m_service->hasher().verifyDummy(
                    frame.password, s->m_alive, s->m_worker, verified);
            } else {
                // Nothing was checked: a store outage must not count as a wrong password.
                s->m_service->guard().signInAbandoned(s->m_client, frame.user, nowMs(), ticket);
                s->authFailed(slot, s->storeError(frame.rid, result.error()));
            }
        }));
}

void Session::handleResume(const Resume &frame, quint64 slot)
{
    m_phase = Phase::Authenticating;
    const QByteArray hash = PasswordHasher::tokenHash(frame.token);
    m_tokenHash = hash;
    m_tokenRevoked = false;
    const Error signedOut {frame.rid, ErrorCode::AuthFailed,
        u"this session has expired or was signed out; sign in again"_s, {}};
    m_service->store().findToken(hash, nowMs(),
        onThread<TokenRecord>(
            [frame, slot, hash, signedOut](Session *s, Result<TokenRecord> result) {
                if (!result) {
                    s->m_tokenHash.clear();
                    if (result.error().code == StoreError::Code::NotFound)
                        s->authFailed(slot, signedOut);
                    else
                        s->authFailed(slot, s->storeError(frame.rid, result.error()));
                    return;
                }
                // A sign-out of this token may be racing this resume. Listen for its news
                // first, then check the token once more: the sign-out either committed before
                // the second check (which then fails) or publishes after we listen (and
                // deliver() marks the resume revoked). Either way the resume fails.
                const TokenRecord token = result.value();
                s->subscribeUser(token.user);
                s->m_service->store().findToken(hash, nowMs(),
                    s->onThread<TokenRecord>(
                        [frame, slot, token, signedOut](Session *s, Result<TokenRecord> again) {
                            if (!again || s->m_tokenRevoked) {
                                s->m_service->bus().unsubscribe(userTopic(token.user), s->m_id);
                                s->m_tokenHash.clear();
                                if (!again && again.error().code != StoreError::Code::NotFound)
                                    s->authFailed(slot, s->storeError(frame.rid, again.error()));
                                else
                                    s->authFailed(slot, signedOut);
                                return;
                            }
                            s->authenticated(token.user, token.device, frame.token, token.expires,
                                frame.rid, slot);
                        }));
            }));
}

void Session::subscribeUser(const QString &user)
{
    // Idempotent on both buses: a second subscription of a connection to a topic is one.
    const QPointer<Worker> worker = m_worker;
    const ConnectionId id = m_id;
    m_service->bus().subscribe(
        userTopic(user), {id, m_worker, [worker, id](const BusEvent &e) {
                              if (Session *s = worker ? worker->session(id) : nullptr)
                                  s->deliver(e);
                          }});
}

void Session::issueToken(
    const QString &rid, const QString &user, const QString &device, quint64 slot)
{
    const QString token = PasswordHasher::newToken();
    TokenRecord record {PasswordHasher::tokenHash(token), user, device,
        nowMs() + qint64(m_service->config().tokenTtlDays) * 24 * 3600 * 1000};
    m_service->store().createToken(record,
        onThread<Done>([rid, user, device, token, record, slot](Session *s, Result<Done> result) {
            if (!result) {
                s->authFailed(slot, s->storeError(rid, result.error()));
                return;
            }
            s->m_tokenHash = record.tokenHash;
            s->authenticated(user, device, token, record.expires, rid, slot);
        }));
}

void Session::authenticated(const QString &user, const QString &device, const QString &token,
    qint64 expires, const QString &rid, quint64 slot)
{
    if (m_closing)
        return;
    m_phase = Phase::Authenticated;
    m_user = user;
    m_device = device;
    qCInfo(lcServerAuth).noquote()
        << "connection" << m_id << "signed in as" << user << "device" << process::logField(device);

    m_tokenCheckedMs = nowMs();
    // Subscribe before answering: anything stored from now on reaches this
    // connection live, anything before it through sync/history.
    subscribeUser(user);
    m_service->bus().connectionUp(user, m_id);
    fill(slot, ServerFrame(Welcome {rid, user, device, token, expires}));

    m_service->store().conversationPeers(
        user, onThread<QStringList>([](Session *s, Result<QStringList> peers) {
            if (peers)
                s->watchPresenceOf(peers.value(), true);
        }));

    processHeld();
}

void Session::authFailed(quint64 slot, const Error &error)
{
    if (m_closing)
        return;
    m_phase = Phase::Anonymous;
    m_service->frameRejected(error.code);
    fill(slot, ServerFrame(error));
    if (m_signInOverdue) {
        // The deadline passed while this attempt ran: the answer goes out, then the close.
        m_held.clear();
        m_closeAfterFlush = true;
        m_closeCodeAfterFlush = ClosePolicy;
        m_service->signInDeadlineMissed();
        flush();
        return;
    }
    processHeld();
}

void Session::processHeld()
{
    const QList<Held> held = std::exchange(m_held, {});
    for (const Held &h : held) {
        if (m_closing)
            return;
        if (h.refusal)
            fill(openSlot(), ServerFrame(*h.refusal));
        else
            process(h.utf8);
    }
}

void Session::handleLogout(const Logout &frame, quint64 slot)
{
    const QByteArray hash = m_tokenHash;
    m_service->store().revokeToken(
        hash, onThread<Done>([frame, slot, hash](Session *s, Result<Done> result) {
            if (!result) {
                s->fill(slot, ServerFrame(s->storeError(frame.rid, result.error())));
                return;
            }
            // Every other connection signed in with this token closes too,
            // on this node and (through the bus) on every other.
            s->m_service->bus().publish(
                {BusEvent::Kind::RevokeToken, userTopic(s->m_user), hash, s->m_id});
            qCInfo(lcServerAuth) << "connection" << s->m_id << "signed out" << s->m_user;
            s->m_closeAfterFlush = true;
            s->m_closeCodeAfterFlush = CloseNormal;
            if (frame.rid.isEmpty())
                s->fill(slot, QList<QByteArray> {});
            else
                s->fill(slot, ServerFrame(Ok {frame.rid}));
        }));
}

// ---- chat --------------------------------------------------------------------

void Session::handleSend(const Send &frame, quint64 slot)
{
    if (frame.to == m_user) {
        fillError(
            slot, frame.rid, ErrorCode::BadRequest, u"to: you cannot send a message to yourself"_s);
        return;
    }
    // A sender's messages get seqs in the order it sent them: after a send to this
    // conversation was refused (rate limit, store unavailable), later sends to it are
    // refused too until the refused one comes back, which the client resends first. The
    // hold ends after SendHoldMs if it never does (the user cancelled it).
    if (auto held = m_refusedSends.find(frame.to); held != m_refusedSends.end()) {
        if (held->first == frame.cid || nowMs() - held->second > SendHoldMs) {
            m_refusedSends.erase(held);
        } else {
            m_service->frameRejected(ErrorCode::RateLimited);
            fillError(slot, frame.rid, ErrorCode::RateLimited,
                u"an earlier message to %1 was refused; send it again first"_s.arg(frame.to),
                std::max<qint64>(HeldSendRetryMs, m_sendBucket.retryAfterMs(nowMs())));
            return;
        }
    }
    if (!m_sendBucket.take(nowMs())) {
        m_service->frameRejected(ErrorCode::RateLimited);
        noteRefusedSend(frame.to, frame.cid);
        fillError(slot, frame.rid, ErrorCode::RateLimited, u"too many messages; slow down"_s,
            m_sendBucket.retryAfterMs(nowMs()));
        return;
    }
    for (Slot &s : m_slots) {
        if (s.number == slot)
            s.ackStartNs = monotonicNs();
    }
    SendRequest request {m_user, frame.to, frame.cid, frame.body, nowMs(), m_id};
    ChatService *service = m_service;
    const ConnectionId sender = m_id;
    auto reply = onThread<StoredSend>([frame, slot](Session *s, Result<StoredSend> result) {
        if (!result) {
            if (result.error().code == StoreError::Code::NotFound) {
                s->fillError(slot, frame.rid, ErrorCode::NotFound,
                    u"to: there is no user named '%1'"_s.arg(frame.to));
            } else {
                s->noteRefusedSend(frame.to, frame.cid); // the client will send it again
                s->fill(slot, ServerFrame(s->storeError(frame.rid, result.error())));
            }
            return;
        }
        const Message &m = result.value().message;
        if (m.seq == 1 && !result.value().duplicate)
            s->watchPresenceOf({frame.to}, true);
        s->fill(slot,
            ServerFrame(Ack {frame.rid, frame.cid, m.conv, m.seq, m.ts, result.value().duplicate}));
    });
    // The fan-out runs on the store thread before the ack hops back, so msg
    // frames leave in commit (= seq) order.
    m_service->store().appendMessage(request, [service, sender, reply](Result<StoredSend> result) {
        if (result) {
            if (result.value().duplicate) {
                service->messageDuplicate();
            } else {
                service->messageStored();
                service->fanOut(result.value().message, sender);
            }
        }
        reply(std::move(result));
    });
}

void Session::handleReceipt(const ReceiptRequest &frame, quint64 slot)
{
    const auto members = conversationMembers(frame.conv);
    if (!members || (members->first != m_user && members->second != m_user)) {
        fillError(slot, frame.rid, ErrorCode::Forbidden,
            u"conv: you are not part of this conversation"_s);
        return;
    }
    const QString peer = members->first == m_user ? members->second : members->first;
    ReceiptUpdate update {m_user, frame.conv, frame.kind, frame.upTo};
    m_service->store().updateReceipt(update,
        onThread<ReceiptOutcome>([frame, slot, peer](Session *s, Result<ReceiptOutcome> result) {
            if (!result) {
                s->fill(slot, ServerFrame(s->storeError(frame.rid, result.error())));
                return;
            }
            const ReceiptOutcome &outcome = result.value();
            if (outcome.advanced) {
                const qint64 upTo
                    = frame.kind == ReceiptKind::Read ? outcome.read : outcome.delivered;
                const QByteArray payload
                    = encode(ServerFrame(ReceiptEvent {frame.conv, s->m_user, frame.kind, upTo}));
                s->m_service->bus().publish({BusEvent::Kind::Frame, userTopic(peer), payload, 0});
                s->m_service->bus().publish(
                    {BusEvent::Kind::Frame, userTopic(s->m_user), payload, s->m_id});
            }
            if (frame.rid.isEmpty())
                s->fill(slot, QList<QByteArray> {});
            else
                s->fill(slot, ServerFrame(Ok {frame.rid}));
        }));
}

void Session::handleSync(const SyncRequest &frame, quint64 slot)
{
    m_service->store().conversations(m_user,
        onThread<QList<ConversationSummary>>(
            [frame, slot](Session *s, Result<QList<ConversationSummary>> result) {
                if (!result)
                    s->fill(slot, ServerFrame(s->storeError(frame.rid, result.error())));
                else
                    s->fill(slot, ServerFrame(Conversations {frame.rid, result.value()}));
            }));
}

// A page whose frame would exceed maxFrameBytes (long bodies) stops early with more =
// true, keeping the messages next to the cursor; one message always fits.
HistoryPage Session::fitPage(const HistoryRequest &request, HistorySlice slice)
{
    HistoryPage page {request.rid, request.conv, std::move(slice.messages), slice.more};
    while (page.messages.size() > 1 && encode(ServerFrame(page)).size() > MaxFrameBytes) {
        const qsizetype drop = std::max<qsizetype>(1, page.messages.size() / 4);
        if (request.after)
            page.messages.remove(page.messages.size() - drop, drop); // keep the oldest
        else
            page.messages.remove(0, drop); // before / newest: keep the newest
        page.more = true;
    }
    return page;
}

// Hits carry whole bodies, so a page can exceed maxFrameBytes: it is then cut at a hit,
// and `next` continues right after the last hit kept (SearchPage::cursorAfter), so
// nothing is skipped. One hit always fits.
SearchResults Session::fitResults(const QString &rid, SearchPage page)
{
    SearchResults results {rid, std::move(page.hits), std::move(page.next)};
    while (results.hits.size() > 1 && encode(ServerFrame(results)).size() > MaxFrameBytes) {
        const qsizetype keep
            = results.hits.size() - std::max<qsizetype>(1, results.hits.size() / 4);
        results.hits.resize(keep);
        if (keep - 1 < page.cursorAfter.size())
            results.next = page.cursorAfter.at(keep - 1);
    }
    return results;
}

void Session::handleHistory(const HistoryRequest &frame, quint64 slot)
{
    const auto members = conversationMembers(frame.conv);
    if (!members || (members->first != m_user && members->second != m_user)) {
        fillError(slot, frame.rid, ErrorCode::Forbidden,
            u"conv: you are not part of this conversation"_s);
        return;
    }
    HistoryQuery query {frame.conv, frame.after, frame.before,
        std::min(frame.limit, m_service->config().historyLimitCap)};
    m_service->store().history(
        query, onThread<HistorySlice>([frame, slot](Session *s, Result<HistorySlice> result) {
            if (!result) {
                s->fill(slot, ServerFrame(s->storeError(frame.rid, result.error())));
                return;
            }
            s->fill(slot, ServerFrame(fitPage(frame, std::move(result.value()))));
        }));
}

void Session::handleTyping(const TypingRequest &frame, quint64 slot)
{
    if (frame.to == m_user) {
        fillError(slot, frame.rid, ErrorCode::BadRequest, u"to: you cannot type to yourself"_s);
        return;
    }
    // At most one typing frame per second per peer; the rest are dropped
    // silently (the one silent drop the protocol allows).
    const qint64 now = nowMs();
    const qint64 last = m_lastTypingMs.value(frame.to, 0);
    if (now - last >= 1000) {
        if (m_lastTypingMs.size() > 1024)
            m_lastTypingMs.clear();
        m_lastTypingMs.insert(frame.to, now);
        m_service->bus().publish({BusEvent::Kind::Frame, userTopic(frame.to),
            encode(ServerFrame(TypingEvent {m_user, frame.state})), 0});
    }
    if (frame.rid.isEmpty())
        fill(slot, QList<QByteArray> {});
    else
        fill(slot, ServerFrame(Ok {frame.rid}));
}

void Session::handleWatch(const Watch &frame, quint64 slot)
{
    // The current presence of each watched user, then the ok.
    QStringList users;
    for (const QString &user : frame.users) {
        if (user != m_user)
            users.append(user);
    }
    for (const QString &user : std::as_const(users)) {
        const QString topic = presenceTopic(user);
        if (m_presenceTopics.contains(topic))
            continue;
        if (m_presenceTopics.size() >= 4 * MaxWatchUsers) {
            fillError(slot, frame.rid, ErrorCode::BadRequest, u"users: watching too many users"_s);
            return;
        }
        m_presenceTopics.insert(topic);
        const QPointer<Worker> worker = m_worker;
        const ConnectionId id = m_id;
        m_service->bus().subscribe(
            topic, {id, m_worker, [worker, id](const BusEvent &e) {
                        if (Session *s = worker ? worker->session(id) : nullptr)
                            s->deliver(e);
                    }});
    }
    const QPointer<Worker> worker = m_worker;
    const ConnectionId id = m_id;
    m_service->bus().onlineUsers(
        users, m_worker, [worker, id, users, frame, slot](QHash<QString, bool> online) {
            Session *s = worker ? worker->session(id) : nullptr;
            if (!s)
                return;
            s->m_service->store().lastSeen(users,
                s->onThread<QHash<QString, qint64>>(
                    [users, online, frame, slot](Session *s, Result<QHash<QString, qint64>> seen) {
                        QList<QByteArray> frames;
                        for (const QString &user : users) {
                            PresenceEvent p {user,
                                online.value(user) ? PresenceState::Online : PresenceState::Offline,
                                {}};
                            if (p.state == PresenceState::Offline && seen
                                && seen.value().contains(user))
                                p.lastSeen = seen.value().value(user);
                            frames.append(encode(ServerFrame(p)));
                        }
                        if (!frame.rid.isEmpty())
                            frames.append(encode(ServerFrame(Ok {frame.rid})));
                        s->fill(slot, frames);
                    }));
        });
}

void Session::watchPresenceOf(const QStringList &peers, bool announce)
{
    QStringList fresh;
    for (const QString &peer : peers) {
        const QString topic = presenceTopic(peer);
        if (peer == m_user || m_presenceTopics.contains(topic))
            continue;
        m_presenceTopics.insert(topic);
        fresh.append(peer);
        const QPointer<Worker> worker = m_worker;
        const ConnectionId id = m_id;
        m_service->bus().subscribe(
            topic, {id, m_worker, [worker, id](const BusEvent &e) {
                        if (Session *s = worker ? worker->session(id) : nullptr)
                            s->deliver(e);
                    }});
    }
    if (!announce || fresh.isEmpty())
        return;
    const QPointer<Worker> worker = m_worker;
    const ConnectionId id = m_id;
    m_service->bus().onlineUsers(fresh, m_worker, [worker, id, fresh](QHash<QString, bool> online) {
        Session *s = worker ? worker->session(id) : nullptr;
        if (!s)
            return;
        s->m_service->store().lastSeen(fresh,
            s->onThread<QHash<QString, qint64>>([fresh, online](Session *s,
                                                    Result<QHash<QString, qint64>> seen) {
                for (const QString &user : fresh) {
                    PresenceEvent p {user,
                        online.value(user) ? PresenceState::Online : PresenceState::Offline, {}};
                    if (p.state == PresenceState::Offline && seen && seen.value().contains(user))
                        p.lastSeen = seen.value().value(user);
                    s->sendNow(encode(ServerFrame(p)));
                }
            }));
    });
}

void Session::handleUsers(const UsersRequest &frame, quint64 slot)
{
    const QString self = m_user;
    m_service->store().listUsers(frame.prefix, frame.limit + 1,
        onThread<QStringList>([frame, slot, self](Session *s, Result<QStringList> result) {
            if (!result) {
                s->fill(slot, ServerFrame(s->storeError(frame.rid, result.error())));
                return;
            }
            QStringList names = result.value();
            names.removeAll(self);
            while (names.size() > frame.limit)
                names.removeLast();
            const QPointer<Worker> worker = s->m_worker;
            const ConnectionId id = s->m_id;
            s->m_service->bus().onlineUsers(
                names, s->m_worker, [worker, id, names, frame, slot](QHash<QString, bool> online) {
                    Session *s = worker ? worker->session(id) : nullptr;
                    if (!s)
                        return;
                    UsersPage page {frame.rid, {}};
                    for (const QString &name : names)
                        page.users.append({name,
                            online.value(name) ? PresenceState::Online : PresenceState::Offline});
                    s->fill(slot, ServerFrame(page));
                });
        }));
}

void Session::handleSearch(const SearchRequest &frame, quint64 slot)
{
    SearchQuery query {m_user, protocol::search::queryWords(frame.q), frame.conv, frame.from,
        std::min(frame.limit, SearchLimitCap), frame.cursor.value_or(QString())};
    if (query.words.isEmpty()) {
        fillError(slot, frame.rid, ErrorCode::BadRequest,
            u"q: type at least one word (letters or digits)"_s);
        return;
    }
    if (query.words.size() > protocol::search::MaxQueryWords) {
        fillError(slot, frame.rid, ErrorCode::BadRequest,
            u"q: at most %1 words"_s.arg(protocol::search::MaxQueryWords));
        return;
    }
    if (frame.conv) {
        const auto members = conversationMembers(*frame.conv);
        if (!members || (members->first != m_user && members->second != m_user)) {
            fillError(slot, frame.rid, ErrorCode::Forbidden,
                u"conv: you are not part of this conversation"_s);
            return;
        }
    }
    if (frame.from)
        query.from = normalizeUserName(*frame.from); // as user names are everywhere else
    if (!m_searchBucket.take(nowMs())) {
        m_service->frameRejected(ErrorCode::RateLimited);
        fillError(slot, frame.rid, ErrorCode::RateLimited, u"too many searches; slow down"_s,
            m_searchBucket.retryAfterMs(nowMs()));
        return;
    }
    m_service->store().search(
        query, onThread<SearchPage>([rid = frame.rid, slot](Session *s, Result<SearchPage> result) {
            if (!result) {
                if (result.error().code == StoreError::Code::Invalid)
                    s->fillError(slot, rid, ErrorCode::BadRequest,
                        u"cursor: not a cursor from this search; start again without one"_s);
                else
                    s->fill(slot, ServerFrame(s->storeError(rid, result.error())));
                return;
            }
            s->fill(slot, ServerFrame(fitResults(rid, std::move(result.value()))));
        }));
}

// ---- bus events ----------------------------------------------------------------

void Session::deliver(const BusEvent &event)
{
    if (event.kind == BusEvent::Kind::RevokeToken) {
        if (m_tokenHash.isEmpty() || event.payload != m_tokenHash)
            return;
        if (m_phase == Phase::Authenticated)
            closeWith(CloseNormal, u"signed out"_s);
        else
            m_tokenRevoked = true; // a resume of this very token is under way: it fails
        return;
    }
    if (m_phase != Phase::Authenticated)
        return;
    switch (event.kind) {
    case BusEvent::Kind::Frame:
        sendNow(event.payload);
        break;
    case BusEvent::Kind::RevokeToken:
        break;
    case BusEvent::Kind::WatchPresence:
        watchPresenceOf({QString::fromUtf8(event.payload)}, true);
        break;
    }
}

// ---- output --------------------------------------------------------------------

quint64 Session::openSlot()
{
    m_slots.push_back({m_nextSlot, false, {}, 0});
    return m_nextSlot++;
}

void Session::fill(quint64 slot, QList<QByteArray> frames)
{
    for (Slot &s : m_slots) {
        if (s.number == slot) {
            s.filled = true;
            s.frames = std::move(frames);
            break;
        }
    }
    flush();
}

void Session::fill(quint64 slot, const ServerFrame &frame)
{
    fill(slot, QList<QByteArray> {encode(frame)});
}

void Session::fillError(quint64 slot, const QString &rid, ErrorCode code, const QString &message,
    std::optional<qint64> retryAfterMs)
{
    fill(slot, ServerFrame(Error {rid, code, message, retryAfterMs}));
}

void Session::flush()
{
    while (!m_slots.empty() && m_slots.front().filled) {
        Slot slot = m_slots.takeFirst();
        for (const QByteArray &frame : std::as_const(slot.frames))
            sendNow(frame);
        if (slot.ackStartNs)
            m_service->ackLatency(monotonicNs() - slot.ackStartNs);
    }
    if (m_slots.empty()) {
        if (m_closeAfterFlush)
            closeWith(m_closeCodeAfterFlush,
                m_closeCodeAfterFlush == ClosePolicy
                    ? u"sign in first (register, login or resume)"_s
                    : u"signed out"_s);
        else if (m_draining)
            closeWith(CloseGoingAway, u"server shutting down"_s);
    }
}

void Session::sendNow(const QByteArray &frame)
{
    if (m_closing || !m_link->isOpen())
        return;
    m_link->sendText(frame);
}

Error Session::storeError(const QString &rid, const StoreError &error) const
{
    switch (error.code) {
    case StoreError::Code::Invalid:
        return {rid, ErrorCode::BadRequest, error.message, {}};
    case StoreError::Code::NotFound:
        return {rid, ErrorCode::NotFound, u"not found"_s, {}};
    case StoreError::Code::Forbidden:
        return {rid, ErrorCode::Forbidden, error.message, {}};
    case StoreError::Code::Conflict:
        return {rid, ErrorCode::BadRequest, u"conflicting request"_s, {}};
    case StoreError::Code::Unavailable:
        return {rid, ErrorCode::Unavailable,
            u"the message store is unavailable; try again shortly"_s, 1000};
    case StoreError::Code::OutOfOrder: // the store's side of the send hold (SendOrderGuard)
        return {rid, ErrorCode::RateLimited, error.message, HeldSendRetryMs};
    case StoreError::Code::Internal:
        break;
    }
    qCWarning(lcServerSession) << "internal store error:" << error.message;
    return {rid, ErrorCode::Internal, u"internal server error"_s, {}};
}

// ---- lifecycle -----------------------------------------------------------------

void Session::drain()
{
    if (m_closing)
        return;
    m_draining = true;
    if (m_slots.empty())
        closeWith(CloseGoingAway, u"server shutting down"_s);
}

void Session::closeWith(int closeCode, const QString &reason)
{
    if (m_closing)
        return;
    m_closing = true;
    m_draining = false;
    m_closeAfterFlush = false;
    m_service->bus().unsubscribeAll(m_id);
    m_link->close(closeCode, reason);
}

void Session::livenessCheck()
{
    checkTokenIfDue();
    if (m_missedPongs >= 2) {
        qCInfo(lcServerSession) << "connection" << m_id << "missed two pongs; dropping it";
        m_link->abort();
        return;
    }
    ++m_missedPongs;
    m_link->ping();
}

void Session::checkTokenIfDue()
{
    // A sign-out elsewhere reaches this connection through the bus at once; this check
    // covers news the bus lost (Redis pub/sub is at most once) and tokens that expired.
    if (m_phase != Phase::Authenticated || m_closing || m_tokenHash.isEmpty()
        || nowMs() - m_tokenCheckedMs < qint64(m_service->config().tokenCheckSeconds) * 1000)
        return;
    m_tokenCheckedMs = nowMs();
    const QByteArray hash = m_tokenHash;
    m_service->store().findToken(
        hash, nowMs(), onThread<TokenRecord>([hash](Session *s, Result<TokenRecord> result) {
            if (result || result.error().code != StoreError::Code::NotFound
                || s->m_tokenHash != hash || s->m_phase != Phase::Authenticated)
                return; // a store that is down decides nothing
            qCInfo(lcServerAuth) << "connection" << s->m_id << "of" << s->m_user
                                 << "closed: its token was signed out or expired";
            s->closeWith(CloseNormal, u"signed out"_s);
        }));
}

void Session::checkSignInDeadline()
{
    if (m_phase == Phase::Authenticated || m_closing)
        return;
    if (m_phase == Phase::Anonymous) {
        closeSlowSignIn();
        return;
    }
    m_signInOverdue = true; // a sign-in is under way (the password hash may queue): let it end
}

void Session::closeSlowSignIn()
{
    m_service->signInDeadlineMissed();
    qCInfo(lcServerSession) << "connection" << m_id << "did not sign in within"
                            << m_service->config().authTimeoutSeconds << "s; closing it";
    closeWith(ClosePolicy, u"sign in first (register, login or resume)"_s);
}

void Session::linkClosed()
{
    Q_EMIT finished(m_id);
}

} // namespace parley::server
