// Capture with statistics against the floor a user compares with: the same model frozen and optimised for
// inference (torch::jit::freeze + torch::jit::optimize_for_inference, what torch.jit.optimize_for_inference does in
// Python), over the same in-memory batches in one run, interleaved, best of N. Also the capture on the engine's own
// inference copy (CaptureOptions::inferenceCopy), what the copy's folded rounding does to the zero counts, and (on
// ResNets) a CachedEvaluation re-evaluating from its cached feature maps after a change at the last stage.
//
// Usage: bench_inference [MODEL[@IMAGES[@BATCH]] ...] [--repeats N]
//   Default: the sample ResNet on 2,000 Fashion-MNIST test images in batches of 64. Models without metadata (the
//   torchvision exports of scripts/export_torchvision.py) run at 3x224x224 with ImageNet preprocessing of the same
//   Fashion-MNIST images.
#include "capture/capture.h"
#include "data/dataset.h"
#include "graph/instrument_p.h"
#include "graph/model.h"
#include "threads.h"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

using namespace sparsity;

namespace {

double seconds(const std::chrono::steady_clock::time_point &since)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

struct Job {
    std::string path;
    std::size_t images = 2000, batch = 64;
};

Job parseJob(const std::string &arg)
{
    Job job;
    const auto at1 = arg.find('@');
    job.path = arg.substr(0, at1);
    if (at1 != std::string::npos) {
        const auto at2 = arg.find('@', at1 + 1);
        job.images = std::size_t(std::stoul(arg.substr(at1 + 1, at2 - at1 - 1)));
        if (at2 != std::string::npos)
            job.batch = std::size_t(std::stoul(arg.substr(at2 + 1)));
    }
    return job;
}

std::int64_t totalZeros(const CaptureResult &r, const std::vector<Site> &sites)
{
    std::int64_t zeros = 0;
    for (std::size_t i = 0; i < sites.size(); ++i)
        if (sites[i].sparsifiable)
            zeros += r.sites[i].zeros;
    return zeros;
}

// Zero counts of the inference copy against the model's own path, summed over the sparsifiable sites.
void compareZeros(Model &model, const std::vector<Batch> &batches, const char *label, const Thresholds &thresholds)
{
    CaptureOptions own;
    own.keepPredictions = true;
    own.thresholds = thresholds;
    CaptureOptions copy = own;
    copy.inferenceCopy = true;
    const auto a = capture(model, batches, own), b = capture(model, batches, copy);
    const auto za = totalZeros(a, model.sites()), zb = totalZeros(b, model.sites());
    std::int64_t elements = 0, worstSite = 0;
    for (std::size_t i = 0; i < model.sites().size(); ++i)
        if (model.sites()[i].sparsifiable) {
            elements += a.sites[i].elements;
            worstSite = std::max(worstSite, std::abs(a.sites[i].zeros - b.sites[i].zeros));
        }
    std::size_t samePrediction = 0;
    for (std::size_t i = 0; i < a.predictions.size() && i < b.predictions.size(); ++i)
        samePrediction += a.predictions[i] == b.predictions[i] ? 1 : 0;
    std::printf("  zeros %-22s: model %lld, copy %lld of %lld elements (difference %.2e of the elements; worst site %lld); "
                "same top-1 prediction for %zu of %zu images\n",
                label, (long long)za, (long long)zb, (long long)elements, double(std::abs(za - zb)) / double(std::max<std::int64_t>(1, elements)),
                (long long)worstSite, samePrediction, a.predictions.size());
}

long statusKiB(const char *field)
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind(field, 0) == 0)
            return std::stol(line.substr(std::strlen(field)));
    return -1;
}

// A change of the thresholds at the last stage (ResNet's layer4): a CachedEvaluation restarting from its cached feature
// maps against a full evaluation on the inference copy, both exact; and what the cache costs in memory.
void benchReevaluation(const std::shared_ptr<Model> &model, const std::vector<Batch> &batches, const CaptureResult &baseline,
                       int repeats)
{
    std::vector<int> lastStage;
    for (const auto &site : model->sites())
        if (site.sparsifiable && site.name.rfind("layer4", 0) == 0)
            lastStage.push_back(site.index);
    if (lastStage.empty())
        return;
    Thresholds zero{std::vector<float>(model->sites().size(), 0.0f), {}};
    Thresholds a = zero, b = zero;
    for (int s : lastStage) {
        a.scalar[std::size_t(s)] = float(baseline.sites[std::size_t(s)].thresholdForSparsity(0.6));
        b.scalar[std::size_t(s)] = float(baseline.sites[std::size_t(s)].thresholdForSparsity(0.7));
    }
    CaptureOptions fullOptions;
    fullOptions.keepPredictions = false;
    fullOptions.inferenceCopy = true;
    fullOptions.thresholds = a;
    const long rssBefore = statusKiB("VmRSS:");
    double full = 1e9, partial = 1e9;
    CachedEvaluation evaluation(model, batches);
    auto t0 = std::chrono::steady_clock::now();
    evaluation.evaluate(zero);
    const double fill = seconds(t0);
    const long rssCached = statusKiB("VmRSS:");
    for (int i = 0; i < 2; ++i) // the tail graph's executor specialises during its first calls
        evaluation.evaluate(i % 2 ? a : b);
    for (int r = 0; r < repeats; ++r) {
        t0 = std::chrono::steady_clock::now();
        capture(*model, batches, fullOptions);
        full = std::min(full, seconds(t0));
        t0 = std::chrono::steady_clock::now();
        evaluation.evaluate(r % 2 ? a : b);
        partial = std::min(partial, seconds(t0));
    }
    std::string cuts;
    for (const auto &c : evaluation.cutPoints())
        cuts += (cuts.empty() ? "" : ", ") + model->sites()[std::size_t(c.site)].name + " (" + std::to_string(c.bytes >> 20) + " MiB)";
    const int start = evaluation.lastStartSite();
    std::printf("  re-evaluation after a change at the %zu layer4 sites: from %s\n", lastStage.size(),
                start >= 0 ? model->sites()[std::size_t(start)].name.c_str() : "the images (no cut point before them)");
    std::printf("    cut points: %s; %zu MiB cached\n", cuts.c_str(), evaluation.cachedBytes() >> 20);
    std::printf("    full evaluation (inference copy) %.3f s, re-evaluation from the cut %.3f s: %.2fx faster (goal >= 3x)\n", full,
                partial, full / partial);
    std::printf("    first evaluation filling the cache %.3f s; RSS %ld MiB before the cache, %ld MiB with it; peak RSS %ld MiB\n",
                fill, rssBefore / 1024, rssCached / 1024, statusKiB("VmHWM:") / 1024);
}

void bench(const Job &job, const Dataset &data, int repeats)
{
    auto model = Model::load(job.path);
    Preprocessing pre = Preprocessing::imagenet224();
    if (model->metadata().inputShape.size() == 3)
        pre = model->defaultPreprocessing();
    else
        model->setInputShape({3, 224, 224});
    const auto batches = loadBatches(data, pre, firstN(data, job.images), job.batch);
    std::size_t images = 0;
    for (const auto &b : batches)
        images += std::size_t(b.n);
    std::printf("\n%s: %zu sites, %zu images %dx%dx%d in batches of %zu\n", job.path.c_str(), model->sites().size(), images,
                batches[0].c, batches[0].h, batches[0].w, job.batch);

    // The floor, and the floor of the copy's layout: the same frozen forward with channels-last convolution weights
    // and no probes, so the gap the layout leaves is told apart from what the probes cost.
    torch::jit::Module optimized, channelsLast;
    {
        auto plain = torch::jit::load(job.path, c10::kCPU);
        plain.eval();
        auto frozen = torch::jit::freeze(plain);
        optimized = torch::jit::optimize_for_inference(frozen);
        channelsLast = torch::jit::freeze(plain);
        sparsity::detail::convolutionWeightsChannelsLast(channelsLast);
    }
    auto runFrozen = [&](torch::jit::Module &module, const Batch &b) {
        c10::InferenceMode inference;
        auto in = torch::from_blob(const_cast<float *>(b.data.data()), {b.n, b.c, b.h, b.w}, torch::kFloat32);
        auto out = module.forward({in});
        return out.isTensor() ? out.toTensor().sum().item<float>() : 0.0f;
    };
    auto runOptimized = [&](const Batch &b) { return runFrozen(optimized, b); };
    CaptureOptions stats;
    stats.keepPredictions = false;
    CaptureOptions onCopy = stats;
    onCopy.inferenceCopy = true;
    for (int i = 0; i < 3; ++i) { // the profiling executor specialises during the first calls
        forwardOutput(*model, batches[0], false);
        runOptimized(batches[0]);
        runFrozen(channelsLast, batches[0]);
        capture(*model, {batches[0]}, stats);
        capture(*model, {batches[0]}, onCopy);
    }
    if (!model->inferenceCopyProblem().empty())
        std::printf("  no inference copy: %s\n", model->inferenceCopyProblem().c_str());
    double plain = 1e9, opt = 1e9, layout = 1e9, captured = 1e9, copied = 1e9;
    for (int r = 0; r < repeats; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        for (const auto &b : batches)
            forwardOutput(*model, b, false);
        plain = std::min(plain, seconds(t0));
        t0 = std::chrono::steady_clock::now();
        for (const auto &b : batches)
            runOptimized(b);
        opt = std::min(opt, seconds(t0));
        t0 = std::chrono::steady_clock::now();
        for (const auto &b : batches)
            runFrozen(channelsLast, b);
        layout = std::min(layout, seconds(t0));
        t0 = std::chrono::steady_clock::now();
        capture(*model, batches, stats);
        captured = std::min(captured, seconds(t0));
        t0 = std::chrono::steady_clock::now();
        capture(*model, batches, onCopy);
        copied = std::min(copied, seconds(t0));
    }
    const double n = double(images);
    std::printf("  plain forward (no probes)             : %7.3f s (%6.1f images/s)\n", plain, n / plain);
    std::printf("  frozen + optimize_for_inference       : %7.3f s (%6.1f images/s; %.2fx the plain forward)\n", opt, n / opt, opt / plain);
    std::printf("  frozen, channels-last weights, no probes: %5.3f s (%6.1f images/s; %.2fx the optimized forward: the copy's layout alone)\n",
                layout, n / layout, layout / opt);
    std::printf("  capture with statistics               : %7.3f s (%6.1f images/s; %.2fx the optimized forward, goal <= 1.10x)\n",
                captured, n / captured, captured / opt);
    std::printf("  capture with statistics, inference copy: %6.3f s (%6.1f images/s; %.2fx the optimized forward, %.2fx the same "
                "layout without probes)\n", copied, n / copied, copied / opt, copied / layout);

    // Thresholds at 0, then each sparsifiable site at the value that zeroes about 60 % of its output.
    Thresholds zero{std::vector<float>(model->sites().size(), 0.0f), {}};
    compareZeros(*model, batches, "at threshold 0", zero);
    const auto baseline = capture(*model, batches, stats);
    Thresholds sixty = zero;
    for (std::size_t i = 0; i < model->sites().size(); ++i)
        if (model->sites()[i].sparsifiable)
            sixty.scalar[i] = float(baseline.sites[i].thresholdForSparsity(0.6));
    compareZeros(*model, batches, "at 60 % thresholds", sixty);
    benchReevaluation(model, batches, baseline, repeats);
}

} // namespace

int main(int argc, char **argv)
{
    std::vector<Job> jobs;
    int repeats = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--repeats" && i + 1 < argc)
            repeats = std::max(1, std::atoi(argv[++i]));
        else
            jobs.push_back(parseJob(arg));
    }
    if (jobs.empty())
        jobs.push_back({SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt", 2000, 64});
    try {
        initTorchThreads();
        auto test = openDataset(SPARSITY_SAMPLEDATA_DIR "/fashion-mnist", Split::Test);
        std::printf("intra-op threads %d; best of %d interleaved runs\n", at::get_num_threads(), repeats);
        for (const auto &job : jobs)
            bench(job, *test, repeats);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "bench_inference: %s\n", e.what());
        return 1;
    }
    return 0;
}
