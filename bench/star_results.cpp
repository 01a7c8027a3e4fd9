// Writes docs/results.md: ReLU vs threshold-only vs L1-only vs STAR on the sample ResNet with the shipped data,
// the same training budget for every method, evaluated on the 2,000 shipped test images.
// Usage: star_results [RECIPE.json [TRAIN_DATA]] > docs/results.md   (progress on stderr)
// TRAIN_DATA: train on another dataset's training split (e.g. Debian's full Fashion-MNIST in
// /usr/share/datasets/fashion-mnist, with the recipe's data.train_images); evaluation stays on the shipped test images.
#include "tune/comparison.h"
#include "tune/training.h"
#include "data/dataset.h"
#include "graph/model.h"
#include "tune/recipe.h"

#include <QDir>
#include <QTemporaryDir>

#include <chrono>
#include <cstdio>
#include <thread>

using namespace sparsity;

int main(int argc, char **argv)
{
    try {
        const std::string model = SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt";
        const std::string data = SPARSITY_SAMPLEDATA_DIR "/fashion-mnist";
        const Recipe star = argc > 1 ? Recipe::load(argv[1]) : Recipe::load(SPARSITY_RESOURCES_DIR "/recipes/star-sample-resnet.json");
        const std::string trainData = argc > 2 ? argv[2] : data;
        auto train = openDataset(trainData, Split::Train);
        auto test = openDataset(data, Split::Test);
        auto probe = Model::load(model);
        TrainingData td{train.get(), test.get(), probe->defaultPreprocessing()};
        QTemporaryDir work;
        TrainingCallbacks callbacks;
        callbacks.message = [](const std::string &m) { std::fprintf(stderr, "%s\n", m.c_str()); };
        callbacks.epoch = [](const EpochReport &e) {
            std::fprintf(stderr, "  %s epoch %d/%d: validation top-1 %.2f %%, sparsity %.3f (%.0f s)\n", e.phase.c_str(),
                         e.epoch + 1, e.epochsTotal, e.validationTop1, e.validationSparsity, e.seconds);
        };
        const auto started = std::chrono::steady_clock::now();
        const std::vector<Recipe::Method> methods{Recipe::Method::Relu, Recipe::Method::ThresholdOnly, Recipe::Method::L1Only,
                                                  Recipe::Method::Star};
        const auto c = compareMethods([&] { return Model::load(model); }, star, methods, td, *test, firstN(*test, test->size()),
                                      work.path().toStdString(), nullptr,
                                      [](const ComparisonProgress &p) { std::fprintf(stderr, "method %s\n", methodName(p.method)); },
                                      callbacks);
        const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

        std::printf("# STAR on the sample ResNet: results\n\n");
        std::printf("The tables down to the acceptance line are printed by `build/dev/bench/star_results` (recipe: "
                    "`%s`). Model `sampledata/models/sample-resnet.pt`; training on %s (the last %zu held out for "
                    "calibration); every figure below on the %zu shipped test images. Every method gets the same %d "
                    "epochs on the same data (see docs/star.md). Machine: %u cores, CPU only.\n\n",
                    argc > 1 ? argv[1] : "resources/recipes/star-sample-resnet.json",
                    argc > 2 ? (std::to_string(train->size()) + " training images of `" + trainData + "`" +
                                (star.trainImages ? " (the first " + std::to_string(star.trainImages) + " used)" : std::string()))
                                   .c_str()
                             : "the shipped 10,000 Fashion-MNIST training images",
                    star.calibrationImages, c.evaluationImages, c.epochs, std::thread::hardware_concurrency());
        std::printf("| method | top-1 (%%) | Δ top-1 vs original (pp) | activation sparsity | nonzero activations / image | removed vs ReLU | fine-tuning time (s) |\n");
        std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
        const double originalTop1 = c.original.top1;
        const double reluNonzeros = [&] {
            for (const auto &m : c.methods)
                if (m.method == Recipe::Method::Relu)
                    return m.nonzerosPerImage;
            return c.original.nonzerosPerImage;
        }();
        std::printf("| original (no fine-tuning) | %.2f | +0.00 | %.1f %% | %.0f | %.1f %% | 0 |\n", c.original.top1,
                    100.0 * c.original.activationSparsity, c.original.nonzerosPerImage,
                    100.0 * (1.0 - c.original.nonzerosPerImage / reluNonzeros));
        for (const auto &r : c.methods)
            std::printf("| %s | %.2f | %+.2f | %.1f %% | %.0f | %.1f %% | %.0f |\n", methodName(r.method), r.top1,
                        r.top1 - originalTop1, 100.0 * r.activationSparsity, r.nonzerosPerImage, 100.0 * r.removedVsRelu,
                        r.training.seconds);
        std::printf("\n## Per-site sparsity\n\n| site | original |");
        for (const auto &r : c.methods)
            std::printf(" %s |", methodName(r.method));
        std::printf("\n| --- | --- |");
        for (std::size_t i = 0; i < c.methods.size(); ++i)
            std::printf(" --- |");
        std::printf("\n");
        for (std::size_t s = 0; s < c.siteNames.size(); ++s) {
            if (!c.sparsifiable[s])
                continue;
            std::printf("| %s | %.1f %% |", c.siteNames[s].c_str(), 100.0 * c.original.siteSparsity[s]);
            for (const auto &r : c.methods)
                std::printf(" %.1f %% |", 100.0 * r.siteSparsity[s]);
            std::printf("\n");
        }
        for (const auto &r : c.methods)
            if (r.method == Recipe::Method::Star)
                std::printf("\n**Acceptance** (STAR removes at least 50 %% of the nonzero activations the ReLU baseline "
                            "leaves, with a top-1 loss of at most 1 pp): removed %.1f %%, top-1 change %+.2f pp vs the original "
                            "model -> %s.\n",
                            100.0 * r.removedVsRelu, r.top1 - originalTop1,
                            r.removedVsRelu >= 0.5 && r.top1 - originalTop1 >= -1.0 ? "met" : "NOT met");
        std::printf("\nWhole comparison: %.0f s of wall time.\n", total);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "star_results: %s\n", e.what());
        return 1;
    }
    return 0;
}
