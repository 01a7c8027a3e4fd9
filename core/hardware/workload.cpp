#include "hardware/workload.h"

#include "error.h"
#include "capture/sitestats.h"

#include <algorithm>

namespace sparsity {

namespace {

std::int64_t product(const std::vector<std::int64_t> &shape)
{
    if (shape.empty())
        return 0;
    std::int64_t n = 1;
    for (std::int64_t d : shape)
        n *= d;
    return n;
}

std::int64_t convOutSize(std::int64_t in, int kernel, int stride, int pad, int dilation)
{
    const std::int64_t span = std::int64_t(dilation) * (kernel - 1) + 1;
    const std::int64_t room = in + 2 * std::int64_t(pad) - span;
    return room < 0 ? 0 : room / stride + 1;
}

std::string shapeText(const std::vector<std::int64_t> &shape)
{
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? "," : "") + std::to_string(shape[i]);
    return s + ")";
}

struct ConvDims {
    std::int64_t c = 0, h = 0, w = 0, oh = 0, ow = 0;
};

ConvDims convDims(const ConsumerLayer &layer)
{
    if (layer.inputShape.size() != 3)
        throw Error("layer '" + layer.name + "': a conv2d input must be (C,H,W) per image, found " +
                    shapeText(layer.inputShape));
    if (layer.strideH < 1 || layer.strideW < 1 || layer.dilationH < 1 || layer.dilationW < 1 || layer.groups < 1 ||
        layer.kernelH < 1 || layer.kernelW < 1 || layer.padH < 0 || layer.padW < 0)
        throw Error("layer '" + layer.name + "': kernel, stride, dilation and groups must be >= 1 and padding >= 0");
    ConvDims d;
    d.c = layer.inputShape[0];
    d.h = layer.inputShape[1];
    d.w = layer.inputShape[2];
    if (layer.outputShape.size() == 3) {
        d.oh = layer.outputShape[1];
        d.ow = layer.outputShape[2];
    } else {
        d.oh = convOutSize(d.h, layer.kernelH, layer.strideH, layer.padH, layer.dilationH);
        d.ow = convOutSize(d.w, layer.kernelW, layer.strideW, layer.padW, layer.dilationW);
    }
    return d;
}

std::int64_t convOutChannels(const ConsumerLayer &layer)
{
    if (layer.outChannels > 0)
        return layer.outChannels;
    if (layer.outputShape.size() == 3)
        return layer.outputShape[0];
    throw Error("layer '" + layer.name + "': output channels unknown");
}

std::int64_t linearOutFeatures(const ConsumerLayer &layer)
{
    if (layer.outChannels > 0)
        return layer.outChannels;
    if (!layer.outputShape.empty())
        return layer.outputShape.back();
    throw Error("layer '" + layer.name + "': output features unknown");
}

std::int64_t linearInFeatures(const ConsumerLayer &layer)
{
    if (layer.inChannels > 0)
        return layer.inChannels;
    if (!layer.inputShape.empty())
        return layer.inputShape.back();
    throw Error("layer '" + layer.name + "': input features unknown");
}

// Sum of axisFanout() without building the vector: kernel taps that land inside the input along one axis.
std::int64_t axisTaps(std::int64_t inSize, std::int64_t outSize, int kernel, int stride, int pad, int dilation)
{
    std::int64_t taps = 0;
    for (std::int64_t o = 0; o < outSize; ++o) {
        const std::int64_t base = o * stride - pad;
        for (int k = 0; k < kernel; ++k) {
            const std::int64_t i = base + std::int64_t(k) * dilation;
            taps += (i >= 0 && i < inSize) ? 1 : 0;
        }
    }
    return taps;
}

void setDensity(LayerWorkload &w, double density, OpsSource source)
{
    density = std::clamp(density, 0.0, 1.0);
    w.density = density;
    w.source = source;
    w.events = density * w.denseEvents;
    w.synops = density * w.denseSynops;
}

} // namespace

const char *opsSourceName(OpsSource source)
{
    switch (source) {
    case OpsSource::Exact: return "exact";
    case OpsSource::Estimate: return "estimate";
    case OpsSource::Dense: return "dense";
    }
    return "?";
}

namespace {

double sumOver(const std::vector<LayerWorkload> &layers, double LayerWorkload::*field)
{
    double s = 0.0;
    for (const auto &l : layers)
        s += l.*field;
    return s;
}

} // namespace

double Workload::events() const { return sumOver(layers, &LayerWorkload::events); }
double Workload::synops() const { return sumOver(layers, &LayerWorkload::synops); }
double Workload::neuronUpdates() const { return sumOver(layers, &LayerWorkload::neuronUpdates); }
double Workload::denseEvents() const { return sumOver(layers, &LayerWorkload::denseEvents); }
double Workload::denseSynops() const { return sumOver(layers, &LayerWorkload::denseSynops); }
double Workload::nominalMacs() const { return sumOver(layers, &LayerWorkload::nominalMacs); }

int Workload::countBySource(OpsSource source) const
{
    return int(std::count_if(layers.begin(), layers.end(), [source](const LayerWorkload &l) { return l.source == source; }));
}

std::vector<std::int64_t> axisFanout(std::int64_t inSize, std::int64_t outSize, int kernel, int stride, int pad,
                                     int dilation)
{
    std::vector<std::int64_t> fan(std::size_t(std::max<std::int64_t>(inSize, 0)), 0);
    for (std::int64_t o = 0; o < outSize; ++o) {
        const std::int64_t base = o * stride - pad;
        for (int k = 0; k < kernel; ++k) {
            const std::int64_t i = base + std::int64_t(k) * dilation;
            if (i >= 0 && i < inSize)
                ++fan[std::size_t(i)];
        }
    }
    return fan;
}

double exactSynops(const ConsumerLayer &layer, const std::vector<std::int64_t> &nonzeroPerPosition,
                   std::int64_t totalNonzero, std::int64_t images)
{
    if (images <= 0)
        throw Error("layer '" + layer.name + "': no images measured");
    if (layer.kind == LayerKind::Linear)
        return double(totalNonzero) * double(linearOutFeatures(layer)) / double(images);
    if (layer.kind != LayerKind::Conv2d)
        return 0.0;
    const ConvDims d = convDims(layer);
    if (std::int64_t(nonzeroPerPosition.size()) != d.h * d.w)
        throw Error("layer '" + layer.name + "': nonzero map has " + std::to_string(nonzeroPerPosition.size()) +
                    " positions, input is " + std::to_string(d.h) + "x" + std::to_string(d.w));
    const auto fanH = axisFanout(d.h, d.oh, layer.kernelH, layer.strideH, layer.padH, layer.dilationH);
    const auto fanW = axisFanout(d.w, d.ow, layer.kernelW, layer.strideW, layer.padW, layer.dilationW);
    // Integer sum: exact for any realistic count (nonzero <= C*images, fanout <= KH*KW).
    std::int64_t reached = 0;
    const std::int64_t *nz = nonzeroPerPosition.data();
    for (std::int64_t y = 0; y < d.h; ++y) {
        std::int64_t row = 0;
        for (std::int64_t x = 0; x < d.w; ++x)
            row += nz[y * d.w + x] * fanW[std::size_t(x)];
        reached += row * fanH[std::size_t(y)];
    }
    const std::int64_t perInputChannel = convOutChannels(layer) / layer.groups;
    return double(reached) * double(perInputChannel) / double(images);
}

LayerWorkload denseLayerWorkload(const ConsumerLayer &layer)
{
    LayerWorkload w;
    w.name = layer.name;
    w.kind = layer.kind;
    w.source = OpsSource::Dense;
    w.density = 1.0;
    switch (layer.kind) {
    case LayerKind::Conv2d: {
        const ConvDims d = convDims(layer);
        const std::int64_t outC = convOutChannels(layer);
        const std::int64_t inPerGroup = d.c / layer.groups;
        const std::int64_t sumH = axisTaps(d.h, d.oh, layer.kernelH, layer.strideH, layer.padH, layer.dilationH);
        const std::int64_t sumW = axisTaps(d.w, d.ow, layer.kernelW, layer.strideW, layer.padW, layer.dilationW);
        w.denseEvents = double(d.c * d.h * d.w);
        w.denseSynops = double(d.c) * double(sumH) * double(sumW) * double(outC / layer.groups);
        w.neurons = outC * d.oh * d.ow;
        w.weights = outC * inPerGroup * layer.kernelH * layer.kernelW;
        w.nominalMacs = layer.denseMacs > 0 ? double(layer.denseMacs)
                                            : double(w.neurons) * double(inPerGroup * layer.kernelH * layer.kernelW);
        break;
    }
    case LayerKind::Linear: {
        const std::int64_t inF = linearInFeatures(layer);
        const std::int64_t outF = linearOutFeatures(layer);
        const std::int64_t inElems = layer.inputShape.empty() ? inF : product(layer.inputShape);
        w.denseEvents = double(inElems);
        w.denseSynops = double(inElems) * double(outF);
        w.neurons = inF > 0 ? inElems / inF * outF : 0;
        w.weights = inF * outF;
        w.nominalMacs = layer.denseMacs > 0 ? double(layer.denseMacs) : w.denseSynops;
        break;
    }
    default:
        // Not a weighted layer: its inputs still arrive as events, but there are no synaptic operations.
        w.denseEvents = double(product(layer.inputShape));
        w.neurons = product(layer.outputShape);
        w.nominalMacs = double(std::max<std::int64_t>(layer.denseMacs, 0));
        break;
    }
    w.neuronUpdates = double(w.neurons);
    w.events = w.denseEvents;
    w.synops = w.denseSynops;
    return w;
}

Workload workloadFromStats(const std::vector<ComputeLayer> &layers, const std::vector<Site> &sites,
                           const std::vector<SiteStats> &stats)
{
    if (stats.size() != sites.size())
        throw Error("workload: " + std::to_string(stats.size()) + " site statistics for " +
                    std::to_string(sites.size()) + " sites");
    Workload out;
    out.layers.reserve(layers.size());
    for (const ComputeLayer &cl : layers) {
        LayerWorkload w = denseLayerWorkload(cl.geometry);
        w.inputSite = cl.inputSite;
        const bool measured = cl.inputSite >= 0 && std::size_t(cl.inputSite) < stats.size() &&
                              stats[std::size_t(cl.inputSite)].elements > 0;
        if (measured) {
            const SiteStats &s = stats[std::size_t(cl.inputSite)];
            const double density = double(s.nonzeros()) / double(s.elements);
            setDensity(w, density, OpsSource::Estimate);
            const bool isLinear = cl.geometry.kind == LayerKind::Linear;
            const bool mapFits = cl.geometry.kind == LayerKind::Conv2d && cl.geometry.inputShape.size() == 3 &&
                                 std::int64_t(s.spatialNonzero.size()) ==
                                     cl.geometry.inputShape[1] * cl.geometry.inputShape[2];
            if (s.images > 0 && (isLinear || mapFits)) {
                w.synops = exactSynops(cl.geometry, s.spatialNonzero, s.nonzeros(), s.images);
                w.events = s.nonzerosPerImage();
                w.source = OpsSource::Exact;
            }
        }
        out.layers.push_back(std::move(w));
    }
    return out;
}

Workload workloadFromDensities(const std::vector<ComputeLayer> &layers, const std::vector<double> &densityPerSite)
{
    Workload out;
    out.layers.reserve(layers.size());
    for (const ComputeLayer &cl : layers) {
        LayerWorkload w = denseLayerWorkload(cl.geometry);
        w.inputSite = cl.inputSite;
        if (cl.inputSite >= 0 && std::size_t(cl.inputSite) < densityPerSite.size())
            setDensity(w, densityPerSite[std::size_t(cl.inputSite)], OpsSource::Estimate);
        out.layers.push_back(std::move(w));
    }
    return out;
}

Workload denseWorkload(const std::vector<ComputeLayer> &layers)
{
    Workload out;
    out.layers.reserve(layers.size());
    for (const ComputeLayer &cl : layers) {
        LayerWorkload w = denseLayerWorkload(cl.geometry);
        w.inputSite = cl.inputSite;
        out.layers.push_back(std::move(w));
    }
    return out;
}

std::vector<double> estimatedDensities(const std::vector<SiteStats> &stats, const std::vector<double> &thresholdPerSite)
{
    std::vector<double> d(stats.size(), 1.0);
    for (std::size_t i = 0; i < stats.size(); ++i) {
        const double t = i < thresholdPerSite.size() ? thresholdPerSite[i] : 0.0;
        d[i] = 1.0 - stats[i].estimatedSparsityAt(t);
    }
    return d;
}

} // namespace sparsity
