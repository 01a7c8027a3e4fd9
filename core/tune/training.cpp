#include "tune/training.h"
#include "tune/checkpoint_p.h"
#include "tune/distributedtraining_p.h"

#include "capture/capture.h"
#include "distributed/shardedcapture.h"
#include "error.h"
#include "graph/model_p.h"
#include "graph/weights_p.h"
#include "io/boundedread.h"
#include "io/outputpaths.h"

#include <torch/torch.h>

#include <QDir>
#include <QFile>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <sstream>
#include <unordered_map>
#include <random>
#include <set>
#include <thread>

namespace sparsity {

using detail::Checkpoint;
using detail::loadCheckpoint;
using detail::loadOptimizerState;
using detail::saveCheckpoint;

namespace {

const char *const kCheckpointName = "latest-checkpoint.pt";
const char *const kTeacherName = "teacher.pt";

struct Phase {
    std::string name;
    int firstEpoch = 0;
    int epochs = 0;
    OptimizerSettings optimizer;
    bool regularize = false;
    bool thresholdsFirst = false; // set thresholds before the first epoch of this phase
    double lambda = 0.0;          // penalty weight while `regularize` is on
};

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const OptimizerSettings &s, const std::vector<at::Tensor> &params)
{
    if (s.kind == OptimizerSettings::Kind::Sgd)
        return std::make_unique<torch::optim::SGD>(
            params, torch::optim::SGDOptions(s.learningRate).momentum(s.momentum).weight_decay(s.weightDecay));
    return std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(s.learningRate).weight_decay(s.weightDecay));
}

double scheduledRate(const OptimizerSettings &s, int epochInPhase, int step, int stepsPerEpoch, int epochs)
{
    switch (s.schedule) {
    case OptimizerSettings::Schedule::Constant:
        return s.learningRate;
    case OptimizerSettings::Schedule::Step:
        return s.learningRate * std::pow(s.stepGamma, epochInPhase / std::max(1, s.stepEpochs));
    case OptimizerSettings::Schedule::Cosine: {
        const double total = double(std::max(1, epochs * stepsPerEpoch));
        const double done = double(epochInPhase * stepsPerEpoch + step);
        return 0.5 * s.learningRate * (1.0 + std::cos(M_PI * done / total));
    }
    }
    return s.learningRate;
}

// Every parameter group at `rate`, except the learned thresholds' group (the second, when there is one) at
// `rate * thresholdScale`, so their rate follows the same schedule.
void setRate(torch::optim::Optimizer &optimizer, double rate, double thresholdScale = 1.0)
{
    auto &groups = optimizer.param_groups();
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const double r = i == 1 ? rate * thresholdScale : rate;
        if (auto *sgd = dynamic_cast<torch::optim::SGDOptions *>(&groups[i].options()))
            sgd->lr(r);
        else if (auto *adam = dynamic_cast<torch::optim::AdamOptions *>(&groups[i].options()))
            adam->lr(r);
    }
}

// L1-only and ReLU fine-tune without thresholds: no threshold phase, no constants cut, nothing to learn.
bool setsThresholds(const Recipe &recipe)
{
    return recipe.method != Recipe::Method::L1Only && recipe.method != Recipe::Method::Relu;
}

// finetune.learn_thresholds: a parameter per sparsifiable site with a scalar threshold (undefined for dense sites and
// per-channel ones), starting at the round's (or a resumed epoch's) threshold. Which sites learn must not depend on
// the values (one learnt down to 0 would drop out on a resume, and the optimizer state would no longer fit); a site
// at 0 stays there (its ramp has no width).
std::vector<at::Tensor> learnedThresholdParameters(const std::vector<Site> &sites, const std::vector<float> &thresholds,
                                                   const std::vector<std::vector<float>> &channelThresholds)
{
    std::vector<at::Tensor> learned(sites.size());
    for (std::size_t i = 0; i < sites.size(); ++i)
        if (sites[i].sparsifiable && i < thresholds.size() && (i >= channelThresholds.size() || channelThresholds[i].empty()))
            learned[i] = torch::full({}, thresholds[i], torch::kFloat32).requires_grad_(true);
    return learned;
}

void addThresholdGroup(torch::optim::Optimizer &optimizer, const OptimizerSettings &s, const std::vector<at::Tensor> &learned,
                       double rate)
{
    std::vector<at::Tensor> params;
    for (const auto &t : learned)
        if (t.defined())
            params.push_back(t);
    if (params.empty())
        return;
    std::unique_ptr<torch::optim::OptimizerOptions> options;
    if (s.kind == OptimizerSettings::Kind::Sgd)
        options = std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(rate).momentum(s.momentum));
    else
        options = std::make_unique<torch::optim::AdamOptions>(rate);
    optimizer.add_param_group(torch::optim::OptimizerParamGroup(params, std::move(options)));
}

// The distillation teacher: an uninstrumented copy of the model as it was when the run started. A resumed run
// reads it back from the checkpoint folder, so it distils from the same teacher as the uninterrupted run.
// In a group only rank 0 writes it; the others copy the weights they were given.
std::unique_ptr<torch::jit::Module> makeTeacher(Model::Impl &d, const std::string &path, bool resuming, bool write)
{
    std::istringstream bytes(d.bytes);
    auto teacher = std::make_unique<torch::jit::Module>(torch::jit::load(bytes, c10::kCPU));
    if (resuming) {
        if (!QFile::exists(QString::fromStdString(path)))
            throw Error(path + ": missing; this run distils from the model it started with, and without that file a "
                               "resume would distil from half-trained weights. Start the run again instead of resuming");
        loadModuleWeights(*teacher, path);
    } else {
        torch::NoGradGuard noGrad;
        std::unordered_map<std::string, at::Tensor> current;
        for (const auto &p : d.module.named_parameters(true))
            current[p.name] = p.value;
        for (const auto &b : d.module.named_buffers(true))
            current[b.name] = b.value;
        for (auto p : teacher->named_parameters(true))
            p.value.copy_(current.at(p.name));
        for (auto b : teacher->named_buffers(true))
            b.value.copy_(current.at(b.name));
        if (write)
            saveModuleWeights(*teacher, "the starting model (distillation teacher)", path);
    }
    teacher->eval();
    for (auto p : teacher->parameters(true))
        p.set_requires_grad(false);
    return teacher;
}

// BatchNorm layers back in eval mode: normalise with running statistics and leave them untouched. By exact class
// name, so a user's block that merely contains "BatchNorm" in its name keeps its dropout and other layers training.
// A traced model has batch_norm's `training` argument baked in as a constant: there this changes nothing
// (docs/star.md).
void freezeBatchNorm(torch::jit::Module &module)
{
    static const std::set<std::string> kinds{"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"};
    for (auto m : module.modules()) {
        if (!m.type()->name())
            continue;
        // Modules exported from C++ LibTorch carry a numbered type name ("BatchNorm2d_6").
        std::string name = m.type()->name()->name();
        const auto underscore = name.rfind('_');
        if (underscore != std::string::npos && underscore + 1 < name.size() &&
            name.find_first_not_of("0123456789", underscore + 1) == std::string::npos)
            name.resize(underscore);
        if (kinds.count(name))
            m.train(false);
    }
}

// A fine-tune ramp's thresholds: `fraction` (clamped to [0, 1]) of the round's, scalar and per channel. The caller
// holds the model's run lock (Model::setThresholds would take it); a fraction of 1 gives the round's values exactly.
void rampThresholds(detail::ProbeState &state, const Checkpoint &round, double fraction)
{
    const float f = float(std::clamp(fraction, 0.0, 1.0));
    for (std::size_t i = 0; i < state.thresholds.size() && i < round.thresholds.size(); ++i) {
        state.thresholds[i] = f * round.thresholds[i];
        if (i < round.channelThresholds.size()) {
            state.channelThresholds[i] = round.channelThresholds[i];
            for (auto &t : state.channelThresholds[i])
                t *= f;
        }
    }
}

std::vector<std::size_t> rangeIndices(std::size_t begin, std::size_t end)
{
    std::vector<std::size_t> v(end > begin ? end - begin : 0);
    std::iota(v.begin(), v.end(), begin);
    return v;
}

} // namespace

Preprocessing trainingPreprocessing(const Recipe &recipe, const Preprocessing &base)
{
    Preprocessing p = base;
    if (recipe.augment) {
        p.randomCropPadding = recipe.cropPadding;
        p.horizontalFlip = true;
    }
    return p;
}

std::vector<float> bandsFor(const Recipe &recipe, const Model &model, const CaptureResult &calibrationStats)
{
    const auto scope = scopeMask(recipe, model);
    std::vector<float> bands(model.sites().size(), 0.0f);
    for (std::size_t i = 0; i < bands.size(); ++i) {
        if (!scope[i])
            continue;
        if (recipe.bandMode == Recipe::BandMode::Absolute) {
            bands[i] = float(recipe.band);
        } else if (i < calibrationStats.sites.size()) {
            const auto &h = calibrationStats.sites[i].positive;
            bands[i] = float(h.quantileValue(recipe.band * double(h.total())));
        }
    }
    return bands;
}

ThresholdTiedBands thresholdTiedBands(double factor, const std::vector<bool> &scope, const std::vector<float> &thresholds,
                                      const std::vector<std::vector<float>> &channelThresholds)
{
    ThresholdTiedBands tied;
    tied.bands.assign(scope.size(), 0.0f);
    tied.channelBands.resize(scope.size());
    tied.scope = scope;
    for (std::size_t i = 0; i < scope.size(); ++i) {
        if (!scope[i])
            continue;
        const auto &channels = i < channelThresholds.size() ? channelThresholds[i] : std::vector<float>{};
        const bool anyChannel = std::any_of(channels.begin(), channels.end(), [](float t) { return t > 0.0f; });
        const float t = i < thresholds.size() ? thresholds[i] : 0.0f;
        if (anyChannel) {
            for (float c : channels)
                tied.channelBands[i].push_back(float(factor) * c); // a channel at 0 gets the empty band (0, 0]
        } else if (channels.empty() && t > 0.0f) {
            tied.bands[i] = float(factor) * t;
        } else {
            tied.scope[i] = false;
        }
    }
    return tied;
}

PenaltyInspection inspectPenalty(Model &model, const Recipe &recipe, const std::vector<float> &bands, const Batch &batch,
                                 const std::vector<std::vector<float>> &channelBands)
{
    initTorchThreads();
    auto &d = model.impl();
    auto &state = *d.state;
    std::lock_guard<std::mutex> lock(d.runMutex);
    torch::AutoGradMode grad(true);
    state.regularize = true;
    state.inScope = scopeMask(recipe, model);
    state.band = bands;
    state.channelBand = channelBands;
    state.hoyer = recipe.penalty == Recipe::Penalty::HoyerSquare;
    state.penaltyWeight = penaltyWeights(recipe, model);
    state.retainOutputs = true;
    state.penaltyTerms.clear();
    state.retainedOutputs.clear();
    // The input requires grad so that probes see a differentiable graph; the weights stay untouched.
    auto input = torch::from_blob(const_cast<float *>(batch.data.data()), {batch.n, batch.c, batch.h, batch.w}, torch::kFloat32)
                     .clone()
                     .set_requires_grad(true);
    PenaltyInspection result;
    result.outputs.resize(d.sites.size());
    result.gradients.resize(d.sites.size());
    try {
        d.forward(input);
        if (!state.penaltyTerms.empty()) {
            auto penalty = torch::stack(state.penaltyTerms).sum() * recipe.lambda;
            result.penalty = penalty.item<double>();
            penalty.backward();
        }
        for (auto &[site, y] : state.retainedOutputs) {
            auto out = y.detach()[0].contiguous();
            auto g = y.grad().defined() ? y.grad()[0].contiguous() : torch::zeros_like(out); // out of scope: no term
            result.outputs[std::size_t(site)].assign(out.data_ptr<float>(), out.data_ptr<float>() + out.numel());
            result.gradients[std::size_t(site)].assign(g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
        }
    } catch (...) {
        state.retainOutputs = false;
        state.regularize = false;
        state.retainedOutputs.clear();
        throw;
    }
    state.retainOutputs = false;
    state.regularize = false;
    state.retainedOutputs.clear();
    state.penaltyTerms.clear();
    return result;
}

TrainingResult train(Model &model, const Recipe &recipe, const TrainingData &data, const std::string &checkpointDir,
                     bool resume, const std::atomic<bool> *cancel, const TrainingCallbacks &callbacks)
{
    initTorchThreads();
    if (!data.train || !data.validation)
        throw Error("training needs a training split and a validation split");
    if (!data.train->labelled())
        throw Error(data.train->path() + ": the training data has no labels; fine-tuning needs labelled images");
    if (recipe.learnThresholds && recipe.rampEpochs > 0.0)
        throw Error("the recipe learns its thresholds (finetune.learn_thresholds) and ramps them (finetune.ramp_epochs); "
                    "choose one: the ramp sets the thresholds the learning would move");
    const auto started = std::chrono::steady_clock::now();
    auto &d = model.impl();
    auto &state = *d.state;
    const std::size_t siteCount = d.sites.size();
    auto say = [&](const std::string &m) {
        if (callbacks.message)
            callbacks.message(m);
    };
    // In a group of processes rank 0 decides (bands, thresholds), writes checkpoints and the teacher; every rank trains
    // on its part of each global batch and the gradients are averaged (docs/distributed.md).
    ProcessGroup *group = data.group && data.group->size() > 1 ? data.group : nullptr;
    const bool leader = !group || group->leader();
    const int ranks = group ? group->size() : 1;
    if (group)
        detail::checkDistributable(recipe, *group);
    if (leader && !QDir().mkpath(QString::fromStdString(checkpointDir)))
        throw Error(checkpointDir + ": cannot create the checkpoint folder");
    const std::string checkpointPath = checkpointDir + "/" + kCheckpointName;

    // Calibration images come from `data.calibration` or else the end of the training split, training images from
    // the rest, so the threshold search sees images the training did not.
    const std::size_t trainSize = data.train->size();
    const std::size_t calibration = data.calibration ? std::min(recipe.calibrationImages, data.calibration->size())
                                                     : std::min(recipe.calibrationImages, trainSize / 2);
    const std::size_t trainPool = data.calibration ? trainSize : trainSize - calibration;
    const std::size_t trainCount = recipe.trainImages ? std::min(recipe.trainImages, trainPool) : trainPool;
    const auto calibrationBatches =
        !leader ? std::vector<Batch>{}
        : data.calibration ? loadBatches(*data.calibration, data.preprocessing, rangeIndices(0, calibration), 128)
                         : loadBatches(*data.train, data.preprocessing, rangeIndices(trainSize - calibration, trainSize), 128);
    const Preprocessing trainPreprocessing = trainingPreprocessing(recipe, data.preprocessing);
    const auto validationIndices = firstN(*data.validation, recipe.validationImages ? recipe.validationImages : data.validation->size());

    const std::vector<bool> scope = scopeMask(recipe, model);
    const std::vector<bool> sparsifiable = sparsifiableMask(d.sites);

    TrainingResult result;
    Checkpoint progress;
    progress.thresholds = model.thresholds();
    progress.channelThresholds = model.channelThresholds();
    bool resuming = resume && QFile::exists(QString::fromStdString(checkpointPath));
    if (group)
        resuming = group->broadcast(resuming ? "1" : "0", "deciding whether to resume") == "1";
    if (resuming && !QFile::exists(QString::fromStdString(checkpointPath)))
        throw Error(group->label() + ": " + checkpointPath + ": rank 0 resumes from this checkpoint but this rank cannot "
                    "read it; every rank needs the checkpoint folder (a shared file system)");
    if (resuming) {
        auto channels = model.channelThresholds();
        progress = loadCheckpoint(checkpointPath, d, siteCount);
        if (!progress.hasChannelThresholds)
            progress.channelThresholds = channels;
        model.setThresholds(progress.thresholds, progress.channelThresholds);
        say("resumed after epoch " + std::to_string(progress.epochsDone) + " from " + checkpointPath);
    } else if (leader) {
        CaptureOptions options;
        options.keepPredictions = false;
        const auto stats = capture(model, calibrationBatches, options, cancel);
        progress.bands = bandsFor(recipe, model, stats);
        if (recipe.bandMode == Recipe::BandMode::Quantile && recipe.bandPerChannel) {
            progress.channelBands = channelQuantiles(model, calibrationBatches, recipe.band, cancel);
            for (std::size_t i = 0; i < siteCount; ++i)
                if (!scope[i])
                    progress.channelBands[i].clear();
        }
        // Constant responses are cut before training too, so the epochs before the thresholds adapt to their
        // absence (the cut after the thresholds then finds the constants of the trained model).
        if (recipe.constantShare > 0.0 && recipe.constantsFirst && setsThresholds(recipe)) {
            const int cut = cutConstantResponses(model, calibrationBatches, recipe.constantShare, cancel);
            progress.channelThresholds = model.channelThresholds();
            say("cut the constant responses of " + std::to_string(cut) + " channels before training");
        }
    }
    if (group) {
        detail::broadcastDecisions(*group, progress, "sending rank 0's bands and thresholds");
        if (!leader)
            model.setThresholds(progress.thresholds, progress.channelThresholds);
        detail::broadcastWeights(*group, d.module);
    }
    progress.channelBands.resize(siteCount); // a checkpoint from before per-channel bands has none
    result.bands = progress.bands;
    result.channelBands = progress.channelBands;
    std::unique_ptr<torch::jit::Module> teacher;
    const std::string teacherPath = checkpointDir + "/" + kTeacherName;
    if (recipe.distillationWeight > 0.0)
        teacher = makeTeacher(d, teacherPath, resuming && progress.epochsDone > 0, leader);
    else if (leader && !(resuming && progress.epochsDone > 0))
        QFile::remove(QString::fromStdString(teacherPath)); // an earlier run's teacher must not outlive it
    const double temperature = recipe.distillationTemperature;

    const int regEpochs = recipe.regularizeEpochs;
    // Regularize, then `rounds` times: thresholds, fine-tune. A round's thresholds start from the previous
    // round's, so sparsity grows while the fine-tuning recovers the accuracy in between.
    std::vector<Phase> phases{{"regularize", 0, regEpochs, recipe.regularizeOptimizer, recipe.lambda > 0.0, false, recipe.lambda}};
    const double finetuneLambda = recipe.finetuneLambdaOrDefault();
    for (int round = 0; round < std::max(1, recipe.rounds); ++round)
        phases.push_back({"finetune", regEpochs + round * recipe.finetuneEpochs, recipe.finetuneEpochs, recipe.finetuneOptimizer,
                          finetuneLambda > 0.0 && recipe.penalizeWhileFinetuning, true, finetuneLambda});
    const int totalEpochs = phases.back().firstEpoch + phases.back().epochs;

    std::vector<at::Tensor> params;
    for (const auto &p : d.module.parameters(true))
        params.push_back(p);
    // The group's hooks must not outlive this call, whatever ends it (a failed collective throws).
    struct GroupHooksReset {
        detail::ProbeState &state;
        ~GroupHooksReset()
        {
            state.hoyerAsParts = false;
            state.trainingBatchNorm = nullptr;
            state.learnedThresholds.clear(); // a failed step must not leave the next pass learning
        }
    } groupHooksReset{state};
    auto leaveTraining = [&] {
        torch::NoGradGuard noGrad;
        for (auto &p : params)
            p.set_requires_grad(false);
        d.module.eval();
        state.regularize = false;
        state.penaltyTerms.clear();
        state.hoyerAsParts = false;
        state.hoyerParts.clear();
        state.trainingBatchNorm = nullptr;
        state.learnedThresholds.clear();
        state.sparsityTerms.clear();
    };

    auto decideThresholds = [&] {
        if (!setsThresholds(recipe))
            return;
        std::vector<float> t = model.thresholds();
        if (recipe.thresholdMode == Recipe::ThresholdMode::Keep) {
            // the thresholds the model has
        } else if (recipe.thresholdMode == Recipe::ThresholdMode::Search) {
            SearchOptions search;
            search.budgetPp = recipe.budgetPp;
            search.perChannel = recipe.perChannelThresholds;
            search.strategy = recipe.searchStrategy;
            search.channelReference = recipe.channelReference;
            say("searching " + std::string(search.perChannel ? "per-channel " : "") + "thresholds" +
                (search.strategy == SearchOptions::Strategy::Greedy ? " (greedy)" : "") + " on " +
                std::to_string(calibration) + " calibration images, budget " + std::to_string(recipe.budgetPp) + " pp");
            result.search = searchThresholds(model, calibrationBatches, search, cancel, callbacks.search);
            t = result.search.thresholds;
        } else if (recipe.thresholdMode == Recipe::ThresholdMode::Quantile) {
            CaptureOptions options;
            options.keepPredictions = false;
            t = quantileThresholds(model, capture(model, calibrationBatches, options, cancel), recipe.targetSparsity);
        } else {
            t = globalThresholds(model, float(recipe.globalThreshold));
        }
        if (recipe.thresholdMode == Recipe::ThresholdMode::Quantile || recipe.thresholdMode == Recipe::ThresholdMode::Global)
            for (const auto &site : model.sites()) // one value per site now: per-channel ones would override it
                model.setChannelThresholds(site.index, {});
        model.setThresholds(t);
        if (recipe.constantShare > 0.0 && !(cancel && cancel->load())) {
            const int cut = cutConstantResponses(model, calibrationBatches, recipe.constantShare, cancel);
            say("cut the constant responses of " + std::to_string(cut) + " channels (at least " +
                std::to_string(int(std::lround(100.0 * recipe.constantShare))) + " % of their positions)");
        }
        progress.thresholds = model.thresholds();
        progress.channelThresholds = model.channelThresholds();
    };
    auto applyThresholdPhase = [&] {
        if (leader)
            decideThresholds();
        if (group) {
            detail::broadcastDecisions(*group, progress, "sending rank 0's thresholds");
            if (!leader)
                model.setThresholds(progress.thresholds, progress.channelThresholds);
        }
    };

    bool cancelled = false;
    for (const Phase &phase : phases) {
        if (cancelled)
            break;
        // A checkpoint with exactly the epochs before this round was written before the round's thresholds.
        if (phase.thresholdsFirst && progress.epochsDone == phase.firstEpoch) {
            applyThresholdPhase();
            if (cancel && cancel->load()) {
                cancelled = true;
                break;
            }
        }
        if (progress.epochsDone >= phase.firstEpoch + phase.epochs)
            continue;
        auto optimizer = makeOptimizer(phase.optimizer, params);
        const bool learning = phase.thresholdsFirst && recipe.learnThresholds && setsThresholds(recipe);
        std::vector<at::Tensor> learned;
        std::vector<float> sparsityWeight; // the pressure's weight of each learning site (finetune.sparsity_weighting)
        const double thresholdScale =
            phase.optimizer.learningRate > 0.0 ? recipe.thresholdLearningRate / phase.optimizer.learningRate : 0.0;
        if (learning) {
            learned = learnedThresholdParameters(d.sites, progress.thresholds, progress.channelThresholds);
            std::vector<bool> learners(learned.size());
            for (std::size_t i = 0; i < learned.size(); ++i)
                learners[i] = learned[i].defined();
            sparsityWeight = sizeWeights(model, learners, recipe.sparsityWeighting);
            addThresholdGroup(*optimizer, phase.optimizer, learned, recipe.thresholdLearningRate);
        }
        if (progress.epochsDone > phase.firstEpoch)
            loadOptimizerState(checkpointPath, *optimizer);
        state.regularize = phase.regularize;
        state.inScope = scope;
        state.band = progress.bands;
        state.channelBand = progress.channelBands;
        if (phase.thresholdsFirst && phase.regularize && recipe.finetuneBandFactor > 0.0) {
            // The round's own thresholds (a ramp reaches them), so a resumed run ties the same bands.
            auto tied = thresholdTiedBands(recipe.finetuneBandFactor, scope, progress.thresholds, progress.channelThresholds);
            state.inScope = tied.scope;
            state.band = tied.bands;
            state.channelBand = tied.channelBands;
            say("fine-tune band tied to the thresholds: (t, " + std::to_string(recipe.finetuneBandFactor) + " t] on " +
                std::to_string(std::count(tied.scope.begin(), tied.scope.end(), true)) + " sites");
        }
        state.hoyer = recipe.penalty == Recipe::Penalty::HoyerSquare;
        state.penaltyWeight = penaltyWeights(recipe, model);

        for (int epoch = std::max(progress.epochsDone, phase.firstEpoch); epoch < phase.firstEpoch + phase.epochs; ++epoch) {
            const auto epochStart = std::chrono::steady_clock::now();
            // The order of an epoch depends only on the seed and the epoch: a resumed run sees the same batches.
            // With train_images below the pool, each epoch takes another random subset of it.
            std::vector<std::size_t> order = rangeIndices(0, trainPool);
            std::mt19937_64 rng(recipe.seed * 1000003ull + std::uint64_t(epoch));
            std::shuffle(order.begin(), order.end(), rng);
            order.resize(trainCount);
            if (group) {
                // A last global batch with fewer images than ranks is left out (some rank would have none).
                if (trainCount % recipe.batchSize != 0 && trainCount % recipe.batchSize < std::size_t(ranks))
                    order.resize(trainCount - trainCount % recipe.batchSize);
                order = detail::rankOrder(order, recipe.batchSize, group->rank(), ranks);
            }
            BatchLoader::Options loaderOptions;
            loaderOptions.batchSize = recipe.batchSize / std::size_t(ranks);
            loaderOptions.augment = recipe.augment;
            loaderOptions.seed = recipe.seed * 7919ull + std::uint64_t(epoch);
            BatchLoader loader(*data.train, trainPreprocessing, order, loaderOptions);
            const int steps = int(loader.batchCount());

            d.module.train();
            state.regularize = phase.regularize; // leaveTraining() after the last epoch cleared these
            state.learnedThresholds = learned;
            state.sparsityWeight = sparsityWeight;
            state.hoyerAsParts = group && state.hoyer;
            // BatchNorm that learns statistics learns those of the global batch (frozen ones never reach the hook).
            if (group && !recipe.freezeBatchNorm)
                state.trainingBatchNorm = detail::synchronisedBatchNorm(*group);
            if (recipe.freezeBatchNorm)
                freezeBatchNorm(d.module);
            for (auto &p : params)
                p.set_requires_grad(true);
            torch::AutoGradMode grad(true);
            Batch batch;
            int step = 0;
            std::unique_lock<std::mutex> lock(d.runMutex);
            while (loader.next(batch)) {
                while (callbacks.pause && callbacks.pause->load() && !(cancel && cancel->load()))
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                // In a group every rank must make the same steps: a cancel is agreed on at the end of the step.
                const bool cancelHere = cancel && cancel->load();
                if (cancelHere && !group) {
                    cancelled = true;
                    break;
                }
                if (phase.thresholdsFirst && recipe.rampEpochs > 0.0)
                    rampThresholds(state, progress, (double(epoch - phase.firstEpoch) * steps + step + 1) / (recipe.rampEpochs * steps));
                const double rate = scheduledRate(phase.optimizer, epoch - phase.firstEpoch, step, steps, phase.epochs);
                setRate(*optimizer, rate, thresholdScale);
                state.penaltyTerms.clear();
                state.sparsityTerms.clear();
                state.hoyerParts.clear();
                std::fill(state.trainZeros.begin(), state.trainZeros.end(), 0);
                std::fill(state.trainElements.begin(), state.trainElements.end(), 0);
                if (callbacks.batch)
                    callbacks.batch(batch);
                auto input = torch::from_blob(batch.data.data(), {batch.n, batch.c, batch.h, batch.w}, torch::kFloat32);
                auto labels = torch::tensor(std::vector<std::int64_t>(batch.labels.begin(), batch.labels.end()));
                auto logits = d.forward(input);
                auto taskLoss = torch::cross_entropy_loss(logits, labels);
                auto loss = taskLoss;
                if (teacher) {
                    at::Tensor teacherLogits;
                    {
                        torch::NoGradGuard noGrad;
                        teacherLogits = d.selectOutput(teacher->forward({input}));
                    }
                    auto soft = torch::log_softmax(teacherLogits / temperature, 1);
                    auto student = torch::log_softmax(logits / temperature, 1);
                    auto kl = (soft.exp() * (soft - student)).sum(1).mean() * (temperature * temperature);
                    loss = (1.0 - recipe.distillationWeight) * taskLoss + recipe.distillationWeight * kl;
                }
                double penaltyValue = 0.0;
                if (!state.penaltyTerms.empty()) {
                    auto penalty = torch::stack(state.penaltyTerms).sum() * phase.lambda;
                    penaltyValue = penalty.item<double>();
                    loss = loss + penalty;
                }
                if (!state.sparsityTerms.empty()) {
                    auto pressure = torch::stack(state.sparsityTerms).sum() * recipe.sparsityWeight;
                    penaltyValue += pressure.item<double>();
                    loss = loss + pressure;
                }
                // This rank's share of the global batch: with it, per-image means averaged over the ranks are the
                // global batch's means, whatever the last batch's split.
                const double share = group ? double(batch.n) * double(ranks) /
                                                 double(detail::globalBatchImages(trainCount, recipe.batchSize, step))
                                           : 1.0;
                double hoyerValue = 0.0;
                if (group) {
                    loss = loss * share;
                    if (!state.hoyerParts.empty())
                        loss = loss + detail::globalHoyer(*group, state.hoyerParts, &hoyerValue) * phase.lambda;
                }
                optimizer->zero_grad();
                loss.backward();
                if (group)
                    detail::averageGradients(*group, params);
                optimizer->step();
                if (learning) {
                    torch::NoGradGuard noGrad;
                    for (std::size_t i = 0; i < learned.size(); ++i)
                        if (learned[i].defined())
                            state.thresholds[i] = learned[i].clamp_min_(0.0f).item<float>();
                }
                double zeros = 0, elements = 0;
                for (std::size_t i = 0; i < siteCount; ++i)
                    if (scope[i]) {
                        zeros += double(state.trainZeros[i]);
                        elements += double(state.trainElements[i]);
                    }
                double taskValue = taskLoss.item<double>();
                bool stop = false;
                if (group) {
                    std::vector<double> sums{taskValue * double(batch.n), penaltyValue * share / double(ranks), zeros,
                                             elements, cancelHere ? 1.0 : 0.0};
                    group->allreduceSum(sums, "summing the step's figures");
                    taskValue = sums[0] / double(detail::globalBatchImages(trainCount, recipe.batchSize, step));
                    penaltyValue = sums[1] + hoyerValue * phase.lambda;
                    zeros = sums[2];
                    elements = sums[3];
                    stop = sums[4] > 0.0;
                }
                if (callbacks.step)
                    callbacks.step({phase.name, epoch, step, steps, taskValue, penaltyValue, elements > 0 ? zeros / elements : 0.0, rate});
                ++step;
                if (stop) {
                    cancelled = true;
                    break;
                }
            }
            lock.unlock();
            leaveTraining();
            if (cancelled)
                break;

            progress.epochsDone = epoch + 1;
            if (learning)
                progress.thresholds = model.thresholds(); // the checkpoint resumes from the learned values
            if (leader) {
                saveCheckpoint(checkpointPath, d, *optimizer, progress);
                result.checkpoints.push_back(checkpointPath);
            }
            CaptureOptions options;
            options.keepPredictions = false;
            const auto val = captureSharded(group, model, *data.validation, data.preprocessing, validationIndices, options, cancel);
            result.validationTop1 = val.top1();
            result.validationSparsity = val.activationSparsity(sparsifiable);
            if (callbacks.epoch)
                callbacks.epoch({phase.name, epoch, totalEpochs, result.validationTop1, result.validationSparsity,
                                 std::chrono::duration<double>(std::chrono::steady_clock::now() - epochStart).count(),
                                 checkpointPath});
        }
        leaveTraining();
        if (phase.thresholdsFirst && recipe.rampEpochs > 0.0) {
            // Cancelled mid-ramp: the model keeps the round's thresholds, as its checkpoint does.
            model.setThresholds(progress.thresholds, progress.channelThresholds);
        }
    }
    result.cancelled = cancelled;
    result.epochsDone = progress.epochsDone;
    result.thresholds = model.thresholds();
    result.channelThresholds = model.channelThresholds();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

} // namespace sparsity
