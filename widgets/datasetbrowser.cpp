#include "datasetbrowser.h"

#include "data/dataset.h"
#include "session.h"

#include <QAction>
#include <QBrush>
#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QItemSelectionModel>
#include <QLabel>
#include <QListView>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>
#include <unordered_map>

namespace sparsity::ui {

namespace {

QImage toImage(const RawImage &raw)
{
    if (raw.width <= 0 || raw.height <= 0 || raw.pixels.size() < std::size_t(raw.width) * std::size_t(raw.height) * std::size_t(std::max(1, raw.channels)))
        return {};
    QImage image;
    if (raw.channels == 1) {
        image = QImage(raw.pixels.data(), raw.width, raw.height, raw.width, QImage::Format_Grayscale8).copy();
    } else if (raw.channels == 3) {
        image = QImage(raw.pixels.data(), raw.width, raw.height, raw.width * 3, QImage::Format_RGB888).copy();
    } else if (raw.channels == 4) {
        image = QImage(raw.pixels.data(), raw.width, raw.height, raw.width * 4, QImage::Format_RGBA8888).copy();
    } else {
        return {};
    }
    return image.scaled(DatasetListModel::kThumbnail, DatasetListModel::kThumbnail, Qt::KeepAspectRatio,
                        Qt::SmoothTransformation);
}

} // namespace

DatasetListModel::DatasetListModel(Session *doc, QObject *parent) : QAbstractListModel(parent), doc_(doc)
{
    thumbnails_.setMaxCost(4000);
    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        switch (e.kind) {
        case ChangeEvent::Kind::Model:
            thumbnails_.clear();
            classFilter_ = -1;
            rebuild();
            break;
        case ChangeEvent::Kind::Baseline:
        case ChangeEvent::Kind::Current: updatePredictions(); break;
        default: break;
        }
    });
    rebuild();
}

const std::vector<std::size_t> *DatasetListModel::indices() const { return &doc_->indices(); }

int DatasetListModel::rowCount(const QModelIndex &parent) const { return parent.isValid() ? 0 : int(rows_.size()); }

int DatasetListModel::label(std::size_t position) const
{
    return doc_->dataset() ? doc_->dataset()->label((*indices())[position]) : -1;
}

std::vector<int> DatasetListModel::predictionsOf(bool after) const
{
    const auto snap = after ? doc_->current() : doc_->baseline();
    const std::size_t n = indices()->size();
    std::vector<int> out(n, -1);
    if (!snap || snap->result.predictions.size() != snap->result.indices.size())
        return out;
    const auto &r = snap->result;
    if (r.indices == *indices()) {
        std::copy(r.predictions.begin(), r.predictions.end(), out.begin());
        return out;
    }
    std::unordered_map<std::size_t, int> byIndex;
    for (std::size_t i = 0; i < r.indices.size(); ++i)
        byIndex.emplace(r.indices[i], r.predictions[i]);
    for (std::size_t p = 0; p < n; ++p)
        if (auto it = byIndex.find((*indices())[p]); it != byIndex.end())
            out[p] = it->second;
    return out;
}

void DatasetListModel::rebuild()
{
    beginResetModel();
    before_ = predictionsOf(false);
    after_ = predictionsOf(true);
    rows_.clear();
    const std::size_t n = doc_->dataset() ? indices()->size() : 0;
    rows_.reserve(n);
    for (std::size_t p = 0; p < n; ++p) {
        const int l = label(p);
        if (classFilter_ >= 0 && l != classFilter_)
            continue;
        if (misclassifiedOnly_) {
            const int predicted = after_[p] >= 0 ? after_[p] : before_[p];
            if (predicted < 0 || l < 0 || predicted == l)
                continue;
        }
        rows_.push_back(p);
    }
    endResetModel();
}

void DatasetListModel::updatePredictions()
{
    if (misclassifiedOnly_)
        return rebuild(); // rows themselves depend on the predictions
    before_ = predictionsOf(false);
    after_ = predictionsOf(true);
    if (!rows_.empty())
        Q_EMIT dataChanged(index(0), index(int(rows_.size()) - 1),
                           {Qt::DisplayRole, Qt::ToolTipRole, Qt::ForegroundRole, BeforeRole, AfterRole});
}

void DatasetListModel::setClassFilter(int label)
{
    if (label == classFilter_)
        return;
    classFilter_ = label;
    rebuild();
}

void DatasetListModel::setMisclassifiedOnly(bool on)
{
    if (on == misclassifiedOnly_)
        return;
    misclassifiedOnly_ = on;
    rebuild();
}

QVariant DatasetListModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid) || !doc_->dataset())
        return {};
    const std::size_t position = rows_[std::size_t(index.row())];
    const std::size_t datasetIndex = (*indices())[position];
    const int l = label(position);
    const int before = position < before_.size() ? before_[position] : -1;
    const int after = position < after_.size() ? after_[position] : -1;
    const QStringList classes = doc_->classNames();
    auto name = [&classes](int c) { return c >= 0 && c < classes.size() ? classes[c] : (c >= 0 ? QString::number(c) : QStringLiteral("?")); };
    switch (role) {
    case Qt::DisplayRole: {
        QString text = QStringLiteral("#%1").arg(datasetIndex);
        if (l >= 0)
            text += QLatin1Char(' ') + name(l);
        if (before >= 0 || after >= 0)
            text += QLatin1Char('\n') + name(before) + QStringLiteral(" → ") + name(after);
        return text;
    }
    case Qt::ToolTipRole:
        return tr("Image #%1\nLabel: %2\nPredicted before tuning: %3\nPredicted now: %4")
            .arg(datasetIndex)
            .arg(l >= 0 ? name(l) : tr("none"), before >= 0 ? name(before) : tr("not captured"),
                 after >= 0 ? name(after) : tr("not captured"));
    case Qt::DecorationRole: {
        if (const QImage *cached = thumbnails_.object(datasetIndex))
            return *cached;
        QImage image;
        try {
            image = toImage(doc_->dataset()->image(datasetIndex));
        } catch (const std::exception &) {
            // An unreadable image shows no thumbnail; the capture reports it among its skipped images.
        }
        ++decoded_;
        thumbnails_.insert(datasetIndex, new QImage(image));
        return image;
    }
    case Qt::ForegroundRole: {
        const int predicted = after >= 0 ? after : before;
        if (l >= 0 && predicted >= 0 && predicted != l)
            return QBrush(QColor(0xe0, 0x5a, 0x2e));
        return {};
    }
    case DatasetIndexRole: return qulonglong(datasetIndex);
    case LabelRole: return l;
    case BeforeRole: return before;
    case AfterRole: return after;
    default: return {};
    }
}

DatasetBrowser::DatasetBrowser(Session *doc, QWidget *parent)
    : QWidget(parent), doc_(doc), model_(new DatasetListModel(doc, this)), class_(new QComboBox(this)),
      misclassified_(new QCheckBox(tr("Misclassified only"), this)), count_(new QLabel(this)), view_(new QListView(this)),
      useForHeatmaps_(new QPushButton(tr("Use for Heatmaps"), this)), useAction_(new QAction(tr("Use for Heatmaps"), this)),
      heatmapNote_(new QLabel(this))
{
    view_->setModel(model_);
    view_->setViewMode(QListView::IconMode);
    view_->setResizeMode(QListView::Adjust);
    view_->setMovement(QListView::Static);
    view_->setUniformItemSizes(true);
    view_->setLayoutMode(QListView::Batched);
    view_->setBatchSize(200);
    view_->setIconSize(QSize(DatasetListModel::kThumbnail, DatasetListModel::kThumbnail));
    view_->setGridSize(QSize(DatasetListModel::kThumbnail + 64, DatasetListModel::kThumbnail + 40));
    view_->setWordWrap(true);
    view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    const QString useTip = tr("Keep the feature maps of the selected images (up to %1) for the Feature Maps view; the "
                              "captures run again to collect them.")
                               .arg(Session::kMaxKeptImages);
    useForHeatmaps_->setToolTip(useTip);
    useAction_->setToolTip(useTip);
    view_->setContextMenuPolicy(Qt::ActionsContextMenu);
    view_->addAction(useAction_);
    heatmapNote_->setWordWrap(true);
    misclassified_->setToolTip(tr("Images the current state (or the baseline before it exists) gets wrong."));
    auto *filters = new QHBoxLayout;
    filters->addWidget(new QLabel(tr("Class"), this));
    filters->addWidget(class_, 1);
    filters->addWidget(misclassified_);
    filters->addWidget(count_);
    auto *heatmaps = new QHBoxLayout;
    heatmaps->addWidget(heatmapNote_, 1);
    heatmaps->addWidget(useForHeatmaps_);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(filters);
    layout->addWidget(view_, 1);
    layout->addLayout(heatmaps);
    auto enableUse = [this] {
        const bool any = view_->selectionModel() && view_->selectionModel()->hasSelection();
        useForHeatmaps_->setEnabled(any);
        useAction_->setEnabled(any);
    };
    connect(view_->selectionModel(), &QItemSelectionModel::selectionChanged, this, enableUse);
    connect(model_, &QAbstractItemModel::modelReset, this, enableUse);
    connect(useForHeatmaps_, &QPushButton::clicked, this, &DatasetBrowser::useSelectionForHeatmaps);
    connect(useAction_, &QAction::triggered, this, &DatasetBrowser::useSelectionForHeatmaps);
    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        if (e.kind == ChangeEvent::Kind::KeptImages || e.kind == ChangeEvent::Kind::Model)
            updateHeatmapNote();
        if (e.kind == ChangeEvent::Kind::Model)
            fillClasses();
    });
    enableUse();

    connect(class_, &QComboBox::currentIndexChanged, this,
            [this] { model_->setClassFilter(class_->currentData().isValid() ? class_->currentData().toInt() : -1); });
    connect(misclassified_, &QCheckBox::toggled, model_, &DatasetListModel::setMisclassifiedOnly);
    connect(model_, &QAbstractItemModel::modelReset, this, &DatasetBrowser::updateCount);
    connect(view_, &QListView::clicked, this, [this](const QModelIndex &index) {
        const std::size_t i = model_->datasetIndex(index.row());
        const auto &kept = doc_->keptIndices();
        const auto it = std::find(kept.begin(), kept.end(), i);
        Q_EMIT imageActivated(i, it == kept.end() ? -1 : int(it - kept.begin()));
    });
    fillClasses();
    updateHeatmapNote();
}

std::vector<std::size_t> DatasetBrowser::selectedIndices() const
{
    std::vector<int> rows;
    for (const QModelIndex &i : view_->selectionModel()->selectedIndexes())
        rows.push_back(i.row());
    std::sort(rows.begin(), rows.end()); // rows follow the subset's order
    std::vector<std::size_t> out;
    for (int r : rows)
        out.push_back(model_->datasetIndex(r));
    return out;
}

void DatasetBrowser::useSelectionForHeatmaps()
{
    const auto wanted = selectedIndices();
    if (wanted.empty())
        return;
    const auto used = doc_->setKeptIndices(wanted);
    if (used.size() < wanted.size())
        heatmapNote_->setText(tr("Only the first %1 selected images are used: each kept image costs memory in both "
                                 "captures.")
                                  .arg(used.size()));
}

void DatasetBrowser::updateHeatmapNote()
{
    QStringList ids;
    for (std::size_t i : doc_->keptIndices())
        ids << QStringLiteral("#%1").arg(i);
    heatmapNote_->setText(ids.isEmpty() ? QString() : tr("Feature maps kept for %1").arg(ids.join(QStringLiteral(", "))));
}

void DatasetBrowser::fillClasses()
{
    const QSignalBlocker block(class_);
    class_->clear();
    class_->addItem(tr("All classes"));
    const QStringList classes = doc_->classNames();
    for (int c = 0; c < classes.size(); ++c)
        class_->addItem(classes[c], c);
    updateCount();
}

void DatasetBrowser::updateCount()
{
    count_->setText(tr("%n image(s)", nullptr, model_->rowCount()));
}

} // namespace sparsity::ui
