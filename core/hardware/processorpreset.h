#pragma once

#include "hardware/processor.h"

#include <QString>

#include <string>
#include <vector>

class QByteArray;

namespace sparsity {

// Processor presets are JSON files (resources/presets/*.json built in, plus a user directory):
//   { "format": 1, "name": "...", "description": "...", "mapping": "resident" | "sequential", "skipsZeros": true,
//     "parameters": { "cores": { "value": 196, "source": "..." }, "energyPerSynopJ": { "value": 1.5e-12,
//                     "assumption": "..." }, ... } }
// Every field of ProcessorParams after `skipsZeros` is required under "parameters", by its C++ name, in the
// units of that name (J, W, Hz, cycles). A parameter is a number or an object with "value" and an optional
// "source" (a public figure) or "assumption" (our choice) note. docs/processor-model.md describes each one.

// Parses one preset; `origin` (a file name) prefixes every error. Throws Error naming the file and the field.
ProcessorParams parsePreset(const QByteArray &json, const std::string &origin);
// Reads and parses a preset file. Throws Error naming the file.
ProcessorParams loadPreset(const QString &path);
// Writes a preset in the same format (notes kept), for users who edit a copy of a built-in one.
QByteArray presetToJson(const ProcessorParams &params);

// Directory of the presets shipped with the program (SPARSITY_RESOURCES_DIR/presets).
QString builtInPresetDir();

struct PresetEntry {
    QString path;
    bool builtIn = false;
    bool valid = false;
    ProcessorParams params; // when valid
    std::string error;      // when not valid: the loader's message
};

// Built-in presets, then those in `userDir` (if given), each sorted by file name. Invalid files are listed
// with their error instead of being dropped, so the user sees why a preset is missing.
std::vector<PresetEntry> listPresets(const QString &userDir = QString());

} // namespace sparsity
