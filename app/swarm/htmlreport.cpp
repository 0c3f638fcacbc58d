#include "htmlreport.h"

#include <QDateTime>

#include <cmath>

using namespace Qt::StringLiterals;

namespace parley::swarm {

namespace {

constexpr int Width = 860;
constexpr int Height = 260;
constexpr int Left = 60;
constexpr int Right = 20;
constexpr int Top = 30;
constexpr int Bottom = 40;

struct Series
{
    QString name;
    QString color;
    QList<double> values;
};

QString esc(const QString &text)
{
    return text.toHtmlEscaped();
}

QString num(double v)
{
    return QString::number(v, 'f', v < 10 ? 2 : v < 1000 ? 1 : 0);
}

// A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten.
double niceCeiling(double v)
{
    if (v <= 0)
        return 1;
    const double magnitude = std::pow(10.0, std::floor(std::log10(v)));
    for (const double step : {1.0, 2.0, 5.0, 10.0}) {
        if (v <= step * magnitude)
            return step * magnitude;
    }
    return 10 * magnitude;
}

QString frame(const QString &title, const QString &xLabel, const QString &yLabel, double xMax,
    double yMax, const QString &body, const QList<Series> &legend)
{
    const int plotW = Width - Left - Right, plotH = Height - Top - Bottom;
    QString svg = u"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%1\" height=\"%2\" "
                  u"viewBox=\"0 0 %1 %2\" role=\"img\"><title>%3</title>"_s.arg(Width)
                      .arg(Height)
                      .arg(esc(title));
    svg += u"<text x=\"%1\" y=\"18\" class=\"t\">%2</text>"_s.arg(Left).arg(esc(title));
    for (int i = 0; i <= 4; ++i) {
        const double y = Top + plotH - plotH * i / 4.0;
        svg += u"<line x1=\"%1\" x2=\"%2\" y1=\"%3\" y2=\"%3\" class=\"g\"/>"
               u"<text x=\"%4\" y=\"%5\" class=\"a\" text-anchor=\"end\">%6</text>"_s.arg(Left)
                   .arg(Left + plotW)
                   .arg(y)
                   .arg(Left - 6)
                   .arg(y + 4)
                   .arg(num(yMax * i / 4.0));
    }
    for (int i = 0; i <= 5 && xMax > 0; ++i) { // xMax 0: the caller draws its own axis
        const double x = Left + plotW * i / 5.0;
        svg += u"<text x=\"%1\" y=\"%2\" class=\"a\" text-anchor=\"middle\">%3</text>"_s.arg(x)
                   .arg(Top + plotH + 16)
                   .arg(QString::number(xMax * i / 5.0, 'g', 4));
    }
    svg += u"<text x=\"%1\" y=\"%2\" class=\"a\" text-anchor=\"middle\">%3</text>"_s
               .arg(Left + plotW / 2)
               .arg(Height - 4)
               .arg(esc(xLabel));
    svg += u"<text x=\"14\" y=\"%1\" class=\"a\" transform=\"rotate(-90 14 %1)\" "
           u"text-anchor=\"middle\">%2</text>"_s.arg(Top + plotH / 2)
               .arg(esc(yLabel));
    svg += body;
    int lx = Left + plotW - 110 * int(legend.size());
    for (const Series &s : legend) {
        svg += u"<rect x=\"%1\" y=\"8\" width=\"12\" height=\"12\" fill=\"%2\"/>"
               u"<text x=\"%3\" y=\"18\" class=\"a\">%4</text>"_s.arg(lx)
                   .arg(s.color)
                   .arg(lx + 16)
                   .arg(esc(s.name));
        lx += 110;
    }
    return svg + u"</svg>"_s;
}

QString lineChart(const QString &title, const QString &yLabel, const QList<Series> &series)
{
    const int plotW = Width - Left - Right, plotH = Height - Top - Bottom;
    qsizetype points = 0;
    double yMax = 0;
    for (const Series &s : series) {
        points = std::max(points, s.values.size());
        for (const double v : s.values)
            yMax = std::max(yMax, v);
    }
    yMax = niceCeiling(yMax);
    const double xMax = std::max<double>(1, double(points - 1));
    QString body;
    for (const Series &s : series) {
        QString path;
        for (qsizetype i = 0; i < s.values.size(); ++i)
            path += u"%1%2,%3 "_s.arg(i ? u"L"_s : u"M"_s)
                        .arg(Left + plotW * double(i) / xMax, 0, 'f', 1)
                        .arg(Top + plotH - plotH * s.values.at(i) / yMax, 0, 'f', 1);
        body += u"<path d=\"%1\" fill=\"none\" stroke=\"%2\" stroke-width=\"1.8\"/>"_s.arg(
            path, s.color);
    }
    return frame(title, u"seconds since start"_s, yLabel, xMax, yMax, body, series);
}

// The latency histogram on a logarithmic latency axis: the log-linear buckets are
// gathered into 60 bins of equal width in log(ms).
QString histogramChart(const Histogram &h)
{
    const int plotW = Width - Left - Right, plotH = Height - Top - Bottom;
    constexpr int Bins = 60;
    const double low = std::log10(std::max<qint64>(h.min(), 10)); // from 10 us
    const double high = std::max(low + 1, std::log10(double(std::max<qint64>(h.max(), 1)) + 1));
    QList<double> bins(Bins, 0);
    for (const Histogram::Bucket &b : h.buckets()) {
        const double middle = std::log10(std::max(10.0, double(b.low + b.high) / 2));
        const int bin = std::clamp(int((middle - low) / (high - low) * Bins), 0, Bins - 1);
        bins[bin] += double(b.count);
    }
    double yMax = 0;
    for (const double c : bins)
        yMax = std::max(yMax, c);
    yMax = niceCeiling(yMax);
    QString body;
    const double barW = double(plotW) / Bins;
    for (int i = 0; i < Bins; ++i) {
        if (bins[i] <= 0)
            continue;
        const double barH = plotH * bins[i] / yMax;
        body += u"<rect x=\"%1\" y=\"%2\" width=\"%3\" height=\"%4\" fill=\"#4878d0\"/>"_s
                    .arg(Left + barW * i, 0, 'f', 1)
                    .arg(Top + plotH - barH, 0, 'f', 1)
                    .arg(barW - 1, 0, 'f', 1)
                    .arg(barH, 0, 'f', 1);
    }
    // Latency ticks: milliseconds at the bin edges, on the log axis.
    QString ticks;
    for (int i = 0; i <= 6; ++i) {
        const double us = std::pow(10.0, low + (high - low) * i / 6.0);
        ticks += u"<text x=\"%1\" y=\"%2\" class=\"a\" text-anchor=\"middle\">%3</text>"_s
                     .arg(Left + plotW * i / 6.0, 0, 'f', 1)
                     .arg(Top + plotH + 16)
                     .arg(num(us / 1000.0));
    }
    return frame(u"send->deliver latency histogram (log scale)"_s, u"latency (ms), logarithmic"_s,
        u"messages"_s, 0, yMax, body + ticks, {});
}

QString row(const QString &name, const QString &value, bool bad = false)
{
    return u"<tr%1><th>%2</th><td>%3</td></tr>"_s.arg(
        bad ? u" class=\"bad\""_s : QString(), esc(name), esc(value));
}

QString latencyRow(const QString &name, const Histogram &h)
{
    auto ms = [](qint64 us) { return num(double(us) / 1000.0); };
    return u"<tr><th>%1</th><td>%2</td><td>%3</td><td>%4</td><td>%5</td><td>%6</td>"
           u"<td>%7</td><td>%8</td></tr>"_s.arg(esc(name), ms(h.percentile(50)),
               ms(h.percentile(90)), ms(h.percentile(99)), ms(h.percentile(99.9)), ms(h.max()),
               num(h.mean() / 1000.0), QString::number(h.count()));
}

} // namespace

QByteArray htmlReport(const Report &r)
{
    const Verdict &v = r.verdict;
    const bool passed = r.failures.isEmpty();
    QList<Series> latency {
        {u"p50"_s, u"#4878d0"_s, {}}, {u"p90"_s, u"#ee854a"_s, {}}, {u"p99"_s, u"#d65f5f"_s, {}}};
    QList<Series> throughput {{u"sent/s"_s, u"#4878d0"_s, {}}, {u"delivered/s"_s, u"#6acc64"_s, {}},
        {u"errors/s"_s, u"#d65f5f"_s, {}}};
    QList<Series> online {{u"devices online"_s, u"#956cb4"_s, {}}};
    for (const TimelinePoint &p : r.timeline) {
        latency[0].values.append(double(p.deliver.percentile(50)) / 1000.0);
        latency[1].values.append(double(p.deliver.percentile(90)) / 1000.0);
        latency[2].values.append(double(p.deliver.percentile(99)) / 1000.0);
        throughput[0].values.append(double(p.sent));
        throughput[1].values.append(double(p.delivered));
        throughput[2].values.append(double(p.errors));
        online[0].values.append(double(p.online));
    }
    QString html
        = u"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
          u"<title>parley swarm report</title><style>"
          u"body{font-family:sans-serif;margin:24px;color:#222;max-width:900px}"
          u"table{border-collapse:collapse;margin:8px 0 20px}"
          u"th,td{border:1px solid #ccc;padding:3px 10px;text-align:right}"
          u"th{text-align:left;background:#f4f4f4}.bad td,.bad th{background:#fbe3e3}"
          u".verdict{font-size:22px;font-weight:bold;padding:8px 14px;display:inline-block}"
          u".pass{background:#dff3df;color:#185c18}.fail{background:#fbe3e3;color:#8b1a1a}"
          u"svg{display:block;margin:10px 0 24px;background:#fff;border:1px solid #ddd}"
          u".t{font-size:14px;font-weight:bold}.a{font-size:11px;fill:#555}"
          u".g{stroke:#eee}code{font-size:12px}</style></head><body>"_s;
    html += u"<h1>parley swarm report</h1>"_s;
    html += u"<div class=\"verdict %1\">%2</div>"_s.arg(
        passed ? u"pass"_s : u"fail"_s, passed ? u"PASS"_s : u"FAIL"_s);
    html += u"<p>%1 users (%2 devices, %3 shard%4) against <code>%5</code>, scenario "
            u"<b>%6</b>, %7 s of stages, %8 s in all. Report written %9.</p>"_s.arg(r.users)
                .arg(r.devices)
                .arg(r.shards)
                .arg(r.shards == 1 ? QString() : u"s"_s, esc(r.server), esc(r.scenario))
                .arg(num(r.durationSeconds), num(r.elapsedSeconds),
                    QDateTime::currentDateTimeUtc().toString(Qt::ISODate));
    if (!passed) {
        html += u"<ul>"_s;
        for (const QString &f : r.failures)
            html += u"<li class=\"bad\">"_s + esc(f) + u"</li>"_s;
        html += u"</ul>"_s;
    }
    html += u"<h2>Messages</h2><table>"_s;
    html += row(u"sent"_s, QString::number(v.sent)) + row(u"acked"_s, QString::number(v.acked))
        + row(u"delivered (per recipient device)"_s, QString::number(v.delivered))
        + row(u"lost"_s, QString::number(v.lost), v.lost > 0)
        + row(u"duplicates"_s, QString::number(v.duplicates), v.duplicates > 0)
        + row(u"reordered"_s, QString::number(v.reordered), v.reordered > 0)
        + row(u"unacked"_s, QString::number(v.unacked), v.unacked > 0)
        + row(u"devices signed in / online at the end"_s,
            u"%1 / %2"_s.arg(r.signedIn).arg(r.onlineAtEnd), r.onlineAtEnd == 0);
    for (auto it = v.errors.cbegin(); it != v.errors.cend(); ++it)
        html += row(u"error "_s + it.key(), QString::number(it.value()), true);
    for (auto it = r.actions.cbegin(); it != r.actions.cend(); ++it)
        html += row(u"action "_s + it.key(), QString::number(it.value()));
    html += u"</table><h2>Latency (ms, from each action's intended time)</h2><table>"
            u"<tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th>"
            u"<th>mean</th><th>count</th></tr>"_s;
    html += latencyRow(u"connect"_s, r.connect) + latencyRow(u"send->ack"_s, r.ack)
        + latencyRow(u"send->deliver"_s, r.deliver) + latencyRow(u"receipt round trip"_s, r.receipt)
        + latencyRow(u"history"_s, r.history) + latencyRow(u"search"_s, r.search)
        + latencyRow(u"swarm overhead: echo"_s, r.echo)
        + latencyRow(u"swarm overhead: schedule lag"_s, r.lag);
    html += u"</table><p>The echo row is the swarm's own overhead: a trivial in-process "
            u"WebSocket echo measured through the same event loops that drive the users. "
            u"Swarm CPU: %1 s (%2 &micro;s per message).</p>"_s.arg(
                num(r.cpuSeconds), num(r.cpuSeconds * 1e6 / double(std::max<qint64>(1, v.sent))));
    html += lineChart(u"send->deliver latency percentiles per second"_s, u"ms"_s, latency);
    html += lineChart(u"throughput"_s, u"per second"_s, throughput);
    html += lineChart(u"devices online"_s, u"devices"_s, online);
    html += histogramChart(r.deliver);
    if (!r.thresholds.isEmpty()) {
        html += u"<h2>Thresholds</h2><table><tr><th>rule</th><th>actual</th><th></th></tr>"_s;
        for (const ThresholdResult &t : r.thresholds)
            html += u"<tr%1><th><code>%2</code></th><td>%3</td><td>%4</td></tr>"_s.arg(
                t.passed ? QString() : u" class=\"bad\""_s, esc(t.expression),
                QString::number(t.actual, 'g', 6), t.passed ? u"pass"_s : u"FAIL"_s);
        html += u"</table>"_s;
    }
    if (!v.offenders.isEmpty()) {
        html += u"<h2>First offenders</h2><table><tr><th>kind</th><th>cid</th><th>conversation"
                u"</th><th>detail</th></tr>"_s;
        for (const Offender &o : v.offenders)
            html += u"<tr class=\"bad\"><th>%1</th><td><code>%2</code></td><td>%3</td>"
                    u"<td>%4</td></tr>"_s.arg(esc(o.kind), esc(o.cid), esc(o.conv), esc(o.detail));
        html += u"</table>"_s;
    }
    html += u"</body></html>\n"_s;
    return html.toUtf8();
}

} // namespace parley::swarm
