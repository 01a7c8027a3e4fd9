// Trains the two sample models on the full Fashion-MNIST training set from Debian's dataset-fashion-mnist
// package and saves them as TorchScript with their metadata inside; also writes the shipped data subset.
// Deterministic for a given seed. Usage: see sampledata/README.md.
#include "sample_networks.h"

#include "data/idx.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>

#include <torch/torch.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

namespace {

const char *const kClassNames[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
constexpr double kMean = 0.2860;
constexpr double kStd = 0.3530;

struct Split {
    torch::Tensor images; // N x 1 x 28 x 28, normalised
    torch::Tensor labels; // N, int64
};

Split loadSplit(const std::string &dir, const std::string &prefix)
{
    const auto images = sparsity::readIdx(dir + "/" + prefix + "-images-idx3-ubyte.gz");
    const auto labels = sparsity::readIdx(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
    const int64_t n = images.count();
    auto x = torch::from_blob(const_cast<uint8_t *>(images.data.data()), {n, 1, 28, 28}, torch::kUInt8)
                 .to(torch::kFloat32)
                 .div(255.0)
                 .sub(kMean)
                 .div(kStd);
    auto y = torch::from_blob(const_cast<uint8_t *>(labels.data.data()), {n}, torch::kUInt8).to(torch::kInt64);
    return {x, y};
}

double accuracy(torch::jit::Module &model, const Split &split, int64_t count)
{
    torch::NoGradGuard noGrad;
    model.eval();
    int64_t correct = 0;
    for (int64_t start = 0; start < count; start += 500) {
        const int64_t end = std::min(count, start + 500);
        auto logits = model.forward({split.images.slice(0, start, end)}).toTensor();
        correct += logits.argmax(1).eq(split.labels.slice(0, start, end)).sum().item<int64_t>();
    }
    return 100.0 * double(correct) / double(count);
}

void train(torch::jit::Module &model, const Split &data, int epochs, double lr, int64_t seed)
{
    std::vector<torch::Tensor> params;
    for (const auto &p : model.parameters()) {
        p.set_requires_grad(true);
        params.push_back(p);
    }
    torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(lr).weight_decay(1e-4));
    const int64_t n = data.images.size(0), batch = 128;
    const int64_t stepsPerEpoch = (n + batch - 1) / batch, totalSteps = stepsPerEpoch * epochs;
    torch::manual_seed(seed);
    int64_t step = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        model.train();
        const auto t0 = std::chrono::steady_clock::now();
        auto order = torch::randperm(n, torch::kInt64);
        double lossSum = 0;
        for (int64_t start = 0; start < n; start += batch, ++step) {
            // Cosine decay from lr to 0 over the whole run.
            const double scale = 0.5 * (1.0 + std::cos(M_PI * double(step) / double(totalSteps)));
            for (auto &group : optimizer.param_groups())
                static_cast<torch::optim::AdamWOptions &>(group.options()).lr(lr * scale);
            auto idx = order.slice(0, start, std::min(n, start + batch));
            auto x = data.images.index_select(0, idx);
            auto flip = torch::rand({x.size(0)}) < 0.5;
            x = torch::where(flip.view({-1, 1, 1, 1}), x.flip({3}), x);
            auto loss = torch::cross_entropy_loss(model.forward({x}).toTensor(), data.labels.index_select(0, idx));
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            lossSum += loss.item<double>();
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::cerr << "  epoch " << epoch + 1 << "/" << epochs << " loss " << lossSum / double(stepsPerEpoch) << " ("
                  << seconds << " s)" << std::endl;
    }
    for (auto &p : params)
        p.set_requires_grad(false);
    model.eval();
}

void writeIdxGz(const std::string &path, const std::vector<uint32_t> &dims, const uint8_t *data, size_t bytes)
{
    gzFile f = gzopen(path.c_str(), "wb9");
    if (!f)
        throw std::runtime_error(path + ": cannot write");
    const uint8_t rank = static_cast<uint8_t>(dims.size());
    const uint8_t header[4] = {0, 0, 0x08, rank};
    gzwrite(f, header, 4);
    for (uint32_t d : dims) {
        const uint8_t be[4] = {uint8_t(d >> 24), uint8_t(d >> 16), uint8_t(d >> 8), uint8_t(d)};
        gzwrite(f, be, 4);
    }
    gzwrite(f, data, unsigned(bytes));
    gzclose(f);
}

void writeSubset(const std::string &dataDir, const std::string &outDir)
{
    struct Part {
        const char *prefix;
        uint32_t count;
    };
    for (const Part part : {Part{"train", 10000}, Part{"t10k", 2000}}) {
        const auto images = sparsity::readIdx(dataDir + "/" + part.prefix + "-images-idx3-ubyte.gz");
        const auto labels = sparsity::readIdx(dataDir + "/" + part.prefix + "-labels-idx1-ubyte.gz");
        writeIdxGz(outDir + "/" + part.prefix + "-images-idx3-ubyte.gz", {part.count, 28, 28}, images.data.data(),
                   size_t(part.count) * 28 * 28);
        writeIdxGz(outDir + "/" + part.prefix + "-labels-idx1-ubyte.gz", {part.count}, labels.data.data(), part.count);
    }
    FILE *names = std::fopen((outDir + "/classes.txt").c_str(), "w");
    for (const char *name : kClassNames)
        std::fprintf(names, "%s\n", name);
    std::fclose(names);
}

std::string metadataJson(const std::string &name, const std::string &architecture, int epochs, double lr,
                         int64_t seed, double fullTop1, double subsetTop1, double seconds)
{
    QJsonArray classes;
    for (const char *c : kClassNames)
        classes.append(QString::fromUtf8(c));
    QJsonObject input{{QStringLiteral("shape"), QJsonArray{1, 28, 28}},
                      {QStringLiteral("mean"), QJsonArray{kMean}},
                      {QStringLiteral("std"), QJsonArray{kStd}},
                      {QStringLiteral("scale"), QStringLiteral("pixel / 255")}};
    QJsonObject training{{QStringLiteral("program"), QStringLiteral("sampledata/trainer/train_samples.cpp")},
                         {QStringLiteral("dataset"), QStringLiteral("Fashion-MNIST train (60,000 images, Debian dataset-fashion-mnist)")},
                         {QStringLiteral("optimizer"), QStringLiteral("AdamW, weight decay 1e-4, cosine decay, batch 128")},
                         {QStringLiteral("learning_rate"), lr},
                         {QStringLiteral("epochs"), epochs},
                         {QStringLiteral("augmentation"), QStringLiteral("random horizontal flip")},
                         {QStringLiteral("seed"), double(seed)},
                         {QStringLiteral("seconds"), seconds}};
    QJsonObject accuracy{{QStringLiteral("top1_fashion_mnist_test_10000"), fullTop1},
                         {QStringLiteral("top1_shipped_test_2000"), subsetTop1}};
    QJsonObject root{{QStringLiteral("schema"), QStringLiteral("sparsity-explorer/model-metadata")},
                     {QStringLiteral("version"), 1},
                     {QStringLiteral("name"), QString::fromStdString(name)},
                     {QStringLiteral("architecture"), QString::fromStdString(architecture)},
                     {QStringLiteral("task"), QStringLiteral("classification")},
                     {QStringLiteral("input"), input},
                     {QStringLiteral("classes"), classes},
                     {QStringLiteral("training"), training},
                     {QStringLiteral("accuracy"), accuracy}};
    return QJsonDocument(root).toJson().toStdString();
}

} // namespace

int main(int argc, char **argv)
{
    std::string dataDir = "/usr/share/datasets/fashion-mnist", outDir = ".", which = "all";
    int64_t seed = 1;
    int epochsOverride = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << arg << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--data") dataDir = value();
        else if (arg == "--out") outDir = value();
        else if (arg == "--model") which = value();
        else if (arg == "--seed") seed = std::stoll(value());
        else if (arg == "--epochs") epochsOverride = std::stoi(value());
        else {
            std::cerr << "usage: train-samples [--data DIR] [--out DIR] [--model resnet|mobilenet|all|subset] [--seed N] [--epochs N]\n";
            return 2;
        }
    }
    torch::set_num_threads(int(std::max(1u, std::thread::hardware_concurrency())));
    try {
        if (which == "all" || which == "subset") {
            writeSubset(dataDir, outDir + "/fashion-mnist");
            std::cerr << "wrote the shipped subset to " << outDir << "/fashion-mnist\n";
        }
        const Split trainSet = loadSplit(dataDir, "train");
        const Split testSet = loadSplit(dataDir, "t10k");
        struct Spec {
            std::string key, name, architecture;
            int epochs;
            double lr;
        };
        for (const Spec &spec : {Spec{"resnet", "sample-resnet", "ResNet-style, 3 residual stages (16/32/64), in-place ReLU", 5, 3e-3},
                                 Spec{"mobilenet", "sample-mobilenetv2", "MobileNetV2-style, inverted residuals, ReLU6", 6, 4e-3}}) {
            if (which != "all" && which != spec.key)
                continue;
            const int epochs = epochsOverride > 0 ? epochsOverride : spec.epochs;
            torch::manual_seed(seed);
            auto model = spec.key == "resnet" ? samples::makeResNet(10) : samples::makeMobileNet(10);
            std::cerr << "training " << spec.name << " for " << epochs << " epochs\n";
            const auto t0 = std::chrono::steady_clock::now();
            train(model, trainSet, epochs, spec.lr, seed);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            const double full = accuracy(model, testSet, 10000);
            const double subset = accuracy(model, testSet, 2000);
            std::cerr << spec.name << ": top-1 " << full << " % (10,000 test), " << subset << " % (first 2,000)\n";
            torch::jit::ExtraFilesMap extra{
                {"sparsity_metadata.json", metadataJson(spec.name, spec.architecture, epochs, spec.lr, seed, full, subset, seconds)}};
            const std::string path = outDir + "/models/" + spec.name + ".pt";
            model.save(path + ".tmp", extra);
            std::rename((path + ".tmp").c_str(), path.c_str());
            std::cerr << "saved " << path << "\n";
        }
    } catch (const std::exception &e) {
        std::cerr << "train-samples: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
