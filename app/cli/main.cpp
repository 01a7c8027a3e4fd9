// sparsity-cli: the headless twin of Sparsity Explorer. Wiring only: parse the command line (options.cpp), open the
// workspace (setup.cpp), call the engine in core/ per command (measure.cpp, tune.cpp), print what the text tables
// (texttables.h) and core/io/report.h format. docs/cli.md describes every command; docs/report-schema.md the --json
// output.
#include "commands.h"
#include "distributed.h"
#include "options.h"
#include "progress.h"
#include "threads.h"

#include <QCoreApplication>

#include <csignal>
#include <cstdio>

using namespace sparsity;
using namespace sparsity::cli;

namespace {

int run(const QStringList &arguments)
{
    if (arguments.size() < 2) {
        err(programHelp());
        return 2;
    }
    const QString name = arguments.at(1);
    if (name == QLatin1String("--help") || name == QLatin1String("-h") || name == QLatin1String("help")) {
        out(programHelp());
        return 0;
    }
    if (name == QLatin1String("--version")) {
        out(QStringLiteral("sparsity-cli %1\n").arg(QCoreApplication::applicationVersion()));
        return 0;
    }
    const Command *command = findCommand(name);
    if (!command) {
        err(QStringLiteral("sparsity-cli: unknown command \"%1\"\n\n").arg(name) + programHelp());
        return 2;
    }
    Options o;
    QCommandLineParser parser;
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption help{{QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help.")};
    parser.addOption(help);
    addOptions(parser, o, name);
    parser.addPositionalArgument(QStringLiteral("MODEL"), QStringLiteral("TorchScript (.pt) or ONNX (.onnx) model."), QStringLiteral("[MODEL]"));
    if (command->dataArgument > 0)
        parser.addPositionalArgument(QStringLiteral("DATA"), QStringLiteral("Dataset file or folder."), QStringLiteral("[DATA]"));
    QStringList args = arguments;
    args.removeAt(1); // the command
    if (!parser.parse(args)) {
        err(QStringLiteral("sparsity-cli %1: %2\n\n").arg(name, parser.errorText()) + commandHelp(*command, parser));
        return 2;
    }
    if (parser.isSet(help)) {
        out(commandHelp(*command, parser));
        return 0;
    }
    const bool quiet = has(parser, o.quiet);
    if (has(parser, o.nproc)) {
        try {
            const int processes = int(integerOption(parser, o.nproc, 1, 1));
            if (launchedInGroup())
                throw UsageError{QStringLiteral("--nproc: this process is already a rank of a group (WORLD_SIZE is set)")};
            if (processes > 1) {
                QStringList forwarded;
                for (qsizetype i = 0; i < arguments.size(); ++i) {
                    if (arguments[i] == QLatin1String("--nproc") || arguments[i] == QLatin1String("-nproc"))
                        ++i; // and its value
                    else if (!arguments[i].startsWith(QLatin1String("--nproc=")))
                        forwarded << arguments[i];
                }
                return launchRanks(processes, forwarded, quiet);
            }
        } catch (const UsageError &e) {
            err(QStringLiteral("sparsity-cli %1: %2\n\n").arg(name, e.message) + commandHelp(*command, parser));
            return 2;
        } catch (const std::exception &e) {
            err(QStringLiteral("sparsity-cli %1: error: %2\n").arg(name, QString::fromUtf8(e.what())));
            return 1;
        }
    }
    // In a group only rank 0 prints; the others report only their errors.
    const bool follower = launchedInGroup() && qEnvironmentVariable("RANK") != QLatin1String("0");
    if (follower)
        std::freopen("/dev/null", "w", stdout);
    Progress progress(quiet || follower);
    try {
        setComputeThreads(int(integerOption(parser, o.threads, 1, 0)));
        joinGroupFromEnvironment(name);
        if (name == QLatin1String("inspect"))
            return cmdInspect(parser, o, *command, progress);
        if (name == QLatin1String("analyze"))
            return cmdAnalyze(parser, o, *command, progress);
        if (name == QLatin1String("search"))
            return cmdSearch(parser, o, *command, progress);
        if (name == QLatin1String("sweep"))
            return cmdSweep(parser, o, *command, progress);
        if (name == QLatin1String("train"))
            return cmdTrain(parser, o, *command, progress);
        if (name == QLatin1String("compare"))
            return cmdCompare(parser, o, *command, progress);
        if (name == QLatin1String("project"))
            return cmdProject(parser, o, *command, progress);
        return cmdExport(parser, o, *command, progress);
    } catch (const UsageError &e) {
        progress.finish();
        err(QStringLiteral("sparsity-cli %1: %2\n\n").arg(name, e.message) + commandHelp(*command, parser));
        return 2;
    } catch (const std::exception &e) {
        progress.finish();
        err(QStringLiteral("sparsity-cli %1: error: %2\n").arg(name, QString::fromUtf8(e.what())));
        return 1;
    }
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("sparsity-cli"));
    QCoreApplication::setApplicationVersion(QStringLiteral(SPARSITY_VERSION));
    std::signal(SIGINT, onInterrupt);
    return run(QCoreApplication::arguments());
}
