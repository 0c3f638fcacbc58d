// Argon2id password hashing (libsodium, OWASP parameters: 19 MiB, t=2, p=1)
// on a small pool of its own, so no event loop ever waits for the KDF.
#pragma once

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QThreadPool>

#include <functional>
#include <memory>

namespace parley::server {

class PasswordHasher
{
public:
    PasswordHasher();
    ~PasswordHasher(); // drops queued hashes, waits for running ones

    static bool initialize(); // sodium_init(); call once before use

    // Whoever asked for a hash: once it has expired (the connection closed), a queued
    // hash is skipped. Under a burst of sign-ins the queue can outgrow clients' patience;
    // hashing for connections that gave up would starve every later one.
    using Requester = std::weak_ptr<const void>;

    // `done` runs on the thread of `context` (dropped if `context` is gone, and never run
    // when `requester` expired before the hash started).
    // An empty result means hashing failed (out of memory).
    void hash(const QString &password, Requester requester, QObject *context,
        std::function<void(QByteArray)> done);
    void verify(const QString &password, const QByteArray &storedHash, Requester requester,
        QObject *context, std::function<void(bool)> done);
    // Spends the same time as a real verify; used for unknown users so a login
    // does not reveal whether a name exists.
    void verifyDummy(const QString &password, Requester requester, QObject *context,
        std::function<void(bool)> done);

    // Synchronous versions for tests and tools (never call on an event loop).
    static QByteArray hashNow(const QString &password);
    static bool verifyNow(const QString &password, const QByteArray &storedHash);

    // Token helpers: tokens are 256 random bits, base64url; only SHA-256 is stored.
    static QString newToken();
    static QByteArray tokenHash(const QString &token);

private:
    // Runs `work` on the pool unless `requester` has expired by the time it starts.
    void run(Requester requester, std::function<void()> work);

    QThreadPool m_pool;
    QByteArray m_dummyHash;
};

} // namespace parley::server
