#include "graph/model_p.h"
#include "graph/instrument_p.h"
#include "graph/onnximport.h"

#include "error.h"
#include "graph/quarantine.h"
#include "graph/quarantine_p.h"
#include "io/boundedread.h"
#include "io/ziparchive.h"
#include "io/outputpaths.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <ATen/Parallel.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/csrc/jit/serialization/import.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <malloc.h>

namespace sparsity {

using torch::jit::Node;
using torch::jit::Value;
using detail::foldBatchNormIntoProbe;
using detail::insertProbe;
using detail::isProbe;
using detail::probeKinds;
using detail::replaceReluByProbe;

namespace {

const char *const kMetadataFile = kModelMetadataFile;

// The first line of a torch error is the useful part; the rest is a C++ backtrace.
std::string firstLines(const std::string &message, int lines = 3)
{
    std::istringstream in(message);
    std::string line, out;
    for (int i = 0; i < lines && std::getline(in, line);) {
        if (line.empty() || line.rfind("Exception raised from", 0) == 0)
            continue;
        out += (out.empty() ? "" : " ") + line;
        ++i;
    }
    return out;
}

std::string describeSignature(const c10::FunctionSchema &schema, int &requiredTensorInputs, std::string &problem)
{
    std::string text = "forward(";
    requiredTensorInputs = 0;
    for (std::size_t i = 1; i < schema.arguments().size(); ++i) {
        const auto &arg = schema.arguments()[i];
        text += (i > 1 ? ", " : "") + arg.name() + ": " + arg.type()->str();
        const bool required = !arg.default_value().has_value();
        if (!required)
            continue;
        if (arg.type()->kind() == c10::TypeKind::TensorType)
            ++requiredTensorInputs;
        else
            problem = "its argument '" + arg.name() + "' is a " + arg.type()->str() + ", not a tensor";
    }
    return text + ")";
}

} // namespace

void initTorchThreads()
{
    static std::once_flag once;
    std::call_once(once, [] {
        // SPARSITY_THREADS overrides the core count (e.g. when several jobs share the machine).
        int threads = int(std::max(1u, std::thread::hardware_concurrency()));
        if (const char *env = std::getenv("SPARSITY_THREADS"); env && std::atoi(env) > 0)
            threads = std::atoi(env);
        at::set_num_threads(threads);
        // Every forward pass allocates and frees activation tensors of a few MiB. Above glibc's mmap threshold
        // each one is a fresh mmap whose pages fault in and are zeroed again, which cost the sample ResNet more
        // than its convolutions (bench_capture: a plain forward 0.44 s -> 0.21 s for 2,000 images). Keep such
        // blocks in the heap instead; peak memory stays flat (the same blocks are reused batch after batch).
        mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
        if (const char *env = std::getenv("SPARSITY_JIT_PROFILING"); env && std::string(env) == "0")
            torch::jit::getProfilingMode() = false;
    });
}

Model::Model() : d(std::make_unique<Impl>()) {}
Model::~Model() = default;

Model::Impl::~Impl()
{
    if (probeId)
        detail::unregisterProbeState(probeId);
}

std::shared_ptr<Model> Model::load(const std::string &path)
{
    initTorchThreads();
    std::shared_ptr<Model> model(new Model());
    Impl &d = *model->d;
    d.path = path;
    if (isOnnxPath(path)) {
        // An ONNX model is rebuilt as TorchScript by our own importer (no pickles); from here on both formats
        // take the same path.
        d.bytes = importOnnxAsTorchScript(path);
    } else {
        d.bytes = readBoundedText(path, limits::kModelFileBytes, "model");
        if (d.bytes.size() >= 4 && d.bytes.compare(0, 2, "PK") == 0) {
            checkTorchArchive(d.bytes, path, "TorchScript model"); // LibTorch's zip reader trusts offsets, skips CRCs
            if (modelQuarantine())
                checkModelOnce(path, d.bytes); // before LibTorch's unpickler sees the archive in this process
        }
    }
    if (d.bytes.size() < 4 || d.bytes.compare(0, 2, "PK") != 0)
        throw Error(path + ": not a TorchScript archive (a TorchScript model is a zip file; this file does not start "
                           "with the zip signature). Export the model with torch.jit.script(model).save(path) or "
                           "torch.jit.trace(model, example).save(path).");
    torch::jit::ExtraFilesMap extra{{kMetadataFile, ""}};
    try {
        std::istringstream in(d.bytes);
        d.module = torch::jit::load(in, c10::kCPU, extra);
    } catch (const std::exception &e) {
        throw Error(path + ": cannot load as TorchScript (" + firstLines(e.what(), 2) +
                    "). The file may be truncated, or not saved by torch.jit.save.");
    }
    detail::checkModuleTensors(d.module, path);
    if (!extra[kMetadataFile].empty())
        d.metadata = parseModelMetadata(extra[kMetadataFile], path);
    d.module.eval();

    auto method = d.module.find_method("forward");
    if (!method)
        throw Error(path + ": the TorchScript module has no forward method");
    int tensorInputs = 0;
    std::string problem;
    d.signature = describeSignature(method->function().getSchema(), tensorInputs, problem);
    if (!problem.empty() || tensorInputs != 1)
        throw Error(path + ": its " + d.signature + " cannot be fed one image batch" +
                    (problem.empty() ? " (it needs " + std::to_string(tensorInputs) + " tensor inputs)" : ": " + problem) +
                    "; Sparsity Explorer calls forward with a single N x C x H x W tensor");

    d.state = std::make_shared<detail::ProbeState>();
    d.probeId = detail::registerProbeState(d.state);
    std::unordered_set<const torch::jit::Node *> madeFunctional; // in-place ReLUs in the model: see ProbeState
    std::vector<bool> overwritesInput;
    try {
        d.graph = graph::prepareForwardGraph(d.module, &madeFunctional);
    } catch (const std::exception &e) {
        throw Error(path + ": cannot inline the forward graph (" + firstLines(e.what(), 2) + ")");
    }
    auto &g = *d.graph;

    // Activation sites first, then input taps on conv/linear inputs that no activation feeds directly.
    auto found = graph::findActivationSites(g);
    if (d.metadata.siteNames.size() == found.size())
        for (std::size_t i = 0; i < found.size(); ++i)
            found[i].name = d.metadata.siteNames[i];
    std::vector<std::string> names;
    for (const auto &f : found) {
        Site s;
        s.index = int(d.sites.size());
        s.name = f.name;
        s.op = f.node->kind().toQualString();
        s.kind = f.kind;
        s.sparsifiable = f.sparsifiable;
        s.denseReason = f.denseReason;
        s.inControlFlow = f.inControlFlow;
        names.push_back(s.name);
        s.bakedThreshold = f.bakedThreshold;
        const bool plainRelu = f.node->kind() == c10::aten::relu && f.outputNode == f.node;
        overwritesInput.push_back(plainRelu && madeFunctional.count(f.node) != 0);
        Node *p = plainRelu ? replaceReluByProbe(g, f.node, d.probeId, s.index)
                            : insertProbe(g, f.outputNode->output(), d.probeId, s.index, f.inPlace);
        d.siteOutputs.push_back(p->output());
        d.sites.push_back(s);
    }
    d.activationSiteCount = int(d.sites.size());

    std::vector<Node *> computeNodes;
    std::function<void(torch::jit::Block *)> walk = [&](torch::jit::Block *b) {
        for (Node *n : b->nodes()) {
            if (graph::isComputeLayer(n))
                computeNodes.push_back(n);
            for (auto *sub : n->blocks())
                walk(sub);
        }
    };
    walk(g.block());
    for (Node *n : computeNodes) {
        ComputeLayer layer;
        layer.geometry = graph::describeLayer(n, d.module);
        if (d.metadata.layerNames.size() == computeNodes.size())
            layer.geometry.name = d.metadata.layerNames[d.layers.size()];
        Value *in = n->input(0);
        if (isProbe(in->node())) {
            // Every probe kind ends with (model, site).
            layer.inputSite = int(torch::jit::toIValue(in->node()->inputs().back())->toInt());
        } else {
            Site s;
            s.index = int(d.sites.size());
            const std::string consumer = layer.geometry.name.empty() ? std::string("layer") : layer.geometry.name;
            const bool networkInput = in->node() == g.param_node();
            s.name = graph::uniqueName(networkInput ? std::string("input") : consumer + ".input", names);
            s.op = "input of " + std::string(n->kind().toQualString());
            s.kind = ActivationKind::Dense;
            s.sparsifiable = false;
            s.denseReason = networkInput ? "the network input (image), not an activation"
                            : in->node()->kind() == c10::prim::Param
                                ? "a loop-carried or block input, not an activation"
                                : "fed by " + std::string(in->node()->kind().toQualString()) + ", not by an activation";
            s.inControlFlow = n->owningBlock() != g.block();
            Node *p = insertProbe(g, in, d.probeId, s.index, false);
            d.siteOutputs.push_back(p->output());
            d.sites.push_back(s);
            layer.inputSite = s.index;
        }
        d.layers.push_back(layer);
        d.layerNodes.push_back(n);
    }

    const std::size_t n = d.sites.size();
    d.state->thresholds.assign(n, 0.0f);
    d.state->channelThresholds.assign(n, {});
    d.state->thresholdable.assign(n, false);
    for (std::size_t i = 0; i < n; ++i)
        d.state->thresholdable[i] = d.sites[i].sparsifiable;
    overwritesInput.resize(n, false); // input taps never do
    d.state->overwritesInput = overwritesInput;
    d.state->batchNormFoldExact.assign(n, 0);
    d.state->shapes.assign(n, {});
    d.state->executionOrder.assign(n, -1);
    d.state->stats.assign(n, {});
    d.state->keptMaps.assign(n, {});
    d.state->inScope.assign(n, false);
    d.state->band.assign(n, 0.0f);
    d.state->trainZeros.assign(n, 0);
    d.state->trainElements.assign(n, 0);

    // Consumers of every site, for the processor model and the layers table.
    for (std::size_t i = 0; i < n; ++i) {
        for (const auto &use : d.siteOutputs[i]->uses()) {
            Node *user = use.user;
            if (user->kind() == c10::prim::ListConstruct && user->output()->uses().size() == 1)
                user = user->output()->uses()[0].user;
            auto consumer = graph::describeLayer(user, d.module);
            const auto known = std::find(d.layerNodes.begin(), d.layerNodes.end(), user);
            if (known != d.layerNodes.end())
                consumer.name = d.layers[std::size_t(known - d.layerNodes.begin())].geometry.name;
            d.sites[i].consumers.push_back(consumer);
        }
    }
    // The inference copy starts from the probes before the fold: freezing folds those BatchNorms into the weights.
    try {
        d.unfolded = std::make_unique<torch::jit::Module>(d.module.clone(true));
    } catch (const std::exception &e) {
        d.inferenceProblem = "cannot copy the module (" + firstLines(e.what(), 1) + ")";
    }
    // Last, so that layers and consumers describe the model's own ops (a residual add stays an add).
    for (auto &output : d.siteOutputs)
        if (Node *folded = foldBatchNormIntoProbe(output->node()))
            output = folded->output();
    detail::routeBatchNorms(g.block(), d.probeId); // synchronised BatchNorm in distributed training (docs/distributed.md)

    if (d.metadata.inputShape.size() == 3)
        model->setInputShape(d.metadata.inputShape);
    return model;
}

const std::string &Model::path() const { return d->path; }
const ModelMetadata &Model::metadata() const { return d->metadata; }
const std::vector<Site> &Model::sites() const { return d->sites; }
const std::vector<ComputeLayer> &Model::layers() const { return d->layers; }

std::string Model::instrumentedGraphText() const { return d->graph->toString(); }
std::string Model::forwardSignature() const { return d->signature; }
OutputSelection Model::outputSelection() const { return d->output; }
void Model::setOutputSelection(const OutputSelection &selection) { d->output = selection; }
std::vector<std::int64_t> Model::inputShape() const { return d->inputShape; }

void Model::setInputShape(const std::vector<std::int64_t> &chw)
{
    if (chw.size() != 3 || chw[0] <= 0 || chw[1] <= 0 || chw[2] <= 0)
        throw Error(d->path + ": an input shape must be [channels, height, width] with positive sizes");
    checkInputShape(chw, d->path + ": input shape"); // before a tensor of that shape is made
    std::lock_guard<std::mutex> lock(d->runMutex);
    auto &state = *d->state;
    state.shapes.assign(d->sites.size(), {});
    state.executionOrder.assign(d->sites.size(), -1);
    state.executedCount = 0;
    {
        c10::InferenceMode guard;
        const bool collecting = state.collectStats;
        state.collectStats = false;
        try {
            d->forward(torch::zeros({1, chw[0], chw[1], chw[2]}));
        } catch (...) {
            state.collectStats = collecting;
            throw;
        }
        state.collectStats = collecting;
    }
    d->inputShape = chw;
    for (std::size_t i = 0; i < d->sites.size(); ++i) {
        auto &site = d->sites[i];
        site.shape = state.shapes[i];
        site.depth = state.executionOrder[i];
        site.elementsPerImage = 1;
        for (auto s : site.shape)
            site.elementsPerImage *= s;
        if (site.shape.empty())
            site.elementsPerImage = 0;
        for (auto &c : site.consumers)
            graph::completeGeometry(c, site.shape);
    }
    for (auto &layer : d->layers)
        if (layer.inputSite >= 0)
            graph::completeGeometry(layer.geometry, d->sites[std::size_t(layer.inputSite)].shape);
}

Preprocessing Model::defaultPreprocessing(const Preprocessing &fallback) const
{
    Preprocessing p = fallback;
    const auto &m = d->metadata;
    if (m.inputShape.size() == 3) {
        // The model states its input: resize exactly to it. The fallback's crop (ImageNet's 256 -> 224) belongs to
        // another input size, and its statistics to another channel count.
        if (p.channels != int(m.inputShape[0]) && p.mean.size() > 1) {
            p.mean = {0.0f};
            p.std = {1.0f};
        }
        p.channels = int(m.inputShape[0]);
        p.height = int(m.inputShape[1]);
        p.width = int(m.inputShape[2]);
        p.resize = Preprocessing::Resize::Exact;
        p.centerCrop = false;
        p.resizeTo = 0;
    }
    if (!m.mean.empty())
        p.mean = m.mean;
    if (!m.std.empty())
        p.std = m.std;
    return p;
}

std::vector<float> Model::thresholds() const { return d->state->thresholds; }

void Model::setThresholds(const std::vector<float> &thresholds)
{
    const auto checked = checkedThresholds(d->sites, {thresholds, {}}, d->path);
    std::lock_guard<std::mutex> lock(d->runMutex);
    d->state->thresholds = checked.scalar;
}

void Model::setThresholds(const std::vector<float> &thresholds, const std::vector<std::vector<float>> &perChannel)
{
    const auto checked = checkedThresholds(d->sites, {thresholds, perChannel}, d->path);
    std::lock_guard<std::mutex> lock(d->runMutex);
    d->state->thresholds = checked.scalar;
    for (std::size_t i = 0; i < perChannel.size(); ++i)
        d->state->channelThresholds[i] = checked.perChannel[i];
}

void Model::setThreshold(int site, float threshold)
{
    if (site < 0 || std::size_t(site) >= d->sites.size())
        throw Error("threshold: site index " + std::to_string(site) + " out of range");
    std::lock_guard<std::mutex> lock(d->runMutex);
    d->state->thresholds[std::size_t(site)] = clampedThreshold(d->sites[std::size_t(site)], threshold);
}

void Model::setChannelThresholds(int site, const std::vector<float> &perChannel)
{
    if (site < 0 || std::size_t(site) >= d->sites.size())
        throw Error("threshold: site index " + std::to_string(site) + " out of range");
    Thresholds one{std::vector<float>(d->sites.size()), std::vector<std::vector<float>>(std::size_t(site) + 1)};
    one.perChannel[std::size_t(site)] = perChannel;
    checkedThresholds(d->sites, one, d->path);
    std::lock_guard<std::mutex> lock(d->runMutex);
    d->state->channelThresholds[std::size_t(site)] = perChannel;
}

std::vector<float> Model::channelThresholds(int site) const
{
    if (site < 0 || std::size_t(site) >= d->sites.size())
        throw Error("threshold: site index " + std::to_string(site) + " out of range");
    return d->state->channelThresholds[std::size_t(site)];
}

std::vector<std::vector<float>> Model::channelThresholds() const
{
    return d->state->channelThresholds;
}

std::vector<Model::BatchNormFold> Model::batchNormFolds() const
{
    const auto &kinds = probeKinds();
    std::lock_guard<std::mutex> lock(d->runMutex);
    std::vector<BatchNormFold> folds(d->sites.size(), BatchNormFold::None);
    for (std::size_t i = 0; i < folds.size(); ++i) {
        const auto kind = d->siteOutputs[i]->node()->kind();
        if (kind != kinds.probeBatchNormRelu && kind != kinds.probeBatchNormAddRelu)
            continue;
        const int exact = d->state->batchNormFoldExact[i];
        folds[i] = exact == 0 ? BatchNormFold::Unchecked : (exact > 0 ? BatchNormFold::Exact : BatchNormFold::Differs);
    }
    return folds;
}

bool Model::siteExecuted(int site) const
{
    return site >= 0 && std::size_t(site) < d->sites.size() && d->state->executionOrder[std::size_t(site)] >= 0;
}

at::Tensor Model::Impl::selectOutput(const c10::IValue &value) const
{
    auto fail = [&](const std::string &what) -> at::Tensor {
        throw Error(path + ": cannot find the logits in the model's output: " + what);
    };
    if (value.isTensor())
        return value.toTensor();
    if (value.isTuple() || value.isList()) {
        std::vector<c10::IValue> items;
        if (value.isTuple())
            items = value.toTupleRef().elements().vec();
        else
            for (const auto &v : value.toListRef())
                items.push_back(v);
        if (output.rule == OutputSelection::Rule::Index) {
            if (output.index < 0 || std::size_t(output.index) >= items.size() || !items[std::size_t(output.index)].isTensor())
                return fail("output index " + std::to_string(output.index) + " is not a tensor of the " +
                            std::to_string(items.size()) + "-element output");
            return items[std::size_t(output.index)].toTensor();
        }
        for (const auto &v : items)
            if (v.isTensor())
                return v.toTensor();
        return fail("the tuple holds no tensor");
    }
    if (value.isGenericDict()) {
        auto dict = value.toGenericDict();
        std::string keys;
        for (const auto &entry : dict)
            keys += (keys.empty() ? "" : ", ") + (entry.key().isString() ? entry.key().toStringRef() : std::string("?"));
        const std::string wanted = output.rule == OutputSelection::Rule::Key ? output.key : std::string("out");
        for (const auto &entry : dict)
            if (entry.key().isString() && entry.key().toStringRef() == wanted && entry.value().isTensor())
                return entry.value().toTensor();
        if (output.rule == OutputSelection::Rule::Key)
            return fail("no tensor under key '" + wanted + "' (keys: " + keys + ")");
        for (const auto &entry : dict)
            if (entry.value().isTensor())
                return entry.value().toTensor();
        return fail("the dict holds no tensor (keys: " + keys + ")");
    }
    return fail("it is a " + value.tagKind());
}

at::Tensor Model::Impl::forward(torch::jit::Module &instrumented, const at::Tensor &input)
{
    try {
        return selectOutput(instrumented.forward({input}));
    } catch (const Error &) {
        throw;
    } catch (const std::exception &e) {
        std::string expected;
        if (!layers.empty() && layers.front().geometry.kind == LayerKind::Conv2d)
            expected = " The first convolution expects " + std::to_string(layers.front().geometry.inChannels) +
                       " input channels;";
        std::ostringstream given;
        given << input.sizes();
        throw Error(path + ": the forward pass failed on an input of shape " + given.str() + "." + expected +
                    (metadata.inputShape.empty() ? std::string()
                                                 : " the model's metadata asks for " + std::to_string(metadata.inputShape[0]) +
                                                       "x" + std::to_string(metadata.inputShape[1]) + "x" +
                                                       std::to_string(metadata.inputShape[2]) + ";") +
                    " torch says: " + firstLines(e.what(), 2));
    }
}

QJsonObject Model::Impl::metadataWithGraphNames(const std::string &metadataJson) const
{
    QJsonObject metadata = QJsonDocument::fromJson(QByteArray::fromStdString(metadataJson)).object();
    QJsonArray siteNames, layerNames;
    for (int i = 0; i < activationSiteCount; ++i)
        siteNames.append(QString::fromStdString(sites[std::size_t(i)].name));
    for (const auto &layer : layers)
        layerNames.append(QString::fromStdString(layer.geometry.name));
    metadata.insert(QStringLiteral("graph_names"), QJsonObject{{QStringLiteral("sites"), siteNames}, {QStringLiteral("layers"), layerNames}});
    return metadata;
}

torch::jit::Module Model::Impl::tunedCopyFor(const std::string &outPath) const
{
    const QFileInfo out(QString::fromStdString(outPath));
    const QFileInfo in(QString::fromStdString(path));
    if (out.exists() && in.exists() && out.canonicalFilePath() == in.canonicalFilePath())
        throw Error(outPath + ": refusing to overwrite the input model; choose another file name");
    torch::jit::Module copy;
    {
        std::istringstream archive(bytes);
        copy = torch::jit::load(archive, c10::kCPU);
    }
    copy.eval();
    // The archive holds the weights as loaded; fine-tuning changed ours.
    torch::NoGradGuard noGrad;
    std::map<std::string, at::Tensor> source;
    for (const auto &p : module.named_parameters(true))
        source[p.name] = p.value;
    for (const auto &b : module.named_buffers(true))
        source["buffer:" + b.name] = b.value;
    for (auto p : copy.named_parameters(true))
        p.value.copy_(source.at(p.name));
    for (auto b : copy.named_buffers(true))
        b.value.copy_(source.at("buffer:" + b.name));
    return copy;
}

void Model::exportThresholded(const std::string &outPath, const std::string &metadataJson) const
{
    torch::jit::Module copy = d->tunedCopyFor(outPath);
    auto g = graph::prepareForwardGraph(copy);
    auto found = graph::findActivationSites(*g);
    if (int(found.size()) != d->activationSiteCount)
        throw Error(d->path + ": internal error: the export copy has " + std::to_string(found.size()) + " sites, expected " +
                    std::to_string(d->activationSiteCount));
    static const auto thresholdOp = c10::Symbol::fromQualString("aten::threshold");
    static const auto thresholdInPlaceOp = c10::Symbol::fromQualString("aten::threshold_");
    static const auto gtOp = c10::Symbol::fromQualString("aten::gt");
    static const auto mulOp = c10::Symbol::fromQualString("aten::mul");
    static const auto mulInPlaceOp = c10::Symbol::fromQualString("aten::mul_");
    for (std::size_t i = 0; i < found.size(); ++i) {
        if (!d->sites[i].sparsifiable)
            continue;
        const auto &perChannel = d->state->channelThresholds[i];
        const float t = d->state->thresholds[i];
        if (perChannel.empty() && t == 0.0f)
            continue;
        Node *act = found[i].outputNode;
        Value *x = act->output();
        torch::jit::WithInsertPoint guard(act->next());
        Node *last = nullptr;
        if (perChannel.empty()) {
            Value *tv = g->insertConstant(double(t));
            Value *zero = g->insertConstant(0.0);
            last = g->create(found[i].inPlace ? thresholdInPlaceOp : thresholdOp, {x, tv, zero}, 1);
            g->insertNode(last);
        } else {
            const auto &shape = d->sites[i].shape;
            std::vector<std::int64_t> view(shape.size() + 1, 1);
            view[1] = std::int64_t(perChannel.size());
            Value *tv = g->insertConstant(torch::tensor(perChannel).view(view));
            Node *mask = g->insertNode(g->create(gtOp, {x, tv}, 1));
            last = g->create(found[i].inPlace ? mulInPlaceOp : mulOp, {x, mask->output()}, 1);
            g->insertNode(last);
        }
        last->output()->setType(x->type());
        x->replaceAllUsesAfterNodeWith(last, last->output());
    }
    const QJsonObject metadata = d->metadataWithGraphNames(metadataJson);
    torch::jit::ExtraFilesMap extra{{kMetadataFile, QJsonDocument(metadata).toJson().toStdString()}};
    std::ostringstream bytes;
    try {
        copy.save(bytes, extra);
    } catch (const std::exception &e) {
        throw Error(outPath + ": cannot save the exported model (" + firstLines(e.what(), 2) + ")");
    }
    // A unique, exclusively created temporary: a fixed OUT.pt.partial could be a planted symlink.
    writeFileAtomically(outPath, bytes.str());
}

} // namespace sparsity
