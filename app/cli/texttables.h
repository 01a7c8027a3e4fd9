#pragma once

// sparsity-cli's human-readable output: aligned text tables, number formatting and the per-command tables. The JSON
// reports both programs write are in core/io/report.h.
#include "io/report.h"
#include "tune/sweep.h"

#include <QString>
#include <QStringList>

#include <cstdint>
#include <vector>

namespace sparsity {

class Model;
struct CaptureResult;
struct SearchResult;
struct MethodComparison;
struct TrainingResult;
struct EpochReport;

namespace text {

// A table with a header row, columns padded to their widest cell, two spaces between columns, numbers right-aligned.
class TextTable {
public:
    enum class Align { Left, Right };
    void addColumn(const QString &header, Align align = Align::Right);
    void addColumns(const QStringList &headers, Align align = Align::Right);
    void addRow(const QStringList &cells); // fewer cells than columns are padded with empty cells
    void addSeparator();                   // a dashed line at this position
    int rowCount() const { return int(rows_.size()); }
    QString render() const;

private:
    struct Column {
        QString header;
        Align align;
    };
    std::vector<Column> columns_;
    std::vector<QStringList> rows_; // an empty list is a separator
};

// Number formatting shared by tables: fixed decimals, "-" for NaN; SI prefixes (k, M, G) for big counts;
// engineering units for seconds and joules (e.g. "1.25 ms", "3.4 uJ"); percent of a fraction ("93.1 %").
QString fixed(double value, int decimals);
QString count(double value);
QString seconds(double value);
QString joules(double value);
QString watts(double value);
QString percent(double fraction, int decimals = 1);
QString ratio(double value); // "2.31x"
QString shape(const std::vector<std::int64_t> &dims);

// One progress line: "label [#####.....]  45 %  12.3 s" (bar drawn when width > 0).
QString progressLine(const QString &label, double fraction, double elapsedSeconds, int barWidth);

// ---- The tables of the commands ----

QString inspectText(const Model &model);
QString evaluationText(const Model &model, const CaptureResult &capture, const QString &title);
QString siteStatsText(const Model &model, const CaptureResult &capture, const std::vector<float> &thresholds);
QString projectionText(const report::Projection &projection);
QString trainingText(const Model &model, const TrainingResult &result, const std::vector<EpochReport> &epochs);
QString methodComparisonText(const MethodComparison &comparison, bool perSite);
QString sweepText(const SweepResult &result, const QString &processor, const QString &title);
QString searchText(const Model &model, const SearchResult &result, const std::vector<float> &before);

} // namespace text
} // namespace sparsity
