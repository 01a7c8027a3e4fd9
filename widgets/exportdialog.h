#pragma once

#include "plotutil.h"

#include <QDialog>

#include <functional>
#include <vector>

class QCheckBox;
class QLabel;
class QLineEdit;
class QPushButton;

namespace sparsity {
class Session;
}

namespace sparsity::ui {

// File > Export tuned model: the current state as a thresholded TorchScript archive (OUT.pt) with the JSON report
// (OUT.json) and the per-site CSV (OUT.csv) next to it, and (an option, on by default) every plot of the main
// window as OUT-NAME.png and OUT-NAME.pdf; shows where the files went. Never the input model.
class ExportDialog : public QDialog {
    Q_OBJECT
public:
    // `plots` lists the main window's plots at the moment of the export; without it there is no plot option.
    explicit ExportDialog(Session *doc, QWidget *parent = nullptr,
                          std::function<std::vector<NamedPlot>()> plots = {});
    void setPath(const QString &path);
    QString path() const;
    // Exports to path(); false with the reason shown (and in *error) when it fails.
    bool exportNow(QString *error = nullptr);
    QStringList writtenFiles() const { return written_; } // model, report, CSV, then the plots' PNG and PDF
    std::vector<WrittenPlot> writtenPlots() const { return writtenPlots_; }
    QCheckBox *plotsBox() const { return plotsBox_; }
    QString resultText() const;

private:
    void browse();

    Session *doc_;
    QLineEdit *path_;
    QPushButton *export_;
    QLabel *result_;
    QCheckBox *plotsBox_;
    std::function<std::vector<NamedPlot>()> plots_;
    QStringList written_;
    std::vector<WrittenPlot> writtenPlots_;
};

} // namespace sparsity::ui
