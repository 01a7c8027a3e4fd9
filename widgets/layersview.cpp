#include "layersview.h"

#include "bardelegate.h"
#include "session.h"
#include "layertablemodel.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLineEdit>
#include <QTableView>
#include <QScrollBar>
#include <QVBoxLayout>

#include <algorithm>
#include <iterator>

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
    header->setStretchLastSection(true);
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
    // The columns the user tunes in come first, so a narrow dock still shows them; descriptive ones last.
    const int order[] = {LayerTableModel::Name,         LayerTableModel::Baseline, LayerTableModel::Current,
                         LayerTableModel::Threshold,    LayerTableModel::LatencyShare, LayerTableModel::Scope,
                         LayerTableModel::Band,         LayerTableModel::Kind,     LayerTableModel::Shape};
    for (int visual = 0; visual < int(std::size(order)); ++visual)
        header->moveSection(header->visualIndex(order[visual]), visual);
    fitNameColumn();
    connect(model_, &QAbstractItemModel::modelReset, this, &LayersView::fitNameColumn);
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

void LayersView::fitNameColumn()
{
    // Wide enough for the longest site name, within limits: very long module paths elide rather than push the
    // tuning columns out of sight.
    const QFontMetrics fm = table_->fontMetrics();
    const int em = fm.horizontalAdvance(QLatin1Char('M'));
    int widest = fm.horizontalAdvance(model_->headerData(LayerTableModel::Name, Qt::Horizontal, Qt::DisplayRole).toString());
    for (int r = 0; r < model_->rowCount(); ++r)
        widest = std::max(widest, fm.horizontalAdvance(model_->index(r, LayerTableModel::Name).data().toString()));
    table_->horizontalHeader()->resizeSection(LayerTableModel::Name, std::clamp(widest + em, em * 7, em * 14));
}

int LayersView::widthForColumns(int visibleColumns) const
{
    const QHeaderView *header = table_->horizontalHeader();
    int w = 0;
    for (int visual = 0; visual < std::min(visibleColumns, header->count()); ++visual)
        w += header->sectionSize(header->logicalIndex(visual));
    // Frame, scroll bar, the widget's margins.
    return w + 2 * table_->frameWidth() + table_->verticalScrollBar()->sizeHint().width() + 8 + 2;
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
