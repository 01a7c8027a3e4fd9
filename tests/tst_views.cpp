// Views added for issue 19, driven through the real main window on the offscreen platform:
// the Graph view (dataflow graph by Graphviz, selection in sync with the rest, metrics, export), the Sparsity
// Overview's axis with 50+ sites, and colour input in the Feature Maps view for a 3-channel model.
#include "session.h"
#include "graphview.h"
#include "heatmapview.h"
#include "layersview.h"
#include "layertablemodel.h"
#include "mainwindow.h"
#include "overviewview.h"
#include "plotutil.h"
#include "sweepview.h"
#include "tune/sweep.h"
#include "graph/model.h"
#include "graph/site.h"
#include "io/project.h"
#include "theme.h"

#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileInfo>
#include <QGraphicsView>
#include <QImage>
#include <QPainter>
#include <QProcess>
#include <QSettings>
#include <QTableView>
#include <QUndoStack>
#include <QComboBox>
#include <QLineEdit>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>

using namespace sparsity;
using namespace sparsity::ui;
using Kind = DataflowNode::Kind;

namespace {

QString makeDeepCnn(const QString &path, int channels)
{
    QProcess py;
    py.start(QStringLiteral("/usr/bin/python3"), {QStringLiteral(SPARSITY_TESTS_DIR "/fixtures/make_deep_cnn.py"), path,
                                                  QStringLiteral("--channels"), QString::number(channels)});
    if (!py.waitForFinished(300000) || py.exitCode() != 0)
        return QString::fromUtf8(py.readAllStandardError());
    return {};
}

int countKind(const DataflowGraph &g, Kind kind)
{
    return int(std::count_if(g.nodes.begin(), g.nodes.end(), [kind](const DataflowNode &n) { return n.kind == kind; }));
}

} // namespace

class TestViews : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    void openAndWait(MainWindow &window, const Project &p)
    {
        window.setErrorSink([](const QString &m) { QFAIL(qPrintable(m)); });
        window.resize(1500, 950);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.openProject(p, QString()));
        window.document()->waitForIdle();
        QVERIFY(window.document()->baseline());
        // The Graph dock is a tab behind the Feature Maps: raise it so that it has a size to click in.
        QDockWidget *dock = window.findChild<QDockWidget *>(QStringLiteral("GraphDock"));
        QVERIFY(dock);
        dock->raise();
        QTest::qWait(200);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName(QStringLiteral("SparsityExplorerTests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_views"));
        QSettings().clear();
        applyTheme(*static_cast<QApplication *>(QCoreApplication::instance()), true);
        QVERIFY(dir_.isValid());
    }

    void graphFollowsAndDrivesTheSelection()
    {
        MainWindow window;
        Project p = sampleProject();
        p.subset.count = 256;
        openAndWait(window, p);
        Session *doc = window.document();
        GraphView *graph = window.graphView();
        const DataflowGraph &g = graph->graph();
        // Every executed site and every conv/linear layer is a node; the sample ResNet's residual adds are too.
        for (int s = 0; s < doc->siteCount(); ++s)
            if (doc->siteExecuted(s))
                QVERIFY2(g.nodeOfSite(s) >= 0, doc->sites()[std::size_t(s)].name.c_str());
        QCOMPARE(countKind(g, Kind::Layer), int(doc->model()->layers().size()));
        QVERIFY(countKind(g, Kind::Add) >= 1);
        QCOMPARE(countKind(g, Kind::Input), 1);
        QCOMPARE(countKind(g, Kind::Output), 1);
        for (const DataflowEdge &e : g.edges)
            QVERIFY(e.from < e.to); // graph order: the layout flows top-down

        // Session → graph: selecting in the Layers table highlights the node.
        std::vector<int> tunable;
        for (int s = 0; s < doc->siteCount(); ++s)
            if (doc->sites()[std::size_t(s)].sparsifiable && doc->siteExecuted(s))
                tunable.push_back(s);
        QVERIFY(tunable.size() >= 3);
        QTableView *table = window.layersView()->table();
        const QModelIndex row = window.layersView()->proxyModel()->mapFromSource(
            window.layersView()->sourceModel()->index(tunable[1], LayerTableModel::Name));
        table->setCurrentIndex(row);
        QCOMPARE(doc->selectedSite(), tunable[1]);
        QCOMPARE(graph->selectedNode(), g.nodeOfSite(tunable[1]));

        // Graph → document: a click on another site's node selects that site in the session and the table.
        const int node = g.nodeOfSite(tunable[2]);
        graph->view()->centerOn(graph->view()->mapToScene(graph->nodeInViewport(node)));
        QTest::mouseClick(graph->view()->viewport(), Qt::LeftButton, {}, graph->nodeInViewport(node));
        QCOMPARE(doc->selectedSite(), tunable[2]);
        QCOMPARE(table->currentIndex().data(LayerTableModel::SiteRole).toInt(), tunable[2]);
        QCOMPARE(graph->selectedNode(), node);

        // A layer's node selects the site it reads.
        int layerNode = -1;
        for (std::size_t i = 0; i < g.nodes.size(); ++i)
            if (g.nodes[i].kind == Kind::Layer && doc->model()->layers()[std::size_t(g.nodes[i].layer)].inputSite == tunable[0])
                layerNode = int(i);
        QVERIFY(layerNode >= 0);
        graph->view()->centerOn(graph->view()->mapToScene(graph->nodeInViewport(layerNode)));
        QTest::mouseClick(graph->view()->viewport(), Qt::LeftButton, {}, graph->nodeInViewport(layerNode));
        QCOMPARE(doc->selectedSite(), tunable[0]);
        QCOMPARE(graph->selectedNode(), layerNode);

        // Search by name selects the site.
        QVERIFY(graph->find(QString::fromStdString(doc->sites()[std::size_t(tunable.back())].name)));
        QCOMPARE(doc->selectedSite(), tunable.back());
        QVERIFY(!graph->find(QStringLiteral("no-such-node-name")));
        doc->markSaved(QString());
    }

    void sweepViewPicksAPoint()
    {
        MainWindow window;
        Project p = sampleProject();
        p.subset.count = 200;
        openAndWait(window, p);
        Session *doc = window.document();
        QVERIFY(!window.findChild<QDockWidget *>(QStringLiteral("SweepDock"))); // until Analysis ▸ Sweep… asks for it
        SweepView *view = window.sweepView();
        auto *dock = window.findChild<QDockWidget *>(QStringLiteral("SweepDock"));
        QVERIFY(dock);
        dock->show();
        dock->raise();
        QTest::qWait(100);
        QCOMPARE(view->pointsPlotted(), 0);
        view->ruleBox()->setCurrentIndex(1); // target sparsities: the quantile rule, no search
        view->valuesEdit()->setText(QStringLiteral("0.95, 0.6 0.8")); // any order, commas or spaces
        view->runButton()->click();
        doc->waitForIdle();
        QTRY_COMPARE(view->pointsPlotted(), 3);
        QVERIFY2(view->statusText().startsWith(QStringLiteral("Sweep: 3 points")), qPrintable(view->statusText()));
        const auto sweep = doc->lastSweep();
        QCOMPARE(sweep->points[0].value, 0.6); // sorted

        // Hover marks the point in both charts; a click makes it current, one undo step.
        QWidget *plot = asWidget(view->plot());
        const QPointF at = view->pointPosition(1, 2); // the cost chart
        QVERIFY(at.x() > 0 && plot->rect().contains(at.toPoint()));
        QTest::mouseMove(plot, at.toPoint());
        QTRY_COMPARE(view->highlighted(), 2);
        const int undoIndex = doc->undoStack()->index();
        QTest::mouseClick(plot, Qt::LeftButton, {}, view->pointPosition(0, 2).toPoint());
        QCOMPARE(doc->undoStack()->index(), undoIndex + 1);
        QCOMPARE(doc->thresholds(), sweep->points[2].thresholds.scalar);
        doc->undoStack()->undo();
        QVERIFY(doc->thresholds() != sweep->points[2].thresholds.scalar);
        // A click beside every point changes nothing.
        QTest::mouseClick(plot, Qt::LeftButton, {}, QPoint(3, 3));
        QCOMPARE(doc->undoStack()->index(), undoIndex);
        QVERIFY(view->csv().startsWith(QStringLiteral("target_sparsity,top1,")));
        QCOMPARE(view->csv().count(QLatin1Char('\n')), 4);

        // A bad value is refused in the view, naming it.
        view->valuesEdit()->setText(QStringLiteral("0.5, 1.2"));
        view->runButton()->click();
        QVERIFY2(view->statusText().contains(QStringLiteral("not a target sparsity")), qPrintable(view->statusText()));
        doc->waitForIdle();
    }

    // The explorer on ONNX exports (torch.onnx.export of torchvision ResNet-18 and MobileNetV2) as on TorchScript:
    // baseline capture, the Layers table and the Graph view, a threshold edit re-evaluated exactly, a sweep, and
    // the export back to ONNX.
    void explorerOnOnnxModels_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("resnet18") << QStringLiteral("resnet18.onnx");
        QTest::newRow("mobilenetv2") << QStringLiteral("mobilenetv2.onnx");
    }
    void explorerOnOnnxModels()
    {
        QFETCH(QString, file);
        const QString fixtures = dir_.filePath(QStringLiteral("onnx"));
        if (!QFile::exists(fixtures + QStringLiteral("/resnet18.onnx"))) {
            if (QProcess::execute(QStringLiteral("/usr/bin/python3"), {QStringLiteral("-c"), QStringLiteral("import onnx, torchvision")}) != 0)
                QSKIP("python3-onnx or python3-torchvision is not installed (scripts/install-deps.sh installs them)");
            QDir().mkpath(fixtures);
            QProcess py;
            py.start(QStringLiteral("/usr/bin/python3"), {QStringLiteral(SPARSITY_TESTS_DIR "/fixtures/make_onnx_models.py"), fixtures});
            QVERIFY(py.waitForFinished(300000));
            QVERIFY2(py.exitCode() == 0, py.readAllStandardError().right(2000).constData());
        }
        MainWindow window;
        Project p = sampleProject();
        p.modelPath = fixtures + QLatin1Char('/') + file;
        p.subset.count = 64;
        p.hasPreprocessing = true;
        p.preprocessing.channels = 3; // the grey images replicated to RGB
        p.preprocessing.height = p.preprocessing.width = 64;
        p.preprocessing.mean = {0.5f};
        p.preprocessing.std = {0.25f};
        openAndWait(window, p);
        Session *doc = window.document();
        QCOMPARE(doc->baseline()->result.images, 64);
        QCOMPARE(window.layersView()->sourceModel()->rowCount(), doc->siteCount());
        int activations = 0;
        for (int s = 0; s < doc->siteCount(); ++s)
            if (doc->siteExecuted(s)) {
                activations += doc->sites()[std::size_t(s)].op.rfind("input of", 0) != 0 ? 1 : 0;
                QVERIFY2(window.graphView()->graph().nodeOfSite(s) >= 0, doc->sites()[std::size_t(s)].name.c_str());
            }
        QCOMPARE(activations, file.startsWith(QLatin1String("resnet")) ? 17 : 35);
        int site = -1;
        for (int s = 0; s < doc->siteCount() && site < 0; ++s)
            if (doc->sites()[std::size_t(s)].sparsifiable && doc->siteExecuted(s))
                site = s;
        const double t = doc->baseline()->result.sites[std::size_t(site)].thresholdForSparsity(0.9);
        doc->pushSiteValue(SiteField::Threshold, site, t);
        doc->waitForIdle();
        QVERIFY(doc->currentIsExact());
        QVERIFY(doc->currentSparsity(site) > doc->baselineSparsity(site));
        const QStringList written = doc->exportTunedModel(dir_.filePath(QFileInfo(file).completeBaseName() + QStringLiteral("-gui.onnx")));
        QVERIFY2(!written.isEmpty() && written.first().endsWith(QLatin1String(".onnx")), qPrintable(written.join(QLatin1Char(' '))));
        QCOMPARE(Model::load(written.first().toStdString())->sites().size(), doc->model()->sites().size());
    }

    void graphMetricsAndExport()
    {
        MainWindow window;
        Project p = sampleProject();
        p.subset.count = 256;
        openAndWait(window, p);
        Session *doc = window.document();
        GraphView *graph = window.graphView();
        const DataflowGraph &g = graph->graph();
        // Current sparsity: site nodes carry the session's value, layers none; colours follow the values.
        graph->setMetric(GraphView::Metric::CurrentSparsity);
        int low = -1, high = -1;
        for (std::size_t i = 0; i < g.nodes.size(); ++i) {
            const double v = graph->nodeValue(int(i));
            if (g.nodes[i].kind == Kind::Site && doc->sites()[std::size_t(g.nodes[i].site)].sparsifiable) {
                QVERIFY(std::abs(v - doc->currentSparsity(g.nodes[i].site)) < 1e-12);
                if (low < 0 || v < graph->nodeValue(low))
                    low = int(i);
                if (high < 0 || v > graph->nodeValue(high))
                    high = int(i);
            }
            if (g.nodes[i].kind == Kind::Layer)
                QVERIFY(std::isnan(v));
        }
        QVERIFY(graph->nodeValue(high) - graph->nodeValue(low) > 0.05);
        QVERIFY(graph->nodeColour(high) != graph->nodeColour(low));
        // Latency shares at the layers add up to one.
        graph->setMetric(GraphView::Metric::LatencyShare);
        double sum = 0.0;
        for (std::size_t i = 0; i < g.nodes.size(); ++i)
            if (g.nodes[i].kind == Kind::Layer)
                sum += graph->nodeValue(int(i));
        QVERIFY2(std::abs(sum - 1.0) < 1e-9, qPrintable(QString::number(sum)));
        // Thresholds: a pushed threshold shows at once (and makes its edges thinner: fewer events).
        graph->setMetric(GraphView::Metric::Threshold);
        const int s = g.nodes[std::size_t(low)].site;
        int edgeOut = -1;
        for (std::size_t e = 0; e < g.edges.size(); ++e)
            if (g.edges[e].from == low)
                edgeOut = int(e);
        QVERIFY(edgeOut >= 0);
        const double before = graph->edgeWidth(edgeOut);
        const double t = doc->baseline()->result.sites[std::size_t(s)].thresholdForSparsity(0.95);
        doc->pushSiteValue(SiteField::Threshold, s, t);
        QCOMPARE(graph->nodeValue(low), double(float(t)));
        QVERIFY(graph->edgeWidth(edgeOut) < before);

        // Export: each format written, readable, of the graph.
        graph->exportTo(dir_.filePath(QStringLiteral("graph.png")));
        const QImage png(dir_.filePath(QStringLiteral("graph.png")));
        QVERIFY(!png.isNull() && png.height() > png.width()); // top-down: taller than wide
        graph->exportTo(dir_.filePath(QStringLiteral("graph.svg")));
        QFile svg(dir_.filePath(QStringLiteral("graph.svg")));
        QVERIFY(svg.open(QIODevice::ReadOnly));
        const QByteArray svgText = svg.readAll();
        QVERIFY(svgText.contains("<svg"));
        QVERIFY(svgText.contains(QByteArray::fromStdString(doc->sites()[std::size_t(s)].name)));
        // The SVG carries each node's metric colour (Graphviz's own renderer, attributes declared before the layout).
        QVERIFY2(svgText.contains(graph->nodeColour(low).name().toLatin1()),
                 qPrintable(graph->nodeColour(low).name() + QLatin1Char(' ') +
                            QString::fromLatin1(svgText.mid(svgText.indexOf(QByteArray::fromStdString(doc->sites()[std::size_t(s)].name)) - 300, 700))));
        graph->exportTo(dir_.filePath(QStringLiteral("graph.pdf")));
        QFile pdf(dir_.filePath(QStringLiteral("graph.pdf")));
        QVERIFY(pdf.open(QIODevice::ReadOnly));
        QVERIFY(pdf.read(5) == "%PDF-");
        QVERIFY_THROWS_EXCEPTION(std::exception, graph->exportTo(dir_.filePath(QStringLiteral("graph.bmp"))));
        QVERIFY(!QFile::exists(dir_.filePath(QStringLiteral("graph.bmp"))));
        doc->markSaved(QString());
    }

    void deepModelGraphAndOverviewAxis()
    {
        const QString model = dir_.filePath(QStringLiteral("deep50.pt"));
        const QString error = makeDeepCnn(model, 1);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        MainWindow window;
        Project p = sampleProject();
        p.modelPath = model;
        p.subset.count = 128;
        openAndWait(window, p);
        const DataflowGraph &g = window.graphView()->graph();
        QCOMPARE(countKind(g, Kind::Site), window.document()->siteCount());
        QVERIFY(countKind(g, Kind::Site) >= 50);
        QCOMPARE(countKind(g, Kind::Cat), 1);   // the Inception-style join
        QVERIFY(countKind(g, Kind::Pool) >= 2); // max pool and global average pool
        QVERIFY(countKind(g, Kind::Add) >= 23); // one per residual block
        const QString shots = QCoreApplication::applicationDirPath() + QStringLiteral("/screenshots");
        QVERIFY(QDir().mkpath(shots));
        QVERIFY(window.graphView()->grab().save(shots + QStringLiteral("/graph-deep50.png")));

        // 51 sites on the overview: named every n-th, never closer than a label needs.
        OverviewView *overview = window.overviewView();
        int shown = 0;
        for (int s = 0; s < window.document()->siteCount(); ++s)
            shown += window.document()->sites()[std::size_t(s)].sparsifiable && window.document()->siteExecuted(s);
        QVERIFY(shown >= 50);
        QDockWidget *dock = window.findChild<QDockWidget *>(QStringLiteral("OverviewDock"));
        dock->setFloating(true);
        for (int width : {360, 700, 1400}) {
            dock->resize(width, 360);
            QTest::qWait(100);
            QTest::qWait(200); // the queued replot lays out, may choose another step and queue the next frame
            const QStringList labels = overview->axisLabels();
            const double spacing = double(overview->axisWidth()) * overview->labelStep() / shown;
            QVERIFY2(spacing >= overview->labelPitch(),
                     qPrintable(QStringLiteral("width %1: %2 px between labels, %3 needed").arg(width).arg(spacing).arg(overview->labelPitch())));
            QCOMPARE(labels.size(), (shown + overview->labelStep() - 1) / overview->labelStep());
            if (width == 360)
                QVERIFY(overview->labelStep() > 1);
            QVERIFY(overview->grab().save(shots + QStringLiteral("/overview-deep50-%1.png").arg(width)));
        }
        window.document()->markSaved(QString());
    }

    void colourInputForThreeChannelModels()
    {
        // An ImageFolder of colour pictures (red and blue halves) and a 3-channel model.
        const QString root = dir_.filePath(QStringLiteral("colour"));
        for (const QString &cls : {QStringLiteral("a"), QStringLiteral("b")}) {
            QVERIFY(QDir().mkpath(root + QLatin1Char('/') + cls));
            for (int i = 0; i < 4; ++i) {
                QImage img(32, 32, QImage::Format_RGB888);
                QPainter painter(&img);
                painter.fillRect(0, 0, 16, 32, QColor(220, 30 + 20 * i, 30));
                painter.fillRect(16, 0, 16, 32, QColor(30, 60, 220));
                painter.end();
                QVERIFY(img.save(QStringLiteral("%1/%2/%3.png").arg(root, cls).arg(i)));
            }
        }
        const QString model = dir_.filePath(QStringLiteral("deep50rgb.pt"));
        const QString error = makeDeepCnn(model, 3);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        MainWindow window;
        Project p = sampleProject();
        p.modelPath = model;
        p.datasetPath = root;
        p.subset.count = 8;
        p.preprocessing = Preprocessing::cifar32();
        openAndWait(window, p);
        QCOMPARE(window.document()->preprocessing().channels, 3);
        window.findChild<QDockWidget *>(QStringLiteral("HeatmapDock"))->raise();
        QTest::qWait(200);
        HeatmapView *heatmap = window.heatmapView();
        QVERIFY(heatmap->shownInputIsColour());
        // The picture really is in colour: the input panel has strongly red and strongly blue pixels.
        const QImage shot = heatmap->grab().toImage();
        bool red = false, blue = false;
        for (int y = 0; y < shot.height(); y += 2)
            for (int x = 0; x < shot.width() / 3; x += 2) {
                const QColor c = shot.pixelColor(x, y);
                red = red || (c.red() > 180 && c.blue() < 80);
                blue = blue || (c.blue() > 180 && c.red() < 80);
            }
        QVERIFY(red && blue);
        window.document()->markSaved(QString());

        // A grey model's input stays grey.
        MainWindow grey;
        Project q = sampleProject();
        q.subset.count = 64;
        openAndWait(grey, q);
        QVERIFY(!grey.heatmapView()->shownInputIsColour());
        grey.document()->markSaved(QString());
    }
};

QTEST_MAIN(TestViews)
#include "tst_views.moc"
