// What a swarm does over time: stages of a sending rate, who talks to whom, the mix of
// actions and the faults to inject. Read from a JSON file (docs/swarm.md) or built from
// the command line (--rate, --duration, --ramp).
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace parley::swarm {

struct Stage
{
    enum class Kind { RampUp, Steady, Spike, Idle };
    Kind kind = Kind::Steady;
    double seconds = 0;
    double rate = 0; // actions per second at the end of the stage (0 for idle)
};
QString stageKindName(Stage::Kind kind);

struct Pattern
{
    enum class Kind { Pairs, Hubs, Random };
    Kind kind = Kind::Pairs;
    int hubs = 1; // Hubs: users every other user talks to
    int peers = 3; // Random: conversations per user
};

// Relative weights of the actions; each scheduled action picks one by weight.
struct Mix
{
    double send = 1;
    double typing = 0;
    double history = 0;
    double search = 0;
    double presence = 0; // watch a few users' presence
    double burst = 0; // one device sends `burstSize` messages to one peer at once
    int burstSize = 50;
    double total() const { return send + typing + history + search + presence + burst; }
};

struct Fault
{
    enum class Kind { Disconnect, StopSending, ReconnectStorm };
    Kind kind = Kind::Disconnect;
    double at = 0; // seconds from the start of the run
    double percent = 0; // of the users, chosen by the seed
    double seconds = 0; // how long (Disconnect, StopSending); ReconnectStorm is instant
};
QString faultKindName(Fault::Kind kind);

struct Scenario
{
    QString name;
    QList<Stage> stages;
    Pattern pattern;
    Mix mix;
    QList<Fault> faults;
    int devices = 1; // clients per user, all signed in as that user
    int bodyChars = 32;
    quint32 seed = 1;

    double duration() const;
    // The action rate at `seconds` from the start: a ramp-up rises linearly from the
    // previous stage's rate (0 at the start), the others hold theirs; 0 after the end.
    double rateAt(double seconds) const;
    // How long users take to connect: the leading ramp-up stage, else 0 (all at once).
    double connectSeconds() const;
};

// The scenario of a command line: a ramp-up of `rampSeconds` (if any) to `rate`, then
// `rate` for `durationSeconds`; pairs, sends only.
Scenario defaultScenario(double rate, double durationSeconds, double rampSeconds);

// Parses a scenario file. A stage without "rate" takes `defaultRate` (--rate). On error
// returns nothing and sets `error` to a sentence naming the file and the line (syntax)
// or the field (e.g. "stages[2].rate").
std::optional<Scenario> parseScenario(
    const QByteArray &json, const QString &fileName, double defaultRate, QString *error);

} // namespace parley::swarm
