#pragma once
// Test models exported the way PyTorch users export them, written once per test run by
// tests/fixtures/make_test_models.py with Debian's python3-torch (and torchvision when installed).

#include <QDir>
#include <QProcess>
#include <QString>
#include <QTemporaryDir>

namespace testmodels {

inline QString sampleModel(const char *name)
{
    return QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/models/") + QString::fromUtf8(name) + QStringLiteral(".pt");
}

inline QString sampleData()
{
    return QStringLiteral(SPARSITY_SAMPLEDATA_DIR "/fashion-mnist");
}

inline bool pythonTorchAvailable()
{
    return QProcess::execute(QStringLiteral("/usr/bin/python3"), {QStringLiteral("-c"), QStringLiteral("import torch")}) == 0;
}

inline bool torchvisionAvailable()
{
    return QProcess::execute(QStringLiteral("/usr/bin/python3"), {QStringLiteral("-c"), QStringLiteral("import torchvision")}) == 0;
}

// Exports the fixture models into `dir`; returns an error text or an empty string.
inline QString exportModels(const QString &dir, bool withTorchvision)
{
    QProcess p;
    QStringList args{QStringLiteral(SPARSITY_TESTS_DIR "/fixtures/make_test_models.py"), dir};
    if (withTorchvision)
        args << QStringLiteral("--torchvision");
    p.start(QStringLiteral("/usr/bin/python3"), args);
    if (!p.waitForFinished(300000) || p.exitCode() != 0)
        return QString::fromUtf8(p.readAllStandardError());
    return {};
}

} // namespace testmodels
