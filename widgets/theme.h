#pragma once

class QApplication;

namespace sparsity::ui {

// Fusion style with a light or dark palette. Called once at startup, before any window exists: the plots read
// their colours from the palette when they are built.
void applyTheme(QApplication &app, bool dark);

} // namespace sparsity::ui
