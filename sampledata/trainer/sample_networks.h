#pragma once

#include <torch/script.h>

#include <string>

namespace samples {

// Both networks are built as TorchScript modules from source, so the saved archives are exactly what
// `torch.jit.script` would give a PyTorch user: plain LibTorch and plain PyTorch load them.

// ResNet-style: stem, three residual stages (16, 32, 64 channels), one in-place ReLU module per block
// that the block calls twice, global average pooling, linear classifier.
torch::jit::Module makeResNet(int numClasses);

// MobileNetV2-style: inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1 project) with ReLU6;
// the residual connection is an `if` on a module attribute, so the graph has control flow.
torch::jit::Module makeMobileNet(int numClasses);

} // namespace samples
