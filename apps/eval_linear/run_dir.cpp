#include "apps/eval_linear/run_dir.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/common.h"

namespace lpl::eval {

namespace fs = std::filesystem;

namespace {

const fs::path kCheckpoint = fs::path("checkpoints") / "last.safetensors";

// Sub-directories of dir holding a checkpoint, sorted.
std::vector<std::string> runs_under(const fs::path& dir) {
  std::vector<std::string> runs;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && fs::exists(e.path() / kCheckpoint)) runs.push_back(e.path().string());
  std::sort(runs.begin(), runs.end());
  return runs;
}

}  // namespace

RunList resolve_runs(const EvalArgs& a) {
  RunList l;
  if (!a.experiment_dir.empty()) {
    const fs::path dir(a.experiment_dir);
    if (fs::is_directory(dir) && !fs::exists(dir / kCheckpoint)) {
      const auto runs = runs_under(dir);
      if (runs.size() > 1) {
        l.several = true;
        const fs::path parent = fs::absolute(dir).lexically_normal();
        const fs::path exp = parent.filename().empty() ? parent.parent_path() : parent;
        l.combined_json = a.out.empty() ? (exp / "eval.json").string() : a.out;
        for (const auto& r : runs) {
          Locations x;
          x.run_dir = r;
          x.weights = (fs::path(r) / kCheckpoint).string();
          x.json = (fs::path(r) / "eval.json").string();
          x.yaml = (exp / "results.yaml").string();
          x.yaml_key = fs::path(r).filename().string();
          l.runs.push_back(x);
        }
        return l;
      }
    }
  }
  l.runs.push_back(resolve_locations(a));
  return l;
}

Locations resolve_locations(const EvalArgs& a) {
  Locations l;
  if (!a.experiment_dir.empty()) {
    const fs::path dir(a.experiment_dir);
    if (!fs::is_directory(dir)) fail(fmt::format("eval_linear: --experiment_dir '{}' is not a directory", a.experiment_dir));
    const fs::path& ckpt = kCheckpoint;
    if (fs::exists(dir / ckpt)) {
      l.run_dir = dir.string();
    } else {
      const auto runs = runs_under(dir);
      if (runs.empty())
        fail(fmt::format("eval_linear: no checkpoints/last.safetensors in '{}' or its sub-directories", a.experiment_dir));
      if (runs.size() > 1)
        fail(fmt::format("eval_linear: '{}' holds {} runs ({}); pass one of them as --experiment_dir", a.experiment_dir,
                         runs.size(), fmt::join(runs, ", ")));
      l.run_dir = runs[0];
    }
    l.weights = (fs::path(l.run_dir) / ckpt).string();
  } else if (!a.weights.empty()) {
    const fs::path w(a.weights);
    if (fs::is_directory(w))
      fail(fmt::format("eval_linear: --weights '{}' is a directory, expected a .safetensors file (--experiment_dir takes a "
                       "run directory)", a.weights));
    if (!fs::is_regular_file(w)) fail(fmt::format("eval_linear: --weights '{}' does not exist", a.weights));
    if (w.extension() == ".ckpt")
      fail(fmt::format("eval_linear: --weights '{}' is a PyTorch Lightning checkpoint; convert it first with "
                       "/usr/bin/python3 tools/ckpt_to_safetensors.py {} OUT.safetensors", a.weights, a.weights));
    l.weights = a.weights;
    const fs::path parent = fs::absolute(w).parent_path();
    l.run_dir = (parent.filename() == "checkpoints" ? parent.parent_path() : parent).string();
  }
  const fs::path run = fs::path(l.run_dir).lexically_normal();
  if (!a.out.empty()) {
    l.json = a.out;
  } else if (!l.run_dir.empty()) {
    l.json = (run / "eval.json").string();
  } else {
    l.json = fmt::format("eval_random_init_seed{}.json", a.random_seed);
  }
  if (!l.run_dir.empty()) {
    const fs::path abs = fs::absolute(run).lexically_normal();
    const fs::path name = abs.filename().empty() ? abs.parent_path().filename() : abs.filename();
    const fs::path parent = abs.filename().empty() ? abs.parent_path().parent_path() : abs.parent_path();
    l.yaml = (parent / "results.yaml").string();
    l.yaml_key = name.string();
  } else {
    l.yaml = (fs::absolute(fs::path(l.json)).parent_path() / "results.yaml").string();
    l.yaml_key = fmt::format("random_init_seed{}", a.random_seed);
  }
  return l;
}

}  // namespace lpl::eval
