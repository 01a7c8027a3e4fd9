#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparsity {

enum class ActivationKind {
    Relu,      // aten::relu / relu_
    Relu6,     // aten::relu6, aten::hardtanh(_) with min 0
    Threshold, // aten::threshold
    ClampMin,  // aten::clamp / clamp_min with min 0
    Dense      // cannot produce exact zeros (silu, gelu, sigmoid, leaky_relu, hardswish, ...)
};

const char *activationKindName(ActivationKind kind);

enum class LayerKind { Conv2d, Linear, Pool, Add, Cat, Other };

const char *layerKindName(LayerKind kind);

// One layer that reads a site's output: what the processor model needs to count event work.
struct ConsumerLayer {
    LayerKind kind = LayerKind::Other;
    std::string op;   // e.g. "aten::_convolution"
    std::string name; // module path of the consuming layer, e.g. "layer1.0.conv2"
    int kernelH = 1, kernelW = 1;
    int strideH = 1, strideW = 1;
    int padH = 0, padW = 0;
    int dilationH = 1, dilationW = 1;
    int groups = 1;
    std::int64_t inChannels = 0, outChannels = 0;
    std::vector<std::int64_t> inputShape;  // per image (C,H,W) or (F)
    std::vector<std::int64_t> outputShape; // per image
    std::int64_t denseMacs = 0;            // per image, every input nonzero
};

// One call site of an activation in the inlined forward graph.
struct Site {
    int index = 0;
    std::string name;       // module path from the inlined call stack, "#2" for the second call
    std::string op;         // the graph op, e.g. "aten::relu_"
    ActivationKind kind = ActivationKind::Relu;
    bool sparsifiable = true;
    std::string denseReason;              // why a dense site cannot produce zeros
    std::vector<std::int64_t> shape;      // per image, known after one forward pass
    std::int64_t elementsPerImage = 0;
    int depth = 0;                        // order of first execution in the forward pass
    bool inControlFlow = false;           // inside prim::If / prim::Loop
    double bakedThreshold = 0.0;          // a threshold already in the model (an exported tuned model)
    std::vector<ConsumerLayer> consumers;
};

// A convolution or linear layer of the network, in execution order. `inputSite` is the activation site whose
// output it reads directly, or -1 when it reads something else (the image, a residual sum without an
// activation, a pooled tensor): then its input density is not measured and is taken as dense.
struct ComputeLayer {
    ConsumerLayer geometry;
    int inputSite = -1;
};

// The thresholds of one evaluation, passed as a value (CaptureOptions::thresholds, Model::setThresholds): one scalar
// per site and, optionally, per-channel values that replace a site's scalar (an empty entry: the scalar applies;
// the list may be shorter than the sites). Floats from the GUI to the probe.
struct Thresholds {
    std::vector<float> scalar;
    std::vector<std::vector<float>> perChannel;
};

// The one rule for a site's scalar threshold: a dense site has none (0); elsewhere a value below 0 (or NaN) means 0,
// i.e. the activation alone, since every activation output is >= 0 and y = x <= t ? 0 : x.
float clampedThreshold(const Site &site, float threshold);
// Checks a set against the sites (one scalar per site, per-channel lists as long as the site's channels once its
// shape is known) and clamps the scalars; throws Error naming `owner` (the model file) and the site.
Thresholds checkedThresholds(const std::vector<Site> &sites, const Thresholds &values, const std::string &owner);
// Which sites count in activation totals (CaptureResult::activationSparsity, nonzerosPerImage): the sparsifiable ones.
std::vector<bool> sparsifiableMask(const std::vector<Site> &sites);

} // namespace sparsity
