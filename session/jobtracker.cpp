#include "jobtracker.h"

#include <QMetaObject>

namespace sparsity {

JobTracker::JobTracker(QObject *parent) : QObject(parent) {}

int JobTracker::slotOf(JobKind kind)
{
    switch (kind) {
    case JobKind::Baseline: return 0;
    case JobKind::Current: return 1;
    case JobKind::Search:
    case JobKind::Sweep: return 2; // a sweep is a series of searches on the same worker
    case JobKind::Training:
    case JobKind::Comparison: return 3; // one training worker: a comparison is a series of training runs
    }
    return 1;
}

JobTracker::Handle JobTracker::begin(JobKind kind, const QString &description)
{
    auto job = std::make_shared<JobControl>();
    job->id = ++nextId_;
    job->kind = kind;
    Handle &slot = latest_[slotOf(kind)];
    if (slot)
        slot->cancel = true; // latest wins: the superseded job stops at its next batch
    slot = job;
    ++pending_;
    Q_EMIT started(kind, description);
    return job;
}

JobTracker::Handle JobTracker::latest(JobKind kind) const { return latest_[slotOf(kind)]; }

bool JobTracker::isLatest(const Handle &job) const { return job && latest_[slotOf(job->kind)] == job; }

void JobTracker::deliver(std::function<void()> f)
{
    QMetaObject::invokeMethod(this, std::move(f), Qt::QueuedConnection);
}

void JobTracker::post(const Handle &job, std::function<void()> f)
{
    deliver([this, job, f = std::move(f)] {
        if (isLatest(job))
            f();
    });
}

void JobTracker::postProgress(const Handle &job, qint64 done, qint64 total, double etaSeconds)
{
    post(job, [this, done, total, etaSeconds] { Q_EMIT progress(done, total, etaSeconds); });
}

bool JobTracker::end(const Handle &job)
{
    --pending_;
    if (!isLatest(job))
        return false;
    latest_[slotOf(job->kind)].reset();
    return true;
}

void JobTracker::report(const JobReport &r) { Q_EMIT finished(r); }

void JobTracker::cancel(JobKind kind)
{
    Handle &slot = latest_[slotOf(kind)];
    if (slot)
        slot->cancel = true;
    slot.reset();
}

void JobTracker::cancelAll()
{
    for (Handle &job : latest_) {
        if (job)
            job->cancel = true;
        job.reset(); // whatever it delivers now is stale
    }
}

void JobTracker::requestStop(JobKind kind)
{
    if (const Handle &job = latest_[slotOf(kind)])
        job->cancel = true;
}

void JobTracker::setPaused(JobKind kind, bool paused)
{
    const Handle &job = latest_[slotOf(kind)];
    if (!job || job->pause == paused)
        return;
    job->pause = paused;
    Q_EMIT pausedChanged(paused);
}

bool JobTracker::isPaused(JobKind kind) const
{
    const Handle &job = latest_[slotOf(kind)];
    return job && job->pause;
}

} // namespace sparsity
