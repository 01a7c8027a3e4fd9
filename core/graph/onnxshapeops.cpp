// The ONNX operators that move data around (Concat, Reshape, Transpose ...) or only compute static shapes
// (Shape, Gather, Slice, Constant: the arithmetic torch.onnx.export writes around Reshape and Resize). A value known
// while importing is computed here with LibTorch; a run-time value gets the equivalent aten op.
#include "graph/onnximport_p.h"

#include <algorithm>

namespace sparsity::onnx_import {

using torch::jit::Value;
using Ints = std::vector<std::int64_t>;

namespace {

Value *ints(Context &c, const Ints &v) { return c.constantValue(c10::IValue(v)); }

Ints axesOf(Context &c, int input)
{
    if (c.opset >= 13 && c.node->op_type() != "Slice")
        return c.has(input) ? c.ints(input) : Ints{};
    return intsAttribute(*c.node, "axes");
}

std::int64_t rankOf(Context &c)
{
    return c.isStatic(c.node->input(0)) ? c.constant(0).dim() : std::int64_t(c.shapeOf(0).size());
}

} // namespace

void importConcat(Context &c)
{
    const auto &n = *c.node;
    const std::int64_t axis = intAttribute(n, "axis", 0);
    bool allStatic = true;
    for (int i = 0; i < n.input_size(); ++i)
        allStatic = allStatic && c.isStatic(n.input(i));
    if (allStatic) {
        std::vector<at::Tensor> parts;
        for (int i = 0; i < n.input_size(); ++i)
            parts.push_back(c.constant(i));
        c.setStatic(0, at::cat(parts, axis));
        return;
    }
    std::vector<Value *> parts;
    for (int i = 0; i < n.input_size(); ++i)
        parts.push_back(c.value(i));
    Value *listValue = c.graph->insertNode(c.graph->createList(c10::TensorType::get(), parts))->output();
    c.setOutput(0, c.call("cat", {listValue, c.constantValue(axis)}));
}

void importFlatten(Context &c)
{
    std::int64_t axis = intAttribute(*c.node, "axis", 1);
    if (c.isStatic(c.node->input(0))) {
        const at::Tensor t = c.constant(0);
        std::int64_t outer = 1;
        for (std::int64_t a = 0; a < (axis < 0 ? axis + t.dim() : axis); ++a)
            outer *= t.size(a);
        c.setStatic(0, t.reshape({outer, -1}));
        return;
    }
    Value *x = c.value(0);
    if (axis < 0)
        axis += std::int64_t(c.shapeOf(0).size());
    if (axis == 0) {
        c.setOutput(0, c.call("reshape", {x, ints(c, {1, -1})}));
        return;
    }
    if (axis > 1)
        x = c.call("flatten", {x, c.constantValue(std::int64_t(0)), c.constantValue(axis - 1)});
    c.setOutput(0, c.call("flatten", {x, c.constantValue(std::int64_t(1)), c.constantValue(std::int64_t(-1))}));
}

void importReshape(Context &c)
{
    Ints target = c.opset < 5 ? intsAttribute(*c.node, "shape") : c.ints(1);
    const bool allowZero = intAttribute(*c.node, "allowzero", 0) != 0;
    if (c.isStatic(c.node->input(0))) {
        const at::Tensor t = c.constant(0);
        for (std::size_t i = 0; i < target.size(); ++i)
            if (target[i] == 0 && !allowZero)
                target[i] = t.size(long(i));
        c.setStatic(0, t.reshape(target));
        return;
    }
    const Ints in = c.shapeOf(0);
    for (std::size_t i = 0; i < target.size(); ++i)
        if (target[i] == 0 && !allowZero)
            target[i] = i < in.size() ? in[i] : 0;
    Value *x = c.value(0);
    // The shape was computed for the exported batch size; keep the batch dimension of the actual input.
    if (!target.empty() && !in.empty() && target[0] == in[0]) {
        std::vector<Value *> dims{c.call("size", {x, c.constantValue(std::int64_t(0))})};
        for (std::size_t i = 1; i < target.size(); ++i)
            dims.push_back(c.constantValue(target[i]));
        Value *shape = c.graph->insertNode(c.graph->createList(c10::IntType::get(), dims))->output();
        c.setOutput(0, c.call("reshape", {x, shape}));
        return;
    }
    c.setOutput(0, c.call("reshape", {x, ints(c, target)}));
}

void importSqueeze(Context &c)
{
    Ints axes = axesOf(c, 1);
    const std::int64_t rank = rankOf(c);
    for (auto &a : axes)
        a = a < 0 ? a + rank : a;
    std::sort(axes.rbegin(), axes.rend());
    if (c.isStatic(c.node->input(0))) {
        at::Tensor t = c.constant(0);
        if (axes.empty())
            t = t.squeeze();
        for (auto a : axes)
            t = t.squeeze(a);
        c.setStatic(0, t);
        return;
    }
    Value *x = c.value(0);
    if (axes.empty())
        x = c.call("squeeze", {x});
    for (auto a : axes)
        x = c.call("squeeze", {x, c.constantValue(a)});
    c.setOutput(0, x);
}

void importUnsqueeze(Context &c)
{
    Ints axes = axesOf(c, 1);
    const std::int64_t rank = rankOf(c) + std::int64_t(axes.size());
    for (auto &a : axes)
        a = a < 0 ? a + rank : a;
    std::sort(axes.begin(), axes.end());
    if (c.isStatic(c.node->input(0))) {
        at::Tensor t = c.constant(0);
        for (auto a : axes)
            t = t.unsqueeze(a);
        c.setStatic(0, t);
        return;
    }
    Value *x = c.value(0);
    for (auto a : axes)
        x = c.call("unsqueeze", {x, c.constantValue(a)});
    c.setOutput(0, x);
}

void importTranspose(Context &c)
{
    Ints perm = intsAttribute(*c.node, "perm");
    if (perm.empty())
        for (std::int64_t i = rankOf(c) - 1; i >= 0; --i)
            perm.push_back(i);
    if (c.isStatic(c.node->input(0)))
        c.setStatic(0, c.constant(0).permute(perm).contiguous());
    else
        c.setOutput(0, c.call("permute", {c.value(0), ints(c, perm)}));
}

void importConstant(Context &c)
{
    const auto &n = *c.node;
    if (const auto *a = findAttribute(n, "value"))
        c.setStatic(0, tensorFromProto(a->t(), ".", c.path));
    else if (const auto *f = findAttribute(n, "value_float"))
        c.setStatic(0, at::scalar_tensor(f->f(), at::kFloat));
    else if (const auto *fs = findAttribute(n, "value_floats"))
        c.setStatic(0, at::tensor(std::vector<float>(fs->floats().begin(), fs->floats().end())));
    else if (const auto *i = findAttribute(n, "value_int"))
        c.setStatic(0, at::scalar_tensor(i->i(), at::kLong));
    else if (const auto *is = findAttribute(n, "value_ints"))
        c.setStatic(0, at::tensor(std::vector<std::int64_t>(is->ints().begin(), is->ints().end())));
    else
        c.fail("a Constant without a tensor, float or int value is not supported");
}

void importShape(Context &c)
{
    Ints s = c.shapeOf(0);
    const std::int64_t rank = std::int64_t(s.size());
    std::int64_t start = intAttribute(*c.node, "start", 0), end = intAttribute(*c.node, "end", rank);
    start = std::clamp<std::int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<std::int64_t>(end < 0 ? end + rank : end, 0, rank);
    c.setStatic(0, at::tensor(Ints(s.begin() + start, s.begin() + std::max(start, end)), at::kLong));
}

void importGather(Context &c)
{
    std::int64_t axis = intAttribute(*c.node, "axis", 0);
    at::Tensor indices = c.constant(1).to(at::kLong);
    if (c.isStatic(c.node->input(0))) {
        const at::Tensor data = c.constant(0);
        if (axis < 0)
            axis += data.dim();
        indices = at::where(indices < 0, indices + data.size(axis), indices);
        Ints shapeOut(data.sizes().begin(), data.sizes().begin() + axis);
        for (auto s : indices.sizes())
            shapeOut.push_back(s);
        shapeOut.insert(shapeOut.end(), data.sizes().begin() + axis + 1, data.sizes().end());
        c.setStatic(0, data.index_select(axis, indices.flatten()).reshape(shapeOut));
        return;
    }
    if (indices.dim() != 0)
        c.fail("Gather of a run-time tensor is supported with one scalar index only");
    c.setOutput(0, c.call("select", {c.value(0), c.constantValue(axis), c.constantValue(indices.item<std::int64_t>())}));
}

void importSlice(Context &c)
{
    const auto &n = *c.node;
    Ints starts, ends, axes, steps;
    if (c.opset < 10) {
        starts = intsAttribute(n, "starts");
        ends = intsAttribute(n, "ends");
        axes = intsAttribute(n, "axes");
    } else {
        starts = c.ints(1);
        ends = c.ints(2);
        if (c.has(3))
            axes = c.ints(3);
        if (c.has(4))
            steps = c.ints(4);
    }
    if (axes.empty())
        for (std::size_t i = 0; i < starts.size(); ++i)
            axes.push_back(std::int64_t(i));
    steps.resize(starts.size(), 1);
    for (auto s : steps)
        if (s <= 0)
            c.fail("Slice with a step of " + std::to_string(s) + " is not supported (positive steps are)");
    const bool isStatic = c.isStatic(n.input(0));
    at::Tensor t = isStatic ? c.constant(0) : at::Tensor();
    Value *x = isStatic ? nullptr : c.value(0);
    const std::int64_t rank = rankOf(c);
    for (std::size_t i = 0; i < starts.size(); ++i) {
        const std::int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (isStatic)
            t = t.slice(axis, starts[i], ends[i], steps[i]);
        else
            x = c.call("slice", {x, c.constantValue(axis), c.constantValue(starts[i]), c.constantValue(ends[i]),
                                 c.constantValue(steps[i])});
    }
    if (isStatic)
        c.setStatic(0, t);
    else
        c.setOutput(0, x);
}

void importCast(Context &c)
{
    const std::int64_t to = intAttribute(*c.node, "to", onnx::TensorProto::FLOAT);
    const bool toFloat = to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE || to == onnx::TensorProto::FLOAT16;
    if (c.isStatic(c.node->input(0))) {
        c.setStatic(0, toFloat ? c.constant(0).to(at::kFloat) : to == onnx::TensorProto::BOOL ? c.constant(0).to(at::kBool) : c.constant(0).to(at::kLong));
        return;
    }
    if (!toFloat)
        c.fail("casting a run-time tensor to ONNX type " + std::to_string(to) + " is not supported (the engine computes in float)");
    // A comparison's mask (our export's per-channel thresholds) becomes 0/1; a float stays itself.
    c.setOutput(0, c.call("to", {c.value(0), c.constantValue(std::int64_t(at::kFloat)), c.constantValue(false), c.constantValue(false),
                                 c.constantValue(c10::IValue())}));
}

void importIdentity(Context &c)
{
    if (c.isStatic(c.node->input(0)))
        c.setStatic(0, c.constant(0));
    else
        c.setOutput(0, c.value(0));
}

void importConstantOfShape(Context &c)
{
    const auto *a = findAttribute(*c.node, "value");
    const at::Tensor v = a ? tensorFromProto(a->t(), ".", c.path) : at::zeros({1}, at::kFloat);
    c.setStatic(0, at::full(c.ints(0), v.flatten()[0].item(), v.options()));
}

} // namespace sparsity::onnx_import
