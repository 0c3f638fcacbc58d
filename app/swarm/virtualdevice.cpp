#include "virtualdevice.h"

#include "codec.h"
#include "runcontext.h"
#include "worker.h"

using namespace Qt::StringLiterals;
using namespace parley::client;
using namespace parley::protocol;

namespace parley::swarm {

namespace {

// Bodies carry their intended send time, so the recipient (on any thread of the
// process) measures delivery latency without a lookup.
QString bodyFor(qint64 intendedUs, int chars)
{
    QString body = u"swarm "_s + QString::number(intendedUs) + u' ';
    return body.leftJustified(chars, u'x');
}

// Every body holds the word "swarm" (and a run of x's), so each search finds the
// user's own messages: the whole word, the 3- and 2-letter prefixes people type (the
// server keeps 1- to 3-letter prefixes as posting lists of their own, longer ones merge
// their words' lists) and two words that must both match.
constexpr QStringView SearchQueries[] = {u"swarm", u"swa", u"sw", u"swarm xx"};

std::optional<qint64> intendedOf(const QString &body)
{
    if (!body.startsWith(u"swarm "_s))
        return std::nullopt;
    const qsizetype end = body.indexOf(u' ', 6);
    bool ok = false;
    const qint64 us = QStringView(body).mid(6, end < 0 ? -1 : end - 6).toLongLong(&ok);
    return ok ? std::optional(us) : std::nullopt;
}

ClientOptions deviceOptions(int device)
{
    ClientOptions options;
    options.device = u"d%1"_s.arg(device);
    // One reachability watcher per process is what the desktop has; thousands of
    // virtual users on one machine share its network, and a fault is injected explicitly.
    options.connection.watchNetwork = false;
    return options;
}

} // namespace

VirtualDevice::VirtualDevice(Worker *worker, int user, int device, QObject *parent)
    : QObject(parent)
    , m_worker(worker)
    , m_user(user)
    , m_deviceIndex(device)
    , m_name(worker->context()->users.at(user).name)
    , m_id(m_name + u"/d"_s + QString::number(device))
    , m_client(new Client(&m_credentials, deviceOptions(device), this))
{
    m_client->setServer(worker->context()->server);
    connect(m_client, &Client::stateChanged, this, &VirtualDevice::onStateChanged);
    connect(m_client, &Client::messageAdded, this, &VirtualDevice::onMessageAdded);
    connect(m_client, &Client::messageChanged, this, &VirtualDevice::onMessageChanged);
    connect(m_client, &Client::conversationChanged, this, &VirtualDevice::onConversationChanged);
    connect(m_client->connection(), &Connection::frameReceived, this, &VirtualDevice::onFrame);
    connect(m_client->connection(), &Connection::connectFailed, this,
        [this](const QString &code, const QString &reason) { m_worker->error(code, reason); });
    connect(m_client, &Client::signedIn, this, [this] {
        m_signedIn = true;
        m_signingIn = false;
        m_worker->record([this](WorkerMetrics &m) {
            m.connect.record(m_worker->context()->nowUs() - m_connectIntendedUs);
        });
        m_worker->deviceSignedIn(this);
    });
    connect(m_client, &Client::authenticationRequired, this,
        [this](const QString &, const QString &code) {
            m_worker->error(code.isEmpty() ? u"auth"_s : code);
            if (code == u"user_exists"_s && m_signingIn && !m_loggingInInstead) {
                // An earlier attempt registered the user but its welcome was lost (the
                // client gave up waiting): the account is ours, log in to it.
                m_loggingInInstead = true;
                m_client->signIn(m_name, m_worker->context()->password, false, true);
                return;
            }
            if (std::exchange(m_signingIn, false))
                m_worker->signInEnded();
        });
}

QString VirtualDevice::peerName(int peer) const
{
    return m_worker->context()->users.at(peer).name;
}

void VirtualDevice::signIn(qint64 intendedUs)
{
    m_connectIntendedUs = intendedUs;
    m_signingIn = true;
    m_client->signIn(m_name, m_worker->context()->password, m_deviceIndex == 0, true);
}

void VirtualDevice::send(int peer, qint64 intendedUs)
{
    const QString to = peerName(peer);
    const ChatMessage m
        = m_client->send(to, bodyFor(intendedUs, m_worker->context()->scenario.bodyChars));
    if (m.state == MessageState::Failed) {
        m_worker->error(u"send_refused"_s);
        return;
    }
    m_inflight.insert(m.cid, intendedUs);
    m_worker->sent.fetch_add(1, std::memory_order_relaxed);
    m_worker->context()->verify([&](Verifier &v) {
        v.sent(m.cid, m_name, to, u"%1/d%2"_s.arg(m_name).arg(m_deviceIndex));
    });
}

void VirtualDevice::typing(int peer)
{
    m_client->setComposing(peerName(peer), true);
}

void VirtualDevice::history(int peer, qint64 intendedUs)
{
    const QString rid = u"swarm-h"_s + QString::number(++m_nextRid);
    if (m_client->connection()->send(HistoryRequest {
            rid, conversationId(m_name, peerName(peer)), std::nullopt, std::nullopt, 50}))
        m_requests.insert(rid, intendedUs);
    else
        m_worker->action(u"history_offline"_s);
}

void VirtualDevice::search(qint64 intendedUs)
{
    const QString rid = u"swarm-s"_s + QString::number(++m_nextRid);
    const QStringView query = SearchQueries[m_nextRid % std::size(SearchQueries)];
    if (m_client->connection()->send(
            SearchRequest {rid, query.toString(), std::nullopt, std::nullopt, 20, std::nullopt}))
        m_requests.insert(rid, intendedUs);
    else
        m_worker->action(u"search_offline"_s);
}

void VirtualDevice::watch(const QStringList &users)
{
    m_client->watch(users);
}

void VirtualDevice::disconnect()
{
    if (!m_signedIn)
        return;
    m_faultOffline = true;
    m_dropping = true;
    m_client->disconnectFromServer();
}

void VirtualDevice::reconnect()
{
    if (!std::exchange(m_faultOffline, false))
        return;
    m_dropping = true;
    m_client->resumeSaved(m_name);
}

void VirtualDevice::dropLink()
{
    if (!m_signedIn || m_faultOffline)
        return;
    m_dropping = true;
    m_client->reconnectNow();
}

void VirtualDevice::onStateChanged(ConnectionState state)
{
    const bool online = state == ConnectionState::Online;
    if (online == m_online)
        return;
    m_online = online;
    m_worker->online.fetch_add(online ? 1 : -1, std::memory_order_relaxed);
    if (!online && !m_dropping)
        m_worker->error(u"link_lost"_s);
    if (online)
        m_dropping = false;
}

void VirtualDevice::onMessageAdded(const ChatMessage &message)
{
    if (message.outgoing || message.gap)
        return;
    const qint64 now = m_worker->context()->nowUs();
    m_worker->delivered.fetch_add(1, std::memory_order_relaxed);
    m_worker->context()->verify(
        [&](Verifier &v) { v.delivered(m_id, message.cid, message.conv, message.seq); });
    if (const auto intended = intendedOf(message.body)) {
        m_worker->record([&](WorkerMetrics &m) {
            m.deliver.record(now - *intended);
            m.deliverThisSecond.record(now - *intended);
        });
    }
}

void VirtualDevice::onMessageChanged(const ChatMessage &message)
{
    if (!message.outgoing || message.seq <= 0)
        return;
    const auto it = m_inflight.constFind(message.cid);
    if (it == m_inflight.cend())
        return;
    const qint64 intended = *it;
    m_inflight.erase(it);
    m_worker->acked.fetch_add(1, std::memory_order_relaxed);
    m_worker->record(
        [&](WorkerMetrics &m) { m.ack.record(m_worker->context()->nowUs() - intended); });
    m_worker->context()->verify(
        [&](Verifier &v) { v.acked(message.cid, message.conv, message.seq); });
    m_awaitingReceipt[message.conv].insert(message.seq, intended);
}

void VirtualDevice::onConversationChanged(const ConversationInfo &info)
{
    const auto it = m_awaitingReceipt.find(info.conv);
    if (it == m_awaitingReceipt.end())
        return;
    QMap<qint64, qint64> &waiting = *it;
    const qint64 now = m_worker->context()->nowUs();
    QList<qint64> latencies;
    while (!waiting.isEmpty() && waiting.firstKey() <= info.peerDelivered)
        latencies.append(now - waiting.take(waiting.firstKey()));
    if (!latencies.isEmpty())
        m_worker->record([&](WorkerMetrics &m) {
            for (const qint64 us : std::as_const(latencies))
                m.receipt.record(us);
        });
}

void VirtualDevice::onFrame(const ServerFrame &frame)
{
    if (const auto *error = std::get_if<Error>(&frame)) {
        const QString code = errorCodeName(error->code);
        if (error->rid.startsWith(u"swarm-h"_s))
            m_worker->error(u"history."_s + code);
        else if (error->rid.startsWith(u"swarm-s"_s))
            m_worker->error(u"search."_s + code);
        else
            m_worker->error(code);
        m_requests.remove(error->rid);
        return;
    }
    if (const auto *page = std::get_if<HistoryPage>(&frame)) {
        const auto it = m_requests.constFind(page->rid);
        if (it == m_requests.cend())
            return;
        const qint64 latency = m_worker->context()->nowUs() - *it;
        m_requests.erase(it);
        m_worker->record([latency](WorkerMetrics &m) { m.history.record(latency); });
        return;
    }
    if (const auto *results = std::get_if<SearchResults>(&frame)) {
        const auto it = m_requests.constFind(results->rid);
        if (it == m_requests.cend())
            return;
        const qint64 latency = m_worker->context()->nowUs() - *it;
        m_requests.erase(it);
        const qint64 hits = results->hits.size();
        m_worker->record([latency, hits](WorkerMetrics &m) {
            m.search.record(latency);
            m.actions[u"search_hits"_s] += hits;
        });
    }
}

} // namespace parley::swarm
