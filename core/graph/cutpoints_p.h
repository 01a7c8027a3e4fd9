#pragma once
// Internal to core: where a forward graph can be cut, so an evaluation can restart from a site's cached output.

#include <torch/script.h>

#include <memory>
#include <vector>

namespace sparsity::graph {

// The site of a probe node (every probe kind ends with its model and site constants), or -1 for other nodes.
int probeSite(const torch::jit::Node *node);

// Sites whose probe, in the graph's top-level block, is a cut: every later node (and the output) reads only that
// probe's output, later values, constants and the module itself — no skip connection passes it. In graph order.
std::vector<int> cutSites(torch::jit::Graph &graph);

// A copy of the graph that starts at the cut of `site`: inputs (self, the site's output), the nodes before it gone
// (its probes with them). nullptr when the site is not a cut.
std::shared_ptr<torch::jit::Graph> tailGraph(torch::jit::Graph &graph, int site);

} // namespace sparsity::graph
