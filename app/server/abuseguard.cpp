#include "abuseguard.h"

#include <QMutexLocker>

using namespace Qt::StringLiterals;

namespace parley::server {

namespace {

constexpr qint64 SweepIntervalMs = 60'000;
constexpr qsizetype MaxKnownAddresses = 8;
constexpr qint64 KnownAddressMs = 24 * 3600 * 1000;
// Past this many accounts, known addresses are forgotten at the next sweep (memory bound).
constexpr qsizetype MaxAccountEntries = 200'000;

QHostAddress unmapped(const QHostAddress &address)
{
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    return isV4 ? QHostAddress(v4) : address;
}

TokenBucket perMinute(int n)
{
    // A limit of 0 means none; the bucket is never consulted then.
    const double capacity = std::max(1, n);
    return TokenBucket(capacity, capacity / 60.0);
}

} // namespace

std::optional<Subnet> parseSubnet(const QString &text)
{
    const QString trimmed = text.trimmed();
    if (trimmed.isEmpty())
        return std::nullopt;
    if (!trimmed.contains(u'/')) {
        QHostAddress address;
        if (!address.setAddress(trimmed))
            return std::nullopt;
        address = unmapped(address);
        return Subnet {address, address.protocol() == QAbstractSocket::IPv4Protocol ? 32 : 128};
    }
    const Subnet subnet = QHostAddress::parseSubnet(trimmed);
    if (subnet.first.isNull() || subnet.second < 0)
        return std::nullopt;
    return subnet;
}

bool inAny(const QHostAddress &address, const QList<Subnet> &subnets)
{
    const QHostAddress plain = unmapped(address);
    for (const Subnet &subnet : subnets) {
        if (plain.isInSubnet(subnet))
            return true;
    }
    return false;
}

QHostAddress clientAddress(
    const QHostAddress &peer, QByteArrayView forwardedFor, const QList<Subnet> &trustedProxies)
{
    QHostAddress client = unmapped(peer);
    if (forwardedFor.isEmpty() || !inAny(client, trustedProxies))
        return client;
    // Right to left: each trusted hop vouches for the address to its left.
    const QList<QByteArray> hops = forwardedFor.toByteArray().split(',');
    for (auto it = hops.crbegin(); it != hops.crend(); ++it) {
        QByteArray hop = it->trimmed();
        // "[2001:db8::1]:443" and "203.0.113.7:51000" (some proxies add the port).
        if (hop.startsWith('[')) {
            const qsizetype close = hop.indexOf(']');
            hop = close > 0 ? hop.mid(1, close - 1) : QByteArray();
        } else if (hop.count(':') == 1) {
            hop = hop.left(hop.indexOf(':'));
        }
        QHostAddress address;
        if (hop.isEmpty() || !address.setAddress(QString::fromLatin1(hop)))
            return client; // malformed: trust nothing further left
        client = unmapped(address);
        if (!inAny(client, trustedProxies))
            return client;
    }
    return client;
}

AbuseGuard::AbuseGuard(AbuseLimits limits)
    : m_limits(std::move(limits))
{ }

QString AbuseGuard::addressKey(const QHostAddress &address)
{
    const QHostAddress plain = unmapped(address);
    if (plain.protocol() != QAbstractSocket::IPv6Protocol)
        return plain.toString();
    Q_IPV6ADDR bytes = plain.toIPv6Address();
    std::fill(std::begin(bytes.c) + 8, std::end(bytes.c), quint8(0));
    return QHostAddress(bytes).toString() + u"/64"_s;
}

bool AbuseGuard::isExempt(const QHostAddress &address) const
{
    return inAny(address, m_limits.exempt);
}

AbuseGuard::AddressEntry &AbuseGuard::addressEntry(const QString &key)
{
    auto it = m_addresses.find(key);
    if (it == m_addresses.end())
        it = m_addresses.insert(key,
            AddressEntry {0, perMinute(m_limits.signInFailuresPerAddress),
                perMinute(m_limits.registrationsPerAddress)});
    return *it;
}

bool AbuseGuard::openConnection(const QHostAddress &address)
{
    if (m_limits.connectionsPerAddress <= 0 || isExempt(address))
        return true;
    QMutexLocker lock(&m_mutex);
    AddressEntry &entry = addressEntry(addressKey(address));
    if (entry.connections >= m_limits.connectionsPerAddress)
        return false;
    ++entry.connections;
    return true;
}

void AbuseGuard::closeConnection(const QHostAddress &address)
{
    if (m_limits.connectionsPerAddress <= 0 || isExempt(address))
        return;
    QMutexLocker lock(&m_mutex);
    auto it = m_addresses.find(addressKey(address));
    if (it != m_addresses.end() && it->connections > 0)
        --it->connections;
}

qint64 AbuseGuard::beginSignIn(const QHostAddress &address, const QString &account, qint64 nowMs,
    QByteArray *scope, SignInTicket *ticket)
{
    *ticket = {};
    if (isExempt(address))
        return 0;
    QMutexLocker lock(&m_mutex);
    sweepIfDue(nowMs);
    const QString key = addressKey(address);
    TokenBucket *byAddress
        = m_limits.signInFailuresPerAddress > 0 ? &addressEntry(key).signInFailures : nullptr;
    TokenBucket *byAccount = nullptr;
    if (m_limits.signInFailuresPerAccount > 0) {
        auto it = m_accounts.find(account);
        if (it == m_accounts.end())
            it = m_accounts.insert(
                account, AccountEntry {perMinute(m_limits.signInFailuresPerAccount), {}, 0});
        if (!it->knownAddresses.contains(key))
            byAccount = &it->failures;
    }
    // Check both before taking from either: a refusal costs nothing.
    if (byAddress) {
        if (const qint64 wait = byAddress->retryAfterMs(nowMs)) {
            *scope = "address";
            return wait;
        }
    }
    if (byAccount) {
        if (const qint64 wait = byAccount->retryAfterMs(nowMs)) {
            *scope = "account";
            return wait;
        }
    }
    if (byAddress)
        ticket->address = byAddress->take(nowMs);
    if (byAccount)
        ticket->account = byAccount->take(nowMs);
    return 0;
}

void AbuseGuard::signInAbandoned(
    const QHostAddress &address, const QString &account, qint64 nowMs, const SignInTicket &ticket)
{
    QMutexLocker lock(&m_mutex);
    if (ticket.address)
        addressEntry(addressKey(address)).signInFailures.giveBack(nowMs);
    if (ticket.account) {
        if (auto it = m_accounts.find(account); it != m_accounts.end())
            it->failures.giveBack(nowMs);
    }
}

void AbuseGuard::signInSucceeded(
    const QHostAddress &address, const QString &account, qint64 nowMs, const SignInTicket &ticket)
{
    if (isExempt(address))
        return;
    QMutexLocker lock(&m_mutex);
    const QString key = addressKey(address);
    if (ticket.address)
        addressEntry(key).signInFailures.giveBack(nowMs);
    if (m_limits.signInFailuresPerAccount <= 0)
        return;
    auto it = m_accounts.find(account);
    if (it == m_accounts.end())
        it = m_accounts.insert(
            account, AccountEntry {perMinute(m_limits.signInFailuresPerAccount), {}, nowMs});
    it->lastSuccessMs = nowMs;
    if (ticket.account)
        it->failures.giveBack(nowMs);
    if (it->knownAddresses.contains(key))
        return;
    it->knownAddresses.append(key);
    if (it->knownAddresses.size() > MaxKnownAddresses)
        it->knownAddresses.removeFirst();
}

qint64 AbuseGuard::beginRegistration(const QHostAddress &address, qint64 nowMs)
{
    if (m_limits.registrationsPerAddress <= 0 || isExempt(address))
        return 0;
    QMutexLocker lock(&m_mutex);
    sweepIfDue(nowMs);
    TokenBucket &bucket = addressEntry(addressKey(address)).registrations;
    if (const qint64 wait = bucket.retryAfterMs(nowMs))
        return wait;
    bucket.take(nowMs);
    return 0;
}

int AbuseGuard::entryCount() const
{
    QMutexLocker lock(&m_mutex);
    return int(m_addresses.size() + m_accounts.size());
}

void AbuseGuard::sweepIfDue(qint64 nowMs)
{
    // An entry whose buckets are full and that holds no connection says nothing a fresh
    // one would not; an account's entry also keeps its known addresses for a day.
    if (nowMs - m_lastSweepMs < SweepIntervalMs)
        return;
    m_lastSweepMs = nowMs;
    auto full = [nowMs](const TokenBucket &b) { return b.tokens(nowMs) >= b.capacity(); };
    m_addresses.removeIf([&](const auto &it) {
        const AddressEntry &e = it.value();
        return e.connections == 0 && full(e.signInFailures) && full(e.registrations);
    });
    const bool crowded = m_accounts.size() > MaxAccountEntries;
    m_accounts.removeIf([&](const auto &it) {
        const AccountEntry &e = it.value();
        return full(e.failures)
            && (crowded || e.knownAddresses.isEmpty() || nowMs - e.lastSuccessMs > KnownAddressMs);
    });
}

} // namespace parley::server
