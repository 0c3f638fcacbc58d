#include "swarmmain.h"

#include "eventdispatcher.h"
#include "htmlreport.h"
#include "logging.h"
#include "options.h"
#include "processcontrol.h"
#include "runner.h"

#include <QCoreApplication>
#include <QFile>
#include <QHash>
#include <QJsonDocument>
#include <QMutex>
#include <QRegularExpression>
#include <QSaveFile>

#include <cstdio>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace parley::swarm {

namespace {

// Thousands of clients in one process say the same thing at once when the server goes
// away: each kind of log line (digits ignored) is shown three times, then only counted.
QtMessageHandler s_previousHandler = nullptr;
QMutex s_logLock;
QHash<QString, int> s_logSeen;
qint64 s_logSuppressed = 0;
constexpr int ShownPerKind = 3;

void quietHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    static const QRegularExpression digits(u"[0-9]+"_s);
    const QString kind = QLatin1StringView(context.category ? context.category : "") + u' '
        + QString(message).replace(digits, u"#"_s);
    int seen = 0;
    {
        QMutexLocker lock(&s_logLock);
        seen = ++s_logSeen[kind];
        if (seen > ShownPerKind)
            ++s_logSuppressed;
    }
    if (seen > ShownPerKind)
        return;
    s_previousHandler(type, context,
        seen == ShownPerKind ? message + u" (further messages like this are only counted)"_s
                             : message);
}

void printLine(FILE *stream, const QString &text)
{
    std::fputs(text.toLocal8Bit().constData(), stream);
    if (!text.endsWith(u'\n'))
        std::fputc('\n', stream);
    std::fflush(stream);
}

bool writeFile(const QString &path, const QByteArray &data, QString *error)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(data) != data.size() || !file.commit()) {
        *error = u"cannot write %1: %2"_s.arg(path, file.errorString());
        return false;
    }
    return true;
}

// Writes the requested reports, prints the summary and returns the exit code.
int finishReport(Report &report, const SwarmOptions &options)
{
    evaluate(report, options.thresholds);
    QString error;
    if ((!options.reportJson.isEmpty()
            && !writeFile(options.reportJson,
                QJsonDocument(report.toJson()).toJson(QJsonDocument::Indented), &error))
        || (!options.reportHtml.isEmpty()
            && !writeFile(options.reportHtml, htmlReport(report), &error))
        || (!options.junit.isEmpty() && !writeFile(options.junit, junitXml(report), &error))) {
        printLine(stdout, report.summary());
        printLine(stderr, u"parley swarm: "_s + error);
        return 2;
    }
    printLine(stdout, report.summary());
    return report.failures.isEmpty() ? 0 : 1;
}

int merge(const SwarmOptions &options)
{
    Report merged;
    for (const QString &path : options.mergeInputs) {
        QFile file(path);
        if (!file.open(QIODevice::ReadOnly)) {
            printLine(
                stderr, u"parley swarm merge: cannot read %1: %2"_s.arg(path, file.errorString()));
            return 2;
        }
        QJsonParseError parseError;
        const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parseError);
        QString error
            = parseError.error == QJsonParseError::NoError ? QString() : parseError.errorString();
        std::optional<Report> shard;
        if (error.isEmpty())
            shard = Report::fromJson(document.object(), &error);
        if (!shard) {
            printLine(stderr, u"parley swarm merge: %1: %2"_s.arg(path, error));
            return 2;
        }
        merged.merge(*shard);
    }
    if (merged.onlineAtEnd == 0 && merged.devices > 0)
        merged.failures.append(u"the server went away and stayed away: none of the %1 devices "
                               u"was connected at the end of the run"_s.arg(merged.devices));
    return finishReport(merged, options);
}

int run(const SwarmOptions &options)
{
    RunOptions run;
    run.server = options.server;
    run.threads = options.threads;
    run.shardIndex = options.shardIndex;
    run.drainSeconds = options.drain;
    run.terminal = isatty(fileno(stdout)) == 1;
    // This shard's share: users/N (the first shards take the remainder) and rate/N.
    run.users = options.users / options.shardCount
        + (options.shardIndex < options.users % options.shardCount ? 1 : 0);
    if (options.scenarioFile.isEmpty()) {
        run.scenario = defaultScenario(options.rate, options.duration, options.ramp);
    } else {
        QFile file(options.scenarioFile);
        if (!file.open(QIODevice::ReadOnly)) {
            printLine(stderr,
                u"parley swarm: cannot read %1: %2"_s.arg(
                    options.scenarioFile, file.errorString()));
            return 2;
        }
        QString error;
        const auto scenario
            = parseScenario(file.readAll(), options.scenarioFile, options.rate, &error);
        if (!scenario) {
            printLine(stderr, u"parley swarm: "_s + error);
            return 2;
        }
        run.scenario = *scenario;
    }
    for (Stage &stage : run.scenario.stages)
        stage.rate /= options.shardCount;

    // Every user is a socket (or several): take the hard descriptor limit.
    const qint64 sockets = qint64(run.users) * run.scenario.devices + run.threads * 2 + 64;
    if (const qint64 limit = process::raiseFileLimit(); limit >= 0 && sockets > limit) {
        printLine(stderr,
            u"parley swarm: %1 users need about %2 file descriptors but the limit is "
            u"%3 (raise it with ulimit -n)"_s.arg(run.users)
                .arg(sockets)
                .arg(limit));
        return 2;
    }

    Runner runner(run);
    // Ctrl+C or SIGTERM ends the run early with a report.
    QString signalError;
    if (!process::handleTermination(
            &runner, [&runner] { runner.interrupt(); }, &signalError)) {
        printLine(stderr, u"parley swarm: "_s + signalError);
        return 2;
    }
    QString error;
    std::optional<Report> report = runner.run(&error);
    if (!report) {
        printLine(stderr, u"parley swarm: could not run: "_s + error);
        return 2;
    }
    report->shards = 1;
    return finishReport(*report, options);
}

} // namespace

int runSwarm(int argc, char **argv, const QStringList &arguments)
{
    process::useScalableDispatcherForApplication();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(u"parley"_s);
    // Each client logs its sign-in and cache at info level: with thousands that drowns
    // the progress line. Warnings stay; QT_LOGGING_RULES still overrides this.
    QLoggingCategory::setFilterRules(u"parley.client*.info=false"_s);
    s_previousHandler = qInstallMessageHandler(quietHandler);
    const ParsedOptions parsed = parseSwarmOptions(arguments);
    int code = parsed.exitCode;
    if (!parsed.options)
        printLine(code == 0 ? stdout : stderr, parsed.output);
    else
        code = parsed.options->merge ? merge(*parsed.options) : run(*parsed.options);
    qInstallMessageHandler(s_previousHandler);
    if (s_logSuppressed > 0)
        printLine(stderr,
            u"parley swarm: %1 repeated log messages were counted, not shown"_s.arg(
                s_logSuppressed));
    return code;
}

} // namespace parley::swarm
