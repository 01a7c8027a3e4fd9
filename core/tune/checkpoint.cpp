#include "tune/checkpoint_p.h"

#include "error.h"
#include "graph/weights_p.h"
#include "graph/quarantine.h"
#include "io/boundedread.h"
#include "io/ziparchive.h"
#include "io/outputpaths.h"

#include <sstream>

namespace sparsity::detail {

namespace {

// Per-channel values in a checkpoint (`name`: "threshold" or "band"): all sites' values in one tensor, and each
// site's count (0 = none).
void writeChannelValues(torch::serialize::OutputArchive &archive, const std::string &name, const std::vector<std::vector<float>> &channels)
{
    std::vector<float> values;
    std::vector<std::int64_t> counts;
    for (const auto &c : channels) {
        counts.push_back(std::int64_t(c.size()));
        values.insert(values.end(), c.begin(), c.end());
    }
    archive.write("channel_" + name + "_counts", torch::tensor(counts));
    archive.write("channel_" + name + "s", torch::tensor(values));
}

// Checkpoints written before per-channel values existed have neither entry (returns false): for thresholds the
// model's own per-channel thresholds (if any) stay as they are; for bands the sites' bands apply.
bool readChannelValues(torch::serialize::InputArchive &archive, const std::string &name, const std::vector<Site> &sites,
                       const std::string &path, std::vector<std::vector<float>> &out)
{
    at::Tensor counts, values;
    if (!archive.try_read("channel_" + name + "_counts", counts) || !archive.try_read("channel_" + name + "s", values))
        return false;
    counts = counts.to(torch::kInt64).contiguous();
    values = values.to(torch::kFloat32).contiguous();
    const auto mismatch = [&] {
        return Error(path + ": the checkpoint's per-channel " + name + "s do not match the model's " +
                     std::to_string(sites.size()) + " sites and their channels; it belongs to another model");
    };
    if (std::size_t(counts.numel()) != sites.size())
        throw mismatch();
    const auto *count = counts.data_ptr<std::int64_t>();
    std::int64_t total = 0;
    for (std::size_t i = 0; i < sites.size(); ++i) {
        const std::int64_t channels = sites[i].shape.empty() ? -1 : sites[i].shape[0];
        if (count[i] != 0 && count[i] != channels)
            throw mismatch();
        total += count[i];
    }
    if (total != values.numel())
        throw mismatch();
    out.assign(sites.size(), {});
    const float *v = values.data_ptr<float>();
    for (std::size_t i = 0; i < sites.size(); ++i) {
        out[i].assign(v, v + count[i]);
        v += count[i];
    }
    return true;
}

} // namespace

void saveCheckpoint(const std::string &path, Model::Impl &d, torch::optim::Optimizer &optimizer, const Checkpoint &c)
{
    torch::serialize::OutputArchive archive;
    writeModuleTensors(archive, d.module);
    archive.write("epochs_done", torch::tensor(std::int64_t(c.epochsDone)));
    archive.write("thresholds", torch::tensor(c.thresholds));
    archive.write("bands", torch::tensor(c.bands));
    writeChannelValues(archive, "threshold", c.channelThresholds);
    writeChannelValues(archive, "band", c.channelBands);
    torch::serialize::OutputArchive optimizerArchive;
    optimizer.save(optimizerArchive);
    archive.write("optimizer", optimizerArchive);
    std::ostringstream bytes;
    archive.save_to(bytes);
    writeFileAtomically(path, bytes.str()); // a unique temporary, not a fixed name a symlink could sit on
}

Checkpoint loadCheckpoint(const std::string &path, Model::Impl &d, std::size_t sites)
{
    Checkpoint c;
    try {
        torch::serialize::InputArchive archive;
        const std::string bytes = readBoundedText(path, limits::kWeightsFileBytes, "checkpoint");
        checkTorchArchive(bytes, path, "training checkpoint");
        if (modelQuarantine())
            checkModelOnce(path, bytes, QuarantinedFile::TensorArchive);
        std::istringstream in(bytes);
        archive.load_from(in);
        at::Tensor epochs, thresholds, bands;
        archive.read("epochs_done", epochs);
        archive.read("thresholds", thresholds);
        archive.read("bands", bands);
        // A checkpoint is a file like any other: check dtype and shape before reading raw data.
        const auto floats = [&](const at::Tensor &t, const char *key) {
            if (!t.defined() || t.scalar_type() != at::kFloat || t.dim() != 1)
                throw Error(path + ": the checkpoint's \"" + key + "\" is not a one-dimensional float tensor");
            const at::Tensor dense = t.contiguous();
            return std::vector<float>(dense.data_ptr<float>(), dense.data_ptr<float>() + dense.numel());
        };
        if (!epochs.defined() || epochs.scalar_type() != at::kLong || epochs.numel() != 1 ||
            epochs.item<std::int64_t>() < 0 || epochs.item<std::int64_t>() > 1000000)
            throw Error(path + ": the checkpoint's \"epochs_done\" is not an epoch count from 0 to 1000000");
        c.epochsDone = int(epochs.item<std::int64_t>());
        c.thresholds = floats(thresholds, "thresholds");
        c.bands = floats(bands, "bands");
        if (c.thresholds.size() != sites || c.bands.size() != sites)
            throw Error(path + ": the checkpoint has " + std::to_string(c.thresholds.size()) + " sites, the model " +
                        std::to_string(sites) + "; it belongs to another model");
        c.hasChannelThresholds = readChannelValues(archive, "threshold", d.sites, path, c.channelThresholds);
        readChannelValues(archive, "band", d.sites, path, c.channelBands);
        // Last: a checkpoint of another model is refused before any weight is replaced.
        readModuleTensors(archive, d.module, path, "a training run of another model");
    } catch (const c10::Error &e) {
        throw Error(path + ": cannot resume from this checkpoint (" + std::string(e.what_without_backtrace()).substr(0, 200) +
                    "); it may belong to another model");
    }
    return c;
}

void loadOptimizerState(const std::string &path, torch::optim::Optimizer &optimizer)
{
    torch::serialize::InputArchive archive, optimizerArchive;
    archive.load_from(path);
    archive.read("optimizer", optimizerArchive);
    optimizer.load(optimizerArchive);
}

} // namespace sparsity::detail
