#pragma once

#include <string>
#include <vector>

namespace sparsity {

class Model;

// The model as a dataflow graph, for display: the network input, conv/linear layers, activation sites (and input
// taps), adds, pools, concats and any other op that joins two tensors, linked by the tensors that flow between
// them. Ops that reshape or normalise one tensor (BatchNorm, flatten, dropout, ...) are folded into the edge.
struct DataflowNode {
    enum class Kind { Input, Layer, Site, Add, Pool, Cat, Join, Output };
    Kind kind = Kind::Layer;
    std::string name; // unique in the graph: module path for layers and sites, else the op's module path + op
    std::string op;   // e.g. "aten::_convolution", "sparsity::probe_relu"
    int site = -1;    // Kind::Site: index into Model::sites()
    int layer = -1;   // Kind::Layer: index into Model::layers()
};

struct DataflowEdge {
    int from = 0, to = 0; // node indices; from a Site node, the edge carries that site's (sparse) output
};

struct DataflowGraph {
    std::vector<DataflowNode> nodes; // in graph order: every edge goes from a lower to a higher index
    std::vector<DataflowEdge> edges;
    int nodeOfSite(int site) const; // -1 when the site has no node
};

const char *dataflowKindName(DataflowNode::Kind kind);

// Reads the model's instrumented forward graph (built once in Model::load and not changed afterwards; forward
// passes run the executor's own copy, so this may run while a capture does).
DataflowGraph describeDataflow(const Model &model);

} // namespace sparsity
