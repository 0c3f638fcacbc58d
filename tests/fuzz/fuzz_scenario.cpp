// libFuzzer harness: parley::swarm::parseScenario, which reads a swarm's scenario file
// (docs/swarm.md). A file either parses into a scenario the runner can use (finite,
// positive durations and rates in range) or is refused with a message; never both.
#include "fuzzsupport.h"
#include "scenario.h"

#include <cmath>

using parley::fuzz::check;
using namespace parley::swarm;

namespace {

bool finiteIn(double value, double min, double max)
{
    return std::isfinite(value) && value >= min && value <= max;
}

void checkScenario(const Scenario &s)
{
    const double duration = s.duration();
    check(finiteIn(duration, 0.001, 1e300) && !s.stages.isEmpty(), "an unusable duration");
    for (const Stage &stage : s.stages)
        check(finiteIn(stage.seconds, 0.001, 1e300) && finiteIn(stage.rate, 0, 1e300),
            "a stage out of range");
    check(finiteIn(s.mix.total(), 1e-300, 1e300), "a mix with no weight");
    check(s.devices >= 1 && s.devices <= 16, "devices out of range");
    check(s.bodyChars >= 24 && s.bodyChars <= 4000, "body_chars out of range");
    check(s.pattern.hubs >= 1 && s.pattern.peers >= 1, "a pattern out of range");
    check(finiteIn(s.connectSeconds(), 0, duration), "connect time past the end");
    for (const Fault &fault : s.faults)
        check(finiteIn(fault.at, 0, duration) && fault.at < duration
                && finiteIn(fault.percent, 0, 100) && finiteIn(fault.seconds, 0, 1e300),
            "a fault out of range");
    for (double f : {0.0, 0.25, 0.5, 0.999, 1.0, 2.0}) {
        const double rate = s.rateAt(duration * f);
        check(std::isfinite(rate) && rate >= 0, "a negative or infinite rate");
    }
    check(s.rateAt(duration * 1.01 + 1) == 0, "a rate after the end");
    check(!stageKindName(s.stages.first().kind).isEmpty(), "a stage kind without a name");
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    parley::fuzz::quietQt();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArray json(reinterpret_cast<const char *>(data), qsizetype(size));
    for (double defaultRate : {0.0, 25.0}) {
        QString error = QStringLiteral("stale");
        const std::optional<Scenario> scenario
            = parseScenario(json, QStringLiteral("fuzz.json"), defaultRate, &error);
        if (scenario) {
            check(error.isEmpty(), "a scenario and an error");
            checkScenario(*scenario);
        } else {
            check(error.startsWith(QStringLiteral("fuzz.json")), "an error not naming the file");
        }
    }
    return 0;
}
