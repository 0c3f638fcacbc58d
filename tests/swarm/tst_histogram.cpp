// The log-linear histogram: every value comes back within 1% from a percentile, merges
// are exact, and the JSON form round-trips and refuses damaged input.
#include "histogram.h"

#include <QJsonArray>
#include <QRandomGenerator>
#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;
using parley::swarm::Histogram;

class TestHistogram : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void bucketsTileTheRange()
    {
        // Each bucket starts right after the previous one ends, and holds its own bounds.
        for (int index = 1; index < Histogram::indexOf(qint64(1) << 40); ++index) {
            QCOMPARE(Histogram::lowestOf(index), Histogram::highestOf(index - 1) + 1);
            QCOMPARE(Histogram::indexOf(Histogram::lowestOf(index)), index);
            QCOMPARE(Histogram::indexOf(Histogram::highestOf(index)), index);
        }
    }

    void percentilesWithinOnePercent_data()
    {
        QTest::addColumn<QString>("distribution");
        QTest::newRow("uniform 0..1e6") << u"uniform"_s;
        QTest::newRow("log-normal around 2 ms") << u"lognormal"_s;
        QTest::newRow("bimodal 300 us / 40 s") << u"bimodal"_s;
        QTest::newRow("small integers") << u"small"_s;
    }
    void percentilesWithinOnePercent()
    {
        QFETCH(QString, distribution);
        QRandomGenerator random(42);
        std::vector<qint64> values;
        Histogram h;
        for (int i = 0; i < 200000; ++i) {
            qint64 v = 0;
            if (distribution == u"uniform"_s) {
                v = random.bounded(1000001);
            } else if (distribution == u"lognormal"_s) {
                const double u1 = std::max(random.generateDouble(), 1e-12);
                const double u2 = random.generateDouble();
                const double normal = std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
                v = qint64(2000 * std::exp(1.5 * normal));
            } else if (distribution == u"bimodal"_s) {
                v = random.bounded(10) == 0 ? 40'000'000 + random.bounded(1000000)
                                            : 300 + random.bounded(50);
            } else {
                v = random.bounded(300);
            }
            values.push_back(v);
            h.record(v);
        }
        std::sort(values.begin(), values.end());
        QCOMPARE(h.count(), qint64(values.size()));
        QCOMPARE(h.min(), values.front());
        QCOMPARE(h.max(), values.back());
        double sum = 0;
        for (const qint64 v : values)
            sum += double(v);
        QCOMPARE(qRound64(h.mean()), qRound64(sum / double(values.size())));
        for (const double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
            const size_t rank
                = size_t(std::max(1.0, std::ceil(p / 100.0 * double(values.size())))) - 1;
            const double exact = double(values[rank]);
            const double got = double(h.percentile(p));
            QVERIFY2(std::abs(got - exact) <= std::max(0.01 * exact, 0.5),
                qPrintable(u"p%1: exact %2, histogram %3"_s.arg(p).arg(exact).arg(got)));
        }
    }

    void emptyAndNegative()
    {
        Histogram h;
        QCOMPARE(h.percentile(99), 0);
        QCOMPARE(h.mean(), 0.0);
        h.record(-5); // a clock step backwards reads as 0, never as a huge value
        QCOMPARE(h.max(), 0);
        QCOMPARE(h.count(), 1);
    }

    void mergeEqualsRecordingEverything()
    {
        QRandomGenerator random(7);
        Histogram a, b, all;
        for (int i = 0; i < 50000; ++i) {
            const qint64 v = random.bounded(5'000'000);
            (i % 3 ? a : b).record(v);
            all.record(v);
        }
        a.merge(b);
        QCOMPARE(a.count(), all.count());
        QCOMPARE(a.max(), all.max());
        QCOMPARE(a.min(), all.min());
        QCOMPARE(a.mean(), all.mean());
        for (const double p : {50.0, 90.0, 99.0, 99.9})
            QCOMPARE(a.percentile(p), all.percentile(p));
        QCOMPARE(a.toJson(), all.toJson());
    }

    void jsonRoundTrip()
    {
        Histogram h;
        for (qint64 v : {0, 3, 255, 256, 1000, 123456789})
            h.record(v, v % 7 + 1);
        QString error;
        const auto back = Histogram::fromJson(h.toJson(), &error);
        QVERIFY2(back, qPrintable(error));
        QCOMPARE(back->toJson(), h.toJson());
        QCOMPARE(back->percentile(99.9), h.percentile(99.9));
    }

    void jsonRefusesDamage_data()
    {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QJsonValue>("value");
        QTest::addColumn<QString>("message");
        QTest::newRow("count disagrees") << u"count"_s << QJsonValue(99) << u"'count' is 99"_s;
        QTest::newRow("count missing") << u"count"_s << QJsonValue() << u"'count' must be"_s;
        QTest::newRow("bucket not a pair")
            << u"buckets"_s << QJsonValue(QJsonArray {QJsonArray {1}}) << u"[index, count]"_s;
        QTest::newRow("index too high")
            << u"buckets"_s << QJsonValue(QJsonArray {QJsonArray {99999999, 1}})
            << u"out of range"_s;
        QTest::newRow("negative count")
            << u"buckets"_s << QJsonValue(QJsonArray {QJsonArray {3, -1}}) << u"out of range"_s;
    }
    void jsonRefusesDamage()
    {
        QFETCH(QString, field);
        QFETCH(QJsonValue, value);
        QFETCH(QString, message);
        Histogram h;
        h.record(5);
        QJsonObject json = h.toJson();
        if (value.isUndefined() || value.isNull())
            json.remove(field);
        else
            json.insert(field, value);
        QString error;
        QVERIFY(!Histogram::fromJson(json, &error));
        QVERIFY2(error.contains(message), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestHistogram)
#include "tst_histogram.moc"
