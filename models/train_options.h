// The command line of train_vgg11: every flag of the original lpl_main.py (same names, defaults and
// meaning; spec §7), plus this engine's own (--device, --threads, --log_dir, --init_from,
// --benchmark, --momentum, --lr_schedule_per_step). Values whose feature is not built yet are
// refused with "not implemented yet"; unknown flags, bad values and the original's invalid
// combinations are refused with one clear message.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lpl {

struct TrainOptions {
  // lpl_main.py
  uint64_t random_seed = 24;
  std::string experiment_name;  // default: time stamp MMDDHHMMSS (filled by parse_train_options)
  bool resume_from_checkpoint = false;
  bool verbose_printing = false;
  bool train_with_supervision = false, use_negative_samples = false, train_end_to_end = false;
  std::string dataset = "cifar10";
  std::string data_dir;
  bool downsample_images = false;
  int64_t max_epochs = 800, max_steps = -1;
  std::string optimizer = "adam";
  int64_t batch_size = 1024;
  double learning_rate = 1e-3, weight_decay = 1.5e-6;
  int64_t warmup_epochs = 10;
  double start_lr = 0.0, final_lr = 1e-6;
  int64_t fast_dev_run = 0;  // N > 0: N training steps, nothing written (the original's flag did nothing)
  int64_t num_nodes = 1, gpus = 1, num_workers = 0;  // num_workers: augmentation threads (0: --threads)
  bool fp32 = false;          // no TF32 on the GPU (the default here anyway)
  bool tf32 = false;          // TF32 tensor-core math in cuDNN / cuBLAS (GPU only)
  std::string encoder = "vgg";
  // models/module.py
  bool use_projector_mlp = false;
  int64_t projection_size = 256, mlp_hidden_size = 2048;
  double pull_coeff = 1.0, push_coeff = 1.0, decorr_coeff = 10.0;
  bool no_pooling = false, stale_estimates = false, no_biases = false, shuffle_positives = false;
  bool local_batch_stats = false;  // several ranks: each rank's own batch statistics (the original's DDP)
  // this engine
  double momentum = 0.9;  // --optimizer sgd
  bool lr_schedule_per_step = false;
  std::string device = "cpu";
  std::string precision = "fp32";  // fp32 | bf16: the convolutions' and GEMMs' (engine/ops.h set_precision)
  int64_t threads = 0;  // 0: all cores
  std::string log_dir;  // replaces ~/data/lpl
  std::string init_from;
  int64_t benchmark = 0;
  // runs that survive (issue 6)
  std::string resume_path;
  bool experiment_name_given = false;             // --resume_from_checkpoint [PATH]: empty = this run's directory
  int64_t checkpoint_every_steps = 0;  // 0: at epoch ends (and on SIGINT / SIGTERM) only
  int64_t keep_checkpoints = 0;        // 0: keep all
  int64_t limit_train_batches = 0;     // > 0: epochs of at most this many batches (as Lightning's flag)
  bool profile = false;
  int64_t profile_warmup_steps = 5, profile_steps = 20;
  int64_t histogram_samples = 10000;   // probe-training images behind the §6 histograms (0: none)
  int64_t eval_every = 1;              // online probe + metrics + validation losses every N epochs (0: never)
  int64_t eval_samples = 0;            // > 0: at most this many probe-training / test images for the online probe
  int64_t val_batches = 0;             // > 0: at most this many validation batches
  bool help = false;
};

// Parses argv[1..]; throws lpl::Error naming the flag and the problem.
TrainOptions parse_train_options(const std::vector<std::string>& args);
std::string train_help_text();
// Every option's value (config.json).
nlohmann::json train_options_json(const TrainOptions& o);
// <dataset>[_downsampled] and the descriptor lpl|supervised|negative_samples[_mlp-projection][_no-pooling]
// [_end-to-end] (spec §6b).
std::string run_dataset_dir(const TrainOptions& o);
std::string run_descriptor(const TrainOptions& o);
// <log_root>/<dataset>/<experiment_name>/<descriptor>
std::string run_directory(const TrainOptions& o);
// Side length of the images the network sees for o.dataset.
int dataset_image_size(const TrainOptions& o);
// The options that must be equal for a run to continue from a checkpoint exactly (flag -> value):
// everything that changes what is computed; not where it runs or what is written.
std::map<std::string, std::string> resume_fingerprint(const TrainOptions& o);

}  // namespace lpl
