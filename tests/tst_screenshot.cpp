// Renders the main window with the sample project after its baseline capture and a threshold edit into the build
// folder (screenshots/screenshot.png), and checks the picture shows a filled, multi-coloured window without machine
// paths. scripts/update-screenshot.sh copies it to docs/screenshot.png (the README's picture) on purpose.
#include "session.h"
#include "mainwindow.h"
#include "io/project.h"
#include "graph/site.h"
#include "capture/sitestats.h"
#include "theme.h"

#include <QApplication>
#include <QDir>
#include <QImage>
#include <QLabel>
#include <QSet>
#include <QStandardPaths>
#include <QTest>

using namespace sparsity;
using namespace sparsity::ui;

class TestScreenshot : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        applyTheme(*static_cast<QApplication *>(QCoreApplication::instance()), true);
    }

    void rendersTheSampleProject()
    {
        MainWindow window;
        window.setErrorSink([](const QString &m) { QFAIL(qPrintable(m)); });
        window.resize(1600, 1000);
        window.show();
        Project p = sampleProject();
        p.subset.count = 512;
        QVERIFY(window.openProject(p, QString()));
        Session *doc = window.document();
        doc->waitForIdle();
        QVERIFY(doc->baseline());
        // A realistic tuning state: every site's threshold removes about 12 % more of its values (quantile rule).
        std::vector<float> t(std::size_t(doc->siteCount()), 0.0f);
        for (int s = 0; s < doc->siteCount(); ++s)
            if (doc->sites()[std::size_t(s)].sparsifiable) {
                const auto &stats = doc->baseline()->result.sites[std::size_t(s)];
                t[std::size_t(s)] = float(stats.thresholdForSparsity(std::min(0.95, stats.sparsity() + 0.12)));
            }
        doc->pushThresholds(t, QStringLiteral("+12 %"));
        doc->waitForIdle();
        QVERIFY(doc->currentIsExact());
        // A mid-network site shows more channels than the first one.
        int site = -1, seen = 0;
        for (int s = 0; s < doc->siteCount(); ++s)
            if (doc->sites()[std::size_t(s)].sparsifiable && doc->siteExecuted(s) && ++seen == 3)
                site = s;
        QVERIFY(site >= 0);
        doc->setSelectedSite(site);
        QTest::qWait(300); // queued replots
        const QPixmap shot = window.grab();
        QCOMPARE(shot.deviceIndependentSize().toSize(), QSize(1600, 1000));
        const QString dir = QCoreApplication::applicationDirPath() + QStringLiteral("/screenshots");
        QVERIFY(QDir().mkpath(dir));
        QVERIFY(shot.save(dir + QStringLiteral("/screenshot.png")));
        // Nothing in the window names a folder of the machine that made the picture.
        const QString home = QDir::homePath(), source = QDir::cleanPath(QStringLiteral(SPARSITY_TESTS_DIR "/.."));
        for (QLabel *label : window.findChildren<QLabel *>())
            if (label->isVisible())
                QVERIFY2(!label->text().contains(source) && (home == QStringLiteral("/") || !label->text().contains(home)),
                         qPrintable(label->text()));
        QVERIFY(!window.windowTitle().contains(QLatin1Char('/')));
        // Not an empty window: many distinct colours (plots, heatmaps, bars).
        const QImage img = shot.toImage().scaled(400, 250);
        QSet<QRgb> colours;
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width(); ++x)
                colours.insert(img.pixel(x, y));
        QVERIFY2(colours.size() > 300, qPrintable(QString::number(colours.size())));
        doc->markSaved(QString()); // nothing to ask on close
    }
};

QTEST_MAIN(TestScreenshot)
#include "tst_screenshot.moc"
