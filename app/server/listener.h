// Accepts TCP connections on the main thread and deals the descriptors out to
// the workers round-robin; TLS and HTTP happen on the worker's thread.
#pragma once

#include <QList>
#include <QTcpServer>

namespace parley::server {

class Worker;

class Listener : public QTcpServer
{
    Q_OBJECT

public:
    explicit Listener(QList<Worker *> workers, QObject *parent = nullptr);

protected:
    void incomingConnection(qintptr descriptor) override;

private:
    QList<Worker *> m_workers;
    qsizetype m_next = 0;
};

} // namespace parley::server
