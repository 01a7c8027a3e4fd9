#pragma once
// tst_hostile: the malformed-input suite. Generators live in tst_hostile.cpp (IDX, CIFAR) and
// tst_hostile_more.cpp (folders, projects, models, settings files, output paths).

#include "hostilecases.h"

#include <QObject>
#include <QTemporaryDir>

#include <vector>

class TestHostile : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;
    QString model_, data_, thresholds_;
    std::vector<hostile::Case> cases_;
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
