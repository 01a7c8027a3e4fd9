#include "bardelegate.h"

#include "layertablemodel.h"

#include <QApplication>
#include <QDoubleSpinBox>
#include <QPainter>

namespace sparsity::ui {

BarDelegate::BarDelegate(const QColor &color, QObject *parent) : QStyledItemDelegate(parent), color_(color) {}

void BarDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    const QWidget *widget = option.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    // Background and selection first, then the bar, then the text on top.
    const QString text = opt.text;
    opt.text.clear();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

    const double fraction = index.data(LayerTableModel::FractionRole).toDouble();
    if (index.data(LayerTableModel::FractionRole).isValid() && fraction >= 0.0) {
        const QRect r = option.rect.adjusted(3, 4, -3, -4);
        const int w = int(std::lround(double(r.width()) * std::min(1.0, fraction)));
        QColor c = color_;
        if (index.data(LayerTableModel::DenseRole).toBool())
            c = option.palette.color(QPalette::Disabled, QPalette::Text);
        painter->save();
        painter->setPen(Qt::NoPen);
        QColor track = c;
        track.setAlphaF(0.12f);
        painter->setBrush(track);
        painter->drawRoundedRect(r, 2, 2);
        c.setAlphaF(0.55f);
        painter->setBrush(index.data(LayerTableModel::EstimateRole).toBool() ? QBrush(c, Qt::BDiagPattern) : QBrush(c));
        painter->drawRoundedRect(QRect(r.left(), r.top(), w, r.height()), 2, 2);
        painter->restore();
    }
    painter->save();
    painter->setPen(opt.palette.color(opt.state & QStyle::State_Selected ? QPalette::HighlightedText : QPalette::Text));
    if (index.data(LayerTableModel::DenseRole).toBool())
        painter->setPen(option.palette.color(QPalette::Disabled, QPalette::Text));
    painter->drawText(option.rect.adjusted(6, 0, -6, 0), Qt::AlignVCenter | Qt::AlignRight, text);
    painter->restore();
}

QWidget *ValueDelegate::createEditor(QWidget *parent, const QStyleOptionViewItem &, const QModelIndex &) const
{
    auto *editor = new QDoubleSpinBox(parent);
    editor->setDecimals(6);
    editor->setRange(0.0, 1e6);
    editor->setSingleStep(0.01);
    editor->setStepType(QAbstractSpinBox::AdaptiveDecimalStepType);
    editor->setFrame(false);
    return editor;
}

} // namespace sparsity::ui
