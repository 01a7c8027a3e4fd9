#include "searchdialog.h"

#include "session.h"
#include "graph/site.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace sparsity::ui {

SearchDialog::SearchDialog(const Session &doc, QWidget *parent)
    : QDialog(parent), doc_(doc), budget_(new QDoubleSpinBox(this)), scope_(new QComboBox(this)),
      images_(new QSpinBox(this)), steps_(new QSpinBox(this))
{
    setWindowTitle(tr("Threshold Search"));
    budget_->setRange(0.0, 50.0);
    budget_->setDecimals(2);
    budget_->setSingleStep(0.1);
    budget_->setValue(0.5);
    budget_->setSuffix(tr(" pp top-1"));
    scope_->addItem(tr("Every sparsifiable site that runs"));
    scope_->addItem(tr("Sites in the regularization scope"));
    images_->setRange(16, int(std::max<std::size_t>(16, doc.indices().size())));
    images_->setValue(int(std::min<std::size_t>(512, doc.indices().size())));
    steps_->setRange(2, 20);
    steps_->setValue(10);
    auto *form = new QFormLayout;
    form->addRow(tr("Accuracy budget"), budget_);
    form->addRow(tr("Sites"), scope_);
    form->addRow(tr("Calibration images"), images_);
    form->addRow(tr("Steps per site"), steps_);
    auto *note = new QLabel(tr("Starts from the current thresholds and raises them while the top-1 accuracy on the "
                               "calibration images stays within the budget. The result is one undoable step."),
                            this);
    note->setWordWrap(true);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Search"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(note);
    layout->addLayout(form);
    layout->addWidget(buttons);
}

SearchOptions SearchDialog::options() const
{
    SearchOptions o;
    o.budgetPp = budget_->value();
    o.stepsPerSite = steps_->value();
    if (scope_->currentIndex() == 1)
        for (int s = 0; s < doc_.siteCount(); ++s)
            if (doc_.siteValue(SiteField::Scope, s) != 0.0)
                o.sites.push_back(s);
    return o;
}

bool SearchDialog::scopeOnly() const { return scope_->currentIndex() == 1; }

std::size_t SearchDialog::calibrationImages() const { return std::size_t(images_->value()); }

} // namespace sparsity::ui
