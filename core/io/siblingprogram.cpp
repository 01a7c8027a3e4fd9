#include "io/siblingprogram.h"

#include <QFileInfo>

#include <filesystem>
#include <system_error>

namespace sparsity {

QString siblingProgram(const char *name, const char *environment)
{
    const QString fromEnvironment = qEnvironmentVariable(environment);
    if (!fromEnvironment.isEmpty())
        return fromEnvironment;
    // /proc/self/exe rather than QCoreApplication::applicationDirPath(): tests and benches have no application object.
    std::error_code ec;
    const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec)
        return {};
    for (const auto &dir : {exe.parent_path(), exe.parent_path().parent_path() / "app"}) {
        const std::filesystem::path candidate = dir / name;
        if (QFileInfo(QString::fromStdString(candidate.string())).isExecutable())
            return QString::fromStdString(candidate.string());
    }
    return {};
}

} // namespace sparsity
