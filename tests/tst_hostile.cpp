// Hostile input: a few hundred malformed files and paths, generated here, each run through the real sparsity-cli.
// Every case must end with its exact exit code (1 for a refused file), a message naming the file and the problem,
// no signal, no sanitizer report, and every input byte-identical afterwards. docs/hostile-input.md lists the checks.
#include "tst_hostile.h"

#include <QCryptographicHash>
#include <QDirIterator>
#include <QProcess>
#include <QTest>

#include <thread>

namespace {

QByteArray checksum(const QString &path)
{
    QFileInfo info(path);
    if (info.isSymLink() && !QFileInfo(info.symLinkTarget()).isFile())
        return "link:" + QFile::encodeName(info.symLinkTarget());
    if (!info.isFile())
        return info.exists() ? QByteArray("special") : QByteArray("absent");
    if (info.size() > 64 * hostile::kMiB)
        return "size:" + QByteArray::number(info.size()); // the sparse "huge" files
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return "unreadable";
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(&f);
    return h.result().toHex();
}

} // namespace

void TestHostile::initTestCase()
{
    QVERIFY(tmp_.isValid());
    // Copies: a case that overwrote an input must not damage the repository's sample data.
    model_ = path(QStringLiteral("model.pt"));
    QVERIFY(QFile::copy(QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/models/sample-resnet.pt"), model_));
    data_ = path(QStringLiteral("fashion"));
    QDir().mkpath(data_);
    for (const char *f : {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "classes.txt"})
        QVERIFY(QFile::copy(QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/fashion-mnist/") + QLatin1String(f),
                            data_ + QLatin1Char('/') + QLatin1String(f)));
    // A valid thresholds file of the model: every ReLU site's name, from `inspect --json`.
    QProcess inspect;
    inspect.start(QStringLiteral(SPARSITY_CLI_PATH), {QStringLiteral("inspect"), model_, QStringLiteral("--json")});
    QVERIFY(inspect.waitForFinished(120000));
    QCOMPARE(inspect.exitCode(), 0);
    const QJsonObject report = QJsonDocument::fromJson(inspect.readAllStandardOutput()).object();
    QJsonObject values;
    for (const QJsonValue &s : report.value(QStringLiteral("sites")).toArray())
        if (s.toObject().value(QStringLiteral("sparsifiable")).toBool()) {
            modelSites_ << s.toObject().value(QStringLiteral("name")).toString();
            values.insert(modelSites_.back(), 0.0);
        }
    QVERIFY(!modelSites_.isEmpty());
    thresholds_ = path(QStringLiteral("good.thresholds.json"));
    hostile::writeFile(thresholds_, hostile::json({{QStringLiteral("schema"), QStringLiteral("sparsity-explorer/thresholds")},
                                                   {QStringLiteral("version"), 1},
                                                   {QStringLiteral("thresholds"), values}}));
    idxCases();
    cifarCases();
    folderCases();
    projectCases();
    modelCases();
    settingsCases();
    outputCases();
    outcomes_.assign(cases_.size(), std::nullopt);
}

void TestHostile::enoughCases()
{
    QVERIFY2(cases_.size() >= 300, qPrintable(QString::number(cases_.size())));
}

void TestHostile::malformed_data()
{
    QTest::addColumn<int>("index");
    for (std::size_t i = 0; i < cases_.size(); ++i)
        QTest::newRow(qPrintable(cases_[i].name)) << int(i);
}

// One case through sparsity-cli, with the checksums of everything it must leave alone. Used from two threads at
// once (each with its own QProcess): the cases are independent, and the suite's time is mostly process start-up
// and model loading, one core each.
TestHostile::Outcome TestHostile::run(const hostile::Case &c) const
{
    Outcome o;
    o.watched = c.inputs;
    o.watched << model_ << thresholds_;
    QDirIterator it(data_, QDir::Files);
    while (it.hasNext())
        o.watched << it.next();
    for (const QString &f : o.watched)
        o.before << checksum(f);
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("SPARSITY_THREADS"), QStringLiteral("1"));
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(SPARSITY_CLI_PATH), c.args + QStringList{QStringLiteral("--threads"), QStringLiteral("1")});
    o.started = p.waitForStarted();
    o.finished = o.started && p.waitForFinished(kCaseTimeoutMs);
    if (o.started && !o.finished) {
        p.kill();
        p.waitForFinished();
    }
    o.crashed = p.exitStatus() != QProcess::NormalExit;
    o.exitCode = p.exitCode();
    o.err = QString::fromUtf8(p.readAllStandardError());
    for (const QString &f : o.watched)
        o.after << checksum(f);
    return o;
}

void TestHostile::malformed()
{
    QFETCH(int, index);
    const auto i = std::size_t(index);
    if (!outcomes_[i]) { // this case and the next run side by side
        const std::size_t next = i + 1 < cases_.size() && !outcomes_[i + 1] ? i + 1 : i;
        std::thread second;
        if (next != i)
            second = std::thread([this, next] { outcomes_[next] = run(cases_[next]); });
        outcomes_[i] = run(cases_[i]);
        if (second.joinable())
            second.join();
    }
    const hostile::Case &c = cases_[i];
    const Outcome &o = *outcomes_[i];
    const QString context = QStringLiteral("%1\nargs: %2\nstderr: %3").arg(c.name, c.args.join(QLatin1Char(' ')), o.err.right(1500));
    QVERIFY2(o.started, qPrintable(QStringLiteral("did not start: ") + context));
    QVERIFY2(o.finished, qPrintable(QStringLiteral("hung: ") + context));
    QVERIFY2(!o.crashed, qPrintable(QStringLiteral("killed by a signal: ") + context));
    QVERIFY2(!o.err.contains(QLatin1String("Sanitizer")) && !o.err.contains(QLatin1String("runtime error:")),
             qPrintable(QStringLiteral("sanitizer report: ") + context));
    QVERIFY2(o.exitCode == c.exitCode,
             qPrintable(QStringLiteral("exit %1, expected %2: ").arg(o.exitCode).arg(c.exitCode) + context));
    for (const QString &words : c.expected)
        QVERIFY2(o.err.contains(words, Qt::CaseInsensitive),
                 qPrintable(QStringLiteral("message lacks \"%1\": ").arg(words) + context));
    for (int w = 0; w < o.watched.size(); ++w)
        QVERIFY2(o.after[w] == o.before[w], qPrintable(QStringLiteral("input changed: ") + o.watched[w] + QLatin1Char('\n') + context));
}

// ---- IDX: headers, sizes that overflow, truncation, gzip ----
void TestHostile::idxCases()
{
    struct Idx {
        QString name;
        QByteArray bytes;
        QString problem;
    };
    std::vector<Idx> list;
    const QByteArray good = hostile::idx(8, {2, 4, 4}) + QByteArray(32, '\x07');
    for (int n = 0; n < 16; ++n) // every truncation of the header and the first data bytes
        list.push_back({QStringLiteral("cut%1").arg(n), good.left(n), n < 4 ? QStringLiteral("too short") : QStringLiteral("truncated IDX")});
    for (int n : {17, 20, 31, 43})
        list.push_back({QStringLiteral("data%1").arg(n), good.left(n), QStringLiteral("truncated IDX data")});
    for (const char *magic : {"\x01\x00", "\x00\x01", "\xff\xff", "PK"})
        list.push_back({QStringLiteral("magic%1").arg(list.size()), QByteArray(magic, 2) + good.mid(2), QStringLiteral("wrong magic number")});
    for (int type : {0x00, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0xFF})
        list.push_back({QStringLiteral("type%1").arg(type), hostile::idx(quint8(type), {2, 4, 4}) + QByteArray(32, '\0'),
                        QStringLiteral("unsupported IDX data type")});
    for (int rank : {0, 5, 6, 255})
        list.push_back({QStringLiteral("rank%1").arg(rank), hostile::idx(8, {2, 4, 4}, rank) + QByteArray(64, '\0'),
                        QStringLiteral("unsupported IDX rank")});
    // Dimensions whose product wraps around 2^64 (to exactly 0, or to a small number) and other huge products.
    list.push_back({QStringLiteral("wrap2p64"), hostile::idx(8, {65536, 65536, 65536, 65536}) + QByteArray(64, '\0'),
                    QStringLiteral("cap for an IDX file")});
    list.push_back({QStringLiteral("wrapSmall"), hostile::idx(8, {1u << 30, 1u << 30, 1u << 4, 1}) + QByteArray(64, '\0'),
                    QStringLiteral("cap for an IDX file")});
    for (quint32 d : {(1u << 30) + 1, 0xFFFFFFFFu, 0x80000000u})
        list.push_back({QStringLiteral("dim%1").arg(d), hostile::idx(8, {1, d, 1}) + QByteArray(16, '\0'), QStringLiteral("cap of 2^30")});
    for (quint32 n : {1u << 30, 1u << 24, 100000u})
        list.push_back({QStringLiteral("count%1").arg(n), hostile::idx(8, {n, 28, 28}) + QByteArray(784, '\0'),
                        n >= (1u << 24) ? QStringLiteral("cap for an IDX file") : QStringLiteral("truncated IDX data")});
    list.push_back({QStringLiteral("rank2"), hostile::idx(8, {2, 16}) + QByteArray(32, '\0'), QStringLiteral("not an IDX image file")});
    list.push_back({QStringLiteral("rank1"), hostile::idx(8, {32}) + QByteArray(32, '\0'), QStringLiteral("not an IDX image file")});
    list.push_back({QStringLiteral("channels2"), hostile::idx(8, {1, 4, 4, 2}) + QByteArray(32, '\0'), QStringLiteral("not an IDX image file")});
    list.push_back({QStringLiteral("channels4"), hostile::idx(8, {1, 4, 4, 4}) + QByteArray(64, '\0'), QStringLiteral("not an IDX image file")});
    list.push_back({QStringLiteral("height0"), hostile::idx(8, {3, 0, 4}), QStringLiteral("images of size")});
    list.push_back({QStringLiteral("width0"), hostile::idx(8, {3, 4, 0}), QStringLiteral("images of size")});
    list.push_back({QStringLiteral("garbage"), hostile::pseudoRandom(4096, 7), QStringLiteral("IDX")});
    for (const auto &e : list) {
        for (bool gz : {false, true}) {
            const QString file = path(QStringLiteral("idx/%1-images-idx3-ubyte%2").arg(e.name, gz ? QStringLiteral(".gz") : QString()));
            hostile::writeFile(file, gz ? hostile::gzip(e.bytes) : e.bytes);
            add({QStringLiteral("idx %1%2").arg(e.name, gz ? QStringLiteral(" gz") : QString()),
                 {QStringLiteral("analyze"), model_, file},
                 1,
                 {QFileInfo(file).fileName(), e.problem},
                 {file}});
        }
    }
    // Damaged gzip streams.
    const QByteArray zipped = hostile::gzip(good);
    for (int n : {2, 10, 18, int(zipped.size()) - 9, int(zipped.size()) - 1}) {
        const QString file = path(QStringLiteral("idx/gzcut%1-images-idx3-ubyte.gz").arg(n));
        hostile::writeFile(file, zipped.left(n));
        add({QStringLiteral("idx gzip cut %1").arg(n), {QStringLiteral("analyze"), model_, file}, 1, {QFileInfo(file).fileName(), QStringLiteral("gzip")}, {file}});
    }
    for (int at : {10, 12, 15, 20}) {
        QByteArray bad = zipped;
        bad[at] = char(~bad[at]);
        const QString file = path(QStringLiteral("idx/gzflip%1-images-idx3-ubyte.gz").arg(at));
        hostile::writeFile(file, bad);
        add({QStringLiteral("idx gzip flipped %1").arg(at), {QStringLiteral("analyze"), model_, file}, 1, {QFileInfo(file).fileName()}, {file}});
    }
    // Labels that do not match.
    struct Labels {
        const char *name;
        QByteArray bytes;
        const char *problem;
    } labels[] = {{"count", hostile::idx(8, {3}) + QByteArray(3, '\0'), "labels for"},
                  {"rank", hostile::idx(8, {2, 1}) + QByteArray(2, '\0'), "not an IDX label file"},
                  {"cut", hostile::idx(8, {2}), "truncated IDX data"}};
    for (const auto &l : labels) {
        const QString dir = path(QStringLiteral("idxlabels-%1").arg(QLatin1String(l.name)));
        hostile::writeFile(dir + QStringLiteral("/t10k-images-idx3-ubyte"), good);
        hostile::writeFile(dir + QStringLiteral("/t10k-labels-idx1-ubyte"), l.bytes);
        add({QStringLiteral("idx labels %1").arg(QLatin1String(l.name)), {QStringLiteral("analyze"), model_, dir}, 1,
             {QStringLiteral("t10k-labels-idx1-ubyte"), QLatin1String(l.problem)}, {dir + QStringLiteral("/t10k-labels-idx1-ubyte")}});
    }
    for (const auto &s : hostile::kSpecialFiles) {
        const QString file = path(QStringLiteral("idx/%1-images-idx3-ubyte").arg(QLatin1String(s.name)));
        hostile::makeSpecial(QLatin1String(s.name), file, 2048 * hostile::kMiB);
        add({QStringLiteral("idx %1").arg(QLatin1String(s.name)), {QStringLiteral("analyze"), model_, file}, 1,
             {QFileInfo(file).fileName(), QString::fromLatin1(s.problem)}, {}});
    }
}

// ---- CIFAR-10 and CIFAR-100 binary files ----
void TestHostile::cifarCases()
{
    struct Cifar {
        QString name;
        bool hundred;
        QByteArray bytes;
        QString problem;
    };
    std::vector<Cifar> list;
    QByteArray ten(2 * 3073, '\0'), hundred(2 * 3074, '\0');
    list.push_back({QStringLiteral("empty10"), false, {}, QStringLiteral("empty file")});
    list.push_back({QStringLiteral("empty100"), true, {}, QStringLiteral("empty file")});
    for (int n : {1, 100, 3072, 3074, 6145})
        list.push_back({QStringLiteral("cut10-%1").arg(n), false, ten.left(n), QStringLiteral("truncated CIFAR-10")});
    for (int n : {1, 3073, 3075, 6147})
        list.push_back({QStringLiteral("cut100-%1").arg(n), true, hundred.left(n), QStringLiteral("truncated CIFAR-100")});
    for (int label : {10, 11, 99, 255}) {
        QByteArray b = ten;
        b[3073] = char(label); // the second record
        list.push_back({QStringLiteral("label10-%1").arg(label), false, b, QStringLiteral("is not a CIFAR-10 class")});
    }
    for (int label : {20, 100, 255}) {
        QByteArray b = hundred;
        b[0] = char(label);
        list.push_back({QStringLiteral("coarse-%1").arg(label), true, b, QStringLiteral("superclass")});
    }
    for (int label : {100, 200, 255}) {
        QByteArray b = hundred;
        b[3074 + 1] = char(label);
        list.push_back({QStringLiteral("fine-%1").arg(label), true, b, QStringLiteral("is not a CIFAR-100 class")});
    }
    for (const auto &e : list) {
        for (bool gz : {false, true}) {
            const QString dir = path(QStringLiteral("cifar/%1%2").arg(e.name, gz ? QStringLiteral("-gz") : QString()));
            const QString file = dir + (e.hundred ? QStringLiteral("/test.bin") : QStringLiteral("/test_batch.bin"));
            hostile::writeFile(file, gz ? hostile::gzip(e.bytes) : e.bytes);
            add({QStringLiteral("cifar %1%2").arg(e.name, gz ? QStringLiteral(" gz") : QString()), {QStringLiteral("analyze"), model_, dir}, 1,
                 {QFileInfo(file).fileName(), e.problem}, {file}});
        }
    }
    for (const auto &s : hostile::kSpecialFiles) {
        if (QLatin1String(s.name) == QLatin1String("missing") || QLatin1String(s.name) == QLatin1String("folder"))
            continue; // not a CIFAR folder at all then
        const QString dir = path(QStringLiteral("cifar/special-%1").arg(QLatin1String(s.name)));
        hostile::makeSpecial(QLatin1String(s.name), dir + QStringLiteral("/test_batch.bin"), 2048 * hostile::kMiB);
        // A special file in the folder's place of test_batch.bin: "without the test split" or "not a regular file".
        add({QStringLiteral("cifar %1").arg(QLatin1String(s.name)), {QStringLiteral("analyze"), model_, dir}, 1,
             {QStringLiteral("test_batch.bin")}, {}});
    }
}

QTEST_GUILESS_MAIN(TestHostile)
