#include "walcheckpointer.h"

#include "logging.h"

#include <QDeadlineTimer>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QThread>

#include <atomic>

using namespace Qt::StringLiterals;

namespace parley::server {

WalCheckpointer::WalCheckpointer(QString databasePath, int intervalMs)
    : m_path(std::move(databasePath))
    , m_intervalMs(intervalMs)
{ }

WalCheckpointer::~WalCheckpointer()
{
    stop();
}

void WalCheckpointer::start()
{
    if (m_thread)
        return;
    {
        QMutexLocker lock(&m_mutex);
        m_stopping = false;
    }
    m_thread.reset(QThread::create([this] { run(); }));
    m_thread->setObjectName(u"parley-checkpoint"_s);
    m_thread->start(QThread::LowPriority);
}

void WalCheckpointer::stop()
{
    if (!m_thread)
        return;
    {
        QMutexLocker lock(&m_mutex);
        m_stopping = true;
        m_wake.wakeOne();
    }
    m_thread->wait();
    m_thread.reset();
}

void WalCheckpointer::run()
{
    // QSqlDatabase connections are process-wide by name and belong to the thread that
    // made them.
    static std::atomic<int> count {0};
    const QString name = u"parley-checkpoint-"_s + QString::number(++count);
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, name);
        db.setDatabaseName(m_path);
        if (!db.open()) {
            qCWarning(lcServerStore).noquote()
                << "no background checkpoints (commits will run them):" << db.lastError().text();
        } else {
            QSqlQuery checkpoint(db);
            bool warned = false;
            for (;;) {
                {
                    QMutexLocker lock(&m_mutex);
                    if (!m_stopping)
                        m_wake.wait(&m_mutex, QDeadlineTimer(m_intervalMs));
                    if (m_stopping)
                        break;
                }
                // PASSIVE: copies what no reader still needs and never waits for a lock.
                if (!checkpoint.exec(u"PRAGMA wal_checkpoint(PASSIVE)"_s) && !warned) {
                    warned = true; // once: a full disk would say this every interval
                    qCWarning(lcServerStore).noquote()
                        << "background checkpoint failed:" << checkpoint.lastError().text();
                }
                checkpoint.finish();
            }
        }
    }
    QSqlDatabase::removeDatabase(name);
}

} // namespace parley::server
