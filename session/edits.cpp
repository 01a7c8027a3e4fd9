#include "session.h"

#include "graph/model.h"
#include "undocommands.h"

#include <QFileInfo>
#include <QStandardPaths>
#include <QUndoStack>

#include <algorithm>

// Edits of the per-site values, the sparsity estimates read from the captures, and the hardware projection.
namespace sparsity {

double Session::siteValue(SiteField field, int site) const
{
    const auto i = std::size_t(site);
    switch (field) {
    case SiteField::Threshold: return double(thresholds_[i]);
    case SiteField::Scope: return scope_[i] ? 1.0 : 0.0;
    case SiteField::Band: return bands_[i];
    }
    return 0.0;
}

void Session::setSiteValue(SiteField field, int site, double value)
{
    if (site < 0 || site >= siteCount())
        return;
    const auto i = std::size_t(site);
    switch (field) {
    case SiteField::Threshold:
        thresholds_[i] = clampedThreshold(sites()[i], float(value));
        notify(ChangeEvent::Kind::SiteValue, {site}, field);
        notify(ChangeEvent::Kind::Thresholds, {site});
        updateProjection();
        requestReevaluation();
        return;
    case SiteField::Scope: scope_[i] = value != 0.0; break;
    case SiteField::Band: bands_[i] = std::max(0.0, value); break;
    }
    notify(ChangeEvent::Kind::SiteValue, {site}, field);
}

void Session::setThresholds(const std::vector<float> &thresholds)
{
    if (thresholds.size() != thresholds_.size())
        return;
    QVector<int> edited;
    for (std::size_t i = 0; i < thresholds.size(); ++i) {
        const float t = clampedThreshold(sites()[i], thresholds[i]);
        if (t != thresholds_[i]) {
            thresholds_[i] = t;
            edited << int(i);
        }
    }
    if (edited.isEmpty())
        return;
    notify(ChangeEvent::Kind::Thresholds, edited);
    updateProjection();
    requestReevaluation();
}

void Session::setSiteChannelThresholds(int site, const std::vector<float> &channels)
{
    if (site < 0 || site >= siteCount() || channelThresholds_[std::size_t(site)] == channels)
        return;
    channelThresholds_[std::size_t(site)] = channels;
    notify(ChangeEvent::Kind::Thresholds, {site});
    updateProjection();
    requestReevaluation();
}

void Session::pushSiteValue(SiteField field, int site, double value, int mergeSession)
{
    if (site < 0 || site >= siteCount())
        return;
    const bool replacesChannels = field == SiteField::Threshold && !channelThresholds_[std::size_t(site)].empty();
    if (siteValue(field, site) == value && !replacesChannels)
        return;
    undoStack_->push(new ChangeSiteValue(this, field, site, value, mergeSession));
}

void Session::pushThresholds(const std::vector<float> &thresholds, const QString &text,
                              const std::vector<std::vector<float>> &channels)
{
    std::vector<std::vector<float>> newChannels = channels;
    newChannels.resize(channelThresholds_.size());
    if (thresholds.size() != thresholds_.size() || (thresholds == thresholds_ && newChannels == channelThresholds_))
        return;
    undoStack_->push(new ChangeThresholds(this, thresholds, newChannels, text));
}

bool Session::currentIsExact() const
{
    return current_ && current_->thresholds == thresholds_ && current_->channelThresholds == channelThresholds_;
}

double Session::baselineSparsity(int site) const
{
    if (!baseline_ || site < 0 || std::size_t(site) >= baseline_->result.sites.size())
        return -1.0;
    const auto &s = baseline_->result.sites[std::size_t(site)];
    return s.elements ? s.sparsity() : -1.0;
}

const SiteStats *Session::statsFor(int site, double threshold) const
{
    const Snapshot *best = nullptr;
    for (const Snapshot *snap : {baseline_.get(), current_.get()}) {
        if (!snap || std::size_t(site) >= snap->result.sites.size() || !snap->result.sites[std::size_t(site)].elements)
            continue;
        const double own = snap->thresholds[std::size_t(site)];
        if (own <= threshold && (!best || own >= best->thresholds[std::size_t(site)]))
            best = snap;
    }
    if (!best)
        best = baseline_ ? baseline_.get() : current_.get();
    if (!best || std::size_t(site) >= best->result.sites.size())
        return nullptr;
    return &best->result.sites[std::size_t(site)];
}

double Session::estimatedSparsity(int site, double threshold) const
{
    const SiteStats *s = statsFor(site, threshold);
    if (!s || !s->elements)
        return -1.0;
    if (!sites()[std::size_t(site)].sparsifiable)
        return s->sparsity();
    return s->estimatedSparsityAt(threshold);
}

double Session::currentSparsity(int site, bool *estimate) const
{
    if (estimate)
        *estimate = false;
    if (site < 0 || site >= siteCount())
        return -1.0;
    if (currentIsExact()) {
        const auto &s = current_->result.sites[std::size_t(site)];
        return s.elements ? s.sparsity() : -1.0;
    }
    if (estimate)
        *estimate = true;
    return estimatedSparsity(site, double(thresholds_[std::size_t(site)]));
}

void Session::setPresetIndex(int index)
{
    if (index == presetIndex_ || index < 0 || std::size_t(index) >= presets_.size())
        return;
    presetIndex_ = index;
    setStructuralChange();
    updateProjection();
}

QString Session::userPresetDir()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/presets");
}

void Session::reloadPresets(const QString &selectPath)
{
    const QString previous = presetIndex_ >= 0 ? presets_[std::size_t(presetIndex_)].path : QString();
    presets_ = listPresets(userPresetDir());
    presetIndex_ = presets_.empty() ? -1 : 0;
    for (std::size_t i = 0; i < presets_.size(); ++i) {
        const QString path = QFileInfo(presets_[i].path).absoluteFilePath();
        if (presets_[i].valid && (path == QFileInfo(selectPath).absoluteFilePath() ||
                                  (selectPath.isEmpty() && path == QFileInfo(previous).absoluteFilePath())))
            presetIndex_ = int(i);
    }
    if (!selectPath.isEmpty())
        setStructuralChange();
    notify(ChangeEvent::Kind::Presets);
    updateProjection();
}

void Session::updateProjection()
{
    hasProjection_ = false;
    if (model_ && baseline_ && presetIndex_ >= 0 && presets_[std::size_t(presetIndex_)].valid) {
        const ProcessorParams &params = presets_[std::size_t(presetIndex_)].params;
        const auto &layers = model_->layers();
        dense_ = evaluate(params, denseWorkload(layers));
        baselineEval_ = evaluate(params, baseline_->workload);
        if (currentIsExact()) {
            currentWorkload_ = current_->workload;
        } else {
            // Each layer scales the measured work of the capture its estimate comes from by the estimated change
            // of its input density: exact at the captured threshold, and consistent with the measured baseline.
            currentWorkload_ = baseline_->workload;
            for (std::size_t l = 0; l < layers.size() && l < currentWorkload_.layers.size(); ++l) {
                const int s = layers[l].inputSite;
                if (s < 0 || !sites()[std::size_t(s)].sparsifiable)
                    continue;
                const double t = thresholds_[std::size_t(s)];
                const SiteStats *stats = statsFor(s, t);
                const Snapshot *source = (current_ && stats == &current_->result.sites[std::size_t(s)]) ? current_.get()
                                                                                                        : baseline_.get();
                if (!stats || !stats->elements)
                    continue;
                LayerWorkload lw = source->workload.layers[l];
                const double measured = 1.0 - stats->sparsity();
                const double estimated = 1.0 - stats->estimatedSparsityAt(t);
                const double factor = measured > 0.0 ? estimated / measured : 0.0;
                lw.events *= factor;
                lw.synops *= factor;
                lw.density = estimated;
                if (factor != 1.0)
                    lw.source = OpsSource::Estimate;
                currentWorkload_.layers[l] = lw;
            }
        }
        currentEval_ = evaluate(params, currentWorkload_);
        hasProjection_ = true;
    }
    notify(ChangeEvent::Kind::Projection);
}

double Session::latencyShare(int site) const
{
    if (!hasProjection_ || !model_)
        return -1.0;
    const auto &layers = model_->layers();
    double total = 0.0, mine = 0.0;
    for (std::size_t l = 0; l < currentEval_.layers.size() && l < layers.size(); ++l) {
        total += currentEval_.layers[l].cycles;
        if (layers[l].inputSite == site)
            mine += currentEval_.layers[l].cycles;
    }
    return total > 0.0 ? mine / total : -1.0;
}

void Session::setSelectedSite(int site)
{
    if (site == selectedSite_)
        return;
    selectedSite_ = site;
    notify(ChangeEvent::Kind::SelectedSite, {site});
}

} // namespace sparsity
