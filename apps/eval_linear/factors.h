// Shapes3D evaluation per factor: every factor (floor_hue .. orientation) is probed on its own
// labels (the original scored the 'shape' labels for every factor, spec §7), and the
// factor probe mean summarises them (not the paper's majority-vote disentanglement score).
#pragma once
#include <string>
#include <vector>

#include "apps/eval_linear/report.h"

namespace lpl::eval {

struct FactorResult {
  std::string factor;  // data/shapes3d.h names: floor_hue, wall_hue, object_hue, scale, shape, orientation
  EvalResults r;       // the probes on this factor's labels (num_classes = the factor's size)
};

// Mean over the factors of the final evaluated layer's top-1 test accuracy (pixels = true: of the
// pixel probe's). NaN when a factor has no such result.
double factor_probe_mean(const std::vector<FactorResult>& f, bool pixels);

// The --out JSON: dataset, weights, model_type, split sizes, factor_probe_mean (and
// pixels_factor_probe_mean), then "factors": {name: {num_classes, chance, layers, pixels}} with
// each entry laid out as the single-label eval.json.
std::string factors_json(const std::vector<FactorResult>& f);
// One line per factor: classes, chance, final-layer top-1/top-5, pixels top-1; then the score.
std::string factors_table(const std::vector<FactorResult>& f);
// results_<factor>.yaml beside results.yaml (the original's file names).
std::string factor_yaml_path(const std::string& results_yaml, const std::string& factor);

}  // namespace lpl::eval
