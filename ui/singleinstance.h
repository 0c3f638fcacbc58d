// One running client per profile: the first process listens on a local socket named
// after its profile; a second launch of the same profile finds it, asks it to bring
// its window to the front, and exits. (The profile's lock file is what makes a process
// the first one; this is only how the second one reaches it.)
#pragma once

#include <QObject>
#include <QString>

class QLocalServer;

namespace parley::ui {

class SingleInstance : public QObject
{
    Q_OBJECT
public:
    // key: anything that names the profile uniquely on this machine (its data dir).
    explicit SingleInstance(const QString &key, QObject *parent = nullptr);
    ~SingleInstance() override;

    // Starts listening (replacing a socket left by a crashed process: call it only while
    // holding the profile's lock). False, with error set, when the socket cannot be made;
    // the client then runs without being reachable by a second launch.
    bool listen(QString *error);

    // From a second launch: asks the running instance of key to come to the front.
    // Blocks for at most timeoutMs (there is no window yet). False when none answers.
    static bool activateRunning(const QString &key, int timeoutMs = 2000);

    // The socket name used for key (the same in every process of this user).
    static QString serverName(const QString &key);

Q_SIGNALS:
    // A second launch of this profile asked for the window.
    void activationRequested();

private:
    void onNewConnection();

    QString m_name;
    QLocalServer *m_server = nullptr;
};

} // namespace parley::ui
