// Full training checkpoints (spec §6b): checkpoints/epoch=<E>-step=<S>.safetensors holds the weights
// under the original's names; the companion epoch=<E>-step=<S>.state (safetensors format too) holds
// everything else a run needs to continue exactly: optimiser moments, objective running estimates,
// step / epoch / position in the data order, schedule and RNG counters (exact text), and the
// fingerprint of the flags that must match on resume. Each file is written atomically (tmp + fsync +
// rename); the state file is written second and names a digest of the weights, so a kill at any
// instant leaves either a complete new checkpoint or none, and the previous one stays intact; it also
// holds a digest of its own contents, so a corrupt state file is refused rather than resumed.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/safetensors.h"

namespace lpl {

// What a checkpoint needs beyond the weights. Keys of `values` and `tensors` are chosen by the
// trainer (e.g. "rng.data_seed", "optim.exp_avg.<param>").
struct TrainState {
  int64_t epoch = 0;           // the epoch to continue (0-based)
  int64_t batch_in_epoch = 0;  // batches of `epoch` already trained (0: start of the epoch)
  int64_t global_step = 0;     // optimiser steps taken so far
  std::map<std::string, std::string> values;       // exact scalars (set_* / get_* below)
  NamedTensors tensors;                            // optimiser moments, running estimates, ...
  std::map<std::string, std::string> fingerprint;  // flags that must match on resume (name -> value)

  void set_i64(const std::string& key, int64_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f64(const std::string& key, double v);  // bit-exact round trip
  // Fail with a message naming the key and `file` when absent or malformed.
  int64_t get_i64(const std::string& key, const std::string& file) const;
  uint64_t get_u64(const std::string& key, const std::string& file) const;
  double get_f64(const std::string& key, const std::string& file) const;
  // The tensor `key` (CPU) or a clear error naming it and `file`.
  const Tensor& tensor(const std::string& key, const std::string& file) const;
};

struct CheckpointPaths {
  std::string weights;  // <dir>/checkpoints/epoch=E-step=S.safetensors
  std::string state;    // <dir>/checkpoints/epoch=E-step=S.state
};
std::string checkpoint_dir(const std::string& run_dir);  // <run_dir>/checkpoints
CheckpointPaths checkpoint_paths(const std::string& run_dir, int64_t epoch, int64_t step);
// The companion state file of a weights file (same stem, extension .state).
std::string state_path_for(const std::string& weights_path);

// Order-independent digest of named tensors (names, dtypes, shapes, bytes): binds a state file to
// the exact weights it was saved with.
std::string tensors_digest(const NamedTensors& tensors);
std::string tensors_digest(const std::map<std::string, Tensor>& tensors);
// Digest of a state file's contents: every metadata field (but state_digest itself) and every tensor,
// so that a flipped byte in the moments or an edited counter is refused on resume.
std::string state_digest(const std::map<std::string, std::string>& metadata, const NamedTensors& tensors);

// Writes weights then state (each atomic), then checkpoints/last.safetensors, then removes the
// oldest checkpoints beyond keep_last (0 keeps all) and temporary files left by killed runs.
// `epoch` and `step` name the files (the epoch being trained and the optimiser steps taken).
CheckpointPaths save_checkpoint(const std::string& run_dir, int64_t epoch, int64_t step,
                                const NamedTensors& weights, const TrainState& state, int keep_last,
                                const std::map<std::string, std::string>& weights_metadata = {});

struct LoadedCheckpoint {
  CheckpointPaths paths;
  SafetensorsFile weights;
  TrainState state;
};
// Loads a weights file and its companion state, refusing (by file and problem) a missing companion,
// a corrupt or truncated file, a state file of another format, or weights that are not the ones the
// state was saved with. Reads only; never writes.
LoadedCheckpoint load_checkpoint(const std::string& weights_path);

// One checkpoint found on disk.
struct CheckpointEntry {
  int64_t epoch = 0, step = 0;
  CheckpointPaths paths;
  bool complete = false;  // both files present
};
// The epoch=E-step=S checkpoints in <run_dir>/checkpoints, oldest first (by step, then epoch).
std::vector<CheckpointEntry> list_checkpoints(const std::string& run_dir);
// Removes all but the newest keep_last complete checkpoints (0 keeps all), incomplete ones older
// than the newest complete one, and temporary files of killed writers. Returns the removed paths.
std::vector<std::string> rotate_checkpoints(const std::string& run_dir, int keep_last);

// Checks that the flags a checkpoint was written with match this run's; the error names every
// differing flag with both values. Flags in `may_change` (e.g. max_epochs, to train a finished run
// longer) are not refused: their differences come back, worded like the error's, for a warning.
std::vector<std::string> check_fingerprint(const std::map<std::string, std::string>& saved,
                                           const std::map<std::string, std::string>& current, const std::string& file,
                                           const std::set<std::string>& may_change = {});

// Copies tensors from a loaded file into `dst` by name; a missing or mis-shaped tensor is refused by
// name (the error lists all of them). With `strict`, tensors in the file that `dst` lacks are refused too.
void restore_tensors(const std::map<std::string, Tensor>& src, const NamedTensors& dst,
                     const std::string& file, bool strict);

}  // namespace lpl
