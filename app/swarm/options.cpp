#include "options.h"

#include <QCommandLineParser>
#include <QRegularExpression>
#include <QThread>

#include <cmath>

using namespace Qt::StringLiterals;

namespace parley::swarm {

namespace {

ParsedOptions failure(const QString &message)
{
    return ParsedOptions {std::nullopt, u"parley swarm: "_s + message, 2};
}

std::optional<double> positive(const QString &text, bool allowZero)
{
    bool ok = false;
    const double value = text.toDouble(&ok);
    if (!ok || !std::isfinite(value) || value < 0 || (!allowZero && value == 0))
        return std::nullopt;
    return value;
}

} // namespace

ParsedOptions parseSwarmOptions(const QStringList &arguments)
{
    const bool merge = !arguments.isEmpty() && arguments.first() == u"merge"_s;
    QCommandLineParser parser;
    parser.setApplicationDescription(merge
            ? u"Merges the JSON reports of several shards of one swarm run into one report."_s
            : u"Drives simulated users (real client-core clients) against a Parley server and "
              u"verifies that every message arrives exactly once, in order. See docs/swarm.md."_s);
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption help({u"h"_s, u"help"_s}, u"Show this help."_s);
    const QCommandLineOption server(
        u"server"_s, u"Server WebSocket URL (wss://host:port/ws; ws:// on loopback)."_s, u"URL"_s);
    const QCommandLineOption users(
        u"users"_s, u"Virtual users (this shard's share is users/N with --shard)."_s, u"N"_s);
    const QCommandLineOption rate(u"rate"_s,
        u"Actions (messages, with the default mix) per second, all users together."_s,
        u"MSGS_PER_S"_s);
    const QCommandLineOption duration(
        u"duration"_s, u"Seconds of steady sending (without --scenario)."_s, u"SECONDS"_s);
    const QCommandLineOption ramp(u"ramp"_s,
        u"Seconds over which users connect and the rate rises, before --duration."_s, u"SECONDS"_s);
    const QCommandLineOption drain(u"drain"_s,
        u"After the last stage, wait at most this long for acks and deliveries (default 15)."_s,
        u"SECONDS"_s);
    const QCommandLineOption scenario(
        u"scenario"_s, u"Scenario file (JSON): stages, pattern, mix, faults."_s, u"FILE"_s);
    const QCommandLineOption reportJson(
        u"report-json"_s, u"Write the JSON report here."_s, u"FILE"_s);
    const QCommandLineOption reportHtml(
        u"report-html"_s, u"Write the self-contained HTML report here."_s, u"FILE"_s);
    const QCommandLineOption junit(
        u"junit"_s, u"Write JUnit XML (one test case per threshold) here."_s, u"FILE"_s);
    const QCommandLineOption threshold(u"threshold"_s,
        u"Pass/fail rule, repeatable, e.g. 'deliver.p99<50' (ms) or 'lost==0'. Always checked: lost==0, duplicates==0, reordered==0."_s,
        u"EXPR"_s);
    const QCommandLineOption threads(
        u"threads"_s, u"Event-loop threads for the users (default: one per core)."_s, u"T"_s);
    const QCommandLineOption shard(u"shard"_s,
        u"Run shard I of N (0-based): users/N of the users (the first shards take the remainder) at rate/N; merge the reports afterwards."_s,
        u"I/N"_s);
    parser.addOption(help);
    if (merge) {
        parser.addOptions({reportJson, reportHtml, junit, threshold});
        parser.addPositionalArgument(
            u"reports"_s, u"The shard reports (JSON) to merge."_s, u"A.json B.json ..."_s);
    } else {
        parser.addOptions({server, users, rate, duration, ramp, drain, scenario, reportJson,
            reportHtml, junit, threshold, threads, shard});
    }
    QStringList words = arguments;
    if (merge)
        words.removeFirst();
    words.prepend(merge ? u"parley swarm merge"_s : u"parley swarm"_s);
    if (!parser.parse(words))
        return failure(parser.errorText());
    if (parser.isSet(help))
        return ParsedOptions {std::nullopt, parser.helpText(), 0};

    SwarmOptions o;
    o.merge = merge;
    o.thresholds = defaultThresholds();
    for (const QString &text : parser.values(threshold)) {
        QString error;
        const auto t = parseThreshold(text, &error);
        if (!t)
            return failure(error);
        o.thresholds.append(*t);
    }
    o.reportJson = parser.value(reportJson);
    o.reportHtml = parser.value(reportHtml);
    o.junit = parser.value(junit);
    if (merge) {
        o.mergeInputs = parser.positionalArguments();
        if (o.mergeInputs.isEmpty())
            return failure(u"merge needs at least one report"_s);
        return ParsedOptions {o, {}, 0};
    }
    if (!parser.positionalArguments().isEmpty())
        return failure(u"unexpected argument '%1'"_s.arg(parser.positionalArguments().first()));

    o.server = QUrl(parser.value(server), QUrl::StrictMode);
    if (!parser.isSet(server))
        return failure(u"--server URL is required, e.g. --server wss://chat.example.org/ws"_s);
    if (!o.server.isValid() || (o.server.scheme() != u"ws"_s && o.server.scheme() != u"wss"_s)
        || o.server.host().isEmpty())
        return failure(
            u"--server expects a ws:// or wss:// URL, not '%1'"_s.arg(parser.value(server)));
    // A bare ws://host:port means Parley's endpoint, as client-core and the desktop take it.
    if (o.server.path().isEmpty() || o.server.path() == u"/"_s)
        o.server.setPath(u"/ws"_s);
    bool ok = false;
    o.users = parser.value(users).toInt(&ok);
    if (!parser.isSet(users) || !ok || o.users < 2 || o.users > 1000000)
        return failure(u"--users expects a number of users from 2 to 1000000"_s);
    for (const auto &[option, target, allowZero] :
        {std::tuple {&rate, &o.rate, true}, std::tuple {&duration, &o.duration, false},
            std::tuple {&ramp, &o.ramp, true}, std::tuple {&drain, &o.drain, true}}) {
        if (!parser.isSet(*option))
            continue;
        const auto value = positive(parser.value(*option), allowZero);
        if (!value)
            return failure(u"--%1 expects a number%2, not '%3'"_s.arg(option->names().first(),
                allowZero ? u" >= 0"_s : u" > 0"_s, parser.value(*option)));
        *target = *value;
    }
    o.scenarioFile = parser.value(scenario);
    if (o.scenarioFile.isEmpty()) {
        if (o.rate < 0 || o.duration < 0)
            return failure(u"--rate and --duration are required without --scenario"_s);
    } else if (parser.isSet(duration) || parser.isSet(ramp)) {
        return failure(
            u"--duration and --ramp come from the scenario's stages; leave them out with --scenario"_s);
    }
    o.threads = QThread::idealThreadCount();
    if (parser.isSet(threads)) {
        o.threads = parser.value(threads).toInt(&ok);
        if (!ok || o.threads < 1 || o.threads > 256)
            return failure(u"--threads expects a number from 1 to 256"_s);
    }
    if (parser.isSet(shard)) {
        static const QRegularExpression form(u"^(\\d+)/(\\d+)$"_s);
        const auto match = form.match(parser.value(shard));
        o.shardIndex = match.captured(1).toInt();
        o.shardCount = match.captured(2).toInt();
        if (!match.hasMatch() || o.shardCount < 1 || o.shardIndex >= o.shardCount)
            return failure(u"--shard expects I/N with 0 <= I < N, e.g. 0/4, not '%1'"_s.arg(
                parser.value(shard)));
        if (o.users / o.shardCount < 2)
            return failure(
                u"--shard %1 leaves fewer than 2 users per shard"_s.arg(parser.value(shard)));
    }
    return ParsedOptions {o, {}, 0};
}

} // namespace parley::swarm
