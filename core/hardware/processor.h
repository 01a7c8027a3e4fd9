#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparsity {

struct Workload;

// How layers are placed on the machine.
enum class Mapping {
    Resident,  // dataflow (NeuronFlow): every layer's neurons stay on their own cores, layers run as pipeline stages
    Sequential // one layer at a time on all cores, weights streamed (a conventional accelerator)
};

const char *mappingName(Mapping mapping);

// Where a parameter's value comes from: a public source, or our own assumption (shown as such in docs and UI).
struct ParamNote {
    std::string field;
    bool assumption = true;
    std::string text;
};

// A machine. Times in cycles, energies in joules, power in watts. docs/processor-model.md has every formula.
struct ProcessorParams {
    std::string name;
    std::string description;
    std::string file; // where it was loaded from, empty when built in code
    Mapping mapping = Mapping::Resident;
    bool skipsZeros = true; // event-driven: only nonzero inputs cost work; false: every MAC is done

    int cores = 1;
    std::int64_t neuronsPerCore = 1024;
    double clockHz = 1e8;
    double synopsPerCorePerCycle = 1.0; // synaptic operations (MACs) per core per cycle
    double cyclesPerEvent = 1.0;        // receiving one event at a core (decode, fan-out lookup)
    double cyclesPerNeuronUpdate = 1.0; // updating one output neuron (activation, fire)
    double cyclesPerHop = 1.0;          // router latency per hop
    double averageHops = 1.0;           // hops from a layer's cores to the next layer's cores
    double reloadWordsPerCycle = 1.0;   // weight words loaded per cycle (time multiplexing, weight streaming)

    double memoryAccessesPerSynop = 0.0;
    double memoryAccessesPerEvent = 0.0;
    double memoryAccessesPerNeuronUpdate = 0.0;

    double energyPerSynopJ = 0.0;
    double energyPerEventJ = 0.0; // one event message sent and received
    double energyPerHopJ = 0.0;   // one event message crossing one router
    double energyPerNeuronUpdateJ = 0.0;
    double energyPerMemoryAccessJ = 0.0;
    double energyPerReloadWordJ = 0.0; // one weight word brought on chip
    double staticPowerW = 0.0;

    std::vector<ParamNote> notes;
    const ParamNote *note(const std::string &field) const;
};

// Throws Error naming the processor (and its file) and the offending field.
void validate(const ProcessorParams &params);

// Energy per frame by category, joules.
struct EnergyBreakdown {
    double synops = 0.0;
    double events = 0.0; // messages and routing
    double neuronUpdates = 0.0;
    double memory = 0.0;
    double reload = 0.0; // weights brought on chip every frame (time multiplexing, weight streaming)
    double staticEnergy = 0.0;

    double dynamic() const { return synops + events + neuronUpdates + memory + reload; }
    double total() const { return dynamic() + staticEnergy; }
};

struct LayerCost {
    std::string name;
    int coresNeeded = 0;   // ceil(neurons / neurons per core), at least 1 (resident mapping)
    int coresAssigned = 0; // cores that do the layer's work
    int partition = 0;     // time-multiplexing partition (resident), 0 when everything fits
    double events = 0.0;   // as executed: a processor that does not skip zeros takes every input
    double synops = 0.0;   // as executed: MACs on a processor that does not skip zeros
    double neuronUpdates = 0.0;
    double computeCycles = 0.0; // synops / (cores x synops per core per cycle)
    double eventCycles = 0.0;
    double neuronCycles = 0.0;
    double reloadCycles = 0.0;
    double cycles = 0.0;        // stage time per frame
    double latencyCycles = 0.0; // stage time + routing latency
    double startSeconds = 0.0;  // within one frame, layer by layer
    double endSeconds = 0.0;
    double computeUtilisation = 0.0; // synop units busy during the layer's stage
    double neuronUtilisation = 0.0;  // neurons / (assigned cores x neurons per core); resident mapping only
    EnergyBreakdown energy;          // dynamic energy per frame (static is charged to the whole chip)
};

struct Evaluation {
    std::string processor;
    Mapping mapping = Mapping::Resident;
    bool skipsZeros = true;
    std::vector<LayerCost> layers;
    int coresNeeded = 0; // sum over layers (resident)
    int coresUsed = 0;
    int partitions = 1;
    bool timeMultiplexed = false;
    std::string mappingNote; // one sentence for the user: fits, time multiplexed, or layer-sequential
    double events = 0.0;
    double synops = 0.0;
    double neuronUpdates = 0.0;
    double latencySeconds = 0.0; // one frame through all layers
    double periodSeconds = 0.0;  // time between frames at the highest throughput
    double fps = 0.0;
    int bottleneckLayer = -1;
    EnergyBreakdown energy;      // per frame, static included (static power x frame period)
    double energyPerFrameJ = 0.0;
    double averagePowerW = 0.0;  // at the highest throughput
    double coreUtilisation = 0.0;    // cores used / cores
    double computeUtilisation = 0.0; // synop work / (cores x period x synops per core per cycle)
};

// Projects one workload onto one machine. Cheap: a few hundred floating-point operations per layer.
Evaluation evaluate(const ProcessorParams &params, const Workload &workload);

// Ratios baseline / tuned for latency and energy ("x lower"), tuned / baseline for FPS ("x higher").
struct LayerComparison {
    std::string name;
    double latencyRatio = 1.0; // baseline stage cycles / tuned stage cycles
    double energyRatio = 1.0;  // baseline dynamic energy / tuned dynamic energy
    double eventRatio = 1.0;
    double synopRatio = 1.0;
};

struct Comparison {
    std::vector<LayerComparison> layers;
    double latencyRatio = 1.0;
    double fpsRatio = 1.0;
    double energyRatio = 1.0; // total energy per frame, static included
    double eventRatio = 1.0;
    double synopRatio = 1.0;
};

// Two states of one model on one machine (ReLU baseline vs tuned, or dense reference vs measured).
// Throws Error when the evaluations do not have the same layers.
Comparison compare(const Evaluation &baseline, const Evaluation &tuned);

} // namespace sparsity
