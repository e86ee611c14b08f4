#include "models/train_options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>

#include "engine/common.h"
#include "engine/flags.h"
#include "models/encoder.h"

namespace lpl {

namespace {

enum class Kind { Flag, Int, Float, String };

struct Spec {
  const char* name;
  Kind kind;
  void* target;
  const char* help;
};

std::vector<Spec> specs(TrainOptions& o) {
  return {
      // lpl_main.py
      {"random_seed", Kind::Int, &o.random_seed, "seed of initialisation, data order and augmentation (24)"},
      {"experiment_name", Kind::String, &o.experiment_name, "run name (default: time stamp MMDDHHMMSS)"},
      {"resume_from_checkpoint", Kind::Flag, &o.resume_from_checkpoint,
       "[PATH] continue this run (or the run of PATH: run dir, checkpoints/, a checkpoint file) exactly"},
      {"verbose_printing", Kind::Flag, &o.verbose_printing, "print every layer's loss terms each epoch"},
      {"train_with_supervision", Kind::Flag, &o.train_with_supervision, "supervised baseline: a linear classifier head per layer, CE of both views"},
      {"use_negative_samples", Kind::Flag, &o.use_negative_samples, "negative-sample baseline: cosine pull, squared-cosine push (needs --decorr_coeff 0)"},
      {"train_end_to_end", Kind::Flag, &o.train_end_to_end, "objective on the final layer only, backprop through all 8 blocks"},
      {"dataset", Kind::String, &o.dataset, "cifar10 | stl10 | fashion-mnist | shapes3d | imagenet2012 (cifar10)"},
      {"data_dir", Kind::String, &o.data_dir, "dataset folder (default ~/data/datasets/<dataset>)"},
      {"downsample_images", Kind::Flag, &o.downsample_images, "resize images to 32 px first (STL-10)"},
      {"max_epochs", Kind::Int, &o.max_epochs, "epochs to train (800)"},
      {"max_steps", Kind::Int, &o.max_steps, "stop after this many steps (-1: no limit)"},
      {"optimizer", Kind::String, &o.optimizer, "adam | sgd (adam)"},
      {"batch_size", Kind::Int, &o.batch_size, "images per step, each seen in two views (1024)"},
      {"learning_rate", Kind::Float, &o.learning_rate, "base learning rate (1e-3)"},
      {"weight_decay", Kind::Float, &o.weight_decay, "L2 decay of weights, not biases (1.5e-6)"},
      {"warmup_epochs", Kind::Int, &o.warmup_epochs, "linear warm-up epochs before the cosine (10)"},
      {"start_lr", Kind::Float, &o.start_lr, "learning rate at the start of the warm-up (0)"},
      {"final_lr", Kind::Float, &o.final_lr, "learning rate at the end of the cosine (1e-6)"},
      {"fast_dev_run", Kind::Int, &o.fast_dev_run, "N > 0: train N steps as a smoke test, write nothing (0)"},
      {"num_nodes", Kind::Int, &o.num_nodes, "machines (1; more: launch the ranks with mpirun --hostfile / srun)"},
      {"gpus", Kind::Int, &o.gpus, "GPUs on this machine (1; N > 1 starts N ranks with mpirun, one per GPU)"},
      {"local_batch_stats", Kind::Flag, &o.local_batch_stats,
       "several ranks: each rank's own batch statistics, gradients averaged (the original's DDP); default: the "
       "global batch's"},
      {"num_workers", Kind::Int, &o.num_workers, "augmentation threads (0: same as --threads)"},
      {"fp32", Kind::Flag, &o.fp32, "full float32 on the GPU, no TF32 (the default here)"},
      {"tf32", Kind::Flag, &o.tf32,
       "TF32 tensor-core math in the GPU's convolutions and GEMMs (10-bit mantissa products, float32 sums)"},
      {"precision", Kind::String, &o.precision,
       "fp32 | bf16: convolutions and linear layers on bfloat16 copies of inputs and weights with float32 "
       "accumulation (CPU with AVX512-BF16 or AMX through oneDNN; GPU of compute capability >= 8.0 through "
       "cuDNN / cuBLAS); the objective, its statistics, the optimiser and checkpoints stay float32 (fp32)"},
      {"encoder", Kind::String, &o.encoder, "vgg | alexnet | resnet (ResNet-50, end-to-end only) (vgg)"},
      // models/module.py
      {"use_projector_mlp", Kind::Flag, &o.use_projector_mlp, "projector MLP per layer"},
      {"projection_size", Kind::Int, &o.projection_size, "projector output size (256)"},
      {"mlp_hidden_size", Kind::Int, &o.mlp_hidden_size, "projector hidden size (2048)"},
      {"pull_coeff", Kind::Float, &o.pull_coeff, "predictive term coefficient (1)"},
      {"push_coeff", Kind::Float, &o.push_coeff, "Hebbian term coefficient (1)"},
      {"decorr_coeff", Kind::Float, &o.decorr_coeff, "decorrelation term coefficient (10)"},
      {"no_pooling", Kind::Flag, &o.no_pooling, "objective on the unpooled block outputs"},
      {"stale_estimates", Kind::Flag, &o.stale_estimates, "Hebbian term with the previous step's mean/variance"},
      {"no_biases", Kind::Flag, &o.no_biases, "no bias in the convolutions and projectors"},
      {"shuffle_positives", Kind::Flag, &o.shuffle_positives, "pull pairs view 1 with shuffled view 2 (control)"},
      // this engine
      {"momentum", Kind::Float, &o.momentum, "SGD momentum (0.9)"},
      {"lr_schedule_per_step", Kind::Flag, &o.lr_schedule_per_step, "evaluate the schedule every step, not per epoch"},
      {"device", Kind::String, &o.device, "cpu | cuda | cuda:N (cpu)"},
      {"threads", Kind::Int, &o.threads, "CPU threads (0: all cores)"},
      {"log_dir", Kind::String, &o.log_dir, "root of the run directories (default ~/data/lpl)"},
      {"init_from", Kind::String, &o.init_from, "initial weights from a .safetensors file"},
      {"benchmark", Kind::Int, &o.benchmark, "N > 0: time N steps on synthetic batches, print one JSON line"},
      {"checkpoint_every_steps", Kind::Int, &o.checkpoint_every_steps, "also checkpoint every N steps (0: epoch ends only)"},
      {"keep_checkpoints", Kind::Int, &o.keep_checkpoints, "keep the newest K checkpoints (0: all)"},
      {"limit_train_batches", Kind::Int, &o.limit_train_batches, "N > 0: epochs of at most N batches (0: all)"},
      {"profile", Kind::Flag, &o.profile, "warm-up steps, then profiled steps (cudaProfilerStart/Stop), then exit"},
      {"profile_warmup_steps", Kind::Int, &o.profile_warmup_steps, "steps before profiling starts (5)"},
      {"profile_steps", Kind::Int, &o.profile_steps, "steps profiled (20)"},
      {"histogram_samples", Kind::Int, &o.histogram_samples,
       "probe-training images behind the TensorBoard histograms at epochs 1,5,10,50,100,500,800 (10000; 0: none)"},
      {"eval_every", Kind::Int, &o.eval_every,
       "online evaluation every N epochs: final-layer probe, metrics, validation losses (1; 0: never)"},
      {"eval_samples", Kind::Int, &o.eval_samples, "N > 0: online probe on at most N train / N test images (0: all)"},
      {"val_batches", Kind::Int, &o.val_batches, "N > 0: validation losses on at most N batches (0: all)"},
      {"help", Kind::Flag, &o.help, "this text"},
  };
}

std::string time_stamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%m%d%H%M%S", &tm);
  return buf;
}

void validate(const TrainOptions& o) {
  auto need = [](bool ok, const std::string& msg) { LPL_CHECK(ok, msg); };
  // The original's own assertions (models/module.py): invalid combinations.
  need(!(o.no_pooling && o.train_end_to_end), "--no_pooling cannot be combined with --train_end_to_end");
  need(!(o.no_pooling && o.use_projector_mlp), "--no_pooling cannot be combined with --use_projector_mlp");
  need(!(o.stale_estimates && o.no_pooling), "--stale_estimates is not supported with --no_pooling");
  need(!(o.train_with_supervision && o.use_negative_samples),
       "--train_with_supervision and --use_negative_samples are two different baselines: choose one");
  need(!(o.train_with_supervision && o.stale_estimates), "--stale_estimates makes no difference with --train_with_supervision");
  need(!(o.use_negative_samples && o.stale_estimates), "--stale_estimates makes no difference with --use_negative_samples");
  need(!(o.no_pooling && o.train_with_supervision),
       "--no_pooling cannot be combined with --train_with_supervision (the heads read the pooled representation)");
  need(!(o.no_pooling && o.use_negative_samples),
       "--no_pooling cannot be combined with --use_negative_samples (the cosines are of pooled representations)");
  need(!(o.use_negative_samples && o.decorr_coeff != 0),
       "--use_negative_samples needs --decorr_coeff 0 (and is meant with --use_projector_mlp)");
  // Values.
  need(o.batch_size >= 2, fmt::format("--batch_size must be at least 2 (the variance needs two samples), got {}", o.batch_size));
  need(o.max_epochs >= 1, fmt::format("--max_epochs must be at least 1, got {}", o.max_epochs));
  need(o.max_steps == -1 || o.max_steps >= 1, fmt::format("--max_steps must be -1 (no limit) or positive, got {}", o.max_steps));
  need(o.learning_rate > 0, fmt::format("--learning_rate must be positive, got {}", o.learning_rate));
  need(o.weight_decay >= 0, fmt::format("--weight_decay must be >= 0, got {}", o.weight_decay));
  need(o.warmup_epochs >= 0, fmt::format("--warmup_epochs must be >= 0, got {}", o.warmup_epochs));
  need(o.start_lr >= 0 && o.final_lr >= 0, "--start_lr and --final_lr must be >= 0");
  need(o.pull_coeff >= 0 && o.push_coeff >= 0 && o.decorr_coeff >= 0,
       "--pull_coeff, --push_coeff and --decorr_coeff must be >= 0");
  need(o.projection_size >= 1 && o.mlp_hidden_size >= 1, "--projection_size and --mlp_hidden_size must be positive");
  // The projector's weights are hidden x 512 and projection x hidden floats: beyond this, memory runs out.
  constexpr int64_t kMaxWidth = 65536;
  for (const auto& [flag, v] : {std::pair{"projection_size", o.projection_size}, std::pair{"mlp_hidden_size", o.mlp_hidden_size}})
    need(v <= kMaxWidth, fmt::format("--{} {} is too large: at most {}", flag, v, kMaxWidth));
  need(o.optimizer == "adam" || o.optimizer == "sgd", fmt::format("--optimizer must be adam or sgd, got '{}'", o.optimizer));
  need(o.momentum >= 0 && o.momentum < 1, fmt::format("--momentum must be in [0, 1), got {}", o.momentum));
  check_threads_flag("threads", o.threads);
  check_num_workers_flag("num_workers", o.num_workers);
  need(o.fast_dev_run >= 0, "--fast_dev_run must be >= 0");
  need(o.benchmark >= 0, "--benchmark must be >= 0");
  need(o.checkpoint_every_steps >= 0, "--checkpoint_every_steps must be >= 0");
  need(o.keep_checkpoints >= 0, "--keep_checkpoints must be >= 0 (0 keeps all)");
  need(o.limit_train_batches >= 0, "--limit_train_batches must be >= 0");
  need(o.histogram_samples >= 0, "--histogram_samples must be >= 0");
  need(o.eval_every >= 0, "--eval_every must be >= 0");
  need(o.eval_samples >= 0, "--eval_samples must be >= 0");
  need(o.val_batches >= 0, "--val_batches must be >= 0");
  need(o.profile_warmup_steps >= 0 && o.profile_steps >= 1, "--profile_warmup_steps must be >= 0 and --profile_steps >= 1");
  need(!(o.resume_from_checkpoint && !o.init_from.empty()),
       "--resume_from_checkpoint and --init_from: a resumed run continues from its checkpoint; give one of them");
  need(o.num_nodes >= 1 && o.gpus >= 0, "--num_nodes must be >= 1 and --gpus >= 0");
  need(!o.experiment_name.empty() && o.experiment_name.find('/') == std::string::npos && o.experiment_name != "." &&
           o.experiment_name != "..",
       fmt::format("--experiment_name must be a plain folder name, got '{}'", o.experiment_name));
  need(o.device == "cpu" || o.device.rfind("cuda", 0) == 0, fmt::format("--device must be cpu or cuda[:N], got '{}'", o.device));
  need(o.precision == "fp32" || o.precision == "bf16", fmt::format("--precision must be fp32 or bf16, got '{}'", o.precision));
  need(!(o.tf32 && o.fp32), "--tf32 and --fp32 contradict each other: give one");
  need(!o.tf32 || o.device != "cpu", "--tf32 is GPU math (cuDNN / cuBLAS tensor cores): it needs --device cuda");
  EncoderOptions eo;
  eo.kind = o.encoder;
  eo.projector = o.use_projector_mlp;
  const std::string encoder_problem = encoder_options_problem(eo);
  need(encoder_problem.empty(), encoder_problem);
  need(o.train_end_to_end || encoder_traits(o.encoder).layer_local,
       fmt::format("--encoder {} trains end-to-end only (as the original): add --train_end_to_end", o.encoder));
}

}  // namespace

TrainOptions parse_train_options(const std::vector<std::string>& args) {
  TrainOptions o;
  auto table = specs(o);
  std::map<std::string, const Spec*> by_name;
  for (const auto& s : table) by_name[s.name] = &s;
  FlagsSeen seen;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    LPL_CHECK(a.rfind("--", 0) == 0 && a.size() > 2,
              fmt::format("unexpected argument '{}' (flags start with --; see --help)", a));
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    std::replace(name.begin(), name.end(), '-', '_');
    auto it = by_name.find(name);
    LPL_CHECK(it != by_name.end(), fmt::format("unknown flag --{} (see --help)", name));
    seen.add(name);
    const Spec& s = *it->second;
    if (s.target == &o.resume_from_checkpoint) {  // a switch (as the original) with an optional path
      o.resume_from_checkpoint = true;
      if (!has_value && i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) value = args[++i];
      o.resume_path = value;
      continue;
    }
    if (s.kind == Kind::Flag) {
      LPL_CHECK(!has_value, fmt::format("--{} takes no value", name));
      *static_cast<bool*>(s.target) = true;
      continue;
    }
    if (!has_value) {
      LPL_CHECK(i + 1 < args.size(), fmt::format("--{} needs a value", name));
      value = args[++i];
    }
    switch (s.kind) {
      case Kind::Int: {
        int64_t v = parse_int_flag(name, value);
        if (s.target == &o.random_seed) {
          LPL_CHECK(v >= 0, fmt::format("--random_seed must be >= 0, got {}", v));
          o.random_seed = static_cast<uint64_t>(v);
        } else {
          *static_cast<int64_t*>(s.target) = v;
        }
        break;
      }
      case Kind::Float: *static_cast<double*>(s.target) = parse_float_flag(name, value); break;
      case Kind::String: *static_cast<std::string*>(s.target) = value; break;
      case Kind::Flag: break;
    }
  }
  if (o.help) return o;
  o.experiment_name_given = !o.experiment_name.empty();
  if (o.experiment_name.empty()) o.experiment_name = time_stamp();
  if (o.dataset == "fashion_mnist") o.dataset = "fashion-mnist";
  validate(o);
  return o;
}

std::string train_help_text() {
  TrainOptions o;
  std::string s =
      "train_vgg11: layer-local LPL training of VGG-11 (Halvagal & Zenke 2023), the flags of lpl_main.py,\n"
      "and the paper's baselines (--use_negative_samples, --train_with_supervision, --train_end_to_end).\n"
      "usage: train_vgg11 [--flag value | --flag=value | --switch] ...\n\n";
  for (const auto& sp : specs(o)) {
    std::string arg = sp.kind == Kind::Flag ? "" : sp.kind == Kind::String ? " S" : sp.kind == Kind::Int ? " N" : " X";
    s += fmt::format("  --{:<24} {}\n", std::string(sp.name) + arg, sp.help);
  }
  s += "\nFiles: <log_dir>/<dataset>/<experiment_name>/<descriptor>/{config.json, metrics.jsonl, events.out.tfevents.*,\n"
       "       checkpoints/epoch=<E>-step=<S>.safetensors, checkpoints/last.safetensors}\n";
  return s;
}

nlohmann::json train_options_json(const TrainOptions& o_in) {
  TrainOptions o = o_in;
  nlohmann::json j = nlohmann::json::object();
  for (const auto& s : specs(o)) {
    if (std::string(s.name) == "help") continue;
    switch (s.kind) {
      case Kind::Flag: j[s.name] = *static_cast<bool*>(s.target); break;
      case Kind::Int:
        if (s.target == &o.random_seed)
          j[s.name] = o.random_seed;
        else
          j[s.name] = *static_cast<int64_t*>(s.target);
        break;
      case Kind::Float: j[s.name] = *static_cast<double*>(s.target); break;
      case Kind::String: j[s.name] = *static_cast<std::string*>(s.target); break;
    }
  }
  return j;
}

std::string run_dataset_dir(const TrainOptions& o) { return o.dataset + (o.downsample_images ? "_downsampled" : ""); }

std::string run_descriptor(const TrainOptions& o) {
  std::string d = o.train_with_supervision ? "supervised" : o.use_negative_samples ? "negative_samples" : "lpl";
  if (o.use_projector_mlp) d += "_mlp-projection";
  if (o.no_pooling && !o.train_with_supervision && !o.use_negative_samples) d += "_no-pooling";
  if (o.train_end_to_end) d += "_end-to-end";
  return d;
}

std::string run_directory(const TrainOptions& o) {
  std::string root = o.log_dir;
  if (root.empty()) {
    const char* home = std::getenv("HOME");
    root = std::string(home && *home ? home : ".") + "/data/lpl";
  }
  return fmt::format("{}/{}/{}/{}", root, run_dataset_dir(o), o.experiment_name, run_descriptor(o));
}

int dataset_image_size(const TrainOptions& o) {
  if (o.downsample_images) return 32;
  if (o.dataset == "stl10") return 96;
  if (o.dataset == "shapes3d") return 64;
  if (o.dataset == "imagenet2012") return 196;
  return 32;
}

std::map<std::string, std::string> resume_fingerprint(const TrainOptions& o) {
  // Where it runs, how much is written and when it stops do not change the numbers of a step.
  static const char* free_keys[] = {"experiment_name", "resume_from_checkpoint", "verbose_printing", "data_dir",
                                    "max_steps", "fast_dev_run", "num_nodes", "gpus", "num_workers", "fp32", "device",
                                    "precision", "tf32",
                                    "threads", "log_dir", "init_from", "benchmark", "checkpoint_every_steps",
                                    "keep_checkpoints", "profile", "profile_warmup_steps", "profile_steps",
                                    "histogram_samples", "eval_every", "eval_samples", "val_batches"};
  std::map<std::string, std::string> out;
  nlohmann::json j = train_options_json(o);
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool free = false;
    for (const char* k : free_keys) free |= it.key() == k;
    if (!free) out[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
  }
  return out;
}

}  // namespace lpl
