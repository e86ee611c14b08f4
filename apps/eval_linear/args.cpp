#include "apps/eval_linear/args.h"

#include <cstdint>
#include <functional>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/common.h"
#include "engine/flags.h"

#include "models/encoder.h"

namespace lpl::eval {
namespace {

// The shared parsers (engine/flags.h) name the flag and the value; this app prefixes its name.
int64_t to_int(const std::string& flag, const std::string& v) { return parse_int_flag(flag, v); }
double to_double(const std::string& flag, const std::string& v) { return parse_float_flag(flag, v); }

// Runs f, giving the errors of the shared checks this app's prefix.
template <class F>
void prefixed(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind("eval_linear: ", 0) == 0) throw;
    fail("eval_linear: " + what);
  }
}

int to_i32(const std::string& flag, const std::string& v) {
  const int64_t x = to_int(flag, v);
  if (x < INT32_MIN || x > INT32_MAX) fail(fmt::format("{}: {} is out of range", flag, v));
  return static_cast<int>(x);
}

void check_choice(const std::string& flag, const std::string& v, const std::vector<std::string>& choices) {
  for (const auto& c : choices)
    if (v == c) return;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  fail(fmt::format("eval_linear: {} must be one of {}, got '{}'", flag, list, v));
}

}  // namespace

std::string eval_usage() {
  return R"(usage: eval_linear (--experiment_dir DIR | --weights FILE.safetensors | --random_init) [options]

Linear probes on the globally average-pooled output of every VGG-11 block (spec §5), top-1/top-5
test accuracy per layer, representation metrics, JSON results (+ results.yaml, PNG plots).

Weights:
  --experiment_dir DIR     a run directory (uses DIR/checkpoints/last.safetensors), or an
                           experiment directory: every run sub-directory in it is evaluated (as
                           eval.py), its eval.json in the run directory, all of them keyed by run
                           name in DIR/eval.json (--out FILE instead) and, with --yaml, in
                           DIR/results.yaml; a run already in DIR/results.yaml (shapes3d: in
                           every DIR/results_<factor>.yaml) is skipped, as eval.py skips it
  --weights FILE           a .safetensors file with the original's weight names
  --random_init            an untrained network (PyTorch-default init) seeded by --random_seed (24)
  --model_type lpl|supervised|neg-samples   accepted (the encoder weights have the same names)
  --encoder vgg|alexnet|resnet   the encoder of --random_init (vgg); with weights, the file's own
                           encoder (its metadata or tensor names) is used, and a different
                           --encoder is refused
Data:
  --dataset cifar10|stl10|fashion-mnist|imagenet2012|shapes3d (default cifar10)   --data_dir DIR
                           shapes3d: every factor (floor_hue, wall_hue, object_hue, scale, shape,
                           orientation) is probed on its own labels; results per factor in the JSON
                           and (--yaml) in results_<factor>.yaml; the factor probe mean is the
                           mean over the six factors of the last probed layer's top-1 test accuracy
                           (pixels: the same mean for the pixel probe). The paper's disentanglement
                           score is another measure: apps/lpl_shapes3d_figures --features
  --batch_size N (256)     extraction batch, and eval.py's per-batch participation-ratio batch
  --downsample_images      resize to 32 px first (STL-10)
  --split_seed N (42)      seed of the probe-training split
  --num_workers N (16)     loader threads
Probes:
  --last_layer_only        probe only the last block
  --do_cross_val           10-fold cross-validation on the probe-training split (mean +- std)
  --folds N (10)  --probe_epochs N (20)  --probe_batch_size N (512)  --probe_lr X (1e-3)  --probe_seed N (0)
  --evaluate_pixel_acc     also probe the flattened normalised image
  --no_metrics             skip the representation metrics
  --limit_probe_train N, --limit_test N   use only the first N images of a split (quick checks)
Device:
  --device cpu|cuda|cuda:N (default: cuda when a GPU is visible)   --gpus N (0 = cpu, 1)   --threads N
Output:
  --out FILE               JSON results (default: eval.json in the run directory)
  --yaml                   also write the original's results.yaml beside the JSON
  --no_plot                skip the PNG plots (drawn by tools/plot_eval.py with matplotlib)
  --save_features DIR      write probe_train/ and test/ layer_<k>.npy (N x D float32) and labels.npy
                           (shapes3d: the shape, and factor_labels.npy: N x 6 int64, every factor)
  --embed IMAGES.npy       embed an N x 3 x H x W float32 batch (already normalised) instead of a
                           dataset; writes layer_<k>.npy into --save_features DIR
)";
}

EvalArgs parse_eval_args(int argc, char** argv) {
  EvalArgs a;
  using Setter = std::function<void(const std::string&, const std::string&)>;
  auto str = [](std::string& dst) -> Setter { return [&dst](const std::string&, const std::string& v) { dst = v; }; };
  auto i64 = [](int64_t& dst) -> Setter { return [&dst](const std::string& f, const std::string& v) { dst = to_int(f, v); }; };
  auto i32 = [](int& dst) -> Setter {
    return [&dst](const std::string& f, const std::string& v) { dst = to_i32(f, v); };
  };
  auto u64 = [](uint64_t& dst) -> Setter {
    return [&dst](const std::string& f, const std::string& v) {
      const int64_t x = to_int(f, v);
      if (x < 0) fail(fmt::format("eval_linear: {} must be >= 0, got {}", f, x));
      dst = static_cast<uint64_t>(x);
    };
  };
  std::map<std::string, Setter> valued = {
      {"--dataset", str(a.dataset)},          {"--batch_size", i64(a.batch_size)},
      {"--experiment_dir", str(a.experiment_dir)}, {"--model_type", str(a.model_type)},
      {"--encoder", str(a.encoder)},          {"--gpus", i32(a.gpus)},
      {"--num_workers", i32(a.num_workers)},  {"--weights", str(a.weights)},
      {"--random_seed", u64(a.random_seed)},  {"--device", str(a.device)},
      {"--embed", str(a.embed)},              {"--save_features", str(a.save_features)},
      {"--out", str(a.out)},                  {"--data_dir", str(a.data_dir)},
      {"--split_seed", u64(a.split_seed)},    {"--probe_epochs", i32(a.probe_epochs)},
      {"--probe_batch_size", i64(a.probe_batch_size)},
      {"--probe_lr", [&a](const std::string& f, const std::string& v) { a.probe_lr = to_double(f, v); }},
      {"--probe_seed", u64(a.probe_seed)},    {"--folds", i32(a.folds)},
      {"--threads", i32(a.threads)},          {"--limit_probe_train", i64(a.limit_probe_train)},
      {"--limit_test", i64(a.limit_test)},
  };
  std::map<std::string, bool*> flags = {
      {"--downsample_images", &a.downsample_images}, {"--last_layer_only", &a.last_layer_only},
      {"--do_cross_val", &a.do_cross_val},           {"--evaluate_pixel_acc", &a.evaluate_pixel_acc},
      {"--random_init", &a.random_init},             {"--yaml", &a.yaml},
      {"--no_metrics", &a.no_metrics},               {"--no_plot", &a.no_plot},
      {"--help", &a.help},                           {"-h", &a.help},
  };
  FlagsSeen seen;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (flags.count(arg) || valued.count(arg)) prefixed([&] { seen.add(arg == "-h" ? "--help" : arg); });
    if (auto f = flags.find(arg); f != flags.end()) {
      if (has_value) fail(fmt::format("eval_linear: {} takes no value", arg));
      *f->second = true;
      continue;
    }
    auto s = valued.find(arg);
    if (s == valued.end()) fail(fmt::format("eval_linear: unknown flag '{}' (see --help)", arg));
    if (!has_value) {
      if (i + 1 >= argc) fail(fmt::format("eval_linear: {} needs a value", arg));
      value = argv[++i];
    }
    prefixed([&] { s->second(arg, value); });
  }
  if (a.help) return a;

  check_choice("--dataset", a.dataset, {"cifar10", "stl10", "fashion-mnist", "imagenet2012", "shapes3d"});
  check_choice("--model_type", a.model_type, {"lpl", "supervised", "neg-samples"});
  if (!a.encoder.empty() && !encoder_known(a.encoder))
    fail(fmt::format("eval_linear: --encoder {}: unknown encoder (known: {})", a.encoder, fmt::join(encoder_names(), ", ")));
  const int sources = !a.experiment_dir.empty() + !a.weights.empty() + a.random_init;
  if (sources != 1)
    fail("eval_linear: give exactly one of --experiment_dir DIR, --weights FILE or --random_init");
  if (!a.embed.empty() && a.save_features.empty())
    fail("eval_linear: --embed needs --save_features DIR (where layer_<k>.npy are written)");
  if (!a.embed.empty() && (a.do_cross_val || a.evaluate_pixel_acc || a.yaml))
    fail("eval_linear: --embed only extracts features; --do_cross_val, --evaluate_pixel_acc and --yaml do not apply");
  if (a.batch_size < 2) fail(fmt::format("eval_linear: --batch_size must be >= 2, got {}", a.batch_size));
  if (a.probe_epochs < 1) fail(fmt::format("eval_linear: --probe_epochs must be >= 1, got {}", a.probe_epochs));
  if (a.probe_batch_size < 1)
    fail(fmt::format("eval_linear: --probe_batch_size must be >= 1, got {}", a.probe_batch_size));
  if (!(a.probe_lr > 0)) fail(fmt::format("eval_linear: --probe_lr must be > 0, got {}", a.probe_lr));
  if (a.folds < 2) fail(fmt::format("eval_linear: --folds must be >= 2, got {}", a.folds));

  if (a.limit_probe_train < 0 || a.limit_test < 0) fail("eval_linear: --limit_probe_train / --limit_test must be >= 0");
  prefixed([&] {
    check_threads_flag("--threads", a.threads);
    check_num_workers_flag("--num_workers", a.num_workers);
  });
  if (a.gpus < 0) fail(fmt::format("eval_linear: --gpus must be >= 0, got {}", a.gpus));
  if (a.gpus > 1) fail(fmt::format("eval_linear: --gpus {}: multi-GPU evaluation is not implemented yet", a.gpus));
  if (a.gpus == 0) {
    if (!a.device.empty() && a.device != "cpu")
      fail(fmt::format("eval_linear: --gpus 0 contradicts --device {}", a.device));
    a.device = "cpu";
  }
  return a;
}

}  // namespace lpl::eval
