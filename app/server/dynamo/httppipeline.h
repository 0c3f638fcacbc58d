// A lean HTTP/1.1 client for one origin (http or https), built for many small POSTs:
// a few keep-alive connections, requests pipelined on each (written back to back,
// answers matched in order), a bounded number in flight per connection and in total, the
// rest waiting in this object's queue rather than in socket buffers. A request's timeout
// runs from the moment it is written, so a burst waiting in the queue does not expire.
//
// A connection that fails, closes, times out or sends garbage fails exactly the requests
// written on it that got no answer, as network errors; the next request opens a new
// connection. Nothing is retried here: the caller decides (DynamoClient retries).
//
// Hand-written rather than QNetworkAccessManager: QNAM spent about 15 times the CPU per
// request (0.7-0.85 ms against 0.05 ms, bench_dynamoclient), keeps at most six
// connections per host without pipelining, and runs a request's transfer timeout while
// it still waits for a connection (docs/dynamodb.md, section 7).
#pragma once

#include "httpresponseparser.h"

#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QSslConfiguration>
#include <QUrl>

#include <deque>
#include <functional>
#include <memory>
#include <vector>

namespace parley::server::aws {

struct HttpLimits
{
    int connections = 8; // never more open (or opening) at once
    int perConnection = 8; // requests written and not yet answered, per connection
    int inFlight = 64; // the same, over all connections
    int timeoutMs = 10000; // per request from when it is written; also to connect
    int idleMs = 4000; // idle connections close before servers close them (node: 5 s)
};

struct HttpResult
{
    HttpResponse response; // status 0: no answer
    QString error; // why there is no answer
    bool timedOut = false; // no answer within timeoutMs of being written
    bool ok() const { return response.status != 0; }
};

class HttpPipeline : public QObject
{
    Q_OBJECT
public:
    using Done = std::function<void(HttpResult result)>;

    // origin: scheme, host and port; the path of each request is given to post().
    explicit HttpPipeline(const QUrl &origin, HttpLimits limits = {}, QObject *parent = nullptr);
    ~HttpPipeline() override;

    // For https: certificate authorities, protocols. Default: the system's.
    void setSslConfiguration(const QSslConfiguration &configuration);

    // Queues a POST; `done` runs exactly once on this thread, never from inside post(),
    // unless the pipeline is destroyed first. Host and Content-Length are added here.
    void post(const QByteArray &path, const QList<std::pair<QByteArray, QByteArray>> &headers,
        const QByteArray &body, Done done);

    int queued() const { return int(m_queue.size()); }
    int inFlight() const { return m_inFlight; } // written, not yet answered
    int connectionCount() const { return int(m_connections.size()); } // open or opening
    const HttpLimits &limits() const { return m_limits; }

private:
    struct Request
    {
        QByteArray bytes; // the whole request as sent
        Done done;
        QElapsedTimer written; // valid once on a connection
    };
    struct Connection;

    using Finished = std::vector<std::pair<Done, HttpResult>>;

    void pump();
    void openConnection();
    void write(Connection *connection);
    void onConnected(Connection *connection);
    void onReadable(Connection *connection, bool closed);
    void onDeadline(Connection *connection);
    void armTimer(Connection *connection);
    // Removes the connection and returns the failures of what it had written and not had
    // answered: a timeout for the oldest with `headTimedOut`, network errors for the rest.
    // A connection that never connected, with no other one up, fails the queue as well.
    Finished detach(Connection *connection, const QString &error, bool headTimedOut = false);
    // Runs the callbacks (one may destroy this pipeline), then refills the connections.
    void finish(Finished finished);

    QUrl m_origin;
    QByteArray m_host; // Host header value
    HttpLimits m_limits;
    QSslConfiguration m_ssl;
    std::deque<Request> m_queue;
    std::vector<std::unique_ptr<Connection>> m_connections;
    int m_inFlight = 0;
};

} // namespace parley::server::aws
