// ONNX out: a tuned model written as an ONNX ModelProto (opset 13) from its inlined TorchScript forward graph.
// Torch 1.13's C++ API has no ONNX exporter, so the aten ops of the engine's graphs (TorchScript exports of CNN
// classifiers and segmenters, and our own ONNX imports) are translated here one by one. A thresholded site gets
// ONNX's ThresholdedRelu (y = x if x > alpha else 0, aten::threshold's semantics) after its activation; per-channel
// thresholds use standard ops (Exporter::threshold, onnxexportops.cpp).
#include "graph/onnxexport_p.h"
#include "graph/onnximport.h"

#include "error.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <onnx/checker.h>

#include <limits>
#include <sstream>

namespace sparsity {

using detail::Exporter;
using detail::kOpset;
using detail::scopeName;
using torch::jit::Node;
using torch::jit::Value;

void exportThresholdedOnnx(const Model &model, const std::string &outPath, const std::string &metadataJson)
{
    const Model::Impl *d = &model.impl();
    // A fresh copy of the archive with the tuned weights, inlined like the instrumented graph was.
    torch::jit::Module copy = d->tunedCopyFor(outPath);
    // The outputs' shapes for the graph's output types (the checker wants them): one plain forward pass.
    std::vector<std::vector<std::int64_t>> outputShapes;
    if (d->inputShape.size() == 3) {
        c10::InferenceMode guard;
        const c10::IValue result = copy.forward({torch::zeros({1, d->inputShape[0], d->inputShape[1], d->inputShape[2]})});
        std::vector<c10::IValue> items;
        if (result.isTensor())
            items.push_back(result);
        else if (result.isTuple())
            items = result.toTupleRef().elements().vec();
        else if (result.isGenericDict())
            for (const auto &entry : result.toGenericDict())
                items.push_back(entry.value());
        for (const auto &item : items)
            outputShapes.push_back(item.isTensor() ? item.toTensor().sizes().vec() : std::vector<std::int64_t>{});
    }
    auto g = graph::prepareForwardGraph(copy);
    const auto found = graph::findActivationSites(*g);
    if (int(found.size()) != d->activationSiteCount)
        throw Error(d->path + ": internal error: the export copy has " + std::to_string(found.size()) + " sites, expected " +
                    std::to_string(d->activationSiteCount));

    onnx::ModelProto proto;
    proto.set_ir_version(8);
    proto.set_producer_name("Sparsity Explorer");
    auto *opset = proto.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOpset);
    auto *graph = proto.mutable_graph();
    graph->set_name(d->metadata.name.empty() ? "tuned" : d->metadata.name);
    Exporter exporter(outPath, copy, *graph);

    QJsonObject thresholds;
    for (std::size_t i = 0; i < found.size(); ++i) {
        const auto &site = d->sites[i];
        exporter.nodeNames[found[i].node] = scopeName(site.name);
        const auto &perChannel = d->state->channelThresholds[i];
        const float t = d->state->thresholds[i];
        if (!site.sparsifiable || (perChannel.empty() && t == 0.0f))
            continue;
        exporter.thresholds[found[i].outputNode] = {site.name, t, perChannel, site.shape};
        if (perChannel.empty()) {
            thresholds.insert(QString::fromStdString(site.name), double(t));
        } else {
            QJsonArray values;
            for (float v : perChannel)
                values.append(double(v));
            thresholds.insert(QString::fromStdString(site.name), values);
        }
    }
    std::size_t layer = 0;
    for (Node *n : g->nodes())
        if (graph::isComputeLayer(n) && layer < d->layers.size())
            exporter.nodeNames[n] = scopeName(d->layers[layer++].geometry.name);

    auto *input = graph->add_input();
    input->set_name("input");
    auto *type = input->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    type->mutable_shape()->add_dim()->set_dim_param("batch");
    for (auto s : d->inputShape)
        type->mutable_shape()->add_dim()->set_dim_value(s);
    exporter.input(g->inputs()[1], "input");
    try {
        exporter.block(g->block());
    } catch (const c10::Error &e) {
        throw Error(outPath + ": cannot export the model to ONNX (" + std::string(e.what_without_backtrace()).substr(0, 300) + ")");
    }

    // Outputs: a tensor, or the tensors of a tuple or dict (named by their keys).
    Value *result = g->outputs()[0];
    std::vector<std::pair<std::string, Value *>> outputs;
    Node *producer = result->node();
    if (producer->kind() == c10::prim::TupleConstruct || producer->kind() == c10::prim::ListConstruct) {
        for (std::size_t i = 0; i < producer->inputs().size(); ++i)
            outputs.emplace_back("output" + (i ? std::to_string(i) : std::string()), producer->input(i));
    } else if (producer->kind() == c10::prim::DictConstruct) {
        for (std::size_t i = 0; i + 1 < producer->inputs().size(); i += 2)
            outputs.emplace_back(torch::jit::toIValue(producer->input(i))->toStringRef(), producer->input(i + 1));
    } else {
        outputs.emplace_back("output", result);
    }
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        const auto &[name, value] = outputs[k];
        auto *id = graph->add_node();
        id->set_op_type("Identity");
        id->set_name("/" + name + "/Identity");
        id->add_input(exporter.tensor(value));
        id->add_output(name);
        auto *o = graph->add_output();
        o->set_name(name);
        o->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
        auto *shape = o->mutable_type()->mutable_tensor_type()->mutable_shape();
        if (k < outputShapes.size() && !outputShapes[k].empty()) {
            shape->add_dim()->set_dim_param("batch");
            for (std::size_t i = 1; i < outputShapes[k].size(); ++i)
                shape->add_dim()->set_dim_value(outputShapes[k][i]);
        }
    }

    // Metadata: the caller's (recipe, measured figures), the thresholds, and the names of sites and layers.
    QJsonObject metadata = d->metadataWithGraphNames(metadataJson);
    metadata.insert(QStringLiteral("thresholds"), thresholds);
    auto *prop = proto.add_metadata_props();
    prop->set_key("sparsity_metadata");
    prop->set_value(QJsonDocument(metadata).toJson(QJsonDocument::Compact).toStdString());

    try {
        onnx::checker::check_model(proto);
    } catch (const std::exception &e) {
        throw Error(outPath + ": internal error: the exported ONNX model fails the ONNX checker (" + std::string(e.what()).substr(0, 400) + ")");
    }
    QSaveFile file(QString::fromStdString(outPath));
    const std::string bytes = proto.SerializeAsString();
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes.data(), qint64(bytes.size())) != qint64(bytes.size()) || !file.commit())
        throw Error(outPath + ": cannot write the exported model (" + file.errorString().toStdString() + ")");
}

} // namespace sparsity
