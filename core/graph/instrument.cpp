#include "graph/instrument_p.h"

#include <torch/csrc/jit/ir/constants.h>

#include <functional>
#include <optional>

namespace sparsity::detail {

using torch::jit::Node;
using torch::jit::Value;

namespace {

// A probe node of `kind` reading `input`, at the current insert point, with the type of `like`.
Node *insertProbeNode(torch::jit::Graph &g, c10::Symbol kind, Value *input, int modelId, int site, const Value *like)
{
    Value *model = g.insertConstant(int64_t(modelId));
    Value *index = g.insertConstant(int64_t(site));
    Node *p = g.create(kind, {input, model, index}, 1);
    p->output()->setType(like->type());
    g.insertNode(p);
    return p;
}

// The aten::batch_norm node that produces `v` when nothing else reads v and it sits in `block`; else nullptr.
Node *batchNormFeedingOnly(Value *v, const torch::jit::Block *block)
{
    Node *bn = v->node();
    return bn->kind() == c10::aten::batch_norm && bn->inputs().size() == 9 && bn->owningBlock() == block && v->uses().size() == 1
               ? bn
               : nullptr;
}

} // namespace

// Interned on first use, not during static initialisation (the symbol table may not exist yet).
const ProbeKinds &probeKinds()
{
    static const ProbeKinds kinds{c10::Symbol::fromQualString("sparsity::probe"),
                                  c10::Symbol::fromQualString("sparsity::probe_"),
                                  c10::Symbol::fromQualString("sparsity::probe_relu"),
                                  c10::Symbol::fromQualString("sparsity::probe_bn_relu"),
                                  c10::Symbol::fromQualString("sparsity::probe_bn_add_relu"),
                                  c10::Symbol::fromQualString("sparsity::batch_norm"),
                                  c10::Symbol::fromQualString("sparsity::probe_add_relu"),
                                  c10::Symbol::fromQualString("sparsity::probe_clamp")};
    return kinds;
}

Node *insertProbe(torch::jit::Graph &g, Value *value, int modelId, int site, bool inPlace)
{
    Node *producer = value->node();
    const bool isBlockInput = producer->kind() == c10::prim::Param;
    Node *after = isBlockInput ? nullptr : producer;
    torch::jit::WithInsertPoint guard(after ? after->next() : producer->owningBlock()->nodes().front());
    const auto &kinds = probeKinds();
    Node *p = insertProbeNode(g, inPlace ? kinds.probeInPlace : kinds.probe, value, modelId, site, value);
    if (after)
        p->copyMetadata(after);
    value->replaceAllUsesAfterNodeWith(p, p->output());
    return p;
}

Node *replaceReluByProbe(torch::jit::Graph &g, Node *relu, int modelId, int site)
{
    torch::jit::WithInsertPoint guard(relu);
    Node *p = insertProbeNode(g, probeKinds().probeRelu, relu->input(0), modelId, site, relu->output());
    p->copyMetadata(relu);
    relu->output()->replaceAllUsesWith(p->output());
    relu->destroy();
    return p;
}

bool isProbe(const Node *node)
{
    const auto &kinds = probeKinds();
    const auto kind = node->kind();
    return kind == kinds.probe || kind == kinds.probeInPlace || kind == kinds.probeRelu || kind == kinds.probeBatchNormRelu ||
           kind == kinds.probeBatchNormAddRelu || kind == kinds.probeAddRelu || kind == kinds.probeClamp;
}

bool isConvolution(c10::Symbol kind)
{
    return kind == c10::aten::conv2d || kind == c10::aten::_convolution || kind == c10::aten::convolution;
}

namespace {

// The aten::add that produces the input of `probe` in its block when nothing else reads the sum (for add_, nothing
// else reads the tensor it writes either); else nullptr.
Node *residualAddFeedingOnly(const Node *probe)
{
    Node *add = probe->input(0)->node();
    const bool functional = add->kind() == c10::aten::add;
    const bool inPlaceOnly = add->kind() == c10::aten::add_ && add->input(0)->uses().size() == 1;
    const bool isAdd = (functional || inPlaceOnly) && add->inputs().size() == 3 && add->owningBlock() == probe->owningBlock() &&
                       probe->input(0)->uses().size() == 1 && add->input(1)->type()->kind() == c10::TypeKind::TensorType;
    return isAdd ? add : nullptr;
}

// A convolution's output that nothing but one op reads: that op may write its result there. A new tensor per site
// costs page faults that an in-place op never pays.
bool freshConvolutionOutput(const Value *v)
{
    return v->uses().size() == 1 && isConvolution(v->node()->kind());
}

} // namespace

Node *foldBatchNormIntoProbe(Node *probe)
{
    if (probe->kind() != probeKinds().probeRelu)
        return nullptr;
    const auto *block = probe->owningBlock();
    Node *bn = batchNormFeedingOnly(probe->input(0), block);
    Node *add = nullptr;
    if (!bn) {
        add = residualAddFeedingOnly(probe);
        bn = add ? batchNormFeedingOnly(add->input(0), block) : nullptr;
        if (!bn)
            return nullptr;
    }
    auto &g = *probe->owningGraph();
    torch::jit::WithInsertPoint guard(probe);
    std::vector<Value *> inputs(bn->inputs().begin(), bn->inputs().end());
    if (add) {
        inputs.push_back(add->input(1));
        inputs.push_back(add->input(2));
    }
    inputs.push_back(probe->input(1));
    inputs.push_back(probe->input(2));
    Node *folded = g.insertNode(g.create(add ? probeKinds().probeBatchNormAddRelu : probeKinds().probeBatchNormRelu, inputs, 1));
    folded->output()->setType(probe->output()->type());
    folded->copyMetadata(probe);
    probe->output()->replaceAllUsesWith(folded->output());
    probe->destroy();
    if (add)
        add->destroy();
    bn->destroy();
    return folded;
}

int routeBatchNorms(torch::jit::Block *block, int modelId)
{
    int count = 0;
    std::vector<Node *> batchNorms;
    for (Node *n : block->nodes()) {
        for (auto *sub : n->blocks())
            count += routeBatchNorms(sub, modelId);
        if (n->kind() == c10::aten::batch_norm && n->inputs().size() == 9)
            batchNorms.push_back(n);
    }
    for (Node *bn : batchNorms) {
        auto &g = *bn->owningGraph();
        torch::jit::WithInsertPoint guard(bn);
        std::vector<Value *> inputs(bn->inputs().begin(), bn->inputs().end());
        inputs.push_back(g.insertConstant(int64_t(modelId)));
        Node *routed = g.insertNode(g.create(probeKinds().batchNorm, inputs, 1));
        routed->output()->setType(bn->output()->type());
        routed->copyMetadata(bn);
        bn->output()->replaceAllUsesWith(routed->output());
        bn->destroy();
        ++count;
    }
    return count;
}

namespace {

// What a fold puts in a probe's place: the folded probe's inputs before (model, site), and the node it absorbs.
struct ProbeFold {
    std::vector<Value *> inputs;
    Node *absorbed = nullptr;
};

// Every probe of `probeKind` in `block` and its sub-blocks that `plan` folds (called with the insert point at the
// probe) becomes one node of `foldedKind`; returns the count.
int foldIntoProbes(torch::jit::Block *block, c10::Symbol probeKind, c10::Symbol foldedKind,
                   const std::function<std::optional<ProbeFold>(Node *)> &plan)
{
    int count = 0;
    std::vector<Node *> probes;
    for (Node *n : block->nodes()) {
        for (auto *sub : n->blocks())
            count += foldIntoProbes(sub, probeKind, foldedKind, plan);
        if (n->kind() == probeKind)
            probes.push_back(n);
    }
    for (Node *probe : probes) {
        auto &g = *probe->owningGraph();
        torch::jit::WithInsertPoint guard(probe);
        auto fold = plan(probe);
        if (!fold)
            continue;
        fold->inputs.push_back(probe->input(1));
        fold->inputs.push_back(probe->input(2));
        Node *folded = g.insertNode(g.create(foldedKind, fold->inputs, 1));
        folded->output()->setType(probe->output()->type());
        folded->copyMetadata(probe);
        probe->output()->replaceAllUsesWith(folded->output());
        probe->destroy();
        fold->absorbed->destroy();
        ++count;
    }
    return count;
}

} // namespace

int foldResidualsIntoProbes(torch::jit::Block *block)
{
    return foldIntoProbes(block, probeKinds().probeRelu, probeKinds().probeAddRelu, [](Node *probe) -> std::optional<ProbeFold> {
        Node *add = residualAddFeedingOnly(probe);
        if (!add)
            return std::nullopt;
        const bool overwrite = add->kind() == c10::aten::add_ || freshConvolutionOutput(add->input(0));
        auto &g = *probe->owningGraph();
        return ProbeFold{{add->input(0), add->input(1), add->input(2), g.insertConstant(overwrite)}, add};
    });
}

int foldClampsIntoProbes(torch::jit::Block *block)
{
    return foldIntoProbes(block, probeKinds().probe, probeKinds().probeClamp, [](Node *probe) -> std::optional<ProbeFold> {
        Node *clamp = probe->input(0)->node();
        const bool inPlace = clamp->kind() == c10::aten::hardtanh_;
        if ((clamp->kind() != c10::aten::hardtanh && !inPlace) || clamp->inputs().size() != 3 ||
            clamp->owningBlock() != probe->owningBlock() || probe->input(0)->uses().size() != 1 ||
            (inPlace && clamp->input(0)->uses().size() != 1))
            return std::nullopt;
        const bool overwrite = inPlace || freshConvolutionOutput(clamp->input(0));
        auto &g = *probe->owningGraph();
        return ProbeFold{{clamp->input(0), clamp->input(1), clamp->input(2), g.insertConstant(overwrite)}, clamp};
    });
}

} // namespace sparsity::detail
