// Capture overhead: a plain forward pass of the sample ResNet (no probes) against the instrumented model
// collecting every statistic, over the same in-memory batches in the same run; then peak memory for
// streaming 2,000 and 10,000 images through capture (it must stay flat).
#include "capture/capture.h"
#include "data/dataset.h"
#include "graph/model.h"
#include "threads.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

using namespace sparsity;

namespace {

double seconds(const std::chrono::steady_clock::time_point &since)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

long peakRssKiB()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stol(line.substr(6));
    return -1;
}

} // namespace

int main(int argc, char **argv)
{
    const std::string modelPath = argc > 1 ? argv[1] : SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt";
    const std::string dataPath = argc > 2 ? argv[2] : SPARSITY_SAMPLEDATA_DIR "/fashion-mnist";
    const int repeats = argc > 3 ? std::atoi(argv[3]) : 5;
    const std::size_t batchSize = argc > 4 ? std::size_t(std::max(1, std::atoi(argv[4]))) : 64;
    try {
        auto model = Model::load(modelPath);
        auto test = openDataset(dataPath, Split::Test);
        const auto pre = model->defaultPreprocessing();
        const auto batches = loadBatches(*test, pre, firstN(*test, 2000), batchSize);
        std::printf("model %s, %zu sites, %zu test images in %zu batches of %zu\n", modelPath.c_str(), model->sites().size(),
                    test->size(), batches.size(), batchSize);

        // Warm up both paths: the profiling executor specialises during the first calls.
        for (int i = 0; i < 3; ++i) {
            forwardOutput(*model, batches[0], false);
            capture(*model, {batches[0]});
        }
        double plain = 1e9, probed = 1e9, probesOnly = 1e9, unfolded = 1e9;
        CaptureOptions options;
        options.keepPredictions = false;
        CaptureOptions noStats = options;
        noStats.collectStats = false;
        for (int r = 0; r < repeats; ++r) {
            auto t1 = std::chrono::steady_clock::now();
            capture(*model, batches, noStats);
            probesOnly = std::min(probesOnly, seconds(t1));
            // Interleaved, best of N: both paths see the same machine state.
            auto t0 = std::chrono::steady_clock::now();
            for (const auto &b : batches)
                forwardOutput(*model, b, false);
            plain = std::min(plain, seconds(t0));
            t0 = std::chrono::steady_clock::now();
            capture(*model, batches, options);
            probed = std::min(probed, seconds(t0));
            // The statistics alone: the model's BatchNorms and residual adds run as aten ops, as in the plain pass.
            setBatchNormFolding(false);
            t0 = std::chrono::steady_clock::now();
            capture(*model, batches, options);
            unfolded = std::min(unfolded, seconds(t0));
            setBatchNormFolding(true);
        }
        int folds = 0;
        for (auto f : model->batchNormFolds())
            folds += f == Model::BatchNormFold::Exact ? 1 : 0;
        std::printf("plain forward (no probes)      : %.3f s  (%.0f images/s)\n", plain, 2000.0 / plain);
        std::printf("probes, no statistics          : %.3f s  (%.0f images/s)\n", probesOnly, 2000.0 / probesOnly);
        std::printf("capture with all statistics    : %.3f s  (%.0f images/s; %d sites fold the BatchNorm before them)\n", probed,
                    2000.0 / probed, folds);
        std::printf("  the same, BatchNorm not folded: %.3f s  (%.0f images/s; %.3fx)\n", unfolded, 2000.0 / unfolded, unfolded / plain);
        std::printf("capture / plain                : %.3fx  (target <= 1.10x)\n", probed / plain);

        // Streaming from the dataset (decode + capture): peak memory must not grow with the image count.
        auto train = openDataset(dataPath, Split::Train);
        for (std::size_t n : {std::size_t(2000), std::size_t(10000)}) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto r = capture(*model, *train, pre, firstN(*train, n), options);
            std::printf("streamed %5zu images          : %.2f s, %.0f images/s, peak RSS %ld MiB\n", std::size_t(r.images),
                        seconds(t0), double(r.images) / seconds(t0), peakRssKiB() / 1024);
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "bench_capture: %s\n", e.what());
        return 1;
    }
    return 0;
}
