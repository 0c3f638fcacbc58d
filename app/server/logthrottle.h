// At most one log line per interval for an event that an attacker can repeat at will
// (a socket missing its head deadline, a refused Origin, a slow reader): the first is
// logged, the rest are counted and reported with the next line that is let through.
// /metrics counts every one. Not thread-safe: keep one per thread (thread_local).
#pragma once

#include <QString>
#include <QtGlobal>

namespace parley::server {

class LogThrottle
{
public:
    explicit LogThrottle(qint64 intervalMs = 10'000)
        : m_intervalMs(intervalMs)
    { }

    // True if this occurrence may be logged; then *suppressed holds how many were not
    // since the last line.
    bool admit(qint64 nowMs, quint64 *suppressed)
    {
        if (m_started && nowMs - m_lastMs < m_intervalMs) {
            ++m_suppressed;
            return false;
        }
        m_started = true;
        m_lastMs = nowMs;
        *suppressed = m_suppressed;
        m_suppressed = 0;
        return true;
    }

private:
    qint64 m_intervalMs;
    qint64 m_lastMs = 0;
    quint64 m_suppressed = 0;
    bool m_started = false;
};

// "" or "(and 12 more like it since the last such line)".
inline QString suppressedNote(quint64 suppressed)
{
    return suppressed == 0
        ? QString()
        : QStringLiteral("(and %1 more like it since the last such line)").arg(suppressed);
}

} // namespace parley::server
