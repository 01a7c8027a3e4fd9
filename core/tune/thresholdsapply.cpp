// A thresholds file read from or applied to a model; thresholdsfile.cpp, the format itself, stays free of the
// engine so that tests/fuzz/fuzz_thresholds.cpp compiles it alone.
#include "tune/thresholdsfile.h"

#include "error.h"
#include "graph/model.h"

#include <QFileInfo>

namespace sparsity {

namespace {

// applyThresholds' origin is a thresholds file or a project: named without calling it a thresholds file.
[[noreturn]] void failAt(const std::string &origin, const std::string &what)
{
    throw Error(origin + ": " + what);
}

} // namespace

ThresholdsFile thresholdsFromModel(const Model &model, const std::map<int, std::vector<double>> &channels)
{
    ThresholdsFile f;
    f.model = QFileInfo(QString::fromStdString(model.path())).fileName().toStdString();
    const auto t = model.thresholds();
    const auto own = model.channelThresholds();
    for (const Site &s : model.sites()) {
        if (!s.sparsifiable)
            continue;
        f.thresholds[s.name] = double(t[std::size_t(s.index)]);
        const auto it = channels.find(s.index);
        if (it != channels.end() && !it->second.empty())
            f.channelThresholds[s.name] = it->second;
        else if (it == channels.end() && !own[std::size_t(s.index)].empty())
            f.channelThresholds[s.name] = std::vector<double>(own[std::size_t(s.index)].begin(), own[std::size_t(s.index)].end());
    }
    return f;
}

void applyThresholds(Model &model, const ThresholdsFile &f, const std::string &origin)
{
    const auto &sites = model.sites();
    auto find = [&](const std::string &name, const char *field) -> const Site & {
        for (const Site &s : sites)
            if (s.name == name) {
                if (!s.sparsifiable)
                    failAt(origin, std::string("\"") + field + "\" names site \"" + name + "\", a dense activation (" + s.op +
                                     ") that cannot be thresholded");
                return s;
            }
        failAt(origin, std::string("\"") + field + "\" names site \"" + name + "\", which " + model.path() +
                         " does not have (the file was made for \"" + f.model + "\")");
    };
    std::vector<float> values(sites.size(), 0.0f);
    for (const auto &[name, value] : f.thresholds)
        values[std::size_t(find(name, "thresholds").index)] = float(value);
    std::vector<std::pair<int, std::vector<float>>> channels;
    for (const auto &[name, list] : f.channelThresholds) {
        const Site &s = find(name, "channel_thresholds");
        if (!s.shape.empty() && std::int64_t(list.size()) != s.shape[0])
            failAt(origin, "\"channel_thresholds." + name + "\" has " + std::to_string(list.size()) + " values; the site has " +
                             std::to_string(s.shape[0]) + " channels");
        channels.emplace_back(s.index, std::vector<float>(list.begin(), list.end()));
    }
    model.setThresholds(values);
    for (const Site &s : sites)
        model.setChannelThresholds(s.index, {});
    for (const auto &[index, list] : channels)
        model.setChannelThresholds(index, list);
}

} // namespace sparsity
