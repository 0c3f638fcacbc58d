#include "report.h"

#include <QJsonArray>
#include <QXmlStreamWriter>

using namespace Qt::StringLiterals;

namespace parley::swarm {

namespace {

constexpr auto Format = "parley-swarm-report/1";
constexpr int OffendersKept = 20;

double ms(qint64 microseconds)
{
    return double(qRound64(double(microseconds) / 10.0)) / 100.0; // 0.01 ms resolution
}

QJsonObject toObject(const QMap<QString, qint64> &map)
{
    QJsonObject object;
    for (auto it = map.cbegin(); it != map.cend(); ++it)
        object.insert(it.key(), it.value());
    return object;
}

QMap<QString, qint64> toMap(const QJsonObject &object)
{
    QMap<QString, qint64> map;
    for (auto it = object.constBegin(); it != object.constEnd(); ++it)
        map.insert(it.key(), it.value().toInteger());
    return map;
}

struct NamedHistogram
{
    const char *name;
    Histogram Report::*member;
};
constexpr NamedHistogram Histograms[] = {{"connect", &Report::connect}, {"ack", &Report::ack},
    {"deliver", &Report::deliver}, {"receipt", &Report::receipt}, {"history", &Report::history},
    {"search", &Report::search}, {"echo", &Report::echo}, {"lag", &Report::lag}};

} // namespace

QJsonObject latencySummary(const Histogram &h)
{
    return QJsonObject {{u"p50"_s, ms(h.percentile(50))}, {u"p90"_s, ms(h.percentile(90))},
        {u"p99"_s, ms(h.percentile(99))}, {u"p999"_s, ms(h.percentile(99.9))},
        {u"max"_s, ms(h.max())}, {u"mean"_s, ms(qRound64(h.mean()))}, {u"count"_s, h.count()}};
}

QJsonObject Report::toJson() const
{
    const Verdict &v = verdict;
    QJsonObject latency;
    for (const char *name : {"connect", "ack", "deliver", "receipt", "history", "search"}) {
        for (const NamedHistogram &n : Histograms) {
            if (qstrcmp(n.name, name) == 0)
                latency.insert(QLatin1StringView(name), latencySummary(this->*n.member));
        }
    }
    QJsonObject histograms;
    for (const NamedHistogram &n : Histograms)
        histograms.insert(QLatin1StringView(n.name), (this->*n.member).toJson());
    QJsonArray points;
    for (const TimelinePoint &p : timeline) {
        points.append(QJsonObject {{u"t"_s, p.second}, {u"online"_s, p.online}, {u"sent"_s, p.sent},
            {u"acked"_s, p.acked}, {u"delivered"_s, p.delivered}, {u"errors"_s, p.errors},
            {u"deliver_p50"_s, ms(p.deliver.percentile(50))},
            {u"deliver_p90"_s, ms(p.deliver.percentile(90))},
            {u"deliver_p99"_s, ms(p.deliver.percentile(99))},
            {u"deliver_hist"_s, p.deliver.toJson()}});
    }
    QJsonArray offenders;
    for (const Offender &o : v.offenders)
        offenders.append(QJsonObject {
            {u"kind"_s, o.kind}, {u"cid"_s, o.cid}, {u"conv"_s, o.conv}, {u"detail"_s, o.detail}});
    QJsonArray checks;
    for (const ThresholdResult &t : thresholds)
        checks.append(QJsonObject {
            {u"expression"_s, t.expression}, {u"actual"_s, t.actual}, {u"passed"_s, t.passed}});
    QJsonObject examples;
    for (auto it = errorExamples.cbegin(); it != errorExamples.cend(); ++it)
        examples.insert(it.key(), it.value());
    const double messages = double(std::max<qint64>(1, v.sent));
    const QJsonObject overhead {{u"echo_ms"_s, latencySummary(echo)},
        {u"schedule_lag_ms"_s, latencySummary(lag)}, {u"cpu_s"_s, cpuSeconds},
        {u"cpu_us_per_message"_s, qRound(cpuSeconds * 1e6 / messages * 10) / 10.0}};
    return QJsonObject {{u"format"_s, QLatin1StringView(Format)}, {u"server"_s, server},
        {u"scenario"_s, scenario}, {u"shards"_s, shards}, {u"users"_s, users},
        {u"devices"_s, devices}, {u"duration_s"_s, durationSeconds},
        {u"elapsed_s"_s, elapsedSeconds}, {u"signed_in"_s, signedIn},
        {u"online_at_end"_s, onlineAtEnd}, {u"sent"_s, v.sent}, {u"acked"_s, v.acked},
        {u"delivered"_s, v.delivered}, {u"lost"_s, v.lost}, {u"duplicates"_s, v.duplicates},
        {u"reordered"_s, v.reordered}, {u"unacked"_s, v.unacked}, {u"mismatched"_s, v.mismatched},
        {u"unexpected"_s, v.unexpected}, {u"errors"_s, toObject(v.errors)},
        {u"error_examples"_s, examples}, {u"actions"_s, toObject(actions)},
        {u"latency_ms"_s, latency}, {u"overhead"_s, overhead}, {u"timeline"_s, points},
        {u"offenders"_s, offenders}, {u"thresholds"_s, checks},
        {u"failures"_s, QJsonArray::fromStringList(failures)}, {u"passed"_s, failures.isEmpty()},
        {u"histograms"_s, histograms}};
}

std::optional<Report> Report::fromJson(const QJsonObject &json, QString *error)
{
    if (json.value(u"format"_s).toString() != QLatin1StringView(Format)) {
        *error
            = u"not a swarm report (expected \"format\": \"%1\")"_s.arg(QLatin1StringView(Format));
        return std::nullopt;
    }
    for (const QString &key : {u"users"_s, u"sent"_s, u"acked"_s, u"delivered"_s, u"lost"_s,
             u"duplicates"_s, u"reordered"_s, u"unacked"_s}) {
        if (!json.value(key).isDouble()) {
            *error = u"field '%1' is missing or not a number"_s.arg(key);
            return std::nullopt;
        }
    }
    Report r;
    r.server = json.value(u"server"_s).toString();
    r.scenario = json.value(u"scenario"_s).toString();
    r.shards = json.value(u"shards"_s).toInt(1);
    r.users = json.value(u"users"_s).toInteger();
    r.devices = json.value(u"devices"_s).toInteger();
    r.durationSeconds = json.value(u"duration_s"_s).toDouble();
    r.elapsedSeconds = json.value(u"elapsed_s"_s).toDouble();
    r.cpuSeconds = json.value(u"overhead"_s).toObject().value(u"cpu_s"_s).toDouble();
    r.signedIn = json.value(u"signed_in"_s).toInteger();
    r.onlineAtEnd = json.value(u"online_at_end"_s).toInteger();
    Verdict &v = r.verdict;
    v.sent = json.value(u"sent"_s).toInteger();
    v.acked = json.value(u"acked"_s).toInteger();
    v.delivered = json.value(u"delivered"_s).toInteger();
    v.lost = json.value(u"lost"_s).toInteger();
    v.duplicates = json.value(u"duplicates"_s).toInteger();
    v.reordered = json.value(u"reordered"_s).toInteger();
    v.unacked = json.value(u"unacked"_s).toInteger();
    v.mismatched = json.value(u"mismatched"_s).toInteger();
    v.unexpected = json.value(u"unexpected"_s).toInteger();
    v.errors = toMap(json.value(u"errors"_s).toObject());
    const QJsonObject examples = json.value(u"error_examples"_s).toObject();
    for (auto it = examples.constBegin(); it != examples.constEnd(); ++it)
        r.errorExamples.insert(it.key(), it.value().toString());
    r.actions = toMap(json.value(u"actions"_s).toObject());
    for (const QJsonValue &o : json.value(u"offenders"_s).toArray()) {
        const QJsonObject object = o.toObject();
        v.offenders.append({object.value(u"kind"_s).toString(), object.value(u"cid"_s).toString(),
            object.value(u"conv"_s).toString(), object.value(u"detail"_s).toString()});
    }
    const QJsonObject histograms = json.value(u"histograms"_s).toObject();
    for (const NamedHistogram &n : Histograms) {
        const auto h
            = Histogram::fromJson(histograms.value(QLatin1StringView(n.name)).toObject(), error);
        if (!h) {
            *error = u"histograms.%1: %2"_s.arg(QLatin1StringView(n.name), *error);
            return std::nullopt;
        }
        r.*n.member = *h;
    }
    const QJsonArray points = json.value(u"timeline"_s).toArray();
    for (qsizetype i = 0; i < points.size(); ++i) {
        const QJsonObject p = points.at(i).toObject();
        TimelinePoint point;
        point.second = p.value(u"t"_s).toInt();
        point.online = p.value(u"online"_s).toInteger();
        point.sent = p.value(u"sent"_s).toInteger();
        point.acked = p.value(u"acked"_s).toInteger();
        point.delivered = p.value(u"delivered"_s).toInteger();
        point.errors = p.value(u"errors"_s).toInteger();
        const auto h = Histogram::fromJson(p.value(u"deliver_hist"_s).toObject(), error);
        if (!h) {
            *error = u"timeline[%1].deliver_hist: %2"_s.arg(i).arg(*error);
            return std::nullopt;
        }
        point.deliver = *h;
        r.timeline.append(point);
    }
    return r;
}

void Report::merge(const Report &o)
{
    if (server.isEmpty())
        server = o.server;
    if (scenario.isEmpty())
        scenario = o.scenario;
    shards = users ? shards + o.shards : o.shards;
    users += o.users;
    devices += o.devices;
    durationSeconds = std::max(durationSeconds, o.durationSeconds);
    elapsedSeconds = std::max(elapsedSeconds, o.elapsedSeconds);
    cpuSeconds += o.cpuSeconds;
    signedIn += o.signedIn;
    onlineAtEnd += o.onlineAtEnd;
    Verdict &v = verdict;
    v.sent += o.verdict.sent;
    v.acked += o.verdict.acked;
    v.delivered += o.verdict.delivered;
    v.lost += o.verdict.lost;
    v.duplicates += o.verdict.duplicates;
    v.reordered += o.verdict.reordered;
    v.unacked += o.verdict.unacked;
    v.mismatched += o.verdict.mismatched;
    v.unexpected += o.verdict.unexpected;
    for (auto it = o.verdict.errors.cbegin(); it != o.verdict.errors.cend(); ++it)
        v.errors[it.key()] += it.value();
    for (auto it = o.errorExamples.cbegin(); it != o.errorExamples.cend(); ++it) {
        if (!errorExamples.contains(it.key()))
            errorExamples.insert(it.key(), it.value());
    }
    for (const Offender &offender : o.verdict.offenders) {
        if (v.offenders.size() < OffendersKept)
            v.offenders.append(offender);
    }
    for (auto it = o.actions.cbegin(); it != o.actions.cend(); ++it)
        actions[it.key()] += it.value();
    for (const NamedHistogram &n : Histograms)
        (this->*n.member).merge(o.*n.member);
    for (const TimelinePoint &p : o.timeline) {
        while (timeline.size() <= p.second)
            timeline.append(TimelinePoint {int(timeline.size())});
        TimelinePoint &mine = timeline[p.second];
        mine.online += p.online;
        mine.sent += p.sent;
        mine.acked += p.acked;
        mine.delivered += p.delivered;
        mine.errors += p.errors;
        mine.deliver.merge(p.deliver);
    }
}

QString Report::summary() const
{
    const Verdict &v = verdict;
    auto line = [](const QString &name, const Histogram &h, const QString &extra = {}) {
        return u"  %1 p50 %2  p90 %3  p99 %4  p999 %5  max %6  mean %7 ms (n=%8%9)\n"_s
            .arg(name.leftJustified(8), QString::number(ms(h.percentile(50))),
                QString::number(ms(h.percentile(90))), QString::number(ms(h.percentile(99))),
                QString::number(ms(h.percentile(99.9))), QString::number(ms(h.max())),
                QString::number(ms(qRound64(h.mean()))))
            .arg(h.count())
            .arg(extra);
    };
    QString errorText;
    for (auto it = v.errors.cbegin(); it != v.errors.cend(); ++it)
        errorText += u" %1=%2"_s.arg(it.key()).arg(it.value());
    QString out
        = u"parley swarm: %1 users (%2 devices, %3 shard%4) against %5, scenario %6\n"_s.arg(users)
              .arg(devices)
              .arg(shards)
              .arg(shards == 1 ? QString() : u"s"_s, server, scenario);
    out += u"  sent %1  acked %2  delivered %3  lost %4  duplicates %5  reordered %6  "
           u"unacked %7\n"_s.arg(v.sent)
               .arg(v.acked)
               .arg(v.delivered)
               .arg(v.lost)
               .arg(v.duplicates)
               .arg(v.reordered)
               .arg(v.unacked);
    out += u"  devices signed in %1 of %2, online at the end %3\n"_s.arg(signedIn).arg(devices).arg(
        onlineAtEnd);
    out += u"  errors:%1\n"_s.arg(errorText.isEmpty() ? u" none"_s : errorText);
    for (auto it = errorExamples.cbegin(); it != errorExamples.cend(); ++it)
        out += u"    %1: %2\n"_s.arg(it.key(), it.value());
    out += line(u"connect"_s, connect) + line(u"ack"_s, ack) + line(u"deliver"_s, deliver)
        + line(u"receipt"_s, receipt);
    // Requests only when the mix has them, so a plain messaging run keeps its four lines.
    if (history.count() > 0)
        out += line(u"history"_s, history);
    if (search.count() > 0)
        out += line(u"search"_s, search, u", %1 hits"_s.arg(actions.value(u"search_hits"_s)));
    out += u"  swarm overhead: echo round trip p50 %1 / p99 %2 ms, schedule lag p99 %3 ms, "
           u"CPU %4 s (%5 us per message)\n"_s.arg(ms(echo.percentile(50)))
               .arg(ms(echo.percentile(99)))
               .arg(ms(lag.percentile(99)))
               .arg(cpuSeconds, 0, 'f', 1)
               .arg(cpuSeconds * 1e6 / double(std::max<qint64>(1, v.sent)), 0, 'f', 1);
    for (const Offender &o : v.offenders)
        out += u"  %1 cid %2 conv %3: %4\n"_s.arg(o.kind, o.cid, o.conv, o.detail);
    for (const ThresholdResult &t : thresholds)
        out += u"  %1 %2 (actual %3)\n"_s.arg(
            t.passed ? u"PASS"_s : u"FAIL"_s, t.expression, QString::number(t.actual, 'g', 6));
    for (const QString &f : failures)
        out += u"  FAILED: "_s + f + u'\n';
    out += failures.isEmpty() ? u"RESULT: PASS\n"_s : u"RESULT: FAIL\n"_s;
    return out;
}

QByteArray junitXml(const Report &report)
{
    QByteArray out;
    QXmlStreamWriter xml(&out);
    xml.setAutoFormatting(true);
    xml.writeStartDocument();
    xml.writeStartElement(u"testsuites"_s);
    xml.writeStartElement(u"testsuite"_s);
    xml.writeAttribute(u"name"_s, u"parley-swarm"_s);
    const qsizetype liveness = 1; // the "server stayed up" case below
    xml.writeAttribute(u"tests"_s, QString::number(report.thresholds.size() + liveness));
    qsizetype failed = 0;
    for (const ThresholdResult &t : report.thresholds)
        failed += t.passed ? 0 : 1;
    const bool serverUp = report.onlineAtEnd > 0;
    xml.writeAttribute(u"failures"_s, QString::number(failed + (serverUp ? 0 : 1)));
    xml.writeAttribute(u"time"_s, QString::number(report.elapsedSeconds, 'f', 1));
    xml.writeStartElement(u"properties"_s);
    for (const auto &[name, value] :
        {std::pair {u"server"_s, report.server}, std::pair {u"scenario"_s, report.scenario},
            std::pair {u"users"_s, QString::number(report.users)},
            std::pair {u"sent"_s, QString::number(report.verdict.sent)}}) {
        xml.writeStartElement(u"property"_s);
        xml.writeAttribute(u"name"_s, name);
        xml.writeAttribute(u"value"_s, value);
        xml.writeEndElement();
    }
    xml.writeEndElement();
    xml.writeStartElement(u"testcase"_s);
    xml.writeAttribute(u"classname"_s, u"swarm"_s);
    xml.writeAttribute(u"name"_s, u"server stayed reachable"_s);
    if (!serverUp) {
        xml.writeStartElement(u"failure"_s);
        xml.writeAttribute(u"message"_s, u"no user was connected at the end of the run"_s);
        xml.writeEndElement();
    }
    xml.writeEndElement();
    for (const ThresholdResult &t : report.thresholds) {
        xml.writeStartElement(u"testcase"_s);
        xml.writeAttribute(u"classname"_s, u"swarm.thresholds"_s);
        xml.writeAttribute(u"name"_s, t.expression);
        if (!t.passed) {
            xml.writeStartElement(u"failure"_s);
            xml.writeAttribute(
                u"message"_s, u"actual value %1"_s.arg(QString::number(t.actual, 'g', 6)));
            QString detail;
            for (const Offender &o : report.verdict.offenders)
                detail += u"%1 cid %2 conv %3: %4\n"_s.arg(o.kind, o.cid, o.conv, o.detail);
            xml.writeCharacters(detail);
            xml.writeEndElement();
        }
        xml.writeEndElement();
    }
    xml.writeEndElement();
    xml.writeEndElement();
    xml.writeEndDocument();
    return out;
}

} // namespace parley::swarm
