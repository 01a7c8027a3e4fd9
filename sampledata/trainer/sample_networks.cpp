#include "sample_networks.h"

#include <torch/torch.h>

#include <cmath>

namespace samples {

namespace {

int nextTypeId = 0;

// Each instance gets its own class type: its forward bakes in its own constants (stride, groups, ...).
torch::jit::Module newModule(const std::string &kind)
{
    torch::jit::Module m("__torch__.sparsity_samples." + kind + "_" + std::to_string(nextTypeId++));
    m.register_attribute("training", c10::BoolType::get(), true);
    return m;
}

torch::jit::Module conv(int64_t in, int64_t out, int k, int stride, int groups)
{
    auto m = newModule("Conv2d");
    const int pad = k / 2;
    const double fanIn = double(in / groups) * k * k;
    m.register_parameter("weight", torch::randn({out, in / groups, k, k}) * std::sqrt(2.0 / fanIn), false);
    m.define("def forward(self, x):\n"
             "    return torch.conv2d(x, self.weight, None, [" + std::to_string(stride) + ", " + std::to_string(stride) +
             "], [" + std::to_string(pad) + ", " + std::to_string(pad) + "], [1, 1], " + std::to_string(groups) + ")\n");
    return m;
}

torch::jit::Module batchNorm(int64_t channels)
{
    auto m = newModule("BatchNorm2d");
    m.register_parameter("weight", torch::ones({channels}), false);
    m.register_parameter("bias", torch::zeros({channels}), false);
    m.register_buffer("running_mean", torch::zeros({channels}));
    m.register_buffer("running_var", torch::ones({channels}));
    m.define("def forward(self, x):\n"
             "    return torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var,"
             " self.training, 0.1, 1e-05, False)\n");
    return m;
}

torch::jit::Module reluInPlace()
{
    auto m = newModule("ReLU");
    m.define("def forward(self, x):\n    return torch.relu_(x)\n");
    return m;
}

torch::jit::Module relu6InPlace()
{
    auto m = newModule("ReLU6");
    m.define("def forward(self, x):\n    return torch.hardtanh_(x, 0.0, 6.0)\n");
    return m;
}

torch::jit::Module linear(int64_t in, int64_t out)
{
    auto m = newModule("Linear");
    const double bound = 1.0 / std::sqrt(double(in));
    m.register_parameter("weight", torch::rand({out, in}) * 2 * bound - bound, false);
    m.register_parameter("bias", torch::rand({out}) * 2 * bound - bound, false);
    m.define("def forward(self, x):\n    return torch.linear(x, self.weight, self.bias)\n");
    return m;
}

torch::jit::Module basicBlock(int64_t in, int64_t out, int stride)
{
    auto m = newModule("BasicBlock");
    m.register_module("conv1", conv(in, out, 3, stride, 1));
    m.register_module("bn1", batchNorm(out));
    m.register_module("relu", reluInPlace());
    m.register_module("conv2", conv(out, out, 3, 1, 1));
    m.register_module("bn2", batchNorm(out));
    const bool downsample = stride != 1 || in != out;
    if (downsample) {
        m.register_module("downsample_conv", conv(in, out, 1, stride, 1));
        m.register_module("downsample_bn", batchNorm(out));
    }
    m.define(std::string("def forward(self, x):\n"
                         "    identity = x\n"
                         "    out = self.relu.forward(self.bn1.forward(self.conv1.forward(x)))\n"
                         "    out = self.bn2.forward(self.conv2.forward(out))\n") +
             (downsample ? "    identity = self.downsample_bn.forward(self.downsample_conv.forward(x))\n" : "") +
             "    out += identity\n"
             "    return self.relu.forward(out)\n");
    return m;
}

torch::jit::Module convBnAct(int64_t in, int64_t out, int k, int stride, int groups)
{
    auto m = newModule("ConvBNReLU6");
    m.register_module("conv", conv(in, out, k, stride, groups));
    m.register_module("bn", batchNorm(out));
    m.register_module("act", relu6InPlace());
    m.define("def forward(self, x):\n    return self.act.forward(self.bn.forward(self.conv.forward(x)))\n");
    return m;
}

torch::jit::Module invertedResidual(int64_t in, int64_t out, int stride, int expand)
{
    auto m = newModule("InvertedResidual");
    const int64_t hidden = in * expand;
    m.register_attribute("use_res", c10::BoolType::get(), stride == 1 && in == out);
    m.register_module("expand", convBnAct(in, hidden, 1, 1, 1));
    m.register_module("dw", convBnAct(hidden, hidden, 3, stride, int(hidden)));
    m.register_module("project", conv(hidden, out, 1, 1, 1));
    m.register_module("project_bn", batchNorm(out));
    m.define("def forward(self, x):\n"
             "    out = self.project_bn.forward(self.project.forward(self.dw.forward(self.expand.forward(x))))\n"
             "    if self.use_res:\n"
             "        out = out + x\n"
             "    return out\n");
    return m;
}

} // namespace

torch::jit::Module makeResNet(int numClasses)
{
    auto m = newModule("SampleResNet");
    m.register_module("conv1", conv(1, 16, 3, 1, 1));
    m.register_module("bn1", batchNorm(16));
    m.register_module("relu", reluInPlace());
    m.register_module("layer1", basicBlock(16, 16, 1));
    m.register_module("layer2", basicBlock(16, 32, 2));
    m.register_module("layer3", basicBlock(32, 64, 2));
    m.register_module("fc", linear(64, numClasses));
    m.define("def forward(self, x):\n"
             "    x = self.relu.forward(self.bn1.forward(self.conv1.forward(x)))\n"
             "    x = self.layer1.forward(x)\n"
             "    x = self.layer2.forward(x)\n"
             "    x = self.layer3.forward(x)\n"
             "    x = torch.adaptive_avg_pool2d(x, [1, 1])\n"
             "    x = torch.flatten(x, 1)\n"
             "    return self.fc.forward(x)\n");
    return m;
}

torch::jit::Module makeMobileNet(int numClasses)
{
    auto m = newModule("SampleMobileNetV2");
    m.register_module("stem", convBnAct(1, 16, 3, 1, 1));
    m.register_module("block1", invertedResidual(16, 16, 1, 4));
    m.register_module("block2", invertedResidual(16, 24, 2, 4));
    m.register_module("block3", invertedResidual(24, 24, 1, 4));
    m.register_module("block4", invertedResidual(24, 32, 2, 4));
    m.register_module("block5", invertedResidual(32, 32, 1, 4));
    m.register_module("head", convBnAct(32, 128, 1, 1, 1));
    m.register_module("classifier", linear(128, numClasses));
    m.define("def forward(self, x):\n"
             "    x = self.stem.forward(x)\n"
             "    x = self.block1.forward(x)\n"
             "    x = self.block2.forward(x)\n"
             "    x = self.block3.forward(x)\n"
             "    x = self.block4.forward(x)\n"
             "    x = self.block5.forward(x)\n"
             "    x = self.head.forward(x)\n"
             "    x = torch.adaptive_avg_pool2d(x, [1, 1])\n"
             "    x = torch.flatten(x, 1)\n"
             "    return self.classifier.forward(x)\n");
    return m;
}

} // namespace samples
