// ONNX in: parse, check and shape-infer the protobuf with libonnx, then rebuild the model as a TorchScript module
// (onnxops.cpp has the operator table) and hand it to Model::load as a TorchScript archive.
#include "graph/onnximport.h"
#include "graph/model_p.h"
#include "graph/onnximport_p.h"

#include "error.h"
#include "io/boundedread.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <torch/csrc/jit/frontend/schema_matching.h>
#include <torch/csrc/jit/ir/constants.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

namespace sparsity {

using torch::jit::Node;
using torch::jit::Value;

bool isOnnxPath(const std::string &path)
{
    if (path.size() < 5)
        return false;
    std::string suffix = path.substr(path.size() - 5);
    std::transform(suffix.begin(), suffix.end(), suffix.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return suffix == ".onnx";
}

namespace onnx_import {

std::string Context::where() const
{
    if (!node)
        return path + ": ";
    return path + ": node '" + node->name() + "' (" + node->op_type() + "): ";
}

void Context::fail(const std::string &problem) const
{
    throw Error(where() + problem);
}

bool Context::has(int input) const
{
    return input < node->input_size() && !node->input(input).empty();
}

Value *Context::value(int input)
{
    if (!has(input))
        fail("input " + std::to_string(input) + " is missing");
    const std::string &name = node->input(input);
    if (auto it = runtime.find(name); it != runtime.end())
        return it->second;
    if (auto it = statics.find(name); it != statics.end()) {
        // A constant operand of a run-time op (a Mul by a scale, a Concat with a fixed tensor): keep it on the
        // module so the archive carries it, and read it once.
        Value *v = attribute(it->second.to(at::kFloat), name, false);
        runtime[name] = v;
        return v;
    }
    fail("input '" + name + "' is not produced by any earlier node, initializer or graph input");
}

const at::Tensor &Context::constant(int input) const
{
    if (!has(input))
        fail("input " + std::to_string(input) + " is missing");
    auto it = statics.find(node->input(input));
    if (it == statics.end())
        fail("input '" + node->input(input) +
             "' is computed at run time; Sparsity Explorer needs it to be a constant (an initializer or a static shape)");
    return it->second;
}

std::vector<std::int64_t> Context::ints(int input) const
{
    const at::Tensor t = constant(input).to(at::kLong).contiguous();
    return std::vector<std::int64_t>(t.data_ptr<std::int64_t>(), t.data_ptr<std::int64_t>() + t.numel());
}

std::vector<std::int64_t> Context::shapeOf(int input) const
{
    if (!has(input))
        fail("input " + std::to_string(input) + " is missing");
    const std::string &name = node->input(input);
    if (auto it = statics.find(name); it != statics.end())
        return it->second.sizes().vec();
    auto it = shapes.find(name);
    if (it == shapes.end())
        fail("the shape of '" + name + "' is not static (ONNX shape inference could not determine it)");
    return it->second;
}

Value *Context::attribute(const at::Tensor &t, const std::string &nameHint, bool trainable)
{
    std::string name;
    for (char c : nameHint)
        name.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
        name = "w_" + name;
    if (const int n = attributeUses[name]++; n > 0)
        name += "_" + std::to_string(n);
    while (module->hasattr(name))
        name += "_";
    at::Tensor stored = t.contiguous().clone();
    if (trainable)
        stored.set_requires_grad(true);
    if (trainable)
        module->register_parameter(name, stored, false);
    else
        module->register_buffer(name, stored);
    return graph->insertGetAttr(self, name);
}

Value *Context::constantValue(const c10::IValue &v)
{
    return graph->insertConstant(v);
}

Value *Context::call(const char *op, std::vector<torch::jit::NamedValue> args)
{
    try {
        return graph->insert(c10::Symbol::fromQualString(std::string("aten::") + op), args);
    } catch (const std::exception &e) {
        fail(std::string("cannot express it as aten::") + op + " (" + std::string(e.what()).substr(0, 300) + ")");
    }
}

void Context::setOutput(int output, Value *v)
{
    if (output < node->output_size() && !node->output(output).empty())
        runtime[node->output(output)] = v;
}

void Context::setStatic(int output, const at::Tensor &t)
{
    if (output < node->output_size() && !node->output(output).empty())
        statics[node->output(output)] = t;
}

namespace {

std::string directoryOf(const std::string &path)
{
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::vector<std::int64_t> staticShape(const onnx::ValueInfoProto &info, bool firstIsBatch)
{
    std::vector<std::int64_t> shape;
    if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape())
        return {};
    const auto &dims = info.type().tensor_type().shape().dim();
    for (int i = 0; i < dims.size(); ++i) {
        if (dims[i].has_dim_value())
            shape.push_back(dims[i].dim_value());
        else if (i == 0 && firstIsBatch)
            shape.push_back(1);
        else
            return {};
    }
    return shape;
}

// The module path a torch.onnx.export node name encodes, in TorchScript's dotted form. Node names are the scope
// chain plus the operator ("/layer1/layer1.0/relu/Relu", "/features/features.0/features.0.2/Clip"); a module
// called a second time gets its scope suffixed ("relu_1"), which TorchScript calls the same module again (named
// "...relu#2" by the engine).
struct Scope {
    std::string raw;  // the node name without its last component
    std::string path; // dotted module path
};

Scope scopeOf(const std::string &nodeName)
{
    Scope s;
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(nodeName);
    while (std::getline(in, part, '/'))
        if (!part.empty())
            parts.push_back(part);
    if (parts.size() < 2)
        return s;
    parts.pop_back(); // the operator
    for (const auto &p : parts) {
        s.raw += "/" + p;
        // A scope is named by the module's last non-numeric attribute and what follows ("layer1.0" for
        // layer1[0], "conv1" for layer1[0].conv1): its own attribute is the last dotted atom.
        const auto dot = p.rfind('.');
        s.path = s.path.empty() ? p : s.path + "." + (dot == std::string::npos ? p : p.substr(dot + 1));
    }
    return s;
}

// Names the site or layer an ONNX node became, in the engine's TorchScript convention: the module path for an
// activation module (a scope holding that one operator) or a layer, path + "." + op for a functional activation
// inside a larger module, the lower-case op at top level.
class Namer {
public:
    explicit Namer(const onnx::GraphProto &graph)
    {
        for (const auto &n : graph.node()) {
            if (n.op_type() == "Constant")
                continue;
            const Scope s = scopeOf(n.name());
            ++opsInScope[s.raw];
            paths.insert(s.path);
            for (auto slash = s.raw.rfind('/'); slash != std::string::npos && slash > 0; slash = s.raw.rfind('/', slash - 1))
                hasChildren.insert(s.raw.substr(0, slash));
        }
    }

    std::string name(const onnx::NodeProto &n, const std::string &torchOp) const
    {
        const Scope s = scopeOf(n.name());
        if (s.path.empty())
            return n.name().empty() || n.name().find('/') != std::string::npos ? torchOp : sanitize(n.name());
        std::string path = s.path;
        // "relu_1" is the second call of "relu" when "relu" exists too.
        const auto underscore = path.rfind('_');
        if (underscore != std::string::npos && underscore + 1 < path.size() &&
            std::all_of(path.begin() + long(underscore) + 1, path.end(), [](unsigned char c) { return std::isdigit(c); }) &&
            paths.count(path.substr(0, underscore)))
            path = path.substr(0, underscore);
        const auto ops = opsInScope.find(s.raw);
        const bool leafWithOneOp = !hasChildren.count(s.raw) && ops != opsInScope.end() && ops->second == 1;
        return leafWithOneOp ? path : path + "." + torchOp;
    }

private:
    static std::string sanitize(const std::string &name)
    {
        std::string out;
        for (char c : name)
            out.push_back(c == '/' || c == ':' ? '.' : c);
        return out;
    }
    std::map<std::string, int> opsInScope;
    std::set<std::string> hasChildren, paths;
};

onnx::ModelProto parseAndCheck(const std::string &path)
{
    const std::string bytes = readBoundedText(path, limits::kModelFileBytes, "ONNX model");
    onnx::ModelProto model;
    if (bytes.empty() || !model.ParseFromString(bytes))
        throw Error(path + ": not a valid ONNX model (the protobuf cannot be parsed; the file may be truncated or not ONNX)");
    if (!model.has_graph() || model.graph().node_size() == 0)
        throw Error(path + ": the ONNX model holds no graph (the file may be truncated)");
    return model;
}

// After the initializers are read (a missing external-data file gets our own message first): the checker, given
// the file so that it resolves external data next to it.
void check(const std::string &path)
{
    try {
        onnx::checker::check_model(path);
    } catch (const std::exception &e) {
        throw Error(path + ": the ONNX checker rejects the model (" + std::string(e.what()).substr(0, 400) +
                    "); the file may be truncated or damaged");
    }
}

int defaultOpset(const onnx::ModelProto &model)
{
    for (const auto &o : model.opset_import())
        if (o.domain().empty() || o.domain() == "ai.onnx")
            return int(o.version());
    return 0;
}

} // namespace
} // namespace onnx_import

std::string importOnnxAsTorchScript(const std::string &path)
{
    using namespace onnx_import;
    onnx::ModelProto model = parseAndCheck(path);
    const auto &graph = model.graph();
    Context ctx;
    ctx.path = path;
    ctx.opset = defaultOpset(model);
    if (ctx.opset < 7)
        throw Error(path + ": ONNX opset " + std::to_string(ctx.opset) + " is older than Sparsity Explorer reads (7 and later)");

    // Initializers first: an old exporter also lists them as graph inputs.
    const std::string dir = directoryOf(path);
    for (const auto &t : graph.initializer())
        ctx.statics[t.name()] = tensorFromProto(t, dir, path);
    check(path);
    std::vector<const onnx::ValueInfoProto *> inputs;
    for (const auto &in : graph.input())
        if (!ctx.statics.count(in.name()))
            inputs.push_back(&in);
    if (inputs.size() != 1)
        throw Error(path + ": the ONNX graph has " + std::to_string(inputs.size()) +
                    " inputs; Sparsity Explorer feeds a model one image batch (N x C x H x W)");
    if (graph.output_size() < 1)
        throw Error(path + ": the ONNX graph has no output");

    // Shape inference on a copy whose batch size is fixed to 1: static shapes for Shape, auto_pad and Resize.
    {
        onnx::ModelProto shaped = model;
        for (auto &in : *shaped.mutable_graph()->mutable_input()) {
            auto *shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
            if (shape->dim_size() > 0 && !shape->dim(0).has_dim_value())
                shape->mutable_dim(0)->set_dim_value(1);
        }
        try {
            onnx::shape_inference::InferShapes(shaped, onnx::OpSchemaRegistry::Instance(), onnx::ShapeInferenceOptions(false, 0, true));
        } catch (const std::exception &e) {
            throw Error(path + ": ONNX shape inference fails (" + std::string(e.what()).substr(0, 300) + ")");
        }
        const auto &g = shaped.graph();
        for (const auto *list : {&g.input(), &g.value_info(), &g.output()})
            for (const auto &info : *list)
                if (auto shape = staticShape(info, false); !shape.empty() || info.type().tensor_type().shape().dim_size() == 0)
                    if (info.type().tensor_type().has_shape())
                        ctx.shapes[info.name()] = shape;
    }
    const std::vector<std::int64_t> inputShape = staticShape(*inputs[0], true);

    auto cu = std::make_shared<torch::jit::CompilationUnit>();
    torch::jit::Module module(c10::QualifiedName("__torch__.OnnxModel"), cu);
    auto g = std::make_shared<torch::jit::Graph>();
    ctx.module = &module;
    ctx.graph = g.get();
    ctx.self = g->addInput("self")->setType(module.type());
    ctx.runtime[inputs[0]->name()] = g->addInput("x")->setType(c10::TensorType::get());

    // Which ONNX node each IR node came from, for the site and layer names.
    std::map<const Node *, int> origin;
    for (int i = 0; i < graph.node_size(); ++i) {
        ctx.node = &graph.node(i);
        if (!ctx.node->domain().empty() && ctx.node->domain() != "ai.onnx")
            ctx.fail("operator domain '" + ctx.node->domain() + "' is not supported (only the standard ONNX operators are)");
        Node *before = g->block()->return_node()->prev();
        try {
            importNode(ctx);
        } catch (const Error &) {
            throw;
        } catch (const c10::Error &e) {
            ctx.fail(std::string(e.what_without_backtrace()).substr(0, 300));
        } catch (const std::exception &e) {
            ctx.fail(std::string(e.what()).substr(0, 300));
        }
        for (Node *n = before->next(); n != g->block()->return_node(); n = n->next())
            origin[n] = i;
    }
    ctx.node = nullptr;
    std::vector<Value *> outputs;
    for (const auto &out : graph.output()) {
        auto it = ctx.runtime.find(out.name());
        if (it == ctx.runtime.end())
            throw Error(path + ": the graph output '" + out.name() + "' does not depend on the input; nothing to explore");
        outputs.push_back(it->second);
    }
    if (outputs.size() == 1)
        g->registerOutput(outputs[0]);
    else
        g->registerOutput(g->insertNode(g->createTuple(outputs))->output());
    auto fn = cu->create_function(c10::QualifiedName(*module.type()->name(), "forward"), g);
    module.type()->addMethod(fn);

    // Site and layer names, in the order Model::load finds them.
    const Namer namer(graph);
    auto nameOf = [&](const Node *n) {
        auto it = origin.find(n);
        std::string op = n->kind().toUnqualString();
        if (!op.empty() && op.back() == '_')
            op.pop_back();
        return it == origin.end() ? op : namer.name(graph.node(it->second), op);
    };
    QJsonArray siteNames, layerNames;
    std::vector<std::string> taken, takenLayers;
    for (const auto &site : graph::findActivationSites(*g))
        siteNames.append(QString::fromStdString(graph::uniqueName(nameOf(site.node), taken)));
    for (Node *n : g->nodes())
        if (graph::isComputeLayer(n))
            layerNames.append(QString::fromStdString(graph::uniqueName(nameOf(n), takenLayers)));

    QJsonObject metadata;
    const std::string fileName = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
    metadata.insert(QStringLiteral("name"), QString::fromStdString(graph.name().empty() ? fileName : graph.name()));
    const auto outShape = ctx.shapes.count(graph.output(0).name()) ? ctx.shapes.at(graph.output(0).name()) : std::vector<std::int64_t>{};
    const bool segmentation = outShape.size() == 4 && inputShape.size() == 4 && outShape[2] == inputShape[2] && outShape[3] == inputShape[3];
    metadata.insert(QStringLiteral("task"), segmentation ? QStringLiteral("segmentation") : QStringLiteral("classification"));
    if (inputShape.size() == 4)
        metadata.insert(QStringLiteral("input"), QJsonObject{{QStringLiteral("shape"), QJsonArray{qint64(inputShape[1]), qint64(inputShape[2]), qint64(inputShape[3])}}});
    metadata.insert(QStringLiteral("source"), QJsonObject{{QStringLiteral("format"), QStringLiteral("onnx")},
                                                          {QStringLiteral("opset"), ctx.opset},
                                                          {QStringLiteral("producer"), QString::fromStdString(model.producer_name() + " " + model.producer_version())}});
    // Our own export keeps the names the tuned model had (and its thresholds file refers to).
    for (const auto &prop : model.metadata_props()) {
        if (prop.key() != "sparsity_metadata")
            continue;
        const QJsonObject exported = QJsonDocument::fromJson(QByteArray::fromStdString(prop.value())).object();
        const QJsonObject names = exported.value(QStringLiteral("graph_names")).toObject();
        if (names.value(QStringLiteral("sites")).toArray().size() == siteNames.size())
            siteNames = names.value(QStringLiteral("sites")).toArray();
        if (names.value(QStringLiteral("layers")).toArray().size() == layerNames.size())
            layerNames = names.value(QStringLiteral("layers")).toArray();
        metadata.insert(QStringLiteral("exported"), exported);
    }
    metadata.insert(QStringLiteral("graph_names"), QJsonObject{{QStringLiteral("sites"), siteNames}, {QStringLiteral("layers"), layerNames}});

    std::ostringstream archive;
    try {
        module.save(archive, {{"sparsity_metadata.json", QJsonDocument(metadata).toJson().toStdString()}});
    } catch (const std::exception &e) {
        throw Error(path + ": the imported model cannot be saved as TorchScript (" + std::string(e.what()).substr(0, 300) + ")");
    }
    return archive.str();
}

} // namespace sparsity
