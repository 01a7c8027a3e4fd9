#include "graph/site.h"

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

} // namespace sparsity
