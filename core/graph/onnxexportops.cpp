// The aten ops of the engine's graphs, one by one, as ONNX nodes (opset 13); see onnxexport.cpp.
#include "graph/onnxexport_p.h"

#include "error.h"

#include <limits>

namespace sparsity::detail {

void Exporter::conv(Node *n, bool transposed, Value *bias, const std::vector<std::int64_t> &stride,
                    const std::vector<std::int64_t> &padding, const std::vector<std::int64_t> &dilation,
                    const std::vector<std::int64_t> &outputPadding, std::int64_t groups)
{
    std::vector<std::string> inputs{tensor(n->input(0)), tensor(n->input(1))};
    if (!constants_.count(bias) || !constants_[bias].isNone())
        inputs.push_back(tensor(bias));
    auto *p = emit(transposed ? "ConvTranspose" : "Conv", inputs, out(n), nodeName(n, transposed ? "ConvTranspose" : "Conv"));
    // Optional in ONNX, required by some runtimes (cv::dnn 4.6).
    const c10::IValue w = constant(n, 1);
    if (w.isTensor() && w.toTensor().dim() == 4)
        attr(p, "kernel_shape", std::vector<std::int64_t>{w.toTensor().size(2), w.toTensor().size(3)});
    attr(p, "strides", pair(stride));
    attr(p, "pads", twice(padding));
    attr(p, "dilations", pair(dilation));
    attr(p, "group", groups);
    if (transposed && !outputPadding.empty())
        attr(p, "output_padding", pair(outputPadding));
}

void Exporter::resize(Node *n, const std::string &mode, const std::string &coordinates)
{
    // sizes = shape(x)[0:2] ++ [H, W]: the batch and channel count stay those of the input.
    const std::string x = tensor(n->input(0)), shape = unique("/Shape");
    emit("Shape", {x}, shape);
    const std::string head = unique("/Slice");
    emit("Slice", {shape, ints({0}, "zero"), ints({2}, "two")}, head);
    const std::string sizes = unique("/Concat");
    attr(emit("Concat", {head, ints(pair(intList(n, 1)), "size")}, sizes), "axis", std::int64_t(0));
    auto *p = emit("Resize", {x, "", "", sizes}, out(n));
    attrS(p, "mode", mode);
    attrS(p, "coordinate_transformation_mode", coordinates);
    if (mode == "nearest")
        attrS(p, "nearest_mode", "floor");
}

// After a site's activation: its threshold. A scalar t is ThresholdedRelu(alpha = t); per channel,
// y = x * Cast(Greater(x, t_c), float), the engine's own x * (x > t_c).
void Exporter::threshold(Node *n)
{
    auto it = thresholds.find(n);
    if (it == thresholds.end())
        return;
    const auto &t = it->second;
    const std::string x = names_.at(n->output());
    const std::string base = scopeName(t.name) + "_threshold/";
    const std::string y = unique(x + "_thresholded");
    if (t.perChannel.empty()) {
        attrF(emit("ThresholdedRelu", {x}, y, base + "ThresholdedRelu"), "alpha", t.scalar);
    } else {
        std::vector<std::int64_t> view(t.shape.size(), 1);
        view[0] = std::int64_t(t.perChannel.size());
        const std::string tc = initializer(torch::tensor(t.perChannel).view(view), t.name + ".thresholds");
        const std::string above = unique(x + "_above"), mask = unique(x + "_mask");
        emit("Greater", {x, tc}, above, base + "Greater");
        attr(emit("Cast", {above}, mask, base + "Cast"), "to", std::int64_t(onnx::TensorProto::FLOAT));
        emit("Mul", {x, mask}, y, base + "Mul");
    }
    names_[n->output()] = y;
}

void Exporter::node(Node *n)
{
    const std::string k = n->kind().toQualString();
    auto none = [&](int i) { return constants_.count(n->input(std::size_t(i))) && constants_[n->input(std::size_t(i))].isNone(); };
    auto scalar = [&](int i) { return constant(n, i).toScalar().toDouble(); };
    if (k == "prim::Constant") {
        constants_[n->output()] = *torch::jit::toIValue(n->output());
    } else if (k == "prim::GetAttr") {
        const auto &field = n->s(c10::attr::name);
        c10::IValue owner = n->input(0)->node()->kind() == c10::prim::Param ? root_._ivalue() : constant(n, 0);
        if (!owner.isObject() || !owner.toObject()->type()->hasAttribute(field))
            fail(n, "attribute '" + field + "' cannot be resolved");
        constants_[n->output()] = owner.toObject()->getAttr(field);
        const auto parent = attrPaths_.find(n->input(0));
        attrPaths_[n->output()] = parent == attrPaths_.end() ? field : parent->second + "." + field;
    } else if (k == "prim::ListConstruct" || k == "prim::TupleConstruct") {
        lists_[n->output()] = std::vector<Value *>(n->inputs().begin(), n->inputs().end());
        if (auto iv = torch::jit::toIValue(n->output()))
            constants_[n->output()] = *iv;
        else {
            std::vector<std::int64_t> values;
            bool allInts = true;
            for (Value *v : n->inputs()) {
                auto c = constants_.find(v);
                allInts = allInts && c != constants_.end() && c->second.isInt();
                if (allInts)
                    values.push_back(c->second.toInt());
            }
            if (allInts && k == "prim::ListConstruct")
                constants_[n->output()] = c10::IValue(values);
        }
    } else if (k == "prim::If") {
        const c10::IValue cond = constant(n, 0);
        if (!cond.isBool())
            fail(n, "the branch condition is not a constant");
        torch::jit::Block *taken = n->blocks()[cond.toBool() ? 0 : 1];
        block(taken);
        for (std::size_t i = 0; i < n->outputs().size(); ++i)
            alias(n->output(i), taken->outputs()[i]);
    } else if (k == "aten::size") {
        sizes_[n->output()] = {n->input(0), constant(n, 1).toInt()};
    } else if (k == "aten::dropout" || k == "aten::dropout_" || k == "aten::contiguous" || k == "aten::detach" ||
               k == "aten::feature_dropout") {
        alias(n->output(), n->input(0));
    } else if (k == "aten::_convolution") {
        conv(n, constant(n, 6).toBool(), n->input(2), intList(n, 3), intList(n, 4), intList(n, 5), intList(n, 7), constant(n, 8).toInt());
    } else if (k == "aten::conv2d") {
        conv(n, false, n->input(2), intList(n, 3), intList(n, 4), intList(n, 5), {}, constant(n, 6).toInt());
    } else if (k == "aten::conv_transpose2d") {
        conv(n, true, n->input(2), intList(n, 3), intList(n, 4), intList(n, 7), intList(n, 5), constant(n, 6).toInt());
    } else if (k == "aten::batch_norm") {
        const at::Tensor mean = constant(n, 3).toTensor();
        const std::string w = none(1) ? initializer(at::ones_like(mean), "bn_scale") : tensor(n->input(1));
        const std::string b = none(2) ? initializer(at::zeros_like(mean), "bn_bias") : tensor(n->input(2));
        attrF(emit("BatchNormalization", {tensor(n->input(0)), w, b, tensor(n->input(3)), tensor(n->input(4))}, out(n)), "epsilon", scalar(7));
    } else if (k == "aten::relu" || k == "aten::relu_") {
        emit("Relu", {tensor(n->input(0))}, out(n), nodeName(n, "Relu"));
    } else if (k == "aten::hardtanh" || k == "aten::hardtanh_" || k == "aten::relu6" || k == "aten::relu6_") {
        const bool six = k.find("relu6") != std::string::npos;
        emit("Clip", {tensor(n->input(0)), initializer(at::scalar_tensor(six ? 0.0 : scalar(1)), "clip_min"),
                      initializer(at::scalar_tensor(six ? 6.0 : scalar(2)), "clip_max")},
             out(n), nodeName(n, "Clip"));
    } else if (k == "aten::clamp" || k == "aten::clamp_" || k == "aten::clamp_min" || k == "aten::clamp_min_") {
        const bool hasMax = n->inputs().size() > 2 && !none(2);
        emit("Clip", {tensor(n->input(0)), none(1) ? "" : initializer(at::scalar_tensor(scalar(1)), "clip_min"),
                      hasMax ? initializer(at::scalar_tensor(scalar(2)), "clip_max") : ""},
             out(n), nodeName(n, "Clip"));
    } else if (k == "aten::threshold" || k == "aten::threshold_") {
        if (scalar(2) != 0.0)
            fail(n, "only a threshold that replaces by 0 has an ONNX equivalent (ThresholdedRelu)");
        attrF(emit("ThresholdedRelu", {tensor(n->input(0))}, out(n), nodeName(n, "ThresholdedRelu")), "alpha", scalar(1));
    } else if (k == "aten::leaky_relu" || k == "aten::leaky_relu_") {
        attrF(emit("LeakyRelu", {tensor(n->input(0))}, out(n), nodeName(n, "LeakyRelu")), "alpha", scalar(1));
    } else if (k == "aten::sigmoid" || k == "aten::sigmoid_") {
        emit("Sigmoid", {tensor(n->input(0))}, out(n), nodeName(n, "Sigmoid"));
    } else if (k == "aten::hardsigmoid" || k == "aten::hardswish" || k == "aten::hardsigmoid_" || k == "aten::hardswish_") {
        const bool swish = k.find("swish") != std::string::npos;
        const std::string x = tensor(n->input(0)), gate = swish ? unique(x + "_gate") : out(n);
        auto *p = emit("HardSigmoid", {x}, gate, nodeName(n, "HardSigmoid"));
        attrF(p, "alpha", 1.0 / 6.0);
        attrF(p, "beta", 0.5);
        if (swish) // HardSwish is opset 14; x * hardsigmoid(x) is the same function
            emit("Mul", {x, gate}, out(n));
    } else if (k == "aten::add" || k == "aten::add_" || k == "aten::sub" || k == "aten::sub_" || k == "aten::mul" ||
               k == "aten::mul_" || k == "aten::div" || k == "aten::div_") {
        const bool withAlpha = (k.find("add") != std::string::npos || k.find("sub") != std::string::npos) && n->inputs().size() > 2;
        if (withAlpha && scalar(2) != 1.0)
            fail(n, "an alpha other than 1");
        if (k.find("div") != std::string::npos && n->inputs().size() > 2 && !none(2))
            fail(n, "a rounding mode");
        const std::string op = k.find("add") != std::string::npos ? "Add" : k.find("sub") != std::string::npos ? "Sub"
                               : k.find("mul") != std::string::npos ? "Mul" : "Div";
        emit(op, {tensor(n->input(0)), tensor(n->input(1))}, out(n));
    } else if (k == "aten::cat") {
        std::vector<std::string> parts;
        for (Value *v : lists_.at(n->input(0)))
            parts.push_back(tensor(v));
        attr(emit("Concat", parts, out(n)), "axis", constant(n, 1).toInt());
    } else if (k == "aten::max_pool2d") {
        auto *p = pool(n, "MaxPool");
        attr(p, "dilations", pair(intList(n, 4)));
        attr(p, "ceil_mode", std::int64_t(constant(n, 5).toBool()));
    } else if (k == "aten::avg_pool2d") {
        auto *p = pool(n, "AveragePool");
        attr(p, "ceil_mode", std::int64_t(constant(n, 4).toBool()));
        attr(p, "count_include_pad", std::int64_t(constant(n, 5).toBool()));
    } else if (k == "aten::adaptive_avg_pool2d") {
        if (pair(intList(n, 1)) != std::vector<std::int64_t>{1, 1})
            fail(n, "only a 1 x 1 output (global average pooling) has a plain ONNX equivalent");
        emit("GlobalAveragePool", {tensor(n->input(0))}, out(n));
    } else if (k == "aten::mean") {
        auto *p = emit("ReduceMean", {tensor(n->input(0))}, out(n));
        attr(p, "axes", intList(n, 1));
        attr(p, "keepdims", std::int64_t(constant(n, 2).toBool()));
    } else if (k == "aten::flatten") {
        if (constant(n, 1).toInt() != 1 || constant(n, 2).toInt() != -1)
            fail(n, "only flatten(x, 1) has an ONNX equivalent here");
        attr(emit("Flatten", {tensor(n->input(0))}, out(n)), "axis", std::int64_t(1));
    } else if (k == "aten::linear") {
        std::vector<std::string> inputs{tensor(n->input(0)), tensor(n->input(1))};
        if (!none(2))
            inputs.push_back(tensor(n->input(2)));
        attr(emit("Gemm", inputs, out(n), nodeName(n, "Gemm")), "transB", std::int64_t(1));
    } else if (k == "aten::gt") {
        emit("Greater", {tensor(n->input(0)), tensor(n->input(1))}, out(n));
    } else if (k == "aten::to") {
        attr(emit("Cast", {tensor(n->input(0))}, out(n)), "to", std::int64_t(onnx::TensorProto::FLOAT));
    } else if (k == "aten::matmul") {
        emit("MatMul", {tensor(n->input(0)), tensor(n->input(1))}, out(n));
    } else if (k == "aten::reshape" || k == "aten::view") {
        std::vector<std::int64_t> shape;
        if (auto c = constants_.find(n->input(1)); c != constants_.end())
            shape = c->second.toIntVector();
        else
            for (Value *v : lists_.at(n->input(1))) {
                auto s = sizes_.find(v);
                if (s != sizes_.end() && s->second.first == n->input(0) && s->second.second == std::int64_t(shape.size()))
                    shape.push_back(0); // ONNX: copy this dimension from the input
                else if (auto c = constants_.find(v); c != constants_.end() && c->second.isInt())
                    shape.push_back(c->second.toInt());
                else
                    fail(n, "a shape computed at run time");
            }
        emit("Reshape", {tensor(n->input(0)), ints(shape, "shape")}, out(n));
    } else if (k == "aten::view_as" || k == "aten::reshape_as") {
        const std::string shape = unique("/Shape");
        emit("Shape", {tensor(n->input(1))}, shape);
        emit("Reshape", {tensor(n->input(0)), shape}, out(n));
    } else if (k == "aten::permute") {
        attr(emit("Transpose", {tensor(n->input(0))}, out(n)), "perm", intList(n, 1));
    } else if (k == "aten::t") {
        attr(emit("Transpose", {tensor(n->input(0))}, out(n)), "perm", std::vector<std::int64_t>{1, 0});
    } else if (k == "aten::squeeze" || k == "aten::unsqueeze") {
        std::vector<std::string> inputs{tensor(n->input(0))};
        if (n->inputs().size() > 1)
            inputs.push_back(ints(intList(n, 1), "axes"));
        emit(k == "aten::squeeze" ? "Squeeze" : "Unsqueeze", inputs, out(n));
    } else if (k == "aten::softmax") {
        attr(emit("Softmax", {tensor(n->input(0))}, out(n)), "axis", constant(n, 1).toInt());
    } else if (k == "aten::upsample_bilinear2d") {
        resize(n, "linear", constant(n, 2).toBool() ? "align_corners" : "pytorch_half_pixel");
    } else if (k == "aten::upsample_nearest2d") {
        resize(n, "nearest", "asymmetric");
    } else if (k == "aten::constant_pad_nd" || k == "aten::reflection_pad2d" || k == "aten::replication_pad2d") {
        const auto pads = intList(n, 1); // (begin, end) pairs from the last axis backwards; images are 4-D
        if (pads.size() > 8 || pads.size() % 2)
            fail(n, "padding of more than four axes");
        std::vector<std::int64_t> onnxPads(8, 0);
        for (std::size_t i = 0; i < pads.size() / 2; ++i) {
            onnxPads[3 - i] = pads[2 * i];
            onnxPads[7 - i] = pads[2 * i + 1];
        }
        std::vector<std::string> inputs{tensor(n->input(0)), ints(onnxPads, "pads")};
        if (k == "aten::constant_pad_nd")
            inputs.push_back(initializer(at::scalar_tensor(scalar(2)), "pad_value"));
        attrS(emit("Pad", inputs, out(n)), "mode", k == "aten::constant_pad_nd" ? "constant" : k == "aten::reflection_pad2d" ? "reflect" : "edge");
    } else if (k == "aten::select") {
        attr(emit("Gather", {tensor(n->input(0)), initializer(at::scalar_tensor(constant(n, 2).toInt(), at::kLong), "index")}, out(n)),
             "axis", constant(n, 1).toInt());
    } else if (k == "aten::slice") {
        const std::int64_t start = none(2) ? 0 : constant(n, 2).toInt();
        const std::int64_t end = none(3) ? std::numeric_limits<std::int64_t>::max() : constant(n, 3).toInt();
        emit("Slice", {tensor(n->input(0)), ints({start}, "starts"), ints({end}, "ends"), ints({constant(n, 1).toInt()}, "axes"),
                       ints({constant(n, 4).toInt()}, "steps")},
             out(n));
    } else {
        fail(n, "this operator has no ONNX translation in Sparsity Explorer (docs/engine.md lists the ones that do)");
    }
    threshold(n);
}

} // namespace sparsity::detail
