// train_vgg11: layer-local LPL training (spec §1–§3, §6b, §7) of VGG-11 (or --encoder alexnet | resnet)
// with the command line of the authors' lpl_main.py, and the paper's baselines: --use_negative_samples,
// --train_with_supervision, --train_end_to_end (alone or with either). A training step reads as the
// sequence of explicit per-layer calls in models/lpl_step.h; this file is the loop around it: data,
// schedule, optimiser, files, progress. Nothing here knows which encoder it trains (models/encoder.h).
//   train_vgg11 --dataset fashion-mnist --batch_size 256 --max_epochs 2 --device cpu --threads 2
//   train_vgg11 --benchmark 5 --batch_size 256 --device cpu --threads 2
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <cerrno>
#include <cstring>

#include <unistd.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/app_phase.h"
#include "engine/checkpoint.h"
#include "engine/comm.h"
#include "engine/divergence.h"
#include "engine/file_util.h"
#include "engine/profile.h"
#include "engine/run_dir.h"
#include "engine/stop_signal.h"
#include "engine/lpl_ops.h"
#include "engine/parallel.h"
#include "engine/rng.h"
#include "engine/safetensors.h"
#include "engine/tb_events.h"
#include "models/data_parallel.h"
#include "models/lpl_step.h"
#include "models/train_step.h"
#include "models/optim.h"
#include "models/online_eval.h"
#include "models/train_checks.h"
#include "models/train_eval.h"
#include "models/train_histograms.h"
#include "models/train_options.h"
#include "models/encoder.h"
#include "models/weights_file.h"
#include "train_vgg11/progress.h"

using namespace lpl;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The names of spec §6: "Layer k" for k = 1..L-1, "Final layer" for the last.
std::string layer_tag(const std::string& group, int k, int layers, const char* term) {
  if (k == layers - 1) return fmt::format("{}/Final layer {} loss", group, term);
  return fmt::format("{}/Layer {} {} loss", group, k + 1, term);
}

// classes: outputs of the supervised heads (only used with --train_with_supervision).
EncoderOptions net_options(const TrainOptions& o, int classes) {
  EncoderOptions v;
  v.kind = o.encoder;
  v.end_to_end = o.train_end_to_end;
  v.classes = o.train_with_supervision ? classes : 0;
  v.bias = !o.no_biases;
  v.projector = o.use_projector_mlp;
  v.projection = static_cast<int>(o.projection_size);
  v.mlp_hidden = static_cast<int>(o.mlp_hidden_size);
  return v;
}

LplStepOptions step_options(const TrainOptions& o) {
  LplStepOptions s;
  s.coeffs = {static_cast<float>(o.pull_coeff), static_cast<float>(o.push_coeff), static_cast<float>(o.decorr_coeff)};
  s.no_pooling = o.no_pooling;
  s.stale_estimates = o.stale_estimates;
  s.shuffle_positives = o.shuffle_positives;
  s.seed = o.random_seed;
  s.end_to_end = o.train_end_to_end;
  s.comm = world_comm();
  s.local_batch_stats = o.local_batch_stats;
  s.objective = o.train_with_supervision ? StepObjective::supervised
                : o.use_negative_samples ? StepObjective::negative_samples
                                         : StepObjective::lpl;
  return s;
}

// One layer's terms under the §6 names: pull / push / decorr (LPL, negative samples), or the
// classifier head's cross-entropy as "<group>/Layer k supervised loss" (supervised baseline).
void put_layer_terms(nlohmann::json& m, const TrainOptions& o, const std::string& group, int k, int layers,
                     const LplTerms& t) {
  if (o.train_with_supervision) {
    m[layer_tag(group, k, layers, "supervised")] = t.supervised;
    return;
  }
  m[layer_tag(group, k, layers, "pull")] = t.pull;
  m[layer_tag(group, k, layers, "push")] = t.push;
  m[layer_tag(group, k, layers, "decorr")] = t.decorr;
}

// The split the objective trains on: the SSL split; for the supervised baseline a labelled one (the
// original trains STL-10's supervised baseline on the labelled training split).
const data::ImageSet& training_split(const TrainOptions& o, const data::DatasetSplits& splits) {
  if (!o.train_with_supervision || !splits.ssl_train.labels.empty()) return splits.ssl_train;
  LPL_CHECK(!splits.probe_train.labels.empty(),
            fmt::format("--train_with_supervision: dataset {} has no labelled training split", splits.name));
  std::fprintf(stderr, "--train_with_supervision: %s's SSL split has no labels: training on the labelled probe-training split\n",
               splits.name.c_str());
  return splits.probe_train;
}

int dataset_classes(const data::DatasetSplits& splits, const data::ImageSet& train_set) {
  int c = std::max({train_set.num_classes, splits.probe_train.num_classes, splits.test.num_classes});
  for (int32_t y : train_set.labels) c = std::max(c, y + 1);
  return c;
}

void load_init(Encoder& net, const std::string& path) {
  set_app_phase(fmt::format("reading --init_from {}", path));
  load_checked_weights(net, read_weights_file(path, "--init_from"), path, "--init_from");
}

// Sum over layers of the coefficient-weighted terms (the original's Loss/train_loss).
double total_loss(const std::vector<LplTerms>& t, const LplCoeffs& c) {
  double s = 0;
  for (const auto& x : t) s += x.weighted(c);
  return s;
}

int benchmark(const TrainOptions& o, Device dev) {
  const int S = dataset_image_size(o);
  const DistInfo& di = dist_info();
  LPL_CHECK(o.batch_size % di.size == 0, fmt::format("--batch_size {} does not split evenly over {} ranks",
                                                     o.batch_size, di.size));
  const int64_t B = o.batch_size / di.size;  // this rank's shard of the global batch
  const int classes = 10;
  const std::unique_ptr<Encoder> netp = make_encoder(net_options(o, classes), o.random_seed, dev);
  Encoder& net = *netp;
  if (!o.init_from.empty()) load_init(net, o.init_from);
  prof::PhaseTimer timer;
  LplStepOptions so = step_options(o);
  if (std::getenv("LPL_PROFILE")) so.timer = &timer;
  if (so.comm) broadcast_weights(net, *so.comm);
  LplStep step(net, so);
  OptimizerOptions oo{o.optimizer, o.weight_decay, o.momentum};
  Optimizer opt(oo, net.trained_params());
  // Synthetic labels for the supervised baseline.
  Tensor labels = Tensor::empty({B}, cpu(), DType::I32);
  for (int64_t i = 0; i < B; ++i) labels.data<int32_t>()[i] = static_cast<int32_t>(i % classes);
  labels = labels.to(dev);
  // Synthetic normalised views (no data loading): uniform in [-2, 2].
  Tensor x = Tensor::empty({2 * B, 3, S, S}, cpu());
  const CounterRng rng{o.random_seed, 77};
  float* p = x.f();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = 4.f * rng.uniform(static_cast<uint64_t>(i) / 4, static_cast<int>(i % 4)) - 2.f;
  x = x.to(dev);
  const int warmup = 2;
  for (int i = 0; i < warmup; ++i) {
    step.run(x, i, labels);
    opt.step(1e-4);
  }
  synchronize(dev);
  timer.reset();
  auto t0 = Clock::now();
  for (int64_t i = 0; i < o.benchmark; ++i) {
    step.run(x, warmup + i, labels);
    opt.step(1e-4);
  }
  synchronize(dev);
  const double el = seconds_since(t0);
  if (di.rank != 0) return 0;
  if (so.timer) std::fputs(timer.table("LPL step phases").c_str(), stderr);
  nlohmann::json j;
  j["images_per_s"] = static_cast<double>(2 * o.batch_size * o.benchmark) / el;
  j["batch"] = o.batch_size;
  j["ranks"] = di.size;
  j["precision"] = precision_name(precision());
  j["device"] = dev.str();
  j["encoder"] = net.kind();
  j["mode"] = o.train_end_to_end ? "end-to-end" : "layer-local";
  j["threads"] = num_threads();
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

// Test hook for the kill tests: LPL_CRASH_IN_EPOCH_END="<epoch>:<point>" SIGKILLs this process at
// <point> of the end of epoch <epoch> (0-based): after_checkpoint, in_eval, after_histograms, before_metrics.
void crash_point(int64_t epoch, const char* point) {
  const char* env = std::getenv("LPL_CRASH_IN_EPOCH_END");
  if (env && fmt::format("{}:{}", epoch, point) == env) ::kill(::getpid(), SIGKILL);
}

// Keeps the lines of metrics.jsonl up to `step` (a resumed run rewrites what came after its checkpoint).
void truncate_metrics(const std::string& path, int64_t step) {
  if (!file_exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) break;  // a line cut by a kill: nothing after it is complete
    // A partial epoch's line (a run stopped by --max_steps) is superseded when the epoch completes.
    if (j.contains("step") && j["step"].get<int64_t>() <= step && !j.contains("partial_epoch")) kept += line + "\n";
  }
  atomic_write_file(path, kept);
}

// Everything a run writes: config.json, metrics.jsonl, TensorBoard events, checkpoints (spec §6b).
struct RunFiles {
  std::string dir;
  int keep = 0;
  std::unique_ptr<tb::EventWriter> tb;
  std::ofstream metrics;
  std::string last_checkpoint;
  int64_t last_checkpoint_step = -1;

  // resume: --resume_from_checkpoint was given; from_checkpoint: there was a checkpoint to continue
  // (otherwise the run starts at step 0, in its existing directory when it has one).
  RunFiles(const TrainOptions& o, const std::string& run_dir, bool resume, bool from_checkpoint, int64_t resume_step)
      : dir(run_dir), keep(static_cast<int>(o.keep_checkpoints)) {
    if (!resume) create_new_run_dir(dir);  // refuses an existing run directory
    make_dirs(dir + "/checkpoints");
    if (!from_checkpoint) atomic_write_file(dir + "/config.json", train_options_json(o).dump(2) + "\n");
    if (resume) truncate_metrics(dir + "/metrics.jsonl", from_checkpoint ? resume_step : 0);
    metrics.open(dir + "/metrics.jsonl", std::ios::app);
    LPL_CHECK(metrics.good(), fmt::format("cannot write {}/metrics.jsonl", dir));
    tb = std::make_unique<tb::EventWriter>(dir);
    // A resumed run may follow a killed process whose events went past its last checkpoint: a
    // SessionLog START makes TensorBoard drop those (every earlier step after the checkpoint's).
    if (resume) tb->add_session_start((from_checkpoint ? resume_step : 0) + 1);
  }
  void save(Encoder& net, const Optimizer& opt, const LplStep& step, TrainState st, int64_t epoch_label,
            const TrainOptions& o, DivergenceGuard& guard) {
    opt.save_state(st);
    step.save_state(st);
    st.fingerprint = resume_fingerprint(o);
    st.set_u64("rng.seed", o.random_seed);  // every random number is a function of (seed, epoch, step, index)
    tb->flush();
    metrics.flush();
    CheckpointPaths p = save_checkpoint(dir, epoch_label, st.global_step, net.named_weights(), st, keep,
                                        {{"lpl", "train_vgg11 weights"},
                                         {"encoder", net.kind()},
                                         {"precision", precision_name(precision())}});
    last_checkpoint = p.weights;
    last_checkpoint_step = st.global_step;
    guard.set_last_checkpoint(p.weights);
  }
};

// Sums over the batches of the epoch in progress (kept in checkpoints so that a run resumed
// mid-epoch logs the same epoch means).
struct EpochSums {
  std::vector<LplTerms> terms;
  double loss = 0, lr = 0;
  int64_t n = 0;
  explicit EpochSums(int layers = 0) : terms(static_cast<size_t>(layers)) {}
  void save(TrainState& s) const {
    s.set_i64("epoch.n", n);
    s.set_f64("epoch.loss", loss);
    s.set_f64("epoch.lr", lr);
    for (size_t k = 0; k < terms.size(); ++k) {
      s.set_f64(fmt::format("epoch.{}.pull", k), terms[k].pull);
      s.set_f64(fmt::format("epoch.{}.push", k), terms[k].push);
      s.set_f64(fmt::format("epoch.{}.decorr", k), terms[k].decorr);
      s.set_f64(fmt::format("epoch.{}.supervised", k), terms[k].supervised);
    }
  }
  void load(const TrainState& s, const std::string& f) {
    n = s.get_i64("epoch.n", f);
    loss = s.get_f64("epoch.loss", f);
    lr = s.get_f64("epoch.lr", f);
    for (size_t k = 0; k < terms.size(); ++k) {
      terms[k].pull = s.get_f64(fmt::format("epoch.{}.pull", k), f);
      terms[k].push = s.get_f64(fmt::format("epoch.{}.push", k), f);
      terms[k].decorr = s.get_f64(fmt::format("epoch.{}.decorr", k), f);
      // (absent from the state files written before the supervised baseline existed)
      const std::string sup = fmt::format("epoch.{}.supervised", k);
      terms[k].supervised = s.values.count(sup) ? s.get_f64(sup, f) : 0.0;
    }
  }
};

// The original's end-of-epoch evaluation: validation losses on augmented pairs of the validation
// split, then the final-layer linear probe (probe-training -> test) and the representation metrics,
// all under the names of spec §6 in `m` (metrics.jsonl and TensorBoard).
void evaluate_epoch(const TrainOptions& o, Encoder& net, const LplStepOptions& so, const data::DatasetSplits& splits,
                    int64_t epoch, nlohmann::json& m) {
  const data::ImageSet& val = splits.validation.n > 0 ? splits.validation : splits.probe_train;
  if (val.n >= 2) {
    const std::vector<LplTerms> v =
        validation_terms(net, so, splits, val, o.batch_size, o.val_batches, o.random_seed, epoch);
    if (!v.empty()) {  // empty: the supervised baseline on a split without labels
      double total = 0;
      for (int k = 0; k < net.num_layers(); ++k) {
        if (!net.layer_trained(k)) continue;
        put_layer_terms(m, o, "Layerwise validation losses", k, net.num_layers(), v[static_cast<size_t>(k)]);
        total += v[static_cast<size_t>(k)].weighted(so.coeffs);
      }
      m["Loss/val_loss"] = total;
    }
  }
  if (splits.probe_train.labels.empty() || splits.test.labels.empty()) {
    std::fprintf(stderr, "online evaluation: %s has no labels: probe and metrics skipped\n", splits.name.c_str());
    return;
  }
  std::vector<int32_t> ytr, yte;
  const FeatureMatrix xtr = final_layer_features(net, splits, splits.probe_train, o.eval_samples, &ytr);
  const FeatureMatrix xte = final_layer_features(net, splits, splits.test, o.eval_samples, &yte);
  OnlineEvalOptions eo;
  eo.probe.device = net.device();
  eo.probe.seed = o.random_seed;
  const int classes = std::max(splits.probe_train.num_classes, splits.test.num_classes);
  for (const auto& [name, value] : online_evaluation(xtr, ytr, xte, yte, classes, eo)) m[name] = value;
  std::fprintf(stderr, "epoch %lld: online probe (final layer) top-1 %.4f on %lld test images\n",
               static_cast<long long>(epoch), m["Performance/linear_readout_acc"].get<double>(),
               static_cast<long long>(xte.n));
}

// The log record of a completed epoch whose logging may still be due (in its epoch-end checkpoint).
constexpr const char* kPendingEpochLog = "pending_epoch_log";

// Whether metrics.jsonl holds the line of the complete epoch ending at `step` (its logging is done).
bool epoch_logged(const std::string& path, int64_t step) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) break;  // as truncate_metrics: a line cut by a kill ends the file
    if (j.value("step", int64_t{-1}) == step && !j.contains("partial_epoch")) return true;
  }
  return false;
}

// The (tag, step) pairs TensorBoard shows for a run directory.
std::set<std::pair<std::string, int64_t>> shown_events(const std::string& dir) {
  std::set<std::pair<std::string, int64_t>> out;
  for (const auto& ev : tb::read_run_events(dir))
    for (const auto& v : ev.values) out.emplace(v.tag, ev.step);
  return out;
}

// The logging at an epoch's end, after its checkpoint: the online evaluation (added to `m`, which
// holds the training means), the histograms, the epoch scalars in TensorBoard, and last the
// metrics.jsonl line, which marks the epoch's logging done. Used by the epoch loop and by a resumed
// run that redoes it. A failure of the evaluation or the histograms stops the run with the failure;
// the checkpoint is written, and the resumed run redoes the logging.
void log_epoch_end(const TrainOptions& o, Encoder& net, const LplStepOptions& so, const data::DatasetSplits& splits,
                   RunFiles* files, prof::PhaseTimer& timer, int64_t epoch, int64_t global_step, bool complete,
                   nlohmann::json m) {
  std::string failed;
  const auto attempt = [&](const char* what, const std::function<void()>& f) {
    if (!failed.empty()) return;
    try {
      set_app_phase(fmt::format("{} after epoch {}", what, epoch));
      f();
    } catch (const std::exception& e) {
      if (!files) throw;
      failed = fmt::format("{} after epoch {} failed: {}", what, epoch, describe_failure(e));
    }
  };
  if (complete && o.eval_every > 0 && (epoch + 1) % o.eval_every == 0) {
    prof::Scope ph("evaluation", &timer);
    attempt("online evaluation", [&] {
      if (std::getenv("LPL_INJECT_EVAL_ERROR")) fail("injected failure (LPL_INJECT_EVAL_ERROR)");  // test hook
      crash_point(epoch, "in_eval");
      evaluate_epoch(o, net, so, splits, epoch, m);
    });
  }
  if (!files) return;
  if (complete && is_histogram_epoch(static_cast<int>(epoch + 1)) && o.histogram_samples > 0) {
    prof::Scope ph("histograms", &timer);
    attempt("the feature histograms", [&] { log_feature_histograms(*files->tb, net, splits, o.histogram_samples, epoch + 1); });
  }
  if (!failed.empty())
    fail(fmt::format("{}; the epoch's checkpoint '{}' is written and intact: continue with --resume_from_checkpoint "
                     "{} (--eval_every 0 skips the online evaluation)", failed, files->last_checkpoint, files->dir));
  crash_point(epoch, "after_histograms");
  // As the original (Lightning) logs them: epoch-level scalars at the global step, with an `epoch`
  // scalar beside them; histograms (above) at the epoch number.
  for (auto it = m.begin(); it != m.end(); ++it)
    if (it.value().is_number() && it.key() != "step") files->tb->add_scalar(it.key(), it.value().get<double>(), global_step);
  files->tb->flush();
  crash_point(epoch, "before_metrics");
  files->metrics << m.dump() << "\n";
  files->metrics.flush();
}

// Where a run lives and what it continues from (--resume_from_checkpoint).
struct RunStart {
  std::string dir;
  std::optional<LoadedCheckpoint> ck;
};

RunStart find_run_start(const TrainOptions& o, bool write) {
  RunStart r{run_directory(o), std::nullopt};
  if (!o.resume_from_checkpoint) return r;
  LPL_CHECK(write, "--resume_from_checkpoint writes checkpoints: it cannot be combined with --fast_dev_run or --profile");
  // The bare switch continues the run these flags name, or starts it (a job script can always pass
  // it); a path must exist.
  const std::string arg = o.resume_path.empty() ? r.dir : o.resume_path;
  LPL_CHECK(!o.resume_path.empty() || o.experiment_name_given,
            "--resume_from_checkpoint without a path needs the run's --experiment_name (the default is a new time stamp)");
  LPL_CHECK(o.resume_path.empty() || file_exists(arg), fmt::format("--resume_from_checkpoint: '{}' does not exist", arg));
  bool any = false;
  if (file_exists(arg))
    for (const auto& c : list_checkpoints(arg)) any |= c.complete;
  if (o.resume_path.empty() && !any) {
    std::fprintf(stderr, "%s has no checkpoint yet: starting the run from step 0\n", r.dir.c_str());
    return r;
  }
  const ResumeTarget t = resolve_resume(arg);
  r.dir = t.run_dir;
  r.ck = load_checkpoint(t.paths.weights);
  // --max_epochs may grow (or shrink) on resume, to train a run longer: the warm-up + cosine
  // schedule then continues as for the new length from the checkpoint's epoch on.
  for (const auto& w : check_fingerprint(r.ck->state.fingerprint, resume_fingerprint(o), r.ck->paths.state, {"max_epochs"}))
    std::fprintf(stderr,
                 "warning: %s: the learning-rate schedule continues as for a %lld-epoch run from epoch %lld on "
                 "(the epochs already trained followed the old schedule)\n",
                 w.c_str(), static_cast<long long>(o.max_epochs), static_cast<long long>(r.ck->state.epoch));
  return r;
}

// The data of a run: its splits, the split the objective trains on, and the loader over it.
struct TrainData {
  data::DatasetSplits splits;
  const data::ImageSet* train_set = nullptr;
  std::unique_ptr<data::Loader> loader;
  int64_t steps_per_epoch = 0;
};

std::unique_ptr<TrainData> load_train_data(const TrainOptions& o, Device dev) {
  auto d = std::make_unique<TrainData>();
  data::DataOptions dopt;
  dopt.dataset = o.dataset;
  dopt.data_dir = o.data_dir;
  dopt.downsample_images = o.downsample_images;
  std::fprintf(stderr, "loading %s ...\n", o.dataset.c_str());
  set_app_phase(fmt::format("loading the {} data", o.dataset));
  d->splits = data::load_dataset(dopt);
  data::LoaderOptions lopt;
  lopt.batch_size = o.batch_size;
  lopt.seed = o.random_seed;
  lopt.threads = static_cast<int>(o.num_workers > 0 ? o.num_workers : std::max(1, num_threads()));
  lopt.augment = d->splits.augment;
  lopt.eval_view = false;  // training reads the two views only
  lopt.device = dev;
  lopt.rank = dist_info().rank;
  lopt.ranks = dist_info().size;
  d->train_set = &training_split(o, d->splits);
  check_training_inputs(o, d->splits, *d->train_set);
  d->loader = std::make_unique<data::Loader>(*d->train_set, d->splits, lopt);
  d->steps_per_epoch = d->loader->batches_per_epoch();
  if (o.limit_train_batches > 0) d->steps_per_epoch = std::min(d->steps_per_epoch, o.limit_train_batches);
  return d;
}

void add_terms(std::vector<LplTerms>& sum, const std::vector<LplTerms>& t, double scale = 1.0) {
  for (size_t k = 0; k < sum.size(); ++k) {
    sum[k].pull += t[k].pull * scale;
    sum[k].push += t[k].push * scale;
    sum[k].decorr += t[k].decorr * scale;
    sum[k].supervised += t[k].supervised * scale;
  }
}

// The epoch's log record: training means of the terms and the loss, under the names of spec §6.
nlohmann::json epoch_record(const TrainOptions& o, const Encoder& net, const EpochSums& sums, int64_t epoch,
                            int64_t global_step, double images_per_s, bool complete) {
  const int L = net.num_layers();
  std::vector<LplTerms> mean(static_cast<size_t>(L));
  add_terms(mean, sums.terms, 1.0 / static_cast<double>(sums.n));
  nlohmann::json m;
  m["epoch"] = epoch;
  m["step"] = global_step;
  m["lr"] = sums.lr;
  m["images_per_s"] = images_per_s;
  for (int k = 0; k < L; ++k)
    if (net.layer_trained(k)) put_layer_terms(m, o, "Layerwise train losses", k, L, mean[static_cast<size_t>(k)]);
  m["Loss/train_loss"] = sums.loss / static_cast<double>(sums.n);
  if (!complete) m["partial_epoch"] = true;
  if (o.verbose_printing) {
    std::fprintf(stderr, "epoch %lld: lr %.3g, train_loss %.5f\n", static_cast<long long>(epoch), sums.lr,
                 sums.loss / static_cast<double>(sums.n));
    for (int k = 0; k < L; ++k)
      if (net.layer_trained(k)) {
        const LplTerms& t = mean[static_cast<size_t>(k)];
        std::fprintf(stderr, "  layer %d: pull %.5f push %.5f decorr %.6f supervised %.5f\n", k + 1, t.pull, t.push,
                     t.decorr, t.supervised);
      }
  }
  return m;
}

// How learning went: each layer's terms at the first step and over the last steps. The Hebbian
// term is -mean log(var + eps): it falls as the variance of the features rises.
void print_learning_summary(const TrainOptions& o, const Encoder& net, const std::vector<LplTerms>& first,
                            const std::vector<std::vector<LplTerms>>& recent, const LplCoeffs& coeffs) {
  const int L = net.num_layers();
  std::vector<LplTerms> end(static_cast<size_t>(L));
  for (const auto& t : recent) add_terms(end, t, 1.0 / static_cast<double>(recent.size()));
  std::fprintf(stderr, "loss terms per layer: first step -> mean of the last %zu steps\n", recent.size());
  if (o.train_with_supervision) {
    std::fprintf(stderr, "  layer  supervised loss (cross-entropy of the head)\n");
    for (int k = 0; k < L; ++k)
      if (net.layer_trained(k))
        std::fprintf(stderr, "  %d      %.4f -> %.4f\n", k + 1, first[static_cast<size_t>(k)].supervised,
                     end[static_cast<size_t>(k)].supervised);
  } else {
    std::fprintf(stderr, "  layer  pull                      push                     decorr                 pull / exp(-push)\n");
    for (int k = 0; k < L; ++k) {
      if (!net.layer_trained(k)) continue;
      const auto& a = first[static_cast<size_t>(k)];
      const auto& b = end[static_cast<size_t>(k)];
      // exp(-push) is the geometric mean of (var + eps): pull relative to the feature variance.
      std::fprintf(stderr, "  %d      %.3e -> %.3e    %8.4f -> %8.4f     %.2e -> %.2e     %.3g -> %.3g\n", k + 1, a.pull,
                   b.pull, a.push, b.push, a.decorr, b.decorr, a.pull / std::exp(-a.push), b.pull / std::exp(-b.push));
    }
  }
  std::fprintf(stderr, "total loss %.5f -> %.5f\n", total_loss(first, coeffs), total_loss(end, coeffs));
}

// Where a resumed run continues: its position and the epoch log its ended process may still owe.
struct Position {
  int64_t global_step = 0, epoch = 0, batch = 0;
  std::string pending_log;  // the checkpoint's epoch was not logged: the process ended in its epoch-end logging
};

// Restores a checkpoint into the network, the optimiser, the step's state and the epoch sums.
Position restore_checkpoint(const LoadedCheckpoint& ck, Encoder& net, Optimizer& opt, LplStep& step, EpochSums& sums,
                            DivergenceGuard& guard, int64_t steps_per_epoch, const std::string& dir) {
  const std::string& sf = ck.paths.state;
  net.load_weights(ck.weights, ck.paths.weights);
  opt.load_state(ck.state, sf);
  step.load_state(ck.state, sf);
  sums.load(ck.state, sf);
  Position p;
  p.global_step = ck.state.global_step;
  p.epoch = ck.state.epoch;
  p.batch = ck.state.batch_in_epoch;
  LPL_CHECK(p.batch <= steps_per_epoch,
            fmt::format("checkpoint '{}' is at batch {} of epoch {}, but epochs here have {} batches", sf, p.batch,
                        p.epoch, steps_per_epoch));
  guard.set_last_checkpoint(ck.paths.weights);
  std::fprintf(stderr, "resuming %s at epoch %lld, step %lld\n", ck.paths.weights.c_str(), static_cast<long long>(p.epoch),
               static_cast<long long>(p.global_step));
  // The weights are float32 in either precision, so a run may go on in the other one; say so.
  const auto pr = ck.weights.metadata.find("precision");
  if (pr != ck.weights.metadata.end() && pr->second != precision_name(precision()))
    std::fprintf(stderr, "resuming a --precision %s checkpoint with --precision %s (weights and moments stay float32)\n",
                 pr->second.c_str(), precision_name(precision()));
  if (ck.state.values.count(kPendingEpochLog) && !epoch_logged(dir + "/metrics.jsonl", p.global_step))
    p.pending_log = ck.state.values.at(kPendingEpochLog);
  return p;
}

int train(const TrainOptions& o, Device dev) {
  const bool write = o.fast_dev_run == 0 && !o.profile;
  // Data parallelism: every rank trains its shard of each global batch; rank 0 alone writes the run's
  // files and runs the epoch-end evaluation (on the whole batches, as one process would).
  const DistInfo& di = dist_info();
  const bool rank0 = di.rank == 0;
  RunStart start = find_run_start(o, write);
  std::string& dir = start.dir;
  std::optional<LoadedCheckpoint>& ck = start.ck;
  const std::unique_ptr<TrainData> data = load_train_data(o, dev);
  const data::DatasetSplits& splits = data->splits;
  data::Loader& loader = *data->loader;
  const int64_t steps_per_epoch = data->steps_per_epoch;

  set_app_phase("building the network");
  const std::unique_ptr<Encoder> netp =
      make_encoder(net_options(o, dataset_classes(splits, *data->train_set)), o.random_seed, dev);
  Encoder& net = *netp;
  if (!o.init_from.empty()) load_init(net, o.init_from);
  prof::PhaseTimer timer;
  LplStepOptions so = step_options(o);
  if (!dev.is_cuda()) so.timer = &timer;  // GPU phases run asynchronously: see Nsight Systems instead
  if (so.comm) broadcast_weights(net, *so.comm);  // identical starting weights (a checkpoint is loaded below on every rank)
  LplStep step(net, so);
  Optimizer opt({o.optimizer, o.weight_decay, o.momentum}, net.trained_params());
  LplStepOptions eval_so = so;  // rank 0's evaluation runs alone: no collectives
  eval_so.comm = nullptr;
  ScheduleOptions sched{o.learning_rate, o.start_lr, o.final_lr, o.warmup_epochs, o.max_epochs, o.lr_schedule_per_step};
  const LplCoeffs coeffs = so.coeffs;
  DivergenceGuard guard;
  const int L = net.num_layers();

  EpochSums sums(L);
  const Position pos = ck ? restore_checkpoint(*ck, net, opt, step, sums, guard, steps_per_epoch, dir) : Position{};
  int64_t global_step = pos.global_step;
  const int64_t start_epoch = pos.epoch, start_batch = pos.batch;
  const std::string& pending_log = pos.pending_log;
  if (ck && start_epoch >= o.max_epochs && pending_log.empty()) {
    std::fprintf(stderr, "nothing to train: the checkpoint has completed %lld epochs and --max_epochs is %lld; raise "
                 "--max_epochs to train longer\n", static_cast<long long>(start_epoch), static_cast<long long>(o.max_epochs));
    return 0;
  }

  std::unique_ptr<RunFiles> files;
  if (write && rank0) {
    files = std::make_unique<RunFiles>(o, dir, o.resume_from_checkpoint, ck.has_value(), global_step);
    if (ck) {
      files->last_checkpoint = ck->paths.weights;
      files->last_checkpoint_step = global_step;
    }
    std::fprintf(stderr, "run directory %s\n", files->dir.c_str());
    if (!pending_log.empty()) {
      std::fprintf(stderr, "epoch %lld's logging did not complete: redoing it\n", static_cast<long long>(start_epoch - 1));
      files->tb->skip(shown_events(files->dir));  // what the ended process got into TensorBoard stays once
      log_epoch_end(o, net, eval_so, splits, files.get(), timer, start_epoch - 1, global_step, true,
                    nlohmann::json::parse(pending_log));
      files->tb->skip({});
    }
  }
  install_stop_handlers();
  if (rank0)
    std::fprintf(stderr, "%s: %lld images, %lld steps of %lld x 2 views per epoch, %s encoder (%d layers, %s), device %s, %d threads%s\n",
                 o.dataset.c_str(), static_cast<long long>(data->train_set->n), static_cast<long long>(steps_per_epoch),
                 static_cast<long long>(o.batch_size), net.kind().c_str(), L,
                 o.train_end_to_end ? "end-to-end" : "layer-local", dev.str().c_str(), num_threads(),
                 di.size > 1 ? fmt::format(", {} ranks ({} images each, {} statistics)", di.size,
                                           o.batch_size / di.size, o.local_batch_stats ? "per-rank batch" : "global-batch")
                                   .c_str()
                             : "");

  int64_t step_limit = o.fast_dev_run > 0 ? o.fast_dev_run : o.max_steps;
  if (o.profile) step_limit = global_step + o.profile_warmup_steps + o.profile_steps;
  const int64_t profile_from = global_step + o.profile_warmup_steps;
  bool stop = false;
  const auto t_run = Clock::now();
  const int64_t first_step = global_step;
  std::vector<LplTerms> first_terms;
  std::vector<std::vector<LplTerms>> recent;  // the last 10 steps' terms, for the final summary
  double last_ips = 0;
  int64_t epochs_done = 0;
  auto state_at = [&](int64_t epoch, int64_t batch) {
    TrainState st;
    st.epoch = epoch;
    st.batch_in_epoch = batch;
    st.global_step = global_step;
    sums.save(st);
    return st;
  };
  for (int64_t epoch = start_epoch; epoch < o.max_epochs && !stop; ++epoch) {
    const int64_t first_batch = epoch == start_epoch ? start_batch : 0;
    if (epoch != start_epoch || !ck) sums = EpochSums(L);
    loader.start_epoch(epoch, std::min(first_batch, loader.batches_per_epoch()));
    const int64_t bar_steps = step_limit > 0 ? std::min(steps_per_epoch, step_limit - global_step + first_batch)
                                             : steps_per_epoch;
    ProgressBar bar(epoch, o.max_epochs, bar_steps, !rank0);  // other ranks show nothing
    set_app_phase(fmt::format("training epoch {}", epoch));
    const auto t_epoch = Clock::now();
    int64_t n_here = 0, batch_in_epoch = first_batch;
    data::Batch batch;
    while (batch_in_epoch < steps_per_epoch) {
      {
        prof::Scope ph("data wait", &timer);
        if (!loader.next(batch)) break;
      }
      if (o.profile && global_step == profile_from) {
        synchronize(dev);
        prof::profiler_start();
      }
      const double lr = scheduled_lr(sched, epoch, batch.step_in_epoch, steps_per_epoch);
      guard.at(epoch, global_step);
      const std::vector<LplTerms> t = train_step(step, opt, net, guard, &timer, batch.views, batch.labels,
                                                     global_step, lr);
      ++global_step;
      ++n_here;
      batch_in_epoch = batch.step_in_epoch + 1;
      // Bookkeeping: sums for the epoch's means, the step's loss in TensorBoard, the progress bar.
      if (first_terms.empty()) first_terms = t;
      recent.push_back(t);
      if (recent.size() > 10) recent.erase(recent.begin());
      sums.n += 1;
      sums.lr = lr;
      add_terms(sums.terms, t);
      const double loss = total_loss(t, coeffs);
      sums.loss += loss;
      if (files) {
        files->tb->add_scalar("Loss/train_loss_step", loss, global_step);
        files->tb->flush();  // a few hundred bytes: live in TensorBoard, and nothing held back from a kill
      }
      double P = 0, H = 0, D = 0;
      for (const auto& x2 : t) { P += x2.pull; H += x2.push; D += x2.decorr; }
      last_ips = static_cast<double>(2 * o.batch_size * n_here) / seconds_since(t_epoch);
      bar.update(batch_in_epoch, loss, P, H, D, last_ips);
      if (o.profile && global_step == step_limit) {
        synchronize(dev);
        prof::profiler_stop();
      }
      const bool epoch_end = batch_in_epoch == steps_per_epoch;
      // A stop request on any rank stops every rank after the same step.
      const bool stop_now = any_rank(stop_requested(), so.comm);
      if (stop_now && so.comm && !rank0) return 128 + (stop_signal() ? stop_signal() : SIGTERM);
      if (files && stop_now) {
        prof::Scope ph("checkpoint", &timer);
        files->save(net, opt, step, state_at(epoch, batch_in_epoch), epoch, o, guard);
        bar.finish();
        std::fprintf(stderr, "\n%s: stopped after step %lld; checkpoint %s\ncontinue with: --resume_from_checkpoint %s\n",
                     stop_signal() ? stop_signal_name() : "a stop request on another rank",
                     static_cast<long long>(global_step), files->last_checkpoint.c_str(), files->dir.c_str());
        return 128 + (stop_signal() ? stop_signal() : SIGTERM);
      }
      if (!files && stop_now) return 128 + (stop_signal() ? stop_signal() : SIGTERM);
      if (files && !epoch_end && o.checkpoint_every_steps > 0 && global_step % o.checkpoint_every_steps == 0) {
        prof::Scope ph("checkpoint", &timer);
        files->save(net, opt, step, state_at(epoch, batch_in_epoch), epoch, o, guard);
      }
      if (step_limit > 0 && global_step >= step_limit) {
        stop = true;
        break;
      }
    }
    bar.finish();
    // Stopped by --max_steps inside the epoch: its metrics so far are logged (as Lightning ends the
    // epoch there), and the checkpoint keeps the position and the sums, so a resumed run finishes it.
    const bool complete = batch_in_epoch >= steps_per_epoch;
    if (sums.n == 0) break;
    if (complete) ++epochs_done;
    nlohmann::json m = epoch_record(o, net, sums, epoch, global_step, last_ips, complete);
    // The checkpoint comes first: a crash or an OOM kill in the evaluation or the histograms must not
    // lose the epoch's training. The state keeps the epoch's log record, so that a run resumed from
    // here before metrics.jsonl has the epoch's line redoes the logging (as an uninterrupted run logs it).
    if (files) {
      prof::Scope ph("checkpoint", &timer);
      if (complete) {
        sums = EpochSums(L);
        TrainState st = state_at(epoch + 1, 0);
        st.values[kPendingEpochLog] = m.dump();
        files->save(net, opt, step, st, epoch, o, guard);
        crash_point(epoch, "after_checkpoint");
      } else if (files->last_checkpoint_step != global_step) {
        files->save(net, opt, step, state_at(epoch, batch_in_epoch), epoch, o, guard);
      }
    }
    if (rank0) log_epoch_end(o, net, eval_so, splits, files.get(), timer, epoch, global_step, complete, std::move(m));
    if (!dev.is_cuda() && rank0)
      std::fprintf(stderr, "%s", timer.table(fmt::format("epoch {} time per phase (CPU wall clock)", epoch)).c_str());
    timer.reset();
    if (!complete) break;
  }
  const double el = seconds_since(t_run);
  const int64_t steps_here = global_step - first_step;
  if (!rank0) return 0;
  std::fprintf(stderr, "\ndone: %lld steps in %lld epochs, %s, %.1f images/s (both views)\n",
               static_cast<long long>(steps_here), static_cast<long long>(epochs_done), format_duration(el).c_str(),
               static_cast<double>(2 * o.batch_size * steps_here) / el);
  if (o.profile)
    std::fprintf(stderr, "profiled steps %lld..%lld (between cudaProfilerStart and cudaProfilerStop)\n",
                 static_cast<long long>(profile_from), static_cast<long long>(step_limit - 1));
  if (!recent.empty()) print_learning_summary(o, net, first_terms, recent, coeffs);
  if (files) std::fprintf(stderr, "weights: %s/checkpoints/last.safetensors\n", files->dir.c_str());
  return 0;
}

// --gpus N (N > 1) outside an MPI job: this process becomes `mpirun -np N` of the same command line,
// one rank per GPU (or N CPU ranks with --device cpu).
int launch_ranks(int64_t n, int argc, char** argv) {
  LPL_CHECK(mpi_built(), fmt::format("--gpus {}: this build has no MPI (install openmpi-bin libopenmpi-dev and rebuild)", n));
  std::vector<std::string> args{"mpirun", "-np", std::to_string(n), "--oversubscribe", "--bind-to", "none"};
  if (geteuid() == 0) args.emplace_back("--allow-run-as-root");
  for (int i = 0; i < argc; ++i) args.emplace_back(argv[i]);
  std::vector<char*> cargs;
  for (std::string& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  std::fflush(nullptr);
  execvp("mpirun", cargs.data());
  fail(fmt::format("--gpus {}: cannot start mpirun ({}); install openmpi-bin, or launch the ranks yourself with "
                   "mpirun -np {} {} ...", n, std::strerror(errno), n, argv[0]));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const DistInfo di = init_distributed(&argc, &argv);
    const TrainOptions o = parse_train_options(std::vector<std::string>(argv + 1, argv + argc));
    if (o.help) {
      if (di.rank == 0) std::fputs(train_help_text().c_str(), stdout);
      finalize_distributed();
      return 0;
    }
    if (o.gpus > 1 && di.size == 1) return launch_ranks(o.gpus, argc, argv);
    set_num_threads(static_cast<int>(o.threads));
    Device dev = parse_device(o.device);
    if (dev.is_cuda()) {
      LPL_CHECK(cuda_built(), "--device cuda: this build has no CUDA backend");
      const std::string why = cuda_device_count_error();
      // One rank per GPU: a rank of a job binds the GPU of its place on the node.
      if (di.size > 1) dev = cuda(di.local_rank);
      LPL_CHECK(cuda_device_count() > dev.index,
                fmt::format("--device {}: no such GPU ({} visible{}{}{})", dev.str(), cuda_device_count(),
                            why.empty() ? "" : "; CUDA says ", why,
                            di.size > 1 ? fmt::format("; rank {} is local rank {} of its node", di.rank, di.local_rank) : ""));
      set_allow_tf32(o.tf32);
    }
    set_precision(parse_precision(o.precision), dev);
    set_allow_winograd(true);  // training convolutions (CPU, float32); LPL_NO_WINOGRAD=1 turns it off
    const int rc = o.benchmark > 0 ? benchmark(o, dev) : train(o, dev);
    finalize_distributed();
    return rc;
  } catch (const std::exception& e) {
    const std::string msg = "error: " + describe_failure(e);
    // A failing rank ends the whole job (its peers would wait for it in the next collective).
    if (Communicator* c = world_comm()) c->abort(msg);
    std::fprintf(stderr, "%s\n", msg.c_str());
    return 1;
  }
}
