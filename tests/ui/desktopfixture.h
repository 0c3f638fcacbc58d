// A desktop client for tests: one profile in a temporary directory, its own in-memory
// credential store, and helpers that drive the sign-in dialog like a user would.
#pragma once

#include "accountsession.h"
#include "client.h"
#include "credentialstore.h"
#include "mainwindow.h"
#include "serverfixture.h"
#include "signindialog.h"

#include <QLineEdit>
#include <QPushButton>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

namespace parley::test {

struct Desktop
{
    explicit Desktop(const QString &name)
    {
        profile.name = name;
        profile.settingsFile = dir.filePath(QStringLiteral("settings.ini"));
        profile.dataDir = dir.filePath(QStringLiteral("data"));
        profile.keychainService = QStringLiteral("parley-test-") + name;
    }

    // A session on this profile (a fresh one each call: a restart of the app).
    ui::AccountSession *open(const QUrl &server = {})
    {
        session.reset();
        session = std::make_unique<ui::AccountSession>(profile, &credentials);
        session->start(server.isEmpty() ? QString() : server.toString());
        return session.get();
    }

    // Fills in the sign-in dialog and presses "Create account" or "Sign in".
    void submit(const QUrl &server, const QString &user, const QString &password, bool create)
    {
        ui::SignInDialog *dialog = session->signInDialog();
        dialog->serverField()->setText(server.toString());
        dialog->userField()->setText(user);
        dialog->passwordField()->setText(password);
        QTest::mouseClick(create ? dialog->createButton() : dialog->signInButton(), Qt::LeftButton);
    }

    client::Client *client() const { return session->client(); }
    ui::MainWindow *window() const { return session->window(); }

    QTemporaryDir dir;
    ui::Profile profile;
    client::MemoryCredentialStore credentials;
    std::unique_ptr<ui::AccountSession> session;
};

} // namespace parley::test
