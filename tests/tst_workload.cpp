#include "error.h"
#include "graph/site.h"
#include "capture/sitestats.h"
#include "hardware/workload.h"

#include <QTest>

#include <random>

using namespace sparsity;

Q_DECLARE_METATYPE(sparsity::ConsumerLayer)

namespace {

ConsumerLayer conv(std::int64_t c, std::int64_t h, std::int64_t w, std::int64_t outC, int k, int stride, int pad,
                   int dilation, int groups, int kw = -1)
{
    ConsumerLayer l;
    l.kind = LayerKind::Conv2d;
    l.name = "conv";
    l.kernelH = k;
    l.kernelW = kw < 0 ? k : kw;
    l.strideH = l.strideW = stride;
    l.padH = pad;
    l.padW = kw < 0 ? pad : 0;
    l.dilationH = l.dilationW = dilation;
    l.groups = groups;
    l.inChannels = c;
    l.outChannels = outC;
    l.inputShape = {c, h, w};
    // outputShape left empty on purpose: the workload derives it from the geometry.
    return l;
}

ConsumerLayer linear(std::int64_t in, std::int64_t out)
{
    ConsumerLayer l;
    l.kind = LayerKind::Linear;
    l.name = "fc";
    l.inChannels = in;
    l.outChannels = out;
    l.inputShape = {in};
    l.outputShape = {out};
    return l;
}

// NeuroBench's way, written out as loops: convolve the binary mask with an all-ones kernel (no bias) and sum the
// output: the number of nonzero-input x weight products. mask is [images][C][H][W].
std::int64_t bruteForceOps(const ConsumerLayer &l, const std::vector<std::uint8_t> &mask, int images)
{
    const std::int64_t C = l.inputShape[0], H = l.inputShape[1], W = l.inputShape[2];
    const std::int64_t OH = (H + 2 * l.padH - l.dilationH * (l.kernelH - 1) - 1) / l.strideH + 1;
    const std::int64_t OW = (W + 2 * l.padW - l.dilationW * (l.kernelW - 1) - 1) / l.strideW + 1;
    const std::int64_t inPerGroup = C / l.groups, outPerGroup = l.outChannels / l.groups;
    std::int64_t ops = 0;
    for (int n = 0; n < images; ++n)
        for (std::int64_t oc = 0; oc < l.outChannels; ++oc) {
            const std::int64_t g = oc / outPerGroup;
            for (std::int64_t oy = 0; oy < OH; ++oy)
                for (std::int64_t ox = 0; ox < OW; ++ox)
                    for (std::int64_t ic = g * inPerGroup; ic < (g + 1) * inPerGroup; ++ic)
                        for (int ky = 0; ky < l.kernelH; ++ky)
                            for (int kx = 0; kx < l.kernelW; ++kx) {
                                const std::int64_t y = oy * l.strideH - l.padH + ky * l.dilationH;
                                const std::int64_t x = ox * l.strideW - l.padW + kx * l.dilationW;
                                if (y >= 0 && y < H && x >= 0 && x < W)
                                    ops += mask[std::size_t(((n * C + ic) * H + y) * W + x)];
                            }
        }
    return ops;
}

std::vector<std::int64_t> spatialMap(const ConsumerLayer &l, const std::vector<std::uint8_t> &mask, int images)
{
    const std::int64_t C = l.inputShape[0], H = l.inputShape[1], W = l.inputShape[2];
    std::vector<std::int64_t> map(std::size_t(H * W), 0);
    for (int n = 0; n < images; ++n)
        for (std::int64_t c = 0; c < C; ++c)
            for (std::int64_t p = 0; p < H * W; ++p)
                map[std::size_t(p)] += mask[std::size_t((n * C + c) * H * W + p)];
    return map;
}

} // namespace

class TestWorkload : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void denseInputGivesDenseMacs_data()
    {
        QTest::addColumn<ConsumerLayer>("layer");
        QTest::addColumn<bool>("paddingTaps"); // nominal MACs include taps on the padding
        QTest::newRow("3x3 s1 p0") << conv(4, 9, 9, 8, 3, 1, 0, 1, 1) << false;
        QTest::newRow("3x3 s1 p1") << conv(4, 9, 9, 8, 3, 1, 1, 1, 1) << true;
        QTest::newRow("3x3 s2 p1") << conv(3, 10, 11, 5, 3, 2, 1, 1, 1) << true;
        QTest::newRow("3x3 s2 p0 odd") << conv(3, 11, 11, 5, 3, 2, 0, 1, 1) << false;
        QTest::newRow("1x1 s2 (downsample)") << conv(8, 8, 8, 16, 1, 2, 0, 1, 1) << false;
        QTest::newRow("7x7 s2 p3 (stem)") << conv(3, 20, 20, 4, 7, 2, 3, 1, 1) << true;
        QTest::newRow("3x3 dilation 2 p2") << conv(2, 12, 12, 3, 3, 1, 2, 2, 1) << true;
        QTest::newRow("3x3 dilation 3 p0") << conv(2, 12, 12, 3, 3, 1, 0, 3, 1) << false;
        QTest::newRow("groups 2") << conv(4, 7, 7, 6, 3, 1, 1, 1, 2) << true;
        QTest::newRow("depthwise s1") << conv(6, 8, 8, 6, 3, 1, 1, 1, 6) << true;
        QTest::newRow("depthwise s2") << conv(6, 9, 9, 6, 3, 2, 1, 1, 6) << true;
        QTest::newRow("depthwise multiplier 2") << conv(4, 6, 6, 8, 3, 1, 0, 1, 4) << false;
        QTest::newRow("5x3 kernel") << conv(2, 9, 7, 3, 5, 1, 2, 1, 1, 3) << true;
        QTest::newRow("linear") << linear(37, 11) << false;
    }
    void denseInputGivesDenseMacs()
    {
        QFETCH(ConsumerLayer, layer);
        QFETCH(bool, paddingTaps);
        const LayerWorkload dense = denseLayerWorkload(layer);
        const int images = 3;
        if (layer.kind == LayerKind::Linear) {
            const std::int64_t nonzero = layer.inputShape[0] * images;
            QCOMPARE(exactSynops(layer, {}, nonzero, images), double(layer.inChannels * layer.outChannels));
            QCOMPARE(dense.denseSynops, double(layer.inChannels * layer.outChannels));
            QCOMPARE(dense.nominalMacs, dense.denseSynops);
            return;
        }
        const std::int64_t elements = layer.inputShape[0] * layer.inputShape[1] * layer.inputShape[2];
        const std::vector<std::uint8_t> ones(std::size_t(elements * images), 1);
        const auto map = spatialMap(layer, ones, images);
        const double synops = exactSynops(layer, map, elements * images, images);
        const std::int64_t brute = bruteForceOps(layer, ones, images);
        QCOMPARE(synops, double(brute) / images);
        QCOMPARE(dense.denseSynops, synops);
        QCOMPARE(dense.events, double(elements));
        // The conventional count: output elements x (in/groups) x kH x kW. Equal without padding; with padding it
        // also counts the taps that land on padded zeros (what a dense MAC array computes).
        const double nominal = double(dense.neurons) * double(layer.inChannels / layer.groups) *
                               double(layer.kernelH * layer.kernelW);
        QCOMPARE(dense.nominalMacs, nominal);
        if (paddingTaps)
            QVERIFY(dense.denseSynops < nominal);
        else
            QCOMPARE(dense.denseSynops, nominal);
    }

    void sparseMasksAreCountedExactly_data() { denseInputGivesDenseMacs_data(); }
    void sparseMasksAreCountedExactly()
    {
        QFETCH(ConsumerLayer, layer);
        if (layer.kind == LayerKind::Linear) {
            QCOMPARE(exactSynops(layer, {}, 10, 2), 5.0 * double(layer.outChannels));
            return;
        }
        const int images = 2;
        const std::int64_t elements = layer.inputShape[0] * layer.inputShape[1] * layer.inputShape[2];
        std::mt19937 rng(42);
        std::bernoulli_distribution on(0.3);
        std::vector<std::uint8_t> mask(std::size_t(elements * images));
        std::int64_t nonzero = 0;
        for (auto &m : mask)
            nonzero += (m = on(rng) ? 1 : 0);
        const auto map = spatialMap(layer, mask, images);
        QCOMPARE(exactSynops(layer, map, nonzero, images), double(bruteForceOps(layer, mask, images)) / images);
    }

    void workloadFromStatsLabelsItsCounts()
    {
        // site 0: 4x6x6 output with a spatial map; site 1: same shape without map; the fc reads site 2 (flat).
        std::vector<Site> sites(3);
        std::vector<SiteStats> stats(3);
        const ConsumerLayer c0 = conv(4, 6, 6, 4, 3, 1, 1, 1, 1);
        std::vector<std::uint8_t> mask(4 * 36 * 2, 0);
        for (std::size_t i = 0; i < mask.size(); i += 3)
            mask[i] = 1;
        std::int64_t nz = 0;
        for (auto m : mask)
            nz += m;
        stats[0].elements = std::int64_t(mask.size());
        stats[0].zeros = stats[0].elements - nz;
        stats[0].images = 2;
        stats[0].spatialNonzero = spatialMap(c0, mask, 2);
        stats[1] = stats[0];
        stats[1].spatialNonzero.clear();
        stats[2].elements = 20 * 2;
        stats[2].zeros = 30;
        stats[2].images = 2;

        std::vector<ComputeLayer> layers(4);
        layers[0] = {conv(3, 6, 6, 4, 3, 1, 1, 1, 1), -1};
        layers[1] = {c0, 0};
        layers[2] = {conv(4, 6, 6, 4, 3, 1, 1, 1, 1), 1};
        layers[3] = {linear(20, 7), 2};
        const Workload w = workloadFromStats(layers, sites, stats);
        QCOMPARE(w.layers[0].source, OpsSource::Dense);
        QCOMPARE(w.layers[0].synops, w.layers[0].denseSynops);
        QCOMPARE(w.layers[1].source, OpsSource::Exact);
        QCOMPARE(w.layers[1].synops, double(bruteForceOps(c0, mask, 2)) / 2);
        QCOMPARE(w.layers[1].events, double(nz) / 2);
        QCOMPARE(w.layers[2].source, OpsSource::Estimate);
        QCOMPARE(w.layers[2].synops, w.layers[2].denseSynops * double(nz) / double(mask.size()));
        QCOMPARE(w.layers[3].source, OpsSource::Exact);
        QCOMPARE(w.layers[3].events, 5.0);
        QCOMPARE(w.layers[3].synops, 35.0);
        QCOMPARE(w.layers[3].neuronUpdates, 7.0);
        QCOMPARE(w.countBySource(OpsSource::Exact), 2);

        stats.pop_back();
        QVERIFY_THROWS_EXCEPTION(Error, workloadFromStats(layers, sites, stats));
    }

    void halvingDensityHalvesEventWork_data()
    {
        QTest::addColumn<double>("density");
        QTest::newRow("1.0") << 1.0;
        QTest::newRow("0.6") << 0.6;
        QTest::newRow("0.25") << 0.25;
    }
    void halvingDensityHalvesEventWork()
    {
        QFETCH(double, density);
        std::vector<ComputeLayer> layers = {{conv(8, 10, 10, 16, 3, 1, 1, 1, 1), 0},
                                            {conv(16, 10, 10, 16, 3, 2, 1, 1, 16), 1},
                                            {linear(400, 10), 1}};
        const Workload full = workloadFromDensities(layers, {density, density});
        const Workload half = workloadFromDensities(layers, {density / 2, density / 2});
        for (std::size_t i = 0; i < layers.size(); ++i) {
            QCOMPARE(half.layers[i].events * 2, full.layers[i].events);
            QCOMPARE(half.layers[i].synops * 2, full.layers[i].synops);
            QCOMPARE(half.layers[i].neuronUpdates, full.layers[i].neuronUpdates);
            QCOMPARE(half.layers[i].source, OpsSource::Estimate);
        }

        // The exact path too: halve every count of a measured map.
        const ConsumerLayer l = layers[0].geometry;
        std::vector<std::int64_t> map(100);
        for (std::size_t p = 0; p < map.size(); ++p)
            map[p] = std::int64_t(2 * ((p * 7) % 9));
        std::vector<std::int64_t> halfMap(map);
        std::int64_t total = 0;
        for (auto &v : halfMap) {
            total += v;
            v /= 2;
        }
        QCOMPARE(exactSynops(l, halfMap, total / 2, 4) * 2, exactSynops(l, map, total, 4));
    }

    void densitiesFromThresholds()
    {
        std::vector<SiteStats> stats(2);
        stats[0].elements = 100;
        stats[0].zeros = 40;
        for (int i = 0; i < 60; ++i)
            stats[0].positive.add(1.0f);
        stats[1].elements = 10;
        stats[1].zeros = 10;
        const auto d = estimatedDensities(stats, {0.0, 0.5});
        QCOMPARE(d[0], 0.6);
        QCOMPARE(d[1], 0.0);
        QCOMPARE(estimatedDensities(stats, {2.0})[0], 0.0);
    }

    void mismatchedMapIsAnError()
    {
        const ConsumerLayer l = conv(2, 5, 5, 2, 3, 1, 1, 1, 1);
        QVERIFY_THROWS_EXCEPTION(Error, exactSynops(l, std::vector<std::int64_t>(24, 1), 24, 1));
        ConsumerLayer bad = l;
        bad.inputShape = {2, 5};
        QVERIFY_THROWS_EXCEPTION(Error, denseLayerWorkload(bad));
    }
};

QTEST_APPLESS_MAIN(TestWorkload)
#include "tst_workload.moc"
