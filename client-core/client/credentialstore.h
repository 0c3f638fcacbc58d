// Where a signed-in account's token lives between runs. The desktop app uses the OS
// keychain (qtkeychain); the swarm and the tests keep tokens in memory. Every call is
// asynchronous: the keychain may show a prompt or talk over D-Bus.
#pragma once

#include <QHash>
#include <QObject>
#include <QString>

#include <functional>

namespace parley::client {

struct StoredToken
{
    QString token; // empty: none stored
    QString error; // non-empty: the store could not be read (no keychain service, denied...)
};

class CredentialStore : public QObject
{
    Q_OBJECT
public:
    using QObject::QObject;
    // `account` names one account on one server, e.g. "alice@chat.example.org:8443".
    // Callbacks run on the caller's thread, never synchronously inside the call.
    virtual void load(
        const QString &account, QObject *context, std::function<void(StoredToken)> done)
        = 0;
    virtual void save(const QString &account, const QString &token, QObject *context,
        std::function<void(QString error)> done)
        = 0; // error empty on success
    virtual void remove(
        const QString &account, QObject *context, std::function<void(QString error)> done)
        = 0;
    // False when this store cannot keep anything (no keychain service on this system).
    virtual bool isPersistent() const = 0;
};

class MemoryCredentialStore final : public CredentialStore
{
    Q_OBJECT
public:
    using CredentialStore::CredentialStore;
    void load(
        const QString &account, QObject *context, std::function<void(StoredToken)> done) override;
    void save(const QString &account, const QString &token, QObject *context,
        std::function<void(QString)> done) override;
    void remove(
        const QString &account, QObject *context, std::function<void(QString)> done) override;
    bool isPersistent() const override { return false; }

private:
    QHash<QString, QString> m_tokens;
};

// The OS keychain through qtkeychain: Secret Service / KWallet on Linux, Keychain on
// macOS, Credential Manager on Windows. Service name "parley" (+ "-<profile>").
class KeychainCredentialStore final : public CredentialStore
{
    Q_OBJECT
public:
    explicit KeychainCredentialStore(
        const QString &service = QStringLiteral("parley"), QObject *parent = nullptr);
    void load(
        const QString &account, QObject *context, std::function<void(StoredToken)> done) override;
    void save(const QString &account, const QString &token, QObject *context,
        std::function<void(QString)> done) override;
    void remove(
        const QString &account, QObject *context, std::function<void(QString)> done) override;
    bool isPersistent() const override;

private:
    QString m_service;
    bool m_noBackend = false; // a job found no keychain service: nothing will persist
};

} // namespace parley::client
