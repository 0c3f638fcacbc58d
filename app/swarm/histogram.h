// A log-linear, HDR-style latency histogram of non-negative integer values (the swarm
// records microseconds). Values below 256 get a bucket each; above that, every power of
// two is split into 128 equal buckets, so a bucket is at most 1/128 of its lower bound
// wide and a reported percentile (the bucket's midpoint) is within 0.4% of the value.
// The count, exact minimum, maximum and sum are kept beside the buckets.
//
// Written here because Debian packages no C or C++ HDR histogram library (only the Java
// and Go ones); this is the few dozen lines of it the swarm needs, with merging and a
// JSON form so reports from several machines can be merged.
#pragma once

#include <QJsonObject>
#include <QString>

#include <optional>
#include <vector>

namespace parley::swarm {

class Histogram
{
public:
    static constexpr int SubBucketBits = 7; // 128 buckets per power of two
    static constexpr qint64 LinearLimit = qint64(1) << (SubBucketBits + 1); // 256

    void record(qint64 value, qint64 count = 1); // negative values count as 0
    void merge(const Histogram &other);
    void clear() { *this = Histogram(); }

    qint64 count() const { return m_count; }
    qint64 min() const { return m_count ? m_min : 0; }
    qint64 max() const { return m_max; }
    double mean() const { return m_count ? double(m_sum) / double(m_count) : 0.0; }
    // The value at or below which `percent` (0..100) of the recorded values lie (nearest
    // rank), 0 when empty. Never outside [min(), max()].
    qint64 percentile(double percent) const;

    // Buckets as (lowest value, count) for charts, ascending, empty ones left out.
    struct Bucket
    {
        qint64 low = 0;
        qint64 high = 0; // inclusive
        qint64 count = 0;
    };
    std::vector<Bucket> buckets() const;

    // {"count","min","max","sum","buckets":[[index,count],...]}: exact, mergeable.
    QJsonObject toJson() const;
    static std::optional<Histogram> fromJson(const QJsonObject &json, QString *error);

    static int indexOf(qint64 value);
    static qint64 lowestOf(int index);
    static qint64 highestOf(int index);

private:
    std::vector<qint64> m_counts;
    qint64 m_count = 0;
    qint64 m_min = 0;
    qint64 m_max = 0;
    qint64 m_sum = 0;
};

} // namespace parley::swarm
