#pragma once

#include <map>
#include <string>
#include <vector>

class QByteArray;

namespace sparsity {

class Model;

// A thresholds file ("sparsity-explorer/thresholds", version 1), written by `sparsity-cli search` and read by
// `analyze`, `project` and `export` (and the GUI). Sites are keyed by NAME (Site::name), never by index:
//   { "schema": "sparsity-explorer/thresholds", "version": 1, "model": "sample-resnet.pt",
//     "thresholds": { "layer1.0.relu": 0.12, ... }, "channel_thresholds": { "layer2.0.relu": [0.1, 0.2, ...] },
//     "provenance": { ...free-form: how the values were found... } }
// "model" names the model the thresholds were made for (informational); "channel_thresholds" and "provenance"
// are optional. A site the file does not name keeps threshold 0 (plain ReLU).
struct ThresholdsFile {
    std::string model;
    std::map<std::string, double> thresholds;
    std::map<std::string, std::vector<double>> channelThresholds;
    std::string provenanceJson; // a JSON object as text, empty when absent
};

inline constexpr int kThresholdsVersion = 1;
inline constexpr const char *kThresholdsSchema = "sparsity-explorer/thresholds";

// Throws sparsity::Error naming `origin` and the field (bad JSON, wrong schema or version, missing or mistyped
// field, a negative or non-finite threshold).
ThresholdsFile parseThresholdsFile(const QByteArray &json, const std::string &origin);
// Throws sparsity::Error naming the file when it cannot be read or parsed.
ThresholdsFile loadThresholdsFile(const std::string &path);
QByteArray thresholdsFileToJson(const ThresholdsFile &file);
// Atomic (QSaveFile): a failed write leaves any previous file unchanged. Throws sparsity::Error naming the file.
void saveThresholdsFile(const ThresholdsFile &file, const std::string &path);

// The model's current thresholds by site name (sparsifiable sites only), with its per-channel thresholds;
// entries of `channels` (by site index) replace the model's per-channel values of that site.
ThresholdsFile thresholdsFromModel(const Model &model, const std::map<int, std::vector<double>> &channels = {});

// Sets the model's thresholds from the file: named sites get their value, the others 0. Throws sparsity::Error
// naming `origin` when the file names a site the model does not have, a dense site (which cannot be thresholded),
// or gives a channel list whose length is not the site's channel count.
void applyThresholds(Model &model, const ThresholdsFile &file, const std::string &origin);

} // namespace sparsity
