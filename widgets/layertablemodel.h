#pragma once

#include <QAbstractTableModel>

namespace sparsity {
class Session;
struct ChangeEvent;
}

namespace sparsity::ui {

// One row per activation site of the model, in execution order. Reads everything from the Session and
// edits only by pushing undo commands; emits dataChanged for exactly the cells an edit or result touched.
class LayerTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Kind, Shape, Baseline, Current, Threshold, Scope, Band, LatencyShare, ColumnCount };
    enum Role {
        SiteRole = Qt::UserRole + 1, // int: site index
        SortRole,                    // numeric value for sorting
        FractionRole,                // double in [0, 1] for the bar delegate, -1 when unknown
        EstimateRole,                // bool: the value is an estimate, not a measurement
        ExecutedRole,                // bool: the site ran in the last forward pass
        DenseRole                    // bool: cannot produce zeros
    };

    explicit LayerTableModel(Session *doc, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    bool setData(const QModelIndex &index, const QVariant &value, int role) override;

private:
    void sessionChanged(const ChangeEvent &event);
    void columnsChanged(int first, int last);
    Session *doc_;
    int rows_ = 0;
};

} // namespace sparsity::ui
