// train_vgg11: layer-local LPL training of VGG-11 (spec §1–§3, §6b, §7) with the command line of the
// authors' lpl_main.py. A training step reads as the sequence of explicit per-layer calls in
// models/lpl_step.h; this file is the loop around it: data, schedule, optimiser, files, progress.
//   train_vgg11 --dataset fashion-mnist --batch_size 256 --max_epochs 2 --device cpu --threads 2
//   train_vgg11 --benchmark 5 --batch_size 256 --device cpu --threads 2
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/file_util.h"
#include "engine/lpl_ops.h"
#include "engine/parallel.h"
#include "engine/rng.h"
#include "engine/safetensors.h"
#include "engine/tb_events.h"
#include "models/lpl_step.h"
#include "models/optim.h"
#include "models/train_options.h"
#include "models/vgg11.h"
#include "train_vgg11/progress.h"

using namespace lpl;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The names of spec §6: "Layer k" for k = 1..7, "Final layer" for the last.
std::string layer_tag(const std::string& group, int k, const char* term) {
  if (k == Vgg11::kBlocks - 1) return fmt::format("{}/Final layer {} loss", group, term);
  return fmt::format("{}/Layer {} {} loss", group, k + 1, term);
}

Vgg11Options net_options(const TrainOptions& o) {
  Vgg11Options v;
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
  return s;
}

void load_init(Vgg11& net, const std::string& path) {
  SafetensorsFile f = load_safetensors(path);
  net.load_weights(f, path);
}

// Sum over layers of the coefficient-weighted terms (the original's Loss/train_loss).
double total_loss(const std::vector<LplTerms>& t, const LplCoeffs& c) {
  double s = 0;
  for (const auto& x : t) s += x.weighted(c);
  return s;
}

void check_finite(const std::vector<LplTerms>& t, int64_t step) {
  for (size_t k = 0; k < t.size(); ++k)
    LPL_CHECK(std::isfinite(t[k].pull) && std::isfinite(t[k].push) && std::isfinite(t[k].decorr),
              fmt::format("training diverged: layer {} loss is not finite at step {} (pull {}, push {}, decorr {}); "
                          "the last saved checkpoint is unaffected — lower --learning_rate",
                          k + 1, step, t[k].pull, t[k].push, t[k].decorr));
}

int benchmark(const TrainOptions& o, Device dev) {
  const int S = dataset_image_size(o);
  const int64_t B = o.batch_size;
  Vgg11 net(net_options(o), o.random_seed, dev);
  if (!o.init_from.empty()) load_init(net, o.init_from);
  prof::PhaseTimer timer;
  LplStepOptions so = step_options(o);
  if (std::getenv("LPL_PROFILE")) so.timer = &timer;
  LplStep step(net, so);
  OptimizerOptions oo{o.optimizer, o.weight_decay, o.momentum};
  Optimizer opt(oo, net.params());
  // Synthetic normalised views (no data loading): uniform in [-2, 2].
  Tensor x = Tensor::empty({2 * B, 3, S, S}, cpu());
  const CounterRng rng{o.random_seed, 77};
  float* p = x.f();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = 4.f * rng.uniform(static_cast<uint64_t>(i) / 4, static_cast<int>(i % 4)) - 2.f;
  x = x.to(dev);
  const int warmup = 2;
  for (int i = 0; i < warmup; ++i) {
    step.run(x, i);
    opt.step(1e-4);
  }
  synchronize(dev);
  timer.reset();
  auto t0 = Clock::now();
  for (int64_t i = 0; i < o.benchmark; ++i) {
    step.run(x, warmup + i);
    opt.step(1e-4);
  }
  synchronize(dev);
  const double el = seconds_since(t0);
  if (so.timer) std::fputs(timer.table("LPL step phases").c_str(), stderr);
  nlohmann::json j;
  j["images_per_s"] = static_cast<double>(2 * B * o.benchmark) / el;
  j["batch"] = B;
  j["device"] = dev.str();
  j["threads"] = num_threads();
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

struct RunFiles {
  std::string dir;
  std::unique_ptr<tb::EventWriter> tb;
  std::ofstream metrics;

  RunFiles(const TrainOptions& o) : dir(run_directory(o)) {
    LPL_CHECK(!file_exists(dir + "/config.json"),
              fmt::format("run directory {} already holds a run; choose another --experiment_name "
                          "(nothing was overwritten)",
                          dir));
    make_dirs(dir + "/checkpoints");
    atomic_write_file(dir + "/config.json", train_options_json(o).dump(2) + "\n");
    metrics.open(dir + "/metrics.jsonl", std::ios::app);
    LPL_CHECK(metrics.good(), fmt::format("cannot write {}/metrics.jsonl", dir));
    tb = std::make_unique<tb::EventWriter>(dir);
  }
  void save(Vgg11& net, int64_t epoch, int64_t step) {
    const NamedTensors w = net.named_weights();
    const std::map<std::string, std::string> meta{{"epoch", std::to_string(epoch)}, {"step", std::to_string(step)},
                                                  {"format", "lpl train_vgg11 weights"}};
    save_safetensors(fmt::format("{}/checkpoints/epoch={}-step={}.safetensors", dir, epoch, step), w, meta);
    save_safetensors(dir + "/checkpoints/last.safetensors", w, meta);
  }
};

int train(const TrainOptions& o, Device dev) {
  const bool write = o.fast_dev_run == 0;
  data::DataOptions dopt;
  dopt.dataset = o.dataset;
  dopt.data_dir = o.data_dir;
  dopt.downsample_images = o.downsample_images;
  std::fprintf(stderr, "loading %s ...\n", o.dataset.c_str());
  const data::DatasetSplits splits = data::load_dataset(dopt);
  data::LoaderOptions lopt;
  lopt.batch_size = o.batch_size;
  lopt.seed = o.random_seed;
  lopt.threads = static_cast<int>(o.num_workers > 0 ? o.num_workers : std::max(1, num_threads()));
  lopt.augment = splits.augment;
  lopt.device = dev;
  data::Loader loader(splits.ssl_train, splits, lopt);
  const int64_t steps_per_epoch = loader.batches_per_epoch();

  Vgg11 net(net_options(o), o.random_seed, dev);
  if (!o.init_from.empty()) load_init(net, o.init_from);
  LplStep step(net, step_options(o));
  Optimizer opt({o.optimizer, o.weight_decay, o.momentum}, net.params());
  ScheduleOptions sched{o.learning_rate, o.start_lr, o.final_lr, o.warmup_epochs, o.max_epochs, o.lr_schedule_per_step};
  const LplCoeffs coeffs = step_options(o).coeffs;

  std::unique_ptr<RunFiles> files;
  if (write) {
    files = std::make_unique<RunFiles>(o);
    std::fprintf(stderr, "run directory %s\n", files->dir.c_str());
  }
  std::fprintf(stderr, "%s: %lld images, %lld steps of %lld x 2 views per epoch, device %s, %d threads\n",
               o.dataset.c_str(), static_cast<long long>(splits.ssl_train.n), static_cast<long long>(steps_per_epoch),
               static_cast<long long>(o.batch_size), dev.str().c_str(), num_threads());

  int64_t global_step = 0;
  const int64_t step_limit = o.fast_dev_run > 0 ? o.fast_dev_run : o.max_steps;
  bool stop = false;
  const auto t_run = Clock::now();
  std::vector<LplTerms> first_terms;
  std::vector<std::vector<LplTerms>> recent;  // the last 10 steps' terms, for the final summary
  double last_ips = 0;
  int64_t epochs_done = 0;
  for (int64_t epoch = 0; epoch < o.max_epochs && !stop; ++epoch) {
    loader.start_epoch(epoch);
    const int64_t bar_steps = step_limit > 0 ? std::min(steps_per_epoch, step_limit - global_step) : steps_per_epoch;
    ProgressBar bar(epoch, o.max_epochs, bar_steps);
    std::vector<LplTerms> sum(Vgg11::kBlocks);
    double loss_sum = 0, lr = 0;
    int64_t n = 0;
    const auto t_epoch = Clock::now();
    data::Batch batch;
    while (loader.next(batch)) {
      lr = scheduled_lr(sched, epoch, batch.step_in_epoch, steps_per_epoch);
      const Tensor x = stack_views(batch.view1, batch.view2);
      const std::vector<LplTerms> t = step.run(x, global_step);
      check_finite(t, global_step);
      if (first_terms.empty()) first_terms = t;
      recent.push_back(t);
      if (recent.size() > 10) recent.erase(recent.begin());
      opt.step(lr);
      ++global_step;
      ++n;
      for (int k = 0; k < Vgg11::kBlocks; ++k) {
        sum[k].pull += t[k].pull;
        sum[k].push += t[k].push;
        sum[k].decorr += t[k].decorr;
      }
      const double loss = total_loss(t, coeffs);
      loss_sum += loss;
      if (files) {
        files->tb->add_scalar("Loss/train_loss_step", loss, global_step);
        if (global_step % 50 == 0) files->tb->flush();
      }
      double P = 0, H = 0, D = 0;
      for (const auto& x2 : t) { P += x2.pull; H += x2.push; D += x2.decorr; }
      last_ips = static_cast<double>(2 * o.batch_size * n) / seconds_since(t_epoch);
      bar.update(n, loss, P, H, D, last_ips);
      if (step_limit > 0 && global_step >= step_limit) {
        stop = true;
        break;
      }
    }
    bar.finish();
    if (n == 0) break;
    ++epochs_done;
    for (auto& s : sum) { s.pull /= n; s.push /= n; s.decorr /= n; }
    nlohmann::json m;
    m["epoch"] = epoch;
    m["step"] = global_step;
    m["lr"] = lr;
    m["images_per_s"] = last_ips;
    for (int k = 0; k < Vgg11::kBlocks; ++k) {
      m[layer_tag("Layerwise train losses", k, "pull")] = sum[k].pull;
      m[layer_tag("Layerwise train losses", k, "push")] = sum[k].push;
      m[layer_tag("Layerwise train losses", k, "decorr")] = sum[k].decorr;
    }
    m["Loss/train_loss"] = loss_sum / n;
    if (o.verbose_printing) {
      std::fprintf(stderr, "epoch %lld: lr %.3g, train_loss %.5f\n", static_cast<long long>(epoch), lr, loss_sum / n);
      for (int k = 0; k < Vgg11::kBlocks; ++k)
        std::fprintf(stderr, "  layer %d: pull %.5f push %.5f decorr %.6f\n", k + 1, sum[k].pull, sum[k].push,
                     sum[k].decorr);
    }
    if (files) {
      files->metrics << m.dump() << "\n";
      files->metrics.flush();
      for (auto it = m.begin(); it != m.end(); ++it)
        if (it.key() != "epoch" && it.key() != "step") files->tb->add_scalar(it.key(), it.value().get<double>(), epoch);
      files->tb->flush();
      files->save(net, epoch, global_step);
    }
  }
  const double el = seconds_since(t_run);
  std::fprintf(stderr, "\ndone: %lld steps in %lld epochs, %s, %.1f images/s (both views)\n",
               static_cast<long long>(global_step), static_cast<long long>(epochs_done), format_duration(el).c_str(),
               static_cast<double>(2 * o.batch_size * global_step) / el);
  if (!recent.empty()) {
    // How learning went: each layer's terms at the first step and over the last steps. The Hebbian
    // term is -mean log(var + eps): it falls as the variance of the features rises.
    std::vector<LplTerms> end(Vgg11::kBlocks);
    for (const auto& t : recent)
      for (int k = 0; k < Vgg11::kBlocks; ++k) {
        end[k].pull += t[k].pull / static_cast<double>(recent.size());
        end[k].push += t[k].push / static_cast<double>(recent.size());
        end[k].decorr += t[k].decorr / static_cast<double>(recent.size());
      }
    std::fprintf(stderr, "loss terms per layer: first step -> mean of the last %zu steps\n", recent.size());
    std::fprintf(stderr, "  layer  pull                      push (-mean log var)     decorr                 pull / mean var\n");
    for (int k = 0; k < Vgg11::kBlocks; ++k) {
      const auto& a = first_terms[k];
      const auto& b = end[k];
      // exp(-push) is the geometric mean of (var + eps): pull relative to the feature variance.
      std::fprintf(stderr, "  %d      %.3e -> %.3e    %8.4f -> %8.4f     %.2e -> %.2e     %.3g -> %.3g\n", k + 1, a.pull,
                   b.pull, a.push, b.push, a.decorr, b.decorr, a.pull / std::exp(-a.push), b.pull / std::exp(-b.push));
    }
    std::fprintf(stderr, "total loss %.5f -> %.5f\n", total_loss(first_terms, coeffs), total_loss(end, coeffs));
  }
  if (files) std::fprintf(stderr, "weights: %s/checkpoints/last.safetensors\n", files->dir.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const TrainOptions o = parse_train_options(std::vector<std::string>(argv + 1, argv + argc));
    if (o.help) {
      std::fputs(train_help_text().c_str(), stdout);
      return 0;
    }
    set_num_threads(static_cast<int>(o.threads));
    const Device dev = parse_device(o.device);
    if (dev.is_cuda()) {
      LPL_CHECK(cuda_built(), "--device cuda: this build has no CUDA backend");
      LPL_CHECK(cuda_device_count() > dev.index, fmt::format("--device {}: no such GPU ({} visible)", o.device,
                                                             cuda_device_count()));
      set_allow_tf32(false);
    }
    if (o.benchmark > 0) return benchmark(o, dev);
    return train(o, dev);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
