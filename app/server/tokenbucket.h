// Token bucket for per-connection rate limits (sends, typing, searches).
// Time is passed in by the caller (a monotonic clock in milliseconds) so the
// bucket holds no clock and tests are deterministic.
#pragma once

#include <QtGlobal>

#include <algorithm>
#include <cmath>
#include <limits>

namespace parley::server {

class TokenBucket
{
public:
    // Starts full: a fresh connection may use its whole burst at once.
    TokenBucket(double capacity, double refillPerSecond)
        : m_capacity(capacity)
        , m_refillPerMs(refillPerSecond / 1000.0)
        , m_tokens(capacity)
    {
        Q_ASSERT(capacity > 0);
        Q_ASSERT(refillPerSecond >= 0);
    }

    double capacity() const noexcept { return m_capacity; }
    double refillPerSecond() const noexcept { return m_refillPerMs * 1000.0; }

    // Tokens available at nowMs, without taking any.
    double tokens(qint64 nowMs) const noexcept { return projected(nowMs); }

    // Takes n tokens if all of them are available; otherwise takes nothing, so a
    // refused frame does not push the client's next chance further away.
    bool take(qint64 nowMs, double n = 1)
    {
        refill(nowMs);
        if (m_tokens + Epsilon < n)
            return false;
        m_tokens = std::max(0.0, m_tokens - n);
        return true;
    }

    // Returns n tokens taken earlier (an attempt that turned out not to count), never
    // beyond the capacity.
    void giveBack(qint64 nowMs, double n = 1)
    {
        refill(nowMs);
        m_tokens = std::min(m_capacity, m_tokens + n);
    }

    // Milliseconds until n tokens are available: 0 if they are now, otherwise at
    // least 1 (rounded up, so waiting that long always succeeds). Returns the
    // largest qint64 when n can never be available (n > capacity, or no refill).
    qint64 retryAfterMs(qint64 nowMs, double n = 1) const noexcept
    {
        const double missing = n - projected(nowMs);
        if (missing <= Epsilon)
            return 0;
        if (n > m_capacity + Epsilon || m_refillPerMs <= 0)
            return std::numeric_limits<qint64>::max();
        // Epsilon keeps 0.5 tokens at 0.5 tokens/ms at exactly 1 ms instead of
        // rounding float noise up to 2.
        const double ms = std::ceil(missing / m_refillPerMs - Epsilon);
        return std::max<qint64>(1, static_cast<qint64>(ms));
    }

private:
    // Absorbs floating-point drift from many small refills; far below any
    // meaningful fraction of a token.
    static constexpr double Epsilon = 1e-9;

    double projected(qint64 nowMs) const noexcept
    {
        if (!m_started || nowMs <= m_lastMs)
            return m_tokens;
        // Subtract in double: no signed overflow whatever the caller passes, and
        // exact for any realistic millisecond timestamp (< 2^53).
        const double elapsed = static_cast<double>(nowMs) - static_cast<double>(m_lastMs);
        return std::min(m_capacity, m_tokens + elapsed * m_refillPerMs);
    }

    void refill(qint64 nowMs) noexcept
    {
        m_tokens = projected(nowMs);
        // A clock that steps backwards must not mint tokens when it steps forward
        // again, so the reference time only moves forward.
        if (!m_started || nowMs > m_lastMs) {
            m_lastMs = nowMs;
            m_started = true;
        }
    }

    double m_capacity;
    double m_refillPerMs;
    double m_tokens;
    qint64 m_lastMs = 0;
    bool m_started = false;
};

} // namespace parley::server
