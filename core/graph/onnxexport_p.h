#pragma once
// Internal to core/graph: the translator of an inlined TorchScript graph into ONNX nodes (onnxexportops.cpp),
// used by exportThresholdedOnnx (onnxexport.cpp).

#include "graph/model_p.h"
#include "error.h"
#include "graph/onnximport_p.h"

#include <torch/csrc/jit/ir/constants.h>

#include <map>
#include <string>
#include <vector>

namespace sparsity::detail {

using torch::jit::Node;
using torch::jit::Value;

inline constexpr int kOpset = 13;

// A site name as a torch.onnx.export-style node scope ("layer1.0.relu" -> "/layer1/0/relu"), so that importing
// the file again names the site the same way.
inline std::string scopeName(const std::string &name)
{
    std::string out = "/";
    for (char c : name)
        out.push_back(c == '.' ? '/' : c);
    return out;
}


class Exporter {
public:
    Exporter(const std::string &path, const torch::jit::Module &root, onnx::GraphProto &graph) : path_(path), root_(root), g_(graph) {}

    // Per activation site: the node whose output the engine thresholds, and the thresholds to bake in.
    struct SiteThreshold {
        std::string name;
        float scalar = 0.0f;
        std::vector<float> perChannel;
        std::vector<std::int64_t> shape;
    };
    std::map<const Node *, SiteThreshold> thresholds;
    std::map<const Node *, std::string> nodeNames; // ONNX node names for sites and layers

    void input(Value *v, const std::string &name) { names_[v] = name; }

    void block(torch::jit::Block *b)
    {
        for (Node *n : b->nodes())
            node(n);
    }

    std::string tensor(Value *v)
    {
        if (auto it = names_.find(v); it != names_.end())
            return it->second;
        auto c = constants_.find(v);
        if (c != constants_.end() && c->second.isTensor())
            return names_[v] = initializer(c->second.toTensor(), attrPaths_.count(v) ? attrPaths_[v] : "const");
        if (c != constants_.end() && (c->second.isDouble() || c->second.isInt()))
            return names_[v] = initializer(at::scalar_tensor(c->second.toScalar(), at::kFloat), "scalar");
        fail(v->node(), "an input that is neither a tensor computed by the graph nor a constant");
    }

private:
    const std::string &path_;
    const torch::jit::Module &root_;
    onnx::GraphProto &g_;
    std::map<const Value *, std::string> names_;
    std::map<const Value *, c10::IValue> constants_;
    std::map<const Value *, std::string> attrPaths_;
    std::map<const Value *, std::pair<const Value *, std::int64_t>> sizes_; // aten::size(x, d)
    std::map<const Value *, std::vector<Value *>> lists_;
    std::map<std::string, int> used_;

    [[noreturn]] void fail(const Node *n, const std::string &what) const
    {
        throw Error(path_ + ": cannot export " + std::string(n->kind().toQualString()) + " to ONNX: " + what);
    }

    std::string unique(const std::string &base)
    {
        const int k = used_[base]++;
        return k == 0 ? base : base + "_" + std::to_string(k);
    }

    std::string initializer(const at::Tensor &t, const std::string &base)
    {
        const at::Tensor c = t.detach().contiguous();
        auto *p = g_.add_initializer();
        p->set_name(unique(base));
        for (auto d : c.sizes())
            p->add_dims(d);
        if (c.scalar_type() == at::kLong) {
            p->set_data_type(onnx::TensorProto::INT64);
            p->set_raw_data(c.data_ptr(), std::size_t(c.numel()) * 8);
        } else {
            const at::Tensor f = c.to(at::kFloat).contiguous();
            p->set_data_type(onnx::TensorProto::FLOAT);
            p->set_raw_data(f.data_ptr(), std::size_t(f.numel()) * 4);
        }
        return p->name();
    }
    std::string ints(const std::vector<std::int64_t> &v, const std::string &base) { return initializer(at::tensor(v, at::kLong), base); }

    onnx::NodeProto *emit(const std::string &op, const std::vector<std::string> &inputs, const std::string &output, const std::string &name = {})
    {
        auto *p = g_.add_node();
        p->set_op_type(op);
        p->set_name(name.empty() ? unique("/" + op) : name);
        for (const auto &i : inputs)
            p->add_input(i);
        p->add_output(output);
        return p;
    }
    static void attr(onnx::NodeProto *p, const char *name, const std::vector<std::int64_t> &v)
    {
        auto *a = p->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (auto x : v)
            a->add_ints(x);
    }
    static void attr(onnx::NodeProto *p, const char *name, std::int64_t v)
    {
        auto *a = p->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(v);
    }
    static void attrF(onnx::NodeProto *p, const char *name, double v)
    {
        auto *a = p->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(float(v));
    }
    static void attrS(onnx::NodeProto *p, const char *name, const std::string &v)
    {
        auto *a = p->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::STRING);
        a->set_s(v);
    }

    c10::IValue constant(Node *n, int i)
    {
        auto it = constants_.find(n->input(std::size_t(i)));
        if (it == constants_.end())
            fail(n, "input " + std::to_string(i) + " is computed at run time; it must be a constant");
        return it->second;
    }
    std::vector<std::int64_t> intList(Node *n, int i)
    {
        const c10::IValue v = constant(n, i);
        if (v.isInt())
            return {v.toInt()};
        if (!v.isIntList())
            fail(n, "input " + std::to_string(i) + " is not a list of integers");
        return v.toIntVector();
    }
    static std::vector<std::int64_t> twice(std::vector<std::int64_t> v, std::size_t n = 2)
    {
        if (v.size() == 1)
            v.assign(n, v[0]);
        std::vector<std::int64_t> out = v;
        out.insert(out.end(), v.begin(), v.end());
        return out;
    }
    static std::vector<std::int64_t> pair(std::vector<std::int64_t> v) { return v.size() == 1 ? std::vector<std::int64_t>{v[0], v[0]} : v; }

    std::string out(Node *n, std::size_t i = 0)
    {
        const std::string name = "t" + std::to_string(n->output(i)->unique());
        names_[n->output(i)] = name;
        return name;
    }
    void alias(Value *to, Value *from)
    {
        if (auto it = names_.find(from); it != names_.end())
            names_[to] = it->second;
        if (auto it = constants_.find(from); it != constants_.end())
            constants_[to] = it->second;
        if (auto it = lists_.find(from); it != lists_.end())
            lists_[to] = it->second;
        if (auto it = sizes_.find(from); it != sizes_.end())
            sizes_[to] = it->second;
    }
    std::string nodeName(Node *n, const std::string &op)
    {
        auto it = nodeNames.find(n);
        return it == nodeNames.end() ? std::string() : it->second + "/" + op;
    }

    void node(Node *n);
    void conv(Node *n, bool transposed, Value *bias, const std::vector<std::int64_t> &stride, const std::vector<std::int64_t> &padding,
              const std::vector<std::int64_t> &dilation, const std::vector<std::int64_t> &outputPadding, std::int64_t groups);
    void resize(Node *n, const std::string &mode, const std::string &coordinates);
    void threshold(Node *n);
    // aten::max_pool2d / avg_pool2d(x, kernel, stride, padding, ...): the attributes both share (an empty stride
    // means the kernel's).
    onnx::NodeProto *pool(Node *n, const char *op)
    {
        const auto kernel = pair(intList(n, 1));
        const auto stride = intList(n, 2);
        auto *p = emit(op, {tensor(n->input(0))}, out(n));
        attr(p, "kernel_shape", kernel);
        attr(p, "strides", stride.empty() ? kernel : pair(stride));
        attr(p, "pads", twice(intList(n, 3)));
        return p;
    }
};

} // namespace sparsity::detail
