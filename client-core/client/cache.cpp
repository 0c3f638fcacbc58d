// Cache: the thread-facing half. Every public call hands its work to the CacheWorker on
// the cache thread and returns; the SQL is in cacheworker.cpp.
//
// Writes go into the worker's queue (any thread) and commit in one transaction per
// burst. Reads are posted to the worker, which first commits every write queued so far,
// so a read sees every write issued before it; the answer travels back to the
// context's thread through a CacheReply (see cacheworker.h).
#include "cache.h"

#include "cacheworker.h"

#include <QThread>

#include <atomic>

using namespace Qt::StringLiterals;

namespace parley::client {

namespace {

std::atomic<quint64> s_lastConnectionId = 0; // QSqlDatabase connection names are global

// Runs `work` on the cache thread after every write queued so far is committed, then
// `deliver` on context's thread; never if the context was destroyed meanwhile.
void request(CacheWorker *worker, QObject *context, std::function<void()> work,
    std::function<void()> deliver)
{
    auto *reply = new CacheReply;
    if (context && deliver) {
        QObject::connect(
            reply, &CacheReply::ready, context, std::move(deliver), Qt::QueuedConnection);
    }
    reply->moveToThread(worker->thread());
    QMetaObject::invokeMethod(
        worker,
        [worker, reply, work = std::move(work)] {
            worker->commitPending();
            work();
            Q_EMIT reply->ready();
            delete reply; // the queued call to the context is already posted
        },
        Qt::QueuedConnection);
}

template<typename Result>
void request(CacheWorker *worker, QObject *context, std::function<Result()> query,
    std::function<void(Result)> done)
{
    auto result = std::make_shared<Result>();
    request(
        worker, context, [result, query = std::move(query)] { *result = query(); },
        done ? std::function<void()>([result, done = std::move(done)] { done(std::move(*result)); })
             : std::function<void()>());
}

} // namespace

// Every Cache of the process shares a few threads: the desktop has one account open,
// the swarm thousands of in-memory caches, and a thread each would not scale.
class CacheThreads
{
public:
    CacheThreads()
    {
        const int count = std::clamp(QThread::idealThreadCount(), 1, 4);
        for (int i = 0; i < count; ++i) {
            auto *thread = new QThread;
            thread->setObjectName(u"parley-cache-"_s + QString::number(i));
            thread->start();
            m_threads.append(thread);
        }
    }
    ~CacheThreads()
    {
        for (QThread *thread : std::as_const(m_threads)) {
            thread->quit();
            thread->wait();
            delete thread;
        }
    }
    QThread *next() { return m_threads.at(int(m_next++ % quint64(m_threads.size()))); }

private:
    QList<QThread *> m_threads;
    std::atomic<quint64> m_next = 0;
};
Q_GLOBAL_STATIC(CacheThreads, s_threads)

Cache::Cache(QObject *parent)
    : QObject(parent)
    , m_thread(s_threads->next())
    , m_worker(new CacheWorker(u"parley-cache-"_s + QString::number(++s_lastConnectionId)))
{
    m_worker->moveToThread(m_thread);
}

Cache::~Cache()
{
    // Queued behind everything already posted, so pending writes commit first; the
    // worker is deleted on its own thread, after which nothing can reach it.
    QMetaObject::invokeMethod(
        m_worker,
        [worker = m_worker] {
            worker->close();
            delete worker;
        },
        Qt::BlockingQueuedConnection);
}

void Cache::open(const QString &path, QObject *context, std::function<void(QString error)> done)
{
    request<QString>(
        m_worker, context, [worker = m_worker, path] { return worker->open(path); },
        std::move(done));
}

bool Cache::isOpen() const
{
    return m_worker->isOpen();
}

void Cache::saveMessages(const QList<ChatMessage> &messages)
{
    if (messages.isEmpty())
        return;
    m_worker->enqueue([messages](CacheWorker &db) { return db.writeMessages(messages); });
}

void Cache::saveOutgoing(const ChatMessage &message)
{
    // A message typed offline exists only here until it is acked: its batch commits
    // with synchronous=FULL so it survives a crash or power loss once committed.
    m_worker->enqueue([message](CacheWorker &db) { return db.writeOutgoing(message); },
        CacheWorker::Durability::Synced);
}

void Cache::removeOutgoing(const QString &cid)
{
    // Not synced: if lost, the message is resent with its cid and the server dedupes it.
    m_worker->enqueue([cid](CacheWorker &db) { return db.deleteOutgoing(cid); });
}

void Cache::updateConversation(const ConversationUpdate &update)
{
    m_worker->enqueue([update](CacheWorker &db) { return db.writeConversation(update); });
}

void Cache::applyPeerReceipt(
    const QString &conv, protocol::ReceiptKind kind, qint64 upTo, qint64 atMs)
{
    m_worker->enqueue([conv, kind, upTo, atMs](
                          CacheWorker &db) { return db.writePeerReceipt(conv, kind, upTo, atMs); });
}

void Cache::markRead(const QString &conv, qint64 upTo, qint64 atMs)
{
    m_worker->enqueue(
        [conv, upTo, atMs](CacheWorker &db) { return db.writeRead(conv, upTo, atMs); });
}

void Cache::loadConversations(
    QObject *context, std::function<void(QList<ConversationInfo>)> done) const
{
    request<QList<ConversationInfo>>(
        m_worker, context, [worker = m_worker] { return worker->readConversations(); },
        std::move(done));
}

void Cache::loadMessages(const QString &conv, qint64 beforeSeq, int limit, QObject *context,
    std::function<void(QList<ChatMessage>)> done) const
{
    request<QList<ChatMessage>>(
        m_worker, context,
        [worker = m_worker, conv, beforeSeq, limit] {
            return worker->readMessages(conv, beforeSeq, limit);
        },
        std::move(done));
}

void Cache::loadRange(const QString &conv, qint64 fromSeq, qint64 toSeq, QObject *context,
    std::function<void(QList<ChatMessage>)> done) const
{
    request<QList<ChatMessage>>(
        m_worker, context,
        [worker = m_worker, conv, fromSeq, toSeq] {
            return worker->readRange(conv, fromSeq, toSeq);
        },
        std::move(done));
}

void Cache::search(const QStringList &words, const QString &conv, const QString &from, int limit,
    QObject *context, std::function<void(QList<SearchHit>)> done) const
{
    request<QList<SearchHit>>(
        m_worker, context,
        [worker = m_worker, words, conv, from, limit] {
            return worker->readSearch(words, conv, from, limit);
        },
        std::move(done));
}

void Cache::loadOutbox(QObject *context, std::function<void(QList<ChatMessage>)> done) const
{
    request<QList<ChatMessage>>(
        m_worker, context, [worker = m_worker] { return worker->readOutbox(); }, std::move(done));
}

void Cache::flush(QObject *context, std::function<void()> done) const
{
    request(
        m_worker, context, [] {}, std::move(done));
}

qint64 Cache::writesCommitted() const
{
    return m_worker->writesCommitted();
}

} // namespace parley::client
