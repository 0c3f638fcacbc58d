#include "plan.h"

#include <QHash>
#include <QRandomGenerator>
#include <QSet>

using namespace Qt::StringLiterals;

namespace parley::swarm {

QList<UserPlan> planUsers(const Scenario &scenario, int users, int threads, const QString &prefix)
{
    QList<UserPlan> plan(users);
    for (int i = 0; i < users; ++i) {
        plan[i].name = prefix + QString::number(i);
        plan[i].thread = i % std::max(1, threads);
        plan[i].connectAt = users > 1 ? scenario.connectSeconds() * i / users : 0;
    }
    if (users < 2)
        return plan;
    auto link = [&plan](int a, int b) {
        if (a == b || plan[a].peers.contains(b))
            return;
        plan[a].peers.append(b);
        plan[b].peers.append(a);
    };
    switch (scenario.pattern.kind) {
    case Pattern::Kind::Pairs:
        for (int i = 0; i + 1 < users; i += 2)
            link(i, i + 1);
        if (users % 2)
            link(users - 1, 0); // the odd one out talks to the first user
        break;
    case Pattern::Kind::Hubs: {
        const int hubs = std::min(scenario.pattern.hubs, users - 1);
        for (int i = hubs; i < users; ++i)
            link(i, i % hubs);
        break;
    }
    case Pattern::Kind::Random: {
        QRandomGenerator random(scenario.seed);
        const int peers = std::min(scenario.pattern.peers, users - 1);
        for (int i = 0; i < users; ++i) {
            while (plan[i].peers.size() < peers)
                link(i, int(random.bounded(users)));
        }
        break;
    }
    }
    return plan;
}

bool faultHits(const Scenario &scenario, int faultIndex, int user)
{
    if (faultIndex < 0 || faultIndex >= scenario.faults.size())
        return false;
    // One draw per (seed, fault, user): a stable hash, uniform enough for percentages.
    const quint64 key
        = (quint64(scenario.seed) << 40) ^ (quint64(faultIndex) << 32) ^ quint64(user);
    const double draw = double(qHash(key, 0x5eed) % 1000000) / 10000.0; // 0..100
    return draw < scenario.faults.at(faultIndex).percent;
}

Schedule::Schedule(const Scenario *scenario, int threads, int thread)
    : m_scenario(scenario)
    , m_share(1.0 / std::max(1, threads))
    , m_credit(double(thread) / std::max(1, threads))
{ }

double Schedule::next()
{
    constexpr double Step = 0.001; // integrate the rate in 1 ms steps
    const double end = m_scenario->duration();
    while (m_credit < 1.0) {
        if (m_cursor >= end)
            return -1;
        m_credit += m_scenario->rateAt(m_cursor) * m_share * Step;
        m_cursor += Step;
    }
    m_credit -= 1.0;
    // Place the action inside the last step in proportion to the credit left over.
    const double rate = m_scenario->rateAt(m_cursor - Step) * m_share;
    const double back = rate > 0 ? std::min(Step, m_credit / rate) : 0;
    return m_cursor - back;
}

} // namespace parley::swarm
