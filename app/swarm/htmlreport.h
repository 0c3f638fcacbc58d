// The report as one self-contained HTML page: a summary, inline SVG charts (latency
// percentiles over time, throughput, the latency histogram), thresholds and offenders.
// No scripts, no fonts or styles from elsewhere: it opens offline in any browser.
#pragma once

#include "report.h"

#include <QByteArray>

namespace parley::swarm {

QByteArray htmlReport(const Report &report);

} // namespace parley::swarm
