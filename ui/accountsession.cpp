#include "accountsession.h"

#include "client.h"
#include "credentialstore.h"
#include "logging.h"
#include "mainwindow.h"
#include "settingsdialog.h"

#include <QLineEdit>

using namespace Qt::StringLiterals;
using parley::client::Client;
using parley::client::ConnectionState;

namespace parley::ui {

namespace {

// Settings keys. Only addresses, names and preferences: no password, no token.
const auto ServerKey = u"account/server"_s;
const auto UserKey = u"account/user"_s;
const auto RememberKey = u"account/remember"_s;
const auto NotificationsKey = u"ui/notifications"_s;
const auto LastConversationKey = u"ui/lastConversation"_s;
const auto GeometryKey = u"ui/geometry"_s;

// Trusted certificates (the user chose to) by server, as hex SHA-256 fingerprints.
QString pinKey(const QUrl &server)
{
    return u"trustedCertificates/"_s + server.host() + u'_' + QString::number(server.port(443));
}

} // namespace

AccountSession::AccountSession(
    const Profile &profile, client::CredentialStore *credentials, QObject *parent)
    : QObject(parent)
    , m_profile(profile)
    , m_credentials(credentials)
    , m_settings(std::make_unique<QSettings>(profile.settingsFile, QSettings::IniFormat))
{
    client::ClientOptions options;
    options.dataDir = profile.dataDir;
    options.device = u"desktop"_s;
    m_client = std::make_unique<Client>(credentials, options);
    m_window = std::make_unique<MainWindow>(m_client.get(), profile.name);
    m_window->setNotificationsEnabled(m_settings->value(NotificationsKey, true).toBool());
    m_window->setLastConversation(m_settings->value(LastConversationKey).toString());
    m_window->restoreGeometry(m_settings->value(GeometryKey).toByteArray());
    m_dialog = std::make_unique<SignInDialog>();
    if (!profile.name.isEmpty())
        m_dialog->setWindowTitle(tr("Sign in to Parley [%1]").arg(profile.name));

    connect(m_dialog.get(), &SignInDialog::submitted, this, &AccountSession::submit);
    connect(m_dialog.get(), &SignInDialog::trustRequested, this, &AccountSession::trust);
    connect(m_dialog.get(), &QDialog::rejected, this, [this] {
        if (!m_window->isVisible())
            Q_EMIT finished();
    });
    connect(m_window.get(), &MainWindow::settingsRequested, this, &AccountSession::openSettings);
    connect(m_window.get(), &MainWindow::conversationOpened, this,
        [this](const QString &conv) { m_settings->setValue(LastConversationKey, conv); });
    connect(m_client.get(), &Client::signedIn, this, &AccountSession::onSignedIn);
    connect(m_client.get(), &Client::authenticationRequired, this,
        [this](const QString &reason) { onAuthenticationRequired(reason); });
    connect(m_client.get(), &Client::untrustedCertificate, this,
        &AccountSession::onUntrustedCertificate);
    connect(m_client.get(), &Client::stateChanged, this, &AccountSession::onStateChanged);
    connect(m_client.get(), &Client::connectionError, this, [this](const QString &message) {
        m_lastError = message;
        if (m_signingIn && m_client->state() == ConnectionState::Offline) {
            m_signingIn = false; // e.g. the local cache could not be opened
            m_dialog->showError(message);
        }
    });
}

AccountSession::~AccountSession()
{
    if (m_window)
        m_settings->setValue(GeometryKey, m_window->saveGeometry());
    m_window.reset(); // before the client it shows
    m_dialog.reset();
}

void AccountSession::start(const QString &server, const QString &suggestedUser)
{
    const QString saved = m_settings->value(ServerKey).toString();
    const QString user = m_settings->value(UserKey).toString();
    QString problem;
    const auto url = SignInDialog::parseServer(saved, &problem);
    if (url && !user.isEmpty() && m_settings->value(RememberKey).toBool()
        && (server.isEmpty() || server == saved)) {
        qCInfo(lcUi) << "resuming the saved sign-in of" << user << "on" << url->toString();
        m_client->setServer(*url, pinFor(*url));
        showWindow();
        m_client->resumeSaved(user);
        return;
    }
    m_dialog->setServer(server.isEmpty() ? saved : server);
    m_dialog->setUser(user.isEmpty() ? suggestedUser : user);
    showSignIn({});
}

void AccountSession::showSignIn(const QString &reason)
{
    m_dialog->showError(reason);
    if (m_signingOut)
        m_dialog->setBusy(true, tr("Signing out…"));
    m_dialog->show();
    m_dialog->raise();
    m_dialog->activateWindow();
    // Ask the credential store now, so a missing keychain is said before signing in.
    m_credentials->load(u"parley-keychain-check"_s, this, [this](const client::StoredToken &t) {
        m_dialog->setKeychainProblem(t.error);
        if (t.error.isEmpty())
            m_dialog->setRemember(m_settings->value(RememberKey, true).toBool());
    });
}

void AccountSession::submit(const SignInRequest &request)
{
    m_pending = request;
    m_signingIn = true;
    m_lastError.clear();
    qCInfo(lcUi) << (request.createAccount ? "creating account" : "signing in as") << request.user
                 << "on" << request.server.toString();
    m_client->setServer(request.server, pinFor(request.server));
    m_client->signIn(request.user, request.password, request.createAccount, request.remember);
}

void AccountSession::trust(const QByteArray &sha256)
{
    m_settings->setValue(pinKey(m_pending.server), QString::fromLatin1(sha256.toHex()));
    qCInfo(lcUi) << "the user trusts the certificate of" << m_pending.server.host();
    if (!m_pending.password.isEmpty()) {
        m_dialog->setBusy(true, tr("Signing in…"));
        submit(m_pending);
    } else {
        // Resuming a remembered sign-in met the certificate: resume again with the pin.
        m_client->setServer(m_pending.server, sha256);
        m_dialog->hide();
        showWindow();
        m_client->resumeSaved(m_settings->value(UserKey).toString());
    }
}

void AccountSession::onSignedIn(const QString &user)
{
    if (!m_signingIn)
        return;
    m_signingIn = false;
    m_settings->setValue(ServerKey, m_pending.server.toString());
    m_settings->setValue(UserKey, user);
    m_settings->setValue(RememberKey, m_pending.remember);
    m_pending.password.clear();
    m_dialog->passwordField()->clear();
    m_dialog->setBusy(false);
    showWindow(); // first: hiding the last visible window could end the application
    m_dialog->hide();
}

void AccountSession::onAuthenticationRequired(const QString &reason)
{
    m_signingIn = false;
    m_pending.password.clear();
    if (m_dialog->isVisible()) {
        m_dialog->showError(reason);
        return;
    }
    // A remembered sign-in no longer works: ask again, over the window.
    m_window->hide();
    m_dialog->setServer(m_settings->value(ServerKey).toString());
    m_dialog->setUser(m_settings->value(UserKey).toString());
    showSignIn(reason);
}

void AccountSession::onUntrustedCertificate(
    const QList<QSslError> &errors, const QByteArray &sha256)
{
    m_signingIn = false;
    if (m_pending.server.isEmpty()) {
        QString ignored;
        m_pending.server
            = SignInDialog::parseServer(m_settings->value(ServerKey).toString(), &ignored)
                  .value_or(QUrl());
    }
    const QString details = errors.isEmpty() ? tr("unknown issuer") : errors.first().errorString();
    if (!m_dialog->isVisible()) {
        m_window->hide();
        showSignIn({});
    }
    m_dialog->askToTrust(m_pending.server.host(), sha256, details);
}

void AccountSession::onStateChanged()
{
    const ConnectionState state = m_client->state();
    if (m_signingOut && state == ConnectionState::Offline) {
        m_signingOut = false;
        m_dialog->setBusy(false);
        return;
    }
    if (m_signingIn && state == ConnectionState::Backoff) {
        // While signing in, an unreachable server is an answer, not something to wait out.
        m_signingIn = false;
        m_client->disconnectFromServer();
        m_dialog->showError(
            tr("Cannot reach the server at %1. Check the address and that the server is "
               "running.%2")
                .arg(m_pending.server.toString(QUrl::RemovePath),
                    m_lastError.isEmpty() ? QString() : u"\n("_s + m_lastError + u')'));
    }
}

void AccountSession::showWindow()
{
    m_window->show();
    m_window->raise();
    m_window->activateWindow();
}

QByteArray AccountSession::pinFor(const QUrl &server) const
{
    return QByteArray::fromHex(m_settings->value(pinKey(server)).toString().toLatin1());
}

void AccountSession::signOut()
{
    qCInfo(lcUi) << "signing out";
    m_settings->setValue(RememberKey, false);
    m_signingOut = m_client->state() != ConnectionState::Offline;
    m_client->signOut();
    if (m_client->state() == ConnectionState::Offline)
        m_signingOut = false;
    m_window->hide();
    m_dialog->setServer(m_settings->value(ServerKey).toString());
    m_dialog->setUser(m_settings->value(UserKey).toString());
    showSignIn({});
}

void AccountSession::changeServer(const QString &server)
{
    signOut();
    m_dialog->setServer(server);
}

void AccountSession::openSettings()
{
    SettingsDialog dialog(m_profile.name, m_client->user(), m_settings->value(ServerKey).toString(),
        m_settings->value(NotificationsKey, true).toBool(), m_window.get());
    connect(&dialog, &SettingsDialog::notificationsChanged, this, [this](bool enabled) {
        m_settings->setValue(NotificationsKey, enabled);
        m_window->setNotificationsEnabled(enabled);
    });
    bool signOutAfter = false;
    QString newServer;
    connect(
        &dialog, &SettingsDialog::signOutRequested, this, [&signOutAfter] { signOutAfter = true; });
    connect(&dialog, &SettingsDialog::serverChangeRequested, this,
        [&newServer](const QString &server) { newServer = server; });
    dialog.exec();
    // Acted on once the dialog is gone: signing out hides the window it belongs to.
    if (!newServer.isEmpty())
        changeServer(newServer);
    else if (signOutAfter)
        signOut();
}

} // namespace parley::ui
