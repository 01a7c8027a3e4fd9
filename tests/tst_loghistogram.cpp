#include "capture/loghistogram.h"
#include "capture/sitestats.h"

#include <QTest>

#include <cmath>
#include <random>

using sparsity::LogHistogram;

class TestLogHistogram : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void binContainsItsValue_data()
    {
        QTest::addColumn<float>("value");
        for (float v : {1e-7f, 1e-6f, 3.3e-5f, 0.001f, 0.1f, 0.5f, 1.0f, 1.0625f, 2.0f, 5.99f, 100.0f, 60000.0f})
            QTest::newRow(QByteArray::number(double(v)).constData()) << v;
    }
    void binContainsItsValue()
    {
        QFETCH(float, value);
        const int bin = LogHistogram::binOf(value);
        QVERIFY(bin > 0 && bin < LogHistogram::kBinCount - 1);
        QVERIFY(LogHistogram::lowerEdge(bin) <= double(value));
        QVERIFY(double(value) < LogHistogram::upperEdge(bin));
    }
    void outOfRangeValuesGoToEndBins()
    {
        QCOMPARE(LogHistogram::binOf(1e-9f), 0);
        QCOMPARE(LogHistogram::binOf(1e6f), LogHistogram::kBinCount - 1);
        QCOMPARE(LogHistogram::binOf(std::ldexp(1.0f, LogHistogram::kMinExponent)), 1);
    }
    void edgesAreContiguousAndIncreasing()
    {
        for (int b = 0; b < LogHistogram::kBinCount - 1; ++b) {
            QCOMPARE(LogHistogram::upperEdge(b), LogHistogram::lowerEdge(b + 1));
            QVERIFY(LogHistogram::lowerEdge(b) < LogHistogram::upperEdge(b));
        }
    }
    void countBelowAndQuantileAreInverse()
    {
        std::mt19937 rng(7);
        std::exponential_distribution<float> dist(2.0f);
        LogHistogram h;
        std::vector<float> values(20000);
        for (auto &v : values) {
            v = dist(rng) + 1e-6f;
            h.add(v);
        }
        QCOMPARE(h.total(), qint64(values.size()));
        std::sort(values.begin(), values.end());
        for (double q : {0.1, 0.5, 0.9}) {
            const double t = h.quantileValue(q * double(values.size()));
            const double exact = double(values[std::size_t(q * double(values.size()))]);
            QVERIFY2(std::abs(t - exact) / exact < 0.1, qPrintable(QStringLiteral("q=%1 t=%2 exact=%3").arg(q).arg(t).arg(exact)));
            QVERIFY(std::abs(h.countAtOrBelow(t) - q * double(values.size())) < 1.0);
        }
    }
    void siteStatsEstimatesSparsity()
    {
        sparsity::SiteStats s;
        s.elements = 1000;
        s.zeros = 500;
        for (int i = 0; i < 500; ++i)
            s.positive.add(float(i + 1) / 500.0f); // uniform over (0, 1]
        s.max = 1.0f;
        QCOMPARE(s.thresholdForSparsity(1.0), 1.0); // never above the largest value seen
        QCOMPARE(s.estimatedSparsityAt(0.0), 0.5);
        QVERIFY(std::abs(s.estimatedSparsityAt(0.5) - 0.75) < 0.01);
        QVERIFY(std::abs(s.thresholdForSparsity(0.75) - 0.5) < 0.02);
        QCOMPARE(s.thresholdForSparsity(0.3), 0.0);
        sparsity::SiteStats other = s;
        s.merge(other);
        QCOMPARE(s.elements, qint64(2000));
        QCOMPARE(s.positive.total(), qint64(1000));
    }
};

QTEST_APPLESS_MAIN(TestLogHistogram)
#include "tst_loghistogram.moc"
