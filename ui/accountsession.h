// One profile's account from start to quit: resumes a remembered sign-in or asks for
// one, turns the client's answers into what the sign-in dialog shows, keeps the
// profile's settings (never a secret: the token stays in the credential store), and
// opens the main window once signed in. Settings and signing out go through here.
#pragma once

#include "profile.h"
#include "signindialog.h"

#include <QObject>
#include <QPointer>
#include <QSettings>
#include <QSslError>

#include <memory>

namespace parley::client {
class Client;
class CredentialStore;
} // namespace parley::client

namespace parley::ui {

class MainWindow;

class AccountSession : public QObject
{
    Q_OBJECT
public:
    // credentials: not owned; must outlive the session.
    AccountSession(
        const Profile &profile, client::CredentialStore *credentials, QObject *parent = nullptr);
    ~AccountSession() override;

    // Resumes the remembered account, or shows the sign-in dialog (prefilled with
    // `server` and `user` when given and nothing is remembered).
    void start(const QString &server = {}, const QString &user = {});
    void signOut();
    void openSettings();

    client::Client *client() const { return m_client.get(); }
    MainWindow *window() const { return m_window.get(); }
    SignInDialog *signInDialog() const { return m_dialog.get(); }
    QSettings *settings() const { return m_settings.get(); }

Q_SIGNALS:
    // The user closed the sign-in dialog without signing in: the app should quit.
    void finished();

private:
    void showSignIn(const QString &reason);
    void submit(const SignInRequest &request);
    void trust(const QByteArray &sha256);
    void onSignedIn(const QString &user);
    void onAuthenticationRequired(const QString &reason);
    void onUntrustedCertificate(const QList<QSslError> &errors, const QByteArray &sha256);
    void onStateChanged();
    void showWindow();
    QByteArray pinFor(const QUrl &server) const;
    void changeServer(const QString &server);

    Profile m_profile;
    client::CredentialStore *m_credentials = nullptr;
    std::unique_ptr<QSettings> m_settings;
    std::unique_ptr<client::Client> m_client;
    std::unique_ptr<MainWindow> m_window;
    std::unique_ptr<SignInDialog> m_dialog;
    SignInRequest m_pending; // the sign-in in progress (its password is dropped once answered)
    bool m_signingIn = false;
    bool m_signingOut = false;
    QString m_lastError;
};

} // namespace parley::ui
