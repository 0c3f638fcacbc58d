// Settings: the server and account, notifications on or off, and signing out (which
// revokes this device's token on the server and forgets it here).
#pragma once

#include <QDialog>

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace parley::ui {

class SettingsDialog : public QDialog
{
    Q_OBJECT
public:
    SettingsDialog(const QString &profile, const QString &user, const QString &server,
        bool notifications, QWidget *parent = nullptr);

    bool notificationsEnabled() const;
    QString server() const;
    QCheckBox *notificationsBox() const { return m_notifications; }
    QLineEdit *serverField() const { return m_server; }
    QPushButton *signOutButton() const { return m_signOut; }

Q_SIGNALS:
    void signOutRequested();
    // Another server: the account is signed out, and sign-in opens with this address.
    void serverChangeRequested(const QString &server);
    void notificationsChanged(bool enabled);

private:
    QLineEdit *m_server = nullptr;
    QCheckBox *m_notifications = nullptr;
    QPushButton *m_signOut = nullptr;
    QString m_originalServer;
};

} // namespace parley::ui
