// The session library driven headless: no widget, no QApplication (QTEST_GUILESS_MAIN). Opens the sample project,
// runs its captures, edits with undo/redo, follows the change events and the job reports, exports.
#include "error.h"
#include "graph/model.h"
#include "graph/site.h"
#include "io/exportbundle.h"
#include "io/project.h"
#include "io/workspace.h"
#include "tune/recipe.h"
#include "jobs.h"
#include "jobtracker.h"
#include "session.h"
#include "recoverycopy.h"
#include "sessionspies.h"
#include "testmodels.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QUndoStack>

#include <cmath>
#include <memory>

using namespace sparsity;

class TestSession : public QObject {
    Q_OBJECT

    std::unique_ptr<Session> session_;

    int tunableSite(int n) const
    {
        for (int s = 0; s < session_->siteCount(); ++s)
            if (session_->sites()[std::size_t(s)].sparsifiable && session_->siteExecuted(s) && n-- == 0)
                return s;
        return -1;
    }

private Q_SLOTS:
    // ---- The job tracker alone: ids, latest wins, stale results dropped, pending count ----
    void trackerLatestWins()
    {
        JobTracker jobs;
        QSignalSpy started(&jobs, &JobTracker::started);
        auto first = jobs.begin(JobKind::Current, QStringLiteral("one"));
        auto second = jobs.begin(JobKind::Current, QStringLiteral("two"));
        auto baseline = jobs.begin(JobKind::Baseline, QStringLiteral("three"));
        QCOMPARE(started.count(), 3);
        QVERIFY(first->id != second->id);
        QVERIFY(first->cancel);   // superseded
        QVERIFY(!second->cancel); // another slot is not touched
        QVERIFY(!baseline->cancel);
        QVERIFY(!jobs.isLatest(first));
        QVERIFY(jobs.isLatest(second));
        QCOMPARE(jobs.pending(), 3);

        // Posted work of a stale job never runs; of the latest it does, on the tracker's thread.
        int ran = 0;
        jobs.post(first, [&ran] { ran += 1; });
        jobs.post(second, [&ran] { ran += 10; });
        QTRY_COMPARE(ran, 10);

        QVERIFY(!jobs.end(first)); // its result is stale
        QVERIFY(jobs.end(second));
        QVERIFY(!jobs.latest(JobKind::Current));
        QVERIFY(jobs.isBusy());
        jobs.cancelAll();
        QVERIFY(baseline->cancel);
        QVERIFY(!jobs.end(baseline)); // cancelled: stale as well
        QVERIFY(!jobs.isBusy());
    }

    void trackerComparisonSharesTheTrainingSlot()
    {
        JobTracker jobs;
        auto training = jobs.begin(JobKind::Training, QStringLiteral("train"));
        QSignalSpy paused(&jobs, &JobTracker::pausedChanged);
        jobs.setPaused(JobKind::Training, true);
        QVERIFY(training->pause);
        QCOMPARE(paused.count(), 1);
        auto comparison = jobs.begin(JobKind::Comparison, QStringLiteral("compare"));
        QVERIFY(training->cancel);
        QCOMPARE(jobs.latest(JobKind::Training), comparison);
        QVERIFY(!jobs.isPaused(JobKind::Comparison));
        jobs.requestStop(JobKind::Comparison);
        QVERIFY(comparison->cancel);
        QVERIFY(jobs.isLatest(comparison)); // asked to stop, but its (cancelled) result still applies
    }

    // ---- The workspace both programs open ----
    void workspaceOpensTheSampleProject()
    {
        Project p = sampleProject();
        p.subset = SubsetSpec{SubsetSpec::Mode::Stratified, 100, 3};
        const Workspace cli = openWorkspace(p);
        QVERIFY(cli.model && cli.dataset);
        QVERIFY(!cli.tuned);
        QCOMPARE(cli.indices.size(), std::size_t(100));
        QCOMPARE(cli.info.subsetMode, std::string("stratified"));
        QCOMPARE(cli.info.split, std::string("test"));
        QCOMPARE(cli.info.size, cli.dataset->size());
        WorkspaceOverrides explorer;
        explorer.explorer = true;
        const Workspace gui = openWorkspace(p, explorer);
        QVERIFY(gui.indices == cli.indices); // the same images in both programs
        const std::vector<std::int64_t> chw{gui.preprocessing.channels, gui.preprocessing.height, gui.preprocessing.width};
        QVERIFY(gui.model->inputShape() == chw);

        p.subset.count = 0; // the whole split
        WorkspaceOverrides modelOnly;
        modelOnly.openData = false;
        const Workspace bare = openWorkspace(p, modelOnly);
        QVERIFY(bare.model && !bare.dataset && bare.indices.empty());
        QCOMPARE(openWorkspace(p).indices.size(), cli.dataset->size());

        p.modelPath = QStringLiteral("/nonexistent/model.pt");
        try {
            openWorkspace(p);
            QFAIL("a missing model must throw");
        } catch (const Error &e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("/nonexistent/model.pt")), e.what());
        }
    }

    // ---- The session, headless ----
    void opensAndCapturesTheBaseline()
    {
        QStandardPaths::setTestModeEnabled(true);
        session_ = std::make_unique<Session>();
        ChangeSpy model(session_.get(), ChangeEvent::Kind::Model);
        ChangeSpy baseline(session_.get(), ChangeEvent::Kind::Baseline);
        QSignalSpy started(session_->jobs(), &JobTracker::started);
        ReportSpy reports(session_->jobs(), {JobKind::Baseline});
        Project p = sampleProject();
        p.subset.count = 256;
        session_->openProject(p, QString());
        QCOMPARE(model.count(), 1);
        QVERIFY(session_->isBusy()); // the baseline capture started by itself
        QCOMPARE(started.count(), 1);
        QCOMPARE(started[0][0].value<JobKind>(), JobKind::Baseline);
        session_->waitForIdle();
        QCOMPARE(baseline.count(), 1);
        QCOMPARE(reports.count(), 1);
        QCOMPARE(reports.last().outcome, JobReport::Outcome::Done);
        QVERIFY(session_->baseline());
        QCOMPARE(session_->baseline()->result.images, 256);
        QVERIFY(session_->currentIsExact()); // no thresholds yet: the current capture is the baseline
        QVERIFY(session_->hasProjection());
        QVERIFY(!session_->isModified());
    }

    void thresholdEditWithUndoRedo()
    {
        const int s = tunableSite(0);
        QVERIFY(s >= 0);
        ChangeSpy thresholds(session_.get(), ChangeEvent::Kind::Thresholds);
        ChangeSpy values(session_.get(), ChangeEvent::Kind::SiteValue);
        ChangeSpy modified(session_.get(), ChangeEvent::Kind::Modified);
        ChangeSpy current(session_.get(), ChangeEvent::Kind::Current);
        session_->pushSiteValue(SiteField::Threshold, s, 0.3);
        QCOMPARE(thresholds.count(), 1);
        QCOMPARE(thresholds.events[0].sites, QVector<int>{s});
        QCOMPARE(values.count(), 1);
        QCOMPARE(values.events[0].field, SiteField::Threshold);
        QCOMPARE(values.events[0].site(), s);
        QCOMPARE(modified.count(), 1);
        QVERIFY(session_->isModified());
        QCOMPARE(session_->siteValue(SiteField::Threshold, s), double(0.3f));
        QVERIFY(!session_->currentIsExact()); // until the re-evaluation arrives: an estimate
        bool estimate = false;
        QVERIFY(session_->currentSparsity(s, &estimate) > session_->baselineSparsity(s));
        QVERIFY(estimate);

        // The re-evaluation runs by itself and measures what the estimate predicted.
        session_->waitForIdle();
        QVERIFY(current.count() >= 1);
        QVERIFY(session_->currentIsExact());
        const double measured = session_->currentSparsity(s, &estimate);
        QVERIFY(!estimate);
        QVERIFY(measured > session_->baselineSparsity(s));

        session_->undoStack()->undo();
        QCOMPARE(session_->siteValue(SiteField::Threshold, s), 0.0);
        QCOMPARE(thresholds.count(), 2);
        QVERIFY(!session_->isModified());
        session_->waitForIdle();
        QCOMPARE(session_->currentSparsity(s), session_->baselineSparsity(s));
        session_->undoStack()->redo();
        QCOMPARE(session_->siteValue(SiteField::Threshold, s), double(0.3f));
        session_->waitForIdle();
        QVERIFY(session_->currentIsExact());
        QVERIFY(std::abs(session_->currentSparsity(s) - measured) < 1e-6); // the same capture again

        // One threshold for a site that cannot be tuned stays zero: validated in the session, not in the view.
        for (int o = 0; o < session_->siteCount(); ++o)
            if (!session_->sites()[std::size_t(o)].sparsifiable) {
                session_->setSiteValue(SiteField::Threshold, o, 0.5);
                QCOMPARE(session_->siteValue(SiteField::Threshold, o), 0.0);
                break;
            }
        session_->waitForIdle();
    }

    void reevaluationShowsASliceFirstThenTheCachedWhole()
    {
        // Every re-evaluation here is "slow": a slice comes first, then the whole subset from the evaluation cache.
        session_->setSliceAfterSeconds(0.0);
        const int deep = [&] {
            int last = -1;
            for (int n = 0; tunableSite(n) >= 0; ++n)
                last = tunableSite(n);
            return last;
        }();
        QVERIFY(deep >= 0);
        const int undoIndex = session_->undoStack()->index();
        std::vector<std::shared_ptr<const Snapshot>> shown;
        const auto connection = connect(session_.get(), &Session::changed, [&](const ChangeEvent &e) {
            if (e.kind == ChangeEvent::Kind::Current && session_->current())
                shown.push_back(session_->current());
        });
        for (double t : {0.2, 0.6}) { // the second change starts from the cache's cut point before `deep`
            shown.clear();
            session_->pushSiteValue(SiteField::Threshold, deep, t);
            session_->waitForIdle();
            QCOMPARE(shown.size(), std::size_t(2));
            const auto &slice = shown.front()->result, &whole = shown.back()->result;
            QCOMPARE(shown.front()->sliceOf, std::size_t(256));
            QVERIFY2(slice.images >= std::int64_t(Session::kSliceMinImages) && slice.images < 256,
                     qPrintable(QString::number(slice.images)));
            QCOMPARE(shown.back()->sliceOf, std::size_t(0));
            QCOMPARE(whole.images, std::int64_t(256));
            QVERIFY(session_->currentIsExact());
            // Class proportions of the slice follow the subset's (Fashion-MNIST's first 256: every class present).
            int classes = 0;
            for (auto n : slice.classTotal)
                classes += n > 0 ? 1 : 0;
            QCOMPARE(classes, 10);
            // The whole equals a fresh evaluation on the inference copy, bit for bit.
            CaptureOptions options;
            options.inferenceCopy = true;
            options.thresholds = Thresholds{session_->thresholds(), session_->channelThresholds()};
            const CaptureResult fresh = capture(*session_->currentModel(), *session_->dataset(), session_->preprocessing(),
                                                session_->indices(), options);
            QCOMPARE(whole.top1Correct, fresh.top1Correct);
            for (std::size_t i = 0; i < fresh.sites.size(); ++i) {
                QCOMPARE(whole.sites[i].zeros, fresh.sites[i].zeros);
                QCOMPARE(whole.sites[i].elements, fresh.sites[i].elements);
            }
            // The heatmap's images keep their maps in both results, also at sites before the cut point.
            for (const auto &snap : shown) {
                QCOMPARE(snap->result.kept.size(), session_->keptIndices().size());
                for (const KeptImage &k : snap->result.kept)
                    QVERIFY(!k.siteMaps[std::size_t(tunableSite(0))].empty() && !k.siteMaps[std::size_t(deep)].empty());
            }
        }
        disconnect(connection);
        session_->setSliceAfterSeconds(0.5);
        // Back to the baseline's thresholds: its capture is the current one again, without a job.
        ReportSpy reports(session_->jobs(), {JobKind::Current});
        session_->undoStack()->setIndex(0);
        session_->waitForIdle();
        QCOMPARE(session_->current(), session_->baseline());
        QCOMPARE(reports.count(), 0); // no capture ran for it
        session_->undoStack()->setIndex(undoIndex);
        session_->waitForIdle();
        QVERIFY(session_->currentIsExact());
    }

    void selectionIsAnEvent()
    {
        ChangeSpy selected(session_.get(), ChangeEvent::Kind::SelectedSite);
        const int s = tunableSite(1);
        session_->setSelectedSite(s);
        session_->setSelectedSite(s); // unchanged: no event
        QCOMPARE(selected.count(), 1);
        QCOMPARE(selected.events[0].site(), s);
    }

    void cancelledCaptureLeavesNoTrace()
    {
        const auto before = session_->baseline();
        ReportSpy reports(session_->jobs(), {JobKind::Baseline, JobKind::Current});
        ChangeSpy baseline(session_.get(), ChangeEvent::Kind::Baseline);
        QSignalSpy started(session_->jobs(), &JobTracker::started);
        session_->startBaselineCapture();
        QCOMPARE(started.count(), 1);
        QVERIFY(session_->isBusy());
        session_->cancelJobs();
        session_->waitForIdle();
        QVERIFY(!session_->isBusy());
        QCOMPARE(reports.count(), 1);
        QVERIFY(reports.last().cancelled());
        QCOMPARE(baseline.count(), 0);
        QCOMPARE(session_->baseline(), before);
    }

    void latestReevaluationWins()
    {
        const int s = tunableSite(2);
        session_->pushSiteValue(SiteField::Threshold, s, 0.05);
        session_->pushSiteValue(SiteField::Threshold, s, 0.4);
        session_->waitForIdle();
        QVERIFY(session_->currentIsExact());
        QCOMPARE(session_->current()->thresholds[std::size_t(s)], 0.4f);
    }

    void sweepPointIsOneUndoStep()
    {
        ChangeSpy sweep(session_.get(), ChangeEvent::Kind::Sweep);
        ReportSpy reports(session_->jobs(), {JobKind::Sweep});
        SweepOptions options;
        options.rule = SweepOptions::Rule::Quantile;
        options.values = {0.6, 0.8};
        session_->startSweep(options, 200);
        session_->waitForIdle();
        QCOMPARE(reports.count(), 1);
        QCOMPARE(reports.last().outcome, JobReport::Outcome::Done);
        QVERIFY(reports.last().summary.startsWith(QStringLiteral("Sweep: 2 points")));
        QCOMPARE(sweep.count(), 1);
        const auto result = session_->lastSweep();
        QVERIFY(result);
        QCOMPARE(result->points.size(), std::size_t(2));
        QCOMPARE(result->evaluationImages, std::size_t(256)); // the whole subset
        QCOMPARE(result->calibrationImages, std::size_t(200)); // from the training split
        QVERIFY(result->points[0].latencySeconds); // projected on the session's preset

        const std::vector<float> before = session_->thresholds();
        const int undoIndex = session_->undoStack()->index();
        session_->applySweepPoint(1);
        QCOMPARE(session_->undoStack()->index(), undoIndex + 1);
        QCOMPARE(session_->thresholds(), result->points[1].thresholds.scalar);
        session_->waitForIdle();
        // The current capture of the picked thresholds measures what the sweep measured (other batch sizes may
        // round a borderline image differently: one image of 256 is 0.39 pp).
        QVERIFY(session_->currentIsExact());
        QVERIFY(std::abs(session_->current()->result.score() - result->points[1].score) <= 0.4);
        session_->undoStack()->undo();
        QCOMPARE(session_->thresholds(), before);
        session_->applySweepPoint(7); // no such point: nothing happens
        QCOMPARE(session_->undoStack()->index(), undoIndex);
        session_->waitForIdle();
    }

    void stoppedSweepKeepsItsFinishedPoints()
    {
        ReportSpy reports(session_->jobs(), {JobKind::Sweep});
        SweepOptions options;
        options.values = {0.5, 1.0, 2.0}; // searches: seconds each
        options.search.stepsPerSite = 3;
        session_->startSweep(options, 100);
        QTRY_VERIFY_WITH_TIMEOUT(session_->jobs()->latest(JobKind::Sweep), 1000);
        session_->jobs()->requestStop(JobKind::Sweep);
        session_->waitForIdle();
        QCOMPARE(reports.count(), 1);
        QVERIFY(reports.last().cancelled());
        QVERIFY(!session_->lastSweep() || session_->lastSweep()->points.size() < 3);
        QVERIFY(testmodels::errorOf([&] { session_->startSweep(SweepOptions{SweepOptions::Rule::Quantile, {1.5}, {}}, 10); })
                    .contains(QStringLiteral("not a target sparsity")));
    }

    void recoveryCopyFollowsTheUnsavedState()
    {
        QTemporaryDir dir;
        session_->markSaved(session_->projectPath()); // the earlier edits count as saved
        RecoveryCopy copy(session_.get(), dir.path());
        QVERIFY(!RecoveryCopy::find(dir.path()));
        const int s = tunableSite(3);
        session_->pushSiteValue(SiteField::Threshold, s, 0.25);
        QVERIFY(session_->isModified());
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(copy.projectFile()), 5000);
        const auto found = RecoveryCopy::find(dir.path());
        QVERIFY(found && found->error.isEmpty());
        QCOMPARE(found->project.thresholds.value(QString::fromStdString(session_->sites()[std::size_t(s)].name)), double(0.25f));
        QCOMPARE(found->projectPath, session_->projectPath());
        session_->undoStack()->undo(); // back to the saved state: nothing to recover
        QTRY_VERIFY_WITH_TIMEOUT(!QFile::exists(copy.projectFile()), 5000);

        // A damaged copy is reported with its file named, not opened.
        QFile bad(copy.projectFile());
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("{\"schema\": \"sparsity-explorer/project\", \"version\": 1, \"model\": 3");
        bad.close();
        const auto damaged = RecoveryCopy::find(dir.path());
        QVERIFY(damaged);
        QVERIFY2(damaged->error.contains(copy.projectFile()), qPrintable(damaged->error));
        copy.discard();
        QVERIFY(!RecoveryCopy::find(dir.path()));
        session_->waitForIdle();
    }

    void exportsTheBundle()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QStringList written = session_->exportTunedModel(dir.filePath(QStringLiteral("tuned.pt")));
        QCOMPARE(written.size(), 3);
        for (const QString &f : written)
            QVERIFY2(QFileInfo::exists(f), qPrintable(f));
        QFile json(written[1]);
        QVERIFY(json.open(QIODevice::ReadOnly));
        const QJsonObject r = QJsonDocument::fromJson(json.readAll()).object();
        QCOMPARE(r.value(QStringLiteral("command")).toString(), QStringLiteral("export"));
        QVERIFY(r.value(QStringLiteral("evaluation")).isObject()); // the current capture matched the thresholds
        QCOMPARE(r.value(QStringLiteral("export")).toObject().value(QStringLiteral("model")).toString(), written[0]);

        // The input model is never overwritten, whatever the output name.
        const QString input = session_->project().modelPath;
        const QFileInfo inputInfo(input);
        try {
            session_->exportTunedModel(inputInfo.absolutePath() + QLatin1Char('/') + inputInfo.completeBaseName() +
                                       QStringLiteral(".pt"));
            QFAIL("exporting over the input model must throw");
        } catch (const Error &e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("would overwrite the model")), e.what());
        }
        try {
            exportPaths(dir.filePath(QStringLiteral("tuned.txt")), {{input.toStdString(), "model"}});
            QFAIL("an output that is neither .pt nor .onnx must throw");
        } catch (const Error &e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("must end in .pt or .onnx")), e.what());
        }
    }

    // Fine-tuning as a group of 2 processes (this one as rank 0 and one sparsity-cli worker, docs/distributed.md) ends
    // with the weights and thresholds of the same run in one process, up to the order of float sums; a recipe the
    // group cannot run is refused with the workers' own messages.
    void trainingOnTwoProcessesMatchesOne()
    {
        const Project project = sampleProject();
        auto probe = Model::load(project.modelPath.toStdString());
        auto dataset = openDataset(project.datasetPath.toStdString(), Split::Test);
        TrainingJob::Params params;
        params.modelPath = project.modelPath;
        params.datasetPath = project.datasetPath;
        params.preprocessing = preprocessingFor(project, *probe, dataset.get());
        params.recipe = Recipe::forMethod(Recipe::Method::Star);
        params.recipe.freezeBatchNorm = true;
        params.recipe.batchSize = 32;
        params.recipe.trainImages = 160;
        params.recipe.calibrationImages = 64;
        params.recipe.validationImages = 64;
        params.recipe.regularizeEpochs = 1;
        params.recipe.finetuneEpochs = 1;
        params.recipe.thresholdMode = Recipe::ThresholdMode::Quantile;
        params.recipe.targetSparsity = 0.6;
        params.thresholds.assign(probe->sites().size(), 0.0f);
        QTemporaryDir dir;
        std::vector<std::shared_ptr<TrainingOutcome>> outcomes;
        for (int processes : {1, 2}) {
            params.processes = processes;
            params.checkpointDir = dir.filePath(QStringLiteral("ck-%1").arg(processes));
            JobControl control;
            outcomes.push_back(TrainingJob::run(params, control, {}));
            QVERIFY(outcomes.back()->model);
            QCOMPARE(outcomes.back()->result.epochsDone, 2);
        }
        const auto &one = outcomes[0]->result.thresholds, &two = outcomes[1]->result.thresholds;
        QCOMPARE(two.size(), one.size());
        for (std::size_t i = 0; i < one.size(); ++i)
            QVERIFY2(std::fabs(one[i] - two[i]) <= 1e-4f * std::max(1e-3f, std::fabs(one[i])), qPrintable(QString::number(i)));
        // The weights: logits with every threshold at 0, against the untrained model's to show the check can fail.
        const auto batches = loadBatches(*dataset, params.preprocessing, firstN(*dataset, 64), 64);
        auto logits = [&](Model &m) {
            m.setThresholds(std::vector<float>(m.sites().size(), 0.0f), {});
            return forwardOutput(m, batches.front(), true);
        };
        const auto a = logits(*outcomes[0]->model), b = logits(*outcomes[1]->model), start = logits(*probe);
        double scale = 0.0, diff = 0.0, moved = 0.0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            scale = std::max(scale, double(std::fabs(a[i])));
            diff = std::max(diff, double(std::fabs(a[i] - b[i])));
            moved = std::max(moved, double(std::fabs(a[i] - start[i])));
        }
        qInfo("2 processes vs 1: logits differ by %.2e of the largest; training moved them by %.2e", diff / scale, moved / scale);
        QVERIFY(diff <= 1e-4 * scale);
        QVERIFY(moved >= 1e-2 * scale);
        // Only rank 0 wrote checkpoints into the explorer's folder.
        QVERIFY(QFileInfo::exists(dir.filePath(QStringLiteral("ck-2/latest-checkpoint.pt"))));

        // Resume as a group: the workers read the explorer's checkpoint (and its distillation teacher).
        params.recipe.distillationWeight = 0.5;
        params.recipe.finetuneEpochs = 0;
        params.checkpointDir = dir.filePath(QStringLiteral("ck-resume"));
        JobControl first;
        QCOMPARE(TrainingJob::run(params, first, {})->result.epochsDone, 1);
        params.recipe.finetuneEpochs = 1;
        params.resume = true;
        JobControl rest;
        std::vector<std::string> messages;
        TrainingCallbacks said;
        said.message = [&messages](const std::string &m) { messages.push_back(m); };
        const auto resumed = TrainingJob::run(params, rest, said);
        QCOMPARE(resumed->result.epochsDone, 2);
        QVERIFY(!messages.empty() && QString::fromStdString(messages.front()).startsWith(QStringLiteral("resumed after epoch 1")));
        params.resume = false;
        params.recipe.distillationWeight = 0.0;

        params.recipe.batchSize = 33;
        params.checkpointDir = dir.filePath(QStringLiteral("ck-odd"));
        JobControl control;
        const QString message = testmodels::errorOf([&] { TrainingJob::run(params, control, {}); });
        QVERIFY2(message.contains(QStringLiteral("batch_size 33")), qPrintable(message));
    }

    void clearResetsEverything()
    {
        ChangeSpy model(session_.get(), ChangeEvent::Kind::Model);
        session_->clear();
        QCOMPARE(model.count(), 1);
        QVERIFY(!session_->hasModel());
        QCOMPARE(session_->siteCount(), 0);
        QVERIFY(!session_->baseline());
        QVERIFY(!session_->isModified());
        session_.reset();
    }
};

QTEST_GUILESS_MAIN(TestSession)
#include "tst_session.moc"
