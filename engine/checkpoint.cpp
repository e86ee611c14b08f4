#include "engine/checkpoint.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include "engine/file_util.h"
#include "engine/tb_events.h"

namespace lpl {

namespace fs = std::filesystem;

namespace {

constexpr const char* kFormat = "lpl-train-state";
// Version 2 adds state_digest (every header field and tensor of the state file); version 1 files
// are still read, with only their weights verified.
constexpr const char* kVersion = "2";
constexpr const char* kVersionNoStateDigest = "1";
// Metadata keys of the state file (scalars use "v." + key, fingerprint flags "flag." + name).
constexpr const char* kValuePrefix = "v.";
constexpr const char* kFlagPrefix = "flag.";

template <class T>
T parse_int(const std::string& s, const std::string& key, const std::string& file) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    fail(fmt::format("checkpoint state '{}': value '{}' = '{}' is not an integer", file, key, s));
  return v;
}

const std::string& value_of(const std::map<std::string, std::string>& m, const std::string& key,
                            const std::string& file) {
  auto it = m.find(key);
  if (it == m.end()) fail(fmt::format("checkpoint state '{}' has no value '{}'", file, key));
  return it->second;
}

// Test hook for the kill tests: LPL_CRASH_IN_CHECKPOINT="<n>:<point>" SIGKILLs this process at
// <point> of its n-th checkpoint (1-based, counted per process). Points: weights_partial (a
// half-written temporary weights file on disk), after_weights, state_partial, after_state.
void crash_point(const char* point, const std::string& target) {
  static int calls = 0;
  const char* env = std::getenv("LPL_CRASH_IN_CHECKPOINT");
  if (!env || !*env) return;
  if (std::strcmp(point, "weights_partial") == 0) ++calls;  // the first point of each checkpoint
  std::string want = env;
  auto colon = want.find(':');
  if (colon == std::string::npos || want.substr(colon + 1) != point || std::to_string(calls) != want.substr(0, colon))
    return;
  if (std::strstr(point, "partial")) {  // what a kill in the middle of a write leaves behind
    fs::path t(target);
    std::string tmp = (t.parent_path() / fmt::format(".{}.tmp-{}", t.filename().string(), ::getpid())).string();
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f) {
      std::fputs("partial", f);
      std::fclose(f);
    }
  }
  ::kill(::getpid(), SIGKILL);
}

}  // namespace

// ---- TrainState scalars -----------------------------------------------------------------------------

void TrainState::set_i64(const std::string& key, int64_t v) { values[key] = std::to_string(v); }
void TrainState::set_u64(const std::string& key, uint64_t v) { values[key] = std::to_string(v); }
// The bit pattern in hex: exact for every double, NaN payloads and signed zeros included.
void TrainState::set_f64(const std::string& key, double v) {
  values[key] = fmt::format("0x{:016x}", std::bit_cast<uint64_t>(v));
}
int64_t TrainState::get_i64(const std::string& key, const std::string& file) const {
  return parse_int<int64_t>(value_of(values, key, file), key, file);
}
uint64_t TrainState::get_u64(const std::string& key, const std::string& file) const {
  return parse_int<uint64_t>(value_of(values, key, file), key, file);
}
double TrainState::get_f64(const std::string& key, const std::string& file) const {
  const std::string& s = value_of(values, key, file);
  uint64_t bits = 0;
  bool ok = s.size() == 18 && s.compare(0, 2, "0x") == 0;
  if (ok) {
    auto [p, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), bits, 16);
    ok = ec == std::errc() && p == s.data() + s.size();
  }
  if (!ok) fail(fmt::format("checkpoint state '{}': value '{}' = '{}' is not a float64 bit pattern", file, key, s));
  return std::bit_cast<double>(bits);
}
const Tensor& TrainState::tensor(const std::string& key, const std::string& file) const {
  for (const auto& [n, t] : tensors)
    if (n == key) return t;
  fail(fmt::format("checkpoint state '{}' has no tensor '{}'", file, key));
}

// ---- Paths ----------------------------------------------------------------------------------------------

std::string checkpoint_dir(const std::string& run_dir) { return (fs::path(run_dir) / "checkpoints").string(); }

CheckpointPaths checkpoint_paths(const std::string& run_dir, int64_t epoch, int64_t step) {
  std::string stem = (fs::path(checkpoint_dir(run_dir)) / fmt::format("epoch={}-step={}", epoch, step)).string();
  return {stem + ".safetensors", stem + ".state"};
}

std::string state_path_for(const std::string& weights_path) {
  return fs::path(weights_path).replace_extension(".state").string();
}

// ---- Digest -------------------------------------------------------------------------------------------

namespace {
std::string digest_of(std::vector<std::pair<std::string, const Tensor*>> items) {
  std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string summary;
  for (const auto& [name, t] : items) {
    Tensor h = t->device().is_cpu() ? *t : t->to(cpu());
    summary += fmt::format("{}|{}|{}|{:08x};", name, dtype_name(h.dtype()), h.shape().str(),
                           tb::crc32c(h.data<char>(), h.nbytes()));
  }
  return fmt::format("crc32c:{:08x}:{}", tb::crc32c(summary.data(), summary.size()), items.size());
}
}  // namespace

std::string state_digest(const std::map<std::string, std::string>& metadata, const NamedTensors& tensors) {
  std::string summary;
  for (const auto& [k, v] : metadata)  // sorted by key; lengths keep "a=b" + "c" apart from "a=bc"
    if (k != "state_digest") summary += fmt::format("{}:{}={}:{};", k.size(), k, v.size(), v);
  summary += tensors_digest(tensors);
  return fmt::format("crc32c:{:08x}", tb::crc32c(summary.data(), summary.size()));
}

std::string tensors_digest(const NamedTensors& tensors) {
  std::vector<std::pair<std::string, const Tensor*>> items;
  for (const auto& [n, t] : tensors) items.emplace_back(n, &t);
  return digest_of(std::move(items));
}
std::string tensors_digest(const std::map<std::string, Tensor>& tensors) {
  std::vector<std::pair<std::string, const Tensor*>> items;
  for (const auto& [n, t] : tensors) items.emplace_back(n, &t);
  return digest_of(std::move(items));
}

// ---- Save / load --------------------------------------------------------------------------------------

CheckpointPaths save_checkpoint(const std::string& run_dir, int64_t epoch, int64_t step,
                                const NamedTensors& weights, const TrainState& state, int keep_last,
                                const std::map<std::string, std::string>& weights_metadata) {
  LPL_CHECK(keep_last >= 0, fmt::format("--keep_checkpoints must be >= 0 (0 keeps all), got {}", keep_last));
  make_dirs(checkpoint_dir(run_dir));
  CheckpointPaths paths = checkpoint_paths(run_dir, epoch, step);
  std::string stem = fs::path(paths.weights).stem().string();

  std::map<std::string, std::string> wmeta = weights_metadata;
  wmeta.insert_or_assign("format", std::string("pt"));  // what safetensors.torch expects
  wmeta["epoch"] = std::to_string(epoch);
  wmeta["step"] = std::to_string(step);
  wmeta["checkpoint"] = stem;
  // Rewriting a checkpoint of the same name: drop its state first, so that a state file on disk
  // always belongs to the weights beside it.
  std::error_code ec;
  fs::remove(paths.state, ec);
  crash_point("weights_partial", paths.weights);
  save_safetensors(paths.weights, weights, wmeta);
  crash_point("after_weights", paths.weights);

  std::map<std::string, std::string> smeta;
  smeta.emplace("lpl_format", kFormat);
  smeta.emplace("lpl_version", kVersion);
  smeta["weights_file"] = fs::path(paths.weights).filename().string();
  smeta["weights_digest"] = tensors_digest(weights);
  smeta["epoch"] = std::to_string(state.epoch);
  smeta["batch_in_epoch"] = std::to_string(state.batch_in_epoch);
  smeta["global_step"] = std::to_string(state.global_step);
  for (const auto& [k, v] : state.values) smeta[fmt::format("{}{}", kValuePrefix, k)] = v;
  for (const auto& [k, v] : state.fingerprint) smeta[fmt::format("{}{}", kFlagPrefix, k)] = v;
  smeta["state_digest"] = state_digest(smeta, state.tensors);
  crash_point("state_partial", paths.state);
  save_safetensors(paths.state, state.tensors, smeta);
  crash_point("after_state", paths.state);

  // The newest weights under a fixed name (eval_linear reads it); it names its checkpoint.
  save_safetensors((fs::path(checkpoint_dir(run_dir)) / "last.safetensors").string(), weights, wmeta);
  rotate_checkpoints(run_dir, keep_last);
  return paths;
}

LoadedCheckpoint load_checkpoint(const std::string& weights_path) {
  LoadedCheckpoint out;
  out.paths = {weights_path, state_path_for(weights_path)};
  if (!file_exists(weights_path)) fail(fmt::format("checkpoint weights file '{}' does not exist", weights_path));
  if (!file_exists(out.paths.state))
    fail(fmt::format("checkpoint '{}' has no companion state file '{}' (an incomplete checkpoint, or weights "
                     "only: use --init_from to start a new run from weights)",
                     weights_path, out.paths.state));
  SafetensorsFile sf = load_safetensors(out.paths.state);
  const auto& m = sf.metadata;
  const std::string& sp = out.paths.state;
  auto fmt_it = m.find("lpl_format");
  if (fmt_it == m.end() || fmt_it->second != kFormat)
    fail(fmt::format("'{}' is not an lpl training-state file (no lpl_format = {} in its metadata)", sp, kFormat));
  const std::string& version = value_of(m, "lpl_version", sp);
  for (auto& [n, t] : sf.tensors) out.state.tensors.emplace_back(n, t);
  if (version == kVersion) {
    const std::string want = value_of(m, "state_digest", sp), got = state_digest(m, out.state.tensors);
    if (got != want)
      fail(fmt::format("training-state file '{}' is corrupt: its contents (header fields or tensors) do not match "
                       "the digest it was saved with (digest {} vs {}); resume from an earlier checkpoint",
                       sp, got, want));
  } else if (version == kVersionNoStateDigest) {
    std::fprintf(stderr, "warning: training-state file '%s' (version 1) has no digest of its own contents: only its "
                 "weights can be verified\n", sp.c_str());
  } else {
    fail(fmt::format("training-state file '{}' has version {}, this build reads version {}", sp,
                     version, kVersion));
  }
  out.state.epoch = parse_int<int64_t>(value_of(m, "epoch", sp), "epoch", sp);
  out.state.batch_in_epoch = parse_int<int64_t>(value_of(m, "batch_in_epoch", sp), "batch_in_epoch", sp);
  out.state.global_step = parse_int<int64_t>(value_of(m, "global_step", sp), "global_step", sp);
  for (const auto& [k, v] : m) {
    if (k.rfind(kValuePrefix, 0) == 0) out.state.values[k.substr(std::strlen(kValuePrefix))] = v;
    if (k.rfind(kFlagPrefix, 0) == 0) out.state.fingerprint[k.substr(std::strlen(kFlagPrefix))] = v;
  }

  out.weights = load_safetensors(weights_path);
  std::string want = value_of(m, "weights_digest", sp);
  std::string got = tensors_digest(out.weights.tensors);
  if (got != want)
    fail(fmt::format("weights file '{}' is not the one its state file '{}' was saved with (digest {} vs {}): "
                     "the checkpoint is corrupt or its files come from different runs",
                     weights_path, sp, got, want));
  return out;
}

// ---- Listing and rotation ---------------------------------------------------------------------------------

std::vector<CheckpointEntry> list_checkpoints(const std::string& run_dir) {
  std::vector<CheckpointEntry> out;
  std::string dir = checkpoint_dir(run_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  static const std::regex re(R"(epoch=(\d+)-step=(\d+)\.(safetensors|state))");
  std::map<std::pair<int64_t, int64_t>, CheckpointEntry> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::smatch mm;
    std::string name = e.path().filename().string();
    if (!std::regex_match(name, mm, re)) continue;
    int64_t ep = 0, st = 0;
    const std::string e_s = mm[1], s_s = mm[2];
    // Numbers beyond int64 cannot be ours: such a file is left alone rather than failing with "stoll".
    if (std::from_chars(e_s.data(), e_s.data() + e_s.size(), ep).ec != std::errc() ||
        std::from_chars(s_s.data(), s_s.data() + s_s.size(), st).ec != std::errc())
      continue;
    auto& c = found[{st, ep}];
    c.epoch = ep;
    c.step = st;
    c.paths = checkpoint_paths(run_dir, ep, st);
  }
  for (auto& [key, c] : found) {
    c.complete = file_exists(c.paths.weights) && file_exists(c.paths.state);
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> rotate_checkpoints(const std::string& run_dir, int keep_last) {
  LPL_CHECK(keep_last >= 0, fmt::format("--keep_checkpoints must be >= 0 (0 keeps all), got {}", keep_last));
  std::vector<std::string> removed;
  auto remove = [&](const std::string& p) {
    std::error_code ec;
    if (fs::remove(p, ec)) removed.push_back(p);
  };
  auto all = list_checkpoints(run_dir);
  std::vector<const CheckpointEntry*> complete;
  for (const auto& c : all)
    if (c.complete) complete.push_back(&c);
  size_t n_drop = keep_last > 0 && complete.size() > static_cast<size_t>(keep_last) ? complete.size() - keep_last : 0;
  for (size_t i = 0; i < n_drop; ++i) {
    remove(complete[i]->paths.state);  // state first: a kill in between leaves an orphan, never a mismatch
    remove(complete[i]->paths.weights);
  }
  // Half-written checkpoints older than the newest complete one can never be resumed from.
  if (!complete.empty()) {
    int64_t newest = complete.back()->step;
    for (const auto& c : all)
      if (!c.complete && c.step < newest) {
        remove(c.paths.state);
        remove(c.paths.weights);
      }
  }
  // Temporary files (".<name>.tmp-<pid>") of writers that were killed; our own are never left behind.
  std::string own = fmt::format(".tmp-{}", ::getpid());
  std::error_code ec;
  if (fs::is_directory(checkpoint_dir(run_dir), ec))
    for (const auto& e : fs::directory_iterator(checkpoint_dir(run_dir))) {
      std::string name = e.path().filename().string();
      if (name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos &&
          name.find(own) == std::string::npos)
        remove(e.path().string());
    }
  return removed;
}

// ---- Validation -------------------------------------------------------------------------------------------

std::vector<std::string> check_fingerprint(const std::map<std::string, std::string>& saved,
                                           const std::map<std::string, std::string>& current, const std::string& file,
                                           const std::set<std::string>& may_change) {
  std::vector<std::string> diffs, changed;
  std::set<std::string> keys;
  for (const auto& [k, v] : saved) keys.insert(k);
  for (const auto& [k, v] : current) keys.insert(k);
  for (const auto& k : keys) {
    auto a = saved.find(k), b = current.find(k);
    std::string sa = a == saved.end() ? "(absent)" : a->second;
    std::string sb = b == current.end() ? "(absent)" : b->second;
    if (sa == sb) continue;
    (may_change.count(k) ? changed : diffs).push_back(fmt::format("--{} is {} in the checkpoint but {} in this run", k, sa, sb));
  }
  if (!diffs.empty())
    fail(fmt::format("checkpoint '{}' was written with other flags: {}", file, fmt::join(diffs, "; ")));
  return changed;
}

void restore_tensors(const std::map<std::string, Tensor>& src, const NamedTensors& dst, const std::string& file,
                     bool strict) {
  std::vector<std::string> problems;
  std::set<std::string> wanted;
  for (const auto& [name, t] : dst) {
    wanted.insert(name);
    auto it = src.find(name);
    if (it == src.end()) {
      problems.push_back(fmt::format("'{}' is missing", name));
    } else if (!(it->second.shape() == t.shape()) || it->second.dtype() != t.dtype()) {
      problems.push_back(fmt::format("'{}' has shape {} {} but the model needs {} {}", name, it->second.shape().str(),
                                     dtype_name(it->second.dtype()), t.shape().str(), dtype_name(t.dtype())));
    }
  }
  if (strict)
    for (const auto& [name, t] : src)
      if (!wanted.count(name)) problems.push_back(fmt::format("'{}' is not a tensor of this model", name));
  if (!problems.empty()) fail(fmt::format("'{}' does not fit: {}", file, fmt::join(problems, "; ")));
  for (const auto& [name, t] : dst) {
    Tensor target = t;  // shares storage
    target.copy_from(src.at(name));
  }
}

}  // namespace lpl
