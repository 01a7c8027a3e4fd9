#include "mainwindow.h"
#include "theme.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QSettings>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("SparsityExplorer"));
    QApplication::setApplicationName(QStringLiteral("Sparsity Explorer"));
    QApplication::setApplicationVersion(QStringLiteral(SPARSITY_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Inspect and raise the activation sparsity of CNNs."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("path"), QStringLiteral("A project file (.json) or a TorchScript model (.pt)."));
    parser.process(app);

    sparsity::ui::applyTheme(app, QSettings().value(QStringLiteral("darkPalette"), true).toBool());
    sparsity::ui::MainWindow window;
    window.show();
    window.openInitial(parser.positionalArguments().value(0));
    return app.exec();
}
