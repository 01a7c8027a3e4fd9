#include "graph/quarantine.h"

#include "error.h"
#include "graph/model.h"
#include "graph/quarantine_p.h"
#include "io/boundedread.h"
#include "io/siblingprogram.h"
#include "io/ziparchive.h"
#include "threads.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QProcessEnvironment>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <new>
#include <set>
#include <sstream>
#include <utility>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SPARSITY_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPARSITY_UNDER_ASAN 1
#endif
#endif

namespace sparsity {

namespace {

std::atomic<bool> g_quarantine{true};
const char *const kCheckerName = "sparsity-modelcheck";

QString findChecker()
{
    return siblingProgram(kCheckerName, "SPARSITY_MODELCHECK");
}

const char *noun(QuarantinedFile kind)
{
    return kind == QuarantinedFile::Model ? "model" : "file";
}

std::string lastLines(const QByteArray &output)
{
    std::string text = output.trimmed().toStdString();
    if (text.size() > 2000)
        text = "..." + text.substr(text.size() - 2000);
    return text;
}

} // namespace

void setModelQuarantine(bool enabled)
{
    g_quarantine = enabled;
}

bool modelQuarantine()
{
    return g_quarantine;
}

void checkModelInQuarantine(const std::string &path, const QuarantineLimits &limits, std::string *loadedSha256,
                            QuarantinedFile kind)
{
    const std::string what = noun(kind);
    struct stat info {};
    const long long fileMiB = ::stat(path.c_str(), &info) == 0 ? (long long)(info.st_size >> 20) : 0;
    const long long memoryMiB = limits.memoryMiB > 0 ? limits.memoryMiB : 3072 + 4 * fileMiB;
    const QString checker = findChecker();
    if (checker.isEmpty())
        throw Error(path + ": cannot check the " + what + " before loading it: " + kCheckerName +
                    " was not found beside this program (set SPARSITY_MODELCHECK to its path)");
    QProcess child;
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("SPARSITY_THREADS"), QStringLiteral("1"));
    environment.insert(QStringLiteral("OMP_NUM_THREADS"), QStringLiteral("1"));
#ifdef SPARSITY_UNDER_ASAN
    // The checker exists to crash inside (uninstrumented) LibTorch on a hostile archive; that crash is the expected
    // outcome and the checker's own handler names the signal. ASan's SEGV report would read as a finding in our code.
    const QString asan = environment.value(QStringLiteral("ASAN_OPTIONS"));
    environment.insert(QStringLiteral("ASAN_OPTIONS"),
                       (asan.isEmpty() ? QString() : asan + QLatin1Char(':')) +
                           QStringLiteral("handle_segv=0:handle_sigbus=0:handle_sigfpe=0:allow_user_segv_handler=1"));
#endif
    child.setProcessEnvironment(environment);
    child.setProcessChannelMode(QProcess::SeparateChannels);
    QStringList arguments{QStringLiteral("--memory-mib"), QString::number(memoryMiB)};
    if (kind == QuarantinedFile::TensorArchive)
        arguments << QStringLiteral("--tensor-archive");
    child.start(checker, arguments << QStringLiteral("--") << QString::fromStdString(path));
    if (!child.waitForStarted(10000))
        throw Error(path + ": cannot check the " + what + " before loading it: " + checker.toStdString() +
                    " did not start (" + child.errorString().toStdString() + ")");
    if (!child.waitForFinished(limits.timeoutMs)) {
        child.kill();
        child.waitForFinished(5000);
        throw Error(path + ": the " + what + " did not load within " + std::to_string(limits.timeoutMs / 1000) +
                    " s in the quarantined check; not opened");
    }
    const std::string errors = lastLines(child.readAllStandardError());
    if (child.exitStatus() == QProcess::CrashExit) {
        // QProcess does not report the signal; the checker's own handler wrote it to stderr when it could.
        throw Error(path + ": the " + what + " crashed the quarantined check (" +
                    (errors.empty() ? std::string("killed by a signal") : errors) +
                    "); the file is damaged or hostile and was not opened");
    }
    if (child.exitCode() == 0) {
        if (loadedSha256)
            *loadedSha256 = child.readAllStandardOutput().trimmed().toStdString();
        return;
    }
    if (child.exitCode() == 3)
        throw Error(path + ": loading the " + what + " needs more than the quarantined check's " + std::to_string(memoryMiB) +
                    " MiB of memory; not opened");
    if (!errors.empty() && errors.rfind(path, 0) == 0)
        throw Error(errors);
    throw Error(path + ": the quarantined check refused the " + what + " (exit code " + std::to_string(child.exitCode()) +
                (errors.empty() ? std::string() : ": " + errors) + ")");
}

namespace {

// Where the SHA-256 of every model content that passed is kept, so that the next process opening the same bytes
// (each sparsity-cli call on one model) does not start the checker again. Only passes are recorded.
QString passedMarker(const QByteArray &sha256Hex, QuarantinedFile kind)
{
    if (qEnvironmentVariable("SPARSITY_MODELCHECK_CACHE") == QLatin1String("0"))
        return {};
    QString base = qEnvironmentVariable("XDG_CACHE_HOME");
    if (base.isEmpty())
        base = QDir::homePath() + QStringLiteral("/.cache");
    // A content that loaded as a model has not been read as a tensor archive, and the reverse: one record per kind.
    return base + QStringLiteral("/sparsity-explorer/checked-models/") + QString::fromLatin1(sha256Hex) +
           (kind == QuarantinedFile::Model ? QString() : QStringLiteral(".archive"));
}

} // namespace

void checkModelOnce(const std::string &path, const std::string &bytes, QuarantinedFile kind)
{
    static std::mutex mutex;
    static std::set<std::pair<QByteArray, QuarantinedFile>> passed; // contents (SHA-256) that loaded in this process
    const QByteArray digest =
        QCryptographicHash::hash(QByteArrayView(bytes.data(), qsizetype(bytes.size())), QCryptographicHash::Sha256).toHex();
    {
        const std::lock_guard<std::mutex> lock(mutex);
        if (passed.count({digest, kind}))
            return;
    }
    const QString marker = passedMarker(digest, kind);
    if (marker.isEmpty() || !QFileInfo(marker).isFile()) {
        std::string checked;
        checkModelInQuarantine(path, {}, &checked, kind);
        if (checked != digest.toStdString()) // the file was replaced between our read and the child's
            throw Error(path + ": the " + std::string(noun(kind)) +
                        " file changed while it was being checked; not opened (open it again)");
        if (!marker.isEmpty() && QDir().mkpath(QFileInfo(marker).absolutePath())) {
            QFile file(marker); // best effort: without it the next process checks again
            if (file.open(QIODevice::WriteOnly))
                file.write(QByteArray::fromStdString(path));
        }
    }
    const std::lock_guard<std::mutex> lock(mutex);
    passed.insert({digest, kind});
}

namespace {

extern "C" void reportSignal(int signal)
{
    // Only async-signal-safe calls here: write the signal's name, then die by it so the parent sees a crash.
    const char *name = signal == SIGSEGV ? "SIGSEGV, a segmentation fault"
                       : signal == SIGBUS ? "SIGBUS, a bus error"
                       : signal == SIGFPE ? "SIGFPE, an arithmetic error"
                       : signal == SIGILL ? "SIGILL, an illegal instruction"
                       : signal == SIGABRT ? "SIGABRT, an abort"
                                           : "a signal";
    const char prefix[] = "killed by ";
    (void)!::write(2, prefix, sizeof prefix - 1);
    (void)!::write(2, name, std::strlen(name));
    ::signal(signal, SIG_DFL);
    ::raise(signal);
}

} // namespace

int runModelCheck(const std::string &path, long long memoryMiB, QuarantinedFile kind)
{
    setModelQuarantine(false); // this process is the quarantine
#ifndef SPARSITY_UNDER_ASAN
    if (memoryMiB > 0) {
        const rlimit limit{rlim_t(memoryMiB) << 20, rlim_t(memoryMiB) << 20};
        ::setrlimit(RLIMIT_AS, &limit);
    }
    for (int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
        ::signal(signal, reportSignal);
#else
    (void)memoryMiB;
#endif
    setComputeThreads(1);
    try {
        // The bytes first, then what was loaded from exactly them: the parent compares their hash with its own read.
        std::string bytes;
        if (kind == QuarantinedFile::Model) {
            Model::load(path);
            bytes = readBoundedText(path, limits::kModelFileBytes, "model");
        } else {
            bytes = readBoundedText(path, limits::kWeightsFileBytes, "file");
            detail::loadTensorArchiveEntries(bytes, path);
        }
        std::printf("%s\n", QCryptographicHash::hash(QByteArrayView(bytes.data(), qsizetype(bytes.size())),
                                                     QCryptographicHash::Sha256)
                                 .toHex()
                                 .constData());
        return 0;
    } catch (const std::bad_alloc &) {
        std::fprintf(stderr, "%s: out of memory while loading\n", path.c_str());
        return 3;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}

} // namespace sparsity

namespace sparsity::detail {

namespace {

void checkTensor(const at::Tensor &t, const std::string &path, const std::string &name)
{
    if (!t.defined())
        return;
    if (t.layout() != at::kStrided)
        throw Error(path + ": tensor \"" + name + "\" is not a dense tensor; not a model Sparsity Explorer can open");
    if (!t.has_storage())
        throw Error(path + ": tensor \"" + name + "\" has no storage; the archive is damaged");
    std::uint64_t last = std::uint64_t(t.storage_offset());
    if (t.storage_offset() < 0)
        throw Error(path + ": tensor \"" + name + "\" has a negative storage offset; the archive is damaged");
    for (std::int64_t d = 0; d < t.dim(); ++d) {
        if (t.size(d) == 0)
            return; // empty: reads nothing
        if (t.stride(d) < 0)
            throw Error(path + ": tensor \"" + name + "\" has a negative stride; the archive is damaged");
        std::uint64_t extent = 0;
        if (__builtin_mul_overflow(std::uint64_t(t.size(d) - 1), std::uint64_t(t.stride(d)), &extent) ||
            __builtin_add_overflow(last, extent, &last))
            throw Error(path + ": tensor \"" + name + "\" has sizes and strides that overflow; the archive is damaged");
    }
    std::uint64_t needed = 0;
    if (__builtin_add_overflow(last, 1, &needed) ||
        __builtin_mul_overflow(needed, std::uint64_t(t.element_size()), &needed) || needed > t.storage().nbytes())
        throw Error(path + ": tensor \"" + name + "\" of " + std::to_string(t.numel()) +
                    " elements reaches beyond its stored data (" + std::to_string(t.storage().nbytes()) +
                    " bytes); the archive is damaged or hostile");
}

} // namespace

void loadTensorArchiveEntries(const std::string &bytes, const std::string &path)
{
    checkTorchArchive(bytes, path, "tuned-weights file or checkpoint");
    torch::serialize::InputArchive archive;
    std::istringstream in(bytes);
    archive.load_from(in);
    for (const std::string &key : archive.keys()) {
        c10::IValue value;
        if (archive.try_read(key, value) && value.isTensor())
            checkTensor(value.toTensor(), path, key);
    }
}

void checkModuleTensors(const torch::jit::Module &module, const std::string &path)
{
    for (const auto &attribute : module.named_attributes(true)) {
        if (attribute.value.isTensor())
            checkTensor(attribute.value.toTensor(), path, attribute.name);
        else if (attribute.value.isTensorList())
            for (const at::Tensor &t : attribute.value.toTensorVector())
                checkTensor(t, path, attribute.name);
    }
    for (const auto &method : module.get_methods())
        for (const torch::jit::Node *node : method.graph()->nodes())
            if (node->kind() == c10::prim::Constant && node->output()->type()->kind() == c10::TypeKind::TensorType)
                checkTensor(node->t(c10::attr::value), path, "constant in " + method.name());
}

} // namespace sparsity::detail
