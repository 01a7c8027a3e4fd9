#include "distributed/shardedcapture.h"

#include "capture/capturemerge.h"
#include "distributed/processgroup.h"
#include "graph/model.h"

#include <algorithm>

namespace sparsity {

std::vector<std::size_t> shardedIndices(const std::vector<std::size_t> &indices, std::size_t batchSize, int rank, int world)
{
    const std::size_t batch = std::max<std::size_t>(1, batchSize);
    const std::size_t batches = (indices.size() + batch - 1) / batch;
    const ShardRange part = shardOf(batches, rank, world);
    const std::size_t begin = std::min(indices.size(), part.begin * batch);
    const std::size_t end = std::min(indices.size(), part.end * batch);
    return {indices.begin() + std::ptrdiff_t(begin), indices.begin() + std::ptrdiff_t(end)};
}

CaptureResult captureSharded(ProcessGroup *group, Model &model, const Dataset &dataset, const Preprocessing &preprocessing,
                             const std::vector<std::size_t> &indices, const CaptureOptions &options,
                             const std::atomic<bool> *cancel, const CaptureCallback &progress)
{
    if (!group || group->size() == 1)
        return capture(model, dataset, preprocessing, indices, options, cancel, progress);
    const auto mine = shardedIndices(indices, options.batchSize, group->rank(), group->size());
    CaptureResult part;
    if (!mine.empty()) {
        part = capture(model, dataset, preprocessing, mine, options, cancel, progress);
    } else {
        part.labelled = dataset.labelled();
        part.sites.resize(model.sites().size());
    }
    const auto all = group->allgather(serializeCapture(part), "merging the sharded capture");
    std::vector<CaptureResult> parts;
    parts.reserve(all.size());
    for (const auto &bytes : all)
        parts.push_back(deserializeCapture(bytes));
    return mergeCaptures(parts);
}

} // namespace sparsity
