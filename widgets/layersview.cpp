#include "layersview.h"

#include "bardelegate.h"
#include "session.h"
#include "layertablemodel.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLineEdit>
#include <QTableView>
#include <QVBoxLayout>

namespace sparsity::ui {

void LayerFilterModel::setShowDense(bool show)
{
    showDense_ = show;
    invalidateFilter();
}

bool LayerFilterModel::filterAcceptsRow(int row, const QModelIndex &parent) const
{
    const QModelIndex i = sourceModel()->index(row, LayerTableModel::Name, parent);
    if (!i.data(LayerTableModel::ExecutedRole).toBool())
        return false;
    if (!showDense_ && i.data(LayerTableModel::DenseRole).toBool())
        return false;
    return QSortFilterProxyModel::filterAcceptsRow(row, parent);
}

LayersView::LayersView(Session *doc, QWidget *parent)
    : QWidget(parent), doc_(doc), model_(new LayerTableModel(doc, this)), proxy_(new LayerFilterModel(this)),
      filter_(new QLineEdit(this)), showDense_(new QCheckBox(tr("Dense sites"), this)), table_(new QTableView(this))
{
    proxy_->setSourceModel(model_);
    proxy_->setSortRole(LayerTableModel::SortRole);
    proxy_->setFilterKeyColumn(LayerTableModel::Name);
    proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
    filter_->setPlaceholderText(tr("Filter sites by name…"));
    filter_->setClearButtonEnabled(true);
    showDense_->setChecked(true);
    showDense_->setToolTip(tr("Show sites that cannot produce zeros (greyed, with the reason as tooltip)"));
    connect(filter_, &QLineEdit::textChanged, proxy_, &QSortFilterProxyModel::setFilterFixedString);
    connect(showDense_, &QCheckBox::toggled, proxy_, &LayerFilterModel::setShowDense);

    table_->setModel(proxy_);
    table_->setSortingEnabled(true);
    table_->sortByColumn(-1, Qt::AscendingOrder); // execution order until the user sorts
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed |
                            QAbstractItemView::AnyKeyPressed);
    table_->setAlternatingRowColors(true);
    table_->setShowGrid(false);
    table_->setWordWrap(false);
    table_->verticalHeader()->hide();
    table_->verticalHeader()->setDefaultSectionSize(table_->fontMetrics().height() + 8);
    auto *header = table_->horizontalHeader();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->setSectionResizeMode(LayerTableModel::Name, QHeaderView::Stretch);
    header->setHighlightSections(false);
    const int em = table_->fontMetrics().horizontalAdvance(QLatin1Char('M'));
    header->resizeSection(LayerTableModel::Kind, em * 5 + em / 2);
    header->resizeSection(LayerTableModel::Shape, em * 7 + em / 2);
    header->resizeSection(LayerTableModel::Baseline, em * 6);
    header->resizeSection(LayerTableModel::Current, em * 6);
    header->resizeSection(LayerTableModel::Threshold, em * 6);
    header->resizeSection(LayerTableModel::Scope, em * 4);
    header->resizeSection(LayerTableModel::Band, em * 4);
    header->resizeSection(LayerTableModel::LatencyShare, em * 5);
    table_->setItemDelegateForColumn(LayerTableModel::Baseline, new BarDelegate(QColor(0x7f, 0x8c, 0x9d), this));
    table_->setItemDelegateForColumn(LayerTableModel::Current, new BarDelegate(QColor(0x2e, 0x9c, 0xca), this));
    table_->setItemDelegateForColumn(LayerTableModel::Threshold, new ValueDelegate(this));
    table_->setItemDelegateForColumn(LayerTableModel::Band, new ValueDelegate(this));
    table_->setItemDelegateForColumn(LayerTableModel::LatencyShare, new BarDelegate(QColor(0xe0, 0x8a, 0x2e), this));

    auto *top = new QHBoxLayout;
    top->addWidget(filter_, 1);
    top->addWidget(showDense_);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    layout->addWidget(table_, 1);

    connect(table_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex &current) {
        if (current.isValid())
            doc_->setSelectedSite(current.data(LayerTableModel::SiteRole).toInt());
    });
    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        if (e.kind == ChangeEvent::Kind::SelectedSite)
            selectSite(e.site());
    });
}

void LayersView::selectSite(int site)
{
    if (site < 0 || site >= model_->rowCount())
        return;
    const QModelIndex p = proxy_->mapFromSource(model_->index(site, LayerTableModel::Name));
    if (p.isValid() && table_->currentIndex().row() != p.row()) {
        table_->setCurrentIndex(p);
        table_->scrollTo(p);
    }
}

} // namespace sparsity::ui
