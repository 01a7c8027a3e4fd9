#include "mainwindow.h"

#include <QApplication>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("SparsityExplorer"));
    QApplication::setApplicationName(QStringLiteral("Sparsity Explorer"));
    sparsity::ui::MainWindow window;
    window.show();
    return app.exec();
}
