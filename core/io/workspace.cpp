#include "io/workspace.h"

#include "graph/model.h"
#include "graph/weights.h"

namespace sparsity {

std::vector<std::size_t> subsetIndices(const Dataset &dataset, const SubsetSpec &subset)
{
    const std::size_t n = subset.count ? subset.count : dataset.size();
    switch (subset.mode) {
    case SubsetSpec::Mode::First: return firstN(dataset, n);
    case SubsetSpec::Mode::Random: return randomN(dataset, n, subset.seed);
    case SubsetSpec::Mode::Stratified: return stratifiedN(dataset, n, subset.seed);
    }
    return {};
}

report::DatasetInfo datasetInfo(const Dataset &dataset, Split split, const SubsetSpec &subset, std::size_t subsetSize)
{
    const char *modes[] = {"first", "random", "stratified"};
    return {dataset.path(),     split == Split::Test ? "test" : "train", dataset.format(), dataset.describe(),
            dataset.size(),     modes[int(subset.mode)],                 subsetSize,       subset.seed};
}

Preprocessing preprocessingFor(const Project &project, const Model &model, const Dataset *dataset)
{
    if (project.hasPreprocessing)
        return project.preprocessing;
    return model.defaultPreprocessing(dataset ? impliedPreprocessing(*dataset) : Preprocessing{});
}

void fitInputShape(Model &model, const Preprocessing &preprocessing)
{
    const std::vector<std::int64_t> chw{preprocessing.channels, preprocessing.height, preprocessing.width};
    if (model.inputShape() != chw)
        model.setInputShape(chw);
}

namespace {

// --input-shape: the model's input size, reached by an exact resize; statistics of another channel count cannot
// apply.
void applyInputShape(Preprocessing &pre, const std::vector<std::int64_t> &chw)
{
    pre.resize = Preprocessing::Resize::Exact;
    pre.centerCrop = false;
    if (pre.channels != int(chw[0]) && pre.mean.size() > 1) {
        pre.mean = {0.0f};
        pre.std = {1.0f};
    }
    pre.channels = int(chw[0]);
    pre.height = int(chw[1]);
    pre.width = int(chw[2]);
}

} // namespace

TrainingSplits openTrainingSplits(const QString &datasetPath)
{
    return {openDataset(datasetPath.toStdString(), Split::Train), openDataset(datasetPath.toStdString(), Split::Test)};
}

Workspace openWorkspace(const Project &project, const WorkspaceOverrides &overrides)
{
    Workspace w;
    if (overrides.openData && !project.datasetPath.isEmpty()) {
        w.dataset = openDataset(project.datasetPath.toStdString(), project.split);
        w.indices = subsetIndices(*w.dataset, project.subset);
        w.info = datasetInfo(*w.dataset, project.split, project.subset, w.indices.size());
    }
    w.model = Model::load(project.modelPath.toStdString());
    // The CLI runs the tuned weights directly; the explorer keeps the model as loaded for its baseline.
    if (!project.weightsPath.isEmpty() && !overrides.explorer)
        loadWeights(*w.model, project.weightsPath.toStdString());
    w.preprocessing = preprocessingFor(project, *w.model, w.dataset.get());
    if (overrides.inputShape) {
        applyInputShape(w.preprocessing, *overrides.inputShape);
        w.model->setInputShape(*overrides.inputShape);
    }
    if (overrides.explorer) {
        w.preprocessing.validate();
        fitInputShape(*w.model, w.preprocessing);
        if (!project.weightsPath.isEmpty()) {
            w.tuned = Model::load(project.modelPath.toStdString());
            fitInputShape(*w.tuned, w.preprocessing);
            loadWeights(*w.tuned, project.weightsPath.toStdString());
        }
    } else if (w.model->inputShape().empty() && (w.dataset || project.hasPreprocessing)) {
        fitInputShape(*w.model, w.preprocessing);
    }
    return w;
}

} // namespace sparsity
