// The explorer's window on a real screen size: it takes the available area and never more, every dock gets at
// least what its content needs, and the Layers table shows the columns a user tunes in (all of them on a
// 1920×1080 screen). One process per screen size (SPARSITY_SCREEN=WxH, see CMakeLists.txt): the offscreen
// platform reads its screen from a config file before QApplication exists. Pictures go to the build folder
// (screenshots/layout-*.png) to be looked at.
#include "session.h"
#include "layersview.h"
#include "layertablemodel.h"
#include "mainwindow.h"
#include "io/project.h"
#include "theme.h"

#include <QAbstractButton>
#include <QAbstractScrollArea>
#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QHeaderView>
#include <QLabel>
#include <QProcess>
#include <QScreen>
#include <QSettings>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

using namespace sparsity;
using namespace sparsity::ui;

namespace {

QSize screenSize()
{
    const QStringList parts = QString::fromLocal8Bit(qgetenv("SPARSITY_SCREEN")).split(QLatin1Char('x'));
    return parts.size() == 2 ? QSize(parts[0].toInt(), parts[1].toInt()) : QSize(1366, 768);
}

QString sizeName() { return QStringLiteral("%1x%2").arg(screenSize().width()).arg(screenSize().height()); }

// Every widget a user reads or clicks (labels, buttons) of the visible docks lies inside its dock and the window.
QStringList clippedWidgets(const QMainWindow &window)
{
    QStringList out;
    for (QDockWidget *dock : window.findChildren<QDockWidget *>()) {
        if (!dock->isVisible() || dock->visibleRegion().isEmpty())
            continue; // closed, or a tab behind another
        QWidget *content = dock->widget();
        const QSize need = content->minimumSizeHint();
        if (content->width() < need.width() || content->height() < need.height())
            out << QStringLiteral("%1 is %2×%3 but needs %4×%5")
                       .arg(dock->windowTitle())
                       .arg(content->width()).arg(content->height())
                       .arg(need.width()).arg(need.height());
        const QRect inside = content->rect();
        const auto check = [&](QWidget *w, const QString &what) {
            if (!w->isVisibleTo(content))
                return;
            for (QWidget *p = w->parentWidget(); p && p != content; p = p->parentWidget())
                if (qobject_cast<QAbstractScrollArea *>(p))
                    return; // scrolls into view by design (long forms, tables)
            const QRect r(w->mapTo(content, QPoint(0, 0)), w->size());
            if (!inside.contains(r))
                out << QStringLiteral("%1: %2 at %3,%4 %5×%6 outside %7×%8")
                           .arg(dock->windowTitle(), what)
                           .arg(r.x()).arg(r.y()).arg(r.width()).arg(r.height())
                           .arg(inside.width()).arg(inside.height());
        };
        for (QLabel *l : content->findChildren<QLabel *>())
            check(l, QStringLiteral("label '%1'").arg(l->text().left(30)));
        for (QAbstractButton *b : content->findChildren<QAbstractButton *>())
            check(b, QStringLiteral("button '%1'").arg(b->text()));
    }
    return out;
}

// Columns whose whole width is not in the table's viewport at its current scroll position.
QStringList clippedColumns(const QTableView *table, const QList<int> &columns)
{
    QStringList out;
    const QHeaderView *header = table->horizontalHeader();
    for (int c : columns) {
        const int x = header->sectionViewportPosition(c);
        if (header->isSectionHidden(c) || x < 0 || x + header->sectionSize(c) > table->viewport()->width())
            out << table->model()->headerData(c, Qt::Horizontal).toString();
    }
    return out;
}

} // namespace

class TestLayout : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString deepModel_;

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName(QStringLiteral("SparsityExplorerTests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_layout-") + sizeName()); // own settings per process
        QSettings().clear();
        applyTheme(*static_cast<QApplication *>(QCoreApplication::instance()), true);
        QCOMPARE(QGuiApplication::primaryScreen()->availableGeometry().size(), screenSize());
        QVERIFY(dir_.isValid());
        deepModel_ = dir_.filePath(QStringLiteral("deep50.pt"));
        QProcess py;
        py.start(QStringLiteral("/usr/bin/python3"),
                 {QStringLiteral(SPARSITY_TESTS_DIR "/fixtures/make_deep_cnn.py"), deepModel_});
        QVERIFY(py.waitForFinished(300000));
        QVERIFY2(py.exitCode() == 0, py.readAllStandardError().constData());
    }

    void cleanup() { QSettings().clear(); }

    void fitsTheScreen_data()
    {
        QTest::addColumn<QString>("model");
        QTest::newRow("sample") << QString();
        QTest::newRow("deep50") << QStringLiteral("deep50");
    }

    void fitsTheScreen()
    {
        QFETCH(QString, model);
        MainWindow window;
        window.setErrorSink([](const QString &m) { QFAIL(qPrintable(m)); });
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        Project p = sampleProject();
        p.subset.count = 256;
        if (!model.isEmpty()) {
            p.modelPath = deepModel_;
            p.processorPreset = QStringLiteral("neuronflow-28nm");
        }
        QVERIFY(window.openProject(p, QString()));
        Session *doc = window.document();
        doc->waitForIdle();
        QVERIFY(doc->baseline());
        if (!model.isEmpty())
            QVERIFY2(doc->siteCount() >= 50, qPrintable(QString::number(doc->siteCount())));
        QTest::qWait(1300); // the default dock sizes follow the window's first resizes, then replots

        const QString shots = QCoreApplication::applicationDirPath() + QStringLiteral("/screenshots");
        QVERIFY(QDir().mkpath(shots));
        const QString name = QStringLiteral("%1/layout-%2-%3.png").arg(shots, model.isEmpty() ? QStringLiteral("sample") : model, sizeName());
        QVERIFY(window.grab().save(name));
        qInfo("picture: %s", qPrintable(name));

        // The window takes the available area and never more; even its minimum fits.
        const QRect available = window.screen()->availableGeometry();
        QVERIFY2(available.contains(window.frameGeometry()),
                 qPrintable(QStringLiteral("frame %1×%2 on %3×%4").arg(window.frameGeometry().width())
                                .arg(window.frameGeometry().height()).arg(available.width()).arg(available.height())));
        QVERIFY(window.width() >= available.width() * 9 / 10 && window.height() >= available.height() * 9 / 10);
        QVERIFY(window.minimumSizeHint().width() <= available.width());
        QVERIFY(window.minimumSizeHint().height() <= available.height());
        QVERIFY(window.statusBar()->isVisible() && window.rect().contains(window.statusBar()->geometry()));

        for (QDockWidget *dock : window.findChildren<QDockWidget *>())
            qInfo("%-20s %4d×%-4d minimum %4d×%-4d%s", qPrintable(dock->objectName()), dock->width(), dock->height(),
                  dock->minimumSizeHint().width(), dock->minimumSizeHint().height(),
                  dock->visibleRegion().isEmpty() ? " (hidden tab)" : "");
        const QStringList clipped = clippedWidgets(window);
        QVERIFY2(clipped.isEmpty(), qPrintable(clipped.join(QStringLiteral("; "))));

        // The tuning columns always; every column where the screen has the room.
        QList<int> key{LayerTableModel::Name, LayerTableModel::Baseline, LayerTableModel::Current, LayerTableModel::Threshold};
        if (screenSize().width() >= 1920)
            for (int c = 0; c < LayerTableModel::ColumnCount; ++c)
                if (!key.contains(c))
                    key << c;
        const QStringList columns = clippedColumns(window.layersView()->table(), key);
        QVERIFY2(columns.isEmpty(), qPrintable(QStringLiteral("clipped: ") + columns.join(QStringLiteral(", "))));
        doc->markSaved(QString());
    }

    void restoresOnlyALayoutThatFits()
    {
        // A layout saved in a small window is restored (the Overview dock stays closed).
        {
            MainWindow window;
            window.show();
            QVERIFY(QTest::qWaitForWindowExposed(&window));
            window.showNormal();
            window.resize(1200, 700); // above the window's minimum (about 1080 wide)
            window.findChild<QDockWidget *>(QStringLiteral("OverviewDock"))->close();
            QTest::qWait(50);
            QVERIFY(window.close());
        }
        {
            MainWindow window;
            window.show();
            QVERIFY(QTest::qWaitForWindowExposed(&window));
            QVERIFY(!window.findChild<QDockWidget *>(QStringLiteral("OverviewDock"))->isVisible());
            QCOMPARE(window.size(), QSize(1200, 700));
            window.findChild<QDockWidget *>(QStringLiteral("OverviewDock"))->show();
            // Saved from a window larger than this screen: restoring it would push docks off the screen.
            window.showNormal();
            window.resize(screenSize() + QSize(300, 200));
            window.findChild<QDockWidget *>(QStringLiteral("OverviewDock"))->close();
            QTest::qWait(50);
            QVERIFY(window.close());
        }
        MainWindow window;
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.findChild<QDockWidget *>(QStringLiteral("OverviewDock"))->isVisible());
        QVERIFY(window.screen()->availableGeometry().contains(window.frameGeometry()));
    }
};

int main(int argc, char **argv)
{
    // The screen to simulate, handed to the offscreen platform as its config file.
    QTemporaryDir config;
    const QString path = config.filePath(QStringLiteral("screen.json"));
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return 2;
    f.write(QStringLiteral(R"({"screens": [{"name": "test", "x": 0, "y": 0, "width": %1, "height": %2, "logicalDpi": 96}]})")
                .arg(screenSize().width())
                .arg(screenSize().height())
                .toUtf8());
    f.close();
    qputenv("QT_QPA_PLATFORM", QByteArray("offscreen:configfile=") + QFile::encodeName(path));
    QApplication app(argc, argv);
    TestLayout test;
    return QTest::qExec(&test, argc, argv);
}

#include "tst_layout.moc"
