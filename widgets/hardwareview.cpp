#include "hardwareview.h"

#include "session.h"
#include "plotutil.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSaveFile>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QFontDatabase>
#include <QLabel>
#include <QVBoxLayout>

namespace sparsity::ui {

namespace {

QString seconds(double s)
{
    if (s >= 1.0)
        return QStringLiteral("%1 s").arg(s, 0, 'g', 3);
    if (s >= 1e-3)
        return QStringLiteral("%1 ms").arg(s * 1e3, 0, 'g', 3);
    return QStringLiteral("%1 µs").arg(s * 1e6, 0, 'g', 3);
}

QString joules(double j)
{
    if (j >= 1e-3)
        return QStringLiteral("%1 mJ").arg(j * 1e3, 0, 'g', 3);
    if (j >= 1e-6)
        return QStringLiteral("%1 µJ").arg(j * 1e6, 0, 'g', 3);
    return QStringLiteral("%1 nJ").arg(j * 1e9, 0, 'g', 3);
}

QString ratio(double r) { return QStringLiteral("%1×").arg(r, 0, 'f', 2); }

QCPBars *makeBars(QCPAxisRect *rect, const QString &name, const QColor &color, QCPBarsGroup *group)
{
    auto *bars = new QCPBars(rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft));
    bars->setName(name);
    bars->setPen(Qt::NoPen);
    bars->setBrush(color);
    bars->setWidth(0.28);
    bars->setBarsGroup(group);
    return bars;
}

} // namespace

HardwareView::HardwareView(Session *doc, QWidget *parent)
    : QWidget(parent), doc_(doc), preset_(new QComboBox(this)), banner_(new QLabel(this)), note_(new QLabel(this)),
      totals_(new QGridLayout), plot_(new QCustomPlot(this))
{
    banner_->setText(tr("<b>Model estimates</b>, not measurements: per-operation costs are assumptions "
                        "(see the preset and docs/processor-model.md)."));
    banner_->setWordWrap(true);
    banner_->setStyleSheet(QStringLiteral("QLabel { background: rgba(224,138,46,0.16); border: 1px solid "
                                          "rgba(224,138,46,0.55); border-radius: 3px; padding: 3px 6px; }"));
    note_->setWordWrap(true);
    note_->setStyleSheet(QStringLiteral("QLabel { color: palette(mid); }"));
    preset_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    preset_->setMinimumContentsLength(16);
    auto *top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Processor"), this));
    top->addWidget(preset_, 1);
    auto *edit = new QPushButton(tr("Edit…"), this);
    edit->setToolTip(tr("Edit a copy of this preset; it is saved among your presets (%1)")
                         .arg(QDir::toNativeSeparators(Session::userPresetDir())));
    connect(edit, &QPushButton::clicked, this, &HardwareView::editPreset);
    top->addWidget(edit);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    layout->addWidget(banner_);
    layout->addLayout(totals_);
    layout->addWidget(note_);
    layout->addWidget(plot_, 1);

    const QStringList heads{QString(), tr("Dense"), tr("Baseline"), tr("Current"), tr("vs baseline")};
    for (int c = 0; c < heads.size(); ++c) {
        auto *l = new QLabel(QStringLiteral("<b>%1</b>").arg(heads[c]), this);
        l->setAlignment(Qt::AlignRight);
        totals_->addWidget(l, 0, c);
    }
    const QStringList rows{tr("Latency / frame"), tr("Throughput"), tr("Energy / frame"), tr("Events / frame")};
    for (int r = 0; r < rows.size(); ++r)
        for (int c = 0; c < heads.size(); ++c) {
            auto *l = new QLabel(c == 0 ? rows[r] : QStringLiteral("–"), this);
            l->setAlignment(c == 0 ? Qt::AlignLeft : Qt::AlignRight);
            l->setTextInteractionFlags(Qt::TextSelectableByMouse);
            totals_->addWidget(l, r + 1, c);
        }

    plot_->plotLayout()->clear();
    auto *latencyRect = new QCPAxisRect(plot_);
    energyRect_ = new QCPAxisRect(plot_);
    plot_->plotLayout()->addElement(0, 0, latencyRect);
    plot_->plotLayout()->addElement(1, 0, energyRect_);
    auto *margins = new QCPMarginGroup(plot_);
    latencyRect->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
    energyRect_->setMarginGroup(QCP::msLeft | QCP::msRight, margins);
    latencyRect->axis(QCPAxis::atLeft)->setLabel(tr("stage time (µs)"));
    energyRect_->axis(QCPAxis::atLeft)->setLabel(tr("dynamic energy (nJ)"));
    energyRect_->axis(QCPAxis::atBottom)->setLabel(tr("conv / linear layer (execution order)"));
    const QStringList names{tr("dense"), tr("baseline"), tr("current")};
    const QColor colors[3] = {plotcolors::dense().lighter(130), plotcolors::baseline(), plotcolors::current()};
    auto *g1 = new QCPBarsGroup(plot_), *g2 = new QCPBarsGroup(plot_);
    for (int i = 0; i < 3; ++i) {
        latency_[i] = makeBars(latencyRect, names[i], colors[i], g1);
        energy_[i] = makeBars(energyRect_, names[i], colors[i], g2);
    }
    // clear() above deleted the default legend with its axis rect: the latency plot gets a new one.
    plot_->legend = new QCPLegend;
    latencyRect->insetLayout()->addElement(plot_->legend, Qt::AlignTop | Qt::AlignRight);
    plot_->legend->setLayer(QStringLiteral("legend"));
    for (int i = 0; i < 3; ++i)
        plot_->legend->addItem(new QCPPlottableLegendItem(plot_->legend, latency_[i]));
    plot_->legend->setFillOrder(QCPLegend::foColumnsFirst);
    stylePlot(plot_);
    installPlotActions(plot_, [this] { return csv(); }, [] { return QStringLiteral("hardware-projection"); });

    connect(preset_, &QComboBox::currentIndexChanged, this, [this](int i) { doc_->setPresetIndex(i); });
    connect(doc_, &Session::changed, this, [this](const ChangeEvent &e) {
        switch (e.kind) {
        case ChangeEvent::Kind::Projection: rebuild(); break;
        case ChangeEvent::Kind::Model:
        case ChangeEvent::Kind::Presets: fillPresets(); break;
        default: break;
        }
    });
    fillPresets();
}

void HardwareView::fillPresets()
{
    const QSignalBlocker block(preset_);
    preset_->clear();
    for (const PresetEntry &e : doc_->presets()) {
        const QString name = e.valid ? QString::fromStdString(e.params.name) : QFileInfo(e.path).fileName();
        preset_->addItem(e.valid ? name : tr("%1 (invalid)").arg(name));
        const int i = preset_->count() - 1;
        preset_->setItemData(i, e.valid ? QString::fromStdString(e.params.description) : QString::fromStdString(e.error),
                             Qt::ToolTipRole);
        if (!e.valid)
            preset_->setItemData(i, 0, Qt::UserRole - 1); // disabled item: shows why, cannot be chosen
    }
    preset_->setCurrentIndex(doc_->presetIndex());
    rebuild();
}

QString HardwareView::saveUserPreset(const QByteArray &json)
{
    try {
        const ProcessorParams params = parsePreset(json, "edited preset");
        validate(params);
        QString base;
        for (const QChar c : QString::fromStdString(params.name).toLower())
            base += c.isLetterOrNumber() ? c : QLatin1Char('-');
        const QString dir = Session::userPresetDir();
        if (!QDir().mkpath(dir))
            return tr("Cannot create the folder %1.").arg(QDir::toNativeSeparators(dir));
        const QString path = dir + QLatin1Char('/') + base + QStringLiteral(".json");
        QSaveFile file(path);
        if (!file.open(QIODevice::WriteOnly) || file.write(json) != json.size() || !file.commit())
            return tr("Cannot write %1: %2").arg(QDir::toNativeSeparators(path), file.errorString());
        doc_->reloadPresets(path);
        return {};
    } catch (const std::exception &e) {
        return QString::fromStdString(e.what());
    }
}

void HardwareView::editPreset()
{
    const int i = doc_->presetIndex();
    if (i < 0)
        return;
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Edit Processor Preset"));
    auto *text = new QPlainTextEdit(&dialog);
    text->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    ProcessorParams params = doc_->presets()[std::size_t(i)].params;
    if (doc_->presets()[std::size_t(i)].builtIn)
        params.name += " (edited)";
    text->setPlainText(QString::fromUtf8(presetToJson(params)));
    auto *note = new QLabel(tr("Every parameter is documented in docs/processor-model.md. Mark your own figures with "
                               "\"assumption\" and public ones with \"source\". Saved among your presets."),
                            &dialog);
    note->setWordWrap(true);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel, &dialog);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, [&] {
        const QString error = saveUserPreset(text->toPlainText().toUtf8());
        if (error.isEmpty())
            dialog.accept();
        else
            QMessageBox::warning(&dialog, dialog.windowTitle(), error);
    });
    auto *layout = new QVBoxLayout(&dialog);
    layout->addWidget(note);
    layout->addWidget(text, 1);
    layout->addWidget(buttons);
    dialog.resize(640, 720);
    dialog.exec();
}

void HardwareView::rebuild()
{
    auto cell = [this](int r, int c) { return static_cast<QLabel *>(totals_->itemAtPosition(r, c)->widget()); };
    for (int i = 0; i < 3; ++i) {
        latency_[i]->data()->clear();
        energy_[i]->data()->clear();
    }
    if (!doc_->hasProjection()) {
        for (int r = 1; r <= 4; ++r)
            for (int c = 1; c <= 4; ++c)
                cell(r, c)->setText(QStringLiteral("–"));
        note_->setText(doc_->hasModel() ? tr("The projection appears after the baseline capture.") : QString());
        plot_->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const Evaluation *ev[3] = {&doc_->denseEvaluation(), &doc_->baselineEvaluation(), &doc_->currentEvaluation()};
    const bool estimate = !doc_->currentIsExact();
    for (int c = 0; c < 3; ++c) {
        cell(1, c + 1)->setText(seconds(ev[c]->latencySeconds));
        cell(2, c + 1)->setText(tr("%1 FPS").arg(ev[c]->fps, 0, 'f', 0));
        cell(3, c + 1)->setText(joules(ev[c]->energyPerFrameJ));
        cell(4, c + 1)->setText(QStringLiteral("%1 k").arg(ev[c]->events / 1e3, 0, 'f', 1));
    }
    const auto current = doc_->current();
    if (estimate)
        cell(0, 3)->setText(tr("<b>Current</b> <span style='color:#e08a2e'>(estimate)</span>"));
    else if (current && current->sliceOf)
        cell(0, 3)->setText(tr("<b>Current</b> <span style='color:#e08a2e'>(%1-image slice)</span>").arg(current->result.images));
    else
        cell(0, 3)->setText(tr("<b>Current</b>"));
    try {
        const Comparison cmp = compare(*ev[1], *ev[2]);
        cell(1, 4)->setText(tr("%1 lower").arg(ratio(cmp.latencyRatio)));
        cell(2, 4)->setText(tr("%1 higher").arg(ratio(cmp.fpsRatio)));
        cell(3, 4)->setText(tr("%1 lower").arg(ratio(cmp.energyRatio)));
        cell(4, 4)->setText(tr("%1 fewer").arg(ratio(cmp.eventRatio)));
    } catch (const std::exception &e) {
        cell(1, 4)->setText(QString::fromStdString(e.what()));
    }
    note_->setText(QString::fromStdString(ev[2]->mappingNote));
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    double maxLatency = 0.0, maxEnergy = 0.0;
    const double clock = doc_->presets()[std::size_t(doc_->presetIndex())].params.clockHz;
    for (int c = 0; c < 3; ++c) {
        QVector<double> keys, lat, en;
        for (std::size_t l = 0; l < ev[c]->layers.size(); ++l) {
            keys << double(l);
            lat << ev[c]->layers[l].cycles / clock * 1e6;
            en << ev[c]->layers[l].energy.dynamic() * 1e9;
            maxLatency = std::max(maxLatency, lat.last());
            maxEnergy = std::max(maxEnergy, en.last());
        }
        latency_[c]->setData(keys, lat, true);
        energy_[c]->setData(keys, en, true);
    }
    // Layer names under the energy plot when they fit; indices otherwise.
    const double n = double(ev[0]->layers.size());
    if (ev[0]->layers.size() <= 16) {
        for (std::size_t l = 0; l < ev[0]->layers.size(); ++l)
            ticker->addTick(double(l), QString::fromStdString(ev[0]->layers[l].name));
        energyRect_->axis(QCPAxis::atBottom)->setTicker(ticker);
        energyRect_->axis(QCPAxis::atBottom)->setTickLabelRotation(40);
        energyRect_->axis(QCPAxis::atBottom)->setLabel(QString());
    } else {
        energyRect_->axis(QCPAxis::atBottom)->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        energyRect_->axis(QCPAxis::atBottom)->setTickLabelRotation(0);
        energyRect_->axis(QCPAxis::atBottom)->setLabel(tr("conv / linear layer (execution order)"));
    }
    plot_->axisRect(0)->axis(QCPAxis::atBottom)->setTicker(energyRect_->axis(QCPAxis::atBottom)->ticker());
    plot_->axisRect(0)->axis(QCPAxis::atBottom)->setTickLabels(false);
    for (QCPAxisRect *rect : plot_->axisRects()) {
        rect->axis(QCPAxis::atBottom)->setRange(-0.6, std::max(1.0, n - 0.4));
    }
    plot_->axisRect(0)->axis(QCPAxis::atLeft)->setRange(0, std::max(maxLatency * 1.1, 1e-9));
    energyRect_->axis(QCPAxis::atLeft)->setRange(0, std::max(maxEnergy * 1.1, 1e-9));
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

QString HardwareView::totalsText() const
{
    QStringList lines;
    for (int r = 0; r < totals_->rowCount(); ++r) {
        QStringList cols;
        for (int c = 0; c < totals_->columnCount(); ++c)
            if (auto *item = totals_->itemAtPosition(r, c))
                cols << static_cast<QLabel *>(item->widget())->text();
        lines << cols.join(QLatin1Char('\t'));
    }
    return lines.join(QLatin1Char('\n'));
}

QString HardwareView::csv() const
{
    QString out = QStringLiteral("layer,state,stage_seconds,dynamic_energy_j,events,synops\n");
    if (!doc_->hasProjection())
        return out;
    const Evaluation *ev[3] = {&doc_->denseEvaluation(), &doc_->baselineEvaluation(), &doc_->currentEvaluation()};
    const char *states[3] = {"dense", "baseline", doc_->currentIsExact() ? "current" : "current_estimate"};
    const double clock = doc_->presets()[std::size_t(doc_->presetIndex())].params.clockHz;
    for (int c = 0; c < 3; ++c)
        for (const LayerCost &l : ev[c]->layers)
            out += QStringLiteral("%1,%2,%3,%4,%5,%6\n")
                       .arg(QString::fromStdString(l.name), QString::fromLatin1(states[c]))
                       .arg(l.cycles / clock, 0, 'g', 9)
                       .arg(l.energy.dynamic(), 0, 'g', 9)
                       .arg(l.events, 0, 'g', 9)
                       .arg(l.synops, 0, 'g', 9);
    return out;
}

} // namespace sparsity::ui
