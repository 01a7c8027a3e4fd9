// Tuned weights beside a project (core/weights.h): a fine-tuned model's parameters and buffers survive a save and a
// load into a fresh copy of the model file bit for bit; a missing, damaged or foreign file is refused with a message
// naming it, and leaves the model unchanged.
#include "capture/capture.h"
#include "data/dataset.h"
#include "error.h"
#include "graph/model.h"
#include "tune/recipe.h"
#include "testmodels.h"
#include "tune/training.h"
#include "graph/weights.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTest>

#include <cstring>

using namespace sparsity;

class TestWeights : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::unique_ptr<Dataset> train_, test_;
    std::vector<Batch> probe_;
    std::shared_ptr<Model> tuned_;

    static std::shared_ptr<Model> load(const char *name)
    {
        auto m = Model::load(testmodels::sampleModel(name).toStdString());
        m->setInputShape({1, 28, 28});
        return m;
    }

    static bool sameBits(const std::vector<float> &a, const std::vector<float> &b)
    {
        return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    }

    // Expects `f` to throw sparsity::Error whose message holds every one of `needles`.
    template <typename F>
    static bool throwsWith(F f, const QStringList &needles, QString *message)
    {
        try {
            f();
        } catch (const Error &e) {
            *message = QString::fromStdString(e.what());
            for (const QString &n : needles)
                if (!message->contains(n))
                    return false;
            return true;
        }
        *message = QStringLiteral("no error");
        return false;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(dir_.isValid());
        train_ = openDataset(testmodels::sampleData().toStdString(), Split::Train);
        test_ = openDataset(testmodels::sampleData().toStdString(), Split::Test);
        tuned_ = load("sample-resnet");
        probe_ = loadBatches(*test_, tuned_->defaultPreprocessing(), firstN(*test_, 16), 16);
        // One short epoch changes every trainable tensor and the batch-norm statistics.
        Recipe r = Recipe::forMethod(Recipe::Method::Star);
        r.regularizeEpochs = 1;
        r.finetuneEpochs = 0;
        r.trainImages = 128;
        r.calibrationImages = 32;
        r.validationImages = 32;
        r.batchSize = 32;
        r.thresholdMode = Recipe::ThresholdMode::Keep;
        const TrainingData data{train_.get(), test_.get(), tuned_->defaultPreprocessing()};
        const auto result = train(*tuned_, r, data, dir_.filePath(QStringLiteral("run")).toStdString());
        QVERIFY(!result.cancelled);
    }

    void roundTripGivesIdenticalOutputs()
    {
        const QString file = dir_.filePath(QStringLiteral("tuned.weights.pt"));
        saveWeights(*tuned_, file.toStdString());
        QVERIFY(QFileInfo(file).size() > 0);
        QCOMPARE(QDir(dir_.path()).entryList({QStringLiteral("*.partial"), QStringLiteral("*.weights.pt.*")}, QDir::Files),
                 QStringList()); // written through a temporary file that is gone afterwards

        const auto expected = forwardOutput(*tuned_, probe_[0], true);
        auto fresh = load("sample-resnet");
        QVERIFY(!sameBits(forwardOutput(*fresh, probe_[0], true), expected)); // the training did change the weights
        loadWeights(*fresh, file.toStdString());
        QVERIFY(sameBits(forwardOutput(*fresh, probe_[0], true), expected));
        // Saving again over the file replaces it.
        saveWeights(*fresh, file.toStdString());
        auto again = load("sample-resnet");
        loadWeights(*again, file.toStdString());
        QVERIFY(sameBits(forwardOutput(*again, probe_[0], true), expected));
    }

    void badFilesAreRefusedAndChangeNothing()
    {
        auto model = load("sample-resnet");
        const auto before = forwardOutput(*model, probe_[0], true);
        QString message;

        const QString missing = dir_.filePath(QStringLiteral("missing.weights.pt"));
        QVERIFY2(throwsWith([&] { loadWeights(*model, missing.toStdString()); },
                            {QStringLiteral("missing.weights.pt"), QStringLiteral("does not exist")}, &message),
                 qPrintable(message));

        const QString corrupt = dir_.filePath(QStringLiteral("corrupt.weights.pt"));
        QFile f(corrupt);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("not a weights file at all");
        f.close();
        QVERIFY2(throwsWith([&] { loadWeights(*model, corrupt.toStdString()); },
                            {QStringLiteral("corrupt.weights.pt"), QStringLiteral("not a weights file")}, &message),
                 qPrintable(message));

        // A TorchScript model is a zip archive too, but not a weights file.
        QVERIFY2(throwsWith([&] { loadWeights(*model, testmodels::sampleModel("sample-resnet").toStdString()); },
                            {QStringLiteral("sample-resnet.pt"), QStringLiteral("not a Sparsity Explorer weights file")},
                            &message),
                 qPrintable(message));

        // Weights of another network: named as saved from it.
        const QString foreign = dir_.filePath(QStringLiteral("mobilenet.weights.pt"));
        saveWeights(*load("sample-mobilenetv2"), foreign.toStdString());
        QVERIFY2(throwsWith([&] { loadWeights(*model, foreign.toStdString()); },
                            {QStringLiteral("mobilenet.weights.pt"), QStringLiteral("sample-mobilenetv2.pt")}, &message),
                 qPrintable(message));

        QVERIFY(sameBits(forwardOutput(*model, probe_[0], true), before));
    }

    void unwritableFolderIsAnError()
    {
        QString message;
        const QString file = dir_.filePath(QStringLiteral("no/such/folder/x.weights.pt"));
        QVERIFY2(throwsWith([&] { saveWeights(*tuned_, file.toStdString()); }, {QStringLiteral("x.weights.pt")}, &message),
                 qPrintable(message));
    }
};

QTEST_GUILESS_MAIN(TestWeights)
#include "tst_weights.moc"
