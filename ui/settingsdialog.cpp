#include "settingsdialog.h"

#include <QBoxLayout>
#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>

using namespace Qt::StringLiterals;

namespace parley::ui {

SettingsDialog::SettingsDialog(const QString &profile, const QString &user, const QString &server,
    bool notifications, QWidget *parent)
    : QDialog(parent)
    , m_server(new QLineEdit(server, this))
    , m_notifications(new QCheckBox(tr("Show a &notification for new messages while Parley is "
                                       "in the background"),
          this))
    , m_signOut(new QPushButton(tr("Sign &out"), this))
    , m_originalServer(server)
{
    setWindowTitle(tr("Settings"));
    m_server->setAccessibleName(tr("Server address"));
    m_notifications->setChecked(notifications);
    m_signOut->setAccessibleDescription(
        tr("Ends this device's session on the server and forgets it here"));

    auto *account = new QGroupBox(tr("Account"), this);
    auto *form = new QFormLayout(account);
    form->addRow(tr("Signed in as:"), new QLabel(user, account));
    form->addRow(tr("Profile:"), new QLabel(profile.isEmpty() ? tr("default") : profile, account));
    form->addRow(tr("&Server:"), m_server);
    auto *serverNote = new QLabel(tr("Changing the server signs you out."), account);
    serverNote->setForegroundRole(QPalette::PlaceholderText);
    form->addRow(QString(), serverNote);
    form->addRow(QString(), m_signOut);

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(account);
    layout->addWidget(m_notifications);
    layout->addStretch(1);
    layout->addWidget(buttons);

    connect(m_signOut, &QPushButton::clicked, this, [this] {
        Q_EMIT signOutRequested();
        accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        Q_EMIT notificationsChanged(notificationsEnabled());
        if (this->server().trimmed() != m_originalServer.trimmed())
            Q_EMIT serverChangeRequested(this->server().trimmed());
        accept();
    });
}

bool SettingsDialog::notificationsEnabled() const
{
    return m_notifications->isChecked();
}

QString SettingsDialog::server() const
{
    return m_server->text();
}

} // namespace parley::ui
