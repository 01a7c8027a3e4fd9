#pragma once

// The commands of sparsity-cli, each a thin call into core/: docs/cli.md describes them.
#include "options.h"
#include "progress.h"

namespace sparsity::cli {

int cmdInspect(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress);
int cmdAnalyze(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress);
int cmdSearch(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress);
int cmdSweep(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress);
int cmdProject(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress);
int cmdTrain(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress);
int cmdCompare(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress);
int cmdExport(const QCommandLineParser &p, const Options &o, const Command &c, Progress &progress);

} // namespace sparsity::cli
