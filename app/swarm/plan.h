// Who the virtual users are and when things happen: names, conversation peers, the
// event-loop thread of each user, which users a fault hits, and the open-loop schedule
// of actions. Plain functions and classes, no sockets.
#pragma once

#include "scenario.h"

#include <QList>
#include <QString>

namespace parley::swarm {

struct UserPlan
{
    QString name;
    QList<int> peers; // indexes into the plan
    int thread = 0;
    double connectAt = 0; // seconds from the start (the ramp spreads users evenly)
};

// `prefix` makes the names unique per run and shard ("sk3x9a0-" + index).
QList<UserPlan> planUsers(const Scenario &scenario, int users, int threads, const QString &prefix);

// Whether `fault` (the scenario's fault number `faultIndex`) hits user `user`: a
// deterministic draw from the scenario's seed, so a rerun hits the same users.
bool faultHits(const Scenario &scenario, int faultIndex, int user);

// The open-loop schedule of one thread: the intended times of its share of the actions
// (scenario rate / threads), independent of how fast anything is answered. Threads start
// at different phases so they do not all fire in the same millisecond.
class Schedule
{
public:
    Schedule(const Scenario *scenario, int threads, int thread);
    // The intended time (seconds from the start) of the next action, or a negative
    // value once the stages are over.
    double next();

private:
    const Scenario *m_scenario;
    double m_share;
    double m_cursor = 0;
    double m_credit;
};

} // namespace parley::swarm
