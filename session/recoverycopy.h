#pragma once

#include "io/project.h"

#include <QDateTime>
#include <QObject>
#include <QString>

#include <optional>

class QTimer;

namespace sparsity {

class Session;

// The explorer's recovery copy (issue #21): while the session has unsaved changes, the project as it would be
// saved is written (atomically, a second after the last change) to `dir`; it is removed when the project is saved,
// closed or replaced without changes. A copy still there at the next start means the program did not close
// normally, and the main window offers it. It holds what a project file holds — model and dataset paths, subset,
// preprocessing, thresholds, scope, bands, recipe, preset — not a fine-tuned model's weights (their checkpoints stay
// in the checkpoint folder). One copy per user: a second explorer running at once shares it.
class RecoveryCopy : public QObject {
    Q_OBJECT
public:
    RecoveryCopy(Session *session, const QString &dir, QObject *parent = nullptr);
    // The default folder: the application's data folder (QStandardPaths::AppDataLocation) + "/recovery".
    static QString defaultDir();

    struct Found {
        Project project;
        QString projectPath; // the file the unsaved changes belong to; empty for a project never saved
        QDateTime written;
        QString error;       // the copy exists but cannot be read (then `project` is empty)
    };
    // The copy a previous run left in `dir`, if any.
    static std::optional<Found> find(const QString &dir);

    QString dir() const { return dir_; }
    QString projectFile() const;
    void writeNow();  // what the timer does; tests call it to skip the wait
    void discard();   // removes the copy (a clean close)

private:
    void schedule();

    Session *session_;
    QString dir_;
    QTimer *timer_;
};

} // namespace sparsity
