#pragma once

#include <QDialog>

class QLabel;
class QLineEdit;
class QPushButton;

namespace sparsity::ui {

class Document;

// File > Export tuned model: the current state as a thresholded TorchScript archive (OUT.pt) with the JSON report
// (OUT.json) and the per-site CSV (OUT.csv) next to it; shows where the files went. Never the input model.
class ExportDialog : public QDialog {
    Q_OBJECT
public:
    explicit ExportDialog(Document *doc, QWidget *parent = nullptr);
    void setPath(const QString &path);
    QString path() const;
    // Exports to path(); false with the reason shown (and in *error) when it fails.
    bool exportNow(QString *error = nullptr);
    QStringList writtenFiles() const { return written_; }
    QString resultText() const;

private:
    void browse();

    Document *doc_;
    QLineEdit *path_;
    QPushButton *export_;
    QLabel *result_;
    QStringList written_;
};

} // namespace sparsity::ui
