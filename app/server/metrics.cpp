#include "metrics.h"

#include <QDateTime>
#include <QFile>
#include <QLocale>

#include <algorithm>
#include <cmath>

#ifdef Q_OS_LINUX
#include <unistd.h>
#endif

namespace parley::server {

namespace {

// Close to process start wherever /proc is missing: static initialisation runs
// before main().
const qint64 staticInitMs = QDateTime::currentMSecsSinceEpoch();

bool isMetricName(QByteArrayView name)
{
    if (name.isEmpty())
        return false;
    for (qsizetype i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'
            || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

bool isLabelName(QByteArrayView name)
{
    return isMetricName(name) && !name.contains(':') && !name.startsWith("__");
}

QByteArray formatDouble(double v)
{
    if (std::isnan(v))
        return "NaN";
    if (std::isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    // Shortest round-trip digits; plain notation in the range JavaScript uses
    // for it, so 400000 and 0.0005 read as such rather than 4e+05 and 5e-04.
    const double magnitude = std::abs(v);
    const bool plain = magnitude == 0 || (magnitude >= 1e-7 && magnitude < 1e21);
    return QByteArray::number(v, plain ? 'f' : 'g', QLocale::FloatingPointShortest);
}

QByteArray escapeLabelValue(QByteArrayView value)
{
    QByteArray out;
    out.reserve(value.size());
    for (char c : value) {
        switch (c) {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out += c;
        }
    }
    return out;
}

QByteArray escapeHelp(QByteArrayView help)
{
    QByteArray out;
    out.reserve(help.size());
    for (char c : help) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

// The canonical label set: names sorted, so {a,b} and {b,a} are one series.
QByteArray renderLabels(MetricLabels labels)
{
    std::sort(labels.begin(), labels.end(),
        [](const MetricLabel &l, const MetricLabel &r) { return l.name < r.name; });
    QByteArray out;
    for (const MetricLabel &l : std::as_const(labels)) {
        Q_ASSERT_X(isLabelName(l.name), "Metrics", "invalid label name");
        if (!out.isEmpty())
            out += ',';
        out += l.name;
        out += "=\"";
        out += escapeLabelValue(l.value);
        out += '"';
    }
    return out;
}

// One sample line: name + suffix, then the label set (plus an "le" label for
// histogram buckets), then the value.
void appendSample(QByteArray &out, QByteArrayView name, QByteArrayView suffix,
    QByteArrayView labels, QByteArrayView value, QByteArrayView le = {})
{
    out += name;
    out += suffix;
    if (!labels.isEmpty() || !le.isEmpty()) {
        out += '{';
        out += labels;
        if (!le.isEmpty()) {
            if (!labels.isEmpty())
                out += ',';
            out += "le=\"";
            out += le;
            out += '"';
        }
        out += '}';
    }
    out += ' ';
    out += value;
    out += '\n';
}

#ifdef Q_OS_LINUX
QByteArray readProcFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll(); // /proc files report size 0; readAll reads to EOF anyway
}

double residentMemoryBytes()
{
    // statm: size resident shared text lib data dt, in pages.
    const QList<QByteArray> fields = readProcFile(QStringLiteral("/proc/self/statm")).split(' ');
    bool ok = false;
    const qint64 pages = fields.size() > 1 ? fields.at(1).toLongLong(&ok) : 0;
    if (!ok)
        return std::nan("");
    return double(pages) * double(sysconf(_SC_PAGESIZE));
}

// Boot time plus the process's start in clock ticks since boot, as the
// Prometheus Go client computes it.
double procStartTimeSeconds()
{
    const QByteArray stat = readProcFile(QStringLiteral("/proc/self/stat"));
    // The command name (field 2) may hold spaces and parentheses: skip past its last ')'.
    const qsizetype close = stat.lastIndexOf(')');
    if (close < 0)
        return std::nan("");
    const QList<QByteArray> fields = stat.mid(close + 2).simplified().split(' ');
    constexpr int StartTimeIndex = 22 - 3; // field 22, counting from field 3 (state)
    if (fields.size() <= StartTimeIndex)
        return std::nan("");
    bool ok = false;
    const double ticks = fields.at(StartTimeIndex).toDouble(&ok);
    if (!ok)
        return std::nan("");

    const QByteArray procStat = readProcFile(QStringLiteral("/proc/stat"));
    for (const QByteArray &line : procStat.split('\n')) {
        if (line.startsWith("btime ")) {
            const double bootTime = line.mid(6).trimmed().toDouble(&ok);
            if (!ok)
                return std::nan("");
            return bootTime + ticks / double(sysconf(_SC_CLK_TCK));
        }
    }
    return std::nan("");
}
#endif

} // namespace

Histogram::Histogram(std::span<const double> upperBounds)
    : m_bounds(upperBounds.begin(), upperBounds.end())
    , m_counts(new std::atomic<quint64>[upperBounds.size() + 1])
{
    Q_ASSERT_X(std::adjacent_find(m_bounds.begin(), m_bounds.end(), std::greater_equal<>())
            == m_bounds.end(),
        "Histogram", "upper bounds must be strictly increasing");
    Q_ASSERT_X(
        std::all_of(m_bounds.begin(), m_bounds.end(), [](double b) { return std::isfinite(b); }),
        "Histogram", "upper bounds must be finite (+Inf is implicit)");
    for (size_t i = 0; i <= m_bounds.size(); ++i)
        m_counts[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double value) noexcept
{
    if (std::isnan(value))
        return;
    // Buckets are "less than or equal": the first bound >= value.
    const auto bucket
        = std::lower_bound(m_bounds.begin(), m_bounds.end(), value) - m_bounds.begin();
    m_counts[bucket].fetch_add(1, std::memory_order_relaxed);
    m_sum.fetch_add(value, std::memory_order_relaxed);
}

std::vector<quint64> Histogram::cumulativeCounts() const
{
    std::vector<quint64> out(m_bounds.size() + 1);
    quint64 running = 0;
    for (size_t i = 0; i < out.size(); ++i) {
        running += m_counts[i].load(std::memory_order_relaxed);
        out[i] = running;
    }
    return out;
}

quint64 Histogram::count() const
{
    quint64 total = 0;
    for (size_t i = 0; i <= m_bounds.size(); ++i)
        total += m_counts[i].load(std::memory_order_relaxed);
    return total;
}

Metrics::Metrics() = default;
Metrics::~Metrics() = default;

Metrics::Series &Metrics::series(
    Type type, QByteArrayView name, QByteArrayView help, const MetricLabels &labels)
{
    Q_ASSERT_X(isMetricName(name), "Metrics", "invalid metric name");
    const QByteArray key = renderLabels(labels);
    // Caller holds m_mutex.
    auto [family, inserted] = m_families.try_emplace(name.toByteArray());
    if (inserted) {
        family->second.type = type;
        family->second.help = help.toByteArray();
    } else if (family->second.type != type) {
        Q_ASSERT_X(false, "Metrics", "metric registered again with another type");
        return *m_orphans.emplace_back(std::make_unique<Series>());
    }
    return family->second.series[key];
}

Counter &Metrics::counter(QByteArrayView name, QByteArrayView help, const MetricLabels &labels)
{
    QByteArray fullName = name.toByteArray();
    if (!fullName.endsWith("_total"))
        fullName += "_total";
    QMutexLocker lock(&m_mutex);
    Series &s = series(Type::Counter, fullName, help, labels);
    Q_ASSERT_X(!s.floatCounter, "Metrics", "counter already registered as a FloatCounter");
    if (!s.counter)
        s.counter = std::make_unique<Counter>();
    return *s.counter;
}

FloatCounter &Metrics::floatCounter(
    QByteArrayView name, QByteArrayView help, const MetricLabels &labels)
{
    QByteArray fullName = name.toByteArray();
    if (!fullName.endsWith("_total"))
        fullName += "_total";
    QMutexLocker lock(&m_mutex);
    Series &s = series(Type::Counter, fullName, help, labels);
    Q_ASSERT_X(!s.counter, "Metrics", "FloatCounter already registered as a Counter");
    if (!s.floatCounter)
        s.floatCounter = std::make_unique<FloatCounter>();
    return *s.floatCounter;
}

Gauge &Metrics::gauge(QByteArrayView name, QByteArrayView help, const MetricLabels &labels)
{
    QMutexLocker lock(&m_mutex);
    Series &s = series(Type::Gauge, name, help, labels);
    Q_ASSERT_X(!s.read, "Metrics", "gauge already registered as a callback");
    if (!s.gauge)
        s.gauge = std::make_unique<Gauge>();
    return *s.gauge;
}

Histogram &Metrics::histogram(QByteArrayView name, QByteArrayView help,
    std::span<const double> upperBounds, const MetricLabels &labels)
{
    QMutexLocker lock(&m_mutex);
    Series &s = series(Type::Histogram, name, help, labels);
    if (!s.histogram)
        s.histogram = std::make_unique<Histogram>(upperBounds);
    Q_ASSERT_X(std::ranges::equal(s.histogram->upperBounds(), upperBounds), "Metrics",
        "histogram registered again with other buckets");
    return *s.histogram;
}

void Metrics::gaugeCallback(QByteArrayView name, QByteArrayView help, std::function<double()> read,
    const MetricLabels &labels)
{
    QMutexLocker lock(&m_mutex);
    Series &s = series(Type::Gauge, name, help, labels);
    Q_ASSERT_X(!s.gauge, "Metrics", "callback registered over a settable gauge");
    s.read = std::move(read);
}

void Metrics::removeGaugeCallback(QByteArrayView name, const MetricLabels &labels)
{
    QMutexLocker lock(&m_mutex);
    const auto family = m_families.find(name.toByteArray());
    if (family == m_families.end() || family->second.type != Type::Gauge)
        return;
    const auto it = family->second.series.find(renderLabels(labels));
    if (it == family->second.series.end() || !it->second.read)
        return;
    family->second.series.erase(it);
    if (family->second.series.empty())
        m_families.erase(family);
}

void Metrics::registerProcessMetrics()
{
    double startTime = double(staticInitMs) / 1000.0;
#ifdef Q_OS_LINUX
    if (QFile::exists(QStringLiteral("/proc/self/statm"))) {
        gaugeCallback(
            "process_resident_memory_bytes", "Resident memory size in bytes.", residentMemoryBytes);
    }
    if (const double fromProc = procStartTimeSeconds(); !std::isnan(fromProc))
        startTime = fromProc;
#endif
    gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
        .set(startTime);
}

QByteArray Metrics::exposition() const
{
    QByteArray out;
    QMutexLocker lock(&m_mutex);
    for (const auto &[name, family] : m_families) {
        out += "# HELP ";
        out += name;
        out += ' ';
        out += escapeHelp(family.help);
        out += "\n# TYPE ";
        out += name;
        out += ' ';
        out += family.type == Type::Counter ? QByteArrayView("counter")
            : family.type == Type::Gauge    ? QByteArrayView("gauge")
                                            : QByteArrayView("histogram");
        out += '\n';
        for (const auto &[labels, s] : family.series) {
            switch (family.type) {
            case Type::Counter:
                appendSample(out, name, {}, labels,
                    s.floatCounter ? formatDouble(s.floatCounter->value())
                                   : QByteArray::number(s.counter ? s.counter->value() : 0));
                break;
            case Type::Gauge: {
                const double v = s.read ? s.read() : s.gauge ? s.gauge->value() : 0.0;
                appendSample(out, name, {}, labels, formatDouble(v));
                break;
            }
            case Type::Histogram: {
                if (!s.histogram)
                    break;
                const std::vector<double> &bounds = s.histogram->upperBounds();
                const std::vector<quint64> counts = s.histogram->cumulativeCounts();
                for (size_t i = 0; i < counts.size(); ++i) {
                    const QByteArray le = i < bounds.size() ? formatDouble(bounds[i]) : "+Inf";
                    appendSample(out, name, "_bucket", labels, QByteArray::number(counts[i]), le);
                }
                // _count from the same snapshot as the buckets, so it always
                // equals the +Inf bucket as Prometheus expects.
                appendSample(out, name, "_sum", labels, formatDouble(s.histogram->sum()));
                appendSample(out, name, "_count", labels, QByteArray::number(counts.back()));
                break;
            }
            }
        }
    }
    return out;
}

} // namespace parley::server
