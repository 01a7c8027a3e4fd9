"""Exports torchvision ResNet-50 and MobileNetV2 (224x224, weights=None, eval mode) as TorchScript, the way users do.

Usage: /usr/bin/python3 scripts/export_torchvision.py OUTDIR
Writes resnet50-script.pt, resnet50-trace.pt, mobilenet_v2-script.pt, mobilenet_v2-trace.pt. The weights are random
(no download): timing does not depend on their values. For the benchmarks in bench/; never commit the output.
"""
import os
import sys

import torch
import torchvision


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    example = torch.randn(1, 3, 224, 224)
    for name in ("resnet50", "mobilenet_v2"):
        model = getattr(torchvision.models, name)(weights=None).eval()
        # Random BatchNorm statistics, so the folded and unfolded arithmetic differ as they do on trained weights.
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.1, 0.1)
                    m.running_var.uniform_(0.5, 1.5)
        torch.jit.script(model).save(os.path.join(out, name + "-script.pt"))
        with torch.no_grad():
            torch.jit.trace(model, example).save(os.path.join(out, name + "-trace.pt"))
        print(os.path.join(out, name + "-{script,trace}.pt"))


if __name__ == "__main__":
    main()
