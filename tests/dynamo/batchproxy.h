// An HTTP/1.1 proxy in front of dynalite for what dynalite never does on its own:
//  - answering part of a batch the way DynamoDB does when a partition is throttled: keys
//    of a BatchGetItem and items of a BatchWriteItem come back in UnprocessedKeys /
//    UnprocessedItems without having been read or written;
//  - holding every request unanswered while `hold` is on, like a backend that stopped
//    answering, until it is turned off again.
// Everything else is forwarded untouched. Content-Length bodies only (what DynamoDB
// clients send). It serves on a thread of its own, since the store tests block theirs.
#pragma once

#include <QObject>
#include <QThread>
#include <QUrl>

namespace parley::test {

class BatchProxyServer;

class BatchProxy : public QObject
{
public:
    // Each distinct key (BatchGetItem) or put request (BatchWriteItem) is left
    // unprocessed the first `keyTimes` / `itemTimes` times it is seen; -1: every time.
    BatchProxy(quint16 targetPort, int keyTimes, int itemTimes, QObject *parent = nullptr);
    ~BatchProxy() override;

    bool listen(); // on 127.0.0.1, a free port
    QUrl endpoint() const; // http://127.0.0.1:PORT
    void setHold(bool hold);

    int withheldKeys() const;
    int withheldItems() const;
    int heldRequests() const; // received while holding, not answered yet

private:
    QThread m_thread;
    BatchProxyServer *m_server; // lives on m_thread, deleted when it finishes
    quint16 m_port = 0;
};

} // namespace parley::test
