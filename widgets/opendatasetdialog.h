#pragma once

#include "io/project.h"

#include <QDialog>

class QCheckBox;
class QComboBox;
class QLineEdit;
class QSpinBox;

namespace sparsity::ui {

// Dataset path, split, subset and the preprocessing options (presets or every field by hand).
class OpenDatasetDialog : public QDialog {
    Q_OBJECT
public:
    OpenDatasetDialog(const Project &current, const Preprocessing &modelDefault, QWidget *parent = nullptr);
    void setPath(const QString &path);
    QString path() const;
    Split split() const;
    SubsetSpec subset() const;
    // False when "as the model expects" is chosen.
    bool customPreprocessing() const;
    // Throws sparsity::Error naming the invalid field.
    Preprocessing preprocessing() const;

private:
    void applyPreset(int index);
    void showPreprocessing(const Preprocessing &p);
    Preprocessing modelDefault_;
    QLineEdit *path_;
    QComboBox *split_, *mode_, *preset_, *resize_;
    QSpinBox *count_, *seed_, *channels_, *height_, *width_, *resizeTo_;
    QCheckBox *centerCrop_;
    QLineEdit *mean_, *std_;
};

} // namespace sparsity::ui
