// Dataset formats, detection, corrupt input, subsets and the BatchLoader, on fixtures written here
// (plus the shipped Fashion-MNIST subset).
#include "data/dataset.h"
#include "error.h"
#include "datasetfixtures.h"

#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

using namespace sparsity;
using namespace fixtures;
namespace fs = std::filesystem;

namespace {

QString errorOf(const std::function<void()> &f)
{
    try {
        f();
    } catch (const Error &e) {
        return QString::fromStdString(e.what());
    }
    return QString();
}

QString q(const std::string &s)
{
    return QString::fromStdString(s);
}

std::vector<std::size_t> iota(std::size_t n)
{
    std::vector<std::size_t> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = i;
    return v;
}

// A dataset whose images take a while to "decode" (sleeping, so the timing does not depend on free cores).
class SlowDataset : public Dataset {
public:
    explicit SlowDataset(std::size_t n, int millis) : m_n(n), m_millis(millis) {}
    mutable std::atomic<int> calls{0};
    std::string path() const override { return "slow"; }
    std::string format() const override { return "folder"; }
    std::size_t size() const override { return m_n; }
    int label(std::size_t) const override { return -1; }
    const std::vector<std::string> &classNames() const override { return m_names; }
    RawImage image(std::size_t index) const override
    {
        ++calls;
        std::this_thread::sleep_for(std::chrono::milliseconds(m_millis));
        return RawImage{1, 1, 1, {std::uint8_t(index)}};
    }
    std::string itemName(std::size_t index) const override { return "slow#" + std::to_string(index); }

private:
    std::size_t m_n;
    int m_millis;
    std::vector<std::string> m_names;
};

} // namespace

class TestDatasets : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp;
    std::string dir(const char *name) const { return (fs::path(tmp.path().toStdString()) / name).string(); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp.isValid()); }

    // ---- IDX ----
    void idx_data()
    {
        QTest::addColumn<QString>("layout");
        QTest::addColumn<bool>("withClasses");
        QTest::newRow("plain folder") << QStringLiteral("plain") << false;
        QTest::newRow("gzip folder") << QStringLiteral("gz") << false;
        QTest::newRow("images file") << QStringLiteral("imagesfile") << true;
        QTest::newRow("labels file") << QStringLiteral("labelsfile") << true;
        QTest::newRow("folder + classes.txt") << QStringLiteral("plain") << true;
    }
    void idx()
    {
        QFETCH(QString, layout);
        QFETCH(bool, withClasses);
        const std::string root = dir(QTest::currentDataTag());
        const bool gz = layout == QStringLiteral("gz");
        const std::string ext = gz ? ".gz" : "";
        auto write = gz ? writeGzip : writeBytes;
        write(root + "/t10k-images-idx3-ubyte" + ext, idxImages(7, 5, 4));
        write(root + "/t10k-labels-idx1-ubyte" + ext, idxLabels(7, 3));
        if (withClasses)
            writeText(root + "/classes.txt", "zero\n one \ntwo\n\n");
        std::string path = root;
        if (layout == QStringLiteral("imagesfile"))
            path = root + "/t10k-images-idx3-ubyte";
        if (layout == QStringLiteral("labelsfile"))
            path = root + "/t10k-labels-idx1-ubyte";

        const auto d = openDataset(path);
        QCOMPARE(q(d->format()), QStringLiteral("idx"));
        QCOMPARE(d->size(), std::size_t(7));
        QVERIFY(d->labelled());
        const std::vector<std::string> names =
            withClasses ? std::vector<std::string>{"zero", "one", "two"} : std::vector<std::string>{"0", "1", "2"};
        QVERIFY(d->classNames() == names);
        for (std::size_t i = 0; i < 7; ++i) {
            QCOMPARE(d->label(i), int(i % 3));
            const RawImage img = d->image(i);
            QCOMPARE(img.width, 4);
            QCOMPARE(img.height, 5);
            QCOMPARE(img.channels, 1);
            QCOMPARE(img.pixels.size(), std::size_t(20));
            for (std::size_t k = 0; k < 20; ++k)
                QCOMPARE(img.pixels[k], pixel(i, k));
        }
        QVERIFY(q(d->itemName(3)).endsWith(QStringLiteral("t10k-images-idx3-ubyte") + q(ext) + QStringLiteral("#3")));
        QVERIFY(q(d->describe()).contains(QStringLiteral("7 images")));
        QVERIFY(errorOf([&] { d->image(7); }).contains(QStringLiteral("out of range")));
    }

    void idxSplitIsChosenInFolder()
    {
        const std::string root = dir("idx-splits");
        writeGzip(root + "/train-images-idx3-ubyte.gz", idxImages(6, 3, 3));
        writeGzip(root + "/train-labels-idx1-ubyte.gz", idxLabels(6, 2));
        writeGzip(root + "/t10k-images-idx3-ubyte.gz", idxImages(4, 3, 3));
        writeGzip(root + "/t10k-labels-idx1-ubyte.gz", idxLabels(4, 2));
        QCOMPARE(openDataset(root, Split::Train)->size(), std::size_t(6));
        QCOMPARE(openDataset(root, Split::Test)->size(), std::size_t(4));
        QVERIFY(q(openDataset(root, Split::Test)->describe()).contains(QStringLiteral("t10k-images")));

        const std::string onlyTrain = dir("idx-only-train");
        writeBytes(onlyTrain + "/train-images-idx3-ubyte", idxImages(2, 3, 3));
        const QString e = errorOf([&] { openDataset(onlyTrain, Split::Test); });
        QVERIFY2(e.contains(QStringLiteral("no IDX images of the test split")) && e.contains(QStringLiteral("train-images")),
                 qPrintable(e));
    }

    void idxWithoutLabelsIsUnlabelled()
    {
        const std::string root = dir("idx-unlabelled");
        writeBytes(root + "/kmnist-images-idx3-ubyte", idxImages(3, 2, 2));
        const auto d = openDataset(root);
        QCOMPARE(d->size(), std::size_t(3));
        QVERIFY(!d->labelled());
        QCOMPARE(d->label(0), -1);
        QVERIFY(q(d->describe()).contains(QStringLiteral("no labels file")));
    }

    void idxErrors_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QByteArray>("images");
        QTest::addColumn<QByteArray>("labels");
        QTest::addColumn<QString>("classes");
        QTest::addColumn<QString>("expected");
        auto bytes = [](const std::vector<std::uint8_t> &b) {
            return QByteArray(reinterpret_cast<const char *>(b.data()), qsizetype(b.size()));
        };
        const QByteArray good = bytes(idxImages(4, 3, 3));
        const QByteArray goodLabels = bytes(idxLabels(4, 2));
        QTest::newRow("truncated images") << QStringLiteral("t10k-images-idx3-ubyte") << good.left(good.size() - 5)
                                          << goodLabels << QString()
                                          << QStringLiteral("t10k-images-idx3-ubyte: truncated IDX data: expected 36 "
                                                            "data bytes, found 31 (at byte offset 47)");
        QTest::newRow("truncated header") << QStringLiteral("t10k-images-idx3-ubyte") << good.left(10) << goodLabels
                                          << QString() << QStringLiteral("truncated IDX header");
        QByteArray wrongMagic = good;
        wrongMagic[0] = 'P';
        QTest::newRow("wrong magic") << QStringLiteral("t10k-images-idx3-ubyte") << wrongMagic << goodLabels
                                     << QString() << QStringLiteral("wrong magic number: not an IDX file");
        QTest::newRow("labels count") << QStringLiteral("t10k-images-idx3-ubyte") << good << bytes(idxLabels(5, 2))
                                      << QString() << QStringLiteral("5 labels for 4 images");
        QTest::newRow("truncated labels") << QStringLiteral("t10k-images-idx3-ubyte") << good
                                          << goodLabels.left(goodLabels.size() - 1) << QString()
                                          << QStringLiteral("t10k-labels-idx1-ubyte: truncated IDX data");
        QTest::newRow("label beyond classes.txt") << QStringLiteral("t10k-images-idx3-ubyte") << good << goodLabels
                                                  << QStringLiteral("only\n")
                                                  << QStringLiteral("label 1 of item 1 is beyond the 1 classes named in");
        QTest::newRow("label file as images") << QStringLiteral("t10k-images-idx3-ubyte") << goodLabels << goodLabels
                                              << QString() << QStringLiteral("not an IDX image file");
        QTest::newRow("truncated gzip") << QStringLiteral("t10k-images-idx3-ubyte.gz") << QByteArray("gz") << goodLabels
                                        << QString() << QStringLiteral("truncated gzip stream");
    }
    void idxErrors()
    {
        QFETCH(QString, name);
        QFETCH(QByteArray, images);
        QFETCH(QByteArray, labels);
        QFETCH(QString, classes);
        QFETCH(QString, expected);
        const std::string root = dir((std::string("idx-error-") + QTest::currentDataTag()).c_str());
        std::vector<std::uint8_t> imageBytes(images.begin(), images.end());
        if (images == "gz") { // a gzip stream cut in the middle
            const std::string full = root + "/full.gz";
            writeGzip(full, idxImages(50, 10, 10));
            std::ifstream in(full, std::ios::binary);
            imageBytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
            imageBytes.resize(imageBytes.size() / 2);
            fs::remove(full);
        }
        writeBytes(root + "/" + name.toStdString(), imageBytes);
        writeBytes(root + "/t10k-labels-idx1-ubyte", std::vector<std::uint8_t>(labels.begin(), labels.end()));
        if (!classes.isEmpty())
            writeText(root + "/classes.txt", classes.toStdString());
        const QString e = errorOf([&] { openDataset(root); });
        QVERIFY2(e.contains(expected), qPrintable(e));
        QVERIFY2(e.contains(QStringLiteral("byte offset")), qPrintable(e));
        QVERIFY2(e.contains(q(root)), qPrintable(e)); // names the file with its folder
    }

    // ---- CIFAR ----
    void cifar10()
    {
        const std::string root = dir("cifar10");
        writeBytes(root + "/data_batch_1.bin", cifarBytes(3, 1, 0));
        writeBytes(root + "/data_batch_2.bin", cifarBytes(2, 1, 3));
        writeBytes(root + "/test_batch.bin", cifarBytes(2, 1, 100));
        writeText(root + "/batches.meta.txt",
                  "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
        const auto train = openDataset(root, Split::Train);
        QCOMPARE(q(train->format()), QStringLiteral("cifar10"));
        QCOMPARE(train->size(), std::size_t(5));
        QCOMPARE(train->classNames().size(), std::size_t(10));
        QCOMPARE(q(train->classNames()[9]), QStringLiteral("truck"));
        for (std::size_t i = 0; i < 5; ++i) {
            QCOMPARE(train->label(i), int(i % 10));
            const RawImage img = train->image(i);
            QCOMPARE(img.width, 32);
            QCOMPARE(img.height, 32);
            QCOMPARE(img.channels, 3);
            // HWC RGB from planar R, G, B.
            for (std::size_t k : {std::size_t(0), std::size_t(33), std::size_t(1023)})
                for (std::size_t c = 0; c < 3; ++c)
                    QCOMPARE(img.pixels[3 * k + c], pixel(i, c * 1024 + k));
        }
        QVERIFY(q(train->itemName(3)).endsWith(QStringLiteral("data_batch_2.bin#0")));
        const auto test = openDataset(root, Split::Test);
        QCOMPARE(test->size(), std::size_t(2));
        QCOMPARE(test->label(1), 101 % 10);
        // A single file, and the archive's folder name below the chosen folder.
        QCOMPARE(openDataset(root + "/data_batch_2.bin")->size(), std::size_t(2));
        const std::string archive = dir("cifar10-archive");
        writeBytes(archive + "/cifar-10-batches-bin/test_batch.bin", cifarBytes(4, 1));
        const auto nested = openDataset(archive);
        QCOMPARE(nested->size(), std::size_t(4));
        QCOMPARE(q(nested->classNames()[3]), QStringLiteral("3")); // no batches.meta.txt: numbered
    }

    void cifar100_data()
    {
        QTest::addColumn<bool>("fine");
        QTest::newRow("fine") << true;
        QTest::newRow("coarse") << false;
    }
    void cifar100()
    {
        QFETCH(bool, fine);
        const std::string root = dir("cifar100");
        writeBytes(root + "/train.bin", cifarBytes(6, 2));
        writeBytes(root + "/test.bin", cifarBytes(3, 2));
        std::string fineNames, coarseNames;
        for (int i = 0; i < 100; ++i)
            fineNames += "fine" + std::to_string(i) + "\n";
        for (int i = 0; i < 20; ++i)
            coarseNames += "coarse" + std::to_string(i) + "\n";
        writeText(root + "/fine_label_names.txt", fineNames);
        writeText(root + "/coarse_label_names.txt", coarseNames);
        DatasetOptions options;
        options.split = Split::Train;
        options.cifar100Labels = fine ? DatasetOptions::CifarLabels::Fine : DatasetOptions::CifarLabels::Coarse;
        const auto d = openDataset(root, options);
        QCOMPARE(q(d->format()), QStringLiteral("cifar100"));
        QCOMPARE(d->size(), std::size_t(6));
        QCOMPARE(d->classNames().size(), std::size_t(fine ? 100 : 20));
        for (std::size_t i = 0; i < 6; ++i) {
            QCOMPARE(d->label(i), fine ? int((i * 7) % 100) : int(i % 20));
            QCOMPARE(d->image(i).pixels[0], pixel(i, 0));
        }
        QCOMPARE(q(d->classNames()[1]), fine ? QStringLiteral("fine1") : QStringLiteral("coarse1"));
        QCOMPARE(openDataset(root, Split::Test)->size(), std::size_t(3));
    }

    void cifarErrors_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        auto bytes = [](const std::vector<std::uint8_t> &b) {
            return QByteArray(reinterpret_cast<const char *>(b.data()), qsizetype(b.size()));
        };
        const QByteArray ten = bytes(cifarBytes(3, 1));
        QTest::newRow("truncated") << QStringLiteral("test_batch.bin") << ten.left(ten.size() - 100)
                                   << QStringLiteral("test_batch.bin: truncated CIFAR-10 file: record 2 has 2973 of "
                                                     "3073 bytes (at byte offset 6146)");
        QByteArray badLabel = ten;
        badLabel[3073] = char(12);
        QTest::newRow("label out of range") << QStringLiteral("test_batch.bin") << badLabel
                                            << QStringLiteral("label 12 of record 1 is not a CIFAR-10 class (0-9); is "
                                                              "this a CIFAR-100 file or not CIFAR at all? (at byte "
                                                              "offset 3073)");
        QTest::newRow("empty") << QStringLiteral("test_batch.bin") << QByteArray()
                               << QStringLiteral("empty file: expected CIFAR-10 records of 3073 bytes (at byte offset 0)");
        QTest::newRow("CIFAR-10 named as CIFAR-100") << QStringLiteral("test.bin") << ten
                                                     << QStringLiteral("test.bin: truncated CIFAR-100 file");
        QByteArray badFine = bytes(cifarBytes(2, 2));
        badFine[3074 + 1] = char(200);
        QTest::newRow("fine label out of range") << QStringLiteral("test.bin") << badFine
                                                 << QStringLiteral("fine label 200 of record 1 is not a CIFAR-100 "
                                                                   "class (0-99) (at byte offset 3075)");
    }
    void cifarErrors()
    {
        QFETCH(QString, file);
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        const std::string root = dir((std::string("cifar-error-") + QTest::currentDataTag()).c_str());
        writeBytes(root + "/" + file.toStdString(), std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
        for (const std::string &path : {root, root + "/" + file.toStdString()}) {
            const QString e = errorOf([&] { openDataset(path); });
            QVERIFY2(e.contains(expected) && e.contains(q(root)), qPrintable(e));
        }
    }

    void cifarMetaWithWrongCount()
    {
        const std::string root = dir("cifar-meta");
        writeBytes(root + "/test_batch.bin", cifarBytes(1, 1));
        writeText(root + "/batches.meta.txt", "a\nb\n");
        const QString e = errorOf([&] { openDataset(root); });
        QVERIFY2(e.contains(QStringLiteral("batches.meta.txt: 2 class names, expected 10")), qPrintable(e));
    }

    // ---- Folders ----
    void imageFolderOrderAndLabels()
    {
        const std::string root = dir("imagefolder");
        // torchvision: classes sorted by code point (upper case first); files of each class by sorted(os.walk()).
        writeImage(root + "/cat/b.png", patternImage(6, 4, 1));
        writeImage(root + "/cat/a.JPG", patternImage(6, 4, 2));
        writeImage(root + "/cat/sub/a.png", patternImage(6, 4, 3));
        writeImage(root + "/cat/sub-x/a.bmp", patternImage(6, 4, 4));
        writeImage(root + "/cat/sub/deeper/c.png", patternImage(6, 4, 4));
        writeImage(root + "/Dog/z.png", patternImage(5, 5, 5, 1));
        writeImage(root + "/a b/x.tiff", patternImage(3, 3, 6));
        writeText(root + "/cat/notes.txt", "not an image");
        writeImage(root + "/cat/.hidden.png", patternImage(2, 2, 7));
        writeImage(root + "/.ipynb_checkpoints/x.png", patternImage(2, 2, 8));
        writeImage(root + "/loose.png", patternImage(2, 2, 9));
        const auto d = openDataset(root);
        QCOMPARE(q(d->format()), QStringLiteral("imagefolder"));
        QVERIFY((d->classNames() == std::vector<std::string>{"Dog", "a b", "cat"}));
        // sorted(os.walk()): "cat/sub" < "cat/sub-x" < "cat/sub/deeper" ('-' sorts before '/').
        const std::vector<std::string> expected{"Dog/z.png",     "a b/x.tiff",      "cat/a.JPG",
                                                "cat/b.png",     "cat/sub/a.png",   "cat/sub-x/a.bmp",
                                                "cat/sub/deeper/c.png"};
        QCOMPARE(d->size(), expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            QCOMPARE(q(d->itemName(i)), q(root + "/" + expected[i]));
            QCOMPARE(d->label(i), i == 0 ? 0 : i == 1 ? 1 : 2);
        }
        QVERIFY2(q(d->describe()).contains(QStringLiteral("1 images directly in the root")), d->describe().c_str());
        // Decoded as RGB (OpenCV's BGR converted), grayscale kept at one channel.
        const cv::Mat bgr = patternImage(6, 4, 1);
        const RawImage rgb = d->image(3);
        QCOMPARE(rgb.channels, 3);
        QCOMPARE(rgb.width, 6);
        QCOMPARE(rgb.height, 4);
        for (int c = 0; c < 3; ++c)
            QCOMPARE(rgb.pixels[std::size_t((1 * 6 + 2) * 3 + c)], bgr.ptr<std::uint8_t>(1)[2 * 3 + (2 - c)]);
        const RawImage gray = d->image(0);
        QCOMPARE(gray.channels, 1);
        QCOMPARE(gray.pixels[7], patternImage(5, 5, 5, 1).ptr<std::uint8_t>(1)[2]);
    }

    void trainValFolders()
    {
        const std::string root = dir("trainval");
        for (const char *cls : {"x", "y"}) {
            writeImage(root + "/train/" + cls + "/1.png", patternImage(4, 4, 1));
            writeImage(root + "/train/" + cls + "/2.png", patternImage(4, 4, 2));
            writeImage(root + "/val/" + cls + "/1.png", patternImage(4, 4, 3));
        }
        QCOMPARE(openDataset(root, Split::Train)->size(), std::size_t(4));
        const auto val = openDataset(root, Split::Test);
        QCOMPARE(val->size(), std::size_t(2));
        QVERIFY((val->classNames() == std::vector<std::string>{"x", "y"}));
    }

    void flatFolder()
    {
        const std::string root = dir("flat");
        writeImage(root + "/b.png", patternImage(4, 3, 1));
        writeImage(root + "/a.jpg", patternImage(4, 3, 2));
        writeText(root + "/readme.md", "hi");
        const auto d = openDataset(root);
        QCOMPARE(q(d->format()), QStringLiteral("folder"));
        QCOMPARE(d->size(), std::size_t(2));
        QVERIFY(!d->labelled());
        QCOMPARE(d->label(1), -1);
        QVERIFY(q(d->itemName(0)).endsWith(QStringLiteral("/a.jpg")));
        QCOMPARE(d->image(0).width, 4);
        QCOMPARE(d->mask(0).pixels.size(), std::size_t(0));
    }

    void segmentationPairs()
    {
        const std::string root = dir("segmentation");
        writeImage(root + "/images/a.png", patternImage(5, 4, 1));
        writeImage(root + "/images/b.jpg", patternImage(5, 4, 2));
        writeImage(root + "/images/c.png", patternImage(5, 4, 3));
        cv::Mat mask(4, 5, CV_8UC1, cv::Scalar(0));
        mask.at<std::uint8_t>(2, 3) = 7;
        writeImage(root + "/masks/a.png", mask);
        writeImage(root + "/masks/b.png", mask);
        cv::Mat colour(4, 5, CV_8UC3, cv::Scalar(1, 2, 3));
        writeImage(root + "/masks/c.png", colour);
        const auto d = openDataset(root);
        QCOMPARE(q(d->format()), QStringLiteral("segmentation"));
        QCOMPARE(d->size(), std::size_t(3));
        const RawImage m = d->mask(1);
        QCOMPARE(m.channels, 1);
        QCOMPARE(m.width, 5);
        QCOMPARE(m.pixels[2 * 5 + 3], std::uint8_t(7));
        QCOMPARE(m.pixels[0], std::uint8_t(0));
        const QString e = errorOf([&] { d->mask(2); });
        QVERIFY2(e.contains(QStringLiteral("c.png: a colour mask")), qPrintable(e));

        fs::remove(root + "/masks/c.png");
        const auto fewer = openDataset(root);
        QCOMPARE(fewer->size(), std::size_t(2));
        QVERIFY(q(fewer->describe()).contains(QStringLiteral("1 images without a mask are left out")));
    }

    void folderErrors_data()
    {
        QTest::addColumn<QString>("setup");
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing") << QStringLiteral("missing") << QStringLiteral("no such file or folder");
        QTest::newRow("empty") << QStringLiteral("empty") << QStringLiteral("the folder is empty");
        QTest::newRow("unknown") << QStringLiteral("unknown")
                                 << QStringLiteral("no dataset found; looked for IDX files (*-images-idx3-ubyte[.gz]");
        QTest::newRow("empty class") << QStringLiteral("emptyclass")
                                     << QStringLiteral("class folders without images: empty");
        QTest::newRow("single image") << QStringLiteral("image") << QStringLiteral("a single image");
        QTest::newRow("unknown file") << QStringLiteral("file") << QStringLiteral("unknown dataset file");
        QTest::newRow("no masks") << QStringLiteral("nomasks") << QStringLiteral("has a mask in masks/");
    }
    void folderErrors()
    {
        QFETCH(QString, setup);
        QFETCH(QString, expected);
        std::string path = dir((std::string("folder-error-") + QTest::currentDataTag()).c_str());
        if (setup == QStringLiteral("empty")) {
            fs::create_directories(path);
        } else if (setup == QStringLiteral("unknown")) {
            writeText(path + "/notes.txt", "x");
            fs::create_directories(path + "/sub");
        } else if (setup == QStringLiteral("emptyclass")) {
            writeImage(path + "/full/a.png", patternImage(2, 2, 1));
            fs::create_directories(path + "/empty");
        } else if (setup == QStringLiteral("image")) {
            writeImage(path + "/a.png", patternImage(2, 2, 1));
            path += "/a.png";
        } else if (setup == QStringLiteral("file")) {
            writeText(path + "/data.csv", "1,2");
            path += "/data.csv";
        } else if (setup == QStringLiteral("nomasks")) {
            writeImage(path + "/images/a.png", patternImage(2, 2, 1));
            writeImage(path + "/masks/b.png", patternImage(2, 2, 1, 1));
        }
        const QString e = errorOf([&] { openDataset(path); });
        QVERIFY2(e.contains(expected), qPrintable(e));
        QVERIFY2(e.contains(q(path)) || setup == QStringLiteral("nomasks"), qPrintable(e));
    }

    void corruptImagesAreSkippedAndCounted()
    {
        const std::string root = dir("corrupt");
        for (int i = 0; i < 6; ++i)
            writeImage(root + "/c/good" + std::to_string(i) + ".png", patternImage(8, 8, i));
        writeText(root + "/c/garbage.jpg", "this is not a jpeg");
        std::vector<std::uint8_t> jpeg;
        cv::imencode(".jpg", patternImage(64, 64, 1), jpeg);
        jpeg.resize(jpeg.size() * 2 / 3);
        writeBytes(root + "/c/good2_truncated.jpg", jpeg);
        writeBytes(root + "/c/good4_empty.png", {});
        const auto d = openDataset(root);
        QCOMPARE(d->size(), std::size_t(9));
        Preprocessing p;
        p.channels = 3;
        p.height = p.width = 8;
        for (int workers : {1, 3}) {
            BatchLoader loader(*d, p, iota(d->size()), {4, workers, 2, false, 0});
            QCOMPARE(loader.batchCount(), std::size_t(3));
            Batch b;
            std::vector<std::string> delivered;
            std::vector<int> sizes;
            while (loader.next(b)) {
                QCOMPARE(b.data.size(), std::size_t(b.n) * 3 * 8 * 8);
                sizes.push_back(b.n);
                for (auto i : b.indices)
                    delivered.push_back(fs::path(d->itemName(i)).filename().string());
            }
            // Sorted names: garbage, good0, good1, good2, good2_truncated, good3, good4, good4_empty, good5.
            QVERIFY((delivered == std::vector<std::string>{"good0.png", "good1.png", "good2.png", "good3.png",
                                                           "good4.png", "good5.png"}));
            QVERIFY((sizes == std::vector<int>{3, 2, 1}));
            QCOMPARE(loader.skippedCount(), std::size_t(3));
            const auto examples = loader.skippedExamples();
            QCOMPARE(examples.size(), std::size_t(3));
            QVERIFY2(q(examples[0]).contains(QStringLiteral("garbage.jpg: truncated JPEG")) ||
                         q(examples[0]).contains(QStringLiteral("garbage.jpg: not a readable image")),
                     examples[0].c_str());
            QVERIFY2(q(examples[1]).contains(QStringLiteral("good2_truncated.jpg: truncated JPEG")), examples[1].c_str());
            QVERIFY2(q(examples[2]).contains(QStringLiteral("good4_empty.png: empty file")), examples[2].c_str());
        }
    }

    // ---- BatchLoader ----
    void batchLoaderOrder_data()
    {
        QTest::addColumn<int>("items");
        QTest::addColumn<int>("batchSize");
        QTest::addColumn<int>("workers");
        QTest::addColumn<int>("prefetch");
        QTest::newRow("1 worker") << 103 << 10 << 1 << 1;
        QTest::newRow("2 workers") << 103 << 10 << 2 << 4;
        QTest::newRow("4 workers, batch 1") << 17 << 1 << 4 << 2;
        QTest::newRow("batch larger than set") << 5 << 64 << 2 << 4;
        QTest::newRow("exact multiple") << 40 << 8 << 3 << 3;
        QTest::newRow("no items") << 0 << 8 << 2 << 2;
    }
    void batchLoaderOrder()
    {
        QFETCH(int, items);
        QFETCH(int, batchSize);
        QFETCH(int, workers);
        QFETCH(int, prefetch);
        const std::string root = dir("loader-idx");
        if (!fs::exists(root)) {
            writeBytes(root + "/t10k-images-idx3-ubyte", idxImages(120, 6, 5));
            writeBytes(root + "/t10k-labels-idx1-ubyte", idxLabels(120, 4));
        }
        const auto d = openDataset(root);
        // A subset in a non-trivial order: delivered exactly in this order.
        std::vector<std::size_t> indices;
        for (int i = 0; i < items; ++i)
            indices.push_back(std::size_t((i * 7) % 120));
        Preprocessing p;
        p.height = 6;
        p.width = 5;
        p.mean = {0.5f};
        p.std = {0.25f};
        BatchLoader loader(*d, p, indices, {std::size_t(batchSize), workers, std::size_t(prefetch), false, 0});
        QCOMPARE(loader.batchCount(), std::size_t((items + batchSize - 1) / batchSize));
        Batch b;
        std::size_t position = 0, batches = 0;
        while (loader.next(b)) {
            ++batches;
            QCOMPARE(b.n, std::min(batchSize, items - int(position)));
            QCOMPARE(b.c, 1);
            QCOMPARE(b.h, 6);
            QCOMPARE(b.w, 5);
            QCOMPARE(b.data.size(), std::size_t(b.n) * 30);
            QCOMPARE(b.labels.size(), std::size_t(b.n));
            for (int i = 0; i < b.n; ++i, ++position) {
                QCOMPARE(b.indices[std::size_t(i)], indices[position]);
                QCOMPARE(b.labels[std::size_t(i)], int(indices[position] % 4));
                std::vector<float> expected;
                preprocess(d->image(indices[position]), p, expected);
                QVERIFY(std::equal(expected.begin(), expected.end(), b.data.begin() + i * 30));
            }
        }
        QCOMPARE(position, indices.size());
        QCOMPARE(batches, loader.batchCount());
        QVERIFY(!loader.next(b));
        QCOMPARE(loader.skippedCount(), std::size_t(0));
    }

    void batchLoaderAugmentationIsDeterministic()
    {
        const std::string root = dir("loader-aug");
        writeBytes(root + "/t10k-images-idx3-ubyte", idxImages(30, 8, 8));
        const auto d = openDataset(root);
        Preprocessing p;
        p.height = p.width = 8;
        p.randomCropPadding = 2;
        p.horizontalFlip = true;
        auto run = [&](int workers, std::uint64_t seed, bool augment) {
            BatchLoader loader(*d, p, iota(30), {7, workers, 2, augment, seed});
            std::vector<float> all;
            Batch b;
            while (loader.next(b))
                all.insert(all.end(), b.data.begin(), b.data.end());
            return all;
        };
        const auto a = run(1, 42, true);
        QCOMPARE(a.size(), std::size_t(30 * 64));
        QVERIFY(a == run(3, 42, true));
        QVERIFY(a != run(2, 43, true));
        QVERIFY(a != run(2, 42, false));
        QVERIFY(run(2, 42, false) == run(1, 7, false));
    }

    void batchLoaderDecodesInParallelAhead()
    {
        Preprocessing p;
        p.height = p.width = 1;
        auto run = [&](int workers) {
            SlowDataset d(24, 20);
            const auto t0 = std::chrono::steady_clock::now();
            BatchLoader loader(d, p, iota(24), {4, workers, 6, false, 0});
            Batch b;
            std::size_t n = 0;
            while (loader.next(b))
                n += std::size_t(b.n);
            if (n != 24)
                return -1.0;
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        };
        const double one = run(1), four = run(4);
        QVERIFY(one >= 24 * 0.020);
        QVERIFY2(four > 0 && four < one * 0.6, qPrintable(QStringLiteral("1 worker %1 s, 4 workers %2 s").arg(one).arg(four)));

        // Bounded: with the consumer idle, at most prefetchBatches x batchSize images are decoded.
        SlowDataset d(100, 1);
        BatchLoader loader(d, p, iota(100), {3, 4, 2, false, 0});
        auto settle = [&](int expected) { // wait until the workers reach `expected`, then check they stop there
            for (int i = 0; i < 400 && d.calls.load() < expected; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            return d.calls.load();
        };
        QCOMPARE(settle(6), 6);
        Batch b;
        QVERIFY(loader.next(b));
        QCOMPARE(settle(9), 9);
    }

    void batchLoaderStopsEarly()
    {
        const std::string root = dir("loader-idx");
        const auto d = openDataset(root);
        Preprocessing p;
        p.height = 6;
        p.width = 5;
        {
            BatchLoader loader(*d, p, iota(120), {4, 2, 2, false, 0});
            Batch b;
            QVERIFY(loader.next(b));
        } // the destructor stops the workers waiting on the full queue
        BatchLoader unused(*d, p, iota(120), {4, 2, 2, false, 0});
    }

    void batchLoaderRejectsBadInput()
    {
        const auto d = openDataset(dir("loader-idx"));
        Preprocessing p;
        p.height = 6;
        p.width = 5;
        QVERIFY(errorOf([&] { BatchLoader(*d, p, {0, 120}, {}); }).contains(QStringLiteral("index 120 (position 1) is out of range")));
        Preprocessing bad = p;
        bad.channels = 2;
        QVERIFY(errorOf([&] { BatchLoader(*d, bad, {0}, {}); }).contains(QStringLiteral("channels must be 1")));
        // A size mismatch without a resize mode: every image skipped and the reason given.
        Preprocessing mismatch = p;
        mismatch.resize = Preprocessing::Resize::None;
        mismatch.width = 6;
        BatchLoader loader(*d, mismatch, {0, 1, 2}, {2, 2, 2, false, 0});
        Batch b;
        QVERIFY(!loader.next(b));
        QCOMPARE(loader.skippedCount(), std::size_t(3));
        QVERIFY2(q(loader.skippedExamples()[0]).contains(QStringLiteral("t10k-images-idx3-ubyte#0: Preprocessing: image is 5x6")),
                 loader.skippedExamples()[0].c_str());
    }

    // ---- Subsets ----
    void subsets()
    {
        const std::string root = dir("subsets");
        // 100 items: labels 0 x50, 1 x30, 2 x20.
        std::vector<std::uint8_t> labels(100);
        for (std::size_t i = 0; i < 100; ++i)
            labels[i] = std::uint8_t(i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2);
        writeBytes(root + "/t10k-images-idx3-ubyte", idxImages(100, 2, 2));
        writeBytes(root + "/t10k-labels-idx1-ubyte", idxBytes({100}, labels));
        const auto d = openDataset(root);
        QVERIFY((firstN(*d, 3) == std::vector<std::size_t>{0, 1, 2}));
        QCOMPARE(firstN(*d, 1000).size(), std::size_t(100));

        const auto r = randomN(*d, 10, 1);
        QCOMPARE(r.size(), std::size_t(10));
        QVERIFY(std::is_sorted(r.begin(), r.end()));
        QCOMPARE(std::set<std::size_t>(r.begin(), r.end()).size(), std::size_t(10));
        QVERIFY(r == randomN(*d, 10, 1));
        QVERIFY(r != randomN(*d, 10, 2));
        QVERIFY(r != firstN(*d, 10));
        QCOMPARE(randomN(*d, 500, 1).size(), std::size_t(100));

        for (std::uint64_t seed : {1u, 2u, 3u}) {
            const auto s = stratifiedN(*d, 10, seed);
            QCOMPARE(s.size(), std::size_t(10));
            QVERIFY(std::is_sorted(s.begin(), s.end()));
            int counts[3] = {0, 0, 0};
            for (auto i : s)
                ++counts[d->label(i)];
            QCOMPARE(counts[0], 5);
            QCOMPARE(counts[1], 3);
            QCOMPARE(counts[2], 2);
            QVERIFY(s == stratifiedN(*d, 10, seed));
        }
        // Largest remainder: 7 of 50/30/20 -> 3.5, 2.1, 1.4 -> 4, 2, 1.
        int counts[3] = {0, 0, 0};
        for (auto i : stratifiedN(*d, 7, 9))
            ++counts[d->label(i)];
        QCOMPARE(counts[0], 4);
        QCOMPARE(counts[1], 2);
        QCOMPARE(counts[2], 1);

        const auto flat = openDataset(dir("flat"));
        QVERIFY(errorOf([&] { stratifiedN(*flat, 1, 0); }).contains(QStringLiteral("unlabelled")));
    }

    // ---- The shipped sample and the full set ----
    void shippedFashionMnist()
    {
        const std::string root = std::string(SPARSITY_SAMPLEDATA_DIR) + "/fashion-mnist";
        const auto train = openDataset(root, Split::Train);
        const auto test = openDataset(root, Split::Test);
        QCOMPARE(train->size(), std::size_t(10000));
        QCOMPARE(test->size(), std::size_t(2000));
        QCOMPARE(test->classNames().size(), std::size_t(10));
        QCOMPARE(q(test->classNames()[0]), QStringLiteral("T-shirt/top"));
        QCOMPARE(q(test->classNames()[9]), QStringLiteral("Ankle boot"));
        const RawImage img = test->image(0);
        QCOMPARE(img.width, 28);
        QCOMPARE(img.height, 28);
        // Fashion-MNIST's first test item is an ankle boot; the first training item too.
        QCOMPARE(test->label(0), 9);
        QCOMPARE(train->label(0), 9);
        // Stratified 200 of 2000: a tenth of each class, rounded down or up.
        std::vector<int> total(10), counts(10);
        for (std::size_t i = 0; i < test->size(); ++i)
            ++total[std::size_t(test->label(i))];
        const auto subset = stratifiedN(*test, 200, 1);
        QCOMPARE(subset.size(), std::size_t(200));
        for (auto i : subset)
            ++counts[std::size_t(test->label(i))];
        for (std::size_t c = 0; c < 10; ++c)
            QVERIFY2(counts[c] == total[c] / 10 || counts[c] == (total[c] + 9) / 10,
                     qPrintable(QStringLiteral("class %1: %2 of %3").arg(c).arg(counts[c]).arg(total[c])));
        BatchLoader loader(*test, Preprocessing::mnistLike28(), firstN(*test, 300), {128, 2, 2, false, 0});
        Batch b;
        std::size_t n = 0;
        while (loader.next(b))
            n += std::size_t(b.n);
        QCOMPARE(n, std::size_t(300));
    }

    void fullFashionMnist()
    {
        const std::string root = "/usr/share/datasets/fashion-mnist";
        if (!fs::exists(root))
            QSKIP("the full Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed");
        const auto train = openDataset(root, Split::Train);
        const auto test = openDataset(root, Split::Test);
        QCOMPARE(train->size(), std::size_t(60000));
        QCOMPARE(test->size(), std::size_t(10000));
        // The shipped subset is the first items of the full set.
        const auto sample = openDataset(std::string(SPARSITY_SAMPLEDATA_DIR) + "/fashion-mnist", Split::Test);
        for (std::size_t i : {std::size_t(0), std::size_t(1999)}) {
            QCOMPARE(sample->label(i), test->label(i));
            QVERIFY(sample->image(i).pixels == test->image(i).pixels);
        }
    }
};

QTEST_APPLESS_MAIN(TestDatasets)
#include "tst_datasets.moc"
