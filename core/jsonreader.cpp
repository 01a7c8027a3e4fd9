#include "jsonreader.h"

#include "error.h"

#include <cfloat>
#include <cmath>
#include <limits>

namespace sparsity {

JsonReader::JsonReader(const QJsonObject &object, Message message, const QString &where)
    : object_(object), message_(std::move(message)), where_(where)
{
}

void JsonReader::fail(const QString &key, const QString &problem) const { throw Error(message_(field(key), problem)); }

void JsonReader::wrongType(const QString &key, const char *expected) const
{
    fail(key, QStringLiteral("must be ") + QString::fromLatin1(expected));
}

QJsonValue JsonReader::required(const QString &key) const
{
    if (!object_.contains(key))
        fail(key, QStringLiteral("is missing"));
    return object_.value(key);
}

QString JsonReader::string(const QString &key) const
{
    const QJsonValue v = required(key);
    if (!v.isString())
        wrongType(key, "a string");
    return v.toString();
}

double JsonReader::number(const QString &key) const
{
    const QJsonValue v = required(key);
    if (!v.isDouble() || !std::isfinite(v.toDouble()))
        wrongType(key, "a finite number");
    return v.toDouble();
}

std::int64_t JsonReader::integer(const QString &key, std::int64_t min) const
{
    const double d = number(key);
    if (d != std::floor(d) || d < double(min) || d > 9.0e15)
        wrongType(key, min == 0 ? "a whole number >= 0" : "a whole number >= 1");
    return std::int64_t(d);
}

int JsonReader::smallInteger(const QString &key, int min) const
{
    const std::int64_t v = integer(key, min);
    if (v > std::numeric_limits<int>::max())
        wrongType(key, min == 0 ? "a whole number from 0 to 2147483647" : "a whole number from 1 to 2147483647");
    return int(v);
}

bool JsonReader::boolean(const QString &key) const
{
    const QJsonValue v = required(key);
    if (!v.isBool())
        wrongType(key, "true or false");
    return v.toBool();
}

QJsonObject JsonReader::object(const QString &key) const
{
    const QJsonValue v = required(key);
    if (!v.isObject())
        wrongType(key, "an object");
    return v.toObject();
}

QJsonArray JsonReader::array(const QString &key) const
{
    const QJsonValue v = required(key);
    if (!v.isArray())
        wrongType(key, "an array");
    return v.toArray();
}

std::vector<float> JsonReader::floats(const QString &key) const
{
    std::vector<float> out;
    for (const QJsonValue &v : array(key)) {
        // Above float's range a value would become infinity.
        if (!v.isDouble() || !std::isfinite(v.toDouble()) || std::abs(v.toDouble()) > double(FLT_MAX))
            wrongType(key, "an array of finite numbers");
        out.push_back(float(v.toDouble()));
    }
    return out;
}

JsonReader JsonReader::sub(const QString &key) const { return JsonReader(object(key), message_, field(key)); }

double JsonReader::number(const QString &key, double fallback, double lo, double hi) const
{
    if (!object_.contains(key))
        return fallback;
    const QJsonValue v = object_.value(key);
    if (!v.isDouble())
        wrongType(key, "a number");
    const double x = v.toDouble();
    if (x < lo || x > hi)
        fail(key, QStringLiteral("is %1; expected %2 to %3")
                      .arg(QString::fromStdString(std::to_string(x)), QString::fromStdString(std::to_string(lo)),
                           QString::fromStdString(std::to_string(hi))));
    return x;
}

double JsonReader::whole(const QString &key, double fallback, double lo, double hi) const
{
    const double x = number(key, fallback, lo, hi);
    if (x != std::floor(x))
        fail(key, QStringLiteral("must be a whole number, not %1").arg(x));
    return x;
}

QString JsonReader::text(const QString &key, const char *fallback) const
{
    if (!object_.contains(key))
        return QString::fromUtf8(fallback);
    if (!object_.value(key).isString())
        wrongType(key, "a string");
    return object_.value(key).toString();
}

bool JsonReader::flag(const QString &key, bool fallback) const
{
    if (!object_.contains(key))
        return fallback;
    if (!object_.value(key).isBool())
        wrongType(key, "true or false");
    return object_.value(key).toBool();
}

JsonReader JsonReader::optionalSub(const QString &key) const
{
    return JsonReader(object_.contains(key) ? object(key) : QJsonObject(), message_, field(key));
}

const char *JsonReader::typeName(const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::Null: return "null";
    case QJsonValue::Bool: return "a boolean";
    case QJsonValue::Double: return "a number";
    case QJsonValue::String: return "a string";
    case QJsonValue::Array: return "an array";
    case QJsonValue::Object: return "an object";
    case QJsonValue::Undefined: return "nothing";
    }
    return "?";
}

} // namespace sparsity
