#include "heatmapview.h"

#include "data/dataset.h"
#include "session.h"
#include "plotutil.h"
#include "graph/site.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace sparsity::ui {

namespace {

constexpr int kMaxTiles = 36;
constexpr int kGap = 1; // pixels between tiles of the channel grid

// Positive values on a perceptual ramp that starts at a visible purple, exact zeros (stored as NaN) in near-black.
QCPColorGradient activationGradient()
{
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.00, QColor(0x3b, 0x0f, 0x70));
    g.setColorStopAt(0.25, QColor(0x8c, 0x29, 0x81));
    g.setColorStopAt(0.50, QColor(0xde, 0x49, 0x68));
    g.setColorStopAt(0.75, QColor(0xfe, 0x9f, 0x6d));
    g.setColorStopAt(1.00, QColor(0xfc, 0xfd, 0xbf));
    g.setLevelCount(512);
    g.setNanHandling(QCPColorGradient::nhNanColor);
    g.setNanColor(QColor(0x0b, 0x0c, 0x10));
    return g;
}

QCPAxisRect *imageRect(QCustomPlot *plot)
{
    auto *rect = new QCPAxisRect(plot);
    for (QCPAxis *a : rect->axes()) {
        a->setVisible(false);
        a->grid()->setVisible(false);
    }
    rect->axis(QCPAxis::atLeft)->setRangeReversed(true); // image row 0 at the top
    rect->setMinimumMargins(QMargins(2, 2, 2, 2));
    rect->setAutoMargins(QCP::msNone);
    rect->setMargins(QMargins(4, 4, 4, 4));
    return rect;
}

// Square pixels: widen whichever axis has room so the image keeps its aspect ratio.
void fitImage(QCPAxisRect *rect, double w, double h)
{
    QCPAxis *x = rect->axis(QCPAxis::atBottom), *y = rect->axis(QCPAxis::atLeft);
    x->setRange(-0.5, w - 0.5);
    y->setRange(-0.5, h - 0.5);
    if (rect->width() <= 0 || rect->height() <= 0 || w <= 0 || h <= 0)
        return;
    if (double(rect->width()) / w > double(rect->height()) / h)
        x->setScaleRatio(y, 1.0);
    else
        y->setScaleRatio(x, 1.0);
}

void setMap(QCPColorMap *map, const float *data, std::int64_t h, std::int64_t w, double key0, double value0)
{
    map->data()->setSize(int(w), int(h));
    map->data()->setRange(QCPRange(key0, key0 + double(w - 1)), QCPRange(value0, value0 + double(h - 1)));
    for (std::int64_t y = 0; y < h; ++y)
        for (std::int64_t x = 0; x < w; ++x) {
            const float v = data[y * w + x];
            map->data()->setCell(int(x), int(y), v == 0.0f ? std::nan("") : double(v));
        }
}

} // namespace

HeatmapView::HeatmapView(Session *doc, QWidget *parent)
    : QWidget(parent), doc_(doc), image_(new QComboBox(this)), channel_(new QSpinBox(this)), state_(new QComboBox(this)),
      info_(new QLabel(this)), plot_(new QCustomPlot(this))
{
    state_->addItem(tr("Before"));
    state_->addItem(tr("After"));
    state_->setToolTip(tr("Before: the baseline capture. After: the capture with the current thresholds."));
    image_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    image_->setMinimumContentsLength(10);
    state_->setCurrentIndex(1);
    channel_->setPrefix(tr("channel "));
    auto *controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Image"), this));
    controls->addWidget(image_, 1);
    controls->addWidget(channel_);
    controls->addWidget(state_);
    info_->setTextFormat(Qt::RichText);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(controls);
    layout->addWidget(info_);
    layout->addWidget(plot_, 1);

    plot_->plotLayout()->clear();
    inputRect_ = imageRect(plot_);
    mapRect_ = imageRect(plot_);
    gridRect_ = imageRect(plot_);
    scale_ = new QCPColorScale(plot_);
    scale_->setType(QCPAxis::atRight);
    scale_->setGradient(activationGradient());
    scale_->setBarWidth(10);
    scale_->axis()->setLabel(tr("activation (black = exactly 0)"));
    auto *titles = new QCPLayoutGrid;
    plot_->plotLayout()->addElement(0, 0, titles);
    plot_->plotLayout()->setRowStretchFactor(0, 0.001);
    const QStringList names{tr("input"), tr("selected channel"), tr("channels")};
    for (int i = 0; i < 3; ++i) {
        auto *t = new QCPTextElement(plot_, names[i]);
        t->setTextColor(palette().color(QPalette::WindowText));
        titles->addElement(0, i, t);
    }
    auto *row = new QCPLayoutGrid;
    plot_->plotLayout()->addElement(1, 0, row);
    row->addElement(0, 0, inputRect_);
    row->addElement(0, 1, mapRect_);
    row->addElement(0, 2, gridRect_);
    row->addElement(0, 3, scale_);
    row->setColumnStretchFactors({1.0, 1.4, 1.6, 0.01});
    titles->setColumnStretchFactors({1.0, 1.4, 1.6});
    auto *group = new QCPMarginGroup(plot_);
    for (QCPAxisRect *r : {inputRect_, mapRect_, gridRect_})
        r->setMarginGroup(QCP::msTop | QCP::msBottom, group);
    scale_->setMarginGroup(QCP::msTop | QCP::msBottom, group);

    input_ = new QCPColorMap(inputRect_->axis(QCPAxis::atBottom), inputRect_->axis(QCPAxis::atLeft));
    input_->setGradient(QCPColorGradient(QCPColorGradient::gpGrayscale));
    input_->setInterpolate(false);
    // A colour map draws one value per pixel: a colour input is drawn as a picture over the same cells.
    inputPicture_ = new QCPItemPixmap(plot_);
    inputPicture_->setClipAxisRect(inputRect_);
    for (QCPItemPosition *corner : {inputPicture_->topLeft, inputPicture_->bottomRight})
        corner->setAxes(inputRect_->axis(QCPAxis::atBottom), inputRect_->axis(QCPAxis::atLeft));
    inputPicture_->setScaled(true, Qt::IgnoreAspectRatio, Qt::FastTransformation);
    inputPicture_->setVisible(false);
    map_ = new QCPColorMap(mapRect_->axis(QCPAxis::atBottom), mapRect_->axis(QCPAxis::atLeft));
    map_->setColorScale(scale_);
    map_->setInterpolate(false);
    for (int i = 0; i < kMaxTiles; ++i) {
        auto *tile = new QCPColorMap(gridRect_->axis(QCPAxis::atBottom), gridRect_->axis(QCPAxis::atLeft));
        tile->setColorScale(scale_);
        tile->setInterpolate(false);
        tiles_.push_back(tile);
    }
    tileMarker_ = new QCPItemRect(plot_);
    tileMarker_->setClipAxisRect(gridRect_);
    tileMarker_->topLeft->setAxes(gridRect_->axis(QCPAxis::atBottom), gridRect_->axis(QCPAxis::atLeft));
    tileMarker_->bottomRight->setAxes(gridRect_->axis(QCPAxis::atBottom), gridRect_->axis(QCPAxis::atLeft));
    tileMarker_->setPen(QPen(plotcolors::current(), 2));
    stylePlot(plot_);
    scale_->axis()->setTickLabelColor(palette().color(QPalette::WindowText));
    scale_->axis()->setLabelColor(palette().color(QPalette::WindowText));
    connect(plot_, &QCustomPlot::afterLayout, this, [this] {
        fitImage(inputRect_, input_->data()->keySize(), input_->data()->valueSize());
        fitImage(mapRect_, map_->data()->keySize(), map_->data()->valueSize());
        const int rows = tiles_[0]->visible() ? int(std::ceil(double(std::count_if(tiles_.begin(), tiles_.end(), [](auto *t) {
                                                                  return t->visible();
                                                              })) / gridColumns_))
                                              : 1;
        fitImage(gridRect_, double(gridColumns_ * (tileW_ + kGap) - kGap), double(rows * (tileH_ + kGap) - kGap));
    });
    // A click on a tile of the grid selects that channel.
    connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent *e) {
        if (!gridRect_->rect().contains(e->position().toPoint()) || tileW_ <= 0)
            return;
        const double x = gridRect_->axis(QCPAxis::atBottom)->pixelToCoord(e->position().x()) + 0.5;
        const double y = gridRect_->axis(QCPAxis::atLeft)->pixelToCoord(e->position().y()) + 0.5;
        const int c = int(std::floor(x / double(tileW_ + kGap))) + gridColumns_ * int(std::floor(y / double(tileH_ + kGap)));
        if (x >= 0 && y >= 0 && c >= 0 && c < kMaxTiles && tiles_[std::size_t(c)]->visible())
            setChannel(c);
    });
    installPlotActions(
        plot_, [this] { return csv(); },
        [this] {
            const int s = doc_->selectedSite();
            return s >= 0 ? QStringLiteral("featuremap-") + QString::fromStdString(doc_->sites()[std::size_t(s)].name)
                          : QStringLiteral("featuremap");
        });

    connect(image_, &QComboBox::currentIndexChanged, this, &HeatmapView::rebuild);
    connect(channel_, &QSpinBox::valueChanged, this, &HeatmapView::rebuild);
    connect(state_, &QComboBox::currentIndexChanged, this, &HeatmapView::rebuild);
    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        switch (e.kind) {
        case ChangeEvent::Kind::Model:
        case ChangeEvent::Kind::Baseline:
        case ChangeEvent::Kind::KeptImages: fillImages(); break;
        case ChangeEvent::Kind::Current:
        case ChangeEvent::Kind::SelectedSite: rebuild(); break;
        default: break;
        }
    });
    fillImages();
}

void HeatmapView::setChannel(int channel) { channel_->setValue(channel); }
int HeatmapView::channel() const { return channel_->value(); }

void HeatmapView::setKeptImage(int keptIndex)
{
    if (keptIndex >= 0 && keptIndex < image_->count())
        image_->setCurrentIndex(keptIndex);
}

int HeatmapView::keptImage() const { return image_->currentIndex(); }

long long HeatmapView::shownDatasetIndex() const
{
    const int k = image_->currentIndex();
    return k >= 0 && std::size_t(k) < doc_->keptIndices().size() ? (long long)doc_->keptIndices()[std::size_t(k)] : -1;
}

std::vector<float> HeatmapView::shownInput() const { return shownInput_; }

bool HeatmapView::shownInputIsColour() const { return inputPicture_->visible(); }

void HeatmapView::fillImages()
{
    const QSignalBlocker block(image_);
    const int previous = image_->currentIndex();
    image_->clear();
    const QStringList classes = doc_->classNames();
    for (std::size_t k = 0; k < doc_->keptIndices().size(); ++k) {
        const std::size_t i = doc_->keptIndices()[k];
        const int label = doc_->dataset() ? doc_->dataset()->label(i) : -1;
        image_->addItem(label >= 0 && label < classes.size() ? tr("#%1 · %2").arg(i).arg(classes[label]) : tr("#%1").arg(i));
    }
    image_->setCurrentIndex(std::clamp(previous, 0, image_->count() - 1));
    rebuild();
}

const std::vector<float> *HeatmapView::mapFor(int keptIndex, bool after, std::vector<std::int64_t> *shape) const
{
    const int s = doc_->selectedSite();
    const auto snap = after ? doc_->current() : doc_->baseline();
    if (s < 0 || !snap || keptIndex < 0 || std::size_t(keptIndex) >= doc_->keptIndices().size())
        return nullptr;
    // By dataset index: right after other images were chosen, the captures still hold the previous ones.
    const std::size_t wanted = doc_->keptIndices()[std::size_t(keptIndex)];
    const auto it = std::find_if(snap->result.kept.begin(), snap->result.kept.end(),
                                 [wanted](const KeptImage &k) { return k.datasetIndex == wanted; });
    if (it == snap->result.kept.end())
        return nullptr;
    const auto &kept = *it;
    if (std::size_t(s) >= kept.siteMaps.size() || kept.siteMaps[std::size_t(s)].empty())
        return nullptr;
    *shape = doc_->sites()[std::size_t(s)].shape;
    return &kept.siteMaps[std::size_t(s)];
}

void HeatmapView::rebuild()
{
    const int k = image_->currentIndex();
    const bool after = state_->currentIndex() == 1;
    std::vector<std::int64_t> shape;
    const std::vector<float> *maps = mapFor(k, after, &shape);
    shownZeroFraction_ = -1.0;
    const bool spatial = maps && shape.size() == 3;
    for (auto *t : tiles_)
        t->setVisible(false);
    map_->setVisible(spatial);
    tileMarker_->setVisible(spatial);
    input_->setVisible(false);
    inputPicture_->setVisible(false);
    shownInput_.clear();
    // The input image as the dataset stores it (before normalisation): in colour when the model reads 3 channels,
    // else as the luma the model sees.
    if (k >= 0 && doc_->dataset() && std::size_t(k) < doc_->keptIndices().size()) {
        try {
            const RawImage img = doc_->dataset()->image(doc_->keptIndices()[std::size_t(k)]);
            std::vector<float> luma(std::size_t(img.width) * std::size_t(img.height));
            for (std::size_t p = 0; p < luma.size(); ++p) {
                const std::uint8_t *px = &img.pixels[p * std::size_t(img.channels)];
                luma[p] = img.channels == 3 ? 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2] : float(px[0]);
            }
            input_->data()->setSize(img.width, img.height);
            input_->data()->setRange(QCPRange(0, img.width - 1), QCPRange(0, img.height - 1));
            for (int y = 0; y < img.height; ++y)
                for (int x = 0; x < img.width; ++x)
                    input_->data()->setCell(x, y, luma[std::size_t(y * img.width + x)]);
            input_->setDataRange(QCPRange(0, 255));
            const bool colour = img.channels == 3 && doc_->preprocessing().channels == 3;
            if (colour) {
                const QImage rgb(img.pixels.data(), img.width, img.height, img.width * 3, QImage::Format_RGB888);
                inputPicture_->setPixmap(QPixmap::fromImage(rgb)); // deep copy: `img` goes out of scope
                inputPicture_->topLeft->setCoords(-0.5, -0.5);
                inputPicture_->bottomRight->setCoords(img.width - 0.5, img.height - 0.5);
            }
            input_->setVisible(!colour);
            inputPicture_->setVisible(colour);
            shownInput_ = std::move(luma);
        } catch (const std::exception &e) {
            info_->setText(tr("<span style='color:#e05a2e'>Cannot show the input image: %1</span>")
                               .arg(QString::fromStdString(e.what()).toHtmlEscaped()));
        }
    }
    if (!spatial) {
        if (doc_->selectedSite() < 0)
            info_->setText(tr("<i>Select a site to see its feature maps</i>"));
        else if (maps)
            info_->setText(tr("<i>This site's output is not a C×H×W map</i>"));
        else
            info_->setText(tr("<i>Feature maps appear after the capture</i>"));
        plot_->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const std::int64_t C = shape[0], H = shape[1], W = shape[2];
    channel_->setRange(0, int(C - 1));
    const int c = std::min<int>(channel_->value(), int(C - 1));
    float lo = 0.0f, hi = 0.0f;
    for (float v : *maps) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
    }
    const float *channelData = maps->data() + std::size_t(c) * std::size_t(H * W);
    setMap(map_, channelData, H, W, 0.0, 0.0);
    const auto zeros = std::count(channelData, channelData + H * W, 0.0f);
    shownZeroFraction_ = double(zeros) / double(H * W);
    const auto allZeros = std::count(maps->begin(), maps->end(), 0.0f);

    const int n = int(std::min<std::int64_t>(C, kMaxTiles));
    gridColumns_ = int(std::ceil(std::sqrt(double(n))));
    tileH_ = H;
    tileW_ = W;
    for (int t = 0; t < n; ++t) {
        const double x0 = double((t % gridColumns_) * (W + kGap)), y0 = double((t / gridColumns_) * (H + kGap));
        setMap(tiles_[std::size_t(t)], maps->data() + std::size_t(t) * std::size_t(H * W), H, W, x0, y0);
        tiles_[std::size_t(t)]->setVisible(true);
    }
    if (c < n) {
        const double x0 = double((c % gridColumns_) * (W + kGap)), y0 = double((c / gridColumns_) * (H + kGap));
        tileMarker_->topLeft->setCoords(x0 - 0.5, y0 - 0.5);
        tileMarker_->bottomRight->setCoords(x0 + double(W) - 0.5, y0 + double(H) - 0.5);
    } else {
        tileMarker_->setVisible(false);
    }
    scale_->setDataRange(QCPRange(lo, hi > lo ? hi : lo + 1.0f));

    QString prediction;
    const auto snap = after ? doc_->current() : doc_->baseline();
    const QStringList classes = doc_->classNames();
    const auto &r = snap->result;
    const auto at = std::find(r.indices.begin(), r.indices.end(), doc_->keptIndices()[std::size_t(k)]);
    if (at != r.indices.end() && std::size_t(at - r.indices.begin()) < r.predictions.size()) {
        const int p = r.predictions[std::size_t(at - r.indices.begin())];
        prediction = tr(" · predicted <b>%1</b>").arg(p >= 0 && p < classes.size() ? classes[p] : QString::number(p));
    }
    info_->setText(tr("%1×%2 · channel %3: <b>%4 %</b> zeros · all %5 channels: <b>%6 %</b> zeros%7%8")
                       .arg(H)
                       .arg(W)
                       .arg(c)
                       .arg(100.0 * shownZeroFraction_, 0, 'f', 1)
                       .arg(C)
                       .arg(100.0 * double(allZeros) / double(maps->size()), 0, 'f', 1)
                       .arg(prediction, C > kMaxTiles ? tr(" · grid shows the first %1").arg(kMaxTiles) : QString()));
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

QString HeatmapView::csv() const
{
    QString out = QStringLiteral("row,column,value\n");
    auto *d = map_->data();
    if (!map_->visible())
        return out;
    for (int y = 0; y < d->valueSize(); ++y)
        for (int x = 0; x < d->keySize(); ++x) {
            const double v = d->cell(x, y);
            out += QStringLiteral("%1,%2,%3\n").arg(y).arg(x).arg(std::isnan(v) ? 0.0 : v, 0, 'g', 9);
        }
    return out;
}

} // namespace sparsity::ui
