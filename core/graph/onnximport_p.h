#pragma once
// Internal to core: the state shared by the ONNX importer (onnximport.cpp) and its operator table (onnxops.cpp).

// Debian's libonnx is built with these; its CMake targets would add them to every file of the library.
#ifndef ONNX_NAMESPACE
#define ONNX_NAMESPACE onnx
#endif
#ifndef ONNX_ML
#define ONNX_ML 1
#endif
#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

namespace sparsity::onnx_import {

// Everything known while the ONNX nodes are turned into TorchScript IR, one node at a time in graph order.
// An ONNX value is either computed at run time (a graph Value) or known while importing (a tensor: initializers,
// Constant nodes and the shape arithmetic that torch.onnx.export writes around Reshape and Resize).
struct Context {
    std::string path;
    int opset = 0;
    torch::jit::Module *module = nullptr;
    torch::jit::Graph *graph = nullptr;
    torch::jit::Value *self = nullptr;
    std::map<std::string, torch::jit::Value *> runtime;
    std::map<std::string, at::Tensor> statics;
    std::map<std::string, std::vector<std::int64_t>> shapes; // from ONNX shape inference, batch fixed to 1
    std::map<std::string, int> attributeUses;                // attribute name -> count, for unique names
    const onnx::NodeProto *node = nullptr;                    // the node being imported, for messages

    // "model.onnx: node '/layer1/Conv' (Conv): " — the prefix of every message about the current node.
    std::string where() const;
    [[noreturn]] void fail(const std::string &problem) const;

    bool isStatic(const std::string &name) const { return statics.count(name) != 0; }
    bool has(int input) const;
    // The node's input as a run-time value; a static input becomes a buffer of the module (so it is saved).
    torch::jit::Value *value(int input);
    // The node's input as a known tensor; fails when it is computed at run time.
    const at::Tensor &constant(int input) const;
    std::vector<std::int64_t> ints(int input) const;
    // The static shape of the node's input (from shape inference); fails when it is not known.
    std::vector<std::int64_t> shapeOf(int input) const;

    // Registers `t` on the module (a parameter when trainable, else a buffer) and reads it in the graph.
    torch::jit::Value *attribute(const at::Tensor &t, const std::string &nameHint, bool trainable);
    // A graph constant; a std::vector<int64_t> becomes an int[] and an IValue() a None.
    torch::jit::Value *constantValue(const c10::IValue &v);
    // Inserts aten::`op` with schema matching (torch's own overload resolution).
    torch::jit::Value *call(const char *op, std::vector<torch::jit::NamedValue> args);

    void setOutput(int output, torch::jit::Value *v);
    void setStatic(int output, const at::Tensor &t);
};

// Attribute accessors with ONNX's defaults.
const onnx::AttributeProto *findAttribute(const onnx::NodeProto &node, const std::string &name);
std::int64_t intAttribute(const onnx::NodeProto &node, const std::string &name, std::int64_t fallback);
float floatAttribute(const onnx::NodeProto &node, const std::string &name, float fallback);
std::string stringAttribute(const onnx::NodeProto &node, const std::string &name, const std::string &fallback);
std::vector<std::int64_t> intsAttribute(const onnx::NodeProto &node, const std::string &name);

// An ONNX tensor (initializer, Constant value) as a CPU tensor; external data is read relative to `modelDir`.
at::Tensor tensorFromProto(const onnx::TensorProto &t, const std::string &modelDir, const std::string &path);

// onnxshapeops.cpp: operators that move data or compute static shapes.
void importConcat(Context &c);
void importFlatten(Context &c);
void importReshape(Context &c);
void importSqueeze(Context &c);
void importUnsqueeze(Context &c);
void importTranspose(Context &c);
void importConstant(Context &c);
void importConstantOfShape(Context &c);
void importShape(Context &c);
void importGather(Context &c);
void importSlice(Context &c);
void importCast(Context &c);
void importIdentity(Context &c);

// Imports one node (ctx.node): emits its IR or computes it statically; unknown operators fail with their name.
void importNode(Context &ctx);

} // namespace sparsity::onnx_import
