#include "desktopmain.h"

#include "accountsession.h"
#include "appicon.h"
#include "credentialstore.h"
#include "logging.h"
#include "profile.h"
#include "singleinstance.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QLibraryInfo>
#include <QLockFile>
#include <QMessageBox>
#include <QTranslator>
#include <QWidget>

#include <cstdio>

using namespace Qt::StringLiterals;

namespace parley::ui {

namespace {

// The user's language, from the translations built into the binary (see
// resources/translations); Qt's own strings from Qt's catalogues.
void installTranslations(QApplication &app)
{
    auto *parley = new QTranslator(&app);
    if (parley->load(QLocale(), u"parley"_s, u"_"_s, u":/i18n"_s))
        QApplication::installTranslator(parley);
    auto *qt = new QTranslator(&app);
    if (qt->load(
            QLocale(), u"qtbase"_s, u"_"_s, QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
        QApplication::installTranslator(qt);
}

// Brings the client to the front: the dialog the user is in (sign-in, settings) or
// the main window, restored if minimised.
void raiseWindows()
{
    QWidget *target = QApplication::activeModalWidget();
    if (!target) {
        for (QWidget *w : QApplication::topLevelWidgets()) {
            if (w->isWindow() && !w->isHidden() && w->windowType() == Qt::Window) {
                target = w;
                break;
            }
        }
    }
    if (!target)
        return;
    if (target->isMinimized())
        target->showNormal();
    target->raise();
    target->activateWindow();
}

} // namespace

int runDesktop(int argc, char **argv)
{
    // Options first, so --help and mistakes need no display.
    QCoreApplication::setApplicationName(u"parley"_s);
    QCoreApplication::setApplicationVersion(QStringLiteral(PARLEY_VERSION));
    QCommandLineParser parser;
    parser.setApplicationDescription(QApplication::tr("Parley, the desktop chat client."));
    const QCommandLineOption helpOption = parser.addHelpOption();
    const QCommandLineOption versionOption = parser.addVersionOption();
    const QCommandLineOption profileOption(u"profile"_s,
        QApplication::tr("Run as profile NAME: its own settings, message cache and saved "
                         "sign-in, so several accounts can run side by side."),
        u"NAME"_s);
    const QCommandLineOption serverOption(u"server"_s,
        QApplication::tr("Offer this server address when signing in (e.g. 127.0.0.1:8443)."),
        u"URL"_s);
    const QCommandLineOption userOption(
        u"user"_s, QApplication::tr("Offer this user name when signing in."), u"NAME"_s);
    parser.addOption(profileOption);
    parser.addOption(serverOption);
    parser.addOption(userOption);
    // There is no application object yet to name the program in the help.
    const auto helpText
        = [&parser] { return parser.helpText().replace(u"<executable_name>"_s, u"parley"_s); };
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments.append(QString::fromLocal8Bit(argv[i]));
    if (!parser.parse(arguments)) {
        std::fprintf(
            stderr, "parley: %s\n\n%s", qPrintable(parser.errorText()), qPrintable(helpText()));
        return 2;
    }
    if (parser.isSet(helpOption) || parser.isSet(u"help-all"_s)) {
        std::fputs(qPrintable(helpText()), stdout);
        return 0;
    }
    if (parser.isSet(versionOption)) {
        std::printf("parley %s\n", PARLEY_VERSION);
        return 0;
    }
    const QString name = parser.value(profileOption);
    if (!Profile::isValidName(name)) {
        std::fprintf(stderr,
            "parley: invalid profile name '%s': use 1 to 32 letters, digits, '-' or '_'\n",
            qPrintable(name));
        return 2;
    }

    QApplication app(argc, argv);
    QApplication::setApplicationDisplayName(QApplication::tr("Parley"));
    QApplication::setDesktopFileName(u"parley"_s);
    QApplication::setWindowIcon(appIcon());
    installTranslations(app);

    const Profile profile = Profile::named(name);
    if (!QDir().mkpath(profile.dataDir)) {
        std::fprintf(stderr, "parley: cannot create %s\n", qPrintable(profile.dataDir));
        return 1;
    }
    // One process per profile: two would share one message cache.
    QLockFile lock(profile.dataDir + u"/parley.lock"_s);
    lock.setStaleLockTime(0);
    if (!lock.tryLock(0)) {
        // A second launch: bring the running client's window to the front instead.
        if (SingleInstance::activateRunning(profile.dataDir)) {
            std::printf("parley: already running%s; brought its window to the front\n",
                name.isEmpty() ? "" : qPrintable(u" with profile "_s + name));
            return 0;
        }
        QMessageBox::information(nullptr, QApplication::tr("Parley"),
            name.isEmpty()
                ? QApplication::tr("Parley is already running.")
                : QApplication::tr("Parley is already running with the profile “%1”.").arg(name));
        return 1;
    }

    SingleInstance instance(profile.dataDir);
    QString listenError;
    if (!instance.listen(&listenError))
        qCWarning(lcUi) << "a second launch will not find this one:" << listenError;
    QObject::connect(&instance, &SingleInstance::activationRequested, &app, &raiseWindows);

    client::KeychainCredentialStore keychain(profile.keychainService);
    AccountSession session(profile, &keychain);
    QObject::connect(
        &session, &AccountSession::finished, &app, &QApplication::quit, Qt::QueuedConnection);
    session.start(parser.value(serverOption), parser.value(userOption));
    return app.exec();
}

} // namespace parley::ui
