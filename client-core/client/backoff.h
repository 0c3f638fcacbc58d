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

    // The link came up at nowMs (monotonic).
    void linkUp(qint64 nowMs);
    // The link went down at nowMs: if it had been up for stableMs or more, the attempt
    // count starts again from zero; a link that flaps keeps backing off.
    void linkDown(qint64 nowMs);
    void reset();
    int attempts() const { return m_attempts; }
    const Policy &policy() const { return m_policy; }

private:
    Policy m_policy;
    std::function<double()> m_uniform01;
    int m_attempts = 0;
    qint64 m_upSinceMs = -1;
};

} // namespace parley::client
