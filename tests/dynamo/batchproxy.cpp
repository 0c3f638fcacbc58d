#include "batchproxy.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QTcpServer>
#include <QTcpSocket>

#include <atomic>

using namespace Qt::StringLiterals;

namespace parley::test {

namespace {

constexpr int kUpstreamWaitMs = 30000;

// DynamoDB sends the CRC32 of every body in x-amz-crc32; clients may check it.
quint32 crc32(const QByteArray &data)
{
    quint32 crc = 0xffffffffu;
    for (const char c : data) {
        crc ^= quint8(c);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

struct Message
{
    QByteArray head; // up to and without the blank line
    QByteArray body;
    qsizetype size = 0; // 0 while incomplete
};

// The first complete HTTP/1.1 message with a Content-Length body in `buffer`.
Message firstMessage(const QByteArray &buffer)
{
    Message message;
    const qsizetype headEnd = buffer.indexOf("\r\n\r\n");
    if (headEnd < 0)
        return message;
    message.head = buffer.left(headEnd);
    qint64 length = 0;
    for (const QByteArray &line : message.head.split('\n')) {
        if (line.toLower().startsWith("content-length:"))
            length = line.mid(15).trimmed().toLongLong();
    }
    if (buffer.size() < headEnd + 4 + length)
        return message;
    message.body = buffer.mid(headEnd + 4, length);
    message.size = headEnd + 4 + qsizetype(length);
    return message;
}

QByteArray header(const QByteArray &head, const QByteArray &name)
{
    for (const QByteArray &line : head.split('\n')) {
        const qsizetype colon = line.indexOf(':');
        if (colon > 0 && line.left(colon).trimmed().toLower() == name)
            return line.mid(colon + 1).trimmed();
    }
    return {};
}

QByteArray withBody(const QByteArray &head, const QByteArray &body)
{
    QByteArray rebuilt;
    for (const QByteArray &line : head.split('\n')) {
        const QByteArray name = line.left(line.indexOf(':')).trimmed().toLower();
        if (name != "content-length" && name != "x-amz-crc32")
            rebuilt += line.trimmed() + "\r\n";
    }
    return rebuilt + "x-amz-crc32: " + QByteArray::number(crc32(body))
        + "\r\nContent-Length: " + QByteArray::number(body.size()) + "\r\n\r\n" + body;
}

QByteArray compact(const QJsonValue &value)
{
    return QJsonDocument(QJsonArray {value}).toJson(QJsonDocument::Compact);
}

} // namespace

class BatchProxyServer : public QObject
{
public:
    BatchProxyServer(quint16 targetPort, int keyTimes, int itemTimes)
        : m_targetPort(targetPort)
        , m_keyTimes(keyTimes)
        , m_itemTimes(itemTimes)
    { }
    // The sockets are children; the links still open at the end are not (LeakSanitizer).
    ~BatchProxyServer() override { qDeleteAll(m_links); }

    quint16 listen()
    {
        m_listener = new QTcpServer(this);
        connect(m_listener, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket *client = m_listener->nextPendingConnection()) {
                auto *link = new Link {client, new QTcpSocket(client), {}};
                m_links.append(link);
                connect(client, &QTcpSocket::readyRead, this, [this, link] { serve(link); });
                connect(client, &QTcpSocket::disconnected, this, [this, link] {
                    m_links.removeOne(link);
                    link->client->deleteLater();
                    delete link;
                });
            }
        });
        return m_listener->listen(QHostAddress::LocalHost, 0) ? m_listener->serverPort() : 0;
    }

    void setHold(bool hold)
    {
        m_hold = hold;
        if (hold)
            return;
        const QList<Link *> links = m_links;
        for (Link *link : links)
            serve(link); // what arrived meanwhile
    }

    int held() const
    {
        int count = 0;
        for (const Link *link : m_links) {
            for (QByteArray rest = link->received;; ++count) {
                const qsizetype size = firstMessage(rest).size;
                if (size == 0)
                    break;
                rest.remove(0, size);
            }
        }
        return count;
    }

    std::atomic<int> withheldKeys {0};
    std::atomic<int> withheldItems {0};

private:
    struct Link
    {
        QTcpSocket *client;
        QTcpSocket *upstream; // a child of client
        QByteArray received;
    };

    // One request at a time per connection, answered before the next is read, so the
    // answers keep request order. Blocking on dynalite is fine on this thread of its own.
    void serve(Link *link)
    {
        link->received += link->client->readAll();
        while (!m_hold) {
            const Message request = firstMessage(link->received);
            if (request.size == 0)
                break;
            link->received.remove(0, request.size);
            link->client->write(answer(link, request));
        }
    }

    QByteArray answer(Link *link, const Message &request)
    {
        const QByteArray target = header(request.head, "x-amz-target");
        const bool get = target.endsWith(".BatchGetItem");
        if (!get && !target.endsWith(".BatchWriteItem"))
            return forward(link, request.head, request.body);

        // Split every table's keys (or put requests) into forwarded and withheld.
        const QJsonObject requestItems
            = QJsonDocument::fromJson(request.body).object().value(u"RequestItems"_s).toObject();
        QJsonObject forwarded, withheld;
        for (auto table = requestItems.begin(); table != requestItems.end(); ++table) {
            const QJsonArray entries
                = get ? table->toObject().value(u"Keys"_s).toArray() : table->toArray();
            QJsonArray pass, keep;
            for (const QJsonValue &entry : entries) {
                int &seen = m_seen[compact(entry)];
                const int times = get ? m_keyTimes : m_itemTimes;
                if (times < 0 || seen < times) {
                    ++seen;
                    keep.append(entry);
                    ++(get ? withheldKeys : withheldItems);
                } else {
                    pass.append(entry);
                }
            }
            const auto shaped = [&](const QJsonArray &list) -> QJsonValue {
                if (!get)
                    return list;
                QJsonObject keys = table->toObject();
                keys.insert(u"Keys"_s, list);
                return keys;
            };
            if (!pass.isEmpty())
                forwarded.insert(table.key(), shaped(pass));
            if (!keep.isEmpty())
                withheld.insert(table.key(), shaped(keep));
        }
        if (withheld.isEmpty())
            return forward(link, request.head, request.body);

        QJsonObject result {{u"Responses"_s, QJsonObject {}}};
        if (!forwarded.isEmpty()) {
            const QByteArray body = QJsonDocument(
                QJsonObject {{u"RequestItems"_s,
                    forwarded}}).toJson(QJsonDocument::Compact);
            const QByteArray response = forward(link, request.head, body);
            if (!response.startsWith("HTTP/1.1 200"))
                return response;
            result = QJsonDocument::fromJson(firstMessage(response).body).object();
        }
        if (!get)
            result.remove(u"Responses"_s);
        result.insert(get ? u"UnprocessedKeys"_s : u"UnprocessedItems"_s, withheld);
        return withBody("HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0",
            QJsonDocument(result).toJson(QJsonDocument::Compact));
    }

    // dynalite closes idle keep-alive connections: one fresh attempt on a closed one.
    QByteArray forward(Link *link, const QByteArray &head, const QByteArray &body)
    {
        for (int attempt = 0; attempt < 2; ++attempt) {
            QTcpSocket *upstream = link->upstream;
            if (upstream->state() != QAbstractSocket::ConnectedState) {
                upstream->abort();
                upstream->connectToHost(QHostAddress::LocalHost, m_targetPort);
                if (!upstream->waitForConnected(kUpstreamWaitMs))
                    break;
            }
            upstream->write(withBody(head, body));
            QByteArray received;
            while (upstream->waitForReadyRead(kUpstreamWaitMs)) {
                received += upstream->readAll();
                const Message response = firstMessage(received);
                if (response.size > 0)
                    return received.left(response.size);
            }
        }
        return withBody("HTTP/1.1 502 Bad Gateway", "dynalite did not answer");
    }

    quint16 m_targetPort;
    int m_keyTimes;
    int m_itemTimes;
    bool m_hold = false;
    QTcpServer *m_listener = nullptr;
    QList<Link *> m_links;
    QHash<QByteArray, int> m_seen; // key or put request -> times withheld
};

BatchProxy::BatchProxy(quint16 targetPort, int keyTimes, int itemTimes, QObject *parent)
    : QObject(parent)
    , m_server(new BatchProxyServer(targetPort, keyTimes, itemTimes))
{
    m_thread.setObjectName(u"batch-proxy"_s);
    m_server->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_server, &QObject::deleteLater);
    m_thread.start();
}

BatchProxy::~BatchProxy()
{
    m_thread.quit();
    m_thread.wait();
}

bool BatchProxy::listen()
{
    QMetaObject::invokeMethod(
        m_server, [this] { m_port = m_server->listen(); }, Qt::BlockingQueuedConnection);
    return m_port != 0;
}

QUrl BatchProxy::endpoint() const
{
    return QUrl(u"http://127.0.0.1:%1"_s.arg(m_port));
}

void BatchProxy::setHold(bool hold)
{
    QMetaObject::invokeMethod(
        m_server, [this, hold] { m_server->setHold(hold); }, Qt::BlockingQueuedConnection);
}

int BatchProxy::withheldKeys() const
{
    return m_server->withheldKeys;
}

int BatchProxy::withheldItems() const
{
    return m_server->withheldItems;
}

int BatchProxy::heldRequests() const
{
    int held = 0;
    QMetaObject::invokeMethod(
        m_server, [this, &held] { held = m_server->held(); }, Qt::BlockingQueuedConnection);
    return held;
}

} // namespace parley::test
