// The run directory of spec §6b and what --resume_from_checkpoint points at. A new run never writes
// into an existing run directory (the original's guard checks the wrong path); a resumed run
// continues in the directory of its checkpoint.
#pragma once
#include <string>

#include "engine/checkpoint.h"

namespace lpl {

// <log_root>/<dataset>/<experiment_name>/<descriptor>
std::string run_dir_path(const std::string& log_root, const std::string& dataset, const std::string& experiment,
                         const std::string& descriptor);

// A new run: refuses a run directory that exists and is not empty (naming it and the flag that
// continues it), then creates it.
void create_new_run_dir(const std::string& run_dir);

struct ResumeTarget {
  std::string run_dir;    // where the resumed run keeps writing
  CheckpointPaths paths;  // the checkpoint to continue from
};
// --resume_from_checkpoint accepts a checkpoint's weights file (epoch=E-step=S.safetensors), its
// .state file, checkpoints/last.safetensors, a checkpoints/ folder, a run directory, or an
// experiment directory with one descriptor sub-directory; folders resolve to their newest complete
// checkpoint. Fails with a message naming the path when nothing there can be resumed.
ResumeTarget resolve_resume(const std::string& arg);

}  // namespace lpl
