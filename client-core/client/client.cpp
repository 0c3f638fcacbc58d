#include "client.h"

#include "cache.h"
#include "client_p.h"
#include "codec.h"
#include "credentialstore.h"
#include "logging.h"
#include "timeline.h"

#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QPointer>
#include <QSet>
#include <QTimer>

using namespace Qt::StringLiterals;
using namespace parley::protocol;

namespace parley::client {

Client::Client(CredentialStore *credentials, Options options, QObject *parent)
    : QObject(parent)
    , d(std::make_unique<Private>())
{
    d->q = this;
    d->credentials = credentials;
    d->options = options;
    d->outbox = Outbox(options.outbox);
    d->connection = new Connection(options.connection, this);
    d->cache = new Cache(this);
    d->wakeup.setSingleShot(true);
    d->receiptTimer.setSingleShot(true);
    d->receiptTimer.setInterval(options.deliveredReceiptDelayMs);
    connect(&d->wakeup, &QTimer::timeout, this, [this] { d->onWakeup(); });
    connect(&d->receiptTimer, &QTimer::timeout, this, [this] { d->flushReceipts(); });
    d->stallTimer.setInterval(StalledTimelineRetryMs);
    connect(&d->stallTimer, &QTimer::timeout, this, [this] { d->retryStalledTimelines(); });
    connect(d->connection, &Connection::stateChanged, this,
        [this](ConnectionState state) { d->onStateChanged(state); });
    connect(d->connection, &Connection::welcomed, this,
        [this](const Welcome &welcome) { d->onWelcome(welcome); });
    connect(d->connection, &Connection::frameReceived, this,
        [this](const ServerFrame &frame) { d->onFrame(frame); });
    connect(d->connection, &Connection::authenticationFailed, this,
        [this](const Error &error) { d->onAuthenticationFailed(error); });
    connect(d->connection, &Connection::untrustedCertificate, this, &Client::untrustedCertificate);
    connect(d->connection, &Connection::errorOccurred, this, &Client::connectionError);
}

Client::~Client()
{
    d->wakeup.stop();
    d->receiptTimer.stop();
    d->stallTimer.stop();
    d->connection->close();
}

ConnectionState Client::state() const
{
    return d->connection->state();
}

QString Client::user() const
{
    return d->user;
}

Connection *Client::connection() const
{
    return d->connection;
}

Cache *Client::cache() const
{
    return d->cache;
}

PeerPresence Client::presence(const QString &user) const
{
    return d->presence.value(user);
}

QList<ChatMessage> Client::pendingMessages() const
{
    return d->outbox.messages();
}

qint64 Client::contiguousSeq(const QString &conv) const
{
    const auto it = d->timelines.constFind(conv);
    return it == d->timelines.cend() ? 0 : it->contiguous();
}

// ---- account -------------------------------------------------------------------

void Client::setServer(const QUrl &url, const QByteArray &pinnedSha256)
{
    d->connection->setServer(url, pinnedSha256);
}

void Client::signIn(const QString &user, const QString &password, bool createAccount, bool remember)
{
    const QString name = normalizeUserName(user);
    d->remember = remember;
    d->openCache(name, [this, name, password, createAccount] {
        SignIn signIn;
        signIn.kind = createAccount ? SignIn::Kind::Register : SignIn::Kind::Login;
        signIn.user = name;
        signIn.password = password;
        signIn.device = d->options.device;
        d->startConnection(signIn);
    });
}

void Client::resumeSaved(const QString &user)
{
    const QString name = normalizeUserName(user);
    d->remember = true;
    d->credentials->load(d->account(name), this, [this, name](const StoredToken &stored) {
        if (stored.token.isEmpty()) {
            Q_EMIT authenticationRequired(stored.error.isEmpty()
                    ? tr("Please sign in.")
                    : tr("Your saved sign-in could not be read: %1").arg(stored.error),
                {});
            return;
        }
        d->openCache(name, [this, name, token = stored.token] {
            SignIn signIn;
            signIn.kind = SignIn::Kind::Resume;
            signIn.user = name;
            signIn.token = token;
            signIn.device = d->options.device;
            d->startConnection(signIn);
        });
    });
}

void Client::signOut()
{
    const QString account = d->account(d->user);
    auto finish = [this, account] {
        d->connection->close();
        d->credentials->remove(account, this, [](const QString &) {});
        d->everSignedIn = false;
    };
    if (d->connection->state() != ConnectionState::Online) {
        finish();
        return;
    }
    auto done = std::make_shared<bool>(false);
    auto once = [done, finish] {
        if (!std::exchange(*done, true))
            finish();
    };
    d->request(Logout {}, [once](const ServerFrame &) { once(); });
    QTimer::singleShot(LogoutTimeoutMs, this, once);
}

void Client::disconnectFromServer()
{
    d->connection->close();
}

void Client::reconnectNow()
{
    d->connection->reconnectNow();
}

void Client::Private::openCache(const QString &name, std::function<void()> then)
{
    user = name;
    if (cacheUser == name && cache->isOpen()) {
        Q_EMIT q->accountReady(user);
        then();
        return;
    }
    QString path;
    if (!options.dataDir.isEmpty()) {
        const QUrl url = connection->server();
        QString server = url.host() + u'_' + QString::number(url.port(0));
        server.replace(u'/', u'_').replace(u':', u'_');
        path = options.dataDir + u'/' + server + u'/' + name + u".sqlite3"_s;
    }
    // A fresh cache per account: drop whatever the previous account had in memory.
    delete cache;
    cache = new Cache(q);
    cacheUser = name;
    conversations.clear();
    timelines.clear();
    ownCids.clear();
    outbox = Outbox(options.outbox);
    cache->open(path, q, [this, path, then](const QString &error) {
        if (!error.isEmpty()) {
            qCWarning(lcClientCache) << "cannot open the local cache" << path << ":" << error;
            Q_EMIT q->connectionError(
                Client::tr("The local message cache could not be opened: %1").arg(error));
            return;
        }
        cache->loadOutbox(q, [this, then](const QList<ChatMessage> &queued) {
            outbox.restore(queued);
            cache->loadConversations(q, [this, then](const QList<ConversationInfo> &list) {
                for (const ConversationInfo &info : list) {
                    conversations.insert(info.conv, info);
                    timelines.insert(info.conv, TimelineBuffer(info.contiguousSeq));
                }
                qCInfo(lcClient) << "cache open:" << list.size() << "conversations,"
                                 << outbox.messages().size() << "queued messages";
                Q_EMIT q->accountReady(user);
                then();
            });
        });
    });
}

void Client::Private::onAuthenticationFailed(const Error &error)
{
    qCInfo(lcClient) << "sign-in refused:" << errorCodeName(error.code) << error.message;
    QString reason;
    if (resuming) {
        // The saved token is dead (expired, revoked or unknown): forget it, so the next
        // start asks for the password at once.
        if (remember)
            credentials->remove(account(user), q, [](const QString &) {});
        reason = Client::tr("Your session has ended. Please sign in again.");
    } else if (error.code == ErrorCode::AuthFailed) {
        reason = Client::tr("Wrong user name or password.");
    } else if (error.code == ErrorCode::UserExists) {
        reason = Client::tr("That user name is already taken.");
    } else {
        reason = error.message;
    }
    Q_EMIT q->authenticationRequired(reason, errorCodeName(error.code));
}

void Client::Private::startConnection(SignIn signIn)
{
    resuming = signIn.kind == SignIn::Kind::Resume;
    connection->setSignIn(signIn);
    connection->open();
}

// ---- requests ------------------------------------------------------------------

bool Client::Private::request(ClientFrame frame, std::function<void(const ServerFrame &)> onReply)
{
    const QString id = nextRequestId();
    std::visit([&](auto &f) { f.rid = id; }, frame);
    if (!connection->send(frame))
        return false;
    if (onReply) {
        pending.insert(id, std::move(onReply));
        pendingDeadline.insert(id, now() + RequestTimeoutMs);
        scheduleWakeup();
    }
    return true;
}

// ---- outgoing ------------------------------------------------------------------

ChatMessage Client::send(const QString &peer, const QString &body)
{
    const QString to = normalizeUserName(peer);
    QString problem;
    if (d->user.isEmpty())
        problem = tr("You are not signed in.");
    else if (!isValidUserName(to))
        problem = tr("“%1” is not a valid user name.").arg(peer);
    else if (to == d->user)
        problem = tr("You cannot send a message to yourself.");
    else if (const auto bodyIssue = bodyProblem(body))
        problem = *bodyIssue;
    if (!problem.isEmpty()) {
        ChatMessage failed;
        failed.from = d->user;
        failed.to = to;
        failed.body = body;
        failed.outgoing = true;
        failed.state = MessageState::Failed;
        failed.failure = problem;
        failed.failedAt = wallNowMs();
        return failed;
    }
    ChatMessage message = d->outbox.enqueue(d->user, to, body, d->now());
    d->cache->saveOutgoing(message);
    Q_EMIT messageAdded(message);
    d->pump();
    return message;
}

void Client::Private::pump()
{
    if (connection->state() != ConnectionState::Online) {
        scheduleWakeup();
        return;
    }
    const QList<ChatMessage> ready = outbox.takeReady(now());
    for (const ChatMessage &m : ready) {
        if (!connection->send(Send {m.cid, m.to, m.cid, m.body})) {
            for (const ChatMessage &back : outbox.linkLost(now()))
                cache->saveOutgoing(back);
            break;
        }
        cache->saveOutgoing(m);
        Q_EMIT q->messageChanged(m);
    }
    scheduleWakeup();
}

void Client::Private::scheduleWakeup()
{
    qint64 next = -1;
    auto consider = [&next](qint64 at) {
        if (at >= 0 && (next < 0 || at < next))
            next = at;
    };
    if (connection->state() == ConnectionState::Online)
        consider(outbox.nextDeadlineMs());
    for (const TypingThrottle &t : std::as_const(typing))
        consider(t.nextDeadlineMs());
    for (const qint64 at : std::as_const(peerTypingAt))
        consider(at + TypingShownForMs);
    for (const qint64 at : std::as_const(pendingDeadline))
        consider(at);
    if (next < 0) {
        wakeup.stop();
        return;
    }
    wakeup.start(int(std::clamp<qint64>(next - now(), 0, 60000)));
}

void Client::Private::expireRequests(qint64 nowMs)
{
    QList<QString> expired;
    for (auto it = pendingDeadline.cbegin(); it != pendingDeadline.cend(); ++it) {
        if (it.value() <= nowMs)
            expired.append(it.key());
    }
    for (const QString &rid : std::as_const(expired)) {
        pendingDeadline.remove(rid);
        if (auto callback = pending.take(rid)) {
            qCWarning(lcClient) << "no answer to request" << rid << "; giving up on it";
            callback(ServerFrame(
                Error {rid, ErrorCode::Unavailable, Client::tr("no answer from the server"), {}}));
        }
    }
}

void Client::Private::onWakeup()
{
    const qint64 t = now();
    expireRequests(t);
    for (auto it = typing.begin(); it != typing.end();) {
        if (it->tick(t) == TypingThrottle::Emit::Stop)
            request(TypingRequest {{}, it.key(), TypingState::Stop}, {});
        if (it->nextDeadlineMs() < 0)
            it = typing.erase(it);
        else
            ++it;
    }
    for (auto it = peerTypingAt.begin(); it != peerTypingAt.end();) {
        if (t - it.value() >= TypingShownForMs) {
            PeerPresence &p = presence[it.key()];
            p.typing = false;
            Q_EMIT q->presenceChanged(it.key(), p);
            it = peerTypingAt.erase(it);
        } else {
            ++it;
        }
    }
    pump();
}

Outbox::CancelResult Client::cancel(const QString &cid)
{
    const auto before = d->outbox.find(cid);
    const Outbox::CancelResult result = d->outbox.cancel(cid, d->now());
    if (result == Outbox::CancelResult::Removed) {
        d->cache->removeOutgoing(cid);
        Q_EMIT messageRemoved(before ? before->conv : QString(), cid);
    } else if (result == Outbox::CancelResult::MayHaveBeenSent) {
        if (const auto message = d->outbox.find(cid)) {
            d->cache->saveOutgoing(*message);
            Q_EMIT messageChanged(*message);
        }
    }
    return result;
}

void Client::retry(const QString &cid)
{
    if (const auto message = d->outbox.retry(cid, d->now())) {
        d->cache->saveOutgoing(*message);
        Q_EMIT messageChanged(*message);
        d->pump();
    }
}

void Client::forget(const QString &cid)
{
    const auto message = d->outbox.find(cid);
    if (message && d->outbox.forget(cid)) {
        d->cache->removeOutgoing(cid);
        Q_EMIT messageRemoved(message->conv, cid);
    }
}

void Client::markRead(const QString &conv, qint64 upToSeq)
{
    ConversationInfo &info = d->conversation(conv);
    if (upToSeq <= info.readUpTo)
        return;
    info.readUpTo = upToSeq;
    d->cache->markRead(conv, upToSeq, wallNowMs());
    d->readToSend[conv] = upToSeq;
    d->flushReceipts();
    // The exact unread count lives in the cache (it knows which seqs are ours).
    d->cache->loadConversations(this, [this, conv](const QList<ConversationInfo> &list) {
        for (const ConversationInfo &fresh : list) {
            if (fresh.conv != conv)
                continue;
            ConversationInfo &info = d->conversation(conv);
            info.unread = fresh.unread;
            Q_EMIT conversationChanged(info);
        }
    });
}

void Client::loadConversations(QObject *context, std::function<void(QList<ConversationInfo>)> done)
{
    d->cache->loadConversations(context, std::move(done));
}

// ---- presence, typing, directory -------------------------------------------------

void Client::setComposing(const QString &peer, bool composing)
{
    const QString to = normalizeUserName(peer);
    const TypingThrottle::Emit emit = d->typing[to].input(composing, d->now());
    if (emit != TypingThrottle::Emit::Nothing)
        d->request(
            TypingRequest {{}, to,
                emit == TypingThrottle::Emit::Start ? TypingState::Start : TypingState::Stop},
            {});
    d->scheduleWakeup();
}

void Client::watch(const QStringList &users)
{
    QStringList fresh;
    for (const QString &u : users) {
        const QString name = normalizeUserName(u);
        if (isValidUserName(name) && !d->watched.contains(name)) {
            d->watched.insert(name);
            fresh.append(name);
        }
    }
    if (!fresh.isEmpty())
        d->request(Watch {{}, fresh}, {});
}

void Client::queryUsers(const QString &prefix, int limit, QObject *context,
    std::function<void(QList<UserEntry>, QString)> done)
{
    QPointer<QObject> guard(context);
    const bool sent = d->request(UsersRequest {{}, normalizeUserName(prefix), limit},
        [guard, done](const ServerFrame &reply) {
            if (!guard)
                return;
            if (const auto *page = std::get_if<UsersPage>(&reply))
                done(page->users, {});
            else if (const auto *error = std::get_if<Error>(&reply))
                done({}, error->message);
        });
    if (!sent)
        QMetaObject::invokeMethod(
            context, [done] { done({}, tr("offline")); }, Qt::QueuedConnection);
}

} // namespace parley::client
