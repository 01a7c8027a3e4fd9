// Cost of the statistics pass alone, per activation element, for each kernel (AVX-512 and portable), on ReLU
// outputs of the sample ResNet's three shapes (batch 64). Single-threaded, best of N, so it can be compared
// with the per-element cost of a plain forward pass (bench_capture) and stays meaningful on a busy machine.
#include "graph/probes_p.h"
#include "threads.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

using namespace sparsity;

int main(int argc, char **argv)
{
    const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 50;
    at::set_num_threads(1);
    torch::manual_seed(1);
    const std::vector<std::vector<std::int64_t>> shapes = {{64, 16, 28, 28}, {16, 16, 28, 28}, {16, 32, 14, 14}, {16, 64, 7, 7}, {64, 512}};
    std::printf("statistics pass, 1 thread, best of %d, ns per element (ReLU of N(0,1): about half zeros)\n", repeats);
    for (bool avx512 : {true, false}) {
        if (avx512 && !compressedStatisticsAvailable())
            continue;
        setCompressedStatistics(avx512);
        // Statistics of a ReLU output (accumulateStats), and the fused pass the probes run while capturing
        // (ReLU, threshold 0 and statistics, written over its input as for an in-place ReLU of the model).
        // "batchnorm folded": the pass of a probe that also computes the BatchNorm before it (x * alpha + beta).
        for (int pass : {0, 1, 2}) {
            const bool fused = pass == 1, folded = pass == 2;
            if (folded && !avx512)
                continue; // the probes fold only with the AVX-512 pass
            std::printf("%-9s %-27s", avx512 ? "AVX-512" : "portable",
                        folded ? "batchnorm+relu+stats folded" : fused ? "fused relu+stats in place" : "statistics of a ReLU output");
            for (const auto &shape : shapes) {
                if (folded && shape.size() != 4) {
                    std::printf("  (BatchNorm folds only into N x C x H x W maps)");
                    continue;
                }
                const auto preActivation = torch::randn(shape);
                const auto x = torch::relu(preActivation);
                const std::vector<float> alpha(std::size_t(shape[1]), 1.1f), beta(std::size_t(shape[1]), -0.05f);
                double best = 1e9;
                for (int r = 0; r < repeats; ++r) {
                    SiteStats stats;
                    auto input = preActivation.clone();
                    const auto t0 = std::chrono::steady_clock::now();
                    if (folded)
                        sparsity::detail::affineThresholdWithStats(input, alpha, beta, at::Tensor(), 0.0f, stats);
                    else if (fused)
                        sparsity::detail::thresholdWithStats(input, 0.0f, stats, true);
                    else
                        sparsity::detail::accumulateStats(x, stats);
                    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
                }
                std::string name;
                for (auto d : shape)
                    name += (name.empty() ? "" : "x") + std::to_string(d);
                std::printf("  %s: %.3f", name.c_str(), best * 1e9 / double(x.numel()));
            }
            std::printf("\n");
        }
    }
    setCompressedStatistics(true);
    return 0;
}
