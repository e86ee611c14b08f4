// Results of eval_linear: the printed table, eval.json, the original's results.yaml and the PNG
// plots (tools/plot_eval.py on matplotlib).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/linear_probe.h"

namespace lpl::eval {

struct ProbeResult {
  double top1 = 0, top5 = 0;                 // test accuracy, or the cross-validation mean
  bool cross_val = false;
  double top1_std = 0, top5_std = 0;         // over the folds (np.std)
  std::vector<ProbeAccuracy> folds;
};

struct LayerResult {
  int layer = 0;  // 1-based block number
  int64_t dim = 0;
  ProbeResult probe;
  std::vector<std::pair<std::string, double>> metrics;  // short names, see metric_key()
};

struct EvalResults {
  std::string dataset, weights, model_type;
  int num_classes = 0;
  int64_t probe_train_size = 0, test_size = 0;
  std::vector<LayerResult> layers;
  bool has_pixels = false;
  ProbeResult pixels;
};

// "Cosine Metrics/ratio" -> "cosine_ratio", "Manifold Metrics/global_radius" -> "global_radius", ...
std::string metric_key(const std::string& tensorboard_name);

std::string results_json(const EvalResults& r);
std::string results_table(const EvalResults& r);
// The original eval.py's results.yaml entry for one run (key = run directory name), and for the
// pixels: appended to `path` unless the key is already there (as eval.py skips evaluated runs).
// Returns false when the key existed.
bool append_results_yaml(const std::string& path, const std::string& key, const EvalResults& r);
// Whether the results.yaml at `path` (absent: no) has a top-level entry `key`.
bool yaml_has_key(const std::string& path, const std::string& key);
// Runs tools/plot_eval.py on the JSON file; returns "" on success or why the plots were skipped.
std::string draw_plots(const std::string& json_path);

}  // namespace lpl::eval
