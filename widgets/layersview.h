#pragma once

#include <QSortFilterProxyModel>
#include <QWidget>

class QLineEdit;
class QTableView;
class QCheckBox;

namespace sparsity {
class Session;
}

namespace sparsity::ui {
class LayerTableModel;

// Hides sites that did not run (untaken branches) and, optionally, dense sites; filters by name.
class LayerFilterModel : public QSortFilterProxyModel {
    Q_OBJECT
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;
    void setShowDense(bool show);

protected:
    bool filterAcceptsRow(int row, const QModelIndex &parent) const override;

private:
    bool showDense_ = true;
};

// The layers table with its filter field. Selecting a row selects the site in the Session.
class LayersView : public QWidget {
    Q_OBJECT
public:
    explicit LayersView(Session *doc, QWidget *parent = nullptr);
    QTableView *table() const { return table_; }
    LayerTableModel *sourceModel() const { return model_; }
    LayerFilterModel *proxyModel() const { return proxy_; }
    // Columns in their default visual order start with the ones a user tunes in; this many of them (1 = Site,
    // 4 = up to Threshold, all) fit in the returned width of the view.
    static constexpr int kTuningColumns = 4;
    int widthForColumns(int visibleColumns) const;


private:
    void selectSite(int site);
    void fitNameColumn();
    Session *doc_;
    LayerTableModel *model_;
    LayerFilterModel *proxy_;
    QLineEdit *filter_;
    QCheckBox *showDense_;
    QTableView *table_;
};

} // namespace sparsity::ui
