#include "layertablemodel.h"

#include "session.h"
#include "graph/site.h"

#include <QApplication>
#include <QPalette>

#include <cmath>

namespace sparsity::ui {

namespace {

QString shapeText(const std::vector<std::int64_t> &shape)
{
    QStringList parts;
    for (auto s : shape)
        parts << QString::number(s);
    return parts.isEmpty() ? QStringLiteral("?") : parts.join(QChar(0x00D7));
}

QString percent(double fraction)
{
    return fraction < 0.0 ? QStringLiteral("–") : QStringLiteral("%1 %").arg(fraction * 100.0, 0, 'f', 1);
}

bool isTap(const Site &site) { return site.op.rfind("input of", 0) == 0; }

} // namespace

LayerTableModel::LayerTableModel(Session *doc, QObject *parent) : QAbstractTableModel(parent), doc_(doc)
{
    rows_ = doc_->siteCount();
    connect(doc_, &Session::changed, this, &LayerTableModel::sessionChanged);
}

void LayerTableModel::sessionChanged(const ChangeEvent &e)
{
    switch (e.kind) {
    case ChangeEvent::Kind::Model:
        beginResetModel();
        rows_ = doc_->siteCount();
        endResetModel();
        break;
    case ChangeEvent::Kind::Baseline: columnsChanged(Name, Baseline); break;
    case ChangeEvent::Kind::Current: columnsChanged(Current, Current); break;
    case ChangeEvent::Kind::Projection:
        columnsChanged(Current, Current);
        columnsChanged(LatencyShare, LatencyShare);
        break;
    case ChangeEvent::Kind::SiteValue:
        if (e.site() >= 0 && e.site() < rows_) {
            const int column = e.field == SiteField::Threshold ? Threshold : e.field == SiteField::Scope ? Scope : Band;
            Q_EMIT dataChanged(index(e.site(), column), index(e.site(), column));
        }
        break;
    case ChangeEvent::Kind::Thresholds:
        for (int s : e.sites)
            if (s < rows_)
                Q_EMIT dataChanged(index(s, Current), index(s, Threshold));
        break;
    default: break;
    }
}

void LayerTableModel::columnsChanged(int first, int last)
{
    if (rows_ > 0)
        Q_EMIT dataChanged(index(0, first), index(rows_ - 1, last));
}

int LayerTableModel::rowCount(const QModelIndex &parent) const { return parent.isValid() ? 0 : rows_; }

int LayerTableModel::columnCount(const QModelIndex &parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case Name: return tr("Site");
        case Kind: return tr("Kind");
        case Shape: return tr("Shape");
        case Baseline: return tr("Baseline");
        case Current: return tr("Current");
        case Threshold: return tr("Threshold");
        case Scope: return tr("Scope");
        case Band: return tr("Band");
        case LatencyShare: return tr("Latency");
        }
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case Baseline: return tr("Sparsity (exact zeros / elements) of the model as loaded, measured");
        case Current: return tr("Sparsity with the current thresholds: measured, or an estimate (≈) from the histogram "
                                "while the exact re-evaluation runs");
        case Threshold: return tr("Values ≤ threshold become 0 (FATReLU). Double-click to edit");
        case Scope: return tr("In the regularization scope of fine-tuning");
        case Band: return tr("Near-zero band: activations in (0, band] are penalised during fine-tuning");
        case LatencyShare: return tr("Share of the projected frame latency spent in the layers that read this site "
                                     "(model estimate)");
        }
    }
    return {};
}

QVariant LayerTableModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid) || index.row() >= doc_->siteCount())
        return {};
    const int s = index.row();
    const Site &site = doc_->sites()[std::size_t(s)];
    switch (role) {
    case SiteRole: return s;
    case ExecutedRole: return doc_->siteExecuted(s);
    case DenseRole: return !site.sparsifiable;
    case Qt::ForegroundRole:
        if (!site.sparsifiable)
            return QApplication::palette().color(QPalette::Disabled, QPalette::Text);
        return {};
    case Qt::ToolTipRole:
        if (!site.sparsifiable)
            return tr("Dense: %1").arg(QString::fromStdString(site.denseReason));
        if (index.column() == Kind && isTap(site))
            return tr("A measurement tap at the input of a conv/linear layer that no activation feeds");
        if (index.column() == Name)
            return tr("%1 (%2, execution order %3%4)")
                .arg(QString::fromStdString(site.name), QString::fromStdString(site.op))
                .arg(site.depth)
                .arg(site.inControlFlow ? tr(", inside control flow") : QString());
        return {};
    default: break;
    }
    bool estimate = false;
    switch (index.column()) {
    case Name:
        if (role == Qt::DisplayRole || role == SortRole)
            return QString::fromStdString(site.name);
        break;
    case Kind:
        if (role == Qt::DisplayRole || role == SortRole)
            return isTap(site) ? tr("tap") : QString::fromLatin1(activationKindName(site.kind));
        break;
    case Shape:
        if (role == Qt::DisplayRole)
            return shapeText(site.shape);
        if (role == SortRole)
            return qlonglong(site.elementsPerImage);
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Baseline: {
        const double v = doc_->baselineSparsity(s);
        if (role == Qt::DisplayRole)
            return percent(v);
        if (role == SortRole || role == FractionRole)
            return v;
        break;
    }
    case Current: {
        const double v = doc_->currentSparsity(s, &estimate);
        if (role == Qt::DisplayRole)
            return v < 0.0 ? percent(v) : (estimate ? QStringLiteral("≈ ") : QString()) + percent(v);
        if (role == SortRole || role == FractionRole)
            return v;
        if (role == EstimateRole)
            return estimate;
        break;
    }
    case Threshold: {
        const double t = doc_->siteValue(SiteField::Threshold, s);
        if (role == Qt::DisplayRole)
            return site.sparsifiable ? QString::number(t, 'g', 4) : QStringLiteral("–");
        if (role == Qt::EditRole || role == SortRole)
            return t;
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    }
    case Scope:
        if (role == Qt::CheckStateRole && site.sparsifiable)
            return doc_->siteValue(SiteField::Scope, s) != 0.0 ? Qt::Checked : Qt::Unchecked;
        if (role == SortRole)
            return doc_->siteValue(SiteField::Scope, s);
        break;
    case Band: {
        const double b = doc_->siteValue(SiteField::Band, s);
        if (role == Qt::DisplayRole)
            return site.sparsifiable && b > 0.0 ? QString::number(b, 'g', 4) : QStringLiteral("–");
        if (role == Qt::EditRole || role == SortRole)
            return b;
        if (role == Qt::TextAlignmentRole)
            return int(Qt::AlignRight | Qt::AlignVCenter);
        break;
    }
    case LatencyShare: {
        const double v = doc_->latencyShare(s);
        if (role == Qt::DisplayRole)
            return percent(v);
        if (role == SortRole || role == FractionRole)
            return v;
        break;
    }
    }
    return {};
}

Qt::ItemFlags LayerTableModel::flags(const QModelIndex &index) const
{
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (!index.isValid() || index.row() >= doc_->siteCount())
        return f;
    const bool sparsifiable = doc_->sites()[std::size_t(index.row())].sparsifiable;
    if (sparsifiable && (index.column() == Threshold || index.column() == Band))
        f |= Qt::ItemIsEditable;
    if (sparsifiable && index.column() == Scope)
        f |= Qt::ItemIsUserCheckable;
    return f;
}

bool LayerTableModel::setData(const QModelIndex &index, const QVariant &value, int role)
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid) || !(flags(index) & (Qt::ItemIsEditable | Qt::ItemIsUserCheckable)))
        return false;
    const int s = index.row();
    if (index.column() == Scope && role == Qt::CheckStateRole) {
        doc_->pushSiteValue(SiteField::Scope, s, value.toInt() == int(Qt::Checked) ? 1.0 : 0.0);
        return true;
    }
    if (role != Qt::EditRole)
        return false;
    bool ok = false;
    const double v = value.toDouble(&ok);
    if (!ok || v < 0.0 || !std::isfinite(v))
        return false;
    doc_->pushSiteValue(index.column() == Threshold ? SiteField::Threshold : SiteField::Band, s, v);
    return true;
}

} // namespace sparsity::ui
