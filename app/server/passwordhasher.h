// Argon2id password hashing (libsodium, OWASP parameters: 19 MiB, t=2, p=1)
// on a small pool of its own, so no event loop ever waits for the KDF.
#pragma once

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QThreadPool>

#include <functional>

namespace parley::server {

class PasswordHasher
{
public:
    PasswordHasher();
    ~PasswordHasher(); // waits for running hashes

    static bool initialize(); // sodium_init(); call once before use

    // `done` runs on the thread of `context` (dropped if `context` is gone).
    // An empty result means hashing failed (out of memory).
    void hash(const QString &password, QObject *context, std::function<void(QByteArray)> done);
    void verify(const QString &password, const QByteArray &storedHash, QObject *context,
        std::function<void(bool)> done);
    // Spends the same time as a real verify; used for unknown users so a login
    // does not reveal whether a name exists.
    void verifyDummy(const QString &password, QObject *context, std::function<void(bool)> done);

    // Synchronous versions for tests and tools (never call on an event loop).
    static QByteArray hashNow(const QString &password);
    static bool verifyNow(const QString &password, const QByteArray &storedHash);

    // Token helpers: tokens are 256 random bits, base64url; only SHA-256 is stored.
    static QString newToken();
    static QByteArray tokenHash(const QString &token);

private:
    QThreadPool m_pool;
    QByteArray m_dummyHash;
};

} // namespace parley::server
