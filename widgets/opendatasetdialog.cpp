#include "opendatasetdialog.h"

#include "error.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace sparsity::ui {

namespace {

QString joinFloats(const std::vector<float> &v)
{
    QStringList parts;
    for (float x : v)
        parts << QString::number(double(x), 'g', 6);
    return parts.join(QStringLiteral(", "));
}

std::vector<float> parseFloats(const QString &text, const char *what)
{
    std::vector<float> out;
    for (const QString &part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const float v = part.trimmed().toFloat(&ok);
        if (!ok)
            throw Error(std::string("Preprocessing: ") + what + " must be numbers separated by commas, not \"" +
                        part.trimmed().toStdString() + "\"");
        out.push_back(v);
    }
    return out;
}

} // namespace

OpenDatasetDialog::OpenDatasetDialog(const Project &current, const Preprocessing &modelDefault, QWidget *parent)
    : QDialog(parent), modelDefault_(modelDefault), path_(new QLineEdit(this)), split_(new QComboBox(this)),
      mode_(new QComboBox(this)), preset_(new QComboBox(this)), resize_(new QComboBox(this)), count_(new QSpinBox(this)),
      seed_(new QSpinBox(this)), channels_(new QSpinBox(this)), height_(new QSpinBox(this)), width_(new QSpinBox(this)),
      resizeTo_(new QSpinBox(this)), centerCrop_(new QCheckBox(tr("Center crop"), this)), mean_(new QLineEdit(this)),
      std_(new QLineEdit(this))
{
    setWindowTitle(tr("Open Dataset"));
    auto *browseFolder = new QPushButton(tr("Folder…"), this);
    auto *browseFile = new QPushButton(tr("File…"), this);
    connect(browseFolder, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Dataset folder"), path_->text());
        if (!d.isEmpty())
            path_->setText(d);
    });
    connect(browseFile, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, tr("Dataset file"), path_->text(),
                                                       tr("IDX or CIFAR files (*.gz *ubyte *.bin);;All files (*)"));
        if (!f.isEmpty())
            path_->setText(f);
    });
    auto *pathRow = new QHBoxLayout;
    pathRow->addWidget(path_, 1);
    pathRow->addWidget(browseFolder);
    pathRow->addWidget(browseFile);
    path_->setText(current.datasetPath);
    path_->setToolTip(tr("IDX (MNIST/Fashion-MNIST), CIFAR-10/100 binaries, an ImageFolder tree, a folder of images, "
                         "or images/ + masks/ for segmentation"));
    split_->addItems({tr("test"), tr("train")});
    split_->setCurrentIndex(current.split == Split::Test ? 0 : 1);
    mode_->addItems({tr("first N"), tr("random N"), tr("stratified N (class proportions)")});
    mode_->setCurrentIndex(int(current.subset.mode));
    count_->setRange(1, 10'000'000);
    count_->setValue(int(current.subset.count));
    seed_->setRange(0, 1'000'000'000);
    seed_->setValue(int(current.subset.seed));

    preset_->addItems({tr("As the model expects"), tr("MNIST-like 28×28"), tr("CIFAR 32×32"), tr("ImageNet 224×224"),
                       tr("Custom")});
    resize_->addItems({tr("none"), tr("exact"), tr("shorter side")});
    channels_->setRange(1, 3);
    height_->setRange(1, 16384);
    width_->setRange(1, 16384);
    resizeTo_->setRange(0, 16384);
    resizeTo_->setSpecialValueText(tr("= height"));
    auto toCustom = [this] {
        if (preset_->currentIndex() != 4)
            preset_->setCurrentIndex(4);
    };
    connect(channels_, &QSpinBox::valueChanged, this, toCustom);
    connect(height_, &QSpinBox::valueChanged, this, toCustom);
    connect(width_, &QSpinBox::valueChanged, this, toCustom);
    connect(resizeTo_, &QSpinBox::valueChanged, this, toCustom);
    connect(resize_, &QComboBox::currentIndexChanged, this, toCustom);
    connect(centerCrop_, &QCheckBox::toggled, this, toCustom);
    connect(mean_, &QLineEdit::textEdited, this, toCustom);
    connect(std_, &QLineEdit::textEdited, this, toCustom);
    connect(preset_, &QComboBox::activated, this, &OpenDatasetDialog::applyPreset);
    if (current.hasPreprocessing) {
        showPreprocessing(current.preprocessing);
        preset_->setCurrentIndex(current.preprocessing == modelDefault ? 0 : 4);
    } else {
        applyPreset(0);
    }

    auto *data = new QFormLayout;
    data->addRow(tr("Path"), pathRow);
    data->addRow(tr("Split"), split_);
    auto *subsetRow = new QHBoxLayout;
    subsetRow->addWidget(mode_, 1);
    subsetRow->addWidget(count_);
    subsetRow->addWidget(new QLabel(tr("seed"), this));
    subsetRow->addWidget(seed_);
    data->addRow(tr("Images"), subsetRow);
    auto *pre = new QFormLayout;
    pre->addRow(tr("Preset"), preset_);
    auto *size = new QHBoxLayout;
    size->addWidget(channels_);
    size->addWidget(new QLabel(tr("channels,"), this));
    size->addWidget(height_);
    size->addWidget(new QLabel(QStringLiteral("×"), this));
    size->addWidget(width_);
    size->addStretch();
    pre->addRow(tr("Model input"), size);
    auto *resizeRow = new QHBoxLayout;
    resizeRow->addWidget(resize_);
    resizeRow->addWidget(resizeTo_);
    resizeRow->addWidget(centerCrop_);
    pre->addRow(tr("Resize"), resizeRow);
    pre->addRow(tr("Mean (after /255)"), mean_);
    pre->addRow(tr("Std"), std_);
    auto *preBox = new QGroupBox(tr("Preprocessing"), this);
    preBox->setLayout(pre);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Open | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        try {
            if (path_->text().trimmed().isEmpty())
                throw Error("Choose the dataset's folder or file first.");
            preprocessing().validate();
            accept();
        } catch (const Error &e) {
            QMessageBox::warning(this, windowTitle(), QString::fromStdString(e.what()));
        }
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(data);
    layout->addWidget(preBox);
    layout->addWidget(buttons);
    resize(560, sizeHint().height());
}

void OpenDatasetDialog::setPath(const QString &path) { path_->setText(path); }
QString OpenDatasetDialog::path() const { return path_->text().trimmed(); }
Split OpenDatasetDialog::split() const { return split_->currentIndex() == 0 ? Split::Test : Split::Train; }

SubsetSpec OpenDatasetDialog::subset() const
{
    return SubsetSpec{SubsetSpec::Mode(mode_->currentIndex()), std::size_t(count_->value()), std::uint64_t(seed_->value())};
}

bool OpenDatasetDialog::customPreprocessing() const { return preset_->currentIndex() != 0; }

void OpenDatasetDialog::applyPreset(int index)
{
    switch (index) {
    case 0: showPreprocessing(modelDefault_); break;
    case 1: showPreprocessing(Preprocessing::mnistLike28()); break;
    case 2: showPreprocessing(Preprocessing::cifar32()); break;
    case 3: showPreprocessing(Preprocessing::imagenet224()); break;
    default: return;
    }
    preset_->setCurrentIndex(index);
}

void OpenDatasetDialog::showPreprocessing(const Preprocessing &p)
{
    const QSignalBlocker b1(channels_), b2(height_), b3(width_), b4(resizeTo_), b5(resize_), b6(centerCrop_);
    channels_->setValue(p.channels);
    height_->setValue(p.height);
    width_->setValue(p.width);
    resize_->setCurrentIndex(int(p.resize));
    resizeTo_->setValue(p.resizeTo);
    centerCrop_->setChecked(p.centerCrop);
    mean_->setText(joinFloats(p.mean));
    std_->setText(joinFloats(p.std));
}

Preprocessing OpenDatasetDialog::preprocessing() const
{
    Preprocessing p;
    p.channels = channels_->value();
    p.height = height_->value();
    p.width = width_->value();
    p.resize = Preprocessing::Resize(resize_->currentIndex());
    p.resizeTo = resizeTo_->value();
    p.centerCrop = centerCrop_->isChecked();
    p.mean = parseFloats(mean_->text(), "mean");
    p.std = parseFloats(std_->text(), "std");
    p.validate();
    return p;
}

} // namespace sparsity::ui
