#include "io/exportbundle.h"

#include "error.h"
#include "graph/model.h"
#include "io/report.h"

#include <QFileInfo>
#include <QJsonDocument>

namespace sparsity {

ExportPaths exportPaths(const QString &outPath, const QString &inputModelPath)
{
    const QFileInfo outInfo(outPath);
    if (outInfo.suffix() != QLatin1String("pt") && outInfo.suffix() != QLatin1String("pth"))
        throw Error(outPath.toStdString() + ": the exported model must end in .pt (OUT.json and OUT.csv go next to it)");
    const QString base = outInfo.absolutePath() + QLatin1Char('/') + outInfo.completeBaseName();
    const ExportPaths paths{outInfo.absoluteFilePath(), base + QStringLiteral(".json"), base + QStringLiteral(".csv")};
    const QString input = QFileInfo(inputModelPath).absoluteFilePath();
    for (const QString &target : {paths.model, paths.report, paths.csv})
        if (target == input)
            throw Error(target.toStdString() + ": refusing to overwrite the input model; choose another file name");
    return paths;
}

ExportPaths writeExportBundle(const QString &outPath, Model &model, const ExportContent &content)
{
    const ExportPaths paths = exportPaths(outPath, QString::fromStdString(model.path()));
    model.exportThresholded(paths.model.toStdString(),
                            report::exportMetadata(model, content.thresholds, content.channelThresholds, content.recipe,
                                                   content.measured, content.measuredOn));
    QJsonObject r = content.report;
    r.insert(QStringLiteral("export"), QJsonObject{{QStringLiteral("model"), paths.model},
                                                   {QStringLiteral("report"), paths.report},
                                                   {QStringLiteral("csv"), paths.csv}});
    report::writeFileAtomically(paths.report, QJsonDocument(r).toJson(QJsonDocument::Indented));
    report::writeFileAtomically(paths.csv, report::perSiteCsv(model, content.thresholds, content.measured).toUtf8());
    return paths;
}

} // namespace sparsity
