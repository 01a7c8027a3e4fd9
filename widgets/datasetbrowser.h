#pragma once

#include <QAbstractListModel>
#include <QCache>
#include <QImage>
#include <QWidget>

#include <vector>

class QAction;
class QCheckBox;
class QComboBox;
class QLabel;
class QListView;
class QPushButton;

namespace sparsity {
class Session;
}

namespace sparsity::ui {

// The images the project evaluates (Session::indices()), filtered by class and by "misclassified". Thumbnails are
// decoded on demand (Dataset::image) when a view asks for them and kept in a small cache, so 60,000 rows cost only
// the rows on screen. Predictions before/after come from the baseline and current captures when they exist.
class DatasetListModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role { DatasetIndexRole = Qt::UserRole + 1, LabelRole, BeforeRole, AfterRole };
    static constexpr int kThumbnail = 48;

    explicit DatasetListModel(Session *doc, QObject *parent = nullptr);
    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role) const override;

    void setClassFilter(int label); // -1 = every class
    int classFilter() const { return classFilter_; }
    // Misclassified by the current capture (the baseline when there is no current one yet).
    void setMisclassifiedOnly(bool on);
    bool misclassifiedOnly() const { return misclassifiedOnly_; }
    std::size_t datasetIndex(int row) const { return (*indices())[rows_[std::size_t(row)]]; }
    int thumbnailsDecoded() const { return decoded_; }

private:
    const std::vector<std::size_t> *indices() const;
    void rebuild();           // rows from the filters: model reset
    void updatePredictions(); // from the captures: reset when filtering on them, else dataChanged
    std::vector<int> predictionsOf(bool after) const;
    int label(std::size_t position) const;

    Session *doc_;
    std::vector<std::size_t> rows_; // positions into Session::indices()
    std::vector<int> before_, after_; // per position, -1 when unknown
    int classFilter_ = -1;
    bool misclassifiedOnly_ = false;
    mutable QCache<std::size_t, QImage> thumbnails_;
    mutable int decoded_ = 0;
};

// The browser dock: class filter, "misclassified only", a virtualised icon grid. Activating an image that the
// heatmap keeps feature maps for shows it there; "Use for Heatmaps" (button and context menu) makes the selected
// images the ones the captures keep feature maps for.
class DatasetBrowser : public QWidget {
    Q_OBJECT
public:
    explicit DatasetBrowser(Session *doc, QWidget *parent = nullptr);
    DatasetListModel *model() const { return model_; }
    QListView *view() const { return view_; }
    QComboBox *classFilter() const { return class_; }
    QCheckBox *misclassifiedFilter() const { return misclassified_; }
    QPushButton *useForHeatmapsButton() const { return useForHeatmaps_; }
    QAction *useForHeatmapsAction() const { return useAction_; }
    // Dataset indices of the selected thumbnails, in subset order.
    std::vector<std::size_t> selectedIndices() const;
    // Hands the selection to Session::setKeptIndices; a message says what was used.
    void useSelectionForHeatmaps();

Q_SIGNALS:
    // keptIndex: position in Session::keptIndices() (-1 when the image has no kept feature maps).
    void imageActivated(std::size_t datasetIndex, int keptIndex);

private:
    void fillClasses();
    void updateCount();
    void updateHeatmapNote();

    Session *doc_;
    DatasetListModel *model_;
    QComboBox *class_;
    QCheckBox *misclassified_;
    QLabel *count_;
    QListView *view_;
    QPushButton *useForHeatmaps_;
    QAction *useAction_;
    QLabel *heatmapNote_;
};

} // namespace sparsity::ui
