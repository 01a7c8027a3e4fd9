// libFuzzer target: a project file either parses into a project that survives a round trip through its own writer
// (paths, subset, preprocessing, thresholds), or throws sparsity::Error. Reads no other file: the project names a
// weights file only when the fuzzer makes one up, and a missing one is an error.
#include "error.h"
#include "io/project.h"

#include <QByteArray>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArray json(reinterpret_cast<const char *>(data), qsizetype(size));
    const QString path = QStringLiteral("/nonexistent-fuzz-dir/p.sparsity.json");
    try {
        const sparsity::Project p = sparsity::parseProject(json, path);
        for (auto it = p.thresholds.begin(); it != p.thresholds.end(); ++it)
            if (!std::isfinite(it.value()) || it.value() < 0.0)
                std::abort();
        const sparsity::Project again = sparsity::parseProject(sparsity::projectToJson(p, path), path);
        if (again != p)
            std::abort(); // what we write must read back as it was
    } catch (const sparsity::Error &) {
    }
    return 0;
}
