#include "windowlayout.h"

#include "layersview.h"

#include <QDockWidget>
#include <QGuiApplication>
#include <QMainWindow>
#include <QScreen>
#include <QSettings>

#include <algorithm>

namespace sparsity::ui {

namespace {

// Typed access to the layout's settings, declared where they are used.
struct LayoutSettings {
    QSettings s;
    QByteArray geometry() { return s.value(QStringLiteral("window/geometry")).toByteArray(); }
    QByteArray state() { return s.value(QStringLiteral("window/state")).toByteArray(); }
    // The window's outer size when it was saved: checked against the current screen before anything is restored.
    QSize frameSize() { return s.value(QStringLiteral("window/frameSize")).toSize(); }
    void save(const QByteArray &geometry, const QByteArray &state, const QSize &frame)
    {
        s.setValue(QStringLiteral("window/geometry"), geometry);
        s.setValue(QStringLiteral("window/state"), state);
        s.setValue(QStringLiteral("window/frameSize"), frame);
    }
};

QDockWidget *dock(QMainWindow *window, const char *name)
{
    return window->findChild<QDockWidget *>(QString::fromLatin1(name));
}

int minimumWidth(const QDockWidget *d)
{
    return d ? std::max(d->minimumSizeHint().width(), d->minimumWidth()) : 0;
}

} // namespace

QRect availableArea(const QWidget *window)
{
    const QScreen *screen = window->screen() ? window->screen() : QGuiApplication::primaryScreen();
    return screen ? screen->availableGeometry() : QRect(0, 0, 1366, 768);
}

bool restoreWindowLayout(QMainWindow *window, const QRect &available)
{
    LayoutSettings settings;
    const QSize saved = settings.frameSize();
    // Layouts saved before the frame size was recorded are ignored too: there is no telling where they fit.
    if (!saved.isValid() || saved.width() > available.width() || saved.height() > available.height())
        return false;
    if (!window->restoreGeometry(settings.geometry()))
        return false;
    // The saved position may lie on a screen that is gone: keep the window inside this one's available area.
    QRect frame = window->frameGeometry();
    frame.moveLeft(std::clamp(frame.left(), available.left(), available.right() - frame.width() + 1));
    frame.moveTop(std::clamp(frame.top(), available.top(), available.bottom() - frame.height() + 1));
    window->move(frame.topLeft());
    return window->restoreState(settings.state());
}

void saveWindowLayout(const QMainWindow *window)
{
    LayoutSettings().save(window->saveGeometry(), window->saveState(), window->frameGeometry().size());
}

QSize placeWindow(QMainWindow *window, const QRect &available)
{
    const QSize normal = available.size() * 0.9;
    window->resize(normal);
    window->move(available.center() - QPoint(normal.width() / 2, normal.height() / 2));
    return normal;
}

void applyDefaultDockSizes(QMainWindow *window, const LayersView *layers)
{
    QDockWidget *layersDock = dock(window, "LayersDock"), *histogram = dock(window, "HistogramDock"),
                *hardware = dock(window, "HardwareDock");
    if (!layersDock || !histogram || !hardware)
        return;
    const double w = window->width(), h = window->height();
    const int all = layers->widthForColumns(1 << 16), tuning = layers->widthForColumns(LayersView::kTuningColumns);
    int layersWidth = all <= int(w * 0.42) ? all : std::max(tuning, int(w * 0.34));
    const int hardwareWidth = std::max(minimumWidth(hardware), int(w * 0.27));
    // The histogram and feature maps keep at least their minimum; the Layers table gives way first.
    layersWidth = std::max(minimumWidth(layersDock),
                           std::min(layersWidth, int(w) - hardwareWidth - minimumWidth(histogram) - 16));
    const int histogramWidth = int(w) - layersWidth - hardwareWidth;
    window->resizeDocks({layersDock, histogram, hardware}, {layersWidth, histogramWidth, hardwareWidth}, Qt::Horizontal);
    window->resizeDocks({layersDock, dock(window, "OverviewDock")}, {int(h * 0.55), int(h * 0.45)}, Qt::Vertical);
    window->resizeDocks({histogram, dock(window, "HeatmapDock")}, {int(h * 0.5), int(h * 0.5)}, Qt::Vertical);
}

} // namespace sparsity::ui
