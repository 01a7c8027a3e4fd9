#include "graph/weights.h"

#include "error.h"
#include "graph/model_p.h"
#include "graph/weights_p.h"
#include "graph/quarantine.h"
#include "io/boundedread.h"
#include "io/ziparchive.h"

#include <torch/serialize.h>

#include <QFileInfo>
#include <QSaveFile>

#include <set>
#include <sstream>

namespace sparsity {

namespace {

const char *const kFormat = "sparsity-explorer/weights";

std::string shapeText(at::IntArrayRef sizes)
{
    std::string t = "[";
    for (std::size_t i = 0; i < sizes.size(); ++i)
        t += (i ? ", " : "") + std::to_string(sizes[i]);
    return t + "]";
}

std::string firstLine(const std::string &message)
{
    const auto end = message.find('\n');
    return message.substr(0, std::min<std::size_t>(end, 200));
}

// Parameters and buffers by archive key, in the module's order.
std::vector<std::pair<std::string, at::Tensor>> namedTensors(const torch::jit::Module &module)
{
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto &p : module.named_parameters(true))
        out.emplace_back("param/" + p.name, p.value);
    for (const auto &b : module.named_buffers(true))
        out.emplace_back("buffer/" + b.name, b.value);
    return out;
}

} // namespace

void saveWeights(const Model &model, const std::string &path)
{
    // No run lock: only training writes parameters, and it works on a copy of its own; a capture running on this
    // model meanwhile only reads them.
    auto &d = model.impl();
    saveModuleWeights(d.module, QFileInfo(QString::fromStdString(d.path)).fileName().toStdString(), path);
}

void loadWeights(Model &model, const std::string &path)
{
    auto &d = model.impl();
    std::lock_guard<std::mutex> lock(d.runMutex);
    loadModuleWeights(d.module, path);
}

void saveModuleWeights(const torch::jit::Module &module, const std::string &modelName, const std::string &path)
{
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(std::string(kFormat)));
    archive.write("model", c10::IValue(modelName));
    writeModuleTensors(archive, module);
    std::ostringstream bytes;
    try {
        archive.save_to(bytes);
    } catch (const c10::Error &e) {
        throw Error(path + ": cannot serialise the weights (" + firstLine(e.what_without_backtrace()) + ")");
    }
    const std::string data = bytes.str();
    QSaveFile file(QString::fromStdString(path));
    if (!file.open(QIODevice::WriteOnly))
        throw Error(path + ": cannot be written (" + file.errorString().toStdString() + ")");
    if (file.write(data.data(), qint64(data.size())) != qint64(data.size()) || !file.commit())
        throw Error(path + ": could not be saved (" + file.errorString().toStdString() + "); the previous file is unchanged");
}

void loadModuleWeights(torch::jit::Module &module, const std::string &path)
{
    if (!QFileInfo(QString::fromStdString(path)).isFile())
        throw Error(path + ": the tuned weights file does not exist");
    torch::serialize::InputArchive archive;
    try {
        const std::string bytes = readBoundedText(path, limits::kWeightsFileBytes, "weights file");
        checkTorchArchive(bytes, path, "weights file");
        if (modelQuarantine())
            checkModelOnce(path, bytes, QuarantinedFile::TensorArchive);
        std::istringstream in(bytes);
        archive.load_from(in);
    } catch (const c10::Error &e) {
        throw Error(path + ": not a weights file, or damaged (" + firstLine(e.what_without_backtrace()) + ")");
    }
    c10::IValue format, from;
    if (!archive.try_read("format", format) || !format.isString() || format.toStringRef() != kFormat)
        throw Error(path + ": not a Sparsity Explorer weights file (no \"" + kFormat + "\" marker)");
    const std::string origin = archive.try_read("model", from) && from.isString() ? from.toStringRef() : "another model";
    readModuleTensors(archive, module, path, origin);
}

void writeModuleTensors(torch::serialize::OutputArchive &archive, const torch::jit::Module &module)
{
    for (const auto &[key, tensor] : namedTensors(module))
        archive.write(key, tensor.detach());
}

void readModuleTensors(torch::serialize::InputArchive &archive, torch::jit::Module &module, const std::string &path,
                       const std::string &origin)
{
    const auto targets = namedTensors(module);
    std::vector<at::Tensor> sources;
    sources.reserve(targets.size());
    // Everything is read and checked before anything is copied: a mismatch leaves the model as it was.
    for (const auto &[key, target] : targets) {
        at::Tensor t;
        const bool buffer = key.rfind("buffer/", 0) == 0;
        if (!archive.try_read(key, t) || !t.defined())
            throw Error(path + ": the " + (buffer ? "buffer \"" : "parameter \"") + key.substr(key.find('/') + 1) +
                        "\" is missing; these weights were saved from " + origin + ", not from this model");
        if (t.scalar_type() != target.scalar_type())
            throw Error(path + ": \"" + key.substr(key.find('/') + 1) + "\" holds " + std::string(c10::toString(t.scalar_type())) +
                        " values but the model's are " + c10::toString(target.scalar_type()) + "; these weights were saved from " + origin);
        if (t.sizes() != target.sizes())
            throw Error(path + ": \"" + key.substr(key.find('/') + 1) + "\" has shape " + shapeText(t.sizes()) +
                        " but the model's is " + shapeText(target.sizes()) + "; these weights were saved from " + origin);
        sources.push_back(t);
    }
    std::set<std::string> expected;
    for (const auto &entry : targets)
        expected.insert(entry.first);
    for (const std::string &key : archive.keys())
        if ((key.rfind("param/", 0) == 0 || key.rfind("buffer/", 0) == 0) && !expected.count(key))
            throw Error(path + ": holds \"" + key + "\", which this model does not have; these weights were saved from " +
                        origin);

    torch::NoGradGuard noGrad;
    for (std::size_t i = 0; i < targets.size(); ++i)
        targets[i].second.copy_(sources[i]);
}

} // namespace sparsity
