#include "graph/site.h"

#include "error.h"

namespace sparsity {

const char *activationKindName(ActivationKind kind)
{
    switch (kind) {
    case ActivationKind::Relu: return "ReLU";
    case ActivationKind::Relu6: return "ReLU6";
    case ActivationKind::Threshold: return "Threshold";
    case ActivationKind::ClampMin: return "Clamp";
    case ActivationKind::Dense: return "Dense";
    }
    return "?";
}

const char *layerKindName(LayerKind kind)
{
    switch (kind) {
    case LayerKind::Conv2d: return "conv2d";
    case LayerKind::Linear: return "linear";
    case LayerKind::Pool: return "pool";
    case LayerKind::Add: return "add";
    case LayerKind::Cat: return "cat";
    case LayerKind::Other: return "other";
    }
    return "?";
}

float clampedThreshold(const Site &site, float threshold)
{
    return site.sparsifiable && threshold > 0.0f ? threshold : 0.0f;
}

Thresholds checkedThresholds(const std::vector<Site> &sites, const Thresholds &values, const std::string &owner)
{
    if (values.scalar.size() != sites.size())
        throw Error("thresholds: " + std::to_string(values.scalar.size()) + " values given for " + std::to_string(sites.size()) +
                    " sites of " + owner);
    if (values.perChannel.size() > sites.size())
        throw Error("thresholds: per-channel values given for " + std::to_string(values.perChannel.size()) + " sites of " +
                    owner + ", which has " + std::to_string(sites.size()));
    Thresholds checked;
    checked.scalar.reserve(sites.size());
    for (std::size_t i = 0; i < sites.size(); ++i)
        checked.scalar.push_back(clampedThreshold(sites[i], values.scalar[i]));
    for (std::size_t i = 0; i < values.perChannel.size(); ++i) {
        const auto &channels = values.perChannel[i];
        const auto &shape = sites[i].shape;
        if (!channels.empty() && (shape.empty() || std::int64_t(channels.size()) != shape[0]))
            throw Error("threshold: " + std::to_string(channels.size()) + " per-channel values given for site " + sites[i].name +
                        " with " + (shape.empty() ? std::string("unknown") : std::to_string(shape[0])) + " channels (" + owner + ")");
    }
    checked.perChannel = values.perChannel;
    checked.perChannel.resize(sites.size());
    return checked;
}

std::vector<bool> sparsifiableMask(const std::vector<Site> &sites)
{
    std::vector<bool> mask;
    mask.reserve(sites.size());
    for (const Site &s : sites)
        mask.push_back(s.sparsifiable);
    return mask;
}

} // namespace sparsity
