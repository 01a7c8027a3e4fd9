#pragma once

#include "tune/thresholdsearch.h"

#include <QDialog>

class QComboBox;
class QDoubleSpinBox;
class QSpinBox;

namespace sparsity {
class Session;
}

namespace sparsity::ui {

// Budget, scope and calibration size of a threshold search (core/thresholdsearch.h).
class SearchDialog : public QDialog {
    Q_OBJECT
public:
    SearchDialog(const Session &doc, QWidget *parent = nullptr);
    SearchOptions options() const;
    std::size_t calibrationImages() const;
    bool scopeOnly() const;

private:
    const Session &doc_;
    QDoubleSpinBox *budget_;
    QComboBox *scope_;
    QSpinBox *images_, *steps_;
};

} // namespace sparsity::ui
