#pragma once

#include <QMainWindow>

namespace sparsity::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
};

} // namespace sparsity::ui
