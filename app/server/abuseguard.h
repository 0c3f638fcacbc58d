// Limits per client address and per account that no single connection can see: open
// connections per address, failed sign-ins per address and per account, registrations per
// address. Shared by every worker thread of a node (one mutex; each call is a few hash
// lookups). Addresses come from ClientAddress: the peer, or X-Forwarded-For when the peer
// is a trusted proxy.
//
// Sign-in throttles take a token *before* the password is checked and give it back when
// the sign-in succeeds, so concurrent guesses cannot all pass the check before the first
// failure is counted, and a real user's successful sign-ins cost nothing.
#pragma once

#include "tokenbucket.h"

#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QMutex>
#include <QString>

#include <utility>

namespace parley::server {

using Subnet = std::pair<QHostAddress, int>; // QHostAddress::parseSubnet()

// "203.0.113.7", "2001:db8::/32" or "::1"; nullopt if neither an address nor a subnet.
std::optional<Subnet> parseSubnet(const QString &text);
bool inAny(const QHostAddress &address, const QList<Subnet> &subnets);

// The client's address as far as this node can tell: the peer's own, unless the peer is a
// trusted proxy, in which case X-Forwarded-For is read from the right, skipping the
// trusted proxies it lists; the first address that is not one is the client. A malformed
// entry stops the walk at the last address known good. IPv4-mapped IPv6 becomes IPv4.
QHostAddress clientAddress(
    const QHostAddress &peer, QByteArrayView forwardedFor, const QList<Subnet> &trustedProxies);

// What beginSignIn() took, so that exactly that is given back.
struct SignInTicket
{
    bool address = false;
    bool account = false;
};

struct AbuseLimits
{
    int connectionsPerAddress = 4096; // 0: no cap
    int signInFailuresPerAddress = 30; // per minute (and at once); 0: no limit
    int signInFailuresPerAccount = 5; // per minute, from addresses not known to the account
    int registrationsPerAddress = 5; // per minute (and at once)
    QList<Subnet> exempt; // addresses none of these limits apply to (loopback by default)
};

class AbuseGuard
{
public:
    explicit AbuseGuard(AbuseLimits limits);

    // The key limits are counted under: IPv4 as is, IPv6 by its /64 (one subscriber's
    // prefix), so that one attacker cannot become millions of addresses.
    static QString addressKey(const QHostAddress &address);
    bool isExempt(const QHostAddress &address) const;

    // A WebSocket session opens: false (and nothing counted) if the address is at its cap.
    bool openConnection(const QHostAddress &address);
    void closeConnection(const QHostAddress &address);

    // Before checking a password: 0 if the attempt may go on (a token was taken from the
    // address's and, unless the address is known to the account, the account's bucket),
    // else the milliseconds to wait (nothing taken). `*scope` says which limit refused
    // ("address" or "account").
    qint64 beginSignIn(const QHostAddress &address, const QString &account, qint64 nowMs,
        QByteArray *scope, SignInTicket *ticket);
    // After a sign-in begun above succeeded: what it took goes back, and the address becomes
    // known to the account for a day, so that failures from elsewhere do not lock it out.
    void signInSucceeded(const QHostAddress &address, const QString &account, qint64 nowMs,
        const SignInTicket &ticket);
    // A sign-in that could not be checked (the store was down): what it took goes back.
    void signInAbandoned(const QHostAddress &address, const QString &account, qint64 nowMs,
        const SignInTicket &ticket);

    // Before registering: 0 and a token taken, or the milliseconds to wait.
    qint64 beginRegistration(const QHostAddress &address, qint64 nowMs);

    // Entries held (for tests and a gauge); idle entries are swept once a minute.
    int entryCount() const;

private:
    struct AddressEntry
    {
        int connections = 0;
        TokenBucket signInFailures;
        TokenBucket registrations;
    };
    struct AccountEntry
    {
        TokenBucket failures;
        QList<QString> knownAddresses; // signed in from these; newest last, at most 8
        qint64 lastSuccessMs = 0;
    };
    AddressEntry &addressEntry(const QString &key);
    void sweepIfDue(qint64 nowMs);

    const AbuseLimits m_limits;
    mutable QMutex m_mutex;
    QHash<QString, AddressEntry> m_addresses;
    QHash<QString, AccountEntry> m_accounts;
    qint64 m_lastSweepMs = 0;
};

} // namespace parley::server
