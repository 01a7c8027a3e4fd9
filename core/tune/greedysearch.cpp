// Greedy threshold search (SearchOptions::Strategy::Greedy): many small steps, each given to the site whose next
// step removes the most (weighted) activations per unit of damage. Damage is measured as the growth of the mean
// KL divergence between the model's class scores and those it gave with the starting thresholds: a continuous
// measure, where top-1 on a calibration set moves in steps of one image and cannot rank small steps. Top-1 still
// sets the budget.
#include "tune/greedysearch_p.h"

#include "capture/capture.h"
#include "error.h"
#include "graph/model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>

namespace sparsity {

namespace {

// Class scores of every calibration image with the given thresholds (probes, no statistics).
std::vector<std::vector<float>> classScores(Model &model, const std::vector<Batch> &batches, const Thresholds &thresholds)
{
    std::vector<std::vector<float>> out;
    out.reserve(batches.size());
    for (const auto &b : batches) {
        std::vector<std::int64_t> shape;
        out.push_back(forwardOutput(model, b, true, &shape, &thresholds));
        if (shape.size() != 2 || shape[0] != b.n)
            throw Error(model.path() + ": the greedy threshold search needs class scores (N x classes); the model gives " +
                        std::to_string(shape.size()) + "-dimensional outputs");
    }
    return out;
}

struct Damage {
    double top1 = 0.0; // percent
    double kl = 0.0;   // mean over images, nats
};

// Top-1 of `scores` against the labels and mean KL(softmax(reference) || softmax(scores)).
Damage compare(const std::vector<Batch> &batches, const std::vector<std::vector<float>> &reference,
               const std::vector<std::vector<float>> &scores)
{
    double kl = 0.0;
    std::int64_t correct = 0, images = 0;
    for (std::size_t b = 0; b < batches.size(); ++b) {
        const auto n = std::size_t(batches[b].n);
        const std::size_t classes = scores[b].size() / n;
        for (std::size_t i = 0; i < n; ++i) {
            const float *p = reference[b].data() + i * classes;
            const float *q = scores[b].data() + i * classes;
            const float pMax = *std::max_element(p, p + classes), qMax = *std::max_element(q, q + classes);
            double pSum = 0.0, qSum = 0.0;
            for (std::size_t k = 0; k < classes; ++k) {
                pSum += std::exp(double(p[k] - pMax));
                qSum += std::exp(double(q[k] - qMax));
            }
            const double pLog = std::log(pSum), qLog = std::log(qSum);
            for (std::size_t k = 0; k < classes; ++k) {
                const double logP = double(p[k] - pMax) - pLog, logQ = double(q[k] - qMax) - qLog;
                kl += std::exp(logP) * (logP - logQ);
            }
            const auto predicted = std::size_t(std::max_element(q, q + classes) - q);
            correct += batches[b].labels[i] == int(predicted) ? 1 : 0;
            ++images;
        }
    }
    return {images ? 100.0 * double(correct) / double(images) : 0.0, images ? kl / double(images) : 0.0};
}

} // namespace

SearchResult greedyThresholdSearch(Model &model, const std::vector<Batch> &calibration, const SearchOptions &options,
                                   const std::vector<int> &scope, const std::atomic<bool> *cancel,
                                   const std::function<void(const SearchProgress &)> &progress)
{
    const auto started = std::chrono::steady_clock::now();
    const auto &sites = model.sites();
    const std::vector<float> start = model.thresholds();
    const auto startChannels = model.channelThresholds();
    if (!(options.greedyStep > 0.0 && options.greedyStep <= 1.0))
        throw Error("the greedy threshold search's step must be a sparsity fraction in (0, 1], not " + std::to_string(options.greedyStep));
    for (const auto &b : calibration)
        if (std::any_of(b.labels.begin(), b.labels.end(), [](int l) { return l < 0; }) || !b.masks.empty())
            throw Error("the greedy threshold search needs labelled classification data");
    // Each evaluation gets its thresholds as a value; the model's own change once, at the end. Per-channel values
    // of the searched sites would override the scalar the search moves: it starts without them.
    std::vector<std::vector<float>> channels = startChannels;
    channels.resize(sites.size());
    for (int s : scope)
        channels[std::size_t(s)].clear();
    const auto with = [&](const std::vector<float> &scalar) { return Thresholds{scalar, channels}; };

    SearchResult result;
    SearchProgress state;
    state.phase = "greedy";
    // About how many evaluations: one capture and one candidate per site per step, ~1/step of the way each.
    const int plannedSteps = int(std::ceil(1.0 / options.greedyStep)) * 2;
    state.evaluationsPlanned = 1 + plannedSteps * (int(scope.size()) + 1);
    auto cancelled = [&] { return cancel && cancel->load(); };
    std::vector<float> t = start;
    auto finish = [&](bool wasCancelled) {
        result.cancelled = wasCancelled;
        if (!wasCancelled)
            model.setThresholds(t, channels); // the result stays on the model
        result.thresholds = model.thresholds();
        result.channelThresholds = model.channelThresholds();
        result.evaluations = state.evaluation;
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return result;
    };
    auto report = [&](double top1) {
        ++state.evaluation;
        state.top1 = top1;
        if (progress)
            progress(state);
    };

    std::vector<bool> searched(sites.size(), false);
    for (int s : scope)
        searched[std::size_t(s)] = true;
    const auto reference = classScores(model, calibration, with(start));
    const Damage startDamage = compare(calibration, reference, reference);
    result.startTop1 = startDamage.top1;
    report(result.startTop1);
    const double floorTop1 = result.startTop1 - options.budgetPp;

    double currentKl = 0.0;
    double step = options.greedyStep;
    CaptureOptions statsOptions;
    statsOptions.keepPredictions = false;
    CaptureResult now; // the statistics at `t`, measured again only when a step was taken
    bool measured = false, first = true;
    while (step >= options.greedyStep / 8.0) {
        if (!measured) {
            statsOptions.thresholds = with(t);
            now = capture(model, calibration, statsOptions, cancel);
            if (cancelled())
                return finish(true);
            report(now.score());
            if (first)
                result.startSparsity = now.activationSparsity(searched);
            first = false;
            measured = true;
        }
        int bestSite = -1;
        double bestScore = -1.0, bestKl = 0.0;
        float bestThreshold = 0.0f;
        for (int s : scope) {
            const auto &stats = now.sites[std::size_t(s)];
            const double sparsity = stats.sparsity();
            if (stats.elements == 0 || sparsity >= 0.999)
                continue;
            const double target = std::min(0.999, sparsity + step);
            const float candidate = float(stats.thresholdForSparsity(target));
            if (!(candidate > t[std::size_t(s)]))
                continue;
            auto trial = t;
            trial[std::size_t(s)] = candidate;
            const Damage d = compare(calibration, reference, classScores(model, calibration, with(trial)));
            if (cancelled())
                return finish(true);
            report(d.top1);
            if (d.top1 < floorTop1)
                continue;
            const double weight = options.siteWeights.size() > std::size_t(s) ? options.siteWeights[std::size_t(s)] : 1.0;
            const double removed = weight * (target - sparsity) * double(sites[std::size_t(s)].elementsPerImage);
            // A step that does no measurable damage is ranked by what it removes alone.
            const double score = removed / std::max(d.kl - currentKl, 1e-7);
            if (score > bestScore) {
                bestScore = score;
                bestSite = s;
                bestKl = d.kl;
                bestThreshold = candidate;
            }
        }
        if (bestSite < 0) {
            step /= 2.0; // every full step breaks the budget: try finer ones
            continue;
        }
        t[std::size_t(bestSite)] = bestThreshold;
        currentKl = bestKl;
        measured = false;
    }
    statsOptions.thresholds = with(t);
    const CaptureResult last = capture(model, calibration, statsOptions, cancel);
    if (cancelled())
        return finish(true);
    report(last.score());
    result.finalTop1 = last.score();
    result.finalSparsity = last.activationSparsity(searched);
    return finish(false);
}

} // namespace sparsity
