#include "graph/dataflow.h"

#include "graph/model_p.h"

#include <algorithm>
#include <set>
#include <unordered_map>

namespace sparsity {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;
using Kind = DataflowNode::Kind;

namespace {

bool isTensor(const Value *v) { return v->type()->kind() == c10::TypeKind::TensorType; }

class Builder {
public:
    explicit Builder(const Model::Impl &d) : d_(d)
    {
        for (std::size_t i = 0; i < d.layerNodes.size(); ++i)
            layerOf_[d.layerNodes[i]] = int(i);
    }

    DataflowGraph run()
    {
        auto &g = *d_.graph;
        // inputs()[0] is the module itself; the image batch follows.
        for (std::size_t i = 1; i < g.inputs().size(); ++i)
            sources_[g.inputs()[i]] = {add(Kind::Input, i == 1 ? "input" : "input " + std::to_string(i), "", nullptr)};
        walk(g.block());
        const int out = add(Kind::Output, "output", "", nullptr);
        for (const Value *v : g.outputs())
            link(sourcesOf(v), out);
        return std::move(graph_);
    }

private:
    std::vector<int> sourcesOf(const Value *v) const
    {
        const auto it = sources_.find(v);
        return it == sources_.end() ? std::vector<int>{} : it->second;
    }

    std::vector<int> unite(const std::vector<int> &a, const std::vector<int> &b) const
    {
        std::vector<int> out(a);
        for (int x : b)
            if (std::find(out.begin(), out.end(), x) == out.end())
                out.push_back(x);
        return out;
    }

    int add(Kind kind, std::string name, std::string op, const Node *node, int site = -1, int layer = -1)
    {
        // Names of nodes that are neither sites nor layers come from the module that ran the op.
        if (name.empty()) {
            const std::string path = node ? graph::modulePath(node) : std::string();
            std::string opName = node ? std::string(node->kind().toUnqualString()) : std::string("op");
            if (!opName.empty() && opName.back() == '_')
                opName.pop_back();
            name = path.empty() ? opName : path + "." + opName;
        }
        DataflowNode n;
        n.kind = kind;
        n.name = graph::uniqueName(name, taken_);
        n.op = std::move(op);
        n.site = site;
        n.layer = layer;
        graph_.nodes.push_back(std::move(n));
        return int(graph_.nodes.size()) - 1;
    }

    void link(const std::vector<int> &from, int to)
    {
        for (int f : from)
            if (f != to && edges_.insert({f, to}).second)
                graph_.edges.push_back({f, to});
    }

    // A new node fed by `from`; its output value gets it as its only source.
    void node(Kind kind, const Node *n, const std::vector<int> &from, std::string name = {}, int site = -1, int layer = -1)
    {
        const int id = add(kind, std::move(name), n->kind().toQualString(), n, site, layer);
        link(from, id);
        for (const Value *o : n->outputs())
            sources_[o] = {id};
    }

    void walk(const Block *block)
    {
        for (const Node *n : block->nodes())
            visit(n);
    }

    void visit(const Node *n)
    {
        const std::string ns = n->kind().ns().toUnqualString();
        const std::string op = n->kind().toUnqualString();
        if (ns == "sparsity" && op.rfind("probe", 0) == 0) {
            // Every probe kind ends with (model id, site). A probe that folded a residual add shows the add.
            const int site = int(torch::jit::toIValue(n->inputs().back())->toInt());
            std::vector<int> from = sourcesOf(n->input(0));
            if (op == "probe_bn_add_relu") {
                const int sum = add(Kind::Add, {}, "aten::add", n);
                graph_.nodes[std::size_t(sum)].name = graph::uniqueName(d_.sites[std::size_t(site)].name + ".add", taken_);
                link(unite(from, sourcesOf(n->input(9))), sum);
                from = {sum};
            }
            node(Kind::Site, n, from, d_.sites[std::size_t(site)].name, site);
            return;
        }
        if (const auto layer = layerOf_.find(n); layer != layerOf_.end()) {
            node(Kind::Layer, n, sourcesOf(n->input(0)), d_.layers[std::size_t(layer->second)].geometry.name, -1,
                 layer->second);
            return;
        }
        if (n->kind() == c10::prim::If) {
            for (const Block *b : n->blocks())
                walk(b);
            for (std::size_t i = 0; i < n->outputs().size(); ++i) {
                std::vector<int> from;
                for (const Block *b : n->blocks())
                    from = unite(from, sourcesOf(b->outputs()[i]));
                sources_[n->outputs()[i]] = from;
            }
            return;
        }
        if (n->kind() == c10::prim::Loop) {
            // Loop inputs: max trip count, condition, carried values; block inputs: iteration, carried values.
            const Block *b = n->blocks()[0];
            for (std::size_t i = 1; i < b->inputs().size() && i + 1 < n->inputs().size(); ++i)
                sources_[b->inputs()[i]] = sourcesOf(n->inputs()[i + 1]);
            walk(b);
            for (std::size_t i = 0; i < n->outputs().size(); ++i) {
                std::vector<int> from = i + 2 < n->inputs().size() ? sourcesOf(n->inputs()[i + 2]) : std::vector<int>{};
                if (i + 1 < b->outputs().size())
                    from = unite(from, sourcesOf(b->outputs()[i + 1]));
                sources_[n->outputs()[i]] = from;
            }
            return;
        }
        if (ns == "prim") { // lists, tuples, attributes, constants: values pass through unchanged
            std::vector<int> from;
            for (const Value *v : n->inputs())
                from = unite(from, sourcesOf(v));
            for (const Value *o : n->outputs())
                sources_[o] = from;
            return;
        }
        // aten and other ops: only tensor inputs (and lists of them, for cat) carry the data flow.
        std::vector<int> from;
        int joined = 0;
        for (const Value *v : n->inputs()) {
            const bool carries = isTensor(v) || v->node()->kind() == c10::prim::ListConstruct;
            if (!carries || sourcesOf(v).empty())
                continue;
            ++joined;
            from = unite(from, sourcesOf(v));
        }
        if (from.empty())
            return;
        if (op == "cat" || op == "stack" || op == "concat")
            node(Kind::Cat, n, from);
        else if ((op == "add" || op == "add_") && joined >= 2)
            node(Kind::Add, n, from);
        else if (op.find("pool") != std::string::npos)
            node(Kind::Pool, n, from);
        else if (joined >= 2 && from.size() >= 2)
            node(Kind::Join, n, from); // mul of an attention branch, sub, ...
        else
            for (const Value *o : n->outputs())
                if (isTensor(o) || o->type()->kind() == c10::TypeKind::ListType || o->type()->kind() == c10::TypeKind::TupleType)
                    sources_[o] = from;
    }

    const Model::Impl &d_;
    DataflowGraph graph_;
    std::unordered_map<const Node *, int> layerOf_;
    std::unordered_map<const Value *, std::vector<int>> sources_;
    std::set<std::pair<int, int>> edges_;
    std::vector<std::string> taken_;
};

} // namespace

int DataflowGraph::nodeOfSite(int site) const
{
    for (std::size_t i = 0; i < nodes.size(); ++i)
        if (nodes[i].kind == Kind::Site && nodes[i].site == site)
            return int(i);
    return -1;
}

const char *dataflowKindName(DataflowNode::Kind kind)
{
    switch (kind) {
    case Kind::Input: return "input";
    case Kind::Layer: return "layer";
    case Kind::Site: return "activation";
    case Kind::Add: return "add";
    case Kind::Pool: return "pool";
    case Kind::Cat: return "concat";
    case Kind::Join: return "join";
    case Kind::Output: return "output";
    }
    return "?";
}

DataflowGraph describeDataflow(const Model &model) { return Builder(model.impl()).run(); }

} // namespace sparsity
