// The held-out STAR protocol (docs/star.md, "The protocol"): ReLU fine-tune, threshold-only, L1-only, Hoyer-square +
// thresholds (Kurtz 2020) and STAR, each at several operating points and seeds, trained on Debian's full
// Fashion-MNIST training set minus a fixed validation split, every choice on that split, reported on the 10,000
// official test images. Every finished run is cached in the results folder and skipped on a restart, so the
// protocol runs in pieces (--max-minutes) and survives a cancel (Ctrl-C stops after the current epoch's batch).
// Prints markdown tables (stdout) and progress (stderr); writes the front plots as PNG and PDF.
// Usage: star_results [--help] [options]
#include "star_plot.h"

#include "capture/capture.h"
#include "data/dataset.h"
#include "error.h"
#include "graph/model.h"
#include "hardware/processor.h"
#include "hardware/processorpreset.h"
#include "hardware/workload.h"
#include "tune/protocol.h"
#include "tune/recipe.h"
#include "tune/training.h"

#include <QDir>
#include <QFile>
#include <QGuiApplication>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <sstream>

using namespace sparsity;

namespace {

// The baselines' penalties act on every activation of every site (no band, no scope): L1 and Kurtz's Hoyer-square.
Recipe wholeTensorPenalty(Recipe r, Recipe::Penalty penalty, double lambda)
{
    r.penalty = penalty;
    r.bandMode = Recipe::BandMode::Absolute;
    r.band = 0.0;
    r.bandPerChannel = false;
    r.scopeMode = Recipe::ScopeMode::All;
    r.lambda = lambda;
    return r;
}

std::atomic<bool> cancelRequested{false};
void onSigint(int) { cancelRequested = true; }

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<double> numbers(const std::string &csv)
{
    std::vector<double> v;
    std::stringstream in(csv);
    for (std::string item; std::getline(in, item, ',');)
        v.push_back(std::stod(item));
    return v;
}
std::vector<std::string> words(const std::string &csv)
{
    std::vector<std::string> v;
    std::stringstream in(csv);
    for (std::string item; std::getline(in, item, ',');)
        v.push_back(item);
    return v;
}
std::string fmt(double v, int digits = 2)
{
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", digits, v);
    return b;
}

struct Options {
    std::string train = "/usr/share/datasets/fashion-mnist";
    std::string results = "star-protocol";
    std::string recipe = SPARSITY_RESOURCES_DIR "/recipes/star-sample-resnet.json";
    std::string preset = SPARSITY_RESOURCES_DIR "/presets/neuronflow-28nm.json";
    std::string plot = SPARSITY_RESOURCES_DIR "/../docs/star-fronts"; // the checkout's docs/, wherever it runs
    std::vector<std::string> models{"resnet", "mobilenetv2"};
    std::vector<std::string> resnetMethods{"relu", "threshold-only", "l1-only", "hoyer-threshold", "star"};
    std::vector<std::string> mobilenetMethods{"relu", "threshold-only", "star"};
    int seeds = 3, mobilenetSeeds = 2;
    int regularizeEpochs = 3, finetuneEpochs = 3;
    std::size_t imagesPerEpoch = 8000, validationSplit = 5000, calibrationImages = 2000, validationImages = 3000;
    // Where the per-epoch check starts in the validation split; default: right after the calibration images.
    std::size_t checkFrom = std::numeric_limits<std::size_t>::max();
    std::size_t testImages = 10000;
    std::uint64_t splitSeed = 17;
    std::vector<double> budgets{0.25, 0.5, 1.0, 2.0};
    std::vector<double> l1Lambdas{0.25, 0.5, 1.0, 2.0};
    std::vector<double> hoyerLambdas{0.05, 0.2};
    std::vector<double> hoyerBudgets{0.5, 2.0};
    double maxMinutes = 0.0; // 0: no limit
};

const char *kUsage =
    "star_results [options]   (defaults in brackets; docs/star.md explains the protocol)\n"
    "  --train DIR            full training set (IDX, 60,000 images) [/usr/share/datasets/fashion-mnist]\n"
    "  --results DIR          cache of finished runs and shared regularized models [star-protocol]\n"
    "  --recipe FILE          the STAR recipe every method shares data, distillation and BatchNorm settings with\n"
    "  --preset FILE          processor preset of the hardware column [resources/presets/neuronflow-28nm.json]\n"
    "  --plot BASE            front plots BASE-<model>.png/.pdf [the checkout's docs/star-fronts]\n"
    "  --models LIST          resnet,mobilenetv2   --resnet-methods LIST   --mobilenet-methods LIST\n"
    "  --seeds N [3]          --mobilenet-seeds N [2]\n"
    "  --epochs R,F           regularize and fine-tune epochs for every method [3,3]\n"
    "  --images-per-epoch N   training images drawn per epoch from the 55,000 [8000]\n"
    "  --validation-split N [5000] --calibration-images N [2000] --validation-images N [3000] (per-epoch check)\n"
    "  --check-from N         first validation-split image of the per-epoch check [after the calibration images;\n"
    "                         with --validation-images 1000, 0 reproduces the records before session 11]\n"
    "  --test-images N        official test images reported on [10000]\n"
    "  --budgets LIST         threshold budgets (pp, on the validation split) of threshold-only and STAR\n"
    "  --l1-lambdas LIST      --hoyer-lambdas LIST   --hoyer-budgets LIST\n"
    "  --max-minutes M        start no new run after M minutes (run again to continue)\n";

Options parse(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help") {
            std::printf("%s", kUsage);
            std::exit(0);
        }
        if (i + 1 >= argc)
            throw Error("option " + a + " needs a value\n" + kUsage);
        const std::string v = argv[++i];
        if (a == "--train") o.train = v;
        else if (a == "--results") o.results = v;
        else if (a == "--recipe") o.recipe = v;
        else if (a == "--preset") o.preset = v;
        else if (a == "--plot") o.plot = v;
        else if (a == "--models") o.models = words(v);
        else if (a == "--resnet-methods") o.resnetMethods = words(v);
        else if (a == "--mobilenet-methods") o.mobilenetMethods = words(v);
        else if (a == "--seeds") o.seeds = std::stoi(v);
        else if (a == "--mobilenet-seeds") o.mobilenetSeeds = std::stoi(v);
        else if (a == "--epochs") {
            const auto e = numbers(v);
            if (e.size() != 2)
                throw Error("--epochs takes R,F (regularize, fine-tune)");
            o.regularizeEpochs = int(e[0]);
            o.finetuneEpochs = int(e[1]);
        } else if (a == "--images-per-epoch") o.imagesPerEpoch = std::stoul(v);
        else if (a == "--validation-split") o.validationSplit = std::stoul(v);
        else if (a == "--calibration-images") o.calibrationImages = std::stoul(v);
        else if (a == "--validation-images") o.validationImages = std::stoul(v);
        else if (a == "--check-from") o.checkFrom = std::stoul(v);
        else if (a == "--test-images") o.testImages = std::stoul(v);
        else if (a == "--budgets") o.budgets = numbers(v);
        else if (a == "--l1-lambdas") o.l1Lambdas = numbers(v);
        else if (a == "--hoyer-lambdas") o.hoyerLambdas = numbers(v);
        else if (a == "--hoyer-budgets") o.hoyerBudgets = numbers(v);
        else if (a == "--max-minutes") o.maxMinutes = std::stod(v);
        else throw Error("unknown option " + a + "\n" + kUsage);
    }
    return o;
}

// One operating point: the regularized model it starts from (shared by every point with the same stage-1 recipe)
// and the recipe that finishes it.
struct Point {
    std::string name;  // e.g. "lambda 0.5, budget 1"
    std::string stage; // name of the shared regularized model
    Recipe stage1, full;
};

// Every method's points under the same data, epochs, augmentation, distillation and BatchNorm settings: the
// recipe's, with R regularize epochs (lambda 0 for ReLU and threshold-only, which therefore share one model) and F
// fine-tune epochs. L1-only keeps its penalty on while fine-tuning and never thresholds.
std::vector<Point> pointsOf(const std::string &method, const Recipe &base, const Options &o, bool mobilenet)
{
    Recipe r = base;
    r.regularizeEpochs = o.regularizeEpochs;
    r.finetuneEpochs = o.finetuneEpochs;
    r.rounds = 1;
    r.trainImages = o.imagesPerEpoch;
    r.calibrationImages = o.calibrationImages;
    r.validationImages = o.validationImages;
    if (mobilenet) // the shipped scope (depth 0-5) is the ResNet's; the MobileNetV2 takes every site
        r.scopeMode = Recipe::ScopeMode::All;
    auto stage1 = [&](Recipe full) {
        full.finetuneEpochs = 0;
        full.thresholdMode = Recipe::ThresholdMode::Keep;
        full.constantShare = 0.0;
        return full;
    };
    const Recipe::Method m = methodFromName(method);
    std::vector<Point> points;
    auto add = [&](const std::string &name, const std::string &stage, Recipe full) {
        full.method = m;
        Recipe s = stage1(full);
        s.method = Recipe::Method::Relu; // stage 1 never thresholds; its method does not enter its weights
        s.budgetPp = 0.0;
        points.push_back({name, stage, s, full});
    };
    Recipe plain = r;
    plain.lambda = 0.0;
    plain.penalizeWhileFinetuning = false;
    if (m == Recipe::Method::Relu) {
        plain.thresholdMode = Recipe::ThresholdMode::Keep;
        add("fine-tune", "plain", plain);
    } else if (m == Recipe::Method::ThresholdOnly) {
        for (double b : o.budgets) {
            plain.budgetPp = b;
            add("budget " + fmt(b), "plain", plain);
        }
    } else if (m == Recipe::Method::Star) {
        for (double b : o.budgets) {
            Recipe s = r;
            s.budgetPp = b;
            add("budget " + fmt(b), "star-lambda" + fmt(r.lambda), s);
        }
    } else if (m == Recipe::Method::L1Only) {
        for (double l : o.l1Lambdas) {
            Recipe s = wholeTensorPenalty(r, Recipe::Penalty::L1, l);
            s.penalizeWhileFinetuning = true;
            s.thresholdMode = Recipe::ThresholdMode::Keep;
            add("lambda " + fmt(l, 3), "l1-lambda" + fmt(l, 3), s);
        }
    } else if (m == Recipe::Method::HoyerThreshold) {
        for (double l : o.hoyerLambdas)
            for (double b : o.hoyerBudgets) {
                Recipe s = wholeTensorPenalty(r, Recipe::Penalty::HoyerSquare, l);
                s.budgetPp = b;
                add("lambda " + fmt(l, 3) + ", budget " + fmt(b), "hoyer-lambda" + fmt(l, 3), s);
            }
    }
    return points;
}

struct ModelSetup {
    std::string name, path;
    std::vector<std::string> methods;
    int seeds = 1;
};

class Protocol {
public:
    Protocol(const Options &o, const Dataset &train, const Dataset &calibration, const Dataset &check, const Dataset &test,
             std::vector<std::size_t> testIndices, ProcessorParams processor, std::string dataSettings)
        : o_(o), train_(train), calibration_(calibration), check_(check), test_(test), testIndices_(std::move(testIndices)),
          processor_(std::move(processor)), dataSettings_(std::move(dataSettings)), cache_(o.results + "/runs")
    {
        callbacks_.message = [](const std::string &m) { std::fprintf(stderr, "    %s\n", m.c_str()); };
        callbacks_.epoch = [](const EpochReport &e) {
            std::fprintf(stderr, "    %s epoch %d/%d: validation top-1 %.2f %%, sparsity %.3f (%.0f s)\n", e.phase.c_str(),
                         e.epoch + 1, e.epochsTotal, e.validationTop1, e.validationSparsity, e.seconds);
        };
    }

    bool outOfTime() const { return cancelRequested || (o_.maxMinutes > 0.0 && since(started_) > 60.0 * o_.maxMinutes); }
    int newRuns = 0, skippedRuns = 0;
    double newRunSeconds = 0.0;

    // The run of one point with one seed: cached, or trained from the shared regularized model and evaluated.
    // Returns false when it did not run (out of time, cancelled).
    bool run(const ModelSetup &m, const std::string &method, const Point &p, std::uint64_t seed, RunRecord &out)
    {
        Recipe full = p.full, stage1 = p.stage1;
        full.seed = stage1.seed = seed;
        const std::string settings = full.toJson() + dataSettings_ + "\nprocessor " + processor_.name;
        if (cache_.find(m.name, method, p.name, seed, settings, out)) {
            ++skippedRuns;
            return true;
        }
        if (outOfTime())
            return false;
        const auto t0 = Clock::now();
        std::fprintf(stderr, "[%.0f s] %s %s %s seed %llu\n", since(started_), m.name.c_str(), method.c_str(), p.name.c_str(),
                     static_cast<unsigned long long>(seed));
        const std::string stageDir = regularized(m, p, stage1, seed);
        if (stageDir.empty())
            return false;
        const std::string runDir = o_.results + "/work/" + m.name + "__" + method + "__seed" + std::to_string(seed);
        QDir(QString::fromStdString(runDir)).removeRecursively();
        QDir().mkpath(QString::fromStdString(runDir));
        for (const char *f : {"latest-checkpoint.pt", "teacher.pt"})
            QFile::copy(QString::fromStdString(stageDir + "/" + f), QString::fromStdString(runDir + "/" + f));
        auto model = Model::load(m.path);
        TrainingData data{&train_, &check_, model->defaultPreprocessing(), &calibration_};
        const auto trained = train(*model, full, data, runDir, true, &cancelRequested, callbacks_);
        if (trained.cancelled)
            return false;
        std::vector<bool> sparsifiable;
        for (const auto &s : model->sites())
            sparsifiable.push_back(s.sparsifiable && model->siteExecuted(s.index));
        CaptureOptions options;
        options.keepPredictions = false;
        const auto r = capture(*model, test_, data.preprocessing, testIndices_, options, &cancelRequested);
        if (cancelRequested)
            return false;
        const auto hw = evaluate(processor_, workloadFromStats(model->layers(), model->sites(), r.sites));
        out = {};
        out.validationTop1 = trained.validationTop1;
        out.validationSparsity = trained.validationSparsity;
        out.top1 = r.top1();
        out.activationSparsity = r.activationSparsity(sparsifiable);
        out.nonzerosPerImage = r.nonzerosPerImage(sparsifiable);
        out.latencySeconds = hw.latencySeconds;
        out.fps = hw.fps;
        out.energyPerFrameJ = hw.energyPerFrameJ;
        out.seconds = since(t0);
        out.model = m.name;
        out.method = method;
        out.point = p.name;
        out.seed = seed;
        out.settings = settings;
        cache_.store(out);
        QDir(QString::fromStdString(runDir)).removeRecursively();
        ++newRuns;
        newRunSeconds += out.seconds;
        std::fprintf(stderr, "  -> test top-1 %.2f %%, %.0f nonzeros/image (%.0f s)\n", out.top1, out.nonzerosPerImage, out.seconds);
        return true;
    }

private:
    // The folder of the regularized model a point starts from, trained (or resumed) when its settings are new.
    std::string regularized(const ModelSetup &m, const Point &p, const Recipe &stage1, std::uint64_t seed)
    {
        const std::string dir = o_.results + "/stage1/" + m.name + "__" + p.stage + "__seed" + std::to_string(seed);
        const QString settingsFile = QString::fromStdString(dir + "/settings.txt");
        const QByteArray settings = QByteArray::fromStdString(stage1.toJson() + dataSettings_);
        QFile f(settingsFile);
        const bool same = f.open(QIODevice::ReadOnly) && f.readAll() == settings;
        f.close();
        if (same && QFile::exists(QString::fromStdString(dir + "/done")))
            return dir;
        if (!same) { // other settings: start over
            QDir(QString::fromStdString(dir)).removeRecursively();
            QDir().mkpath(QString::fromStdString(dir));
            QFile w(settingsFile);
            if (!w.open(QIODevice::WriteOnly) || w.write(settings) != settings.size())
                throw Error(dir + "/settings.txt: cannot write");
        }
        auto model = Model::load(m.path);
        TrainingData data{&train_, &check_, model->defaultPreprocessing(), &calibration_};
        std::fprintf(stderr, "  regularized model %s (seed %llu)\n", p.stage.c_str(), static_cast<unsigned long long>(seed));
        const auto t = train(*model, stage1, data, dir, true, &cancelRequested, callbacks_);
        if (t.cancelled)
            return {};
        QFile done(QString::fromStdString(dir + "/done"));
        if (!done.open(QIODevice::WriteOnly))
            throw Error(dir + "/done: cannot write");
        return dir;
    }

    const Options &o_;
    const Dataset &train_, &calibration_, &check_, &test_;
    std::vector<std::size_t> testIndices_;
    ProcessorParams processor_;
    std::string dataSettings_;
    RunCache cache_;
    TrainingCallbacks callbacks_;
    Clock::time_point started_ = Clock::now();
};

std::string pm(double mean, double sd, double scale, int digits)
{
    return fmt(scale * mean, digits) + " ± " + fmt(scale * sd, digits);
}

// The tables of one model, from whatever runs are finished.
void report(const ModelSetup &m, const std::map<std::string, std::vector<RunRecord>> &runs, const Options &o,
            const std::string &processor)
{
    const auto reluIt = runs.find("relu");
    if (reluIt == runs.end() || reluIt->second.empty()) {
        std::printf("\n## %s\n\nNo ReLU baseline run yet: nothing to compare against.\n", m.name.c_str());
        return;
    }
    const auto &relu = reluIt->second;
    double reluTop1 = 0, reluNz = 0, reluLatency = 0, reluFps = 0, reluEnergy = 0;
    for (const auto &r : relu) {
        reluTop1 += r.top1 / double(relu.size());
        reluNz += r.nonzerosPerImage / double(relu.size());
        reluLatency += r.latencySeconds / double(relu.size());
        reluFps += r.fps / double(relu.size());
        reluEnergy += r.energyPerFrameJ / double(relu.size());
    }
    std::printf("\n## %s\n\nReLU baseline (fine-tuned the same way, mean of %zu seed%s): top-1 %.2f %%, %.0f nonzero activations per "
                "image; processor model %.1f µs latency, %.0f FPS, %.2f µJ per frame.\n\n",
                m.name.c_str(), relu.size(), relu.size() == 1 ? "" : "s", reluTop1, reluNz, 1e6 * reluLatency, reluFps, 1e6 * reluEnergy);
    std::printf("| method | operating point | seeds | top-1 change vs ReLU (pp) | removed vs ReLU (%%) | validation top-1 (%%) | "
                "time per run (s) |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    std::vector<std::pair<std::string, std::vector<FrontPoint>>> fronts;
    for (const auto &method : m.methods) {
        const auto it = runs.find(method);
        if (it == runs.end())
            continue;
        const auto front = frontOf(it->second, relu);
        for (const auto &p : front) {
            double val = 0, secs = 0;
            int n = 0;
            for (const auto &r : it->second)
                if (r.point == p.point) {
                    val += r.validationTop1;
                    secs += r.seconds;
                    ++n;
                }
            std::printf("| %s | %s | %d | %s | %s | %.2f | %.0f |\n", method.c_str(), p.point.c_str(), p.seeds,
                        pm(p.deltaTop1Mean, p.deltaTop1Std, 1.0, 2).c_str(), pm(p.removedMean, p.removedStd, 100.0, 1).c_str(),
                        val / std::max(1, n), secs / std::max(1, n));
        }
        fronts.emplace_back(method, front);
    }
    std::printf("\nActivations removed vs ReLU at equal top-1 loss (interpolated along each front's non-dominated "
                "points; n/a: no point loses that little), and the processor model (%s) at the 0.5 pp point:\n\n",
                processor.c_str());
    std::printf("| method | at 0.25 pp | at 0.5 pp | at 1.0 pp | latency (µs) | FPS | energy / frame (µJ) | latency ratio | "
                "FPS ratio | energy ratio |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (const auto &[method, front] : fronts) {
        std::printf("| %s |", method.c_str());
        for (double loss : {0.25, 0.5, 1.0}) {
            const auto e = atEqualLoss(front, loss);
            std::printf(" %s |", e.valid ? (fmt(100.0 * e.removed, 1) + " %").c_str() : "n/a");
        }
        const auto e = atEqualLoss(front, 0.5);
        if (e.valid)
            std::printf(" %.1f | %.0f | %.2f | %.2fx | %.2fx | %.2fx |\n", 1e6 * e.latencySeconds, e.fps, 1e6 * e.energyPerFrameJ,
                        reluLatency / e.latencySeconds, e.fps / reluFps, reluEnergy / e.energyPerFrameJ);
        else
            std::printf(" n/a | n/a | n/a | n/a | n/a | n/a |\n");
    }
    if (!o.plot.empty() && !fronts.empty()) {
        writeFrontPlot(o.plot + "-" + m.name, "Fronts on " + m.name + " (test set, mean ± std over seeds)", fronts);
        std::printf("\nPlot: `%s-%s.png` (and `.pdf`).\n", o.plot.c_str(), m.name.c_str());
    }
}

} // namespace

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen"); // fonts for the plot, no display needed
    int qtArgc = 1;
    QGuiApplication app(qtArgc, argv);
    std::signal(SIGINT, onSigint);
    try {
        const Options o = parse(argc, argv);
        const auto started = Clock::now();
        const Recipe base = Recipe::load(o.recipe);
        auto full = openDataset(o.train, Split::Train);
        auto test = openDataset(o.train, Split::Test);
        if (!full->labelled() || !test->labelled())
            throw Error(o.train + ": the protocol needs labelled training and test images");
        const auto split = heldOutSplit(full->size(), o.validationSplit, o.splitSeed);
        auto trainSet = subsetOf(*full, split.train, "training split");
        const std::size_t checkFrom = o.checkFrom == std::numeric_limits<std::size_t>::max() ? o.calibrationImages : o.checkFrom;
        const auto uses = validationUses(split.validation, o.calibrationImages, checkFrom, o.validationImages);
        auto calibrationSet = subsetOf(*full, uses.calibration, "calibration images (validation split)");
        auto checkSet = subsetOf(*full, uses.check, "per-epoch check images (validation split)");
        const auto testIndices = firstN(*test, o.testImages);
        const ProcessorParams processor = loadPreset(QString::fromStdString(o.preset));
        std::ostringstream data;
        data << "\ndata " << o.train << " " << full->size() << " validation " << o.validationSplit << " split seed "
             << o.splitSeed << " test " << testIndices.size();
        if (checkFrom > 0) // absent from the records made before the check moved off the calibration images
            data << " check from " << checkFrom;
        Protocol protocol(o, *trainSet, *calibrationSet, *checkSet, *test, testIndices, processor, data.str());

        std::vector<ModelSetup> models;
        for (const auto &name : o.models) {
            if (name == "resnet")
                models.push_back({name, SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt", o.resnetMethods, o.seeds});
            else if (name == "mobilenetv2")
                models.push_back({name, SPARSITY_SAMPLEDATA_DIR "/models/sample-mobilenetv2.pt", o.mobilenetMethods, o.mobilenetSeeds});
            else
                throw Error("--models: unknown model '" + name + "' (resnet, mobilenetv2)");
        }
        bool complete = true;
        std::printf("# STAR protocol: results\n\nPrinted by `build/dev/bench/star_results` (docs/star.md, \"The protocol\"). "
                    "Training: %zu images of `%s` (%zu drawn per epoch), %d regularize + %d fine-tune epochs for every "
                    "method; validation split: %zu images (seed %llu), calibration %zu of them, per-epoch check %zu "
                    "from image %zu%s; test: %zu official test images, used for these figures only.\n",
                    trainSet->size(), o.train.c_str(), o.imagesPerEpoch, o.regularizeEpochs, o.finetuneEpochs,
                    split.validation.size(), static_cast<unsigned long long>(o.splitSeed), o.calibrationImages,
                    checkSet->size(), checkFrom, checkFrom < o.calibrationImages ? " (overlapping the calibration images)" : "",
                    testIndices.size());
        for (const auto &m : models) {
            std::map<std::string, std::vector<RunRecord>> runs;
            // Seed-major: an early stop leaves whole seeds of every method rather than all seeds of one method.
            for (int s = 1; s <= m.seeds; ++s)
                for (const auto &method : m.methods)
                    for (const auto &p : pointsOf(method, base, o, m.name == "mobilenetv2")) {
                        RunRecord r;
                        if (protocol.run(m, method, p, std::uint64_t(s), r))
                            runs[method].push_back(r);
                        else
                            complete = false;
                    }
            report(m, runs, o, processor.name);
        }
        std::printf("\n%d runs trained now (%.0f s each on average), %d taken from the cache in `%s`. Wall time %.0f s.%s\n",
                    protocol.newRuns, protocol.newRuns ? protocol.newRunSeconds / protocol.newRuns : 0.0,
                    protocol.skippedRuns, o.results.c_str(), since(started),
                    complete ? "" : " INCOMPLETE: runs are missing (time limit or cancel); run again to continue.");
    } catch (const std::exception &e) {
        std::fprintf(stderr, "star_results: %s\n", e.what());
        return 1;
    }
    return 0;
}
