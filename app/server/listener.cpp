#include "listener.h"

#include "worker.h"

namespace parley::server {

Listener::Listener(QList<Worker *> workers, QObject *parent)
    : QTcpServer(parent)
    , m_workers(std::move(workers))
{ }

void Listener::incomingConnection(qintptr descriptor)
{
    Worker *worker = m_workers.at(m_next);
    m_next = (m_next + 1) % m_workers.size();
    worker->adoptLater(descriptor);
}

} // namespace parley::server
