#include "mainwindow.h"

#include <QLabel>

namespace sparsity::ui {

MainWindow::MainWindow(QWidget *parent) : QMainWindow(parent)
{
    setWindowTitle(tr("Sparsity Explorer"));
    setCentralWidget(new QLabel(tr("Sparsity Explorer"), this));
    resize(1280, 800);
}

} // namespace sparsity::ui
