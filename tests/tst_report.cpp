// Report building for sparsity-cli: table alignment, number formatting, progress line, CSV quoting, presets.
#include "error.h"
#include "io/report.h"
#include "texttables.h"

#include <QTest>

#include <cmath>

using namespace sparsity;

class TestReport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void tableAlignsColumns()
    {
        text::TextTable t;
        t.addColumn(QStringLiteral("name"), text::TextTable::Align::Left);
        t.addColumn(QStringLiteral("value"));
        t.addRow({QStringLiteral("a"), QStringLiteral("1")});
        t.addRow({QStringLiteral("longer name"), QStringLiteral("12345.6")});
        t.addSeparator();
        t.addRow({QStringLiteral("total")});
        const QString expected = QStringLiteral("name           value\n"
                                                "--------------------\n"
                                                "a                  1\n"
                                                "longer name  12345.6\n"
                                                "--------------------\n"
                                                "total\n");
        QCOMPARE(t.render(), expected);
        QCOMPARE(t.rowCount(), 4);
    }

    void numbers_data()
    {
        QTest::addColumn<QString>("actual");
        QTest::addColumn<QString>("expected");
        QTest::newRow("count small") << text::count(640) << QStringLiteral("640");
        QTest::newRow("count k") << text::count(12544) << QStringLiteral("12.5k");
        QTest::newRow("count M") << text::count(1.81e6) << QStringLiteral("1.81M");
        QTest::newRow("count nan") << text::count(std::nan("")) << QStringLiteral("-");
        QTest::newRow("seconds ms") << text::seconds(0.00253) << QStringLiteral("2.53 ms");
        QTest::newRow("seconds s") << text::seconds(74.58) << QStringLiteral("74.58 s");
        QTest::newRow("joules uJ") << text::joules(82.97e-6) << QStringLiteral("82.97 uJ");
        QTest::newRow("watts mW") << text::watts(0.112) << QStringLiteral("112 mW");
        QTest::newRow("zero") << text::joules(0) << QStringLiteral("0 J");
        QTest::newRow("percent") << text::percent(0.4878, 2) << QStringLiteral("48.78 %");
        QTest::newRow("ratio") << text::ratio(2.144) << QStringLiteral("2.14x");
        QTest::newRow("ratio inf") << text::ratio(INFINITY) << QStringLiteral("-");
        QTest::newRow("shape") << text::shape({16, 28, 28}) << QStringLiteral("16x28x28");
        QTest::newRow("shape unknown") << text::shape({}) << QStringLiteral("?");
        QTest::newRow("progress bar") << text::progressLine(QStringLiteral("x"), 0.5, 1.2, 10)
                                      << QStringLiteral("x [#####.....]  50 %  1.2 s");
        QTest::newRow("progress plain") << text::progressLine(QStringLiteral("x"), 2.0, 3, 0) << QStringLiteral("x 100 %  3.0 s");
    }
    void numbers()
    {
        QFETCH(QString, actual);
        QFETCH(QString, expected);
        QCOMPARE(actual, expected);
    }

    void headerCarriesSchemaAndVersion()
    {
        const QJsonObject h = report::header(QStringLiteral("analyze"));
        QCOMPARE(h.value(QStringLiteral("schema")).toString(), QStringLiteral("sparsity-explorer/cli-report"));
        QCOMPARE(h.value(QStringLiteral("version")).toInt(), 1);
        QCOMPARE(h.value(QStringLiteral("command")).toString(), QStringLiteral("analyze"));
    }

    void presetsByNameOrFile()
    {
        QVERIFY(!report::findPreset(QStringLiteral("neuronflow-28nm")).name.empty());
        const auto byFile = report::findPreset(QStringLiteral(SPARSITY_RESOURCES_DIR "/presets/dense-mac-array-28nm.json"));
        QVERIFY(!byFile.skipsZeros);
        try {
            report::findPreset(QStringLiteral("warp-drive"));
            QFAIL("found a preset that does not exist");
        } catch (const Error &e) {
            const QString m = QString::fromUtf8(e.what());
            QVERIFY2(m.contains(QStringLiteral("warp-drive")) && m.contains(QStringLiteral("neuronflow-28nm")), qPrintable(m));
        }
    }
};

QTEST_APPLESS_MAIN(TestReport)
#include "tst_report.moc"
