#pragma once
// Malformed inputs for tst_hostile, written by the test itself into a temporary folder: every case is one
// sparsity-cli run with the exit code it must end with and the words its message must contain.

#include <QByteArray>
#include <QDir>
#include <QFileInfo>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

namespace hostile {

constexpr qint64 kMiB = 1 << 20;

struct Case {
    QString name;
    QStringList args;
    int exitCode = 1;     // 1: a file was refused; 2: a usage error; 0: it must work (planted-symlink cases)
    QStringList expected; // substrings stderr must contain: the file's name and the problem
    QStringList inputs;   // files that must be byte-identical afterwards (besides the model and the dataset)
};

inline void writeFile(const QString &path, const QByteArray &bytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size())
        qFatal("cannot write the fixture %s", qPrintable(path));
}

inline QByteArray gzip(const QByteArray &raw)
{
    z_stream s{};
    deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY); // +16: a gzip header
    QByteArray out(int(deflateBound(&s, uLong(raw.size()))) + 64, '\0');
    s.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(raw.data()));
    s.avail_in = uInt(raw.size());
    s.next_out = reinterpret_cast<Bytef *>(out.data());
    s.avail_out = uInt(out.size());
    deflate(&s, Z_FINISH);
    out.resize(int(s.total_out));
    deflateEnd(&s);
    return out;
}

inline QByteArray be32(quint32 v)
{
    QByteArray b(4, '\0');
    b[0] = char(v >> 24);
    b[1] = char(v >> 16);
    b[2] = char(v >> 8);
    b[3] = char(v);
    return b;
}

inline QByteArray idx(quint8 type, const std::vector<quint32> &dims, int rank = -1)
{
    QByteArray b;
    b.append('\0').append('\0').append(char(type)).append(char(rank < 0 ? int(dims.size()) : rank));
    for (quint32 d : dims)
        b.append(be32(d));
    return b;
}

inline QByteArray pseudoRandom(int n, unsigned seed)
{
    QByteArray b(n, '\0');
    for (int i = 0; i < n; ++i) {
        seed = seed * 1664525u + 1013904223u;
        b[i] = char(seed >> 24);
    }
    return b;
}

// A JSON object with one field (a dotted path) replaced, or removed when `value` is undefined.
inline QJsonObject edited(QJsonObject root, const QString &dotted, const QJsonValue &value)
{
    const QStringList parts = dotted.split(QLatin1Char('.'));
    std::function<QJsonObject(QJsonObject, int)> set = [&](QJsonObject o, int i) {
        if (i == parts.size() - 1) {
            if (value.isUndefined())
                o.remove(parts[i]);
            else
                o.insert(parts[i], value);
            return o;
        }
        o.insert(parts[i], set(o.value(parts[i]).toObject(), i + 1));
        return o;
    };
    return set(root, 0);
}

inline QByteArray json(const QJsonObject &o) { return QJsonDocument(o).toJson(); }

// Special files every format is also tried with: they must be refused without reading (no hang, no runaway).
struct SpecialFile {
    const char *name;
    const char *problem;
};
inline const SpecialFile kSpecialFiles[] = {
    {"devzero", "not a regular file"}, // a symlink to /dev/zero
    {"fifo", "not a regular file"},    // a FIFO nobody writes to
    {"folder", "folder"},              // a directory
    {"missing", "No such file"},       // nothing there
    {"huge", "more than the"},         // a sparse file beyond the cap for its kind
};

// Creates the special file `kind` at `path`; `capBytes` sizes the sparse "huge" file just above the cap.
inline void makeSpecial(const QString &kind, const QString &path, qint64 capBytes)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    const QByteArray p = QFile::encodeName(path);
    if (kind == QLatin1String("devzero"))
        QFile::link(QStringLiteral("/dev/zero"), path);
    else if (kind == QLatin1String("fifo"))
        ::mkfifo(p.constData(), 0600);
    else if (kind == QLatin1String("folder"))
        QDir().mkpath(path);
    else if (kind == QLatin1String("huge")) {
        QFile f(path);
        if (f.open(QIODevice::WriteOnly))
            f.resize(capBytes + 1); // sparse: no disk space used
    }
}

} // namespace hostile
