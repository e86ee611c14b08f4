// Command line of eval_linear: every flag of the original's eval.py (spec §7) plus the engine's own.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lpl::eval {

struct EvalArgs {
  // The original's eval.py flags.
  std::string dataset = "cifar10";
  int64_t batch_size = 256;        // feature-extraction batch; also the per-batch PR batch (as eval.py)
  bool downsample_images = false;
  std::string experiment_dir;
  std::string model_type = "lpl";  // lpl | supervised | neg-samples (same encoder weights)
  std::string encoder;             // empty: the weights file's encoder (vgg for --random_init)
  bool last_layer_only = false;
  int gpus = 1;
  int num_workers = 16;            // loader threads (capped by the machine)
  bool do_cross_val = false;
  bool evaluate_pixel_acc = false;
  // The engine's additions.
  std::string weights;             // a .safetensors file instead of --experiment_dir
  bool random_init = false;
  uint64_t random_seed = 24;
  std::string device;              // cpu | cuda | cuda:N; empty = cuda when a GPU is visible
  std::string embed;               // .npy batch of images to embed (with --save_features)
  std::string save_features;
  std::string out;                 // JSON results; default eval.json in the run directory
  bool yaml = false;
  std::string data_dir;
  uint64_t split_seed = 42;
  int probe_epochs = 20;
  int64_t probe_batch_size = 512;
  double probe_lr = 1e-3;
  uint64_t probe_seed = 0;
  int folds = 10;
  bool no_metrics = false;
  bool no_plot = false;
  int threads = 0;
  int64_t limit_probe_train = 0;   // > 0: only the first N images of the probe-training split (quick checks)
  int64_t limit_test = 0;          // > 0: only the first N test images
  bool help = false;
};

// Parses argv (both "--flag value" and "--flag=value"); throws lpl::Error naming the bad flag.
EvalArgs parse_eval_args(int argc, char** argv);
std::string eval_usage();

}  // namespace lpl::eval
