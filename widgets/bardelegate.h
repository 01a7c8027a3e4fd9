#pragma once

#include <QStyledItemDelegate>

namespace sparsity::ui {

// Draws a fraction (LayerTableModel::FractionRole) as a horizontal bar behind the cell's text; estimates are drawn
// hatched so a measured value and a guess never look alike.
class BarDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    BarDelegate(const QColor &color, QObject *parent = nullptr);
    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override;

private:
    QColor color_;
};

// Editor for thresholds and bands: activation values span many decades, so a spin box with enough decimals.
class ValueDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    QWidget *createEditor(QWidget *parent, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
};

} // namespace sparsity::ui
