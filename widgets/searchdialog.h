#pragma once

#include "tune/thresholdsearch.h"

#include <QDialog>

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace sparsity::ui {

class Document;

// Budget, scope and calibration size of a threshold search (core/thresholdsearch.h).
class SearchDialog : public QDialog {
    Q_OBJECT
public:
    SearchDialog(const Document &doc, QWidget *parent = nullptr);
    SearchOptions options() const;
    std::size_t calibrationImages() const;
    bool scopeOnly() const;

private:
    const Document &doc_;
    QDoubleSpinBox *budget_;
    QComboBox *scope_;
    QSpinBox *images_, *steps_;
};

} // namespace sparsity::ui
