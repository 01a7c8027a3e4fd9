#pragma once
// Test models exported the way PyTorch users export them, written once per test run by
// tests/fixtures/make_test_models.py with Debian's python3-torch (and torchvision when installed).

#include "data/dataset.h"
#include "error.h"

#include <QDir>
#include <QProcess>
#include <QString>
#include <QTemporaryDir>

#include <string>

namespace testmodels {

// The message of the sparsity::Error that `f` throws, empty when it throws none.
template <typename F>
QString errorOf(F f)
{
    try {
        f();
    } catch (const sparsity::Error &e) {
        return QString::fromUtf8(e.what());
    }
    return {};
}

// How many times `what` occurs in `text` (ops in a graph's text).
inline std::size_t occurrences(const std::string &text, const std::string &what)
{
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

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

// A batch of deterministic pseudo-random images for models without a dataset of their own.
inline sparsity::Batch syntheticBatch(int n, int c, int h, int w, unsigned seed)
{
    sparsity::Batch b;
    b.n = n;
    b.c = c;
    b.h = h;
    b.w = w;
    b.data.resize(std::size_t(n * c * h * w));
    unsigned state = seed;
    for (auto &v : b.data) {
        state = state * 1664525u + 1013904223u;
        v = float(state >> 8) / float(1u << 24) * 2.0f - 1.0f;
    }
    for (int i = 0; i < n; ++i) {
        b.indices.push_back(std::size_t(i));
        b.labels.push_back(-1); // unlabelled: these models have no classes
    }
    return b;
}

} // namespace testmodels
