#include "io/outputpaths.h"

#include "error.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sparsity {

namespace {

// The canonical form of a path that may not exist yet: its folder resolved, its own name kept.
std::string canonical(const std::string &path)
{
    std::error_code ec;
    const fs::path absolute = fs::absolute(path, ec);
    const fs::path resolved = fs::weakly_canonical(ec ? fs::path(path) : absolute, ec);
    return (ec ? absolute : resolved).lexically_normal().string();
}

struct Identity {
    bool exists = false;
    dev_t device = 0;
    ino_t inode = 0;
    bool directory = false;
};

Identity identity(const std::string &path)
{
    Identity id;
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0) {
        id.exists = true;
        id.device = info.st_dev;
        id.inode = info.st_ino;
        id.directory = S_ISDIR(info.st_mode);
    }
    return id;
}

bool isSymlink(const std::string &path)
{
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0 && S_ISLNK(info.st_mode);
}

} // namespace

void checkOutputPaths(const std::vector<RolePath> &outputs, const std::vector<RolePath> &inputs)
{
    for (std::size_t o = 0; o < outputs.size(); ++o) {
        const auto &out = outputs[o];
        if (out.path.empty())
            continue;
        if (isSymlink(out.path))
            throw Error(out.path + ": the " + out.role +
                        " path is a symbolic link; refusing to write through it (give the real path)");
        const Identity outId = identity(out.path);
        if (outId.directory)
            throw Error(out.path + ": the " + out.role + " path is a folder, expected a file name");
        const std::string outCanonical = canonical(out.path);
        auto same = [&](const std::string &other) {
            if (canonical(other) == outCanonical)
                return true;
            const Identity otherId = identity(other);
            return outId.exists && otherId.exists && outId.device == otherId.device && outId.inode == otherId.inode;
        };
        for (const auto &in : inputs) {
            if (in.path.empty())
                continue;
            if (same(in.path))
                throw Error(out.path + ": the " + out.role + " would overwrite the " + in.role + " " + in.path +
                            "; choose another output path");
        }
        for (std::size_t p = 0; p < o; ++p)
            if (!outputs[p].path.empty() && same(outputs[p].path))
                throw Error(out.path + ": the " + out.role + " and the " + outputs[p].role +
                            " would be the same file; choose another output path");
    }
}

std::string createTemporaryBeside(const std::string &target)
{
    std::string pattern = target + ".XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    // mkstemp creates the file with O_CREAT | O_EXCL: never an existing file, never through a symlink.
    const int fd = ::mkstemp(name.data());
    if (fd < 0)
        throw Error(target + ": cannot create a temporary file beside it (" + std::strerror(errno) + ")");
    ::fchmod(fd, 0644); // mkstemp's 0600 would make a saved model or report private to this user
    ::close(fd);
    return std::string(name.data());
}

void moveIntoPlace(const std::string &temporary, const std::string &target)
{
    if (isSymlink(target)) {
        std::remove(temporary.c_str());
        throw Error(target + ": is a symbolic link; refusing to replace it");
    }
    if (std::rename(temporary.c_str(), target.c_str()) != 0) {
        const int error = errno;
        std::remove(temporary.c_str());
        throw Error(target + ": cannot move the new file into place (" + std::strerror(error) +
                    "); the previous file is unchanged");
    }
}

void writeFileAtomically(const std::string &target, const std::string &bytes)
{
    if (isSymlink(target))
        throw Error(target + ": is a symbolic link; refusing to write through it");
    const std::string temporary = createTemporaryBeside(target);
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    bool ok = fd >= 0;
    std::size_t done = 0;
    while (ok && done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        if (ok)
            done += std::size_t(n);
    }
    const int error = errno;
    if (fd >= 0) {
        ok = ok && ::fsync(fd) == 0;
        ok = ::close(fd) == 0 && ok;
    }
    if (!ok) {
        std::remove(temporary.c_str());
        throw Error(target + ": cannot be written (" + std::strerror(error) + "); the previous file is unchanged");
    }
    moveIntoPlace(temporary, target);
}

} // namespace sparsity
