// The ONNX operators Sparsity Explorer imports, each written as the aten ops a TorchScript export of the same
// layer would hold (aten::conv2d, aten::relu, aten::hardtanh for ReLU6 ...), so that site detection, layer
// geometry and the BatchNorm fold treat an imported model like its TorchScript twin.
#include "graph/onnximport_p.h"

#include <torch/csrc/jit/ir/constants.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <unordered_map>

namespace sparsity::onnx_import {

using torch::jit::Value;
using Ints = std::vector<std::int64_t>;

namespace {

std::string list(const Ints &v)
{
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i)
        s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
}

Value *none(Context &c) { return c.constantValue(c10::IValue()); }
Value *ints(Context &c, const Ints &v) { return c.constantValue(c10::IValue(v)); }

// Begin/end padding of the two spatial axes: {top, left, bottom, right}, from `pads` or `auto_pad`.
Ints spatialPads(Context &c, const Ints &kernel, const Ints &strides, const Ints &dilations)
{
    const auto &n = *c.node;
    const std::string autoPad = stringAttribute(n, "auto_pad", "NOTSET");
    if (autoPad == "NOTSET") {
        Ints pads = intsAttribute(n, "pads");
        if (pads.empty())
            pads.assign(4, 0);
        if (pads.size() != 4)
            c.fail("pads " + list(pads) + " do not describe two spatial axes");
        return pads;
    }
    if (autoPad == "VALID")
        return {0, 0, 0, 0};
    if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
        c.fail("auto_pad '" + autoPad + "' is not an ONNX padding mode");
    const Ints in = c.shapeOf(0);
    if (in.size() != 4)
        c.fail("auto_pad needs a 4-D input of static shape");
    Ints pads(4);
    for (int axis = 0; axis < 2; ++axis) {
        const std::int64_t size = in[std::size_t(axis) + 2], s = strides[std::size_t(axis)];
        const std::int64_t out = (size + s - 1) / s;
        const std::int64_t total =
            std::max<std::int64_t>(0, (out - 1) * s + (kernel[std::size_t(axis)] - 1) * dilations[std::size_t(axis)] + 1 - size);
        const std::int64_t small = total / 2;
        pads[std::size_t(axis)] = autoPad == "SAME_UPPER" ? small : total - small;
        pads[std::size_t(axis) + 2] = total - pads[std::size_t(axis)];
    }
    return pads;
}

Ints attributeOr(const onnx::NodeProto &n, const char *name, Ints fallback)
{
    Ints v = intsAttribute(n, name);
    return v.empty() ? fallback : v;
}

// Asymmetric padding becomes an explicit pad before the op (torch's conv and pool pad symmetrically).
Value *padExplicitly(Context &c, Value *x, Ints &pads, double value)
{
    if (pads[0] == pads[2] && pads[1] == pads[3])
        return x;
    Value *padded = c.call("constant_pad_nd", {x, ints(c, {pads[1], pads[3], pads[0], pads[2]}), c.constantValue(value)});
    pads = {0, 0, 0, 0};
    return padded;
}

at::Tensor weight(Context &c, int input, const char *what)
{
    if (!c.isStatic(c.node->input(input)))
        c.fail(std::string("the ") + what + " is computed at run time; only weights stored as initializers are supported");
    return c.constant(input).to(at::kFloat);
}

void conv(Context &c)
{
    const auto &n = *c.node;
    const at::Tensor w = weight(c, 1, "weight");
    if (w.dim() != 4)
        c.fail("only 2-D convolutions are supported (the weight has rank " + std::to_string(w.dim()) + ")");
    const Ints strides = attributeOr(n, "strides", {1, 1}), dilations = attributeOr(n, "dilations", {1, 1});
    Ints pads = spatialPads(c, {w.size(2), w.size(3)}, strides, dilations);
    Value *x = padExplicitly(c, c.value(0), pads, 0.0);
    Value *wv = c.attribute(w, n.name() + ".weight", true);
    Value *bv = c.has(2) ? c.attribute(weight(c, 2, "bias"), n.name() + ".bias", true) : none(c);
    c.setOutput(0, c.call("conv2d", {x, wv, bv, ints(c, strides), ints(c, {pads[0], pads[1]}), ints(c, dilations),
                                     c.constantValue(intAttribute(n, "group", 1))}));
}

void convTranspose(Context &c)
{
    const auto &n = *c.node;
    const at::Tensor w = weight(c, 1, "weight");
    if (w.dim() != 4)
        c.fail("only 2-D transposed convolutions are supported");
    const Ints strides = attributeOr(n, "strides", {1, 1}), dilations = attributeOr(n, "dilations", {1, 1});
    if (stringAttribute(n, "auto_pad", "NOTSET") != "NOTSET")
        c.fail("auto_pad on ConvTranspose is not supported; give explicit pads");
    const Ints pads = attributeOr(n, "pads", {0, 0, 0, 0});
    if (pads.size() != 4 || pads[0] != pads[2] || pads[1] != pads[3])
        c.fail("asymmetric pads " + list(pads) + " on ConvTranspose are not supported");
    Ints outputPadding = attributeOr(n, "output_padding", {0, 0});
    if (const Ints outShape = intsAttribute(n, "output_shape"); !outShape.empty()) {
        const Ints in = c.shapeOf(0);
        for (std::size_t a = 0; a < 2; ++a)
            outputPadding[a] = outShape[outShape.size() - 2 + a] -
                               ((in[a + 2] - 1) * strides[a] - 2 * pads[a] + dilations[a] * (w.size(long(a) + 2) - 1) + 1);
    }
    Value *wv = c.attribute(w, n.name() + ".weight", true);
    Value *bv = c.has(2) ? c.attribute(weight(c, 2, "bias"), n.name() + ".bias", true) : none(c);
    // aten::_convolution(transposed = true), as a traced TorchScript export holds it: the same layer list.
    c.setOutput(0, c.call("_convolution", {c.value(0), wv, bv, ints(c, strides), ints(c, {pads[0], pads[1]}), ints(c, dilations),
                                           c.constantValue(true), ints(c, outputPadding), c.constantValue(intAttribute(n, "group", 1)),
                                           c.constantValue(false), c.constantValue(false), c.constantValue(true), c.constantValue(true)}));
}

void batchNorm(Context &c)
{
    const auto &n = *c.node;
    if (intAttribute(n, "training_mode", 0) != 0)
        c.fail("BatchNormalization in training mode is not supported; export the model in eval mode");
    Value *scale = c.attribute(weight(c, 1, "scale"), n.name() + ".weight", true);
    Value *bias = c.attribute(weight(c, 2, "bias"), n.name() + ".bias", true);
    Value *mean = c.attribute(weight(c, 3, "mean"), n.name() + ".running_mean", false);
    Value *var = c.attribute(weight(c, 4, "variance"), n.name() + ".running_var", false);
    c.setOutput(0, c.call("batch_norm", {c.value(0), scale, bias, mean, var, c.constantValue(false),
                                         c.constantValue(1.0 - double(floatAttribute(n, "momentum", 0.9f))),
                                         c.constantValue(double(floatAttribute(n, "epsilon", 1e-5f))), c.constantValue(true)}));
}

// Clip's bounds: attributes before opset 11, optional constant inputs after.
void clip(Context &c)
{
    c10::optional<double> lo, hi;
    if (c.opset < 11) {
        if (const auto *a = findAttribute(*c.node, "min"))
            lo = a->f();
        if (const auto *a = findAttribute(*c.node, "max"))
            hi = a->f();
    } else {
        if (c.has(1))
            lo = c.constant(1).item<double>();
        if (c.has(2))
            hi = c.constant(2).item<double>();
    }
    Value *x = c.value(0);
    if (lo && hi)
        c.setOutput(0, c.call("hardtanh", {x, c.constantValue(*lo), c.constantValue(*hi)}));
    else if (lo || hi)
        c.setOutput(0, c.call("clamp", {x, lo ? c.constantValue(*lo) : none(c), hi ? c.constantValue(*hi) : none(c)}));
    else
        c.setOutput(0, x);
}

void hardSigmoid(Context &c)
{
    const double alpha = floatAttribute(*c.node, "alpha", 0.2f), beta = floatAttribute(*c.node, "beta", 0.5f);
    Value *x = c.value(0);
    if (std::abs(alpha - 1.0 / 6.0) < 1e-6 && std::abs(beta - 0.5) < 1e-6) {
        c.setOutput(0, c.call("hardsigmoid", {x}));
        return;
    }
    Value *scaled = c.call("add", {c.call("mul", {x, c.constantValue(alpha)}), c.constantValue(beta)});
    c.setOutput(0, c.call("clamp", {scaled, c.constantValue(0.0), c.constantValue(1.0)}));
}

void binary(Context &c, const char *op)
{
    const std::string type = c.node->op_type();
    if (c.isStatic(c.node->input(0)) && c.isStatic(c.node->input(1))) {
        const at::Tensor a = c.constant(0), b = c.constant(1);
        at::Tensor r = type == "Add" ? a + b : type == "Sub" ? a - b : type == "Mul" ? a * b
                       : at::isIntegralType(a.scalar_type(), true) ? at::div(a, b, "trunc") : a / b;
        c.setStatic(0, r);
        return;
    }
    Value *a = c.value(0);
    // A one-element constant on the right stays a scalar of the graph instead of a buffer.
    if (c.isStatic(c.node->input(1)) && c.constant(1).numel() == 1 && c.constant(1).dim() <= 1) {
        c.setOutput(0, c.call(op, {a, c.constantValue(c.constant(1).item<double>())}));
        return;
    }
    c.setOutput(0, c.call(op, {a, c.value(1)}));
}

void maxPool(Context &c)
{
    const auto &n = *c.node;
    if (n.output_size() > 1 && !n.output(1).empty())
        c.fail("the Indices output of MaxPool is not supported");
    const Ints kernel = intsAttribute(n, "kernel_shape");
    if (kernel.size() != 2)
        c.fail("only 2-D pooling is supported (kernel_shape " + list(kernel) + ")");
    const Ints strides = attributeOr(n, "strides", {1, 1}), dilations = attributeOr(n, "dilations", {1, 1});
    Ints pads = spatialPads(c, kernel, strides, dilations);
    const bool tooLarge = pads[0] * 2 > kernel[0] || pads[1] * 2 > kernel[1];
    Value *x = c.value(0);
    if (tooLarge) { // torch limits pads to half the kernel; an explicit -inf pad is the same
        x = c.call("constant_pad_nd", {x, ints(c, {pads[1], pads[3], pads[0], pads[2]}), c.constantValue(-std::numeric_limits<double>::infinity())});
        pads = {0, 0, 0, 0};
    }
    x = padExplicitly(c, x, pads, -std::numeric_limits<double>::infinity());
    c.setOutput(0, c.call("max_pool2d", {x, ints(c, kernel), ints(c, strides), ints(c, {pads[0], pads[1]}), ints(c, dilations),
                                         c.constantValue(intAttribute(n, "ceil_mode", 0) != 0)}));
}

void averagePool(Context &c)
{
    const auto &n = *c.node;
    const Ints kernel = intsAttribute(n, "kernel_shape");
    if (kernel.size() != 2)
        c.fail("only 2-D pooling is supported (kernel_shape " + list(kernel) + ")");
    const Ints strides = attributeOr(n, "strides", {1, 1});
    Ints pads = spatialPads(c, kernel, strides, {1, 1});
    const bool countPad = intAttribute(n, "count_include_pad", 0) != 0;
    const bool symmetric = pads[0] == pads[2] && pads[1] == pads[3] && pads[0] * 2 <= kernel[0] && pads[1] * 2 <= kernel[1];
    Value *x = c.value(0);
    if (!symmetric) {
        if (!countPad)
            c.fail("asymmetric pads " + list(pads) + " with count_include_pad = 0 are not supported");
        x = c.call("constant_pad_nd", {x, ints(c, {pads[1], pads[3], pads[0], pads[2]}), c.constantValue(0.0)});
        pads = {0, 0, 0, 0};
    }
    c.setOutput(0, c.call("avg_pool2d", {x, ints(c, kernel), ints(c, strides), ints(c, {pads[0], pads[1]}),
                                         c.constantValue(intAttribute(n, "ceil_mode", 0) != 0), c.constantValue(countPad), none(c)}));
}

void gemm(Context &c)
{
    const auto &n = *c.node;
    if (intAttribute(n, "transA", 0) != 0)
        c.fail("Gemm with transA = 1 is not supported");
    at::Tensor w = weight(c, 1, "B matrix");
    if (intAttribute(n, "transB", 0) == 0)
        w = w.t();
    w = w * floatAttribute(n, "alpha", 1.0f);
    Value *bias = none(c);
    if (c.has(2)) {
        at::Tensor b = weight(c, 2, "C matrix") * floatAttribute(n, "beta", 1.0f);
        if (b.numel() != w.size(0) && b.numel() != 1)
            c.fail("a C of shape " + list(b.sizes().vec()) + " is not a per-output bias");
        bias = c.attribute(b.reshape({-1}).expand({w.size(0)}).contiguous(), n.name() + ".bias", true);
    }
    c.setOutput(0, c.call("linear", {c.value(0), c.attribute(w, n.name() + ".weight", true), bias}));
}

void matMul(Context &c)
{
    if (c.isStatic(c.node->input(1)) && c.constant(1).dim() == 2) {
        const at::Tensor w = c.constant(1).to(at::kFloat).t();
        c.setOutput(0, c.call("linear", {c.value(0), c.attribute(w, c.node->name() + ".weight", true), none(c)}));
        return;
    }
    c.setOutput(0, c.call("matmul", {c.value(0), c.value(1)}));
}

void resize(Context &c)
{
    const auto &n = *c.node;
    const Ints in = c.shapeOf(0);
    if (in.size() != 4)
        c.fail("only 4-D (N x C x H x W) inputs are resized");
    Ints size;
    const int scalesInput = c.opset >= 11 ? 2 : 1;
    if (c.opset >= 11 && c.has(3) && c.constant(3).numel() > 0) {
        size = c.ints(3);
        size = {size[size.size() - 2], size[size.size() - 1]};
    } else if (c.has(scalesInput) && c.constant(scalesInput).numel() == 4) {
        const at::Tensor s = c.constant(scalesInput).to(at::kDouble);
        if (s[0].item<double>() != 1.0 || s[1].item<double>() != 1.0)
            c.fail("resizing the batch or channel axis is not supported");
        size = {std::int64_t(std::floor(double(in[2]) * s[2].item<double>())), std::int64_t(std::floor(double(in[3]) * s[3].item<double>()))};
    } else {
        c.fail("neither sizes nor scales are given as constants");
    }
    const std::string mode = stringAttribute(n, "mode", "nearest");
    const std::string coordinates = stringAttribute(n, "coordinate_transformation_mode", c.opset >= 11 ? "half_pixel" : "asymmetric");
    Value *x = c.value(0);
    if (mode == "nearest") {
        const std::string rounding = stringAttribute(n, "nearest_mode", "round_prefer_floor");
        const bool integerFactors = size[0] % in[2] == 0 && size[1] % in[3] == 0;
        const bool floorMapping = (coordinates == "asymmetric" && (rounding == "floor" || c.opset < 11)) ||
                                  ((coordinates == "half_pixel" || coordinates == "pytorch_half_pixel") && rounding == "round_prefer_floor" && integerFactors);
        if (!floorMapping)
            c.fail("nearest resize with coordinate_transformation_mode '" + coordinates + "' and nearest_mode '" + rounding +
                   "' is not supported (asymmetric + floor, or half_pixel with integer factors, are)");
        c.setOutput(0, c.call("upsample_nearest2d", {x, ints(c, size), none(c), none(c)}));
        return;
    }
    if (mode != "linear")
        c.fail("resize mode '" + mode + "' is not supported (nearest and linear are)");
    bool alignCorners = false;
    if (coordinates == "align_corners")
        alignCorners = true;
    else if (coordinates != "half_pixel" && coordinates != "pytorch_half_pixel")
        c.fail("linear resize with coordinate_transformation_mode '" + coordinates + "' is not supported");
    c.setOutput(0, c.call("upsample_bilinear2d", {x, ints(c, size), c.constantValue(alignCorners), none(c), none(c)}));
}

void pad(Context &c)
{
    const auto &n = *c.node;
    const Ints pads = c.opset >= 11 ? c.ints(1) : intsAttribute(n, "pads");
    double value = c.opset >= 11 ? (c.has(2) ? c.constant(2).item<double>() : 0.0) : floatAttribute(n, "value", 0.0f);
    const std::size_t rank = pads.size() / 2;
    Ints torchPads; // last axis first: (begin, end) pairs
    for (std::size_t a = rank; a-- > 0;) {
        torchPads.push_back(pads[a]);
        torchPads.push_back(pads[a + rank]);
    }
    const std::string mode = stringAttribute(n, "mode", "constant");
    Value *x = c.value(0);
    if (mode == "constant") {
        c.setOutput(0, c.call("constant_pad_nd", {x, ints(c, torchPads), c.constantValue(value)}));
        return;
    }
    for (std::size_t i = 4; i < torchPads.size(); ++i)
        if (torchPads[i] != 0)
            c.fail(mode + " padding of other axes than the last two is not supported");
    torchPads.resize(4);
    if (mode == "reflect")
        c.setOutput(0, c.call("reflection_pad2d", {x, ints(c, torchPads)}));
    else if (mode == "edge")
        c.setOutput(0, c.call("replication_pad2d", {x, ints(c, torchPads)}));
    else
        c.fail("pad mode '" + mode + "' is not supported");
}

void softmax(Context &c)
{
    std::int64_t axis = intAttribute(*c.node, "axis", c.opset >= 13 ? -1 : 1);
    Value *x = c.value(0);
    const std::int64_t rank = std::int64_t(c.shapeOf(0).size());
    if (axis < 0)
        axis += rank;
    if (c.opset >= 13 || axis == rank - 1) {
        c.setOutput(0, c.call("softmax", {x, c.constantValue(axis), none(c)}));
        return;
    }
    // Before opset 13 Softmax normalises over all axes from `axis` on.
    Value *flat = c.call("flatten", {x, c.constantValue(axis), c.constantValue(std::int64_t(-1))});
    Value *s = c.call("softmax", {flat, c.constantValue(axis), none(c)});
    c.setOutput(0, c.call("view_as", {s, x}));
}

void unary(Context &c, const char *op)
{
    c.setOutput(0, c.call(op, {c.value(0)}));
}

using Importer = std::function<void(Context &)>;

const std::unordered_map<std::string, Importer> &operators()
{
    static const std::unordered_map<std::string, Importer> table{
        {"Conv", conv},
        {"ConvTranspose", convTranspose},
        {"BatchNormalization", batchNorm},
        {"Relu", [](Context &c) { unary(c, "relu"); }},
        {"Sigmoid", [](Context &c) { unary(c, "sigmoid"); }},
        {"HardSwish", [](Context &c) { unary(c, "hardswish"); }},
        {"LeakyRelu", [](Context &c) {
             c.setOutput(0, c.call("leaky_relu", {c.value(0), c.constantValue(double(floatAttribute(*c.node, "alpha", 0.01f)))}));
         }},
        {"ThresholdedRelu", [](Context &c) {
             // Our own export of a tuned model: y = x if x > alpha else 0, aten::threshold's semantics.
             const double alpha = floatAttribute(*c.node, "alpha", 1.0f);
             c.setOutput(0, c.call("threshold", {c.value(0), c.constantValue(alpha), c.constantValue(0.0)}));
         }},
        {"HardSigmoid", hardSigmoid},
        {"Clip", clip},
        {"Add", [](Context &c) { binary(c, "add"); }},
        {"Sub", [](Context &c) { binary(c, "sub"); }},
        {"Mul", [](Context &c) { binary(c, "mul"); }},
        {"Div", [](Context &c) { binary(c, "div"); }},
        {"Greater", [](Context &c) { c.setOutput(0, c.call("gt", {c.value(0), c.value(1)})); }},
        {"Concat", importConcat},
        {"MaxPool", maxPool},
        {"AveragePool", averagePool},
        {"GlobalAveragePool", [](Context &c) { c.setOutput(0, c.call("adaptive_avg_pool2d", {c.value(0), ints(c, {1, 1})})); }},
        {"Gemm", gemm},
        {"MatMul", matMul},
        {"Flatten", importFlatten},
        {"Reshape", importReshape},
        {"Transpose", importTranspose},
        {"Squeeze", importSqueeze},
        {"Unsqueeze", importUnsqueeze},
        {"Resize", resize},
        {"Pad", pad},
        {"Softmax", softmax},
        {"Identity", importIdentity},
        {"Dropout", importIdentity},
        {"Constant", importConstant},
        {"ConstantOfShape", importConstantOfShape},
        {"Shape", importShape},
        {"Gather", importGather},
        {"Slice", importSlice},
        {"Cast", importCast},
    };
    return table;
}

} // namespace

void importNode(Context &c)
{
    const auto &table = operators();
    const auto it = table.find(c.node->op_type());
    if (it == table.end())
        c.fail("the operator " + c.node->op_type() +
               " is not supported by Sparsity Explorer's ONNX import (docs/engine.md lists the supported operators)");
    it->second(c);
}

} // namespace sparsity::onnx_import
