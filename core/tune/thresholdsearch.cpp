#include "tune/thresholdsearch.h"

#include "capture/capture.h"
#include "error.h"
#include "tune/greedysearch_p.h"
#include "capture/loghistogram.h"
#include "graph/model.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>

namespace sparsity {

namespace {

// The values the search moves — per site either the threshold itself or, per channel, the scale s of
// t_c = s * r_c — as the thresholds of one evaluation (a value for CaptureOptions; the model's own stay as they are).
struct Applier {
    Thresholds base; // where the search starts (a scalar search clears the per-channel values of the sites it moves)
    std::vector<bool> searched;
    const std::vector<std::vector<float>> *references = nullptr; // per channel: r_c of the searched sites

    std::vector<float> channelThresholds(int site, float s) const
    {
        std::vector<float> t = (*references)[std::size_t(site)];
        for (float &v : t)
            v *= s;
        return t;
    }
    Thresholds operator()(const std::vector<float> &values) const
    {
        if (!references)
            return Thresholds{values, base.perChannel};
        Thresholds t = base;
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (!searched[i])
                continue;
            t.perChannel[i] = channelThresholds(int(i), values[i]);
            double sum = 0.0;
            for (float v : t.perChannel[i])
                sum += v;
            // A summary; the channels' values apply.
            t.scalar[i] = t.perChannel[i].empty() ? 0.0f : float(sum / double(t.perChannel[i].size()));
        }
        return t;
    }
};

struct Evaluator {
    Model &model;
    const std::vector<Batch> &batches;
    const std::atomic<bool> *cancel;
    const std::function<void(const SearchProgress &)> &progress;
    SearchProgress state;
    std::vector<bool> searched;
    const Applier *apply = nullptr;

    // Accuracy (and, when asked, sparsity of the searched sites) with the given thresholds (or scales).
    std::pair<double, double> operator()(const std::vector<float> &thresholds, bool withStats = false)
    {
        CaptureOptions options;
        options.thresholds = (*apply)(thresholds);
        options.keepPredictions = false;
        options.collectStats = withStats;
        const CaptureResult r = capture(model, batches, options, cancel);
        ++state.evaluation;
        state.top1 = r.score();
        if (progress)
            progress(state);
        return {r.score(), withStats ? r.activationSparsity(searched) : 0.0};
    }
    bool cancelled() const { return cancel && cancel->load(); }
};

// Largest value in [lo, hi] for which `ok` holds, assuming ok is monotone (true up to some point).
template <typename Ok>
float bisect(float lo, float hi, int steps, Ok ok)
{
    for (int i = 0; i < steps; ++i) {
        const float mid = 0.5f * (lo + hi);
        if (ok(mid))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

// Captures the batches with every image's feature maps kept and hands each capture to `use`. Every site's maps of
// a batch are held at once: batches whose maps would exceed `keptBytesLimit` (a ResNet-50 image has ~40 MB of
// activations at 224x224) are captured in slices of fewer images.
void forEachKeptSlice(Model &model, const std::vector<Batch> &batches, const std::atomic<bool> *cancel, std::int64_t keptBytesLimit,
                      const std::function<void(const CaptureResult &)> &use)
{
    std::int64_t bytesPerImage = 0;
    for (const auto &site : model.sites())
        bytesPerImage += site.elementsPerImage * std::int64_t(sizeof(float));
    const int sliceImages = int(std::clamp<std::int64_t>(keptBytesLimit / std::max<std::int64_t>(1, bytesPerImage), 1, 1 << 20));
    for (const Batch &original : batches)
        for (int first = 0; first < original.n && !(cancel && cancel->load()); first += sliceImages) {
            // Kept maps are found by dataset index: the slice's images are numbered from 0.
            Batch slice;
            slice.n = std::min(sliceImages, original.n - first);
            slice.c = original.c;
            slice.h = original.h;
            slice.w = original.w;
            const std::size_t per = std::size_t(original.c) * std::size_t(original.h) * std::size_t(original.w);
            slice.data.assign(original.data.begin() + std::ptrdiff_t(std::size_t(first) * per),
                              original.data.begin() + std::ptrdiff_t(std::size_t(first + slice.n) * per));
            for (int i = 0; i < slice.n; ++i) {
                slice.indices.push_back(std::size_t(i));
                slice.labels.push_back(original.labels.size() > std::size_t(first + i) ? original.labels[std::size_t(first + i)] : -1);
            }
            CaptureOptions options;
            options.keepPredictions = false;
            options.keepFeatureMaps = slice.indices;
            const CaptureResult r = capture(model, std::vector<Batch>{slice}, options, cancel);
            if (!r.kept.empty())
                use(r);
        }
}

// `sites` sorted in execution order; empty: every sparsifiable site that ran.
std::vector<int> inExecutionOrder(const Model &model, std::vector<int> sites)
{
    const auto &all = model.sites();
    if (sites.empty())
        for (const auto &s : all)
            if (s.sparsifiable && model.siteExecuted(s.index))
                sites.push_back(s.index);
    std::sort(sites.begin(), sites.end(), [&](int a, int b) { return all[std::size_t(a)].depth < all[std::size_t(b)].depth; });
    return sites;
}

// The positive values of `site` in a capture's kept maps, by channel.
std::vector<std::vector<float>> positivesByChannel(const CaptureResult &r, std::size_t site, std::size_t channels)
{
    std::vector<std::vector<float>> values(channels);
    for (const auto &image : r.kept) {
        const auto &map = image.siteMaps[site];
        const std::size_t plane = map.size() / channels;
        for (std::size_t i = 0; i < map.size(); ++i)
            if (map[i] > 0.0f)
                values[i / plane].push_back(map[i]);
    }
    return values;
}

} // namespace

ChannelScales channelReferenceScales(Model &model, const std::vector<Batch> &batches, ChannelReference reference,
                                     const std::atomic<bool> *cancel, std::int64_t keptBytesLimit)
{
    const std::size_t siteCount = model.sites().size();
    // Per site and slice of a batch: the channel references (averaged over slices, weighted by positive count for the
    // mean) and the channel maxima.
    std::vector<at::Tensor> positiveSum(siteCount), positiveCount(siteCount), median(siteCount), maxima(siteCount);
    int medianBatches = 0;
    forEachKeptSlice(model, batches, cancel, keptBytesLimit, [&](const CaptureResult &r) {
        ++medianBatches;
        for (std::size_t s = 0; s < siteCount; ++s) {
            const auto &shape = model.sites()[s].shape;
            if (shape.empty() || r.kept.front().siteMaps[s].empty())
                continue;
            const std::int64_t channels = shape[0];
            std::vector<at::Tensor> images;
            for (const auto &k : r.kept)
                images.push_back(torch::from_blob(const_cast<float *>(k.siteMaps[s].data()),
                                                  {channels, std::int64_t(k.siteMaps[s].size()) / channels}, torch::kFloat32));
            const at::Tensor x = torch::cat(images, 1); // C x (images * positions)
            const at::Tensor positive = x.gt(0);
            const at::Tensor sum = (x * positive).sum(1, false, at::kDouble);
            const at::Tensor count = positive.sum(1, false, at::kDouble);
            const at::Tensor mx = std::get<0>(x.max(1));
            positiveSum[s] = positiveSum[s].defined() ? positiveSum[s] + sum : sum;
            positiveCount[s] = positiveCount[s].defined() ? positiveCount[s] + count : count;
            maxima[s] = maxima[s].defined() ? torch::maximum(maxima[s], mx) : mx;
            if (reference == ChannelReference::MedianPositive) {
                at::Tensor m = torch::zeros({channels}, torch::kDouble);
                for (std::int64_t c = 0; c < channels; ++c) {
                    const at::Tensor row = x[c];
                    const at::Tensor values = row.masked_select(row.gt(0));
                    if (values.numel() > 0)
                        m[c] = std::get<0>(values.median(0)).item<double>();
                }
                median[s] = median[s].defined() ? median[s] + m : m;
            }
        }
    });
    ChannelScales out;
    out.reference.resize(siteCount);
    out.max.resize(siteCount);
    for (std::size_t s = 0; s < siteCount; ++s) {
        if (!positiveSum[s].defined())
            continue;
        const at::Tensor ref = reference == ChannelReference::MedianPositive
                                   ? (median[s] / double(std::max(1, medianBatches))).to(torch::kFloat32).contiguous()
                                   : (positiveSum[s] / positiveCount[s].clamp_min(1.0)).to(torch::kFloat32).contiguous();
        const at::Tensor mx = maxima[s].clamp_min(0.0f).contiguous();
        out.reference[s].assign(ref.data_ptr<float>(), ref.data_ptr<float>() + ref.numel());
        out.max[s].assign(mx.data_ptr<float>(), mx.data_ptr<float>() + mx.numel());
    }
    return out;
}

std::vector<std::vector<float>> channelQuantiles(Model &model, const std::vector<Batch> &batches, double quantile,
                                                 const std::atomic<bool> *cancel, std::int64_t keptBytesLimit)
{
    const auto &sites = model.sites();
    std::vector<std::vector<LogHistogram>> histograms(sites.size());
    forEachKeptSlice(model, batches, cancel, keptBytesLimit, [&](const CaptureResult &r) {
        for (std::size_t s = 0; s < sites.size(); ++s) {
            if (sites[s].shape.empty() || r.kept.front().siteMaps[s].empty())
                continue;
            const auto channels = std::size_t(sites[s].shape[0]);
            histograms[s].resize(channels);
            const auto positives = positivesByChannel(r, s, channels);
            for (std::size_t c = 0; c < channels; ++c)
                for (float v : positives[c])
                    histograms[s][c].add(v);
        }
    });
    std::vector<std::vector<float>> out(sites.size());
    for (std::size_t s = 0; s < sites.size(); ++s)
        for (const auto &h : histograms[s])
            out[s].push_back(float(h.quantileValue(quantile * double(h.total()))));
    return out;
}

std::vector<ConstantResponse> constantResponses(Model &model, const std::vector<Batch> &batches, int site,
                                               const std::atomic<bool> *cancel, std::int64_t keptBytesLimit)
{
    const auto &info = model.sites().at(std::size_t(site));
    if (info.shape.empty())
        return {};
    const auto channels = std::size_t(info.shape[0]);
    // Per channel: each slice's most frequent positive value with its count there, summed by value over the slices
    // (a constant response is the most frequent value in every slice).
    std::vector<std::map<float, std::int64_t>> modes(channels);
    std::int64_t positions = 0; // per channel
    forEachKeptSlice(model, batches, cancel, keptBytesLimit, [&](const CaptureResult &r) {
        auto values = positivesByChannel(r, std::size_t(site), channels);
        for (const auto &image : r.kept)
            positions += std::int64_t(image.siteMaps[std::size_t(site)].size() / channels);
        for (std::size_t c = 0; c < channels; ++c) {
            auto &v = values[c];
            std::sort(v.begin(), v.end());
            float best = 0.0f;
            std::int64_t bestCount = 0;
            for (std::size_t i = 0; i < v.size();) {
                std::size_t j = i;
                while (j < v.size() && v[j] == v[i])
                    ++j;
                if (std::int64_t(j - i) > bestCount) {
                    bestCount = std::int64_t(j - i);
                    best = v[i];
                }
                i = j;
            }
            if (bestCount > 0)
                modes[c][best] += bestCount;
        }
    });
    std::vector<ConstantResponse> out(channels);
    for (std::size_t c = 0; c < channels; ++c)
        for (const auto &[value, count] : modes[c])
            if (positions > 0 && double(count) / double(positions) > out[c].share)
                out[c] = {value, double(count) / double(positions)};
    return out;
}

// Site by site in execution order: cutting one site's constants changes what the next sites see.
int cutConstantResponses(Model &model, const std::vector<Batch> &calibration, double share, const std::atomic<bool> *cancel,
                         std::int64_t keptBytesLimit)
{
    int cut = 0;
    for (int s : inExecutionOrder(model, {})) {
        if (cancel && cancel->load())
            break;
        const auto responses = constantResponses(model, calibration, s, cancel, keptBytesLimit);
        auto channels = model.channelThresholds()[std::size_t(s)];
        if (channels.size() != responses.size())
            channels.assign(responses.size(), model.thresholds()[std::size_t(s)]);
        int here = 0;
        for (std::size_t c = 0; c < responses.size(); ++c)
            if (responses[c].share >= share && responses[c].value > channels[c]) { // x > t survives: t = the value cuts it
                channels[c] = responses[c].value;
                ++here;
            }
        if (here > 0)
            model.setChannelThresholds(s, channels);
        cut += here;
    }
    return cut;
}

std::vector<float> quantileThresholds(const Model &model, const CaptureResult &stats, double targetSparsity)
{
    std::vector<float> t(model.sites().size(), 0.0f);
    for (std::size_t i = 0; i < t.size() && i < stats.sites.size(); ++i)
        if (model.sites()[i].sparsifiable)
            t[i] = float(stats.sites[i].thresholdForSparsity(targetSparsity));
    return t;
}

std::vector<float> globalThresholds(const Model &model, float value)
{
    std::vector<float> t(model.sites().size(), 0.0f);
    for (std::size_t i = 0; i < t.size(); ++i)
        if (model.sites()[i].sparsifiable)
            t[i] = value;
    return t;
}

SearchResult searchThresholds(Model &model, const std::vector<Batch> &calibration, const SearchOptions &options,
                              const std::atomic<bool> *cancel, const std::function<void(const SearchProgress &)> &progress)
{
    const auto started = std::chrono::steady_clock::now();
    const std::vector<float> start = model.thresholds();
    const auto &sites = model.sites();
    std::vector<int> scope = inExecutionOrder(model, options.sites);
    if (options.strategy == SearchOptions::Strategy::Greedy) {
        if (options.perChannel)
            throw Error("the greedy threshold search sets one threshold per site; per-channel thresholds use the bisection search");
        return greedyThresholdSearch(model, calibration, options, scope, cancel, progress);
    }

    Evaluator eval{model, calibration, cancel, progress, {}, std::vector<bool>(sites.size(), false)};
    for (int s : scope)
        eval.searched[std::size_t(s)] = true;
    const std::vector<std::vector<float>> startChannels = model.channelThresholds();
    Applier apply{Thresholds{start, startChannels}, eval.searched};
    apply.base.perChannel.resize(sites.size());
    eval.apply = &apply;
    eval.state.evaluationsPlanned = 1 + int(scope.size()) * (options.stepsPerSite + 1) + 8 +
                                    (options.refine ? int(scope.size()) * (options.stepsPerSite / 2) : 0);

    SearchResult result;
    eval.state.phase = "baseline";
    // Per channel: the search moves one scale s per site; its start is the largest s that keeps every channel at
    // or below its starting threshold, its upper end the smallest s that zeroes every channel.
    std::vector<float> startValues = start;
    ChannelScales channels;
    std::vector<float> upperScale(sites.size(), 0.0f);
    if (!options.perChannel) {
        // Per-channel thresholds take precedence over a site's scalar in the probes: a scalar search clears them
        // on the sites it searches (a cancelled search leaves them).
        for (int s : scope)
            apply.base.perChannel[std::size_t(s)].clear();
    } else {
        channels = channelReferenceScales(model, calibration, options.channelReference, cancel);
        if (cancel && cancel->load()) {
            result.cancelled = true;
            result.thresholds = start;
            return result;
        }
        std::vector<int> kept;
        for (int s : scope) {
            const auto &ref = channels.reference[std::size_t(s)];
            const auto &mx = channels.max[std::size_t(s)];
            float lo = std::numeric_limits<float>::infinity(), hi = 0.0f;
            for (std::size_t c = 0; c < ref.size(); ++c) {
                if (ref[c] <= 0.0f)
                    continue;
                const auto &own = startChannels[std::size_t(s)];
                const float t = own.size() == ref.size() ? own[c] : start[std::size_t(s)];
                lo = std::min(lo, t / ref[c]);
                hi = std::max(hi, mx[c] / ref[c]);
            }
            if (ref.empty() || !std::isfinite(lo)) {
                eval.searched[std::size_t(s)] = false; // never positive: nothing to threshold
                continue;
            }
            kept.push_back(s);
            startValues[std::size_t(s)] = lo;
            upperScale[std::size_t(s)] = std::max(lo, hi);
        }
        scope = kept;
        apply.searched = eval.searched;
        apply.references = &channels.reference;
    }
    // The upper end of each site's range: the largest value it produced (its own range, not a fixed [0, 1]).
    std::vector<float> upper(sites.size(), 0.0f);
    {
        CaptureOptions statsOptions;
        statsOptions.keepPredictions = false;
        statsOptions.thresholds = apply.base;
        const CaptureResult base = capture(model, calibration, statsOptions, cancel);
        ++eval.state.evaluation;
        result.startTop1 = base.score();
        result.startSparsity = base.activationSparsity(eval.searched);
        for (int s : scope)
            upper[std::size_t(s)] = options.perChannel ? upperScale[std::size_t(s)]
                                                       : std::max(start[std::size_t(s)], base.sites[std::size_t(s)].max);
    }
    const double floorTop1 = result.startTop1 - options.budgetPp;
    auto finish = [&](std::vector<float> values, bool cancelled) {
        result.cancelled = cancelled;
        if (cancelled) {
            result.thresholds = start;
            result.channelThresholds = startChannels;
        } else {
            const Thresholds found = apply(values);
            result.thresholds = found.scalar;
            result.channelThresholds = found.perChannel;
        }
        // The one place the search touches the model: it is left at the result (at its start when cancelled).
        model.setThresholds(result.thresholds, result.channelThresholds);
        if (!cancelled && options.perChannel) {
            result.scales.assign(sites.size(), 0.0f);
            result.channelReferences.assign(sites.size(), {});
            for (int s : scope) {
                result.scales[std::size_t(s)] = values[std::size_t(s)];
                result.channelReferences[std::size_t(s)] = channels.reference[std::size_t(s)];
            }
        }
        result.channelThresholds = model.channelThresholds();
        result.evaluations = eval.state.evaluation;
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return result;
    };

    // 1. Sensitivity: the largest threshold each site tolerates alone.
    eval.state.phase = "per-site";
    std::vector<float> alone = startValues;
    for (int s : scope) {
        eval.state.site = s;
        auto t = startValues;
        alone[std::size_t(s)] = bisect(startValues[std::size_t(s)], upper[std::size_t(s)], options.stepsPerSite, [&](float v) {
            if (eval.cancelled())
                return false;
            t[std::size_t(s)] = v;
            return eval(t).first >= floorTop1;
        });
        if (eval.cancelled())
            return finish(start, true);
    }

    // 2. Joint: all sites together, scaled back toward the start until the budget holds.
    eval.state.phase = "joint";
    eval.state.site = -1;
    auto blend = [&](float a) {
        auto t = startValues;
        for (int s : scope)
            t[std::size_t(s)] = startValues[std::size_t(s)] + a * (alone[std::size_t(s)] - startValues[std::size_t(s)]);
        return t;
    };
    float alpha = 1.0f;
    if (eval(blend(1.0f)).first < floorTop1)
        alpha = bisect(0.0f, 1.0f, 7, [&](float a) { return !eval.cancelled() && eval(blend(a)).first >= floorTop1; });
    if (eval.cancelled())
        return finish(start, true);
    std::vector<float> best = blend(alpha);

    // 3. Refine: sites that remove the most weighted activations first, each pushed toward its solo limit.
    if (options.refine && alpha < 1.0f) {
        eval.state.phase = "refine";
        std::vector<int> order = scope;
        auto weight = [&](int s) {
            const double w = options.siteWeights.size() > std::size_t(s) ? options.siteWeights[std::size_t(s)] : 1.0;
            return w * double(sites[std::size_t(s)].elementsPerImage);
        };
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return weight(a) > weight(b); });
        for (int s : order) {
            eval.state.site = s;
            auto t = best;
            const float v = bisect(best[std::size_t(s)], alone[std::size_t(s)], std::max(2, options.stepsPerSite / 2), [&](float x) {
                if (eval.cancelled())
                    return false;
                t[std::size_t(s)] = x;
                return eval(t).first >= floorTop1;
            });
            if (eval.cancelled())
                return finish(start, true);
            best[std::size_t(s)] = v;
        }
    }

    const auto final = eval(best, true);
    result.finalTop1 = final.first;
    result.finalSparsity = final.second;
    return finish(best, false);
}

} // namespace sparsity
