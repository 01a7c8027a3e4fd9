#include "error.h"
#include "hardware/processor.h"
#include "hardware/processorpreset.h"
#include "graph/site.h"
#include "hardware/workload.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QTest>

#include <functional>

using namespace sparsity;

namespace {

ConsumerLayer linear(const char *name, std::int64_t in, std::int64_t out)
{
    ConsumerLayer l;
    l.kind = LayerKind::Linear;
    l.name = name;
    l.inChannels = in;
    l.outChannels = out;
    l.inputShape = {in};
    l.outputShape = {out};
    return l;
}

ConsumerLayer conv3x3(const char *name, std::int64_t c, std::int64_t hw, std::int64_t outC)
{
    ConsumerLayer l;
    l.kind = LayerKind::Conv2d;
    l.name = name;
    l.kernelH = l.kernelW = 3;
    l.padH = l.padW = 1;
    l.inChannels = c;
    l.outChannels = outC;
    l.inputShape = {c, hw, hw};
    l.outputShape = {outC, hw, hw};
    return l;
}

// Round numbers so that every result below can be worked out by hand (the arithmetic is in the comments).
ProcessorParams tinyChip(int cores)
{
    ProcessorParams p;
    p.name = "tiny";
    p.mapping = Mapping::Resident;
    p.skipsZeros = true;
    p.cores = cores;
    p.neuronsPerCore = 100;
    p.clockHz = 1e6;
    p.synopsPerCorePerCycle = 2;
    p.cyclesPerEvent = 1;
    p.cyclesPerNeuronUpdate = 1;
    p.cyclesPerHop = 3;
    p.averageHops = 2;
    p.reloadWordsPerCycle = 1;
    p.memoryAccessesPerSynop = 1;
    p.memoryAccessesPerEvent = 1;
    p.memoryAccessesPerNeuronUpdate = 0;
    p.energyPerSynopJ = 1e-12;
    p.energyPerEventJ = 2e-12;
    p.energyPerHopJ = 0.5e-12;
    p.energyPerNeuronUpdateJ = 3e-12;
    p.energyPerMemoryAccessJ = 10e-12;
    p.energyPerReloadWordJ = 100e-12;
    p.staticPowerW = 1e-3;
    return p;
}

// fc1: 10 -> 50, reads the image (unmeasured: dense); fc2: 50 -> 200, reads site 0.
std::vector<ComputeLayer> tinyNet()
{
    return {{linear("fc1", 10, 50), -1}, {linear("fc2", 50, 200), 0}};
}

QByteArray readFile(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return f.readAll();
}

QString builtIn(const char *file)
{
    return builtInPresetDir() + QLatin1Char('/') + QLatin1String(file);
}

} // namespace

class TestProcessor : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void handComputedPipeline()
    {
        const Evaluation ev = evaluate(tinyChip(4), workloadFromDensities(tinyNet(), {0.4}));
        // fc1: 10 events, 500 synops, 50 neurons -> 1 core; fc2: 20 events, 4000 synops, 200 neurons -> 2 cores.
        QVERIFY(!ev.timeMultiplexed);
        QCOMPARE(ev.coresNeeded, 3);
        QCOMPARE(ev.coresUsed, 3);
        QCOMPARE(ev.layers[0].coresAssigned, 1);
        QCOMPARE(ev.layers[1].coresAssigned, 2);
        // fc1: 500/(1*2) + 10*1/1 + 50*1/1 = 310 cycles; fc2: 4000/(2*2) + 20/2 + 200/2 = 1110 cycles.
        QCOMPARE(ev.layers[0].computeCycles, 250.0);
        QCOMPARE(ev.layers[0].cycles, 310.0);
        QCOMPARE(ev.layers[1].computeCycles, 1000.0);
        QCOMPARE(ev.layers[1].eventCycles, 10.0);
        QCOMPARE(ev.layers[1].neuronCycles, 100.0);
        QCOMPARE(ev.layers[1].cycles, 1110.0);
        // Latency: each stage plus 2 hops x 3 cycles: 316 + 1116 = 1432 cycles at 1 MHz.
        QCOMPARE(ev.latencySeconds, 1432e-6);
        QCOMPARE(ev.layers[1].startSeconds, 316e-6);
        QCOMPARE(ev.layers[1].endSeconds, 1432e-6);
        // Pipelined: the slowest stage (fc2, 1110 cycles) sets the frame period.
        QCOMPARE(ev.bottleneckLayer, 1);
        QCOMPARE(ev.periodSeconds, 1110e-6);
        QCOMPARE(ev.fps, 1e6 / 1110.0);
        // Energy (pJ): fc1 synops 500, events 10*(2+2*0.5)=30, neurons 50*3=150, memory (500+10)*10=5100;
        // fc2 synops 4000, events 60, neurons 600, memory (4000+20)*10=40200. Static 1 mW x 1110 us.
        QCOMPARE(ev.layers[0].energy.events, 30e-12);
        QCOMPARE(ev.layers[0].energy.memory, 5100e-12);
        QCOMPARE(ev.energy.synops, 4500e-12);
        QCOMPARE(ev.energy.events, 90e-12);
        QCOMPARE(ev.energy.neuronUpdates, 750e-12);
        QCOMPARE(ev.energy.memory, 45300e-12);
        QCOMPARE(ev.energy.reload, 0.0);
        QCOMPARE(ev.energy.dynamic(), 50640e-12);
        QCOMPARE(ev.energy.staticEnergy, 1110e-9);
        QCOMPARE(ev.energyPerFrameJ, 50640e-12 + 1110e-9);
        // Utilisation: 3 of 4 cores; synop work (250 + 2000 core-cycles) over 4 cores x 1110 cycles.
        QCOMPARE(ev.coreUtilisation, 0.75);
        QCOMPARE(ev.computeUtilisation, 2250.0 / 4440.0);
        QCOMPARE(ev.layers[1].computeUtilisation, 2000.0 / (2 * 1110.0));
        QCOMPARE(ev.layers[1].neuronUtilisation, 1.0);
        QCOMPARE(ev.layers[0].neuronUtilisation, 0.5);
        QVERIFY(QString::fromStdString(ev.mappingNote).contains(QStringLiteral("Fits")));
    }

    void timeMultiplexingWhenTheNetworkDoesNotFit_data()
    {
        QTest::addColumn<int>("cores");
        QTest::addColumn<int>("partitions");
        QTest::addColumn<double>("fc1Cycles");
        QTest::addColumn<double>("fc2Cycles");
        // 2 cores: fc1 (1 core) and fc2 (2 cores) cannot share: 2 partitions. Weights reloaded each frame, one
        // word per cycle: fc1 500 words, fc2 10000 words.
        QTest::newRow("2 cores") << 2 << 2 << 310.0 + 500.0 << 1110.0 + 10000.0;
        // 1 core: fc2 needs 2 cores and is split over 2 partitions of its own, all work on the one core:
        // 4000/2 + 20 + 200 + 10000 reload (a linear slice loads only its own rows).
        QTest::newRow("1 core") << 1 << 3 << 310.0 + 500.0 << 2000.0 + 20.0 + 200.0 + 10000.0;
    }
    void timeMultiplexingWhenTheNetworkDoesNotFit()
    {
        QFETCH(int, cores);
        QFETCH(int, partitions);
        QFETCH(double, fc1Cycles);
        QFETCH(double, fc2Cycles);
        const Evaluation ev = evaluate(tinyChip(cores), workloadFromDensities(tinyNet(), {0.4}));
        QVERIFY(ev.timeMultiplexed);
        QCOMPARE(ev.partitions, partitions);
        QCOMPARE(ev.coresNeeded, 3);
        QCOMPARE(ev.layers[0].partition, 0);
        QCOMPARE(ev.layers[1].partition, 1);
        QCOMPARE(ev.layers[0].cycles, fc1Cycles);
        QCOMPARE(ev.layers[1].cycles, fc2Cycles);
        // No pipelining across partitions: the period is the sum of the stages.
        QCOMPARE(ev.periodSeconds, (fc1Cycles + fc2Cycles) * 1e-6);
        QCOMPARE(ev.latencySeconds, (fc1Cycles + fc2Cycles + 12.0) * 1e-6);
        QCOMPARE(ev.energy.reload, 10500 * 100e-12);
        QVERIFY(QString::fromStdString(ev.mappingNote).contains(QStringLiteral("Time-multiplexed")));
    }

    void denseArrayDoesEveryMac()
    {
        ProcessorParams p = tinyChip(2);
        p.mapping = Mapping::Sequential;
        p.skipsZeros = false;
        p.synopsPerCorePerCycle = 4;
        p.cyclesPerEvent = 0;
        p.cyclesPerNeuronUpdate = 0;
        p.averageHops = 0;
        // conv 1->2 channels, 3x3 pad 1 on 4x4: nominal MACs 2*16*9 = 288 (padding taps included),
        // effective 2 * 10 * 10 = 200 (per axis fan-outs 2,3,3,2). Weights 18; fc 50 -> 200: 10000 MACs and words.
        const std::vector<ComputeLayer> net = {{conv3x3("conv", 1, 4, 2), 0}, {linear("fc", 50, 200), 1}};
        const Workload sparse = workloadFromDensities(net, {0.1, 0.1});
        const Workload dense = denseWorkload(net);
        QCOMPARE(dense.layers[0].denseSynops, 200.0);
        QCOMPARE(dense.layers[0].nominalMacs, 288.0);
        const Evaluation a = evaluate(p, sparse);
        const Evaluation b = evaluate(p, dense);
        // conv: max(288 / (2*4) = 36 compute, 18 reload) = 36; fc: max(10000/8 = 1250, 10000 reload) = 10000.
        QCOMPARE(a.layers[0].cycles, 36.0);
        QCOMPARE(a.layers[1].cycles, 10000.0);
        QCOMPARE(a.periodSeconds, 10036e-6);
        QCOMPARE(a.latencySeconds, 10036e-6);
        QCOMPARE(a.synops, 10288.0);
        QCOMPARE(a.energyPerFrameJ, b.energyPerFrameJ); // zeros do not help a dense array
        QCOMPARE(a.energy.reload, 10018 * 100e-12);
        QVERIFY(QString::fromStdString(a.mappingNote).contains(QStringLiteral("Layer-sequential")));
    }

    void halvingDensityHalvesEventWork()
    {
        ProcessorParams p = tinyChip(4);
        const std::vector<ComputeLayer> net = {{linear("fc1", 10, 50), 0}, {linear("fc2", 50, 200), 1}};
        const Evaluation full = evaluate(p, workloadFromDensities(net, {0.8, 0.4}));
        const Evaluation half = evaluate(p, workloadFromDensities(net, {0.4, 0.2}));
        for (std::size_t i = 0; i < net.size(); ++i) {
            QCOMPARE(half.layers[i].computeCycles * 2, full.layers[i].computeCycles);
            QCOMPARE(half.layers[i].eventCycles * 2, full.layers[i].eventCycles);
            QCOMPARE(half.layers[i].energy.synops * 2, full.layers[i].energy.synops);
            QCOMPARE(half.layers[i].energy.events * 2, full.layers[i].energy.events);
            QCOMPARE(half.layers[i].energy.memory * 2, full.layers[i].energy.memory); // no neuron accesses here
            QCOMPARE(half.layers[i].neuronCycles, full.layers[i].neuronCycles);   // outputs are still updated
        }
    }

    void compareBaselineAndTuned()
    {
        const ProcessorParams p = tinyChip(4);
        const Evaluation base = evaluate(p, workloadFromDensities(tinyNet(), {0.4}));
        const Evaluation tuned = evaluate(p, workloadFromDensities(tinyNet(), {0.2}));
        // fc2: 1110 -> 2000/(2*2) + 10/2 + 100 = 605 cycles; fc1 unchanged (310): still the smaller stage.
        const Comparison c = compare(base, tuned);
        QCOMPARE(c.layers[0].latencyRatio, 1.0);
        QCOMPARE(c.layers[1].latencyRatio, 1110.0 / 605.0);
        QCOMPARE(c.layers[1].eventRatio, 2.0);
        QCOMPARE(c.layers[1].synopRatio, 2.0);
        QCOMPARE(c.fpsRatio, 1110.0 / 605.0);
        QCOMPARE(c.latencyRatio, 1432.0 / (316.0 + 611.0));
        QCOMPARE(c.energyRatio, base.energyPerFrameJ / tuned.energyPerFrameJ);
        QVERIFY(c.energyRatio > 1.0);
        QCOMPARE(c.synopRatio, 4500.0 / 2500.0);

        const Evaluation other = evaluate(p, workloadFromDensities({{linear("fc1", 10, 50), -1}}, {}));
        QVERIFY_THROWS_EXCEPTION(Error, compare(base, other));
    }

    void builtInPresetsLoad_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("skipsZeros");
        QTest::newRow("neuronflow") << builtIn("neuronflow-28nm.json")
                                    << QStringLiteral("NeuronFlow-like, 28 nm (GrAI One class)") << true;
        QTest::newRow("dense") << builtIn("dense-mac-array-28nm.json")
                               << QStringLiteral("Dense MAC array, 28 nm (contrast)") << false;
    }
    void builtInPresetsLoad()
    {
        QFETCH(QString, file);
        QFETCH(QString, name);
        QFETCH(bool, skipsZeros);
        const ProcessorParams p = loadPreset(file);
        QCOMPARE(QString::fromStdString(p.name), name);
        QCOMPARE(p.skipsZeros, skipsZeros);
        // Every parameter says where its value comes from.
        QCOMPARE(p.notes.size(), std::size_t(19));
        // Round trip through the writer.
        const ProcessorParams q = parsePreset(presetToJson(p), "roundtrip");
        QCOMPARE(q.cores, p.cores);
        QCOMPARE(q.energyPerSynopJ, p.energyPerSynopJ);
        QCOMPARE(q.notes.size(), p.notes.size());
        QCOMPARE(presetToJson(q), presetToJson(p));
        bool found = false;
        for (const PresetEntry &e : listPresets())
            found = found || (e.path == file && e.valid && e.builtIn);
        QVERIFY(found);
    }

    void neuronFlowPresetHasThePublicFigures()
    {
        const ProcessorParams p = loadPreset(builtIn("neuronflow-28nm.json"));
        QCOMPARE(p.cores, 196);
        QCOMPARE(p.neuronsPerCore, std::int64_t(1024));
        QCOMPARE(p.clockHz, 500e6);
        QCOMPARE(p.staticPowerW, 0.035);
        QVERIFY(p.note("cores") && !p.note("cores")->assumption);
        QVERIFY(p.note("energyPerSynopJ") && p.note("energyPerSynopJ")->assumption);

        // Consistency of the assumptions with the public power range: one conv layer whose 64x56x56 outputs
        // fill all 196 cores x 1,024 neurons exactly, dense input, every core busy every frame.
        const Evaluation ev = evaluate(p, denseWorkload({{conv3x3("conv", 64, 56, 64), -1}}));
        QCOMPARE(ev.coresUsed, 196);
        QVERIFY(!ev.timeMultiplexed);
        QVERIFY2(ev.averagePowerW > 0.035 && ev.averagePowerW < 1.6,
                 qPrintable(QStringLiteral("average power %1 W").arg(ev.averagePowerW)));
    }

    void invalidPresetsGiveClearErrors_data()
    {
        QTest::addColumn<QString>("edit");
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing cores") << QStringLiteral("remove:cores") << QStringLiteral("'parameters.cores' is missing");
        QTest::newRow("missing energy") << QStringLiteral("remove:energyPerSynopJ")
                                        << QStringLiteral("'parameters.energyPerSynopJ' is missing");
        QTest::newRow("negative energy") << QStringLiteral("set:energyPerEventJ:-1")
                                         << QStringLiteral("'parameters.energyPerEventJ' must be >= 0");
        QTest::newRow("negative static") << QStringLiteral("set:staticPowerW:-0.5")
                                         << QStringLiteral("'parameters.staticPowerW' must be >= 0");
        QTest::newRow("zero clock") << QStringLiteral("set:clockHz:0") << QStringLiteral("'clockHz' must be > 0");
        QTest::newRow("zero cores") << QStringLiteral("set:cores:0") << QStringLiteral("'cores' must be >= 1");
        QTest::newRow("fractional cores") << QStringLiteral("set:cores:2.5")
                                          << QStringLiteral("'parameters.cores' must be a whole number");
        QTest::newRow("string value") << QStringLiteral("string:cyclesPerHop")
                                      << QStringLiteral("'parameters.cyclesPerHop' must be a number, found a string");
        QTest::newRow("bad mapping") << QStringLiteral("root:mapping") << QStringLiteral("'mapping' must be");
        QTest::newRow("no name") << QStringLiteral("root:name") << QStringLiteral("'name' is missing");
        QTest::newRow("no skipsZeros") << QStringLiteral("root:skipsZeros") << QStringLiteral("'skipsZeros' must be");
        QTest::newRow("not json") << QStringLiteral("garbage") << QStringLiteral("not valid JSON");
    }
    void invalidPresetsGiveClearErrors()
    {
        QFETCH(QString, edit);
        QFETCH(QString, expected);
        QJsonObject root = QJsonDocument::fromJson(readFile(builtIn("neuronflow-28nm.json"))).object();
        QVERIFY(!root.isEmpty());
        QJsonObject params = root.value(QStringLiteral("parameters")).toObject();
        const QStringList parts = edit.split(QLatin1Char(':'));
        QByteArray text;
        if (parts[0] == QLatin1String("remove"))
            params.remove(parts[1]);
        else if (parts[0] == QLatin1String("set"))
            params.insert(parts[1], parts[2].toDouble());
        else if (parts[0] == QLatin1String("string"))
            params.insert(parts[1], QStringLiteral("fast"));
        else if (parts[0] == QLatin1String("root"))
            root.insert(parts[1], parts[1] == QLatin1String("mapping") ? QJsonValue(QStringLiteral("systolic"))
                                                                       : QJsonValue());
        root.insert(QStringLiteral("parameters"), params);
        text = parts[0] == QLatin1String("garbage") ? QByteArray("{ \"format\": 1, ") : QJsonDocument(root).toJson();

        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("my-chip.json"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(text);
        f.close();
        QString message;
        try {
            loadPreset(path);
        } catch (const Error &e) {
            message = QString::fromUtf8(e.what());
        }
        QVERIFY2(message.contains(path), qPrintable(message));
        QVERIFY2(message.contains(expected), qPrintable(message));

        // The listing keeps the broken user file, with its error, next to the valid built-in ones.
        const auto entries = listPresets(dir.path());
        bool listed = false;
        for (const PresetEntry &e : entries)
            if (e.path == path) {
                listed = true;
                QVERIFY(!e.valid && !e.builtIn);
                QCOMPARE(QString::fromStdString(e.error), message);
            }
        QVERIFY(listed);
    }

    void neuronFlowBeatsDenseArrayOnSparseInput()
    {
        // Not a figure from the paper: a sanity check that the two presets rank as they should on a small
        // ResNet-like stack that fits the chip (32x14x14 outputs = 6,272 neurons = 7 cores per layer).
        std::vector<ComputeLayer> net;
        net.push_back({conv3x3("stem", 3, 14, 32), -1});
        for (int i = 0; i < 8; ++i)
            net.push_back({conv3x3("block", 32, 14, 32), i});
        const ProcessorParams nf = loadPreset(builtIn("neuronflow-28nm.json"));
        const ProcessorParams da = loadPreset(builtIn("dense-mac-array-28nm.json"));
        const Workload sparse = workloadFromDensities(net, std::vector<double>(8, 0.2));
        const Evaluation nfSparse = evaluate(nf, sparse);
        const Evaluation nfDense = evaluate(nf, denseWorkload(net));
        const Evaluation daSparse = evaluate(da, sparse);
        QVERIFY(!nfSparse.timeMultiplexed);
        QVERIFY(nfSparse.energyPerFrameJ < nfDense.energyPerFrameJ);
        QVERIFY(nfSparse.fps > nfDense.fps);
        const Comparison gain = compare(nfDense, nfSparse);
        QVERIFY(gain.synopRatio > 4.0 && gain.synopRatio < 5.1); // block layers at density 0.2, stem dense
        QVERIFY(daSparse.fps < nfSparse.fps);
    }
};

QTEST_APPLESS_MAIN(TestProcessor)
#include "tst_processor.moc"
