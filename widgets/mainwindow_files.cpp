#include "mainwindow.h"

#include "recoverycopy.h"
#include "session.h"
#include "opendatasetdialog.h"
#include "io/project.h"

#include <QDir>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLocale>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStatusBar>

// The window's file operations: projects, models, datasets, recent files, drag and drop.
namespace sparsity::ui {

namespace {

// Typed access to the window's settings, declared where they are used.
struct WindowSettings {
    QSettings s; // the window's geometry and dock layout: windowlayout.cpp
    QStringList recent() { return s.value(QStringLiteral("recentProjects")).toStringList(); }
    void setRecent(const QStringList &list) { s.setValue(QStringLiteral("recentProjects"), list); }
    QString directory() { return s.value(QStringLiteral("lastDirectory")).toString(); }
    void setDirectory(const QString &dir) { s.setValue(QStringLiteral("lastDirectory"), dir); }
};

// The endings the Open Model dialog offers; anything else given on the command line is a project file.
bool isModelFile(const QString &path)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    return suffix == QLatin1String("pt") || suffix == QLatin1String("pth") || suffix == QLatin1String("ts") ||
           suffix == QLatin1String("onnx");
}

constexpr int kMaxRecent = 8;
const char *kProjectFilter = QT_TRANSLATE_NOOP("MainWindow", "Sparsity Explorer projects (*.sparsity.json *.json)");

} // namespace

bool MainWindow::openProject(const Project &project, const QString &path)
{
    try {
        doc_->openProject(project, path);
        return true;
    } catch (const std::exception &e) {
        showError(tr("Cannot open the project"), QString::fromStdString(e.what()),
                  tr("Check that the model and dataset paths in the project exist, or open them with File ▸ Open "
                     "Model / Open Dataset."));
        return false;
    }
}

bool MainWindow::openProjectFile(const QString &path)
{
    try {
        const Project p = loadProject(path);
        if (!openProject(p, QFileInfo(path).absoluteFilePath()))
            return false;
        addRecent(QFileInfo(path).absoluteFilePath());
        return true;
    } catch (const std::exception &e) {
        showError(tr("Cannot open the project"), QString::fromStdString(e.what()),
                  tr("Fix the file in a text editor (docs/project-format.md describes it) or start a new project."));
        return false;
    }
}

bool MainWindow::openModelFile(const QString &path)
{
    try {
        doc_->openModel(path);
        if (!doc_->hasDataset())
            statusBar()->showMessage(tr("Model loaded. Open a dataset (File ▸ Open Dataset…) to capture activations."));
        return true;
    } catch (const std::exception &e) {
        showError(tr("Cannot open the model"), QString::fromStdString(e.what()),
                  tr("Open a TorchScript archive saved with torch.jit.script or torch.jit.trace (a .pt file) or an ONNX model (.onnx)."));
        return false;
    }
}

bool MainWindow::saveProjectTo(const QString &path)
{
    try {
        doc_->saveProjectTo(path);
        addRecent(QFileInfo(path).absoluteFilePath());
        statusBar()->showMessage(tr("Saved %1").arg(QDir::toNativeSeparators(path)), 5000);
        return true;
    } catch (const std::exception &e) {
        showError(tr("Cannot save the project"), QString::fromStdString(e.what()),
                  tr("Choose another folder with File ▸ Save As…; the previous file is unchanged."));
        return false;
    }
}

bool MainWindow::offerRecovery()
{
    const auto found = RecoveryCopy::find(recovery_->dir());
    if (!found)
        return false;
    if (!found->error.isEmpty()) {
        recovery_->discard();
        showError(tr("Cannot recover the unsaved project"), found->error,
                  tr("The recovery copy was unreadable and has been removed; open the project or model again."));
        return false;
    }
    const QString what = found->projectPath.isEmpty() ? tr("an unsaved project")
                                                      : QDir::toNativeSeparators(found->projectPath);
    const QString question = tr("Sparsity Explorer did not close normally. Recover the unsaved changes to %1 from %2?")
                                 .arg(what, QLocale().toString(found->written, QLocale::ShortFormat));
    const bool recover = recoveryAnswer_ ? recoveryAnswer_(question)
                                         : QMessageBox::question(this, tr("Recover unsaved changes"), question,
                                                                 QMessageBox::Yes | QMessageBox::No, QMessageBox::Yes) ==
                                               QMessageBox::Yes;
    if (!recover) {
        recovery_->discard();
        return false;
    }
    try {
        doc_->openRecoveredProject(found->project, found->projectPath);
        statusBar()->showMessage(tr("Recovered the unsaved changes; save them to keep them."), 8000);
        return true;
    } catch (const std::exception &e) {
        showError(tr("Cannot recover the unsaved project"), QString::fromStdString(e.what()),
                  tr("The copy stays until the next change; open its model and dataset paths, or start anew."));
        return false;
    }
}

void MainWindow::openInitial(const QString &argument)
{
    if (offerRecovery())
        return;
    if (isModelFile(argument))
        openModelFile(argument);
    else if (!argument.isEmpty())
        openProjectFile(argument);
    else if (const QString last = WindowSettings().recent().value(0); !last.isEmpty() && QFileInfo::exists(last))
        openProjectFile(last); // where the user left off
    else
        openProject(sampleProject(), QString()); // first start: the sample project, baseline capture included
}

bool MainWindow::maybeSave()
{
    if (!doc_->isModified())
        return true;
    const auto answer = QMessageBox::question(this, tr("Unsaved changes"),
                                              tr("The project has unsaved changes. Save them first?"),
                                              QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel,
                                              QMessageBox::Save);
    if (answer == QMessageBox::Save)
        return save();
    return answer == QMessageBox::Discard;
}

void MainWindow::newProject()
{
    if (maybeSave())
        doc_->clear();
}

void MainWindow::openProjectDialog()
{
    if (!maybeSave())
        return;
    WindowSettings settings;
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Project"), settings.directory(), tr(kProjectFilter));
    if (path.isEmpty())
        return;
    settings.setDirectory(QFileInfo(path).absolutePath());
    openProjectFile(path);
}

bool MainWindow::save()
{
    if (doc_->projectPath().isEmpty())
        return saveAs();
    return saveProjectTo(doc_->projectPath());
}

bool MainWindow::saveAs()
{
    WindowSettings settings;
    QString suggestion = doc_->projectPath();
    if (suggestion.isEmpty())
        suggestion = settings.directory() + QLatin1Char('/') + (doc_->hasModel() ? doc_->modelName() : tr("project")) +
                     QStringLiteral(".sparsity.json");
    QString path = QFileDialog::getSaveFileName(this, tr("Save Project As"), suggestion, tr(kProjectFilter));
    if (path.isEmpty())
        return false;
    if (!path.endsWith(QLatin1String(".json")))
        path += QStringLiteral(".sparsity.json");
    settings.setDirectory(QFileInfo(path).absolutePath());
    return saveProjectTo(path);
}

void MainWindow::openModelDialog()
{
    // A new model clears the undo history (thresholds of sites with the same name are kept).
    if (!maybeSave())
        return;
    WindowSettings settings;
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Model"), settings.directory(),
                                                      tr("Models (*.pt *.pth *.ts *.onnx);;All files (*)"));
    if (path.isEmpty())
        return;
    settings.setDirectory(QFileInfo(path).absolutePath());
    openModelFile(path);
}

void MainWindow::openDatasetDialog(const QString &path)
{
    const Preprocessing modelDefault =
        doc_->hasModel() ? doc_->projectToSave().preprocessing : Preprocessing::mnistLike28();
    Project current = doc_->projectToSave();
    OpenDatasetDialog dialog(current, modelDefault, this);
    if (!path.isEmpty())
        dialog.setPath(path);
    if (dialog.exec() != QDialog::Accepted)
        return;
    try {
        const Preprocessing pre = dialog.preprocessing();
        doc_->openDataset(dialog.path(), dialog.split(), dialog.subset(), dialog.customPreprocessing() ? &pre : nullptr);
    } catch (const std::exception &e) {
        showError(tr("Cannot open the dataset"), QString::fromStdString(e.what()),
                  tr("Choose a folder or file in one of the supported formats, and preprocessing that gives the "
                     "model's input size."));
    }
}

void MainWindow::addRecent(const QString &path)
{
    WindowSettings settings;
    QStringList list = settings.recent();
    list.removeAll(path);
    list.prepend(path);
    while (list.size() > kMaxRecent)
        list.removeLast();
    settings.setRecent(list);
    updateRecentMenu();
}

void MainWindow::updateRecentMenu()
{
    recentMenu_->clear();
    const QStringList list = WindowSettings().recent();
    for (const QString &path : list)
        recentMenu_->addAction(QDir::toNativeSeparators(path), this, [this, path] {
            if (maybeSave())
                openProjectFile(path);
        });
    recentMenu_->setEnabled(!list.isEmpty());
}
void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    if (event->mimeData()->hasUrls() && event->mimeData()->urls().size() == 1 && event->mimeData()->urls()[0].isLocalFile())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    const QString path = event->mimeData()->urls().value(0).toLocalFile();
    const QFileInfo info(path);
    event->acceptProposedAction();
    if (info.isDir())
        openDatasetDialog(path);
    else if (isModelFile(path)) {
        if (maybeSave())
            openModelFile(path);
    }
    else if (info.suffix().compare(QLatin1String("json"), Qt::CaseInsensitive) == 0) {
        if (maybeSave())
            openProjectFile(path);
    } else
        showError(tr("Cannot open %1").arg(info.fileName()),
                  tr("Drop a model (TorchScript .pt or ONNX .onnx), a dataset folder or a project file (.json)."), QString());
}

} // namespace sparsity::ui