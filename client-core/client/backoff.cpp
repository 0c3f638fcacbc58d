#include "backoff.h"

#include <QRandomGenerator>

#include <algorithm>
#include <cmath>
#include <limits>

namespace parley::client {

Backoff::Backoff(Policy policy, std::function<double()> uniform01)
    : m_policy(policy)
    , m_uniform01(std::move(uniform01))
{
    if (!m_uniform01)
        m_uniform01 = [] { return QRandomGenerator::global()->generateDouble(); };
}

qint64 Backoff::nextDelayMs()
{
    const qint64 ceiling = currentCeilingMs();
    // A source that returns exactly 1 (or more) must not push the delay past the ceiling.
    const double draw = std::clamp(m_uniform01(), 0.0, 1.0);
    const qint64 delay = std::min(ceiling, qint64(std::floor(draw * (double(ceiling) + 1.0))));
    if (m_attempts < std::numeric_limits<int>::max())
        ++m_attempts;
    return delay;
}

qint64 Backoff::currentCeilingMs() const
{
    const qint64 cap = std::max<qint64>(0, m_policy.capMs);
    const qint64 base = std::max<qint64>(0, m_policy.baseMs);
    if (base == 0)
        return 0;
    // Double step by step and stop at the cap: base * 2^attempts overflows long before
    // the attempt count does.
    qint64 ceiling = base;
    for (int i = 0; i < m_attempts && ceiling < cap; ++i)
        ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
    return std::min(cap, ceiling);
}

void Backoff::linkUp(qint64 nowMs)
{
    m_upSinceMs = nowMs;
    m_traffic = false;
}

void Backoff::linkDown(qint64 nowMs, LinkEnd end)
{
    const bool up = m_upSinceMs >= 0;
    const bool stable = up && nowMs - m_upSinceMs >= m_policy.stableMs;
    const bool proved = up && m_traffic && nowMs - m_upSinceMs >= m_policy.provenAfterMs;
    switch (end) {
    case LinkEnd::Lost:
        if (stable || proved)
            m_attempts = 0;
        break;
    case LinkEnd::ServerClosed:
        if (stable)
            m_attempts = 0;
        break;
    case LinkEnd::ServerRestart:
        if (stable || proved)
            m_attempts = 0;
        while (currentCeilingMs() < std::min(m_policy.restartSpreadMs, m_policy.capMs)
            && m_attempts < 62)
            ++m_attempts;
        break;
    }
    m_upSinceMs = -1;
    m_traffic = false;
}

void Backoff::reset()
{
    m_attempts = 0;
    m_upSinceMs = -1;
    m_traffic = false;
}

} // namespace parley::client
