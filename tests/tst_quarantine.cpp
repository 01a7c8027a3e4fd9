// The model quarantine (core/graph/quarantine.h): a damaged archive that crashes LibTorch's unpickler ends the
// checker process, not this one; a model that passed is recorded by its contents and not checked again.
#include "error.h"
#include "graph/model.h"
#include "graph/quarantine.h"
#include "graph/weights.h"
#include "testmodels.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using namespace sparsity;

class TestQuarantine : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void passedModelIsRecordedByContents();
    void crashingArchiveIsRefusedInTheChild();
    void changedContentsAreCheckedAgain();
    void weightsFilesAreCheckedToo();
    void changedBytesFailTheirCrc();

private:
    QString cacheRecord(const QString &modelPath) const;
    // A copy of the archive `from` whose data.pkl underflows the unpickler's stack (pytorch issue 77573), written
    // with Python's zipfile as a hostile user would (valid zip, valid CRCs).
    static bool writeUnderflowingCopy(const QString &from, const QString &to)
    {
        const QString script = QStringLiteral(R"(
import sys, zipfile
zin = zipfile.ZipFile(sys.argv[1]); zout = zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_STORED)
for info in zin.infolist():
    data = zin.read(info.filename)
    if info.filename.endswith('/data.pkl'): data = b'\x80\x02R.'
    zout.writestr(info.filename, data)
)");
        return QProcess::execute(QStringLiteral("/usr/bin/python3"), {QStringLiteral("-c"), script, from, to}) == 0;
    }
    QTemporaryDir cache_, files_;
};

void TestQuarantine::initTestCase()
{
    QVERIFY(cache_.isValid() && files_.isValid());
    qputenv("XDG_CACHE_HOME", cache_.path().toUtf8()); // a record of our own, not the user's
    qunsetenv("SPARSITY_MODELCHECK_CACHE");
    QVERIFY(modelQuarantine());
}

QString TestQuarantine::cacheRecord(const QString &modelPath) const
{
    QFile f(modelPath);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    const QByteArray sha = QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex();
    return cache_.path() + QStringLiteral("/sparsity-explorer/checked-models/") + QString::fromLatin1(sha);
}

void TestQuarantine::passedModelIsRecordedByContents()
{
    const QString model = testmodels::sampleModel("sample-resnet");
    const QString record = cacheRecord(model);
    QVERIFY(!QFileInfo::exists(record));
    const auto loaded = Model::load(model.toStdString());
    QVERIFY(!loaded->sites().empty());
    QVERIFY2(QFileInfo(record).isFile(), qPrintable(record)); // the pass is recorded under the contents' SHA-256
    // A copy of the same bytes elsewhere is the same contents: opened without a new check (and without error).
    const QString copy = files_.filePath(QStringLiteral("copy.pt"));
    QVERIFY(QFile::copy(model, copy));
    QCOMPARE(cacheRecord(copy), record);
    QVERIFY(!Model::load(copy.toStdString())->sites().empty());
}

void TestQuarantine::crashingArchiveIsRefusedInTheChild()
{
    const QString damaged = files_.filePath(QStringLiteral("underflow.pt"));
    QVERIFY(writeUnderflowingCopy(testmodels::sampleModel("sample-resnet"), damaged));
    try {
        Model::load(damaged.toStdString());
        QFAIL("a damaged archive was opened");
    } catch (const Error &e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(damaged), qPrintable(message)); // names the file
        QVERIFY2(message.contains(QStringLiteral("quarantined check")) || message.contains(QStringLiteral("pickle")) ||
                     message.contains(QStringLiteral("unpickl"), Qt::CaseInsensitive),
                 qPrintable(message));
    }
    QVERIFY(!QFileInfo::exists(cacheRecord(damaged))); // a refusal is never recorded
}

void TestQuarantine::changedContentsAreCheckedAgain()
{
    // Same path, other bytes: the record is per content, so the new bytes get a check (and a record) of their own.
    const QString path = files_.filePath(QStringLiteral("swapped.pt"));
    QVERIFY(QFile::copy(testmodels::sampleModel("sample-mobilenetv2"), path));
    const QString before = cacheRecord(path);
    QVERIFY(!Model::load(path.toStdString())->sites().empty());
    QVERIFY(QFileInfo(before).isFile());
    QVERIFY(QFile::remove(path));
    QVERIFY(QFile::copy(testmodels::sampleModel("sample-resnet"), path));
    const QString after = cacheRecord(path);
    QVERIFY(after != before);
    QVERIFY(!Model::load(path.toStdString())->sites().empty());
    QVERIFY(QFileInfo(after).isFile());
}

void TestQuarantine::weightsFilesAreCheckedToo()
{
    // A tuned-weights file is a LibTorch archive as well: it passes the same check (recorded per kind) ...
    const auto model = Model::load(testmodels::sampleModel("sample-resnet").toStdString());
    const QString weights = files_.filePath(QStringLiteral("tuned.weights.pt"));
    saveWeights(*model, weights.toStdString());
    loadWeights(*model, weights.toStdString());
    QVERIFY2(QFileInfo(cacheRecord(weights) + QStringLiteral(".archive")).isFile(), qPrintable(cacheRecord(weights)));
    QVERIFY(!QFileInfo::exists(cacheRecord(weights))); // not recorded as a model: it was not loaded as one

    // ... and one whose pickle crashes LibTorch ends the checker, not this process.
    const QString damaged = files_.filePath(QStringLiteral("underflow.weights.pt"));
    QVERIFY(writeUnderflowingCopy(weights, damaged));
    try {
        loadWeights(*model, damaged.toStdString());
        QFAIL("a damaged weights file was read");
    } catch (const Error &e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(damaged) && message.contains(QStringLiteral("quarantined check")), qPrintable(message));
    }
    QVERIFY(!QFileInfo::exists(cacheRecord(damaged) + QStringLiteral(".archive")));
}

void TestQuarantine::changedBytesFailTheirCrc()
{
    // One byte of tensor data changed: LibTorch would load other weights without a word; the zip check refuses it.
    QFile f(testmodels::sampleModel("sample-resnet"));
    QVERIFY(f.open(QIODevice::ReadOnly));
    QByteArray bytes = f.readAll();
    const qsizetype at = bytes.size() / 2; // inside the largest convolution's weights
    bytes[at] = char(bytes[at] ^ 0x40);
    const QString changed = files_.filePath(QStringLiteral("onebyte.pt"));
    QFile out(changed);
    QVERIFY(out.open(QIODevice::WriteOnly) && out.write(bytes) == bytes.size());
    out.close();
    try {
        Model::load(changed.toStdString());
        QFAIL("a model with a changed byte was opened");
    } catch (const Error &e) {
        const QString message = QString::fromUtf8(e.what());
        QVERIFY2(message.startsWith(changed) && message.contains(QStringLiteral("CRC-32")), qPrintable(message));
    }
}

QTEST_GUILESS_MAIN(TestQuarantine)
#include "tst_quarantine.moc"
