#pragma once
// The protocol's front plot: top-1 change vs activations removed (both vs the ReLU baseline), one line per method,
// error bars of one standard deviation over seeds. Written as PNG and PDF (QPainter; needs a QGuiApplication).

#include "tune/protocol.h"

#include <string>
#include <utility>
#include <vector>

// Writes `base`.png and `base`.pdf; throws sparsity::Error naming the file when one cannot be written.
void writeFrontPlot(const std::string &base, const std::string &title,
                    const std::vector<std::pair<std::string, std::vector<sparsity::FrontPoint>>> &fronts);
