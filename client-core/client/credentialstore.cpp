#include "credentialstore.h"

#include "logging.h"

#include <QMetaObject>
#ifdef PARLEY_HAVE_KEYCHAIN
#include <qt6keychain/keychain.h>
#endif

using namespace Qt::StringLiterals;

namespace parley::client {

namespace {

// Runs `callback` on context's thread from the event loop, never inside the caller's
// call. A queued call is discarded with its receiver, so nothing runs for a context
// that is gone.
void post(QObject *context, QObject *fallback, std::function<void()> callback)
{
    QMetaObject::invokeMethod(
        context ? context : fallback, std::move(callback), Qt::QueuedConnection);
}

#ifdef PARLEY_HAVE_KEYCHAIN
// Keeps `noBackend` up to date from every job, whether or not the caller's context
// is still there. The job is a child of the store, so `noBackend` outlives it.
void trackBackend(QKeychain::Job *job, QObject *store, bool &noBackend)
{
    QObject::connect(job, &QKeychain::Job::finished, store, [&noBackend](QKeychain::Job *done) {
        if (done->error() == QKeychain::NoBackendAvailable)
            noBackend = true;
        else if (done->error() == QKeychain::NoError || done->error() == QKeychain::EntryNotFound)
            noBackend = false; // a service answered (e.g. the keyring came up later)
    });
}

// A keychain failure as a sentence for the user; empty when there is nothing to report.
QString describe(const QKeychain::Job &job)
{
    switch (job.error()) {
    case QKeychain::NoError:
    case QKeychain::EntryNotFound:
        return {};
    case QKeychain::NoBackendAvailable:
        return u"no keychain service is available on this system "
               u"(install and unlock GNOME Keyring or KWallet)"_s;
    case QKeychain::AccessDeniedByUser:
    case QKeychain::AccessDenied:
        return u"access to the keychain was denied: %1"_s.arg(job.errorString());
    case QKeychain::CouldNotDeleteEntry:
    case QKeychain::NotImplemented:
    case QKeychain::OtherError:
        break;
    }
#if defined(Q_OS_UNIX) && !defined(Q_OS_MACOS)
    // Without a session bus or a running keyring, libsecret fails with just "Unknown error".
    return u"the keychain failed (%1); check that GNOME Keyring or KWallet is running "
           u"and unlocked"_s.arg(job.errorString());
#else
    return u"the keychain failed (%1)"_s.arg(job.errorString());
#endif
}

#endif

} // namespace

// ---- MemoryCredentialStore --------------------------------------------------

void MemoryCredentialStore::load(
    const QString &account, QObject *context, std::function<void(StoredToken)> done)
{
    StoredToken stored {m_tokens.value(account), {}};
    post(context, this, [done = std::move(done), stored] { done(stored); });
}

void MemoryCredentialStore::save(const QString &account, const QString &token, QObject *context,
    std::function<void(QString)> done)
{
    m_tokens.insert(account, token);
    post(context, this, [done = std::move(done)] { done({}); });
}

void MemoryCredentialStore::remove(
    const QString &account, QObject *context, std::function<void(QString)> done)
{
    m_tokens.remove(account);
    post(context, this, [done = std::move(done)] { done({}); });
}

#ifdef PARLEY_HAVE_KEYCHAIN

// ---- KeychainCredentialStore ------------------------------------------------

KeychainCredentialStore::KeychainCredentialStore(const QString &service, QObject *parent)
    : CredentialStore(parent)
    , m_service(service)
{ }

// Jobs are children of the store (a store that goes away takes its jobs along) and
// delete themselves after `finished`.
void KeychainCredentialStore::load(
    const QString &account, QObject *context, std::function<void(StoredToken)> done)
{
    auto *job = new QKeychain::ReadPasswordJob(m_service, this);
    job->setAutoDelete(true);
    job->setKey(account);
    trackBackend(job, this, m_noBackend);
    connect(job, &QKeychain::Job::finished, context ? context : this,
        [done = std::move(done)](QKeychain::Job *finished) {
            const QString error = describe(*finished);
            if (!error.isEmpty()) {
                qCWarning(lcClient) << "could not read a token from the keychain:" << error;
                done(StoredToken {{}, error});
                return;
            }
            const auto *read = static_cast<QKeychain::ReadPasswordJob *>(finished);
            done(StoredToken {
                finished->error() == QKeychain::NoError ? read->textData() : QString(), {}});
        });
    job->start();
}

void KeychainCredentialStore::save(const QString &account, const QString &token, QObject *context,
    std::function<void(QString)> done)
{
    auto *job = new QKeychain::WritePasswordJob(m_service, this);
    job->setAutoDelete(true);
    job->setKey(account);
    job->setTextData(token);
    trackBackend(job, this, m_noBackend);
    connect(job, &QKeychain::Job::finished, context ? context : this,
        [done = std::move(done)](QKeychain::Job *finished) {
            const QString error = describe(*finished);
            if (!error.isEmpty())
                qCWarning(lcClient) << "could not save a token in the keychain:" << error;
            done(error);
        });
    job->start();
}

void KeychainCredentialStore::remove(
    const QString &account, QObject *context, std::function<void(QString)> done)
{
    auto *job = new QKeychain::DeletePasswordJob(m_service, this);
    job->setAutoDelete(true);
    job->setKey(account);
    trackBackend(job, this, m_noBackend);
    connect(job, &QKeychain::Job::finished, context ? context : this,
        [done = std::move(done)](QKeychain::Job *finished) {
            // Removing a token that is not there leaves the state the caller wanted.
            const QString error = describe(*finished);
            if (!error.isEmpty())
                qCWarning(lcClient) << "could not remove a token from the keychain:" << error;
            done(error);
        });
    job->start();
}

bool KeychainCredentialStore::isPersistent() const
{
    return !m_noBackend;
}

#else // built without qtkeychain (a headless build): nothing is kept

KeychainCredentialStore::KeychainCredentialStore(const QString &service, QObject *parent)
    : CredentialStore(parent)
    , m_service(service)
{ }

static const QString NoKeychain = u"this build of Parley has no keychain support"_s;

void KeychainCredentialStore::load(
    const QString &, QObject *context, std::function<void(StoredToken)> done)
{
    post(context, this, [done = std::move(done)] { done({{}, NoKeychain}); });
}

void KeychainCredentialStore::save(
    const QString &, const QString &, QObject *context, std::function<void(QString)> done)
{
    post(context, this, [done = std::move(done)] { done(NoKeychain); });
}

void KeychainCredentialStore::remove(
    const QString &, QObject *context, std::function<void(QString)> done)
{
    post(context, this, [done = std::move(done)] { done({}); });
}

bool KeychainCredentialStore::isPersistent() const
{
    return false;
}

#endif

} // namespace parley::client
