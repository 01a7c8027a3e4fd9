#pragma once

#include "graph/site.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sparsity {

struct SiteStats;

// How a layer's event work was obtained.
enum class OpsSource {
    Exact,    // counted from the measured nonzero map (conv) or nonzero count (linear)
    Estimate, // input density x dense count (no spatial map, or a density from a threshold estimate)
    Dense     // every input an event: the dense reference, or an input that is not measured (image, residual
              // sum, pooled tensor) and is therefore taken as dense
};

const char *opsSourceName(OpsSource source);

// Event work of one conv/linear layer per frame (one image). All counts are per frame.
struct LayerWorkload {
    std::string name;          // module path of the layer
    LayerKind kind = LayerKind::Other;
    int inputSite = -1;        // activation site read directly, -1 when unmeasured
    OpsSource source = OpsSource::Dense;
    double density = 1.0;      // nonzero fraction of the layer's inputs
    double events = 0.0;       // nonzero inputs
    double synops = 0.0;       // nonzero-input x weight products (borders, stride, padding, dilation included)
    double neuronUpdates = 0.0; // output elements
    double denseEvents = 0.0;  // every input an event
    double denseSynops = 0.0;  // synops with every input nonzero (NeuroBench's dense count: padding taps excluded)
    double nominalMacs = 0.0;  // conventional MAC count (padding taps included): what a dense MAC array computes
    std::int64_t neurons = 0;  // output elements per frame = neuron state entries to map on cores
    std::int64_t weights = 0;  // parameters (bias excluded)
};

struct Workload {
    std::vector<LayerWorkload> layers;

    double events() const;
    double synops() const;
    double neuronUpdates() const;
    double denseEvents() const;
    double denseSynops() const;
    double nominalMacs() const;
    int countBySource(OpsSource source) const;
};

// Number of (output position, kernel tap) pairs that read input position i along one axis, for i in [0, inSize):
// how many outputs position i reaches. Summed over the axis it is the dense tap count without padding taps.
std::vector<std::int64_t> axisFanout(std::int64_t inSize, std::int64_t outSize, int kernel, int stride, int pad,
                                     int dilation);

// Exact synaptic operations per frame of a conv/linear layer whose input has `nonzeroPerPosition[p]` nonzero
// elements at spatial position p (row-major H x W, summed over channels and `images` images). For a conv:
// sum_p nonzero[p] * fanout(p) * outChannels / groups / images. For linear the map is ignored and
// `totalNonzero` * outFeatures / images is returned. Throws Error when the map's size does not match the geometry.
double exactSynops(const ConsumerLayer &layer, const std::vector<std::int64_t> &nonzeroPerPosition,
                   std::int64_t totalNonzero, std::int64_t images);

// The layer's counts with every input nonzero (density 1).
LayerWorkload denseLayerWorkload(const ConsumerLayer &layer);

// From measured statistics, indexed like `sites` (stats[i] belongs to sites[i]). Exact where the site recorded a
// spatial nonzero map (conv) or for linear layers; density x dense count otherwise; dense for unmeasured inputs.
Workload workloadFromStats(const std::vector<ComputeLayer> &layers, const std::vector<Site> &sites,
                           const std::vector<SiteStats> &stats);

// From estimated nonzero densities per site (1 - sparsity, e.g. 1 - SiteStats::estimatedSparsityAt(t)): every
// count is density x dense count, labelled Estimate. Cheap enough to call on every slider move.
Workload workloadFromDensities(const std::vector<ComputeLayer> &layers, const std::vector<double> &densityPerSite);

// Every input an event: the reference against which the event-driven gain is measured.
Workload denseWorkload(const std::vector<ComputeLayer> &layers);

// Densities (1 - estimated sparsity) if each site's output were thresholded at thresholdPerSite[i].
std::vector<double> estimatedDensities(const std::vector<SiteStats> &stats, const std::vector<double> &thresholdPerSite);

} // namespace sparsity
