// The time the model quarantine adds to opening a model (core/graph/quarantine.h).
//
//   bench_quarantine [MODEL.pt] [--runs N]
//
// Without MODEL it exports torchvision's ResNet-50 (weights=None) with Debian's python3-torchvision into a
// temporary folder, as docs/hostile-input.md describes. Prints the median of N runs (default 5) of: the check in
// the zip check (in process), the check in the child process alone, Model::load without the check, and
// Model::load with it (what users get).
#include "error.h"
#include "graph/model.h"
#include "graph/quarantine.h"
#include "io/boundedread.h"
#include "io/ziparchive.h"
#include "threads.h"

#include <QProcess>
#include <QStringList>
#include <QTemporaryDir>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

double medianSeconds(int runs, const std::function<void()> &work)
{
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
        const auto start = Clock::now();
        work();
        times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

} // namespace

int main(int argc, char **argv)
{
    std::string model;
    int runs = 5;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--runs" && i + 1 < argc)
            runs = std::max(1, std::atoi(argv[++i]));
        else
            model = arg;
    }
    QTemporaryDir tmp;
    if (model.empty()) {
        model = tmp.filePath(QStringLiteral("resnet50.pt")).toStdString();
        const QString script = QStringLiteral(
            "import sys, torch, torchvision\n"
            "torch.jit.script(torchvision.models.resnet50(weights=None).eval()).save(sys.argv[1])\n");
        if (QProcess::execute(QStringLiteral("/usr/bin/python3"), {QStringLiteral("-c"), script, QString::fromStdString(model)}) != 0) {
            std::fprintf(stderr, "cannot export ResNet-50 (python3-torchvision needed), or give a MODEL.pt\n");
            return 1;
        }
    }
    try {
        sparsity::setComputeThreads(2);
        std::printf("model: %s, median of %d runs\n", model.c_str(), runs);
        const std::string bytes = sparsity::readBoundedText(model, sparsity::limits::kModelFileBytes, "model");
        const double zip = medianSeconds(runs, [&] { sparsity::checkTorchArchive(bytes, model, "TorchScript model"); });
        const double check = medianSeconds(runs, [&] { sparsity::checkModelInQuarantine(model); });
        sparsity::setModelQuarantine(false);
        const double plain = medianSeconds(runs, [&] { sparsity::Model::load(model); });
        sparsity::setModelQuarantine(true);
        const double guarded = medianSeconds(runs, [&] { sparsity::Model::load(model); });
        std::printf("zip structure + CRC-32 check (in process): %.3f s for %.1f MiB (part of both loads below)\n", zip,
                    double(bytes.size()) / 1048576.0);
        std::printf("quarantine check alone (child process):  %.2f s\n", check);
        std::printf("Model::load without the check:           %.2f s\n", plain);
        std::printf("Model::load with the check:              %.2f s\n", guarded);
        std::printf("added open time:                         %.2f s (%.0f %%)\n", guarded - plain,
                    100.0 * (guarded - plain) / plain);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    return 0;
}
