#pragma once
// Pieces of the held-out STAR protocol (docs/star.md, "The protocol"): the validation split carved out of the
// training set, a resumable cache of finished runs, and fronts (mean +- std over seeds, interpolated at equal loss).

#include "data/dataset.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sparsity {

// `validationCount` images of a training set of `size`, drawn with `seed` (ascending), and every other image
// (ascending). Disjoint, together all of [0, size). Throws sparsity::Error when validationCount >= size.
struct HeldOutSplit {
    std::vector<std::size_t> train, validation;
};
HeldOutSplit heldOutSplit(std::size_t size, std::size_t validationCount, std::uint64_t seed);

// The validation split's two uses: its first `calibration` images calibrate (threshold search, band quantiles) and
// the `check` images from `checkFrom` on are the per-epoch check that choosing a recipe reads. With checkFrom at or
// after `calibration` the check never scores thresholds that were fitted to its own images. Throws sparsity::Error
// when the split is too small for either.
struct ValidationUses {
    std::vector<std::size_t> calibration, check;
};
ValidationUses validationUses(const std::vector<std::size_t> &validation, std::size_t calibration, std::size_t checkFrom,
                              std::size_t check);

// A dataset that shows some images of `base` (which must outlive it), in the order of `indices`.
std::unique_ptr<Dataset> subsetOf(const Dataset &base, std::vector<std::size_t> indices, const std::string &name);

// One finished run of the protocol: a method at one operating point with one seed on one model.
struct RunRecord {
    std::string model, method, point;
    std::uint64_t seed = 0;
    std::string settings; // what produced it (the recipe JSON and the data); a cached run is reused only when equal
    double validationTop1 = 0.0, validationSparsity = 0.0; // on the validation split (what a choice may look at)
    double top1 = 0.0, activationSparsity = 0.0, nonzerosPerImage = 0.0; // on the test images (report only)
    double latencySeconds = 0.0, fps = 0.0, energyPerFrameJ = 0.0;     // processor model, from the test workload
    double seconds = 0.0; // wall time of this run (training, search and evaluation)
};

// Finished runs as one JSON file each under `folder` (created when needed), written atomically.
class RunCache {
public:
    explicit RunCache(std::string folder);
    std::string pathFor(const std::string &model, const std::string &method, const std::string &point, std::uint64_t seed) const;
    // The cached record when there is one made with the same `settings`. A file that cannot be read throws
    // sparsity::Error naming it; one made with other settings gives false (and is replaced by the next store).
    bool find(const std::string &model, const std::string &method, const std::string &point, std::uint64_t seed,
              const std::string &settings, RunRecord &out) const;
    void store(const RunRecord &record) const;
    // find(), else `run()` then store(); `skipped` says which happened.
    RunRecord getOrRun(const std::string &model, const std::string &method, const std::string &point, std::uint64_t seed,
                       const std::string &settings, const std::function<RunRecord()> &run, bool *skipped = nullptr) const;

private:
    std::string folder_;
};

// One operating point of a method over its seeds, against the ReLU baseline run with the same seed.
struct FrontPoint {
    std::string point;
    int seeds = 0;
    double deltaTop1Mean = 0.0, deltaTop1Std = 0.0; // pp, test top-1 minus the ReLU baseline's
    double removedMean = 0.0, removedStd = 0.0;     // 1 - nonzeros / the ReLU baseline's nonzeros
    double latencySeconds = 0.0, fps = 0.0, energyPerFrameJ = 0.0; // means
};

// Groups `runs` of one method by point (in first-seen order) and pairs each with `baselines` of the same seed;
// runs whose seed has no baseline are left out.
std::vector<FrontPoint> frontOf(const std::vector<RunRecord> &runs, const std::vector<RunRecord> &baselines);

// A front read at equal top-1 loss `lossPp` (> 0): among the points that are not dominated (no other point loses
// less and removes more), linear interpolation between the two whose mean losses bracket lossPp; the last point
// when every point loses less; `valid` false when every point loses more.
struct EqualLoss {
    bool valid = false;
    double removed = 0.0, latencySeconds = 0.0, fps = 0.0, energyPerFrameJ = 0.0;
};
EqualLoss atEqualLoss(const std::vector<FrontPoint> &front, double lossPp);

} // namespace sparsity
