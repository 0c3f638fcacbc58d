#include "thresholds.h"

#include <QRegularExpression>

using namespace Qt::StringLiterals;

namespace parley::swarm {

namespace {

const Histogram *histogramNamed(const Report &r, QStringView name)
{
    if (name == u"connect")
        return &r.connect;
    if (name == u"ack")
        return &r.ack;
    if (name == u"deliver")
        return &r.deliver;
    if (name == u"receipt")
        return &r.receipt;
    if (name == u"history")
        return &r.history;
    if (name == u"search")
        return &r.search;
    if (name == u"echo")
        return &r.echo;
    return nullptr;
}

std::optional<double> statistic(const Histogram &h, QStringView stat)
{
    const double ms = 1000.0;
    if (stat == u"p50")
        return double(h.percentile(50)) / ms;
    if (stat == u"p90")
        return double(h.percentile(90)) / ms;
    if (stat == u"p99")
        return double(h.percentile(99)) / ms;
    if (stat == u"p999")
        return double(h.percentile(99.9)) / ms;
    if (stat == u"max")
        return double(h.max()) / ms;
    if (stat == u"mean")
        return h.mean() / ms;
    if (stat == u"count")
        return double(h.count());
    return std::nullopt;
}

bool holds(double actual, Threshold::Op op, double limit)
{
    switch (op) {
    case Threshold::Op::Less:
        return actual < limit;
    case Threshold::Op::LessEqual:
        return actual <= limit;
    case Threshold::Op::Greater:
        return actual > limit;
    case Threshold::Op::GreaterEqual:
        return actual >= limit;
    case Threshold::Op::Equal:
        return actual == limit;
    case Threshold::Op::NotEqual:
        return actual != limit;
    }
    return false;
}

} // namespace

std::optional<double> metricValue(const Report &r, const QString &metric)
{
    const Verdict &v = r.verdict;
    const QHash<QString, double> counts {{u"users"_s, double(r.users)},
        {u"devices"_s, double(r.devices)}, {u"sent"_s, double(v.sent)},
        {u"acked"_s, double(v.acked)}, {u"delivered"_s, double(v.delivered)},
        {u"lost"_s, double(v.lost)}, {u"duplicates"_s, double(v.duplicates)},
        {u"reordered"_s, double(v.reordered)}, {u"unacked"_s, double(v.unacked)},
        {u"online_at_end"_s, double(r.onlineAtEnd)}};
    if (const auto it = counts.constFind(metric); it != counts.cend())
        return *it;
    if (metric == u"errors"_s) {
        qint64 total = 0;
        for (const qint64 n : v.errors)
            total += n;
        return double(total);
    }
    if (metric.startsWith(u"errors."_s))
        return double(v.errors.value(metric.mid(7)));
    const qsizetype dot = metric.indexOf(u'.');
    if (dot < 0)
        return std::nullopt;
    const Histogram *h = histogramNamed(r, QStringView(metric).left(dot));
    return h ? statistic(*h, QStringView(metric).mid(dot + 1)) : std::nullopt;
}

std::optional<Threshold> parseThreshold(const QString &text, QString *error)
{
    static const QRegularExpression form(
        u"^\\s*([a-z0-9_.]+)\\s*(<=|>=|==|!=|<|>)\\s*(-?[0-9]+(?:\\.[0-9]+)?)\\s*$"_s);
    const auto match = form.match(text);
    if (!match.hasMatch()) {
        *error = u"threshold '%1': expected METRIC OP NUMBER, e.g. 'deliver.p99<50' or "
                 u"'lost==0' (OP: < <= > >= == !=)"_s.arg(text);
        return std::nullopt;
    }
    Threshold t;
    t.text = text.simplified().remove(u' ');
    t.metric = match.captured(1);
    const QString op = match.captured(2);
    const QStringList ops {u"<"_s, u"<="_s, u">"_s, u">="_s, u"=="_s, u"!="_s};
    t.op = Threshold::Op(ops.indexOf(op));
    t.value = match.captured(3).toDouble();
    if (!t.metric.startsWith(u"errors."_s) && !metricValue(Report {}, t.metric)) {
        *error = u"threshold '%1': unknown metric '%2' (use users, sent, acked, delivered, "
                 u"lost, duplicates, reordered, unacked, errors, errors.CODE, online_at_end, or "
                 u"connect|ack|deliver|receipt|history|search|echo . "
                 u"p50|p90|p99|p999|max|mean|count)"_s.arg(text, t.metric);
        return std::nullopt;
    }
    return t;
}

QList<Threshold> defaultThresholds()
{
    QList<Threshold> list;
    QString unused;
    for (const QString &text : {u"lost==0"_s, u"duplicates==0"_s, u"reordered==0"_s})
        list.append(*parseThreshold(text, &unused));
    return list;
}

void evaluate(Report &report, const QList<Threshold> &thresholds)
{
    report.thresholds.clear();
    for (const Threshold &t : thresholds) {
        const double actual = metricValue(report, t.metric).value_or(0);
        const bool passed = holds(actual, t.op, t.value);
        report.thresholds.append({t.text, actual, passed});
        if (!passed)
            report.failures.append(u"threshold %1 failed: %2 is %3"_s.arg(
                t.text, t.metric, QString::number(actual, 'g', 6)));
    }
}

} // namespace parley::swarm
