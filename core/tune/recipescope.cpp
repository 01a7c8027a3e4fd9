// The parts of a recipe that need the model (its sites); recipe.cpp, the format itself, stays free of the engine
// so that tests/fuzz/fuzz_recipe.cpp compiles it alone.
#include "tune/recipe.h"

#include "error.h"
#include "graph/model.h"

#include <algorithm>

namespace sparsity {

std::vector<bool> scopeMask(const Recipe &recipe, const Model &model)
{
    const auto &sites = model.sites();
    std::vector<bool> mask(sites.size(), false);
    // Depth among activation sites only, so that input taps do not shift it.
    std::vector<int> order;
    for (const auto &s : sites)
        if (s.sparsifiable)
            order.push_back(s.index);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return sites[std::size_t(a)].depth < sites[std::size_t(b)].depth; });
    for (std::size_t rank = 0; rank < order.size(); ++rank) {
        const auto &s = sites[std::size_t(order[rank])];
        switch (recipe.scopeMode) {
        case Recipe::ScopeMode::All:
            mask[std::size_t(s.index)] = true;
            break;
        case Recipe::ScopeMode::Sites:
            mask[std::size_t(s.index)] =
                std::find(recipe.scopeSites.begin(), recipe.scopeSites.end(), s.name) != recipe.scopeSites.end();
            break;
        case Recipe::ScopeMode::Depth:
            mask[std::size_t(s.index)] = int(rank) >= recipe.minDepth && int(rank) <= recipe.maxDepth;
            break;
        }
    }
    if (recipe.scopeMode == Recipe::ScopeMode::Sites)
        for (const auto &name : recipe.scopeSites)
            if (std::none_of(sites.begin(), sites.end(), [&](const Site &s) { return s.name == name; }))
                throw Error("recipe scope names site '" + name + "', which " + model.path() + " does not have");
    return mask;
}

std::vector<float> sizeWeights(const Model &model, const std::vector<bool> &mask, Recipe::PenaltyWeighting weighting)
{
    const auto &sites = model.sites();
    std::vector<float> weights(sites.size(), 0.0f);
    double count = 0.0, elements = 0.0;
    for (std::size_t i = 0; i < sites.size() && i < mask.size(); ++i)
        if (mask[i]) {
            count += 1.0;
            elements += double(sites[i].elementsPerImage);
        }
    const bool perActivation = weighting == Recipe::PenaltyWeighting::PerActivation;
    if (perActivation && elements <= 0.0)
        throw Error("weighting 'activation' needs the sites' sizes of " + model.path() + ", which no forward pass has measured yet");
    for (std::size_t i = 0; i < sites.size() && i < mask.size(); ++i)
        if (mask[i])
            weights[i] = perActivation ? float(count * double(sites[i].elementsPerImage) / elements) : 1.0f;
    return weights;
}

std::vector<float> penaltyWeights(const Recipe &recipe, const Model &model)
{
    return sizeWeights(model, scopeMask(recipe, model), recipe.penaltyWeighting);
}

} // namespace sparsity
