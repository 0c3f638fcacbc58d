// Reconnect delays: exponential backoff with full jitter (AWS architecture blog,
// "Exponential Backoff And Jitter"). A plain class; the random source is injected
// so tests are deterministic.
#pragma once

#include <QtGlobal>

#include <functional>

namespace parley::client {

struct BackoffPolicy
{
    qint64 baseMs = 500;
    qint64 capMs = 30000;
    qint64 stableMs = 60000; // a link up this long resets the attempt count
    // After the server said it is going away (1001, 1012), the first attempt is drawn
    // from at least this window, so the clients of a restarting server come back spread
    // out instead of all at once.
    qint64 restartSpreadMs = 5000;
    // A signed-in link proves the server reachable once it carried a frame and stayed up
    // this long. 0 (the default, the rule of docs/client-core.md): any frame will do, so a
    // link that lives half a second on bad Wi-Fi still counts. Raising it keeps clients of
    // a server that accepts and then drops every link backing off, at the price of slower
    // reconnects on such links (flapping-link p99 1.6 and 5.5 s with 1000, measured while two
    // fuzzers loaded both cores; 0.4 s with 0 on a quieter machine: docs/reliability.md).
    qint64 provenAfterMs = 0;
};

// How a signed-in link ended, as far as the client can tell.
enum class LinkEnd {
    Lost, // the network dropped it (a reset, a timeout, 1006): the server was fine
    ServerClosed, // the server closed it on purpose: policy, overload, an error (1008, 1011, 1013,
                  // ...)
    ServerRestart, // the server is going away or restarting (1001, 1012)
};

class Backoff
{
public:
    using Policy = BackoffPolicy;

    // uniform01 returns a number in [0, 1); the default draws from QRandomGenerator.
    explicit Backoff(Policy policy = {}, std::function<double()> uniform01 = {});

    // The delay before the next attempt: uniform in [0, min(cap, base * 2^attempts)],
    // then counts the attempt.
    qint64 nextDelayMs();
    // The ceiling the next delay is drawn under (for logs and tests).
    qint64 currentCeilingMs() const;

    // The link came up at nowMs (monotonic): signed in.
    void linkUp(qint64 nowMs);
    // A frame arrived on the signed-in link: the server is reachable and serving.
    void trafficSeen() { m_traffic = m_upSinceMs >= 0; }
    // The link went down at nowMs. A link that signed in and carried traffic proves the
    // server reachable: when the network loses it, the count starts again from zero, so
    // the next attempt comes within baseMs (jittered) however often links drop. Attempts
    // that fail, and links the server itself closed, keep backing off (unless up for
    // stableMs). A restart (see LinkEnd) spreads the next attempt over restartSpreadMs.
    void linkDown(qint64 nowMs, LinkEnd end = LinkEnd::Lost);
    void reset();
    int attempts() const { return m_attempts; }
    const Policy &policy() const { return m_policy; }

private:
    Policy m_policy;
    std::function<double()> m_uniform01;
    int m_attempts = 0;
    qint64 m_upSinceMs = -1;
    bool m_traffic = false;
};

} // namespace parley::client
