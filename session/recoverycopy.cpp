#include "recoverycopy.h"

#include "io/outputpaths.h"
#include "session.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTimer>

namespace sparsity {

namespace {

constexpr int kDelayMs = 1000;
const char *kProjectName = "unsaved.sparsity.json";
const char *kOriginName = "unsaved.origin"; // one line: the project file the changes belong to, or nothing

} // namespace

RecoveryCopy::RecoveryCopy(Session *session, const QString &dir, QObject *parent)
    : QObject(parent), session_(session), dir_(dir), timer_(new QTimer(this))
{
    timer_->setSingleShot(true);
    timer_->setInterval(kDelayMs);
    connect(timer_, &QTimer::timeout, this, &RecoveryCopy::writeNow);
    connect(session_, &Session::changed, this, [this](const ChangeEvent &e) {
        switch (e.kind) {
        case ChangeEvent::Kind::Model:
        case ChangeEvent::Kind::Thresholds:
        case ChangeEvent::Kind::SiteValue:
        case ChangeEvent::Kind::KeptImages:
        case ChangeEvent::Kind::Presets:
        case ChangeEvent::Kind::Modified:
        case ChangeEvent::Kind::ProjectPath: schedule(); break;
        default: break; // captures, projections and the selection are not part of the project
        }
    });
}

QString RecoveryCopy::defaultDir()
{
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/recovery");
}

QString RecoveryCopy::projectFile() const
{
    return dir_ + QLatin1Char('/') + QLatin1String(kProjectName);
}

void RecoveryCopy::schedule()
{
    if (session_->isModified())
        timer_->start();
    else {
        timer_->stop();
        discard(); // saved, or back to the saved state
    }
}

void RecoveryCopy::writeNow()
{
    timer_->stop();
    if (!session_->isModified() || !session_->hasModel())
        return discard();
    try {
        QDir().mkpath(dir_);
        saveProject(session_->projectToSave(), projectFile());
        writeFileAtomically(QString(dir_ + QLatin1Char('/') + QLatin1String(kOriginName)).toStdString(),
                            session_->projectPath().toStdString());
    } catch (const std::exception &) {
        // A recovery copy that cannot be written must not disturb the work it protects; the next change tries again.
    }
}

void RecoveryCopy::discard()
{
    QFile::remove(projectFile());
    QFile::remove(dir_ + QLatin1Char('/') + QLatin1String(kOriginName));
}

std::optional<RecoveryCopy::Found> RecoveryCopy::find(const QString &dir)
{
    const QString file = dir + QLatin1Char('/') + QLatin1String(kProjectName);
    if (!QFileInfo::exists(file))
        return std::nullopt;
    Found found;
    found.written = QFileInfo(file).lastModified();
    QFile origin(dir + QLatin1Char('/') + QLatin1String(kOriginName));
    if (origin.open(QIODevice::ReadOnly))
        found.projectPath = QString::fromUtf8(origin.read(64 * 1024)).trimmed();
    try {
        found.project = loadProject(file);
    } catch (const std::exception &e) {
        found.error = QString::fromUtf8(e.what());
    }
    return found;
}

} // namespace sparsity
