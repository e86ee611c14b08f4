// Where eval_linear reads weights and writes results (spec §6b).
#pragma once
#include <string>

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
// of checkpoints/ when the file lies there. Fails with a message naming the path and the problem.
Locations resolve_locations(const EvalArgs& a);

}  // namespace lpl::eval
