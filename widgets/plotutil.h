#pragma once

#include <QColor>
#include <QSize>
#include <QString>

#include <functional>
#include <vector>

class QCustomPlot;
class QCPAxis;
class QCPAxisRect;
class QWidget;

namespace sparsity::ui {

// Colours used by every plot, so "baseline" and "current" look the same everywhere.
namespace plotcolors {
inline QColor dense() { return QColor(0x8a, 0x8f, 0x98); }
inline QColor baseline() { return QColor(0x7f, 0x8c, 0x9d); }
inline QColor current() { return QColor(0x2e, 0x9c, 0xca); }
inline QColor threshold() { return QColor(0xe0, 0x5a, 0x2e); }
inline QColor zero() { return QColor(0xf2, 0xb1, 0x34); }
} // namespace plotcolors

// Colours axes, grid, text and background from the application palette (light or dark).
void stylePlot(QCustomPlot *plot);
void styleAxisRect(QCPAxisRect *rect);

// Context menu with "Save as PNG…", "Save as PDF…" and "Copy data as CSV"; `csv` builds the CSV text on demand
// from the numbers the plot shows. `baseName` suggests the file name.
void installPlotActions(QCustomPlot *plot, std::function<QString()> csv, std::function<QString()> baseName);

// Writes the plot as PNG or PDF (by the file's extension); returns false with the reason in *error.
bool savePlot(QCustomPlot *plot, const QString &path, QString *error);

// The plot as a QWidget, for code that must not include qcustomplot.h (tests are built with QT_NO_KEYWORDS).
QWidget *asWidget(QCustomPlot *plot);

// A count for a label: "1.23 M", "45.6 k", "789".
QString compactCount(double v);

// A plot of the main window as the export writes it: `name` becomes part of the file names.
struct NamedPlot {
    QString name;
    QCustomPlot *plot = nullptr;
};
struct WrittenPlot {
    QString name, png, pdf;
    QSize size; // of the PNG in pixels, and of the PDF page in points
};
// Writes every plot as STEM-NAME.png and STEM-NAME.pdf, each to a temporary file renamed into place, so a failure
// never leaves half a file under the final name. A plot is drawn at its size in the window, or at `hiddenSize`
// when it is not visible (a dock never shown has no meaningful size). Throws sparsity::Error naming the file that
// could not be written.
std::vector<WrittenPlot> writePlots(const std::vector<NamedPlot> &plots, const QString &stem,
                                    QSize hiddenSize = QSize(1000, 650));

} // namespace sparsity::ui
