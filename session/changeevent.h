#pragma once

#include <QMetaType>
#include <QVector>

namespace sparsity {

// Per-site values a user edits; each has its own undo command (undocommands.h).
enum class SiteField { Threshold, Scope, Band };

// What changed in a Session, sent once per change through Session::changed (as Tiled's ChangeEvent): a view
// switches on the kind and refreshes only what depends on it.
struct ChangeEvent {
    enum class Kind {
        Model,        // model, dataset or subset replaced: everything resets
        KeptImages,   // other heatmap images chosen; their maps arrive with the next captures
        Thresholds,   // `sites`' thresholds (scalar or per channel) changed
        SiteValue,    // `field` of `sites[0]` changed (also sent for a threshold, before Thresholds)
        Baseline,     // a new baseline capture
        Current,      // a new current capture, or the current one dropped
        Projection,   // the hardware projection was recomputed
        Presets,      // the list of processor presets was re-read
        SelectedSite, // `sites[0]` (-1: none) is the selected site
        Modified,     // isModified() changed
        ProjectPath,  // projectPath() changed
        Sweep,        // a sweep finished (lastSweep()), or the model it ran on was replaced (null)
    };

    Kind kind = Kind::Model;
    QVector<int> sites;
    SiteField field = SiteField::Threshold;

    int site() const { return sites.isEmpty() ? -1 : sites.front(); }
};

} // namespace sparsity

Q_DECLARE_METATYPE(sparsity::ChangeEvent)
