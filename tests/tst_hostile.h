#pragma once
// tst_hostile: the malformed-input suite. Generators live in tst_hostile.cpp (IDX, CIFAR) and
// tst_hostile_more.cpp (folders, projects, models, settings files, output paths).

#include "hostilecases.h"

#include <QObject>
#include <QTemporaryDir>

#include <optional>
#include <vector>

class TestHostile : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;
    QString model_, data_, thresholds_;
    std::vector<hostile::Case> cases_;
    // What a case did, recorded when it ran (two at a time), asserted in its own data row.
    struct Outcome {
        bool started = false, finished = false, crashed = false;
        int exitCode = -1;
        QString err;
        QStringList watched;               // the case's inputs, the model, the thresholds file, the dataset's files
        QList<QByteArray> before, after;   // their checksums
    };
    std::vector<std::optional<Outcome>> outcomes_;
    static constexpr int kCaseTimeoutMs = 60000;
    Outcome run(const hostile::Case &c) const;
    QStringList modelSites_;

    QString path(const QString &relative) const { return tmp_.filePath(relative); }
    void add(hostile::Case c) { cases_.push_back(std::move(c)); }

    // ---- Generators, one per format ----
    void idxCases();
    void cifarCases();
    void folderCases();
    void projectCases();
    void modelCases();
    void settingsCases();
    void outputCases();

private Q_SLOTS:
    void initTestCase();
    void malformed_data();
    void malformed();
    void enoughCases();
};
