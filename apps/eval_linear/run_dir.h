// Where eval_linear reads weights and writes results (spec §6b).
#pragma once
#include <string>
#include <vector>

#include "apps/eval_linear/args.h"

namespace lpl::eval {

struct Locations {
  std::string weights;   // .safetensors file ("" for --random_init)
  std::string run_dir;   // the run directory ("" when unknown)
  std::string json;      // results JSON
  std::string yaml;      // results.yaml of the experiment (the run directory's parent)
  std::string yaml_key;  // the run directory's name, as eval.py keys its results
};

// --experiment_dir: a run directory (holding checkpoints/last.safetensors) or an experiment
// directory with exactly one such sub-directory. --weights FILE: its run directory is the parent
// of checkpoints/ when the file lies there. Fails with a message naming the path and the problem
// (also when the experiment directory holds several runs: resolve_runs() takes those).
Locations resolve_locations(const EvalArgs& a);

// Every network one command evaluates. An --experiment_dir holding several run sub-directories
// (as eval.py walks them): one Locations per run, in name order, each with its run directory's
// eval.json, the experiment's results.yaml and the run's name as key; `combined_json` (--out, or
// DIR/eval.json) collects the runs keyed by name. Otherwise the one resolve_locations() gives.
struct RunList {
  std::vector<Locations> runs;
  bool several = false;
  std::string combined_json;  // several only
};
RunList resolve_runs(const EvalArgs& a);

}  // namespace lpl::eval
