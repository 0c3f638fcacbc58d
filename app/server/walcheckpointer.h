// Copies SQLite's write-ahead log back into the database file from a thread and a
// connection of its own. SQLite's automatic checkpoint runs inside the commit that crosses
// its threshold, on the store thread: it copies the log's pages (megabytes, with the
// search index) and fsyncs the database file, and every send queued behind that commit
// waits. Here a PASSIVE checkpoint every interval does that work beside the store thread:
// it never blocks a writer or a reader, and the store thread keeps a far higher automatic
// threshold only as a backstop (sqlitestore.cpp).
#pragma once

#include <QMutex>
#include <QString>
#include <QWaitCondition>

#include <memory>

class QThread;

namespace parley::server {

class WalCheckpointer
{
public:
    WalCheckpointer(QString databasePath, int intervalMs);
    ~WalCheckpointer(); // stop()
    Q_DISABLE_COPY_MOVE(WalCheckpointer)

    void start();
    // Returns once the thread has closed its connection.
    void stop();

private:
    void run();

    const QString m_path;
    const int m_intervalMs;
    std::unique_ptr<QThread> m_thread;
    QMutex m_mutex;
    QWaitCondition m_wake;
    bool m_stopping = false;
};

} // namespace parley::server
