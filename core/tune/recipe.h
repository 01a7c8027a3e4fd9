#pragma once

#include "tune/thresholdsearch.h"

#include <cstdint>
#include <string>
#include <vector>

class QJsonObject;

namespace sparsity {

class Model;

// One training phase's optimiser settings.
struct OptimizerSettings {
    enum class Kind { Sgd, Adam } kind = Kind::Adam;
    double learningRate = 1e-3;
    double momentum = 0.9;     // SGD
    double weightDecay = 0.0;
    enum class Schedule { Constant, Cosine, Step } schedule = Schedule::Cosine;
    int stepEpochs = 1;        // Step: multiply by stepGamma every stepEpochs
    double stepGamma = 0.1;
};

// How the fine-tuning runs: the STAR schedule (regularize -> thresholds -> fine-tune) and the baselines,
// all as one versioned JSON document ("sparsity-explorer/recipe", version 1) shared by the GUI and the CLI.
struct Recipe {
    // HoyerThreshold: Kurtz et al. 2020, Hoyer-square on every activation tensor, then FATReLU thresholds.
    enum class Method { Star, L1Only, ThresholdOnly, Relu, HoyerThreshold } method = Method::Star;

    // Regularisation scope: which sites take part.
    enum class ScopeMode { All, Sites, Depth } scopeMode = ScopeMode::All;
    std::vector<std::string> scopeSites; // ScopeMode::Sites, by site name
    int minDepth = 0, maxDepth = 1 << 30; // ScopeMode::Depth, by execution order among activation sites

    // The near-zero band (0, b]: b absolute or the quantile of the site's captured positive values.
    enum class BandMode { Absolute, Quantile } bandMode = BandMode::Quantile;
    double band = 0.5;
    // Quantile mode: the quantile of each channel's positive values instead of the site's, so a channel whose
    // typical value lies above the site's band (e.g. a constant response to an empty background) is penalised too.
    bool bandPerChannel = false;
    // L1: sum of |a| over the band (0, b] (band 0: every positive activation). HoyerSquare (Kurtz et al. 2020):
    // (sum |a|)^2 / sum a^2 over a site's whole output tensor, band ignored (docs/star.md).
    enum class Penalty { L1, HoyerSquare } penalty = Penalty::L1;
    double lambda = 2.0; // weight of the (element-count normalised) penalty
    // How the sites' terms are weighed. PerSite: each scoped site's term is its mean over its own elements, so a
    // 7x7 map weighs as much as a 28x28 one. PerActivation: every penalised activation counts the same (site s
    // weighs n * E_s / sum E over the n scoped sites, E = elements per image), which is what the processor counts:
    // events, most of them in the large early maps.
    enum class PenaltyWeighting { PerSite, PerActivation } penaltyWeighting = PenaltyWeighting::PerSite;

    int regularizeEpochs = 2;
    OptimizerSettings regularizeOptimizer;

    // Thresholds between the phases.
    enum class ThresholdMode { Search, Quantile, Global, Keep } thresholdMode = ThresholdMode::Search;
    double budgetPp = 0.5;       // Search: allowed top-1 loss on the calibration set
    double targetSparsity = 0.9; // Quantile
    double globalThreshold = 0.0; // Global
    // Search: per-channel thresholds t_c = s * r_c, one searched s per site (SearchOptions::perChannel).
    bool perChannelThresholds = false;
    ChannelReference channelReference = ChannelReference::MeanPositive;
    SearchOptions::Strategy searchStrategy = SearchOptions::Strategy::Bisection; // Search: bisection | greedy
    // After the thresholds (any mode, Keep too): a channel whose most frequent positive value holds at least this
    // share of its positions (a constant answer to an empty background) gets a threshold at that value. 0: off.
    double constantShare = 0.0;
    bool constantsFirst = false; // cut them before the first epoch as well

    int finetuneEpochs = 1;
    OptimizerSettings finetuneOptimizer;
    int rounds = 1;                      // thresholds + fine-tune, repeated; each round starts from the last
    bool penalizeWhileFinetuning = false; // keep the partial penalty on during the fine-tune rounds
    double finetuneLambda = -1.0;         // its weight there; < 0: the regularize phase's `lambda`
    double finetuneLambdaOrDefault() const { return finetuneLambda >= 0.0 ? finetuneLambda : lambda; }
    // > 1: while fine-tuning with the penalty on, each site's band is (t, c t] just above its own threshold t (per
    // channel with per-channel thresholds) instead of the regularize phase's band, so the penalty pushes the
    // activations the threshold barely keeps below it; a site without a threshold is not penalised. 0: off.
    double finetuneBandFactor = 0.0;
    // Thresholds learned with the weights while fine-tuning (straight-through; docs/star.md): each site's scalar
    // threshold becomes a parameter with its own learning rate (following the fine-tune's schedule), pulled down by
    // the task loss and up by `sparsityWeight` times the sum of the sites' nonzero fractions. Single process only.
    bool learnThresholds = false;
    double thresholdLearningRate = 1e-3;
    double sparsityWeight = 0.05;
    // How the pressure weighs the sites: PerSite sums their nonzero fractions; PerActivation weighs site s by
    // n * E_s / sum E over the n learning sites (E: elements per image), so it is n times the nonzero fraction of all
    // their activations together, what "activations removed" and the processor count.
    PenaltyWeighting sparsityWeighting = PenaltyWeighting::PerSite;
    // Each round's thresholds grow linearly from 0 to their value over this many fine-tune epochs (step by step),
    // so the network adapts while they rise (gradual, as in gradual pruning); 0: at once. At most `finetuneEpochs`.
    double rampEpochs = 0.0;

    std::size_t batchSize = 64;
    std::size_t trainImages = 0;       // 0 = the whole training split
    std::size_t calibrationImages = 1000; // band quantiles and threshold search, from the training split
    std::size_t validationImages = 500;   // per-epoch validation, from the evaluation split
    std::uint64_t seed = 1;
    // Training images only: random crop of the image padded by `cropPadding` zero pixels on each side, then a
    // horizontal flip with probability 1/2 (docs/star.md). Calibration and validation images are never augmented.
    bool augment = true;
    int cropPadding = 2;

    // Knowledge distillation from the model as it was when training started (a frozen copy): the task loss
    // becomes (1 - w) * cross-entropy + w * T^2 * KL(teacher_T || student_T). Keeps a small fine-tuning set
    // from pulling the model away from what it learnt on the full data. w = 0: off.
    double distillationWeight = 0.0;
    double distillationTemperature = 4.0;
    // Frozen: BatchNorm layers normalise with their running statistics during training and do not update
    // them (their affine weights still train), so a few epochs on a subset cannot shift them.
    bool freezeBatchNorm = false;

    static Recipe forMethod(Method method); // the defaults of docs/star.md for each method
    std::string toJson() const;
    // Throws sparsity::Error naming `origin` and the field on a bad document.
    static Recipe fromJson(const std::string &json, const std::string &origin);
    static Recipe load(const std::string &path);
    void save(const std::string &path) const; // atomic
};

const char *methodName(Recipe::Method method);
Recipe::Method methodFromName(const std::string &name); // throws sparsity::Error

// Which sites the recipe's scope selects (indices into model.sites(); only sparsifiable sites).
std::vector<bool> scopeMask(const Recipe &recipe, const Model &model);

// Each site's weight in the penalty under the recipe's weighting (0 out of scope; they average 1 over the
// scoped sites, so lambda means the same under both weightings). Needs the sites' shapes (one forward pass).
std::vector<float> penaltyWeights(const Recipe &recipe, const Model &model);
// The same rule for any set of sites (`mask`): 0 outside it; inside, 1 each (PerSite) or n * E_s / sum E over its n
// sites (PerActivation, E: elements per image). Serves the penalty and the learned thresholds' sparsity pressure.
std::vector<float> sizeWeights(const Model &model, const std::vector<bool> &mask, Recipe::PenaltyWeighting weighting);

} // namespace sparsity
