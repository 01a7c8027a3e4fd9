// tst_hostile's generators for thresholds files, recipes, processor presets, weights files and output paths.
#include "tst_hostile.h"

#include <QFile>
#include <QTest>

using hostile::Case;

namespace {

QString s(const char *text) { return QString::fromUtf8(text); }

const QJsonValue kRemove = QJsonValue(QJsonValue::Undefined);

} // namespace

void TestHostile::settingsCases()
{
    const QString site = modelSites_.front();
    const QString out = path(s("settings-out/never.pt"));
    QDir().mkpath(QFileInfo(out).absolutePath());
    // Thresholds files: `export` applies them before it writes anything.
    const QJsonObject thresholds{{s("schema"), s("sparsity-explorer/thresholds")}, {s("version"), 1},
                                 {s("thresholds"), QJsonObject{{site, 0.1}}}};
    const struct {
        const char *field;
        QJsonValue value;
        const char *problem;
    } thresholdEdits[] = {
        {"schema", kRemove, "schema"}, {"schema", s("x"), "not a thresholds file"}, {"version", 2, "version"},
        {"version", s("1"), "version"}, {"thresholds", kRemove, "\"thresholds\" is missing"},
        {"thresholds", QJsonArray{}, "must be an object"}, {"thresholds", QJsonObject{{site, -0.5}}, "negative"},
        {"thresholds", QJsonObject{{site, s("a")}}, "finite number"}, {"thresholds", QJsonObject{{site, 1e39}}, "largest float"},
        {"thresholds", QJsonObject{{site, QJsonValue()}}, "finite number"},
        {"thresholds", QJsonObject{{s("no-such-site"), 0.1}}, "no-such-site"},
        {"channel_thresholds", QJsonObject{{site, QJsonArray{0.1}}}, "channels"},
        {"channel_thresholds", QJsonObject{{site, QJsonArray{-1}}}, "negative"},
        {"channel_thresholds", QJsonObject{{site, QJsonArray{1e39}}}, "largest float"},
        {"channel_thresholds", QJsonObject{{site, 0.1}}, "must be an array"}, {"channel_thresholds", s("x"), "must be an object"},
        {"model", 3, "\"model\" must be a string"}, {"provenance", 3, "\"provenance\" must be an object"},
    };
    int n = 0;
    for (const auto &e : thresholdEdits) {
        const QString file = path(s("thresholds/t%1.json").arg(n++));
        hostile::writeFile(file, hostile::json(hostile::edited(thresholds, s(e.field), e.value)));
        add({s("thresholds %1 = %2").arg(s(e.field), QString::fromUtf8(QJsonDocument(QJsonArray{e.value}).toJson(QJsonDocument::Compact))),
             {s("export"), model_, s("--thresholds"), file, s("-o"), out}, 1, {QFileInfo(file).fileName(), s(e.problem)}, {file}});
    }
    for (const auto &sp : hostile::kSpecialFiles) {
        const QString file = path(s("thresholds/special-%1.json").arg(s(sp.name)));
        hostile::makeSpecial(s(sp.name), file, 64 * hostile::kMiB);
        add({s("thresholds file %1").arg(s(sp.name)), {s("export"), model_, s("--thresholds"), file, s("-o"), out}, 1,
             {QFileInfo(file).fileName(), s(sp.problem)}, {}});
    }

    // Recipes: read by `export --recipe` after the thresholds.
    const QJsonObject recipe{{s("schema"), s("sparsity-explorer/recipe")}, {s("version"), 1}, {s("method"), s("star")}};
    const struct {
        const char *field;
        QJsonValue value;
        const char *problem;
    } recipeEdits[] = {
        {"schema", s("x"), "not a recipe file"}, {"version", s("1"), "version"}, {"version", 1.5, "version"},
        {"method", s("magic"), "method"}, {"method", 3, "method"}, {"scope", s("x"), "scope"},
        {"scope.sites", s("x"), "scope.sites"}, {"scope.sites", QJsonArray{1}, "scope.sites"},
        {"regularize.optimizer", s("sgd"), "regularize.optimizer"}, {"regularize.epochs", 2.5, "whole number"},
        {"regularize.epochs", -1, "regularize.epochs"}, {"finetune.penalize", s("yes"), "finetune.penalize"},
        {"finetune.optimizer", 3, "finetune.optimizer"}, {"finetune.rounds", 0, "finetune.rounds"},
        {"data.augment", 1, "data.augment"}, {"data.batch_size", 0, "data.batch_size"},
        {"data.batch_size", 4294967297.0, "data.batch_size"}, {"band.value", -1, "band.value"},
        {"penalty.lambda", s("big"), "penalty.lambda"}, {"distillation.weight", 2, "distillation.weight"},
    };
    n = 0;
    for (const auto &e : recipeEdits) {
        const QString file = path(s("recipes/r%1.json").arg(n++));
        hostile::writeFile(file, hostile::json(hostile::edited(recipe, s(e.field), e.value)));
        add({s("recipe %1 = %2").arg(s(e.field), QString::fromUtf8(QJsonDocument(QJsonArray{e.value}).toJson(QJsonDocument::Compact))),
             {s("export"), model_, s("--thresholds"), thresholds_, s("--recipe"), file, s("-o"), out}, 1,
             {QFileInfo(file).fileName(), s(e.problem)}, {file}});
    }
    for (const auto &sp : hostile::kSpecialFiles) {
        const QString file = path(s("recipes/special-%1.json").arg(s(sp.name)));
        hostile::makeSpecial(s(sp.name), file, 64 * hostile::kMiB);
        add({s("recipe file %1").arg(s(sp.name)), {s("export"), model_, s("--thresholds"), thresholds_, s("--recipe"), file, s("-o"), out},
             1, {QFileInfo(file).fileName(), s(sp.problem)}, {}});
    }

    // Processor presets given as files.
    const struct {
        const char *name;
        QByteArray bytes;
    } presets[] = {{"notjson", "nope"}, {"array", "[]"}, {"empty", "{}"}, {"format2", "{\"format\": 2}"},
                   {"binary", hostile::pseudoRandom(300, 5)}};
    for (const auto &p : presets) {
        const QString file = path(s("presets/%1.json").arg(s(p.name)));
        hostile::writeFile(file, p.bytes);
        add({s("preset %1").arg(s(p.name)), {s("analyze"), model_, data_, s("--subset"), s("8"), s("--preset"), file}, 1,
             {QFileInfo(file).fileName()}, {file}});
    }
    for (const auto &sp : hostile::kSpecialFiles) {
        if (QLatin1String(sp.name) == QLatin1String("missing"))
            continue; // a missing file is taken as a built-in name: an unknown preset
        const QString file = path(s("presets/special-%1.json").arg(s(sp.name)));
        hostile::makeSpecial(s(sp.name), file, 64 * hostile::kMiB);
        add({s("preset file %1").arg(s(sp.name)), {s("analyze"), model_, data_, s("--subset"), s("8"), s("--preset"), file}, 1,
             {QFileInfo(file).fileName()}, {}});
    }

    // Tuned-weights files named by a project.
    QFile modelFile(model_);
    QVERIFY(modelFile.open(QIODevice::ReadOnly));
    const QByteArray modelBytes = modelFile.readAll();
    const struct {
        const char *name;
        QByteArray bytes;
        const char *problem;
    } weights[] = {{"garbage", hostile::pseudoRandom(2000, 17), "not a weights file"}, {"empty", {}, "not a weights file"},
                   {"cut", modelBytes.left(modelBytes.size() / 3), "damaged zip archive"},
                   {"model", modelBytes, "weights"}};
    for (const auto &w : weights) {
        const QString file = path(s("weights/%1.weights.pt").arg(s(w.name)));
        hostile::writeFile(file, w.bytes);
        const QString project = path(s("weights/%1.json").arg(s(w.name)));
        hostile::writeFile(project, hostile::json(QJsonObject{
                                        {s("schema"), s("sparsity-explorer/project")}, {s("version"), 1}, {s("model"), model_},
                                        {s("dataset"), QJsonObject{{s("path"), data_}, {s("split"), s("test")},
                                                                   {s("subset"), QJsonObject{{s("mode"), s("first")}, {s("count"), 8}}}}},
                                        {s("weights"), file}}));
        add({s("weights %1").arg(s(w.name)), {s("analyze"), s("--project"), project}, 1, {QFileInfo(file).fileName(), s(w.problem)},
             {file, project}});
    }
}

// ---- Outputs that are inputs, symlinks or folders: refused before anything is written ----
void TestHostile::outputCases()
{
    const QString dir = path(s("outputs"));
    QDir().mkpath(dir);
    const QString t = dir + s("/t.json");
    QVERIFY(QFile::copy(thresholds_, t));
    auto exportTo = [&](const QString &o, const QStringList &extra = {}) {
        return QStringList{s("export"), model_, s("--thresholds"), t, s("-o"), o} + extra;
    };
    // The examples, one by one.
    add({s("output report over the thresholds file"), exportTo(dir + s("/t.pt")), 1, {s("t.json"), s("would overwrite the thresholds file")}, {t}});
    add({s("output is the model"), exportTo(model_), 1, {s("would overwrite the model")}, {t}});
    add({s("output is the model, spelled differently"), exportTo(dir + s("/../model.pt")), 1, {s("would overwrite the model")}, {t}});
    QVERIFY(QFile::link(model_, dir + s("/link.pt")));
    add({s("output is a symlink to the model"), exportTo(dir + s("/link.pt")), 1, {s("link.pt"), s("symbolic link")}, {t}});
    QVERIFY(QFile::link(model_, dir + s("/j.json")));
    add({s("output report is a symlink to the model"), exportTo(dir + s("/j.pt")), 1, {s("j.json"), s("symbolic link")}, {t}});
    QVERIFY(QFile::link(model_, dir + s("/c.csv")));
    add({s("output CSV is a symlink to the model"), exportTo(dir + s("/c.pt")), 1, {s("c.csv"), s("symbolic link")}, {t}});
    QVERIFY(::link(QFile::encodeName(model_).constData(), QFile::encodeName(dir + s("/hard.pt")).constData()) == 0);
    add({s("output is a hard link to the model"), exportTo(dir + s("/hard.pt")), 1, {s("would overwrite the model")}, {t}});
    QDir().mkpath(dir + s("/folder.pt"));
    add({s("output is a folder"), exportTo(dir + s("/folder.pt")), 1, {s("folder.pt"), s("is a folder")}, {t}});
    const QString recipe = dir + s("/r.json");
    hostile::writeFile(recipe, "{\"schema\": \"sparsity-explorer/recipe\", \"version\": 1}");
    add({s("output report over the recipe"), exportTo(dir + s("/r.pt"), {s("--recipe"), recipe}), 1, {s("would overwrite the recipe")}, {t, recipe}});
    // The data: search's output over the dataset file itself (an IDX file opened directly).
    const QString idxFile = dir + s("/t10k-images-idx3-ubyte.gz");
    QVERIFY(QFile::copy(data_ + s("/t10k-images-idx3-ubyte.gz"), idxFile));
    add({s("search output over the dataset"), {s("search"), model_, idxFile, s("--subset"), s("8"), s("-o"), idxFile}, 1,
         {s("would overwrite the dataset")}, {idxFile}});
    add({s("search output over the model"), {s("search"), model_, data_, s("--subset"), s("8"), s("-o"), model_}, 1,
         {s("would overwrite the model")}, {}});
    QVERIFY(QFile::link(t, dir + s("/tl.json")));
    add({s("search output is a symlink"), {s("search"), model_, data_, s("--subset"), s("8"), s("-o"), dir + s("/tl.json")}, 1,
         {s("tl.json"), s("symbolic link")}, {t}});
    add({s("train output report over the thresholds file"),
         {s("train"), model_, data_, s("--thresholds"), t, s("-o"), dir + s("/t.pt"), s("--train-images"), s("8")}, 1,
         {s("would overwrite the thresholds file")}, {t}});
    // The project file as the report of an export.
    const QString project = dir + s("/proj.json");
    hostile::writeFile(project, hostile::json(QJsonObject{
                                    {s("schema"), s("sparsity-explorer/project")}, {s("version"), 1}, {s("model"), model_},
                                    {s("dataset"), QJsonObject{{s("path"), data_}, {s("split"), s("test")},
                                                               {s("subset"), QJsonObject{{s("mode"), s("first")}, {s("count"), 8}}}}},
                                    {s("thresholds"), QJsonObject{{modelSites_.front(), 0.1}}}}));
    add({s("export report over the project"), {s("export"), s("--project"), project, s("--no-evaluate"), s("-o"), dir + s("/proj.pt")}, 1,
         {s("would overwrite the project")}, {project}});
    // A symlink planted where the old fixed temporary (OUT.pt.partial) went: the export must work and leave the
    // model alone, because temporaries are now unique and created exclusively.
    QVERIFY(QFile::link(model_, dir + s("/safe.pt.partial")));
    add({s("planted OUT.pt.partial symlink is ignored"), exportTo(dir + s("/safe.pt")), 0, {}, {t}});
    // Usage errors: exit 2.
    add({s("search --budget nan"), {s("search"), model_, data_, s("--budget"), s("nan")}, 2, {s("--budget")}, {}});
    add({s("search --budget inf"), {s("search"), model_, data_, s("--budget"), s("inf")}, 2, {s("--budget")}, {}});
    add({s("analyze empty DATA"), {s("analyze"), model_, QString()}, 2, {s("empty")}, {}});
    add({s("inspect empty MODEL"), {s("inspect"), QString()}, 2, {s("empty")}, {}}); // a usage error, as for DATA
    add({s("input shape of 2 billion channels"), {s("analyze"), model_, data_, s("--input-shape"), s("2000000000,28,28")}, 1,
         {s("channels, expected 1 to 64")}, {}});
    add({s("input shape too large"), {s("analyze"), model_, data_, s("--input-shape"), s("3,16384,16384")}, 1,
         {s("more than the cap")}, {}});
    add({s("input shape beyond int"), {s("analyze"), model_, data_, s("--input-shape"), s("1,4294967324,28")}, 2,
         {s("--input-shape")}, {}});
}
