// An HTTP/1.1 proxy in front of dynalite that fails the way DynamoDB does under load.
// A share of requests is answered with a throttling error (400) or a 500 without being
// forwarded, so nothing was applied; another share is forwarded and then answered with a
// 500, so it was applied but the client thinks it failed and its retry must be idempotent.
// Keep-alive connections, Content-Length bodies, answers in request order. It runs on a
// thread of its own so it keeps serving while the test thread blocks (waitForFinished).
#pragma once

#include <QObject>
#include <QString>
#include <QThread>
#include <QUrl>

#include <optional>

namespace parley::test {

struct FaultPlan
{
    // 400 ProvisionedThroughputExceededException or ThrottlingException, not forwarded.
    int throttledPercent = 0;
    int failedBeforePercent = 0; // 500 InternalServerError, not forwarded
    int failedAfterPercent = 0; // forwarded, then a 500 InternalServerError in its place
    quint32 seed = 1; // one seed, one fault sequence for the same sequence of requests
    // A request body that just failed this many times in a row is forwarded untouched
    // next time, so a client with a bounded number of attempts always gets through.
    int maxFaultsInARow = 3;

    // "throttled=20,before=5,after=5,seed=7,inarow=3": percentages, any key left out
    // keeps its default. Empty optional (and `error` set) when malformed.
    static std::optional<FaultPlan> parse(const QString &spec, QString *error);
};

struct FaultCounts
{
    int forwarded = 0; // answered by the target, untouched
    int throttled = 0;
    int failedBefore = 0;
    int failedAfter = 0;
    int faults() const { return throttled + failedBefore + failedAfter; }
};

class FaultProxyServer;

class FaultProxy : public QObject
{
public:
    FaultProxy(quint16 targetPort, const FaultPlan &plan, QObject *parent = nullptr);
    ~FaultProxy() override;

    bool listen(); // on 127.0.0.1, a free port
    quint16 port() const { return m_port; }
    QUrl endpoint() const; // http://127.0.0.1:PORT
    FaultCounts counts() const;

private:
    QThread m_thread;
    FaultProxyServer *m_server; // lives on m_thread; ~FaultProxy deletes it
    quint16 m_port = 0;
};

} // namespace parley::test
