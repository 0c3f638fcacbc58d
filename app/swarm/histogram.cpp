#include "histogram.h"

#include <QJsonArray>

#include <algorithm>
#include <bit>
#include <cmath>

using namespace Qt::StringLiterals;

namespace parley::swarm {

namespace {
constexpr int SubBuckets = 1 << Histogram::SubBucketBits;
// Indexes past this would describe values beyond 2^62: nothing the swarm measures.
constexpr int MaxIndex = int(Histogram::LinearLimit) + (62 - Histogram::SubBucketBits) * SubBuckets;
} // namespace

int Histogram::indexOf(qint64 value)
{
    if (value < LinearLimit)
        return int(std::max<qint64>(value, 0));
    const int exponent = int(std::bit_width(quint64(value))) - 1; // >= SubBucketBits + 1
    const int shift = exponent - SubBucketBits;
    const int sub = int(value >> shift) - SubBuckets; // 0..127
    return int(LinearLimit) + (exponent - SubBucketBits - 1) * SubBuckets + sub;
}

qint64 Histogram::lowestOf(int index)
{
    if (index < LinearLimit)
        return index;
    const int above = index - int(LinearLimit);
    const int shift = above / SubBuckets + 1;
    const int sub = above % SubBuckets;
    return qint64(SubBuckets + sub) << shift;
}

qint64 Histogram::highestOf(int index)
{
    if (index < LinearLimit)
        return index;
    const int shift = (index - int(LinearLimit)) / SubBuckets + 1;
    return lowestOf(index) + (qint64(1) << shift) - 1;
}

void Histogram::record(qint64 value, qint64 count)
{
    if (count <= 0)
        return;
    value = std::max<qint64>(value, 0);
    const int index = indexOf(value);
    if (size_t(index) >= m_counts.size())
        m_counts.resize(size_t(index) + 1, 0);
    m_counts[size_t(index)] += count;
    m_min = m_count ? std::min(m_min, value) : value;
    m_max = std::max(m_max, value);
    m_count += count;
    m_sum += value * count;
}

void Histogram::merge(const Histogram &other)
{
    if (!other.m_count)
        return;
    if (other.m_counts.size() > m_counts.size())
        m_counts.resize(other.m_counts.size(), 0);
    for (size_t i = 0; i < other.m_counts.size(); ++i)
        m_counts[i] += other.m_counts[i];
    m_min = m_count ? std::min(m_min, other.m_min) : other.m_min;
    m_max = std::max(m_max, other.m_max);
    m_count += other.m_count;
    m_sum += other.m_sum;
}

qint64 Histogram::percentile(double percent) const
{
    if (!m_count)
        return 0;
    const double p = std::clamp(percent, 0.0, 100.0);
    const qint64 rank = std::max<qint64>(1, qint64(std::ceil(p / 100.0 * double(m_count))));
    qint64 seen = 0;
    for (size_t i = 0; i < m_counts.size(); ++i) {
        seen += m_counts[i];
        if (seen >= rank) {
            const int index = int(i);
            const qint64 middle = (lowestOf(index) + highestOf(index)) / 2;
            return std::clamp(middle, m_min, m_max);
        }
    }
    return m_max;
}

std::vector<Histogram::Bucket> Histogram::buckets() const
{
    std::vector<Bucket> out;
    for (size_t i = 0; i < m_counts.size(); ++i) {
        if (m_counts[i])
            out.push_back({lowestOf(int(i)), highestOf(int(i)), m_counts[i]});
    }
    return out;
}

QJsonObject Histogram::toJson() const
{
    QJsonArray buckets;
    for (size_t i = 0; i < m_counts.size(); ++i) {
        if (m_counts[i])
            buckets.append(QJsonArray {qint64(i), m_counts[i]});
    }
    return QJsonObject {{u"count"_s, m_count}, {u"min"_s, min()}, {u"max"_s, m_max},
        {u"sum"_s, m_sum}, {u"buckets"_s, buckets}};
}

std::optional<Histogram> Histogram::fromJson(const QJsonObject &json, QString *error)
{
    auto fail = [error](const QString &why) {
        *error = why;
        return std::nullopt;
    };
    for (const QString &key : {u"count"_s, u"min"_s, u"max"_s, u"sum"_s}) {
        if (!json.value(key).isDouble() || json.value(key).toDouble() < 0)
            return fail(u"'%1' must be a number >= 0"_s.arg(key));
    }
    if (!json.value(u"buckets"_s).isArray())
        return fail(u"'buckets' must be an array of [index, count]"_s);
    Histogram h;
    qint64 total = 0;
    for (const QJsonValue &entry : json.value(u"buckets"_s).toArray()) {
        const QJsonArray pair = entry.toArray();
        if (pair.size() != 2 || !pair.at(0).isDouble() || !pair.at(1).isDouble())
            return fail(u"'buckets' entries must be [index, count]"_s);
        const qint64 index = pair.at(0).toInteger(-1);
        const qint64 count = pair.at(1).toInteger(-1);
        if (index < 0 || index > MaxIndex || count <= 0)
            return fail(u"'buckets' entry [%1, %2] is out of range"_s.arg(index).arg(count));
        if (size_t(index) >= h.m_counts.size())
            h.m_counts.resize(size_t(index) + 1, 0);
        h.m_counts[size_t(index)] += count;
        total += count;
    }
    h.m_count = json.value(u"count"_s).toInteger();
    if (total != h.m_count)
        return fail(u"'count' is %1 but the buckets hold %2"_s.arg(h.m_count).arg(total));
    h.m_min = json.value(u"min"_s).toInteger();
    h.m_max = json.value(u"max"_s).toInteger();
    h.m_sum = json.value(u"sum"_s).toInteger();
    return h;
}

} // namespace parley::swarm
