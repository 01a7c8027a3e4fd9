// tst_hostile's generators for image folders, projects, model archives, settings files and output paths.
#include "tst_hostile.h"

#include <QImage>
#include <QProcess>
#include <QTest>

#include <tuple>

using hostile::Case;

namespace {

QString s(const char *text) { return QString::fromUtf8(text); }

const QJsonValue kRemove = QJsonValue(QJsonValue::Undefined);

} // namespace

// ---- Image folders: unreadable and oversized images, special files, symlink loops, deep nesting ----
void TestHostile::folderCases()
{
    const QByteArray garbage = hostile::pseudoRandom(300, 3);
    auto folder = [&](const QString &name) { return path(s("folders/") + name); };
    auto unreadable = [&](const QString &name, const QString &problem, const std::function<void(const QString &)> &extra) {
        const QString root = folder(name);
        hostile::writeFile(root + s("/cls/bad.png"), garbage);
        if (extra)
            extra(root);
        add({s("folder ") + name, {s("analyze"), model_, root}, 1, {root, problem}, {root + s("/cls/bad.png")}});
    };
    // One unreadable image: the run must fail ("none of the 1 images"), whatever else the tree holds. The count
    // proves each walk ended and found the image once.
    unreadable(s("plain"), s("none of the 1 images could be read"), {});
    unreadable(s("selfloop"), s("none of the 1 images"), [](const QString &r) { QFile::link(r + s("/cls"), r + s("/cls/loop")); });
    unreadable(s("twoloops"), s("none of the 1 images"), [](const QString &r) {
        QFile::link(r + s("/cls"), r + s("/cls/a"));
        QFile::link(r + s("/cls"), r + s("/cls/b"));
    });
    unreadable(s("threeloops"), s("none of the 1 images"), [](const QString &r) {
        for (const char *n : {"/cls/a", "/cls/b", "/cls/c"})
            QFile::link(r + s("/cls"), r + s(n));
    });
    unreadable(s("uploop"), s("none of the 1 images"), [](const QString &r) { QFile::link(r, r + s("/cls/up")); });
    unreadable(s("crossloop"), s("none of the 1 images"), [](const QString &r) {
        QDir().mkpath(r + s("/cls/x"));
        QDir().mkpath(r + s("/cls/y"));
        QFile::link(r + s("/cls/y"), r + s("/cls/x/toy"));
        QFile::link(r + s("/cls/x"), r + s("/cls/y/tox"));
    });
    unreadable(s("procself"), s("none of the 1 images"), [](const QString &r) { QFile::link(s("/proc/self"), r + s("/cls/proc")); });
    unreadable(s("sysfs"), s("none of the 1 images"), [](const QString &r) { QFile::link(s("/sys"), r + s("/cls/sys")); });
    unreadable(s("devzero"), s("none of the 1 images"), [](const QString &r) { QFile::link(s("/dev/zero"), r + s("/cls/zero.png")); });
    unreadable(s("fifo"), s("none of the 1 images"), [](const QString &r) { hostile::makeSpecial(s("fifo"), r + s("/cls/fifo.png"), 0); });
    unreadable(s("dirnamedpng"), s("none of the 1 images"), [](const QString &r) { QDir().mkpath(r + s("/cls/dir.png")); });
    unreadable(s("dangling"), s("none of the 1 images"), [](const QString &r) { QFile::link(r + s("/nowhere"), r + s("/cls/gone.png")); });
    // Each unreadable in its own way.
    const struct {
        const char *name;
        QByteArray bytes;
        const char *problem;
    } images[] = {{"empty.png", {}, "empty file"},
                  {"cut.jpg", QByteArray("\xFF\xD8\xFF\xE0", 4) + garbage, "truncated JPEG"},
                  {"hugepng.png", QByteArray("\x89PNG\r\n\x1A\n\0\0\0\x0DIHDR", 16) + hostile::be32(100000) + hostile::be32(100000) + garbage,
                   "more than the cap"},
                  {"text.png", QByteArray("just some text\n"), "not a readable image"}};
    for (const auto &img : images) {
        const QString root = folder(s("one-") + s(img.name));
        hostile::writeFile(root + s("/cls/") + s(img.name), img.bytes);
        add({s("folder image ") + s(img.name), {s("analyze"), model_, root}, 1, {s(img.name), s(img.problem)}, {root + s("/cls/") + s(img.name)}});
    }
    // Deep nesting, empty folders, a class without images.
    QString deep = folder(s("deep"));
    for (int i = 0; i < 70; ++i)
        deep += s("/d");
    hostile::writeFile(deep + s("/x.png"), garbage);
    add({s("folder nested 70 deep"), {s("analyze"), model_, folder(s("deep"))}, 1, {s("nested more than 64 levels")}, {}});
    QDir().mkpath(folder(s("empty")));
    add({s("folder empty"), {s("analyze"), model_, folder(s("empty"))}, 1, {folder(s("empty")), s("empty")}, {}});
    hostile::writeFile(folder(s("oneempty")) + s("/a/bad.png"), garbage);
    QDir().mkpath(folder(s("oneempty")) + s("/b"));
    hostile::writeFile(folder(s("oneempty")) + s("/b/readme.txt"), "x");
    add({s("folder empty class"), {s("analyze"), model_, folder(s("oneempty"))}, 1, {s("class folders without images: b")}, {}});
    // Segmentation pairs that do not pair.
    hostile::writeFile(folder(s("seg")) + s("/images/a.png"), garbage);
    hostile::writeFile(folder(s("seg")) + s("/masks/b.png"), garbage);
    add({s("folder segmentation unpaired"), {s("analyze"), model_, folder(s("seg"))}, 1, {s("has a mask")}, {}});
    // A real, tiny PNG of 1,000,000 x 1 pixels: resized to a shorter side of 28 it would be 28,000,000 x 28.
    const QString wide = folder(s("wide")) + s("/cls/wide.png");
    QDir().mkpath(QFileInfo(wide).absolutePath());
    QImage strip(1000000, 1, QImage::Format_Grayscale8);
    strip.fill(128);
    QVERIFY(strip.save(wide));
    QJsonObject project{{s("schema"), s("sparsity-explorer/project")},
                        {s("version"), 1},
                        {s("model"), model_},
                        {s("dataset"), QJsonObject{{s("path"), folder(s("wide"))}, {s("split"), s("test")},
                                                   {s("subset"), QJsonObject{{s("mode"), s("first")}, {s("count"), 8}}}}},
                        {s("preprocessing"), QJsonObject{{s("channels"), 1}, {s("height"), 28}, {s("width"), 28},
                                                         {s("resize"), s("shorter_side")}, {s("resize_to"), 28},
                                                         {s("center_crop"), true}, {s("mean"), QJsonArray{0.5}},
                                                         {s("std"), QJsonArray{0.5}}}}};
    hostile::writeFile(path(s("wide.project.json")), hostile::json(project));
    add({s("folder 1000000x1 png"), {s("analyze"), s("--project"), path(s("wide.project.json"))}, 1,
         {s("wide.png"), s("pixels, outside 1 to the cap")}, {wide}});
}

// ---- Projects: every field mistyped or out of range, paths that are empty or special ----
void TestHostile::projectCases()
{
    const QJsonObject base{{s("schema"), s("sparsity-explorer/project")},
                           {s("version"), 1},
                           {s("model"), model_},
                           {s("dataset"), QJsonObject{{s("path"), data_}, {s("split"), s("test")},
                                                      {s("subset"), QJsonObject{{s("mode"), s("first")}, {s("count"), 8}}}}},
                           {s("preprocessing"), QJsonObject{{s("channels"), 1}, {s("height"), 28}, {s("width"), 28},
                                                            {s("resize"), s("none")}, {s("resize_to"), 0},
                                                            {s("center_crop"), false}, {s("mean"), QJsonArray{0.5}},
                                                            {s("std"), QJsonArray{0.5}}}}};
    const QString site = modelSites_.front();
    const struct {
        const char *field;
        QJsonValue value;
        const char *problem;
    } edits[] = {
        {"schema", kRemove, "schema"}, {"schema", s("sparsity-explorer/recipe"), "not a Sparsity Explorer project"},
        {"version", 2, "version 2"}, {"version", s("1"), "version"}, {"version", kRemove, "version"},
        {"model", kRemove, "\"model\" is missing"}, {"model", s(""), "\"model\" is empty"}, {"model", 12, "\"model\" must be a string"},
        {"dataset", kRemove, "\"dataset\" is missing"}, {"dataset", s("x"), "\"dataset\" must be an object"},
        {"dataset.path", s(""), "dataset.path\" is empty"}, {"dataset.path", 3, "dataset.path\" must be a string"},
        {"dataset.split", s("val"), "dataset.split"}, {"dataset.split", 1, "dataset.split"},
        {"dataset.subset", kRemove, "dataset.subset\" is missing"}, {"dataset.subset.mode", s("all"), "dataset.subset.mode"},
        {"dataset.subset.count", 0, "dataset.subset.count"}, {"dataset.subset.count", -1, "dataset.subset.count"},
        {"dataset.subset.count", 1.5, "dataset.subset.count"}, {"dataset.subset.count", s("8"), "dataset.subset.count"},
        {"dataset.subset.count", 1e300, "dataset.subset.count"}, {"dataset.subset.seed", -1, "dataset.subset.seed"},
        {"preprocessing.channels", 0, "channels"}, {"preprocessing.channels", 2, "channels"},
        {"preprocessing.channels", 4294967297.0, "preprocessing.channels"}, {"preprocessing.channels", s("1"), "preprocessing.channels"},
        {"preprocessing.height", 0, "preprocessing.height"}, {"preprocessing.height", 4294967324.0, "preprocessing.height"},
        {"preprocessing.height", -28, "preprocessing.height"}, {"preprocessing.height", 28.5, "preprocessing.height"},
        {"preprocessing.height", 65536, "not between 1 and 16384"}, {"preprocessing.width", 4294967324.0, "preprocessing.width"},
        {"preprocessing.width", 0, "preprocessing.width"}, {"preprocessing.resize", s("fit"), "preprocessing.resize"},
        {"preprocessing.resize", 1, "preprocessing.resize"}, {"preprocessing.resize_to", -1, "preprocessing.resize_to"},
        {"preprocessing.resize_to", 4294967296.0, "preprocessing.resize_to"}, {"preprocessing.resize_to", 20000, "resize length"},
        {"preprocessing.center_crop", s("yes"), "preprocessing.center_crop"}, {"preprocessing.mean", QJsonArray{}, "mean values"},
        {"preprocessing.mean", QJsonArray{s("a")}, "preprocessing.mean"}, {"preprocessing.mean", QJsonArray{1e39}, "preprocessing.mean"},
        {"preprocessing.mean", 0.5, "preprocessing.mean"}, {"preprocessing.std", QJsonArray{0}, "std values"},
        {"preprocessing.std", QJsonArray{-1}, "std values"}, {"preprocessing.std", QJsonArray{1e39}, "preprocessing.std"},
        {"preprocessing.random_crop_padding", -1, "random_crop_padding"},
        {"preprocessing.random_crop_padding", 5000, "random crop padding"},
        {"preprocessing.random_crop_padding", 4294967296.0, "random_crop_padding"},
        {"preprocessing.horizontal_flip", 1, "horizontal_flip"},
        {"thresholds", QJsonObject{{site, -1}}, "from 0 to"}, {"thresholds", QJsonObject{{site, 1e39}}, "from 0 to"},
        {"thresholds", QJsonObject{{site, s("a")}}, "finite number"}, {"thresholds", s("x"), "\"thresholds\" must be an object"},
        {"thresholds", QJsonObject{{s("no-such-site"), 0.5}}, "no-such-site"},
        {"channel_thresholds", QJsonObject{{site, QJsonArray{-1}}}, "per-channel thresholds"},
        {"channel_thresholds", QJsonObject{{site, QJsonArray{1e39}}}, "finite numbers"},
        {"channel_thresholds", QJsonObject{{site, s("a")}}, "must be an array"},
        {"channel_thresholds", QJsonObject{{site, QJsonArray{QJsonValue()}}}, "finite numbers"},
        {"bands", QJsonObject{{site, -1}}, "band"}, {"bands", QJsonObject{{site, 1e39}}, "band"},
        {"scope", QJsonArray{1}, "scope"}, {"scope", s("x"), "scope"}, {"recipe", s("x"), "recipe"},
        {"processor_preset", 3, "processor_preset"}, {"weights", s(""), "\"weights\" is empty"},
        {"weights", s("/nonexistent/w.pt"), "does not exist"}, {"heatmap_images", QJsonArray{-1}, "heatmap_images"},
        {"heatmap_images", QJsonArray{1.5}, "heatmap_images"}, {"heatmap_images", s("x"), "heatmap_images"},
        // The 3 x 16384 x 16384 preprocessing that aborted in the batch loader.
        {"preprocessing", QJsonObject{{s("channels"), 3}, {s("height"), 16384}, {s("width"), 16384}, {s("resize"), s("exact")},
                                      {s("resize_to"), 0}, {s("center_crop"), false}, {s("mean"), QJsonArray{0.5}},
                                      {s("std"), QJsonArray{0.5}}},
         "more than the cap"},
    };
    int n = 0;
    for (const auto &e : edits) {
        const QString file = path(s("projects/p%1.json").arg(n++));
        hostile::writeFile(file, hostile::json(hostile::edited(base, s(e.field), e.value)));
        add({s("project %1 = %2").arg(s(e.field), QString::fromUtf8(QJsonDocument(QJsonArray{e.value}).toJson(QJsonDocument::Compact))),
             {s("analyze"), s("--project"), file}, 1, {QFileInfo(file).fileName(), s(e.problem)}, {file}});
    }
    // Paths to nothing: the message names the missing file rather than the project.
    for (const auto &[field, missing, problem] : {std::tuple{"dataset.path", "/nonexistent/data", "no such file or folder"},
                                                  std::tuple{"model", "/nonexistent/model.pt", "cannot open the model"}}) {
        const QString file = path(s("projects/p%1.json").arg(n++));
        hostile::writeFile(file, hostile::json(hostile::edited(base, s(field), s(missing))));
        add({s("project %1 missing").arg(s(field)), {s("analyze"), s("--project"), file}, 1, {s(missing), s(problem)}, {file}});
    }
    // Models and data behind the project's paths that are special files.
    for (const auto &sp : hostile::kSpecialFiles) {
        const QString special = path(s("projects/special-%1.pt").arg(s(sp.name)));
        hostile::makeSpecial(s(sp.name), special, 4096 * hostile::kMiB);
        const QString file = path(s("projects/model-%1.json").arg(s(sp.name)));
        hostile::writeFile(file, hostile::json(hostile::edited(base, s("model"), special)));
        add({s("project model %1").arg(s(sp.name)), {s("analyze"), s("--project"), file}, 1, {QFileInfo(special).fileName(), s(sp.problem)}, {file}});
    }
    // The project file itself: not JSON, cut short, special.
    const QByteArray good = hostile::json(base);
    const struct {
        const char *name;
        QByteArray bytes;
        const char *problem;
    } files[] = {{"notjson", "not json at all", "not valid JSON"}, {"cut", good.left(good.size() / 2), "not valid JSON"},
                 {"array", "[1, 2]", "must be a JSON object"}, {"empty", "", "not valid JSON"},
                 {"binary", hostile::pseudoRandom(512, 9), "not valid JSON"}};
    for (const auto &f : files) {
        const QString file = path(s("projects/file-%1.json").arg(s(f.name)));
        hostile::writeFile(file, f.bytes);
        add({s("project file %1").arg(s(f.name)), {s("analyze"), s("--project"), file}, 1, {QFileInfo(file).fileName(), s(f.problem)}, {file}});
    }
    for (const auto &sp : hostile::kSpecialFiles) {
        const QString file = path(s("projects/self-%1.json").arg(s(sp.name)));
        hostile::makeSpecial(s(sp.name), file, 64 * hostile::kMiB);
        add({s("project file %1").arg(s(sp.name)), {s("analyze"), s("--project"), file}, 1, {QFileInfo(file).fileName(), s(sp.problem)}, {}});
    }
}

// ---- Model archives: not zip, cut short, damaged entries, pickles that crash unpicklers ----
void TestHostile::modelCases()
{
    QFile f(model_);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QByteArray good = f.readAll();
    const struct {
        QString name;
        QByteArray bytes;
        const char *problem;
    } plain[] = {{s("empty"), {}, "not a TorchScript archive"}, {s("byte"), "P", "not a TorchScript archive"},
                 {s("pk"), "PK", "not a TorchScript archive"}, {s("text"), "import torch\n", "not a TorchScript archive"},
                 {s("random"), hostile::pseudoRandom(4096, 11), "not a TorchScript archive"},
                 {s("pkrandom"), "PK\x03\x04" + hostile::pseudoRandom(4096, 12), "model"},
                 {s("onnxish"), "\x08\x07\x12\x07pytorch" + hostile::pseudoRandom(200, 13), "not a TorchScript archive"}};
    for (const auto &m : plain) {
        const QString file = path(s("models/%1.pt").arg(m.name));
        hostile::writeFile(file, m.bytes);
        add({s("model %1").arg(m.name), {s("inspect"), file}, 1, {QFileInfo(file).fileName(), s(m.problem)}, {file}});
    }
    for (int percent : {1, 5, 10, 25, 50, 75, 90, 99}) {
        const QString file = path(s("models/cut%1.pt").arg(percent));
        hostile::writeFile(file, good.left(int(qint64(good.size()) * percent / 100)));
        add({s("model cut to %1%").arg(percent), {s("inspect"), file}, 1, {QFileInfo(file).fileName()}, {file}});
    }
    for (int percent : {20, 40, 60, 97}) { // flipped bytes: the zip's data, then its central directory
        QByteArray bad = good;
        const int at = int(qint64(good.size()) * percent / 100);
        for (int i = at; i < at + 64 && i < bad.size(); ++i)
            bad[i] = char(~bad[i]);
        const QString file = path(s("models/flip%1.pt").arg(percent));
        hostile::writeFile(file, bad);
        // LibTorch would load changed tensor data as other weights (it does not check the zip's CRCs); our zip check
        // does, and reads the central directory itself.
        add({s("model flipped at %1%").arg(percent), {s("inspect"), file}, 1,
             {QFileInfo(file).fileName(), s("damaged zip archive"), percent < 90 ? s("CRC-32") : s("")}, {file}});
    }
    for (const auto &sp : hostile::kSpecialFiles) {
        const QString file = path(s("models/special-%1.pt").arg(s(sp.name)));
        hostile::makeSpecial(s(sp.name), file, 4096 * hostile::kMiB);
        add({s("model %1").arg(s(sp.name)), {s("inspect"), file}, 1, {QFileInfo(file).fileName(), s(sp.problem)}, {}});
    }
    // Archives with one entry replaced, written with Python's zipfile (as a hostile user would): pickles that
    // underflow the unpickler's stack, garbage constants, missing records. (A storage record cut shorter than its
    // tensor still loads: not detected yet, see docs/hostile-input.md.)
    const QString script = s(R"(
import sys, zipfile
src, out, kind = sys.argv[1], sys.argv[2], sys.argv[3]
zin = zipfile.ZipFile(src)
zout = zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED)
for info in zin.infolist():
    data = zin.read(info.filename)
    base = info.filename.split('/', 1)[1] if '/' in info.filename else info.filename
    if kind == 'underflow' and base == 'data.pkl': data = b'\x80\x02R.'
    if kind == 'pop' and base == 'data.pkl': data = b'\x80\x020.'
    if kind == 'bigget' and base == 'data.pkl': data = b'\x80\x02h\xff.'
    if kind == 'badconst' and base == 'constants.pkl': data = b'\x80\x02' + bytes(range(256)) + b'.'
    if kind == 'emptyconst' and base == 'constants.pkl': data = b''
    if kind == 'nodata' and base.startswith('data/'): continue
    if kind == 'nocode' and base.startswith('code/'): continue
    if kind == 'badcode' and base.startswith('code/') and base.endswith('.py'): data = b'def forward(self, x):\n  return ((('
    if kind == 'version' and base == 'version': data = b'999999\n'
    zout.writestr(info.filename, data)
)");
    for (const char *kind : {"underflow", "pop", "bigget", "badconst", "emptyconst", "nodata", "nocode", "badcode", "version"}) {
        const QString file = path(s("models/zip-%1.pt").arg(s(kind)));
        const int rc = QProcess::execute(s("/usr/bin/python3"), {s("-c"), script, model_, file, s(kind)});
        if (rc != 0) {
            qWarning("python3 could not write the damaged archive %s: those cases are left out", kind);
            continue;
        }
        add({s("model archive %1").arg(s(kind)), {s("inspect"), file}, 1, {QFileInfo(file).fileName()}, {file}});
        // The same archive as a project's tuned-weights file: checked in quarantine like a model.
        if (QByteArray("underflow pop badconst nodata").contains(kind)) {
            const QString project = path(s("models/zip-%1.weights-project.json").arg(s(kind)));
            hostile::writeFile(project, hostile::json(QJsonObject{
                                            {s("schema"), s("sparsity-explorer/project")}, {s("version"), 1}, {s("model"), model_},
                                            {s("dataset"), QJsonObject{{s("path"), data_}, {s("split"), s("test")},
                                                                       {s("subset"), QJsonObject{{s("mode"), s("first")}, {s("count"), 8}}}}},
                                            {s("weights"), file}}));
            add({s("weights archive %1").arg(s(kind)), {s("analyze"), s("--project"), project}, 1,
                 {QFileInfo(file).fileName()}, {file, project}});
        }
    }
    // Re-zipped with deflate (a user's zip tool): LibTorch reads deflated records, so the model opens.
    {
        const QString file = path(s("models/deflated.pt"));
        const int rc = QProcess::execute(s("/usr/bin/python3"),
                                         {s("-c"), s("import sys, zipfile\n"
                                                     "zin = zipfile.ZipFile(sys.argv[1])\n"
                                                     "zout = zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED)\n"
                                                     "[zout.writestr(i.filename, zin.read(i.filename)) for i in zin.infolist()]\n"),
                                          model_, file});
        if (rc == 0)
            add({s("model archive deflated"), {s("inspect"), file}, 0, {}, {file}});
    }
}
