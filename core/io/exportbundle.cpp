#include "io/exportbundle.h"

#include "error.h"
#include "graph/model.h"
#include "graph/onnximport.h"
#include "io/report.h"

#include <QFileInfo>
#include <QJsonDocument>

namespace sparsity {

ExportPaths exportPaths(const QString &outPath, const std::vector<RolePath> &inputs)
{
    const QFileInfo outInfo(outPath);
    if (outInfo.suffix() != QLatin1String("pt") && outInfo.suffix() != QLatin1String("pth") &&
        outInfo.suffix() != QLatin1String("onnx"))
        throw Error(outPath.toStdString() +
                    ": the exported model must end in .pt or .onnx (OUT.json and OUT.csv go next to it)");
    const QString base = outInfo.absolutePath() + QLatin1Char('/') + outInfo.completeBaseName();
    const ExportPaths paths{outInfo.absoluteFilePath(), base + QStringLiteral(".json"), base + QStringLiteral(".csv")};
    checkOutputPaths({{paths.model.toStdString(), "exported model"},
                      {paths.report.toStdString(), "report"},
                      {paths.csv.toStdString(), "per-site CSV"}},
                     inputs);
    return paths;
}

ExportPaths writeExportBundle(const QString &outPath, Model &model, const ExportContent &content)
{
    std::vector<RolePath> inputs = content.inputs;
    inputs.push_back({model.path(), "model"});
    const ExportPaths paths = exportPaths(outPath, inputs); // again just before writing: the files may have changed
    const std::string metadata = report::exportMetadata(model, content.thresholds, content.channelThresholds,
                                                        content.recipe, content.measured, content.measuredOn);
    if (isOnnxPath(paths.model.toStdString()))
        exportThresholdedOnnx(model, paths.model.toStdString(), metadata);
    else
        model.exportThresholded(paths.model.toStdString(), metadata);
    QJsonObject r = content.report;
    r.insert(QStringLiteral("export"), QJsonObject{{QStringLiteral("model"), paths.model},
                                                   {QStringLiteral("report"), paths.report},
                                                   {QStringLiteral("csv"), paths.csv}});
    writeFileAtomically(paths.report.toStdString(), QJsonDocument(r).toJson(QJsonDocument::Indented).toStdString());
    writeFileAtomically(paths.csv.toStdString(), report::perSiteCsv(model, content.thresholds, content.measured).toStdString());
    return paths;
}

} // namespace sparsity
