// ONNX tensors (initializers, Constant values) and node attributes, read into LibTorch tensors and plain values.
#include "graph/onnximport_p.h"

#include "error.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace sparsity::onnx_import {

const onnx::AttributeProto *findAttribute(const onnx::NodeProto &node, const std::string &name)
{
    for (const auto &a : node.attribute())
        if (a.name() == name)
            return &a;
    return nullptr;
}

std::int64_t intAttribute(const onnx::NodeProto &node, const std::string &name, std::int64_t fallback)
{
    const auto *a = findAttribute(node, name);
    return a ? a->i() : fallback;
}

float floatAttribute(const onnx::NodeProto &node, const std::string &name, float fallback)
{
    const auto *a = findAttribute(node, name);
    return a ? a->f() : fallback;
}

std::string stringAttribute(const onnx::NodeProto &node, const std::string &name, const std::string &fallback)
{
    const auto *a = findAttribute(node, name);
    return a ? a->s() : fallback;
}

std::vector<std::int64_t> intsAttribute(const onnx::NodeProto &node, const std::string &name)
{
    const auto *a = findAttribute(node, name);
    return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : std::vector<std::int64_t>{};
}

namespace {

struct TypeInfo {
    at::ScalarType type;
    std::size_t size;
};

bool typeInfo(int onnxType, TypeInfo &out)
{
    using T = onnx::TensorProto;
    switch (onnxType) {
    case T::FLOAT: out = {at::kFloat, 4}; return true;
    case T::DOUBLE: out = {at::kDouble, 8}; return true;
    case T::FLOAT16: out = {at::kHalf, 2}; return true;
    case T::INT64: out = {at::kLong, 8}; return true;
    case T::INT32: out = {at::kInt, 4}; return true;
    case T::INT16: out = {at::kShort, 2}; return true;
    case T::INT8: out = {at::kChar, 1}; return true;
    case T::UINT8: out = {at::kByte, 1}; return true;
    case T::BOOL: out = {at::kBool, 1}; return true;
    default: return false;
    }
}

// Reads the bytes of an initializer stored outside the model (ONNX's external data: a file next to the model,
// an offset and a length). The location must stay inside the model's folder.
std::string readExternal(const onnx::TensorProto &t, const std::string &dir, const std::string &path)
{
    std::string location;
    std::int64_t offset = 0, length = -1;
    for (const auto &entry : t.external_data()) {
        if (entry.key() == "location")
            location = entry.value();
        else if (entry.key() == "offset")
            offset = std::atoll(entry.value().c_str());
        else if (entry.key() == "length")
            length = std::atoll(entry.value().c_str());
    }
    const std::string what = path + ": initializer '" + t.name() + "' keeps its data in an external file";
    if (location.empty())
        throw Error(what + " but names no location");
    if (location[0] == '/' || location.find("..") != std::string::npos)
        throw Error(what + " outside the model's folder ('" + location + "'); only files next to the model are read");
    const std::string file = dir + "/" + location;
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw Error(what + ", '" + location + "', which cannot be opened (looked for " + file +
                    "); copy it next to the model");
    in.seekg(0, std::ios::end);
    const std::int64_t size = std::int64_t(in.tellg());
    if (offset < 0 || offset > size || (length >= 0 && offset + length > size))
        throw Error(what + ", '" + location + "', which is too short (" + std::to_string(size) + " bytes; the tensor needs bytes " +
                    std::to_string(offset) + " to " + std::to_string(offset + std::max<std::int64_t>(length, 0)) + ")");
    if (length < 0)
        length = size - offset;
    std::string bytes(std::size_t(length), '\0');
    in.seekg(offset);
    in.read(bytes.data(), length);
    return bytes;
}

} // namespace

at::Tensor tensorFromProto(const onnx::TensorProto &t, const std::string &modelDir, const std::string &path)
{
    std::vector<std::int64_t> dims(t.dims().begin(), t.dims().end());
    std::int64_t count = 1;
    for (auto d : dims) {
        if (d < 0 || (d > 0 && count > (std::int64_t(1) << 40) / d))
            throw Error(path + ": tensor '" + t.name() + "' has an invalid shape");
        count *= d;
    }
    TypeInfo info{};
    if (!typeInfo(t.data_type(), info))
        throw Error(path + ": tensor '" + t.name() + "' has ONNX data type " + std::to_string(t.data_type()) +
                    ", which Sparsity Explorer does not read (float, double, half, integers and bool are read)");
    at::Tensor out = at::empty(dims, at::TensorOptions().dtype(info.type));
    const bool external = t.data_location() == onnx::TensorProto::EXTERNAL;
    if (external || t.has_raw_data()) {
        const std::string raw = external ? readExternal(t, modelDir, path) : t.raw_data();
        if (raw.size() != std::size_t(count) * info.size)
            throw Error(path + ": tensor '" + t.name() + "' holds " + std::to_string(raw.size()) + " bytes; its shape needs " +
                        std::to_string(std::size_t(count) * info.size));
        if (count > 0)
            std::memcpy(out.data_ptr(), raw.data(), raw.size());
    } else {
        auto fill = [&](const auto &field, auto convert) {
            if (field.size() != count)
                throw Error(path + ": tensor '" + t.name() + "' holds " + std::to_string(field.size()) + " values; its shape needs " +
                            std::to_string(count));
            for (std::int64_t i = 0; i < count; ++i)
                convert(i, field.Get(int(i)));
        };
        using T = onnx::TensorProto;
        switch (t.data_type()) {
        case T::FLOAT: fill(t.float_data(), [&](std::int64_t i, float v) { out.data_ptr<float>()[i] = v; }); break;
        case T::DOUBLE: fill(t.double_data(), [&](std::int64_t i, double v) { out.data_ptr<double>()[i] = v; }); break;
        case T::INT64: fill(t.int64_data(), [&](std::int64_t i, std::int64_t v) { out.data_ptr<std::int64_t>()[i] = v; }); break;
        case T::FLOAT16: {
            at::Tensor bits = at::empty(dims, at::kShort);
            fill(t.int32_data(), [&](std::int64_t i, std::int32_t v) { bits.data_ptr<std::int16_t>()[i] = std::int16_t(v); });
            std::memcpy(out.data_ptr(), bits.data_ptr(), std::size_t(count) * 2);
            break;
        }
        default: {
            at::Tensor wide = at::empty(dims, at::kInt);
            fill(t.int32_data(), [&](std::int64_t i, std::int32_t v) { wide.data_ptr<std::int32_t>()[i] = v; });
            out = wide.to(info.type);
        }
        }
    }
    // Run-time values are float32 in the engine; integer tensors only feed static shape arithmetic.
    if (info.type == at::kHalf || info.type == at::kDouble)
        return out.to(at::kFloat);
    if (info.type == at::kInt || info.type == at::kShort || info.type == at::kChar || info.type == at::kByte)
        return out.to(at::kLong);
    return out;
}

} // namespace sparsity::onnx_import
