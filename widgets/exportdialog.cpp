#include "exportdialog.h"

#include "session.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

namespace sparsity::ui {

ExportDialog::ExportDialog(Session *doc, QWidget *parent, std::function<std::vector<NamedPlot>()> plots)
    : QDialog(parent), doc_(doc), path_(new QLineEdit(this)), result_(new QLabel(this)),
      plotsBox_(new QCheckBox(tr("Also write every plot as PNG and PDF (OUT-histogram.png, …)"), this)),
      plots_(std::move(plots))
{
    setWindowTitle(tr("Export Tuned Model"));
    auto *intro = new QLabel(tr("Writes the current thresholds (and the fine-tuned weights after a training run) as a "
                                "standalone TorchScript (.pt) or ONNX (.onnx) model, with a JSON report and a per-site CSV next to it."),
                             this);
    intro->setWordWrap(true);
    auto *browse = new QPushButton(tr("Browse…"), this);
    auto *row = new QHBoxLayout;
    row->addWidget(path_, 1);
    row->addWidget(browse);
    result_->setWordWrap(true);
    result_->setTextInteractionFlags(Qt::TextBrowserInteraction);
    result_->setOpenExternalLinks(true);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    export_ = buttons->addButton(tr("Export"), QDialogButtonBox::ApplyRole);
    export_->setDefault(true);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(row);
    layout->addWidget(plotsBox_);
    layout->addWidget(result_);
    layout->addStretch(1);
    layout->addWidget(buttons);
    resize(640, 220);
    plotsBox_->setChecked(bool(plots_));
    plotsBox_->setVisible(bool(plots_));
    plotsBox_->setToolTip(tr("The plots of the main window as they are shown now (histogram, feature maps, overview, "
                             "hardware projection, and the training curves and method comparison when there are any)."));

    const QFileInfo input(doc_->project().modelPath);
    const QString dir = doc_->projectPath().isEmpty() ? QDir::homePath() : QFileInfo(doc_->projectPath()).absolutePath();
    path_->setText(dir + QLatin1Char('/') + input.completeBaseName() + QStringLiteral("-tuned.pt"));
    connect(browse, &QPushButton::clicked, this, &ExportDialog::browse);
    connect(export_, &QPushButton::clicked, this, [this] { exportNow(); });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
}

void ExportDialog::setPath(const QString &path) { path_->setText(path); }
QString ExportDialog::path() const { return path_->text().trimmed(); }
QString ExportDialog::resultText() const { return result_->text(); }

void ExportDialog::browse()
{
    const QString p = QFileDialog::getSaveFileName(this, tr("Export Tuned Model"), path(),
                                                   tr("TorchScript models (*.pt);;ONNX models (*.onnx)"));
    if (!p.isEmpty())
        setPath(p.endsWith(QLatin1String(".pt")) || p.endsWith(QLatin1String(".onnx")) ? p : p + QStringLiteral(".pt"));
}

bool ExportDialog::exportNow(QString *error)
{
    written_.clear();
    writtenPlots_.clear();
    const QString out = path();
    QString message;
    if (out.isEmpty())
        message = tr("Choose where to write the model.");
    else if (QFileInfo(out).absoluteFilePath() == QFileInfo(doc_->project().modelPath).absoluteFilePath())
        message = tr("%1 is the input model; choose another file name.").arg(QDir::toNativeSeparators(out));
    else {
        try {
            written_ = doc_->exportTunedModel(out);
            if (plots_ && plotsBox_->isChecked()) {
                const QFileInfo info(out);
                writtenPlots_ = writePlots(plots_(), info.absolutePath() + QLatin1Char('/') + info.completeBaseName());
                for (const WrittenPlot &p : writtenPlots_)
                    written_ << p.png << p.pdf;
            }
        } catch (const std::exception &e) {
            message = QString::fromStdString(e.what());
            if (!written_.isEmpty()) // the model and report went out before a plot failed: say so
                message += tr(" (already written: %1)").arg(written_.join(QStringLiteral(", ")));
        }
    }
    if (!message.isEmpty()) {
        result_->setText(tr("<b>Not exported:</b> %1").arg(message.toHtmlEscaped()));
        if (error)
            *error = message;
        return false;
    }
    QString list;
    for (const QString &f : written_)
        list += QStringLiteral("<li><a href=\"%1\">%2</a></li>")
                    .arg(QUrl::fromLocalFile(f).toString().toHtmlEscaped(), QDir::toNativeSeparators(f).toHtmlEscaped());
    result_->setText(tr("Written:<ul>%1</ul>Folder: <a href=\"%2\">%3</a>")
                         .arg(list, QUrl::fromLocalFile(QFileInfo(out).absolutePath()).toString().toHtmlEscaped(),
                              QDir::toNativeSeparators(QFileInfo(out).absolutePath()).toHtmlEscaped()));
    return true;
}

} // namespace sparsity::ui
