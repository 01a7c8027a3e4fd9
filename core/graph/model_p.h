#pragma once
// Internal to core: the torch side of Model.

#include "graph/model.h"
#include "graph/probes_p.h"

#include <torch/script.h>

#include <mutex>
#include <unordered_set>

class QJsonObject;

namespace sparsity {

struct Model::Impl {
    std::string path;
    std::string bytes; // the archive as read, so fresh copies (export, plain reference) need no file access
    torch::jit::Module module;
    std::unique_ptr<torch::jit::Module> pristine; // uninstrumented copy, loaded on first use
    // The instrumented module before BatchNorms were folded into probes (sharing the weights), and the frozen,
    // inference-optimised copy made from it on first use (inferencecopy.cpp) with the weights' identities and
    // versions it was made from: an in-place change of a weight (tuned weights, training) makes it stale.
    std::unique_ptr<torch::jit::Module> unfolded;
    std::unique_ptr<torch::jit::Module> inference;
    std::vector<std::pair<const void *, std::int64_t>> inferenceWeights;
    std::string inferenceProblem; // why there is no inference copy (then evaluation runs on `module`)
    int inferenceBuilds = 0;
    std::shared_ptr<torch::jit::Graph> graph;
    ModelMetadata metadata;
    std::vector<Site> sites;
    std::vector<ComputeLayer> layers;
    std::vector<torch::jit::Node *> layerNodes; // conv/linear nodes, parallel to `layers`
    std::vector<torch::jit::Value *> siteOutputs; // probe outputs, parallel to `sites`
    int activationSiteCount = 0; // sites [0, n) are activations, the rest are input taps
    std::shared_ptr<detail::ProbeState> state;
    int probeId = 0;
    OutputSelection output;
    std::vector<std::int64_t> inputShape;
    std::string signature;
    std::mutex runMutex; // one forward pass at a time per model: the probes' state is not re-entrant

    ~Impl();
    at::Tensor selectOutput(const c10::IValue &value) const;
    // Runs the instrumented forward pass; converts torch errors into sparsity::Error with context.
    at::Tensor forward(const at::Tensor &input) { return forward(module, input); }
    at::Tensor forward(torch::jit::Module &instrumented, const at::Tensor &input);
    // The inference copy, made or remade when the weights changed; `module` itself when it cannot be made.
    // Call with runMutex held.
    torch::jit::Module &inferenceModule();
    // What an export starts from: the archive as read, in eval mode, with this model's current (possibly tuned)
    // weights. Throws when `outPath` is the input model file itself.
    torch::jit::Module tunedCopyFor(const std::string &outPath) const;
    // The caller's metadata JSON with "graph_names" {sites, layers} added: an exported graph is inlined, so a reload
    // could not rebuild module paths (both export formats keep the names this way).
    QJsonObject metadataWithGraphNames(const std::string &metadataJson) const;
};

namespace graph {

// An activation call site found in an inlined forward graph.
struct FoundSite {
    torch::jit::Node *node = nullptr;
    ActivationKind kind = ActivationKind::Relu;
    bool sparsifiable = true;
    std::string denseReason;
    std::string name;
    bool inControlFlow = false;
    bool inPlace = false;
    // An exported tuned model has `aten::threshold(act, t, 0)` right after the activation: that pair is one
    // site whose output is the threshold's; t is reported as the baked-in threshold.
    torch::jit::Node *outputNode = nullptr;
    double bakedThreshold = 0.0;
};

// Inlines the module's forward and turns in-place activations whose input has no other use into their
// functional form (safe: nothing else can observe the mutation). Returns the forward graph; the new functional
// nodes go to `madeFunctional` when given (their input may still be overwritten: the model itself did).
std::shared_ptr<torch::jit::Graph> prepareForwardGraph(torch::jit::Module &module,
                                                       std::unordered_set<const torch::jit::Node *> *madeFunctional = nullptr);

// Activation call sites in graph order (nested blocks included), named by module path.
std::vector<FoundSite> findActivationSites(torch::jit::Graph &graph);

// Module path of a node from its inlined call stack, e.g. "layer1.relu".
std::string modulePath(const torch::jit::Node *node);

bool isComputeLayer(const torch::jit::Node *node);
// Static geometry of a conv/linear node (weights resolved through prim::GetAttr chains).
ConsumerLayer describeLayer(const torch::jit::Node *node, const torch::jit::Module &root);
LayerKind consumerKind(const torch::jit::Node *node);

// Fills input/output shapes and dense MACs from the per-image input shape.
void completeGeometry(ConsumerLayer &layer, const std::vector<std::int64_t> &inputShape);

std::string uniqueName(const std::string &base, std::vector<std::string> &taken);

} // namespace graph

} // namespace sparsity
