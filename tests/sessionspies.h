#pragma once

// Test helpers that record what a Session announces, filtered the way a view filters it: ChangeEvents of one kind,
// JobReports of some job kinds. Like QSignalSpy, with wait().
#include "jobtracker.h"
#include "session.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QObject>
#include <QVector>

#include <initializer_list>

namespace sparsity {

namespace detail {
template <class List>
bool waitForMore(const List &list, int timeoutMs)
{
    const auto before = list.size();
    QElapsedTimer timer;
    timer.start();
    while (list.size() == before && timer.elapsed() < timeoutMs)
        QCoreApplication::processEvents(QEventLoop::AllEvents | QEventLoop::WaitForMoreEvents, 50);
    return list.size() > before;
}
} // namespace detail

class ChangeSpy {
public:
    ChangeSpy(Session *session, ChangeEvent::Kind kind)
    {
        connection_ = QObject::connect(session, &Session::changed, [this, kind](const ChangeEvent &e) {
            if (e.kind == kind)
                events.append(e);
        });
    }
    ~ChangeSpy() { QObject::disconnect(connection_); }
    ChangeSpy(const ChangeSpy &) = delete;
    ChangeSpy &operator=(const ChangeSpy &) = delete;
    int count() const { return int(events.size()); }
    bool wait(int timeoutMs = 5000) { return detail::waitForMore(events, timeoutMs); }
    QVector<ChangeEvent> events;

private:
    QMetaObject::Connection connection_;
};

class ReportSpy {
public:
    ReportSpy(JobTracker *jobs, std::initializer_list<JobKind> kinds) : kinds_(kinds)
    {
        connection_ = QObject::connect(jobs, &JobTracker::finished, [this](const JobReport &r) {
            if (kinds_.contains(r.kind))
                reports.append(r);
        });
    }
    ~ReportSpy() { QObject::disconnect(connection_); }
    ReportSpy(const ReportSpy &) = delete;
    ReportSpy &operator=(const ReportSpy &) = delete;
    int count() const { return int(reports.size()); }
    bool isEmpty() const { return reports.isEmpty(); }
    void clear() { reports.clear(); }
    const JobReport &last() const { return reports.constLast(); }
    bool wait(int timeoutMs = 5000) { return detail::waitForMore(reports, timeoutMs); }
    QVector<JobReport> reports;

private:
    QVector<JobKind> kinds_;
    QMetaObject::Connection connection_;
};

} // namespace sparsity
