#pragma once

#include "jobs.h"

#include <QObject>
#include <QString>
#include <QThreadPool>

#include <functional>
#include <memory>

namespace sparsity {

// How a job ended, for the status bar and the panels.
struct JobReport {
    enum class Outcome { Done, Cancelled, Failed };
    int id = 0;
    JobKind kind = JobKind::Current;
    Outcome outcome = Outcome::Done;
    QString summary; // for the user: what came out, or why it stopped (empty for captures)
    QString error;   // Failed: the message of the exception

    bool cancelled() const { return outcome == Outcome::Cancelled; }
};

// "Latest result wins" in one place (as KDAB hotspot's JobTracker): every job gets an id and a slot (its kind; a
// comparison shares the training slot, as both run on the training worker). Starting a job cancels the previous job
// of its slot, whose results are then dropped. Workers report through post(), which runs on the tracker's thread and
// only while the job is still the latest.
class JobTracker : public QObject {
    Q_OBJECT
public:
    using Handle = std::shared_ptr<JobControl>;

    explicit JobTracker(QObject *parent = nullptr);

    // Registers a new job of `kind` and announces it (started). The previous job of its slot is cancelled.
    Handle begin(JobKind kind, const QString &description);
    Handle latest(JobKind kind) const;
    bool isLatest(const Handle &job) const;
    // Runs `work` on `pool` (skipped when cancelled before it started) and then, on the tracker's thread,
    // `done(result, error)`: error is the message of an exception `work` threw. `done` always runs, also for a
    // stale job; call end() in it.
    template <class Result>
    void run(QThreadPool &pool, const Handle &job, std::function<std::shared_ptr<Result>()> work,
             std::function<void(std::shared_ptr<Result>, QString)> done);
    // From any thread: `f` runs on the tracker's thread while `job` is still the latest of its slot.
    void post(const Handle &job, std::function<void()> f);
    void postProgress(const Handle &job, qint64 done, qint64 total, double etaSeconds);
    // On the tracker's thread when a worker returned: true when the job was still the latest (its result applies;
    // the slot is freed), false when it was superseded or cancelled.
    bool end(const Handle &job);
    // Announces how a job ended (finished).
    void report(const JobReport &report);

    // Cancels the slot's job and forgets it: whatever it delivers now is stale.
    void cancel(JobKind kind);
    void cancelAll();
    // Asks the job of `kind`'s slot to stop within one step; its result still arrives (cancelled).
    void requestStop(JobKind kind);
    void setPaused(JobKind kind, bool paused);
    bool isPaused(JobKind kind) const;

    bool isBusy() const { return pending_ > 0; }
    int pending() const { return pending_; }

Q_SIGNALS:
    void started(sparsity::JobKind kind, const QString &description);
    void progress(qint64 done, qint64 total, double etaSeconds);
    void finished(const sparsity::JobReport &report);
    void pausedChanged(bool paused);

private:
    static int slotOf(JobKind kind);
    void deliver(std::function<void()> f); // queued onto the tracker's thread

    Handle latest_[4];
    int nextId_ = 0;
    int pending_ = 0;
};

template <class Result>
void JobTracker::run(QThreadPool &pool, const Handle &job, std::function<std::shared_ptr<Result>()> work,
                     std::function<void(std::shared_ptr<Result>, QString)> done)
{
    pool.start([this, job, work = std::move(work), done = std::move(done)] {
        std::shared_ptr<Result> result;
        QString error;
        if (!job->cancel) {
            try {
                result = work();
            } catch (const std::exception &e) {
                error = QString::fromStdString(e.what());
            }
        }
        deliver([done, result, error] { done(result, error); });
    });
}

} // namespace sparsity

Q_DECLARE_METATYPE(sparsity::JobKind)
Q_DECLARE_METATYPE(sparsity::JobReport)
