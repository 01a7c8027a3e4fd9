#include "plotutil.h"

#include "error.h"

#include <qcustomplot.h>

#include <QApplication>
#include <QClipboard>
#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>
#include <QStandardPaths>

#include <cstdio>

namespace sparsity::ui {

QString compactCount(double v)
{
    if (v >= 1e6)
        return QStringLiteral("%1 M").arg(v / 1e6, 0, 'f', 2);
    if (v >= 1e3)
        return QStringLiteral("%1 k").arg(v / 1e3, 0, 'f', 1);
    return QString::number(v, 'f', 0);
}


namespace {

void styleAxis(QCPAxis *axis, const QPalette &pal)
{
    const QColor text = pal.color(QPalette::WindowText);
    QColor faint = text;
    faint.setAlphaF(0.35f);
    QColor grid = text;
    grid.setAlphaF(0.10f);
    axis->setBasePen(QPen(faint, 1));
    axis->setTickPen(QPen(faint, 1));
    axis->setSubTickPen(QPen(faint, 1));
    axis->setTickLabelColor(text);
    axis->setLabelColor(text);
    axis->grid()->setPen(QPen(grid, 1, Qt::SolidLine));
    axis->grid()->setSubGridPen(Qt::NoPen);
    axis->grid()->setZeroLinePen(Qt::NoPen);
}

} // namespace

void styleAxisRect(QCPAxisRect *rect)
{
    const QPalette pal = QApplication::palette();
    for (QCPAxis *axis : rect->axes())
        styleAxis(axis, pal);
}

void stylePlot(QCustomPlot *plot)
{
    const QPalette pal = QApplication::palette();
    plot->setBackground(pal.brush(QPalette::Base));
    for (QCPAxisRect *rect : plot->axisRects())
        styleAxisRect(rect);
    if (plot->legend) {
        plot->legend->setBrush(pal.brush(QPalette::Base));
        plot->legend->setTextColor(pal.color(QPalette::WindowText));
        QColor border = pal.color(QPalette::WindowText);
        border.setAlphaF(0.25f);
        plot->legend->setBorderPen(QPen(border));
    }
    plot->setAntialiasedElements(QCP::aeAll);
}

bool savePlot(QCustomPlot *plot, const QString &path, QString *error)
{
    const bool pdf = path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive);
    const bool ok = pdf ? plot->savePdf(path, plot->width(), plot->height()) : plot->savePng(path, 0, 0, 2.0);
    if (!ok && error)
        *error = QApplication::translate("PlotActions", "Could not write %1. Check that the folder exists and is "
                                                        "writable, then save again.")
                     .arg(QDir::toNativeSeparators(path));
    return ok;
}

QWidget *asWidget(QCustomPlot *plot) { return plot; }

std::vector<WrittenPlot> writePlots(const std::vector<NamedPlot> &plots, const QString &stem, QSize hiddenSize)
{
    std::vector<WrittenPlot> written;
    for (const NamedPlot &p : plots) {
        WrittenPlot w;
        w.name = p.name;
        w.png = stem + QLatin1Char('-') + p.name + QStringLiteral(".png");
        w.pdf = stem + QLatin1Char('-') + p.name + QStringLiteral(".pdf");
        w.size = p.plot->isVisible() && p.plot->width() > 1 && p.plot->height() > 1 ? p.plot->size() : hiddenSize;
        for (const QString &target : {w.png, w.pdf}) {
            const bool pdf = target == w.pdf;
            // QCustomPlot writes by file name only; the format is explicit, so the temporary name may be anything.
            const QString temp = target + QStringLiteral(".partial");
            const bool ok = pdf ? p.plot->savePdf(temp, w.size.width(), w.size.height())
                                : p.plot->savePng(temp, w.size.width(), w.size.height(), 1.0);
            // rename(2) replaces an existing file in one step, which QFile::rename does not.
            if (!ok || std::rename(QFile::encodeName(temp).constData(), QFile::encodeName(target).constData()) != 0) {
                QFile::remove(temp);
                throw Error(QDir::toNativeSeparators(target).toStdString() +
                            ": cannot write the plot; check that the folder exists and is writable");
            }
        }
        written.push_back(w);
    }
    return written;
}

void installPlotActions(QCustomPlot *plot, std::function<QString()> csv, std::function<QString()> baseName)
{
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(plot, &QWidget::customContextMenuRequested, plot, [plot, csv, baseName](const QPoint &pos) {
        QMenu menu(plot);
        auto save = [plot, baseName](const QString &suffix, const QString &filter) {
            const QString dir = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
            const QString path = QFileDialog::getSaveFileName(plot, QApplication::translate("PlotActions", "Save plot"),
                                                              dir + QLatin1Char('/') + baseName() + suffix, filter);
            if (path.isEmpty())
                return;
            QString error;
            if (!savePlot(plot, path, &error))
                QMessageBox::warning(plot, QApplication::translate("PlotActions", "Save plot"), error);
        };
        menu.addAction(QApplication::translate("PlotActions", "Save as PNG…"), plot,
                       [save] { save(QStringLiteral(".png"), QApplication::translate("PlotActions", "PNG images (*.png)")); });
        menu.addAction(QApplication::translate("PlotActions", "Save as PDF…"), plot,
                       [save] { save(QStringLiteral(".pdf"), QApplication::translate("PlotActions", "PDF files (*.pdf)")); });
        menu.addSeparator();
        menu.addAction(QApplication::translate("PlotActions", "Copy data as CSV"), plot,
                       [csv] { QApplication::clipboard()->setText(csv()); });
        menu.exec(plot->mapToGlobal(pos));
    });
}

} // namespace sparsity::ui
