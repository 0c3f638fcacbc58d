#include "faultproxy.h"

#include <QCryptographicHash>
#include <QHash>
#include <QList>
#include <QRandomGenerator>
#include <QTcpServer>
#include <QTcpSocket>

#include <atomic>
#include <deque>

using namespace Qt::StringLiterals;

namespace parley::test {

namespace {

// Larger heads are not DynamoDB traffic; the proxy gives up on them.
constexpr qsizetype MaxHeadBytes = 64 * 1024;

struct Message
{
    qsizetype size = 0; // head + body; 0 while incomplete
    qsizetype bodyOffset = 0;
    bool close = false; // "Connection: close"
    bool unsupported = false; // chunked, malformed or oversized head
};

// The first complete HTTP/1.1 message (request or response) in `buffer`. Only
// Content-Length bodies: that is what DynamoDB clients send and dynalite answers.
Message firstMessage(const QByteArray &buffer)
{
    Message message;
    const qsizetype headEnd = buffer.indexOf("\r\n\r\n");
    if (headEnd < 0) {
        message.unsupported = buffer.size() > MaxHeadBytes;
        return message;
    }
    qint64 length = 0;
    const QList<QByteArray> lines = buffer.left(headEnd).split('\n');
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray &line = lines.at(i);
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0) {
            message.unsupported = true;
            return message;
        }
        const QByteArray name = line.left(colon).trimmed().toLower();
        const QByteArray value = line.mid(colon + 1).trimmed().toLower();
        if (name == "content-length") {
            bool ok = false;
            length = value.toLongLong(&ok);
            message.unsupported = !ok || length < 0;
        } else if (name == "transfer-encoding") {
            message.unsupported = true;
        } else if (name == "connection") {
            message.close = value == "close";
        }
        if (message.unsupported)
            return message;
    }
    message.bodyOffset = headEnd + 4;
    if (buffer.size() >= message.bodyOffset + length)
        message.size = message.bodyOffset + qsizetype(length);
    return message;
}

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

QByteArray errorResponse(int status, const QByteArray &type, const QByteArray &message)
{
    static std::atomic<int> requestIds {0};
    const QByteArray body = "{\"__type\":\"" + type + "\",\"message\":\"" + message + "\"}";
    const QByteArray reason = status == 400 ? "Bad Request" : "Internal Server Error";
    return "HTTP/1.1 " + QByteArray::number(status) + ' ' + reason
        + "\r\nx-amzn-RequestId: parley-fault-" + QByteArray::number(++requestIds)
        + "\r\nx-amz-crc32: " + QByteArray::number(crc32(body))
        + "\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: "
        + QByteArray::number(body.size()) + "\r\n\r\n" + body;
}

QByteArray internalServerError()
{
    return errorResponse(500, "com.amazonaws.dynamodb.v20120810#InternalServerError",
        "Internal server error (injected by the test fault proxy)");
}

} // namespace

class FaultProxyServer : public QObject
{
public:
    FaultProxyServer(quint16 targetPort, const FaultPlan &plan)
        : m_targetPort(targetPort)
        , m_plan(plan)
        , m_random(plan.seed)
    { }

    quint16 listen()
    {
        m_listener = new QTcpServer(this);
        connect(m_listener, &QTcpServer::newConnection, this, &FaultProxyServer::accept);
        return m_listener->listen(QHostAddress::LocalHost, 0) ? m_listener->serverPort() : 0;
    }

    void closeAll()
    {
        while (!m_links.isEmpty())
            drop(m_links.first());
        if (m_listener)
            m_listener->close();
    }

    std::atomic<int> forwarded {0};
    std::atomic<int> throttled {0};
    std::atomic<int> failedBefore {0};
    std::atomic<int> failedAfter {0};

private:
    enum class Fate { Forward, Throttle, FailBefore, FailAfter };
    struct Exchange
    {
        QByteArray request;
        Fate fate;
        bool closeAfter;
        bool sent = false;
        QByteArray response; // empty until known
    };
    // One client connection, its own upstream connection, and its requests in order.
    struct Link
    {
        QTcpSocket *client = nullptr;
        QTcpSocket *upstream = nullptr; // made on demand; dynalite closes idle ones
        QByteArray fromClient;
        QByteArray fromUpstream;
        std::deque<Exchange> exchanges;
    };

    void accept()
    {
        while (QTcpSocket *client = m_listener->nextPendingConnection()) {
            auto *link = new Link;
            link->client = client;
            m_links.append(link);
            connect(client, &QTcpSocket::readyRead, this, [this, link] { readRequests(link); });
            connect(client, &QTcpSocket::disconnected, this, [this, link] { drop(link); });
        }
    }

    void readRequests(Link *link)
    {
        link->fromClient += link->client->readAll();
        for (;;) {
            const Message message = firstMessage(link->fromClient);
            if (message.unsupported) {
                link->client->write("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n"
                                    "Connection: close\r\n\r\n");
                link->client->disconnectFromHost();
                return;
            }
            if (message.size == 0)
                break;
            QByteArray request = link->fromClient.left(message.size);
            link->fromClient.remove(0, message.size);
            const Fate fate = decide(request.mid(message.bodyOffset));
            link->exchanges.push_back({std::move(request), fate, message.close});
        }
        pump(link);
    }

    // The same body retried gets a fresh roll each time, but never more than
    // maxFaultsInARow faults in a row.
    Fate decide(const QByteArray &body)
    {
        const QByteArray key = QCryptographicHash::hash(body, QCryptographicHash::Sha1);
        const int roll = int(m_random.bounded(100));
        Fate fate = Fate::Forward;
        if (m_faultsInARow.value(key) < m_plan.maxFaultsInARow) {
            if (roll < m_plan.throttledPercent)
                fate = Fate::Throttle;
            else if (roll < m_plan.throttledPercent + m_plan.failedBeforePercent)
                fate = Fate::FailBefore;
            else if (roll
                < m_plan.throttledPercent + m_plan.failedBeforePercent + m_plan.failedAfterPercent)
                fate = Fate::FailAfter;
        }
        if (fate == Fate::Forward)
            m_faultsInARow.remove(key);
        else
            ++m_faultsInARow[key];
        return fate;
    }

    // Answers the exchanges at the front that have an answer; forwards the first one that
    // needs the target. One request at a time upstream keeps the answers in order.
    void pump(Link *link)
    {
        while (!link->exchanges.empty()) {
            Exchange &front = link->exchanges.front();
            if (front.response.isEmpty()) {
                if (front.fate == Fate::Throttle) {
                    ++throttled;
                    // Both names DynamoDB uses, with both namespaces it sends.
                    front.response = m_random.bounded(2) == 0
                        ? errorResponse(400,
                            "com.amazonaws.dynamodb.v20120810#"
                            "ProvisionedThroughputExceededException",
                            "The level of configured provisioned throughput for the table was "
                            "exceeded (injected by the test fault proxy)")
                        : errorResponse(400, "com.amazon.coral.availability#ThrottlingException",
                            "Rate of requests exceeds the allowed throughput (injected by the "
                            "test fault proxy)");
                } else if (front.fate == Fate::FailBefore) {
                    ++failedBefore;
                    front.response = internalServerError();
                } else {
                    if (!front.sent)
                        forward(link, front);
                    return;
                }
            }
            link->client->write(front.response);
            const bool close = front.closeAfter;
            link->exchanges.pop_front();
            if (close) {
                link->client->disconnectFromHost();
                return;
            }
        }
    }

    void forward(Link *link, Exchange &exchange)
    {
        exchange.sent = true;
        if (!link->upstream) {
            link->upstream = new QTcpSocket(this);
            QTcpSocket *upstream = link->upstream;
            connect(upstream, &QTcpSocket::connected, this,
                [link, upstream] { upstream->write(link->exchanges.front().request); });
            connect(upstream, &QTcpSocket::readyRead, this, [this, link] { readResponse(link); });
            connect(upstream, &QTcpSocket::disconnected, this,
                [this, link, upstream] { upstreamClosed(link, upstream); });
            connect(upstream, &QTcpSocket::errorOccurred, this,
                [this, link, upstream] { upstreamClosed(link, upstream); });
            upstream->connectToHost(QHostAddress::LocalHost, m_targetPort);
            return;
        }
        link->upstream->write(exchange.request);
    }

    void readResponse(Link *link)
    {
        link->fromUpstream += link->upstream->readAll();
        const Message message = firstMessage(link->fromUpstream);
        if (message.unsupported || (message.size > 0 && link->exchanges.empty())) {
            drop(link);
            return;
        }
        if (message.size == 0)
            return;
        Exchange &front = link->exchanges.front();
        if (front.fate == Fate::FailAfter) {
            ++failedAfter;
            front.response = internalServerError();
        } else {
            ++forwarded;
            front.response = link->fromUpstream.left(message.size);
        }
        link->fromUpstream.remove(0, message.size);
        pump(link);
    }

    // dynalite closes keep-alive connections after a few idle seconds: the next request
    // opens a new one. Closed with a request outstanding, the client sees its link break.
    void upstreamClosed(Link *link, QTcpSocket *upstream)
    {
        if (!m_links.contains(link) || link->upstream != upstream)
            return;
        const bool waiting = !link->exchanges.empty() && link->exchanges.front().sent
            && link->exchanges.front().response.isEmpty();
        if (waiting) {
            drop(link);
            return;
        }
        upstream->disconnect(this);
        upstream->deleteLater();
        link->upstream = nullptr;
        link->fromUpstream.clear();
    }

    void drop(Link *link)
    {
        if (!m_links.removeOne(link))
            return;
        for (QTcpSocket *socket : {link->client, link->upstream}) {
            if (socket) {
                socket->disconnect(this);
                socket->abort();
                socket->deleteLater();
            }
        }
        delete link;
    }

    quint16 m_targetPort;
    FaultPlan m_plan;
    QRandomGenerator m_random;
    QTcpServer *m_listener = nullptr;
    QList<Link *> m_links;
    QHash<QByteArray, int> m_faultsInARow; // body hash -> faults since it last got through
};

std::optional<FaultPlan> FaultPlan::parse(const QString &spec, QString *error)
{
    FaultPlan plan;
    const QStringList items = spec.split(u',', Qt::SkipEmptyParts);
    for (const QString &item : items) {
        const QStringList keyValue = item.trimmed().split(u'=');
        bool ok = keyValue.size() == 2;
        const uint value = ok ? keyValue.at(1).toUInt(&ok) : 0;
        const QString key = keyValue.value(0);
        if (ok && key == u"throttled"_s)
            plan.throttledPercent = int(value);
        else if (ok && key == u"before"_s)
            plan.failedBeforePercent = int(value);
        else if (ok && key == u"after"_s)
            plan.failedAfterPercent = int(value);
        else if (ok && key == u"seed"_s)
            plan.seed = value;
        else if (ok && key == u"inarow"_s)
            plan.maxFaultsInARow = int(value);
        else
            ok = false;
        if (!ok) {
            *error = u"bad fault plan item \"%1\" (expected throttled=, before=, after=, seed=, "
                     u"inarow= with whole numbers)"_s.arg(item);
            return std::nullopt;
        }
    }
    if (plan.throttledPercent + plan.failedBeforePercent + plan.failedAfterPercent > 100) {
        *error = u"fault plan \"%1\": the percentages add up to more than 100"_s.arg(spec);
        return std::nullopt;
    }
    return plan;
}

FaultProxy::FaultProxy(quint16 targetPort, const FaultPlan &plan, QObject *parent)
    : QObject(parent)
    , m_server(new FaultProxyServer(targetPort, plan))
{
    m_thread.setObjectName(u"fault-proxy"_s);
    m_server->moveToThread(&m_thread);
    m_thread.start();
}

FaultProxy::~FaultProxy()
{
    // The server comes back to this thread and is deleted here: a deleteLater() on the
    // thread's finished() left it (and its sockets) leaked, as LeakSanitizer reported.
    QThread *const here = QThread::currentThread();
    QMetaObject::invokeMethod(
        m_server,
        [server = m_server, here] {
            server->closeAll();
            server->moveToThread(here);
        },
        Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    delete m_server;
}

bool FaultProxy::listen()
{
    QMetaObject::invokeMethod(
        m_server, [this] { m_port = m_server->listen(); }, Qt::BlockingQueuedConnection);
    return m_port != 0;
}

QUrl FaultProxy::endpoint() const
{
    return QUrl(u"http://127.0.0.1:%1"_s.arg(m_port));
}

FaultCounts FaultProxy::counts() const
{
    return {
        m_server->forwarded, m_server->throttled, m_server->failedBefore, m_server->failedAfter};
}

} // namespace parley::test
