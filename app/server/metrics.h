// A small thread-safe Prometheus registry, rendered for GET /metrics.
// Registration takes a lock; updating a metric (Counter::inc, FloatCounter::add, Gauge::set,
// Histogram::observe) is lock-free, so hot paths keep the returned reference
// and never look a metric up again.
#pragma once

#include <QByteArray>
#include <QByteArrayView>
#include <QList>
#include <QMutex>

#include <array>
#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

namespace parley::server {

struct MetricLabel
{
    QByteArray name; // [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"
    QByteArray value; // any UTF-8; escaped on output
};
using MetricLabels = QList<MetricLabel>;

class Counter
{
public:
    void inc(quint64 n = 1) noexcept { m_value.fetch_add(n, std::memory_order_relaxed); }
    quint64 value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<quint64> m_value {0};
};

// A counter of amounts that need not be whole (DynamoDB's capacity units come in halves):
// rendered as a Prometheus counter like Counter. Amounts that are not positive and finite
// are dropped, so it never goes down and never turns into NaN or infinity.
class FloatCounter
{
public:
    void add(double amount) noexcept
    {
        if (std::isfinite(amount) && amount > 0)
            m_value.fetch_add(amount, std::memory_order_relaxed);
    }
    double value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<double> m_value {0};
};

class Gauge
{
public:
    void set(double v) noexcept { m_value.store(v, std::memory_order_relaxed); }
    void add(double delta) noexcept { m_value.fetch_add(delta, std::memory_order_relaxed); }
    void inc() noexcept { add(1); }
    void dec() noexcept { add(-1); }
    double value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<double> m_value {0};
};

class Histogram
{
public:
    // Finite upper bounds, strictly increasing; +Inf is implicit.
    explicit Histogram(std::span<const double> upperBounds);

    // NaN is dropped: it belongs in no bucket and would poison the sum.
    void observe(double value) noexcept;

    const std::vector<double> &upperBounds() const { return m_bounds; }
    // One cumulative count per upper bound, then the +Inf bucket (== count()).
    std::vector<quint64> cumulativeCounts() const;
    quint64 count() const;
    double sum() const { return m_sum.load(std::memory_order_relaxed); }

private:
    std::vector<double> m_bounds;
    // Per-bucket (not cumulative) counts, so observe() touches one atomic; the
    // last one is the +Inf bucket.
    std::unique_ptr<std::atomic<quint64>[]> m_counts;
    std::atomic<double> m_sum {0};
};

class Metrics
{
public:
    // Buckets for latencies in seconds, 0.5 ms to 5 s (parley_ack_latency_seconds).
    static constexpr std::array<double, 13> LatencyBuckets {
        0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
    // Content-Type of exposition().
    static constexpr QByteArrayView ContentType {"text/plain; version=0.0.4; charset=utf-8"};

    Metrics();
    ~Metrics();
    Q_DISABLE_COPY_MOVE(Metrics)

    // Each returns the one metric for name + labels (label order does not
    // matter), creating it on first use; the reference stays valid for the
    // registry's lifetime. The first registration of a name fixes its help
    // text and type. A counter's name gets "_total" appended if it lacks it.
    Counter &counter(QByteArrayView name, QByteArrayView help, const MetricLabels &labels = {});
    // The same for amounts that need not be whole; one family may hold series of both.
    FloatCounter &floatCounter(
        QByteArrayView name, QByteArrayView help, const MetricLabels &labels = {});
    Gauge &gauge(QByteArrayView name, QByteArrayView help, const MetricLabels &labels = {});
    Histogram &histogram(QByteArrayView name, QByteArrayView help,
        std::span<const double> upperBounds, const MetricLabels &labels = {});

    // A gauge computed at scrape time; registering again replaces the callback.
    // The callback runs under the registry lock on the scraping thread: it must
    // be thread-safe and must not call into this registry. Remove it before
    // whatever it reads is destroyed.
    void gaugeCallback(QByteArrayView name, QByteArrayView help, std::function<double()> read,
        const MetricLabels &labels = {});
    void removeGaugeCallback(QByteArrayView name, const MetricLabels &labels = {});

    // process_start_time_seconds, and process_resident_memory_bytes where
    // /proc/self/statm exists (Linux).
    void registerProcessMetrics();

    // Prometheus text format 0.0.4, families sorted by name.
    QByteArray exposition() const;

private:
    enum class Type {
        Counter,
        Gauge,
        Histogram,
    };
    struct Series
    {
        std::unique_ptr<Counter> counter;
        std::unique_ptr<FloatCounter> floatCounter;
        std::unique_ptr<Gauge> gauge;
        std::function<double()> read;
        std::unique_ptr<Histogram> histogram;
    };
    struct Family
    {
        Type type;
        QByteArray help;
        // Keyed by the rendered label set ('a="1",b="2"', names sorted).
        std::map<QByteArray, Series> series;
    };

    Series &series(Type type, QByteArrayView name, QByteArrayView help, const MetricLabels &labels);

    mutable QMutex m_mutex;
    std::map<QByteArray, Family> m_families;
    // Series handed out for a name already registered as another type (a
    // programming error, asserted in debug builds): kept alive, never rendered.
    std::vector<std::unique_ptr<Series>> m_orphans;
};

} // namespace parley::server
