// Times the processor model on a synthetic 50-layer ResNet-like network (ResNet50's stem, 16 bottleneck blocks
// of 3 convolutions, and the classifier; downsample branches left out) with measured-looking statistics, and
// prints what the two built-in presets project for it. The model must stay far below 1 ms per evaluation so the
// GUI can recompute on every threshold-slider move.

#include "hardware/processor.h"
#include "hardware/processorpreset.h"
#include "graph/site.h"
#include "capture/sitestats.h"
#include "hardware/workload.h"

#include <chrono>
#include <cstdio>
#include <random>

using namespace sparsity;

namespace {

ConsumerLayer conv(std::string name, std::int64_t c, std::int64_t hw, std::int64_t outC, int k, int stride)
{
    ConsumerLayer l;
    l.kind = LayerKind::Conv2d;
    l.name = std::move(name);
    l.kernelH = l.kernelW = k;
    l.strideH = l.strideW = stride;
    l.padH = l.padW = k / 2;
    l.inChannels = c;
    l.outChannels = outC;
    l.inputShape = {c, hw, hw};
    const std::int64_t o = (hw + 2 * (k / 2) - k) / stride + 1;
    l.outputShape = {outC, o, o};
    return l;
}

struct Network {
    std::vector<ComputeLayer> layers;
    std::vector<Site> sites;
    std::vector<SiteStats> stats;
};

// A site for the output of `producer`, with random nonzero counts per position around `density`.
int addSite(Network &net, const ConsumerLayer &producer, double density, std::mt19937 &rng, int images)
{
    Site s;
    s.index = int(net.sites.size());
    s.name = producer.name + ".relu";
    s.shape = producer.outputShape;
    s.elementsPerImage = s.shape[0] * s.shape[1] * s.shape[2];
    SiteStats st;
    st.images = images;
    st.elements = s.elementsPerImage * images;
    const std::int64_t perPosition = s.shape[0] * images;
    std::binomial_distribution<std::int64_t> draw(perPosition, density);
    st.spatialNonzero.resize(std::size_t(s.shape[1] * s.shape[2]));
    std::int64_t nonzero = 0;
    for (auto &v : st.spatialNonzero)
        nonzero += (v = draw(rng));
    st.zeros = st.elements - nonzero;
    std::exponential_distribution<float> value(4.0f);
    for (int i = 0; i < 20000; ++i)
        st.positive.add(value(rng) + 1e-6f);
    // Scale the histogram's total to the measured positive count, as the capture engine would have it.
    LogHistogram scaled;
    const double factor = double(nonzero) / 20000.0;
    for (int b = 0; b < LogHistogram::kBinCount; ++b)
        scaled.addToBin(b, std::int64_t(double(st.positive.count(b)) * factor));
    st.positive = scaled;
    net.sites.push_back(s);
    net.stats.push_back(std::move(st));
    return s.index;
}

Network resnetLike(double density)
{
    std::mt19937 rng(1);
    const int images = 16;
    Network net;
    ConsumerLayer stem = conv("conv1", 3, 224, 64, 7, 2);
    net.layers.push_back({stem, -1});
    // The max pool after the stem is not a compute layer: the first block reads a pooled (unmeasured) tensor.
    int input = -1;
    std::int64_t channels = 64, hw = 56;
    const int blocks[4] = {3, 4, 6, 3};
    const std::int64_t widths[4] = {64, 128, 256, 512};
    for (int stage = 0; stage < 4; ++stage)
        for (int b = 0; b < blocks[stage]; ++b) {
            const std::string prefix = "layer" + std::to_string(stage + 1) + "." + std::to_string(b);
            const std::int64_t width = widths[stage];
            const int stride = (stage > 0 && b == 0) ? 2 : 1;
            const ConsumerLayer c1 = conv(prefix + ".conv1", channels, hw, width, 1, 1);
            net.layers.push_back({c1, input});
            const int s1 = addSite(net, c1, density, rng, images);
            const ConsumerLayer c2 = conv(prefix + ".conv2", width, hw, width, 3, stride);
            net.layers.push_back({c2, s1});
            const int s2 = addSite(net, c2, density, rng, images);
            hw = c2.outputShape[1];
            const ConsumerLayer c3 = conv(prefix + ".conv3", width, hw, width * 4, 1, 1);
            net.layers.push_back({c3, s2});
            // The block output (after the residual add) feeds the next block.
            input = addSite(net, c3, density, rng, images);
            channels = width * 4;
        }
    ConsumerLayer fc;
    fc.kind = LayerKind::Linear;
    fc.name = "fc";
    fc.inChannels = channels;
    fc.outChannels = 1000;
    fc.inputShape = {channels};
    fc.outputShape = {1000};
    net.layers.push_back({fc, -1}); // reads the average pool: unmeasured
    return net;
}

template <typename F>
double microsecondsPer(int reps, F &&f)
{
    f(); // warm up
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i)
        f();
    const auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::micro>(t1 - t0).count() / reps;
}

void printEvaluation(const char *label, const Evaluation &e)
{
    std::printf("  %-28s latency %9.3f ms  %9.1f FPS  %9.3f mJ/frame  %6.3f W  synops %.3g  events %.3g\n", label,
                e.latencySeconds * 1e3, e.fps, e.energyPerFrameJ * 1e3, e.averagePowerW, e.synops, e.events);
}

} // namespace

int main()
{
    const Network baseline = resnetLike(0.5);  // ReLU-like: about half the activations zero
    const Network tuned = resnetLike(0.25);    // after raising sparsity
    std::printf("network: %zu compute layers, %zu activation sites\n", baseline.layers.size(), baseline.sites.size());

    const ProcessorParams nf = loadPreset(builtInPresetDir() + QStringLiteral("/neuronflow-28nm.json"));
    const ProcessorParams da = loadPreset(builtInPresetDir() + QStringLiteral("/dense-mac-array-28nm.json"));
    std::vector<double> thresholds(baseline.sites.size(), 0.05);

    volatile double sink = 0.0;
    const int reps = 5000;
    const double fromStats = microsecondsPer(reps, [&] {
        const Workload w = workloadFromStats(baseline.layers, baseline.sites, baseline.stats);
        sink = sink + evaluate(nf, w).fps;
    });
    const double fromDensities = microsecondsPer(reps, [&] {
        const Workload w = workloadFromDensities(baseline.layers, estimatedDensities(baseline.stats, thresholds));
        sink = sink + evaluate(nf, w).fps;
    });
    const std::vector<double> densities = estimatedDensities(baseline.stats, thresholds);
    const double densitiesOnly = microsecondsPer(reps, [&] { sink = sink + estimatedDensities(baseline.stats, thresholds)[0]; });
    const double fromGivenDensities = microsecondsPer(reps, [&] {
        sink = sink + evaluate(nf, workloadFromDensities(baseline.layers, densities)).fps;
    });
    const Workload measured = workloadFromStats(baseline.layers, baseline.sites, baseline.stats);
    const double evaluateOnly = microsecondsPer(reps, [&] { sink = sink + evaluate(nf, measured).fps; });
    const double withCompare = microsecondsPer(reps, [&] {
        const Evaluation a = evaluate(nf, measured);
        const Evaluation b = evaluate(nf, workloadFromDensities(baseline.layers, estimatedDensities(baseline.stats, thresholds)));
        sink = sink + compare(a, b).fpsRatio;
    });
    std::printf("\ntiming (%d repetitions, microseconds per call):\n", reps);
    std::printf("  workload from measured stats (exact synops) + evaluate : %8.2f us\n", fromStats);
    std::printf("  workload from estimated densities + evaluate           : %8.2f us\n", fromDensities);
    std::printf("    of which estimatedDensities (48 SiteStats lookups)   : %8.2f us\n", densitiesOnly);
    std::printf("  workload from given densities + evaluate               : %8.2f us\n", fromGivenDensities);
    std::printf("  evaluate only                                          : %8.2f us\n", evaluateOnly);
    std::printf("  slider step: two evaluations + compare                 : %8.2f us\n", withCompare);

    const Workload dense = denseWorkload(baseline.layers);
    const Workload tunedW = workloadFromStats(tuned.layers, tuned.sites, tuned.stats);
    std::printf("\nexact layers %d, estimated %d, dense (unmeasured input) %d\n", measured.countBySource(OpsSource::Exact),
                measured.countBySource(OpsSource::Estimate), measured.countBySource(OpsSource::Dense));
    for (const ProcessorParams *p : {&nf, &da}) {
        std::printf("\n%s\n", p->name.c_str());
        const Evaluation d = evaluate(*p, dense);
        const Evaluation b = evaluate(*p, measured);
        const Evaluation t = evaluate(*p, tunedW);
        std::printf("  %s\n", b.mappingNote.c_str());
        printEvaluation("dense reference", d);
        printEvaluation("baseline (density 0.5)", b);
        printEvaluation("tuned (density 0.25)", t);
        const Comparison c = compare(b, t);
        std::printf("  tuned vs baseline: %.2fx lower latency, %.2fx FPS, %.2fx less energy\n", c.latencyRatio,
                    c.fpsRatio, c.energyRatio);
    }
    return sink > 0.0 ? 0 : 1;
}
