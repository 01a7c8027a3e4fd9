// Graph surgery helpers: everything that reads TorchScript IR lives here (TorchScript is an internal,
// aging API upstream, so it is kept behind this one file and model.cpp).
#include "graph/model_p.h"

#include "error.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

namespace sparsity::graph {

using torch::jit::Node;
using torch::jit::Value;

namespace {

c10::optional<double> constantDouble(Value *v)
{
    auto iv = torch::jit::toIValue(v);
    if (!iv)
        return c10::nullopt;
    if (iv->isDouble())
        return iv->toDouble();
    if (iv->isInt())
        return double(iv->toInt());
    if (iv->isNone())
        return c10::nullopt;
    return c10::nullopt;
}

bool constantIsNone(Value *v)
{
    auto iv = torch::jit::toIValue(v);
    return iv && iv->isNone();
}

std::vector<std::int64_t> intList(Value *v)
{
    if (auto iv = torch::jit::toIValue(v)) {
        if (iv->isIntList())
            return iv->toIntVector();
        if (iv->isInt())
            return {iv->toInt()};
        return {};
    }
    if (v->node()->kind() == c10::prim::ListConstruct) {
        std::vector<std::int64_t> out;
        for (Value *in : v->node()->inputs()) {
            auto iv = torch::jit::toIValue(in);
            if (!iv || !iv->isInt())
                return {};
            out.push_back(iv->toInt());
        }
        return out;
    }
    return {};
}

// Resolves a value to its runtime object when it is a constant or a chain of prim::GetAttr from `self`.
c10::optional<c10::IValue> resolve(Value *v, const torch::jit::Module &root)
{
    if (auto iv = torch::jit::toIValue(v))
        return iv;
    Node *n = v->node();
    if (n->kind() == c10::prim::Param && v->offset() == 0)
        return root._ivalue();
    if (n->kind() == c10::prim::GetAttr) {
        auto owner = resolve(n->input(0), root);
        if (!owner || !owner->isObject())
            return c10::nullopt;
        auto object = owner->toObject();
        const auto &name = n->s(c10::attr::name);
        if (!object->type()->hasAttribute(name))
            return c10::nullopt;
        return object->getAttr(name);
    }
    return c10::nullopt;
}

std::string stripMangling(std::string name)
{
    // "__torch__.torchvision.models.resnet.___torch_mangle_3.ReLU" or "...ReLU_12" -> "ReLU"
    const auto dot = name.rfind('.');
    if (dot != std::string::npos)
        name = name.substr(dot + 1);
    static const std::regex suffix("_[0-9]+$");
    return std::regex_replace(name, suffix, "");
}

bool isActivationModuleClass(const std::string &className)
{
    static const char *const names[] = {"relu", "relu6", "hardtanh", "threshold", "silu", "swish", "gelu", "sigmoid",
                                        "hardswish", "hardsigmoid", "leakyrelu", "elu", "mish", "tanh", "softplus",
                                        "prelu", "selu", "celu", "fatrelu", "activation", "act"};
    std::string lower;
    for (char c : stripMangling(className))
        lower.push_back(char(std::tolower(static_cast<unsigned char>(c))));
    for (const char *n : names) {
        const std::string s(n);
        if (lower.size() >= s.size() && lower.compare(lower.size() - s.size(), s.size(), s) == 0)
            return true;
    }
    return false;
}

struct KindInfo {
    bool isActivation = false;
    ActivationKind kind = ActivationKind::Dense;
    bool sparsifiable = false;
    std::string reason;
};

KindInfo classify(Node *n)
{
    const std::string op = n->kind().toQualString();
    auto base = op;
    const bool inPlace = !base.empty() && base.back() == '_';
    if (inPlace)
        base.pop_back();
    KindInfo info;
    if (base == "aten::relu") {
        return {true, ActivationKind::Relu, true, {}};
    }
    if (base == "aten::relu6")
        return {true, ActivationKind::Relu6, true, {}};
    if (base == "aten::hardtanh") {
        auto lo = n->inputs().size() > 1 ? constantDouble(n->input(1)) : c10::optional<double>(-1.0);
        if (lo && *lo == 0.0)
            return {true, ActivationKind::Relu6, true, {}};
        return {true, ActivationKind::Dense, false, "hardtanh with a negative lower bound keeps negative values"};
    }
    if (base == "aten::threshold") {
        auto value = n->inputs().size() > 2 ? constantDouble(n->input(2)) : c10::nullopt;
        if (value && *value == 0.0)
            return {true, ActivationKind::Threshold, true, {}};
        return {true, ActivationKind::Dense, false, "threshold replaces small values by a nonzero constant"};
    }
    if (base == "aten::clamp" || base == "aten::clamp_min") {
        if (n->inputs().size() > 1 && !constantIsNone(n->input(1))) {
            auto lo = constantDouble(n->input(1));
            if (lo && *lo == 0.0)
                return {true, ActivationKind::ClampMin, true, {}};
        }
        return info; // a clamp that is not an activation
    }
    static const std::pair<const char *, const char *> dense[] = {
        {"aten::silu", "SiLU is nonzero for every nonzero input"},
        {"aten::gelu", "GELU is nonzero for every nonzero input"},
        {"aten::sigmoid", "sigmoid is never zero"},
        {"aten::tanh", "tanh is nonzero for every nonzero input"},
        {"aten::leaky_relu", "LeakyReLU keeps (scaled) negative values"},
        {"aten::elu", "ELU keeps negative values"},
        {"aten::selu", "SELU keeps negative values"},
        {"aten::celu", "CELU keeps negative values"},
        {"aten::prelu", "PReLU keeps (scaled) negative values"},
        {"aten::mish", "Mish is nonzero for every nonzero input"},
        {"aten::softplus", "softplus is never zero"},
        {"aten::hardswish", "hardswish is negative on (-3, 0); only inputs <= -3 give zeros"},
        {"aten::hardsigmoid", "hardsigmoid is positive above -3; zeros only for inputs <= -3"},
    };
    for (const auto &[name, reason] : dense)
        if (base == name)
            return {true, ActivationKind::Dense, false, reason};
    return info;
}

void collect(torch::jit::Block *block, bool nested, std::vector<FoundSite> &out)
{
    for (Node *n : block->nodes()) {
        const KindInfo info = classify(n);
        if (info.isActivation) {
            FoundSite s;
            s.node = n;
            s.kind = info.kind;
            s.sparsifiable = info.sparsifiable;
            s.denseReason = info.reason;
            s.inControlFlow = nested;
            const std::string op = n->kind().toQualString();
            s.inPlace = op.back() == '_';
            out.push_back(s);
        }
        for (torch::jit::Block *sub : n->blocks())
            collect(sub, true, out);
    }
}

std::string opBaseName(const Node *n)
{
    std::string op = n->kind().toUnqualString();
    if (!op.empty() && op.back() == '_')
        op.pop_back();
    return op;
}

std::string innermostClass(const Node *n)
{
    auto cs = n->callstack();
    if (!cs)
        return {};
    auto entries = (*cs)->vec();
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        const auto &info = std::get<2>(*it);
        if (info && info->class_type())
            return info->class_type()->name() ? info->class_type()->name()->qualifiedName() : std::string();
    }
    return {};
}

void collectNodes(torch::jit::Block *b, c10::Symbol kind, std::vector<Node *> &out)
{
    for (Node *n : b->nodes()) {
        if (n->kind() == kind)
            out.push_back(n);
        for (torch::jit::Block *sub : n->blocks())
            collectNodes(sub, kind, out);
    }
}

// The value of a module attribute that `v` reads through a chain of prim::GetAttr from the graph's `self` (its
// first input, after inlining), and the attribute's name; nullopt when `v` is not such a read.
c10::optional<c10::IValue> moduleAttribute(Value *v, const torch::jit::Module &module, std::string &name)
{
    std::vector<std::string> chain;
    Value *at = v;
    while (at->node()->kind() == c10::prim::GetAttr) {
        chain.push_back(at->node()->s(c10::attr::name));
        at = at->node()->input(0);
    }
    if (chain.empty() || at->node()->kind() != c10::prim::Param || at->offset() != 0)
        return c10::nullopt;
    c10::IValue object = module._ivalue();
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        if (!object.isObject() || !object.toObjectRef().type()->hasAttribute(*it))
            return c10::nullopt;
        object = object.toObjectRef().getAttr(*it);
    }
    name = chain.front();
    return object;
}

// A prim::If on a bool module attribute is a configuration (torchvision's `if self.use_res_connect:`): it never
// changes while the model runs, and a traced export has only the branch it took. Its condition becomes a constant
// so ConstantPropagation drops the other branch, and scripted and traced exports list the same sites under the
// same names (issue #18). `training` stays (train() and eval() switch it), as does any attribute the graph sets.
void foldConfigurationBranches(torch::jit::Graph &g, const torch::jit::Module &module)
{
    std::vector<Node *> setters, branches;
    collectNodes(g.block(), c10::prim::SetAttr, setters);
    collectNodes(g.block(), c10::prim::If, branches);
    std::set<std::string> assigned;
    for (Node *n : setters)
        assigned.insert(n->s(c10::attr::name));
    for (Node *n : branches) {
        std::string name;
        const auto value = moduleAttribute(n->input(0), module, name);
        if (!value || !value->isBool() || name == "training" || assigned.count(name))
            continue;
        torch::jit::WithInsertPoint guard(n);
        n->replaceInput(0, g.insertConstant(value->toBool()));
    }
}

} // namespace

std::shared_ptr<torch::jit::Graph> prepareForwardGraph(torch::jit::Module &module,
                                                       std::unordered_set<const torch::jit::Node *> *madeFunctional)
{
    auto &fn = torch::jit::toGraphFunction(module.get_method("forward").function());
    auto g = fn.graph();
    torch::jit::Inline(*g);
    foldConfigurationBranches(*g, module);
    // Folds `if inplace:` inside scripted torch.nn.functional helpers, which would otherwise leave a dead
    // second call site for every F.relu. Module attributes (prim::GetAttr) are not constants and stay.
    torch::jit::ConstantPropagation(g);
    // In-place activations whose input nothing else reads: the functional form is equivalent and lets a
    // probe produce a new tensor. The others keep their in-place form and get an in-place probe.
    std::vector<FoundSite> sites;
    collect(g->block(), false, sites);
    for (auto &s : sites) {
        if (!s.inPlace || s.node->input(0)->uses().size() != 1 || s.node->input(0)->node()->kind() == c10::prim::Param)
            continue;
        std::string functional = s.node->kind().toQualString();
        functional.pop_back();
        Node *replacement = g->create(c10::Symbol::fromQualString(functional), s.node->inputs(), 1);
        replacement->copyMetadata(s.node);
        replacement->insertBefore(s.node);
        replacement->output()->setType(s.node->output()->type());
        s.node->output()->replaceAllUsesWith(replacement->output());
        s.node->destroy();
        if (madeFunctional)
            madeFunctional->insert(replacement);
    }
    return g;
}

std::vector<FoundSite> findActivationSites(torch::jit::Graph &graph)
{
    std::vector<FoundSite> all;
    collect(graph.block(), false, all);
    std::vector<FoundSite> sites;
    for (auto &s : all) {
        s.outputNode = s.node;
        const bool followsActivation = !sites.empty() && s.kind == ActivationKind::Threshold &&
                                       s.node->input(0) == sites.back().outputNode->output() &&
                                       sites.back().outputNode->output()->uses().size() == 1 && sites.back().sparsifiable;
        if (followsActivation) {
            sites.back().outputNode = s.node;
            sites.back().inPlace = sites.back().inPlace || s.inPlace;
            sites.back().bakedThreshold = constantDouble(s.node->input(1)).value_or(0.0);
            continue;
        }
        sites.push_back(s);
    }
    std::vector<std::string> taken;
    for (auto &s : sites) {
        const std::string path = modulePath(s.node);
        std::string base;
        if (path.empty())
            base = opBaseName(s.node);
        else if (isActivationModuleClass(innermostClass(s.node)))
            base = path;
        else
            base = path + "." + opBaseName(s.node);
        s.name = uniqueName(base, taken);
    }
    return sites;
}

std::string uniqueName(const std::string &base, std::vector<std::string> &taken)
{
    std::string name = base;
    for (int k = 2; std::find(taken.begin(), taken.end(), name) != taken.end(); ++k)
        name = base + "#" + std::to_string(k);
    taken.push_back(name);
    return name;
}

std::string modulePath(const Node *node)
{
    auto cs = node->callstack();
    if (!cs)
        return {};
    std::string path;
    for (const auto &entry : (*cs)->vec()) {
        const auto &info = std::get<2>(entry);
        if (!info)
            continue;
        std::string name = info->instance_name();
        // Traced exports name instances "__module.layer1.0.relu"; scripted ones give the attribute name.
        static const std::string tracedPrefix = "__module.";
        if (name.rfind(tracedPrefix, 0) == 0) {
            path = name.substr(tracedPrefix.size());
            continue;
        }
        // Scripted modules that call a helper method of their own (nn.Conv2d._conv_forward) add "SELF".
        if (name.empty() || name == "self" || name == "SELF" || name == "__module")
            continue;
        path = path.empty() ? name : path + "." + name;
    }
    return path;
}

bool isComputeLayer(const Node *node)
{
    const auto k = node->kind();
    static const auto convolution = c10::Symbol::fromQualString("aten::_convolution");
    static const auto conv2d = c10::Symbol::fromQualString("aten::conv2d");
    static const auto linear = c10::Symbol::fromQualString("aten::linear");
    return k == convolution || k == conv2d || k == linear;
}

LayerKind consumerKind(const Node *node)
{
    if (isComputeLayer(node))
        return node->kind().toUnqualString() == std::string("linear") ? LayerKind::Linear : LayerKind::Conv2d;
    const std::string op = node->kind().toUnqualString();
    if (op.find("pool") != std::string::npos)
        return LayerKind::Pool;
    if (op == "add" || op == "add_")
        return LayerKind::Add;
    if (op == "cat" || op == "ListConstruct")
        return LayerKind::Cat;
    return LayerKind::Other;
}

ConsumerLayer describeLayer(const Node *node, const torch::jit::Module &root)
{
    ConsumerLayer layer;
    layer.kind = consumerKind(node);
    layer.op = node->kind().toQualString();
    layer.name = modulePath(node);
    if (layer.kind != LayerKind::Conv2d && layer.kind != LayerKind::Linear)
        return layer;
    auto *n = const_cast<Node *>(node);
    auto weight = resolve(n->input(1), root);
    if (!weight || !weight->isTensor())
        return layer;
    const auto w = weight->toTensor();
    if (layer.kind == LayerKind::Linear) {
        layer.inChannels = w.size(1);
        layer.outChannels = w.size(0);
        return layer;
    }
    if (w.dim() != 4) {
        layer.kind = LayerKind::Other; // conv1d / conv3d: not modelled
        return layer;
    }
    layer.outChannels = w.size(0);
    layer.kernelH = int(w.size(2));
    layer.kernelW = int(w.size(3));
    auto pair = [](const std::vector<std::int64_t> &v, int &a, int &b, int fallback) {
        a = v.empty() ? fallback : int(v[0]);
        b = v.size() > 1 ? int(v[1]) : a;
    };
    pair(intList(n->input(3)), layer.strideH, layer.strideW, 1);
    pair(intList(n->input(4)), layer.padH, layer.padW, 0);
    pair(intList(n->input(5)), layer.dilationH, layer.dilationW, 1);
    const bool isConvolution = layer.op == "aten::_convolution";
    auto groups = torch::jit::toIValue(n->input(isConvolution ? 8 : 6));
    layer.groups = groups && groups->isInt() ? int(groups->toInt()) : 1;
    layer.inChannels = w.size(1) * layer.groups;
    return layer;
}

void completeGeometry(ConsumerLayer &layer, const std::vector<std::int64_t> &inputShape)
{
    layer.inputShape = inputShape;
    if (layer.kind == LayerKind::Linear) {
        layer.outputShape = {layer.outChannels};
        layer.denseMacs = layer.inChannels * layer.outChannels;
        return;
    }
    if (layer.kind != LayerKind::Conv2d || inputShape.size() != 3)
        return;
    auto outSize = [](std::int64_t in, int k, int s, int p, int d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; };
    const std::int64_t oh = outSize(inputShape[1], layer.kernelH, layer.strideH, layer.padH, layer.dilationH);
    const std::int64_t ow = outSize(inputShape[2], layer.kernelW, layer.strideW, layer.padW, layer.dilationW);
    layer.outputShape = {layer.outChannels, oh, ow};
    layer.denseMacs = layer.outChannels * oh * ow * (layer.inChannels / std::max(1, layer.groups)) * layer.kernelH * layer.kernelW;
}

} // namespace sparsity::graph
