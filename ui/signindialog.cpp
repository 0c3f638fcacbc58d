#include "signindialog.h"

#include "appicon.h"
#include "codec.h"

#include <QBoxLayout>
#include <QCheckBox>
#include <QFormLayout>
#include <QHostAddress>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

using namespace Qt::StringLiterals;

namespace parley::ui {

namespace {

bool isThisMachine(const QString &host)
{
    if (host.compare(u"localhost"_s, Qt::CaseInsensitive) == 0)
        return true;
    const QHostAddress address(host);
    return !address.isNull() && address.isLoopback();
}

QLabel *noteLabel(QWidget *parent)
{
    auto *label = new QLabel(parent);
    label->setWordWrap(true);
    label->setTextFormat(Qt::PlainText);
    label->setVisible(false);
    return label;
}

} // namespace

SignInDialog::SignInDialog(QWidget *parent)
    : QDialog(parent)
    , m_server(new QLineEdit(this))
    , m_user(new QLineEdit(this))
    , m_password(new QLineEdit(this))
    , m_remember(new QCheckBox(tr("&Keep me signed in"), this))
    , m_keychainNote(noteLabel(this))
    , m_error(noteLabel(this))
    , m_status(noteLabel(this))
    , m_trustPanel(new QWidget(this))
    , m_trustText(noteLabel(m_trustPanel))
    , m_trust(new QPushButton(tr("&Trust this certificate"), m_trustPanel))
    , m_signIn(new QPushButton(tr("&Sign in"), this))
    , m_create(new QPushButton(tr("&Create account"), this))
{
    setWindowTitle(tr("Sign in to Parley"));
    m_server->setPlaceholderText(tr("chat.example.org or 127.0.0.1:8443"));
    m_server->setAccessibleName(tr("Server address"));
    m_user->setAccessibleName(tr("User name"));
    m_user->setPlaceholderText(tr("letters, digits, “.”, “-” and “_”"));
    m_password->setEchoMode(QLineEdit::Password);
    m_password->setAccessibleName(tr("Password"));
    m_remember->setChecked(true);
    m_error->setStyleSheet(u"color: #c0392b;"_s);
    m_error->setAccessibleName(tr("Sign-in problem"));
    m_status->setForegroundRole(QPalette::PlaceholderText);
    m_keychainNote->setForegroundRole(QPalette::PlaceholderText);
    m_signIn->setDefault(true);
    m_trustText->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto *trustLayout = new QVBoxLayout(m_trustPanel);
    trustLayout->setContentsMargins(0, 0, 0, 0);
    trustLayout->addWidget(m_trustText);
    trustLayout->addWidget(m_trust, 0, Qt::AlignLeft);
    m_trustText->setVisible(true);
    m_trustPanel->setVisible(false);

    auto *icon = new QLabel(this);
    icon->setPixmap(appIcon().pixmap(48, 48));
    auto *title = new QLabel(tr("Welcome to Parley"), this);
    QFont titleFont = title->font();
    titleFont.setBold(true);
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.4);
    title->setFont(titleFont);
    auto *subtitle = new QLabel(tr("Sign in, or create an account on your Parley server."), this);
    subtitle->setForegroundRole(QPalette::PlaceholderText);
    auto *titles = new QVBoxLayout;
    titles->addWidget(title);
    titles->addWidget(subtitle);
    auto *header = new QHBoxLayout;
    header->addWidget(icon);
    header->addLayout(titles, 1);

    auto *form = new QFormLayout;
    form->addRow(tr("Se&rver:"), m_server);
    form->addRow(tr("&User name:"), m_user);
    form->addRow(tr("&Password:"), m_password);
    form->addRow(QString(), m_remember);
    auto *buttons = new QHBoxLayout;
    buttons->addStretch(1);
    buttons->addWidget(m_create);
    buttons->addWidget(m_signIn);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(header);
    layout->addSpacing(8);
    layout->addLayout(form);
    layout->addWidget(m_keychainNote);
    layout->addWidget(m_trustPanel);
    layout->addWidget(m_error);
    layout->addWidget(m_status);
    layout->addLayout(buttons);
    // The layout sets the dialog's minimum size (an explicit minimum width on the dialog
    // would stop it from doing so, and notes shown later then squashed the fields), and
    // the strut keeps the dialog at least 420 px wide.
    layout->setSizeConstraint(QLayout::SetMinimumSize);
    layout->addStrut(420);

    connect(m_signIn, &QPushButton::clicked, this, [this] { submit(false); });
    connect(m_create, &QPushButton::clicked, this, [this] { submit(true); });
    connect(m_trust, &QPushButton::clicked, this, [this] {
        m_trustPanel->setVisible(false);
        Q_EMIT trustRequested(m_untrusted);
    });
}

void SignInDialog::setServer(const QString &server)
{
    m_server->setText(server);
}

void SignInDialog::setUser(const QString &user)
{
    m_user->setText(user);
    if (!user.isEmpty())
        m_password->setFocus();
}

void SignInDialog::setRemember(bool remember)
{
    m_remember->setChecked(remember && !m_keychainMissing);
}

void SignInDialog::setKeychainProblem(const QString &problem)
{
    m_keychainMissing = !problem.isEmpty();
    m_remember->setEnabled(!m_keychainMissing);
    if (m_keychainMissing)
        m_remember->setChecked(false);
    m_keychainNote->setText(tr("Parley cannot remember your sign-in on this computer: %1. "
                               "You can still sign in; you will be asked for your password "
                               "next time.")
                                .arg(problem));
    m_keychainNote->setVisible(m_keychainMissing);
    fitToContents();
}

// Word-wrapped notes need more height at the dialog's width than their minimum size says:
// grow the dialog to what the layout needs at this width (it is often shown before the
// keychain's answer or an error arrives), never squashing the fields.
void SignInDialog::fitToContents()
{
    QLayout *box = layout();
    box->activate();
    const int needed = box->hasHeightForWidth() ? box->totalHeightForWidth(width())
                                                : box->totalSizeHint().height();
    if (height() < needed)
        resize(width(), needed);
}

void SignInDialog::setBusy(bool busy, const QString &status)
{
    for (QWidget *w : {static_cast<QWidget *>(m_server), static_cast<QWidget *>(m_user),
             static_cast<QWidget *>(m_password), static_cast<QWidget *>(m_signIn),
             static_cast<QWidget *>(m_create)})
        w->setEnabled(!busy);
    m_remember->setEnabled(!busy && !m_keychainMissing);
    m_status->setText(status);
    m_status->setVisible(busy && !status.isEmpty());
    if (busy)
        m_error->setVisible(false);
    fitToContents();
}

void SignInDialog::showError(const QString &message)
{
    setBusy(false);
    m_error->setText(message);
    m_error->setVisible(!message.isEmpty());
    fitToContents();
}

void SignInDialog::askToTrust(const QString &host, const QByteArray &sha256, const QString &details)
{
    setBusy(false);
    m_untrusted = sha256;
    m_trustText->setText(
        tr("This computer does not trust the certificate of %1 (%2).\n"
           "Trust it only if this fingerprint is the one your server's administrator gave "
           "you:\nSHA-256 %3")
            .arg(host, details, formatFingerprint(sha256)));
    m_trustPanel->setVisible(true);
    m_trust->setFocus();
    fitToContents();
}

QString SignInDialog::formatFingerprint(const QByteArray &sha256)
{
    return QString::fromLatin1(sha256.toHex(':').toUpper());
}

std::optional<QUrl> SignInDialog::parseServer(const QString &text, QString *problem)
{
    QString input = text.trimmed();
    if (input.isEmpty()) {
        *problem = tr("Enter the address of your Parley server.");
        return std::nullopt;
    }
    if (!input.contains(u"://"_s))
        input.prepend(u"parley://"_s); // decided below from the host
    QUrl url(input, QUrl::StrictMode);
    if (!url.isValid() || url.host().isEmpty()) {
        *problem = tr("“%1” is not a server address.").arg(text.trimmed());
        return std::nullopt;
    }
    const QString scheme = url.scheme().toLower();
    if (scheme == u"parley"_s)
        url.setScheme(isThisMachine(url.host()) ? u"ws"_s : u"wss"_s);
    else if (scheme == u"https"_s)
        url.setScheme(u"wss"_s);
    else if (scheme == u"http"_s)
        url.setScheme(u"ws"_s);
    else if (scheme != u"ws"_s && scheme != u"wss"_s) {
        *problem = tr("“%1” is not a server address.").arg(text.trimmed());
        return std::nullopt;
    }
    if (url.scheme() == u"ws"_s && !isThisMachine(url.host())) {
        *problem = tr("Unencrypted connections are only allowed to this computer; "
                      "use a wss:// address.");
        return std::nullopt;
    }
    if (url.path().isEmpty() || url.path() == u"/"_s)
        url.setPath(u"/ws"_s);
    return url;
}

void SignInDialog::submit(bool createAccount)
{
    QString problem;
    const auto server = parseServer(m_server->text(), &problem);
    const QString user = protocol::normalizeUserName(m_user->text().trimmed());
    if (server && !protocol::isValidUserName(user))
        problem = tr("A user name is %1 to %2 characters: letters, digits, “.”, “-” or “_”.")
                      .arg(protocol::MinUserChars)
                      .arg(protocol::MaxUserChars);
    else if (server && m_password->text().isEmpty())
        problem = tr("Enter your password.");
    if (!problem.isEmpty()) {
        showError(problem);
        return;
    }
    m_trustPanel->setVisible(false);
    SignInRequest request {*server, user, m_password->text(), createAccount,
        m_remember->isChecked() && !m_keychainMissing};
    setBusy(true, createAccount ? tr("Creating your account…") : tr("Signing in…"));
    Q_EMIT submitted(request);
}

} // namespace parley::ui
