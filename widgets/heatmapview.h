#pragma once

#include <QWidget>

#include <vector>

class QComboBox;
class QCustomPlot;
class QCPAxisRect;
class QCPColorMap;
class QCPColorScale;
class QCPItemPixmap;
class QCPItemRect;
class QLabel;
class QSpinBox;

namespace sparsity {
class Session;
}

namespace sparsity::ui {

// The selected site's feature map for one kept image: the input image, one channel large, and a grid of channels,
// before (baseline) or after (current) thresholds. Exact zeros have their own colour, apart from the gradient
// of positive values, so "near zero" and "zero" never look alike.
class HeatmapView : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapView(Session *doc, QWidget *parent = nullptr);
    QCustomPlot *plot() const { return plot_; }
    void setChannel(int channel);
    // Shows the kept image at this position of Session::keptIndices().
    void setKeptImage(int keptIndex);
    int keptImage() const;
    // Dataset index of the image shown (the inputs the maps belong to), or -1.
    long long shownDatasetIndex() const;
    // The input image as drawn (luma, 0-255), row-major; empty when none is shown.
    std::vector<float> shownInput() const;
    // Whether the input is drawn in colour (an RGB image for a model that reads 3 channels).
    bool shownInputIsColour() const;
    int channel() const;
    // Zero fraction of the map currently shown for the selected channel (for tests), -1 when nothing is shown.
    double shownZeroFraction() const { return shownZeroFraction_; }
    QString csv() const;

private:
    void fillImages();
    void rebuild();
    const std::vector<float> *mapFor(int keptIndex, bool after, std::vector<std::int64_t> *shape) const;
    std::vector<float> shownInput_;

    Session *doc_;
    QComboBox *image_;
    QSpinBox *channel_;
    QComboBox *state_;
    QLabel *info_;
    QCustomPlot *plot_;
    QCPAxisRect *inputRect_, *mapRect_, *gridRect_;
    QCPColorMap *input_, *map_;
    QCPItemPixmap *inputPicture_;
    std::vector<QCPColorMap *> tiles_;
    QCPItemRect *tileMarker_;
    QCPColorScale *scale_;
    double shownZeroFraction_ = -1.0;
    int gridColumns_ = 1;
    std::int64_t tileH_ = 0, tileW_ = 0;
};

} // namespace sparsity::ui
