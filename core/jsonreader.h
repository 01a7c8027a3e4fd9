#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QString>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sparsity {

// Typed access to one JSON object of a file the user edits (projects, recipes, processor presets). Every error names
// the file and the field path ("dataset.subset.count") and throws sparsity::Error; each format keeps its own wording
// through `Message`, which turns the field path and the problem ("is missing", "must be a string") into the text.
class JsonReader {
public:
    using Message = std::function<std::string(const QString &field, const QString &problem)>;

    JsonReader(const QJsonObject &object, Message message, const QString &where = QString());

    bool has(const QString &key) const { return object_.contains(key); }
    QString field(const QString &key) const { return where_.isEmpty() ? key : where_ + QLatin1Char('.') + key; }
    const QJsonObject &raw() const { return object_; }
    [[noreturn]] void fail(const QString &key, const QString &problem) const;
    [[noreturn]] void wrongType(const QString &key, const char *expected) const; // "must be EXPECTED"

    // Required fields: "is missing" when absent, "must be ..." when of another type.
    QJsonValue required(const QString &key) const;
    QString string(const QString &key) const;
    double number(const QString &key) const; // finite
    std::int64_t integer(const QString &key, std::int64_t min) const; // min 0 or 1
    // A whole number that fits in int: 4294967324 must be refused, not become 28.
    int smallInteger(const QString &key, int min) const;
    bool boolean(const QString &key) const;
    QJsonObject object(const QString &key) const;
    QJsonArray array(const QString &key) const;
    std::vector<float> floats(const QString &key) const;
    JsonReader sub(const QString &key) const;

    // Optional fields: the fallback when absent.
    double number(const QString &key, double fallback, double lo, double hi) const;
    // A whole number in [lo, hi]: "epochs": 2.5 is refused rather than truncated.
    double whole(const QString &key, double fallback, double lo, double hi) const;
    QString text(const QString &key, const char *fallback) const;
    bool flag(const QString &key, bool fallback) const;
    JsonReader optionalSub(const QString &key) const; // an empty object when absent

    // "a string", "a number", "null", ...: what a field held, for messages.
    static const char *typeName(const QJsonValue &value);

private:
    QJsonObject object_;
    Message message_;
    QString where_;
};

} // namespace sparsity
