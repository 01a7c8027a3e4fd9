#pragma once

#include <QRect>

class QMainWindow;
class QWidget;

namespace sparsity::ui {

class LayersView;

// Where the explorer's window goes and how its docks share it, so that the window fits the screen it opens on
// (a laptop's 1366×768 as well as a desktop's 1920×1080) and the Layers table shows the columns a user tunes in.

// The area a top-level window may take on the screen it opens on (QScreen::availableGeometry: without panels).
QRect availableArea(const QWidget *window);

// Restores the geometry and dock arrangement saved by saveWindowLayout() when the saved window fits in
// `available`; a layout saved on a larger screen is ignored (it would push docks, the status bar or the Cancel
// button off this one). Returns whether it was restored.
bool restoreWindowLayout(QMainWindow *window, const QRect &available);
void saveWindowLayout(const QMainWindow *window);

// First start or a layout that does not fit: a normal geometry a little smaller than the available area, centred
// (what un-maximizing gives). Returns the size set: the window is shown maximized unless someone resized it since.
QSize placeWindow(QMainWindow *window, const QRect &available);

// The default share of the width: the Layers table gets room for every column when the screen has it, else at
// least its tuning columns (site, baseline, current, threshold); the Hardware Projection at least its minimum.
void applyDefaultDockSizes(QMainWindow *window, const LayersView *layers);

} // namespace sparsity::ui
