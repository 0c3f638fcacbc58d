// Sign in or create an account: server address, user name, password and "keep me
// signed in". Shows the client's refusals in plain words, offers to trust a server
// certificate the system does not (showing its fingerprint), and says so when there
// is no keychain to remember the sign-in in.
#pragma once

#include <QDialog>
#include <QUrl>

#include <optional>

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace parley::ui {

struct SignInRequest
{
    QUrl server;
    QString user;
    QString password;
    bool createAccount = false;
    bool remember = false;
};

class SignInDialog : public QDialog
{
    Q_OBJECT
public:
    explicit SignInDialog(QWidget *parent = nullptr);

    void setServer(const QString &server);
    void setUser(const QString &user);
    void setRemember(bool remember);
    // No keychain here: "keep me signed in" is turned off and the reason shown.
    void setKeychainProblem(const QString &problem);
    void setBusy(bool busy, const QString &status = {});
    void showError(const QString &message);
    // The server's certificate is not trusted by this system: show its fingerprint and
    // let the user trust it (trustRequested) or not.
    void askToTrust(const QString &host, const QByteArray &sha256, const QString &details);

    QLineEdit *serverField() const { return m_server; }
    QLineEdit *userField() const { return m_user; }
    QLineEdit *passwordField() const { return m_password; }
    QCheckBox *rememberBox() const { return m_remember; }
    QPushButton *signInButton() const { return m_signIn; }
    QPushButton *createButton() const { return m_create; }
    QPushButton *trustButton() const { return m_trust; }
    QLabel *errorLabel() const { return m_error; }

    // "chat.example.org", "host:8443", "ws://127.0.0.1:8443" or a full URL: the
    // WebSocket URL to use (wss:// unless the host is this machine), or nullopt with
    // the reason.
    static std::optional<QUrl> parseServer(const QString &text, QString *problem);
    // "AB:CD:..." for showing a SHA-256 fingerprint.
    static QString formatFingerprint(const QByteArray &sha256);

Q_SIGNALS:
    void submitted(const parley::ui::SignInRequest &request);
    void trustRequested(const QByteArray &sha256);

private:
    void submit(bool createAccount);
    void fitToContents();

    QLineEdit *m_server = nullptr;
    QLineEdit *m_user = nullptr;
    QLineEdit *m_password = nullptr;
    QCheckBox *m_remember = nullptr;
    QLabel *m_keychainNote = nullptr;
    QLabel *m_error = nullptr;
    QLabel *m_status = nullptr;
    QWidget *m_trustPanel = nullptr;
    QLabel *m_trustText = nullptr;
    QPushButton *m_trust = nullptr;
    QPushButton *m_signIn = nullptr;
    QPushButton *m_create = nullptr;
    QByteArray m_untrusted; // the fingerprint on offer
    bool m_keychainMissing = false;
};

} // namespace parley::ui
