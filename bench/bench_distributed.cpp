// Data-parallel STAR training on this machine: samples/s of the regularize phase for 1 process (1 and all threads)
// and for 2 ranks of a c10d/Gloo group on 127.0.0.1 at 1 thread each, the share of a step rank 0 spends in
// collectives (waiting for the other rank included), and the time of one gradient-sized allreduce alone; BatchNorm
// frozen, and then learning statistics (synchronised across the ranks).
//
// Usage: bench_distributed [MODEL] [--images N] [--batch B]
//   Default: the sample ResNet, 4,096 Fashion-MNIST training images, global batch 64 (32 per rank).
// It starts itself once per configuration (a rank is a process); a child is a rank when RANK is set.
#include "data/dataset.h"
#include "distributed/processgroup_p.h"
#include "graph/model.h"
#include "graph/model_p.h"
#include "io/workspace.h"
#include "tune/recipe.h"
#include "tune/training.h"

#include <QCoreApplication>
#include <QDir>
#include <QProcess>
#include <QTemporaryDir>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

using namespace sparsity;

namespace {

struct Settings {
    std::string model = SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt";
    std::size_t images = 4096;
    std::size_t batch = 64;
};

Settings parse(const QStringList &args)
{
    Settings s;
    for (qsizetype i = 1; i < args.size(); ++i) {
        if (args[i] == QLatin1String("--images") && i + 1 < args.size())
            s.images = args[++i].toULongLong();
        else if (args[i] == QLatin1String("--batch") && i + 1 < args.size())
            s.batch = args[++i].toULongLong();
        else if (!args[i].startsWith(QLatin1String("--")))
            s.model = args[i].toStdString();
    }
    return s;
}

double now()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One rank (or the lone process): the regularize phase over `images` images, timed from the end of the first step
// to the end of the last (calibration, loading and validation left out). Rank 0 prints one RESULT line.
int runRank(const Settings &s)
{
    std::shared_ptr<ProcessGroup> group;
    if (const auto environment = LaunchEnvironment::fromEnvironment())
        group = ProcessGroup::join(*environment);
    auto model = Model::load(s.model);
    const TrainingSplits splits = openTrainingSplits(QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/fashion-mnist"));
    TrainingData data = splits.data(model->defaultPreprocessing());
    data.group = group.get();
    Recipe r = Recipe::forMethod(Recipe::Method::Star);
    r.freezeBatchNorm = !qEnvironmentVariableIsSet("BENCH_TRAIN_BATCHNORM");
    r.batchSize = s.batch;
    r.trainImages = s.images;
    r.calibrationImages = 128;
    r.validationImages = 64;
    r.regularizeEpochs = 1;
    r.finetuneEpochs = 0;
    r.thresholdMode = Recipe::ThresholdMode::Keep;
    QTemporaryDir checkpoints;
    double firstStep = 0.0, lastStep = 0.0, commFirst = 0.0, commLast = 0.0;
    int steps = 0;
    TrainingCallbacks callbacks;
    callbacks.step = [&](const TrainingStep &) {
        const double t = now();
        const double comm = group ? group->communicationSeconds() : 0.0;
        if (steps++ == 0) {
            firstStep = t;
            commFirst = comm;
        }
        lastStep = t;
        commLast = comm;
    };
    train(*model, r, data, checkpoints.path().toStdString(), false, nullptr, callbacks);
    const double seconds = lastStep - firstStep;
    const double imagesPerSecond = double(std::size_t(steps - 1) * s.batch) / seconds;
    // One allreduce of a buffer the size of the model's gradients, alone (both ranks ready), median of 9.
    std::int64_t parameters = 0;
    for (const auto &p : model->impl().module.parameters(true))
        parameters += p.numel();
    double allreduceMs = 0.0;
    auto timeAllreduce = [&](std::int64_t floats) {
        auto buffer = torch::ones({floats}, torch::kFloat32);
        std::vector<double> times;
        for (int i = 0; i < 9; ++i) {
            group->barrier("timing");
            const double t = now();
            sparsity::detail::averageTensors(*group, {buffer}, "timing an allreduce");
            times.push_back(now() - t);
        }
        std::sort(times.begin(), times.end());
        return 1000.0 * times[4];
    };
    if (group) {
        allreduceMs = timeAllreduce(parameters);
        // The gradients of the models people deploy: MobileNetV2 (3.5 M parameters) and ResNet-50 (25.6 M).
        for (const std::int64_t floats : {std::int64_t(3504872), std::int64_t(25557032)}) {
            const double ms = timeAllreduce(floats);
            if (group->leader())
                std::printf("ALLREDUCE %lld %.3f\n", static_cast<long long>(floats), ms);
        }
    }
    if (!group || group->leader())
        std::printf("RESULT %.2f %.4f %.3f %lld %d\n", imagesPerSecond, seconds > 0 ? (commLast - commFirst) / seconds : 0.0,
                    allreduceMs, static_cast<long long>(parameters), steps);
    return 0;
}

struct Outcome {
    double imagesPerSecond = 0.0, commShare = 0.0, allreduceMs = 0.0;
    long long parameters = 0;
    std::vector<std::pair<long long, double>> sizes; // floats, ms of one allreduce
};

Outcome launch(int ranks, int threads, const QStringList &args, bool trainBatchNorm = false)
{
    std::vector<std::unique_ptr<QProcess>> processes;
    const int port = freeLoopbackPort();
    for (int r = 0; r < ranks; ++r) {
        auto p = std::make_unique<QProcess>();
        auto e = QProcessEnvironment::systemEnvironment();
        e.insert(QStringLiteral("SPARSITY_THREADS"), QString::number(threads));
        e.insert(QStringLiteral("BENCH_CHILD"), QStringLiteral("1"));
        if (trainBatchNorm)
            e.insert(QStringLiteral("BENCH_TRAIN_BATCHNORM"), QStringLiteral("1"));
        if (ranks > 1)
            for (const auto &[name, value] : LaunchEnvironment{r, ranks, r, "127.0.0.1", port}.variables())
                e.insert(QString::fromStdString(name), QString::fromStdString(value));
        p->setProcessEnvironment(e);
        p->setProcessChannelMode(QProcess::SeparateChannels);
        p->start(QCoreApplication::applicationFilePath(), args.mid(1));
        processes.push_back(std::move(p));
    }
    Outcome o;
    for (std::size_t r = 0; r < processes.size(); ++r) {
        processes[r]->waitForFinished(-1);
        const QString out = QString::fromUtf8(processes[r]->readAllStandardOutput());
        if (processes[r]->exitCode() != 0)
            std::fprintf(stderr, "rank %zu failed: %s\n", r, processes[r]->readAllStandardError().constData());
        for (const QString &line : out.split(QLatin1Char('\n')))
            if (line.startsWith(QLatin1String("ALLREDUCE ")))
                o.sizes.push_back({line.section(QLatin1Char(' '), 1, 1).toLongLong(), line.section(QLatin1Char(' '), 2, 2).toDouble()});
        const qsizetype at = out.indexOf(QStringLiteral("RESULT "));
        if (at >= 0) {
            const QStringList f = out.mid(at + 7).split(QLatin1Char(' '));
            o.imagesPerSecond = f.value(0).toDouble();
            o.commShare = f.value(1).toDouble();
            o.allreduceMs = f.value(2).toDouble();
            o.parameters = f.value(3).toLongLong();
        }
    }
    return o;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = QCoreApplication::arguments();
    const Settings s = parse(args);
    try {
        if (qEnvironmentVariableIsSet("BENCH_CHILD"))
            return runRank(s);
        std::printf("bench_distributed: %s, %zu training images, global batch %zu, regularize phase (STAR L1 band)\n",
                    s.model.c_str(), s.images, s.batch);
        const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
        const Outcome one = launch(1, 1, args);
        const Outcome oneAll = launch(1, cores, args);
        const Outcome two = launch(2, 1, args);
        const Outcome oneBn = launch(1, 1, args, true);
        const Outcome twoBn = launch(2, 1, args, true);
        std::printf("%-34s %12s %8s %14s\n", "configuration", "images/s", "ratio", "in collectives");
        std::printf("%-34s %12.1f %8.2f %14s\n", "1 process, 1 thread", one.imagesPerSecond, 1.0, "-");
        std::printf("%-34s %12.1f %8.2f %14s\n", ("1 process, " + std::to_string(cores) + " threads").c_str(),
                    oneAll.imagesPerSecond, oneAll.imagesPerSecond / one.imagesPerSecond, "-");
        std::printf("%-34s %12.1f %8.2f %13.1f%%\n", "2 ranks x 1 thread (Gloo, loopback)", two.imagesPerSecond,
                    two.imagesPerSecond / one.imagesPerSecond, 100.0 * two.commShare);
        std::printf("%-34s %12.1f %8.2f %14s\n", "batchnorm train: 1 process, 1 thread", oneBn.imagesPerSecond, 1.0, "-");
        std::printf("%-34s %12.1f %8.2f %13.1f%%\n", "  2 ranks x 1 thread, synchronised", twoBn.imagesPerSecond,
                    twoBn.imagesPerSecond / oneBn.imagesPerSecond, 100.0 * twoBn.commShare);
        std::printf("one allreduce of the gradients (%lld floats, %.2f MB), 2 ranks: %.2f ms median of 9 (%.0f MB/s)\n",
                    two.parameters, double(two.parameters) * 4.0 / 1e6, two.allreduceMs,
                    two.allreduceMs > 0 ? double(two.parameters) * 4.0 / 1e6 / (two.allreduceMs / 1000.0) : 0.0);
        for (const auto &[floats, ms] : two.sizes)
            std::printf("one allreduce of %lld floats (%.1f MB, %s), 2 ranks: %.1f ms (%.0f MB/s)\n", floats, double(floats) * 4.0 / 1e6,
                        floats > 10000000 ? "ResNet-50's gradients" : "MobileNetV2's gradients", ms, double(floats) * 4.0 / 1e6 / (ms / 1000.0));
    } catch (const std::exception &e) {
        std::fprintf(stderr, "bench_distributed: %s\n", e.what());
        return 1;
    }
    return 0;
}
