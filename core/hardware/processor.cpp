#include "hardware/processor.h"

#include "error.h"
#include "hardware/workload.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sparsity {

namespace {

std::string who(const ProcessorParams &p)
{
    std::string s = p.file.empty() ? "processor" : p.file;
    if (!p.name.empty())
        s += " ('" + p.name + "')";
    return s;
}

void requireAtLeast(const ProcessorParams &p, const char *field, double value, double minimum, bool strict)
{
    const bool ok = std::isfinite(value) && (strict ? value > minimum : value >= minimum);
    if (!ok)
        throw Error(who(p) + ": field '" + field + "' must be " + (strict ? "> " : ">= ") +
                    std::to_string(minimum) + ", found " + std::to_string(value));
}

double ratio(double num, double den)
{
    if (den == 0.0)
        return num == 0.0 ? 1.0 : std::numeric_limits<double>::infinity();
    return num / den;
}

std::string percent(double fraction)
{
    return std::to_string(int(std::lround(fraction * 100.0))) + " %";
}

} // namespace

const char *mappingName(Mapping mapping)
{
    switch (mapping) {
    case Mapping::Resident: return "resident";
    case Mapping::Sequential: return "sequential";
    }
    return "?";
}

const ParamNote *ProcessorParams::note(const std::string &field) const
{
    for (const ParamNote &n : notes)
        if (n.field == field)
            return &n;
    return nullptr;
}

void validate(const ProcessorParams &p)
{
    requireAtLeast(p, "cores", p.cores, 1, false);
    requireAtLeast(p, "neuronsPerCore", double(p.neuronsPerCore), p.mapping == Mapping::Resident ? 1 : 0, false);
    requireAtLeast(p, "clockHz", p.clockHz, 0, true);
    requireAtLeast(p, "synopsPerCorePerCycle", p.synopsPerCorePerCycle, 0, true);
    requireAtLeast(p, "reloadWordsPerCycle", p.reloadWordsPerCycle, 0, true);
    const std::pair<const char *, double> nonNegative[] = {
        {"cyclesPerEvent", p.cyclesPerEvent},
        {"cyclesPerNeuronUpdate", p.cyclesPerNeuronUpdate},
        {"cyclesPerHop", p.cyclesPerHop},
        {"averageHops", p.averageHops},
        {"memoryAccessesPerSynop", p.memoryAccessesPerSynop},
        {"memoryAccessesPerEvent", p.memoryAccessesPerEvent},
        {"memoryAccessesPerNeuronUpdate", p.memoryAccessesPerNeuronUpdate},
        {"energyPerSynopJ", p.energyPerSynopJ},
        {"energyPerEventJ", p.energyPerEventJ},
        {"energyPerHopJ", p.energyPerHopJ},
        {"energyPerNeuronUpdateJ", p.energyPerNeuronUpdateJ},
        {"energyPerMemoryAccessJ", p.energyPerMemoryAccessJ},
        {"energyPerReloadWordJ", p.energyPerReloadWordJ},
        {"staticPowerW", p.staticPowerW},
    };
    for (const auto &[field, value] : nonNegative)
        requireAtLeast(p, field, value, 0, false);
}

Evaluation evaluate(const ProcessorParams &p, const Workload &workload)
{
    validate(p);
    Evaluation ev;
    ev.processor = p.name;
    ev.mapping = p.mapping;
    ev.skipsZeros = p.skipsZeros;
    const std::size_t n = workload.layers.size();
    ev.layers.resize(n);

    // 1. Mapping: cores per layer, partitions when the network does not fit.
    std::int64_t totalNeeded = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const LayerWorkload &w = workload.layers[i];
        LayerCost &c = ev.layers[i];
        c.name = w.name;
        if (p.mapping == Mapping::Resident) {
            const std::int64_t needed = std::max<std::int64_t>(1, (w.neurons + p.neuronsPerCore - 1) / p.neuronsPerCore);
            c.coresNeeded = int(std::min<std::int64_t>(needed, std::numeric_limits<int>::max()));
            totalNeeded += needed;
        } else {
            c.coresNeeded = p.cores;
        }
    }
    std::vector<double> reloadWords(n, 0.0);
    if (p.mapping == Mapping::Resident) {
        ev.coresNeeded = int(std::min<std::int64_t>(totalNeeded, std::numeric_limits<int>::max()));
        ev.timeMultiplexed = totalNeeded > p.cores;
        if (!ev.timeMultiplexed) {
            for (LayerCost &c : ev.layers)
                c.coresAssigned = c.coresNeeded;
            ev.partitions = 1;
            ev.coresUsed = int(totalNeeded);
        } else {
            // Greedy in execution order: a layer joins the current partition if its cores are free, a layer
            // larger than the chip is spread over ceil(needed / cores) partitions of its own.
            int partition = -1;
            std::int64_t freeCores = 0;
            for (std::size_t i = 0; i < n; ++i) {
                LayerCost &c = ev.layers[i];
                const LayerWorkload &w = workload.layers[i];
                if (c.coresNeeded > p.cores) {
                    const int slices = (c.coresNeeded + p.cores - 1) / p.cores;
                    c.partition = partition + 1;
                    c.coresAssigned = p.cores;
                    partition += slices;
                    freeCores = 0;
                    // Each slice holds part of the neurons; a conv slice needs all the weights, a linear slice
                    // only the rows of its own outputs.
                    reloadWords[i] = double(w.weights) * (w.kind == LayerKind::Linear ? 1.0 : double(slices));
                } else {
                    if (c.coresNeeded > freeCores) {
                        ++partition;
                        freeCores = p.cores;
                    }
                    freeCores -= c.coresNeeded;
                    c.partition = partition;
                    c.coresAssigned = c.coresNeeded;
                    reloadWords[i] = double(w.weights);
                }
            }
            ev.partitions = partition + 1;
            ev.coresUsed = p.cores;
        }
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            ev.layers[i].coresAssigned = p.cores;
            ev.layers[i].partition = int(i);
            reloadWords[i] = double(workload.layers[i].weights);
        }
        ev.coresNeeded = p.cores;
        ev.coresUsed = p.cores;
        ev.partitions = int(n);
    }

    // 2. Time and energy per layer.
    const double routing = p.averageHops * p.cyclesPerHop;
    const double energyPerEvent = p.energyPerEventJ + p.averageHops * p.energyPerHopJ;
    double latencyCycles = 0.0, sumStage = 0.0, maxStage = 0.0, synopCycles = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const LayerWorkload &w = workload.layers[i];
        LayerCost &c = ev.layers[i];
        c.events = p.skipsZeros ? w.events : w.denseEvents;
        c.synops = p.skipsZeros ? w.synops : w.nominalMacs;
        c.neuronUpdates = w.neuronUpdates;
        const double cores = double(c.coresAssigned);
        c.computeCycles = c.synops / (cores * p.synopsPerCorePerCycle);
        c.eventCycles = c.events * p.cyclesPerEvent / cores;
        c.neuronCycles = c.neuronUpdates * p.cyclesPerNeuronUpdate / cores;
        c.reloadCycles = reloadWords[i] / p.reloadWordsPerCycle;
        const double work = c.computeCycles + c.eventCycles + c.neuronCycles;
        // Resident and time multiplexed: load the partition's weights, then run. Sequential: weights stream
        // while the previous tile computes (double buffering), so the slower of the two sets the pace.
        c.cycles = p.mapping == Mapping::Sequential ? std::max(work, c.reloadCycles) : work + c.reloadCycles;
        c.latencyCycles = c.cycles + routing;
        c.startSeconds = latencyCycles / p.clockHz;
        latencyCycles += c.latencyCycles;
        c.endSeconds = latencyCycles / p.clockHz;
        sumStage += c.cycles;
        if (c.cycles > maxStage || ev.bottleneckLayer < 0) {
            maxStage = c.cycles;
            ev.bottleneckLayer = int(i);
        }
        const double layerSynopCycles = c.synops / p.synopsPerCorePerCycle;
        synopCycles += layerSynopCycles;
        c.computeUtilisation = c.cycles > 0.0 ? layerSynopCycles / (cores * c.cycles) : 0.0;
        c.neuronUtilisation =
            p.mapping == Mapping::Resident ? double(w.neurons) / (cores * double(p.neuronsPerCore)) : 0.0;
        c.energy.synops = c.synops * p.energyPerSynopJ;
        c.energy.events = c.events * energyPerEvent;
        c.energy.neuronUpdates = c.neuronUpdates * p.energyPerNeuronUpdateJ;
        c.energy.memory = (c.synops * p.memoryAccessesPerSynop + c.events * p.memoryAccessesPerEvent +
                           c.neuronUpdates * p.memoryAccessesPerNeuronUpdate) *
                          p.energyPerMemoryAccessJ;
        c.energy.reload = reloadWords[i] * p.energyPerReloadWordJ;
        ev.events += c.events;
        ev.synops += c.synops;
        ev.neuronUpdates += c.neuronUpdates;
        ev.energy.synops += c.energy.synops;
        ev.energy.events += c.energy.events;
        ev.energy.neuronUpdates += c.energy.neuronUpdates;
        ev.energy.memory += c.energy.memory;
        ev.energy.reload += c.energy.reload;
    }

    // 3. Frame latency, throughput, static energy, utilisation.
    const bool pipelined = p.mapping == Mapping::Resident && !ev.timeMultiplexed;
    const double periodCycles = pipelined ? maxStage : sumStage;
    ev.latencySeconds = latencyCycles / p.clockHz;
    ev.periodSeconds = periodCycles / p.clockHz;
    ev.fps = ev.periodSeconds > 0.0 ? 1.0 / ev.periodSeconds : 0.0;
    ev.energy.staticEnergy = p.staticPowerW * ev.periodSeconds;
    ev.energyPerFrameJ = ev.energy.total();
    ev.averagePowerW = ev.periodSeconds > 0.0 ? ev.energyPerFrameJ / ev.periodSeconds : p.staticPowerW;
    ev.coreUtilisation = double(ev.coresUsed) / double(p.cores);
    ev.computeUtilisation = periodCycles > 0.0 ? synopCycles / (double(p.cores) * periodCycles) : 0.0;

    const std::string bottleneck =
        ev.bottleneckLayer >= 0 ? " '" + ev.layers[std::size_t(ev.bottleneckLayer)].name + "'" : std::string();
    if (p.mapping == Mapping::Sequential) {
        ev.mappingNote = "Layer-sequential: each of the " + std::to_string(n) + " layers runs on all " +
                         std::to_string(p.cores) + " cores in turn, weights streamed every frame; throughput = 1 / latency.";
    } else if (!ev.timeMultiplexed) {
        ev.mappingNote = "Fits: all " + std::to_string(n) + " layers resident on " + std::to_string(ev.coresUsed) +
                         " of " + std::to_string(p.cores) + " cores (" + percent(ev.coreUtilisation) +
                         "); pipelined, throughput set by the slowest layer" + bottleneck + ".";
    } else {
        ev.mappingNote = "Does not fit: the layers need " + std::to_string(totalNeeded) + " cores of " +
                         std::to_string(p.neuronsPerCore) + " neurons, the chip has " + std::to_string(p.cores) +
                         ". Time-multiplexed in " + std::to_string(ev.partitions) +
                         " partitions, weights reloaded every frame, no pipelining across partitions.";
    }
    return ev;
}

Comparison compare(const Evaluation &baseline, const Evaluation &tuned)
{
    if (baseline.layers.size() != tuned.layers.size())
        throw Error("comparison: baseline has " + std::to_string(baseline.layers.size()) + " layers, tuned has " +
                    std::to_string(tuned.layers.size()));
    Comparison cmp;
    cmp.layers.resize(baseline.layers.size());
    for (std::size_t i = 0; i < baseline.layers.size(); ++i) {
        const LayerCost &b = baseline.layers[i];
        const LayerCost &t = tuned.layers[i];
        if (b.name != t.name)
            throw Error("comparison: layer " + std::to_string(i) + " is '" + b.name + "' in the baseline and '" +
                        t.name + "' in the tuned state");
        LayerComparison &l = cmp.layers[i];
        l.name = b.name;
        l.latencyRatio = ratio(b.cycles, t.cycles);
        l.energyRatio = ratio(b.energy.dynamic(), t.energy.dynamic());
        l.eventRatio = ratio(b.events, t.events);
        l.synopRatio = ratio(b.synops, t.synops);
    }
    cmp.latencyRatio = ratio(baseline.latencySeconds, tuned.latencySeconds);
    cmp.fpsRatio = ratio(tuned.fps, baseline.fps);
    cmp.energyRatio = ratio(baseline.energyPerFrameJ, tuned.energyPerFrameJ);
    cmp.eventRatio = ratio(baseline.events, tuned.events);
    cmp.synopRatio = ratio(baseline.synops, tuned.synops);
    return cmp;
}

} // namespace sparsity
