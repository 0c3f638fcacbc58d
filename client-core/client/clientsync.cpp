#include "client_p.h"
#include "logging.h"

using namespace Qt::StringLiterals;
using namespace parley::protocol;

namespace parley::client {

void Client::Private::onStateChanged(ConnectionState state)
{
    if (state != ConnectionState::Online) {
        // Whatever was on the wire may or may not have arrived: resend it next time.
        for (const ChatMessage &m : outbox.linkLost(now())) {
            cache->saveOutgoing(m);
            Q_EMIT q->messageChanged(m);
        }
        for (TimelineBuffer &t : timelines)
            t.fetchAbandoned();
        // Replies that will never come: tell their callers.
        const auto callbacks = std::exchange(pending, {});
        pendingDeadline.clear();
        for (const auto &callback : callbacks)
            callback(ServerFrame(Error {{}, ErrorCode::Unavailable, Client::tr("offline"), {}}));
        fetchesAfterSync = -1;
    }
    Q_EMIT q->stateChanged(state);
}

void Client::Private::onWelcome(const Welcome &welcome)
{
    user = welcome.user;
    if (remember)
        credentials->save(account(user), welcome.token, q, [](const QString &error) {
            if (!error.isEmpty())
                qCWarning(lcClient) << "could not keep the sign-in:" << error;
        });
    resuming = true; // every later reconnect resumes with this token
    const bool first = !std::exchange(everSignedIn, true);
    if (first)
        Q_EMIT q->signedIn(user);
    if (!watched.isEmpty())
        request(Watch {{}, QStringList(watched.cbegin(), watched.cend())}, {});
    pump();
    sync();
}

void Client::Private::sync()
{
    request(SyncRequest {}, [this](const ServerFrame &reply) {
        if (const auto *list = std::get_if<Conversations>(&reply))
            onConversations(*list);
        else if (connection->state() == ConnectionState::Online)
            qCWarning(lcClient) << "sync failed"; // else: the link dropped; the next one syncs
    });
}

void Client::Private::onConversations(const Conversations &list)
{
    fetchesAfterSync = 0;
    for (const ConversationSummary &s : list.items) {
        ConversationInfo &info = conversation(s.conv);
        info.peer = s.peer;
        info.lastSeq = std::max(info.lastSeq, s.lastSeq);
        info.lastTs = std::max(info.lastTs, s.lastTs);
        info.peerDelivered = std::max(info.peerDelivered, s.peerDelivered);
        info.peerRead = std::max(info.peerRead, s.peerRead);
        info.readUpTo = std::max(info.readUpTo, s.read);
        TimelineBuffer &t = timeline(s.conv);
        if (t.contiguous() == 0 && s.lastSeq > options.initialPage) {
            // A long conversation new to this device: start from its newest page.
            info.floorSeq = s.lastSeq - options.initialPage;
            apply(s.conv, t.skipTo(info.floorSeq));
        }
        Cache::ConversationUpdate update {s.conv, s.peer, info.lastSeq, info.lastTs};
        update.floorSeq = info.floorSeq;
        update.contiguousSeq = t.contiguous();
        update.readUpTo = info.readUpTo;
        cache->updateConversation(update);
        if (s.peerDelivered > 0)
            cache->applyPeerReceipt(s.conv, ReceiptKind::Delivered, s.peerDelivered, wallNowMs());
        if (s.peerRead > 0)
            cache->applyPeerReceipt(s.conv, ReceiptKind::Read, s.peerRead, wallNowMs());
        apply(s.conv, t.knownLast(s.lastSeq));
        Q_EMIT q->conversationChanged(info);
    }
    flushReceipts();
    if (fetchesAfterSync == 0) {
        fetchesAfterSync = -1;
        Q_EMIT q->synced();
    }
}

void Client::Private::fetchAfter(const QString &conv, qint64 after)
{
    if (fetchesAfterSync >= 0)
        ++fetchesAfterSync;
    const bool sent = request(HistoryRequest {{}, conv, after, std::nullopt, HistoryPageLimit},
        [this, conv](const ServerFrame &reply) {
            if (const auto *page = std::get_if<HistoryPage>(&reply)) {
                QList<ChatMessage> messages;
                messages.reserve(page->messages.size());
                for (const Message &m : page->messages) {
                    ChatMessage message = fromWire(m);
                    if (message.outgoing) {
                        if (const auto own = outbox.echoed(m, now()))
                            resolved(*own);
                    }
                    messages.append(message);
                }
                apply(conv, timeline(conv).addPage(messages, page->more));
            } else {
                timeline(conv).fetchAbandoned();
            }
            fetchDone();
        });
    if (!sent) {
        timeline(conv).fetchAbandoned();
        fetchDone();
    }
}

void Client::Private::retryStalledTimelines()
{
    if (connection->state() != ConnectionState::Online)
        return;
    QList<std::pair<QString, qint64>> due;
    bool stalled = false;
    for (auto it = timelines.cbegin(); it != timelines.cend(); ++it) {
        if (it->heldCount() == 0)
            continue;
        stalled = true;
        if (!it->fetchInFlight())
            due.append({it.key(), it->contiguous()});
    }
    if (!stalled)
        stallTimer.stop();
    for (const auto &[conv, after] : due) {
        timeline(conv).fetchStarted();
        fetchAfter(conv, after);
    }
}

void Client::Private::fetchDone()
{
    if (fetchesAfterSync > 0 && --fetchesAfterSync == 0) {
        fetchesAfterSync = -1;
        Q_EMIT q->synced();
    }
}

// ---- incoming frames -----------------------------------------------------------

void Client::Private::onFrame(const ServerFrame &frame)
{
    std::visit(
        [this, &frame](const auto &f) {
            using F = std::decay_t<decltype(f)>;
            if constexpr (std::is_same_v<F, Ack>) {
                onAck(f);
            } else if constexpr (std::is_same_v<F, MessageEvent>) {
                onMessage(f.message);
            } else if constexpr (std::is_same_v<F, ReceiptEvent>) {
                onReceipt(f);
            } else if constexpr (std::is_same_v<F, TypingEvent>) {
                PeerPresence &p = presence[f.from];
                p.typing = f.state == TypingState::Start;
                if (p.typing)
                    peerTypingAt.insert(f.from, now());
                else
                    peerTypingAt.remove(f.from);
                Q_EMIT q->presenceChanged(f.from, p);
                scheduleWakeup();
            } else if constexpr (std::is_same_v<F, PresenceEvent>) {
                PeerPresence &p = presence[f.user];
                p.online = f.state == PresenceState::Online;
                p.lastSeen = f.lastSeen.value_or(0);
                if (!p.online) {
                    p.typing = false;
                    peerTypingAt.remove(f.user);
                }
                Q_EMIT q->presenceChanged(f.user, p);
            } else if constexpr (std::is_same_v<F, Error>) {
                if (outbox.find(f.rid)) {
                    onSendError(f.rid, f);
                    return;
                }
                pendingDeadline.remove(f.rid);
                if (auto callback = pending.take(f.rid))
                    callback(frame);
                else
                    qCWarning(lcClient) << "server error:" << errorCodeName(f.code) << f.message;
            } else if constexpr (std::is_same_v<F, Hello> || std::is_same_v<F, Welcome>) {
                // The connection handles these.
            } else {
                pendingDeadline.remove(f.rid);
                if (auto callback = pending.take(f.rid))
                    callback(frame);
            }
        },
        frame);
}

void Client::Private::onAck(const Ack &ack)
{
    const auto message = outbox.acked(ack, now());
    if (!message)
        return; // already resolved by its echo, or a duplicate ack
    resolved(*message);
    feed(message->conv, *message);
}

void Client::Private::onMessage(const Message &wire)
{
    ChatMessage message = fromWire(wire);
    if (message.outgoing) {
        if (const auto own = outbox.echoed(wire, now()))
            resolved(*own);
    }
    feed(message.conv, message);
}

void Client::Private::resolved(const ChatMessage &message)
{
    ownCids.insert(message.cid);
    cache->saveMessages({message}); // also drops the outbox row
    Q_EMIT q->messageChanged(message);
    checkDrained();
    pump();
}

void Client::Private::onSendError(const QString &cid, const Error &error)
{
    const auto message = outbox.failed(cid, error, now());
    if (!message)
        return;
    if (isPermanentSendError(error.code))
        qCInfo(lcClient) << "send" << cid << "refused:" << errorCodeName(error.code)
                         << error.message;
    else
        qCDebug(lcClient) << "send" << cid << "deferred:" << errorCodeName(error.code);
    cache->saveOutgoing(*message);
    Q_EMIT q->messageChanged(*message);
    checkDrained();
    scheduleWakeup();
}

void Client::Private::checkDrained()
{
    const QList<ChatMessage> left = outbox.messages();
    if (std::all_of(left.cbegin(), left.cend(),
            [](const ChatMessage &m) { return m.state == MessageState::Failed; }))
        Q_EMIT q->outboxDrained();
}

void Client::Private::onReceipt(const ReceiptEvent &receipt)
{
    ConversationInfo &info = conversation(receipt.conv);
    if (receipt.by == user) {
        // Another of our devices read it.
        if (receipt.kind == ReceiptKind::Read && receipt.upTo > info.readUpTo) {
            info.readUpTo = receipt.upTo;
            cache->markRead(receipt.conv, receipt.upTo, wallNowMs());
            Q_EMIT q->conversationChanged(info);
        }
        return;
    }
    qint64 &mark = receipt.kind == ReceiptKind::Read ? info.peerRead : info.peerDelivered;
    if (receipt.upTo <= mark)
        return;
    mark = receipt.upTo;
    if (receipt.kind == ReceiptKind::Read)
        info.peerDelivered = std::max(info.peerDelivered, receipt.upTo);
    cache->applyPeerReceipt(receipt.conv, receipt.kind, receipt.upTo, wallNowMs());
    Q_EMIT q->conversationChanged(info);
}

// ---- timeline ------------------------------------------------------------------

ChatMessage Client::Private::fromWire(const Message &m) const
{
    ChatMessage message;
    message.conv = m.conv;
    message.seq = m.seq;
    message.cid = m.cid;
    message.from = m.from;
    message.to = m.to;
    message.body = m.body;
    message.ts = m.ts;
    message.gap = m.gap;
    message.outgoing = !m.gap && m.from == user;
    const auto it = conversations.constFind(m.conv);
    if (message.outgoing) {
        message.state = MessageState::Sent;
        message.sentAt = m.ts;
        if (it != conversations.cend() && m.seq <= it->peerRead)
            message.state = MessageState::Read;
        else if (it != conversations.cend() && m.seq <= it->peerDelivered)
            message.state = MessageState::Delivered;
    } else {
        message.state = it != conversations.cend() && m.seq <= it->readUpTo
            ? MessageState::Read
            : MessageState::Received;
    }
    return message;
}

TimelineBuffer &Client::Private::timeline(const QString &conv)
{
    auto it = timelines.find(conv);
    if (it == timelines.end())
        it = timelines.insert(conv, TimelineBuffer(conversation(conv).contiguousSeq));
    return *it;
}

ConversationInfo &Client::Private::conversation(const QString &conv)
{
    auto it = conversations.find(conv);
    if (it == conversations.end()) {
        ConversationInfo info;
        info.conv = conv;
        info.peer = peerOf(conv);
        it = conversations.insert(conv, info);
    }
    return *it;
}

void Client::Private::feed(const QString &conv, const ChatMessage &message)
{
    apply(conv, timeline(conv).add(message));
}

void Client::Private::apply(const QString &conv, const TimelineBuffer::Result &result)
{
    if (!result.released.isEmpty()) {
        ConversationInfo &info = conversation(conv);
        QList<ChatMessage> toSave;
        toSave.reserve(result.released.size());
        qint64 incomingUpTo = 0;
        for (const ChatMessage &m : result.released) {
            info.lastSeq = std::max(info.lastSeq, m.seq);
            if (m.gap) {
                toSave.append(m);
                continue;
            }
            info.lastTs = std::max(info.lastTs, m.ts);
            info.lastBody = m.body;
            info.lastFrom = m.from;
            if (ownCids.remove(m.cid) && m.outgoing)
                continue; // saved and announced when it was resolved
            toSave.append(m);
            if (!m.outgoing) {
                incomingUpTo = m.seq;
                if (m.seq > info.readUpTo)
                    ++info.unread;
            }
            Q_EMIT q->messageAdded(m);
        }
        info.contiguousSeq = timeline(conv).contiguous();
        if (!toSave.isEmpty())
            cache->saveMessages(toSave);
        Cache::ConversationUpdate update {conv, info.peer, info.lastSeq, info.lastTs};
        update.contiguousSeq = info.contiguousSeq;
        cache->updateConversation(update);
        if (incomingUpTo > 0) {
            deliveredToSend[conv] = std::max(deliveredToSend.value(conv), info.contiguousSeq);
            if (!receiptTimer.isActive())
                receiptTimer.start();
        }
        Q_EMIT q->conversationChanged(info);
    }
    if (result.fetchAfter)
        fetchAfter(conv, *result.fetchAfter);
    if (timeline(conv).heldCount() > 0 && !stallTimer.isActive())
        stallTimer.start();
}

void Client::Private::flushReceipts()
{
    if (connection->state() != ConnectionState::Online)
        return; // kept for the next link
    for (auto it = deliveredToSend.cbegin(); it != deliveredToSend.cend(); ++it)
        request(ReceiptRequest {{}, it.key(), ReceiptKind::Delivered, it.value()}, {});
    deliveredToSend.clear();
    for (auto it = readToSend.cbegin(); it != readToSend.cend(); ++it)
        request(ReceiptRequest {{}, it.key(), ReceiptKind::Read, it.value()}, {});
    readToSend.clear();
}

} // namespace parley::client
