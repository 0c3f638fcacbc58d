#include "passwordhasher.h"

#include "logging.h"

#include <QCryptographicHash>
#include <QMetaObject>
#include <QPointer>

#include <sodium.h>

namespace parley::server {

namespace {
// OWASP password storage cheat sheet, Argon2id: m=19 MiB, t=2, p=1 (libsodium uses p=1).
constexpr unsigned long long OpsLimit = 2;
constexpr size_t MemLimit = 19u * 1024u * 1024u;
} // namespace

bool PasswordHasher::initialize()
{
    return sodium_init() >= 0;
}

PasswordHasher::PasswordHasher()
{
    // Each hash holds 19 MiB; two at a time keeps memory bounded and leaves a
    // core for the sockets on small machines.
    m_pool.setMaxThreadCount(2);
    m_pool.setObjectName(QStringLiteral("parley-kdf"));
    m_dummyHash = hashNow(QStringLiteral("parley-dummy-password"));
}

PasswordHasher::~PasswordHasher()
{
    m_pool.clear();
    m_pool.waitForDone();
}

void PasswordHasher::run(Requester requester, std::function<void()> work)
{
    m_pool.start([requester = std::move(requester), work = std::move(work)] {
        if (!requester.expired())
            work();
    });
}

QByteArray PasswordHasher::hashNow(const QString &password)
{
    const QByteArray utf8 = password.toUtf8();
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, utf8.constData(), utf8.size(), OpsLimit, MemLimit) != 0) {
        qCWarning(lcServerAuth) << "password hashing failed (out of memory?)";
        return {};
    }
    return QByteArray(out);
}

bool PasswordHasher::verifyNow(const QString &password, const QByteArray &storedHash)
{
    if (storedHash.isEmpty())
        return false;
    const QByteArray utf8 = password.toUtf8();
    const QByteArray terminated = storedHash + '\0';
    return crypto_pwhash_str_verify(terminated.constData(), utf8.constData(), utf8.size()) == 0;
}

void PasswordHasher::hash(const QString &password, Requester requester, QObject *context,
    std::function<void(QByteArray)> done)
{
    QPointer<QObject> guard(context);
    run(std::move(requester), [password, guard, done = std::move(done)] {
        QByteArray hashed = hashNow(password);
        // invokeMethod with a context drops the call if the context was destroyed
        // before the event is delivered; the QPointer check covers "already gone".
        if (QObject *ctx = guard.data())
            QMetaObject::invokeMethod(
                ctx, [done, hashed] { done(hashed); }, Qt::QueuedConnection);
    });
}

void PasswordHasher::verify(const QString &password, const QByteArray &storedHash,
    Requester requester, QObject *context, std::function<void(bool)> done)
{
    QPointer<QObject> guard(context);
    run(std::move(requester), [password, storedHash, guard, done = std::move(done)] {
        const bool ok = verifyNow(password, storedHash);
        if (QObject *ctx = guard.data())
            QMetaObject::invokeMethod(
                ctx, [done, ok] { done(ok); }, Qt::QueuedConnection);
    });
}

void PasswordHasher::verifyDummy(
    const QString &password, Requester requester, QObject *context, std::function<void(bool)> done)
{
    verify(password, m_dummyHash, std::move(requester), context,
        [done = std::move(done)](bool) { done(false); });
}

QString PasswordHasher::newToken()
{
    unsigned char bytes[32];
    randombytes_buf(bytes, sizeof bytes);
    return QString::fromLatin1(
        QByteArray(reinterpret_cast<const char *>(bytes), sizeof bytes)
            .toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
}

QByteArray PasswordHasher::tokenHash(const QString &token)
{
    return QCryptographicHash::hash(token.toUtf8(), QCryptographicHash::Sha256);
}

} // namespace parley::server
