#include "graph/cutpoints_p.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <unordered_set>

namespace sparsity::graph {

using torch::jit::Node;
using torch::jit::Value;

int probeSite(const Node *node)
{
    static const auto ns = c10::Symbol::fromQualString("namespaces::sparsity");
    if (node->kind().ns() != ns || node->inputs().empty())
        return -1;
    const auto site = torch::jit::toIValue(node->inputs().back());
    return site && site->isInt() ? int(site->toInt()) : -1;
}

namespace {

void collect(const Node *node, std::unordered_set<const Node *> &into)
{
    into.insert(node);
    for (const auto *block : node->blocks())
        for (const Node *inner : block->nodes())
            collect(inner, into);
}

// Whether everything after `cut` (a top-level node) reads only values made after it, constants, block parameters
// inside that part, and the module (graph input 0).
bool isCut(const torch::jit::Graph &graph, const Node *cut)
{
    std::unordered_set<const Node *> after;
    for (const Node *n = cut->next(); n != graph.return_node(); n = n->next())
        collect(n, after);
    after.insert(graph.return_node());
    auto allowed = [&](const Value *v) {
        const Node *from = v->node();
        if (from == cut || after.count(from) || from->kind() == c10::prim::Constant)
            return true;
        if (from == graph.param_node())
            return v->offset() == 0;
        return from->kind() == c10::prim::Param && after.count(from->owningBlock()->owningNode()) != 0;
    };
    for (const Node *n : after)
        for (const Value *v : n->inputs())
            if (!allowed(v))
                return false;
    // Block returns read values too.
    for (const Node *n : after)
        for (const auto *block : n->blocks())
            for (const Value *v : block->outputs())
                if (!allowed(v))
                    return false;
    return true;
}

Node *topLevelProbe(torch::jit::Graph &graph, int site)
{
    for (Node *n : graph.nodes())
        if (probeSite(n) == site)
            return n;
    return nullptr;
}

} // namespace

std::vector<int> cutSites(torch::jit::Graph &graph)
{
    std::vector<int> sites;
    for (const Node *n : graph.nodes())
        if (const int site = probeSite(n); site >= 0 && isCut(graph, n))
            sites.push_back(site);
    return sites;
}

std::shared_ptr<torch::jit::Graph> tailGraph(torch::jit::Graph &graph, int site)
{
    auto tail = graph.copy();
    Node *cut = topLevelProbe(*tail, site);
    if (!cut || !isCut(*tail, cut) || tail->inputs().size() != 2)
        return nullptr;
    Value *input = tail->addInput("cut")->setType(c10::TensorType::get());
    cut->output()->replaceAllUsesWith(input);
    torch::jit::EliminateDeadCode(tail);
    if (tail->inputs()[1]->hasUses())
        return nullptr;
    tail->eraseInput(1);
    return tail;
}

} // namespace sparsity::graph
