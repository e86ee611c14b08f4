#include "engine/run_dir.h"

#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "engine/file_util.h"

namespace lpl {

namespace fs = std::filesystem;

std::string run_dir_path(const std::string& log_root, const std::string& dataset, const std::string& experiment,
                         const std::string& descriptor) {
  return (fs::path(log_root) / dataset / experiment / descriptor).string();
}

void create_new_run_dir(const std::string& run_dir) {
  std::error_code ec;
  if (fs::exists(run_dir, ec)) {
    if (!fs::is_directory(run_dir, ec)) fail(fmt::format("run directory '{}' exists and is not a directory", run_dir));
    if (!fs::is_empty(run_dir, ec))
      fail(fmt::format("run directory '{}' already exists; pass --resume_from_checkpoint {} to continue that run, "
                       "or choose another --experiment_name / --log_dir (nothing was written)",
                       run_dir, run_dir));
  }
  make_dirs(run_dir);
}

namespace {

// The run directory of a file inside <run>/checkpoints/.
std::string run_dir_of_file(const fs::path& file) {
  fs::path ck = fs::absolute(file).lexically_normal().parent_path();
  if (ck.filename() != "checkpoints")
    fail(fmt::format("checkpoint '{}' is not inside a run's checkpoints/ folder, so there is no run to continue; "
                     "use --init_from to start a new run from its weights",
                     file.string()));
  return ck.parent_path().string();
}

ResumeTarget newest_in_run(const std::string& run_dir, const std::string& arg) {
  auto all = list_checkpoints(run_dir);
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->complete) return {run_dir, it->paths};
  fail(fmt::format("--resume_from_checkpoint '{}': no complete checkpoint in '{}' (need epoch=E-step=S.safetensors "
                   "and its .state file)",
                   arg, checkpoint_dir(run_dir)));
}

}  // namespace

ResumeTarget resolve_resume(const std::string& arg) {
  std::error_code ec;
  fs::path p(arg);
  if (!fs::exists(p, ec)) fail(fmt::format("--resume_from_checkpoint '{}' does not exist", arg));
  if (fs::is_regular_file(p, ec)) {
    std::string name = p.filename().string();
    if (name == "last.safetensors") {
      SafetensorsFile f = load_safetensors(p.string());
      auto it = f.metadata.find("checkpoint");
      if (it == f.metadata.end())
        fail(fmt::format("'{}' does not name its checkpoint (no 'checkpoint' metadata); pass the run directory instead",
                         arg));
      std::string run = run_dir_of_file(p);
      return {run, {(p.parent_path() / (it->second + ".safetensors")).string(),
                    (p.parent_path() / (it->second + ".state")).string()}};
    }
    fs::path weights = p;
    if (p.extension() == ".state") weights.replace_extension(".safetensors");
    else if (p.extension() != ".safetensors")
      fail(fmt::format("--resume_from_checkpoint '{}' is neither a .safetensors checkpoint, a .state file nor a folder",
                       arg));
    return {run_dir_of_file(weights), {weights.string(), state_path_for(weights.string())}};
  }
  if (!fs::is_directory(p, ec)) fail(fmt::format("--resume_from_checkpoint '{}' is not a file or a folder", arg));
  fs::path abs = fs::absolute(p).lexically_normal();
  if (abs.filename().empty()) abs = abs.parent_path();  // trailing slash
  if (abs.filename() == "checkpoints") return newest_in_run(abs.parent_path().string(), arg);
  if (fs::is_directory(abs / "checkpoints", ec)) return newest_in_run(abs.string(), arg);
  // An experiment directory holding one descriptor sub-directory (as eval_linear accepts).
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(abs))
    if (e.is_directory() && fs::is_directory(e.path() / "checkpoints", ec)) runs.push_back(e.path());
  if (runs.size() == 1) return newest_in_run(runs[0].string(), arg);
  if (runs.empty()) fail(fmt::format("--resume_from_checkpoint '{}': no checkpoints/ folder there", arg));
  fail(fmt::format("--resume_from_checkpoint '{}' holds {} runs ({}, {}, ...); name one of them", arg, runs.size(),
                   runs[0].filename().string(), runs[1].filename().string()));
}

}  // namespace lpl
