// The command line of `parley swarm` (run) and `parley swarm merge` (combine shards).
#pragma once

#include "thresholds.h"

#include <QStringList>
#include <QUrl>

#include <optional>

namespace parley::swarm {

struct SwarmOptions
{
    bool merge = false;
    QStringList mergeInputs; // merge: the shard reports
    QUrl server;
    int users = 0;
    double rate = -1; // actions per second; -1: not given
    double duration = -1;
    double ramp = 0;
    double drain = 15;
    QString scenarioFile;
    QString reportJson;
    QString reportHtml;
    QString junit;
    QList<Threshold> thresholds; // the defaults plus every --threshold
    int threads = 0; // 0: one per core
    int shardIndex = 0;
    int shardCount = 1;
};

struct ParsedOptions
{
    std::optional<SwarmOptions> options;
    QString output; // --help text, or the error
    int exitCode = 0; // when there are no options: 0 after --help, 2 after an error
};

// `arguments` are the words after "swarm".
ParsedOptions parseSwarmOptions(const QStringList &arguments);

} // namespace parley::swarm
