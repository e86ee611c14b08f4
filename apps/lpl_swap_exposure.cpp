// The swap-exposure experiment (paper Fig. 4, Li & DiCarlo 2008) on a trained encoder; the core is
// experiments/swap_exposure.h. Writes into --out: swap_exposure_mean.csv (mean and SEM of the
// selectivity P - N per condition and exposure step), swap_exposure_units.csv (each unit's
// selectivity, averaged over the condition's pairs, every --record_every steps), swap_exposure_loss.csv
// (readout training and exposure loss terms), swap_exposure_responses.csv (mean responses at the swap
// position to the preferred and the other object), swap_exposure.json (settings and summary) and
// swap_exposure.png (tools/plot_swap_exposure.py).
//   lpl_swap_exposure --run_dir RUN | --weights FILE.safetensors --out DIR [--dataset stl10] ...
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/common.h"
#include "engine/csv_table.h"
#include "engine/device.h"
#include "engine/file_util.h"
#include "engine/flags.h"
#include "engine/parallel.h"
#include "engine/ops.h"
#include "engine/plot_tool.h"
#include "experiments/swap_exposure.h"
#include "models/weights_file.h"

using namespace lpl;
namespace fs = std::filesystem;

namespace {

const char* kUsage = R"(usage: lpl_swap_exposure (--run_dir RUN | --weights FILE.safetensors) --out DIR [options]
  --run_dir RUN          a train_vgg11 run directory: RUN/checkpoints/last.safetensors
  --weights FILE         an encoder weights file (.safetensors)
  --out DIR              output directory (refused when it holds results, unless --overwrite)
  --dataset NAME         stl10 (the paper) | fashion-mnist | cifar10 ... (default stl10)
  --data_dir DIR         dataset root (default: the dataset's usual place)
  --pairs N              object pairs per set: swap at the top, at the bottom, control (default 8)
  --first_image I        the 6 N test images start at I (default 192: the notebook's second batch of 192)
  --readout_epochs E     epochs of the readout's position-tolerance training (default 10)
  --readout_steps S      > 0: that many steps instead of epochs (default 0)
  --readout_batch B      images per readout step, two views each (default 128)
  --readout_lr LR        Adam learning rate of the readout (default 1e-3)
  --readout_pool N       > 0: the readout trains on one augmented pair of views of N training images,
                         their features computed once at all three slots, each step drawing --readout_batch
                         of them at random slots (fast on a CPU); 0: fresh views every step (the notebook)
  --exposure_steps S     swap-exposure SGD steps (default 400)
  --exposure_lr LR       SGD learning rate of the exposure (default 2e-2)
  --weight_decay W       L2 decay on the readout weights (default 1.5e-6)
  --feature_scale S      multiply the readout's inputs by S (default 1: as the notebook); the balance of
                         the pull and Hebbian terms depends on the features' scale
  --pull_coeff, --push_coeff, --decorr_coeff   LPL coefficients (default 1, 1, 10)
  --record_every N       per-unit selectivity every N exposure steps (default 100)
  --feature_batch N      canvases per encoder forward (default 32)
  --seed S               readout init and random slots (default 1)
  --device cpu|cuda|cuda:N, --threads N, --no_plot, --overwrite)";

struct Args {
  std::string run_dir, weights, out, dataset = "stl10", data_dir, device;
  int64_t pairs = 8, first_image = 192, readout_epochs = 10, readout_steps = 0, readout_batch = 128, readout_pool = 0;
  int64_t exposure_steps = 400, record_every = 100, feature_batch = 32, threads = 0;
  double readout_lr = 1e-3, exposure_lr = 2e-2, weight_decay = 1.5e-6, feature_scale = 1.0;
  LplCoeffs coeffs;
  uint64_t seed = 1;
  bool no_plot = false, overwrite = false;
};

Args parse(int argc, char** argv) {
  Args a;
  FlagsSeen seen;
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i], v;
    const auto eq = f.find('=');
    const bool has_eq = f.rfind("--", 0) == 0 && eq != std::string::npos;
    if (has_eq) { v = f.substr(eq + 1); f = f.substr(0, eq); }
    seen.add(f);
    const auto value = [&]() -> std::string {
      if (has_eq) return v;
      if (i + 1 >= argc) fail(fmt::format("lpl_swap_exposure: {} needs a value\n{}", f, kUsage));
      return argv[++i];
    };
    const auto integer = [&]() { return parse_int_flag(f, value()); };
    const auto number = [&]() { return parse_float_flag(f, value()); };
    if (f == "--run_dir") a.run_dir = value();
    else if (f == "--weights") a.weights = value();
    else if (f == "--out") a.out = value();
    else if (f == "--dataset") a.dataset = value();
    else if (f == "--data_dir") a.data_dir = value();
    else if (f == "--device") a.device = value();
    else if (f == "--pairs") a.pairs = integer();
    else if (f == "--first_image") a.first_image = integer();
    else if (f == "--readout_epochs") a.readout_epochs = integer();
    else if (f == "--readout_steps") a.readout_steps = integer();
    else if (f == "--readout_batch") a.readout_batch = integer();
    else if (f == "--readout_lr") a.readout_lr = number();
    else if (f == "--readout_pool") a.readout_pool = integer();
    else if (f == "--exposure_steps") a.exposure_steps = integer();
    else if (f == "--exposure_lr") a.exposure_lr = number();
    else if (f == "--weight_decay") a.weight_decay = number();
    else if (f == "--feature_scale") a.feature_scale = number();
    else if (f == "--pull_coeff") a.coeffs.pull = static_cast<float>(number());
    else if (f == "--push_coeff") a.coeffs.push = static_cast<float>(number());
    else if (f == "--decorr_coeff") a.coeffs.decorr = static_cast<float>(number());
    else if (f == "--record_every") a.record_every = integer();
    else if (f == "--feature_batch") a.feature_batch = integer();
    else if (f == "--seed") a.seed = static_cast<uint64_t>(integer());
    else if (f == "--threads") a.threads = integer();
    else if (f == "--no_plot" && !has_eq) a.no_plot = true;
    else if (f == "--overwrite" && !has_eq) a.overwrite = true;
    else if ((f == "--help" || f == "-h") && !has_eq) { std::puts(kUsage); std::exit(0); }
    else fail(fmt::format("lpl_swap_exposure: unknown argument {}\n{}", argv[i], kUsage));
  }
  LPL_CHECK(a.run_dir.empty() != a.weights.empty(),
            fmt::format("lpl_swap_exposure: give exactly one of --run_dir and --weights\n{}", kUsage));
  LPL_CHECK(!a.out.empty(), fmt::format("lpl_swap_exposure: --out is required\n{}", kUsage));
  LPL_CHECK(a.pairs >= 1 && a.pairs <= 10000, "lpl_swap_exposure: --pairs must be 1..10000");
  LPL_CHECK(a.first_image >= 0, "lpl_swap_exposure: --first_image must be >= 0");
  LPL_CHECK(a.readout_epochs >= 0 && a.readout_steps >= 0, "lpl_swap_exposure: --readout_epochs and --readout_steps must be >= 0");
  LPL_CHECK(a.readout_batch >= 2, "lpl_swap_exposure: --readout_batch must be >= 2");
  LPL_CHECK(a.readout_pool == 0 || a.readout_pool >= a.readout_batch,
            "lpl_swap_exposure: --readout_pool must be 0 or at least --readout_batch");
  LPL_CHECK(a.exposure_steps >= 0 && a.exposure_steps <= 1000000, "lpl_swap_exposure: --exposure_steps must be 0..1000000");
  LPL_CHECK(a.record_every >= 1 && a.feature_batch >= 1, "lpl_swap_exposure: --record_every and --feature_batch must be >= 1");
  LPL_CHECK(a.feature_scale > 0, "lpl_swap_exposure: --feature_scale must be > 0");
  LPL_CHECK(a.readout_lr >= 0 && a.exposure_lr >= 0 && a.weight_decay >= 0, "lpl_swap_exposure: learning rates and decay must be >= 0");
  check_threads_flag("--threads", a.threads);
  return a;
}

// Images first .. first + n - 1 of a split.
data::ImageSet image_range(const data::ImageSet& s, int64_t first, int64_t n) {
  LPL_CHECK(first + n <= s.n, fmt::format("lpl_swap_exposure: the test split has {} images; images {}..{} were asked for "
                                          "(--first_image, 6 x --pairs)", s.n, first, first + n - 1));
  data::ImageSet r = s;
  const int64_t per = s.c * s.h * s.w;
  r.n = n;
  r.pixels.assign(s.pixels.begin() + first * per, s.pixels.begin() + (first + n) * per);
  if (!s.labels.empty()) r.labels.assign(s.labels.begin() + first, s.labels.begin() + first + n);
  r.factor_labels.clear();
  r.pixels2.clear();
  r.fpixels.clear();
  r.fpixels2.clear();
  r.sequence.clear();
  return r;
}

void run(const Args& a) {
  const auto t0 = std::chrono::steady_clock::now();
  if (a.threads > 0) set_num_threads(static_cast<int>(a.threads));
  const std::string weights = a.weights.empty() ? (fs::path(a.run_dir) / "checkpoints" / "last.safetensors").string() : a.weights;
  LPL_CHECK(fs::is_regular_file(weights), fmt::format("lpl_swap_exposure: no checkpoint at {}", weights));
  const std::vector<std::string> outputs = {"swap_exposure_mean.csv", "swap_exposure_units.csv", "swap_exposure_loss.csv", "swap_exposure_responses.csv",
                                            "swap_exposure.json", "swap_exposure.png"};
  for (const auto& f : outputs)
    LPL_CHECK(a.overwrite || !fs::exists(fs::path(a.out) / f),
              fmt::format("lpl_swap_exposure: {} exists (pass --overwrite to replace it)", (fs::path(a.out) / f).string()));
  const Device dev = a.device.empty() ? (cuda_device_count() > 0 ? cuda() : cpu()) : parse_device(a.device);
  const SafetensorsFile wf = read_weights_file(weights, "checkpoint");
  auto net = make_encoder(encoder_options_of_weights(wf), 24, dev);
  // A training run's projectors and classifier heads are not used here.
  load_checked_weights(*net, wf, weights, "checkpoint", {"network.encoder.projectors.", "classifier_heads."});
  const int64_t units = net->channels(net->last_layer()), k = units * exp::kCanvasSlots;

  data::DataOptions dopt;
  dopt.dataset = a.dataset;
  dopt.data_dir = a.data_dir;
  const data::DatasetSplits ds = data::load_dataset(dopt);
  LPL_CHECK(ds.augment, fmt::format("lpl_swap_exposure: dataset {} brings its own views; use an image dataset", ds.name));
  std::fprintf(stderr, "lpl_swap_exposure: %s encoder from %s, %lld units x 13 slots, dataset %s (%d px), device %s\n",
               net->kind().c_str(), weights.c_str(), static_cast<long long>(units), ds.name.c_str(), ds.image_size,
               dev.str().c_str());

  // The readout's inputs: canvas features, times --feature_scale.
  const auto features = [&](const Tensor& canvases) {
    Tensor f = exp::canvas_features(*net, canvases, a.feature_batch);
    if (a.feature_scale == 1.0) return f;
    Tensor g = Tensor::zeros({f.dim(0), f.dim(1)}, f.device());
    axpy(static_cast<float>(a.feature_scale), f, g);
    return g;
  };
  const int slot_of[3] = {exp::kTopSlot, exp::kCentreSlot, exp::kBottomSlot};
  // 1. The experiment's images (evaluation views) at the three slots.
  const data::ImageSet sub = image_range(ds.test, a.first_image, exp::kGroups * a.pairs);
  data::LoaderOptions eo;
  eo.batch_size = sub.n;
  eo.shuffle = false;
  eo.drop_last = false;
  eo.augment = false;
  eo.device = dev;
  data::Loader el(sub, ds, eo);
  el.start_epoch(0);
  data::Batch eb;
  LPL_CHECK(el.next(eb), "lpl_swap_exposure: the loader returned no test images");
  exp::ExposureInput in;
  in.pairs = a.pairs;
  for (int s = 0; s < 3; ++s) in.slot_features[s] = features(exp::place_on_canvas(eb.eval_view, slot_of[s]));
  const auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  std::fprintf(stderr, "features of %lld images at 3 slots: %.1f s\n", static_cast<long long>(sub.n), since(t0));

  // 2. The readout's position tolerance: LPL on two augmented views, each at a random slot.
  exp::Readout ro = exp::make_readout(k, units, a.seed, dev);
  data::LoaderOptions lo;
  lo.batch_size = a.readout_batch;
  lo.seed = a.seed;
  lo.eval_view = false;
  lo.device = dev;
  lo.threads = std::max(1, num_threads());
  LPL_CHECK(ds.ssl_train.n >= std::max(a.readout_batch, a.readout_pool) || (a.readout_steps == 0 && a.readout_epochs == 0),
            fmt::format("lpl_swap_exposure: the training split has {} images, fewer than --readout_batch / --readout_pool",
                        ds.ssl_train.n));
  if (a.readout_pool > 0) lo.batch_size = a.readout_pool;
  data::Loader loader(ds.ssl_train, ds, lo);
  const int64_t per_epoch = (ds.ssl_train.n / a.readout_batch);
  const int64_t steps = a.readout_steps > 0 ? a.readout_steps : a.readout_epochs * per_epoch;
  CsvTable loss_csv({"phase", "step", "pull", "push", "decorr", "total"});
  std::mt19937_64 rng(a.seed);
  int64_t epoch = 0;
  loader.start_epoch(epoch);
  // With a pool: its two views' features at the three slots, [pool, K] each (view v, slot s at 3 v + s).
  std::vector<Tensor> pool;
  if (a.readout_pool > 0 && steps > 0) {
    data::Batch b;
    LPL_CHECK(loader.next(b), "lpl_swap_exposure: the loader returned no training images");
    for (const Tensor* v : {&b.view1, &b.view2})
      for (int s = 0; s < 3; ++s) pool.push_back(features(exp::place_on_canvas(*v, slot_of[s])));
    std::fprintf(stderr, "readout pool: features of %lld pairs of views at 3 slots: %.1f s\n",
                 static_cast<long long>(a.readout_pool), since(t0));
  }
  std::vector<int64_t> order;
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t n = a.readout_batch;
    Tensor x = Tensor::empty({2 * n, k}, dev);
    if (!pool.empty()) {
      // A fresh random order of the pool per pass; each image's views at independent random slots.
      if (static_cast<int64_t>(order.size()) < n) {
        order.resize(static_cast<size_t>(a.readout_pool));
        for (int64_t i = 0; i < a.readout_pool; ++i) order[static_cast<size_t>(i)] = i;
        std::shuffle(order.begin(), order.end(), rng);
      }
      for (int64_t i = 0; i < n; ++i) {
        const int64_t img = order.back();
        order.pop_back();
        for (int v = 0; v < 2; ++v) {
          const Tensor& src = pool[static_cast<size_t>(3 * v + static_cast<int>(rng() % 3))];
          memcpy_bytes(x.slice0(v * n + i, 1).f(), dev, src.slice0(img, 1).f(), dev, static_cast<size_t>(k) * sizeof(float));
        }
      }
    } else {
      data::Batch b;
      while (!loader.next(b)) loader.start_epoch(++epoch);
      std::vector<int> s1(static_cast<size_t>(n)), s2(static_cast<size_t>(n));
      for (auto* v : {&s1, &s2})
        for (int& sl : *v) sl = slot_of[rng() % 3];
      const Tensor f1 = features(exp::place_on_canvas(b.view1, s1));
      const Tensor f2 = features(exp::place_on_canvas(b.view2, s2));
      memcpy_bytes(x.slice0(0, n).f(), dev, f1.f(), dev, f1.nbytes());
      memcpy_bytes(x.slice0(n, n).f(), dev, f2.f(), dev, f2.nbytes());
    }
    const exp::SwapLossTerms t = exp::readout_pair_step(ro, x, a.coeffs, a.readout_lr, a.weight_decay);
    LPL_CHECK(std::isfinite(t.total(a.coeffs)),
              fmt::format("lpl_swap_exposure: the readout's training diverged at step {} (non-finite loss); lower "
                          "--readout_lr or --feature_scale (networks trained with biases light up the empty canvas)", s));
    loss_csv.add_cells({"readout", std::to_string(s), csv_number(t.pull), csv_number(t.push), csv_number(t.decorr),
                        csv_number(t.total(a.coeffs))});
    if (s % 50 == 0 || s + 1 == steps)
      std::fprintf(stderr, "readout %lld/%lld: pull %.5g push %.5g decorr %.5g\n", static_cast<long long>(s + 1),
                   static_cast<long long>(steps), t.pull, t.push, t.decorr);
  }
  std::fprintf(stderr, "readout training: %.1f s\n", since(t0));
  // The readout's position tolerance as the notebook shows it: responses at each slot over those at the
  // centre, mean over images x units where the centre response is not ~0.
  double tolerance[3] = {0, 0, 0};
  {
    std::vector<double> z[3];
    for (int s = 0; s < 3; ++s) z[s] = exp::readout_forward(ro, in.slot_features[s]);
    int64_t used = 0;
    for (size_t i = 0; i < z[1].size(); ++i) {
      if (!(std::abs(z[1][i]) > 1e-4)) continue;
      ++used;
      for (int s = 0; s < 3; ++s) tolerance[s] += z[s][i] / z[1][i];
    }
    for (double& t : tolerance) t = used > 0 ? t / static_cast<double>(used) : 0.0;
    std::fprintf(stderr, "position tolerance (response / centre response): top %.4g, bottom %.4g\n", tolerance[0], tolerance[2]);
  }

  // 3. The exposure.
  exp::ExposureOptions xo;
  xo.steps = a.exposure_steps;
  xo.lr = a.exposure_lr;
  xo.weight_decay = a.weight_decay;
  xo.coeffs = a.coeffs;
  const std::vector<exp::ExposureStep> res = exp::run_exposure(ro, in, xo, [](int64_t step, const exp::ExposureStep& st) {
    if (step % 50 == 0)
      std::fprintf(stderr, "exposure step %lld: selectivity swap %.5g non-swap %.5g control %.5g\n", static_cast<long long>(step),
                   st.cond[exp::kSwap].mean(), st.cond[exp::kNonSwap].mean(), st.cond[exp::kControl].mean());
  });

  std::fprintf(stderr, "exposure: %.1f s\n", since(t0));
  CsvTable mean_csv({"step", "condition", "mean_delta", "sem", "n"});
  CsvTable resp_csv({"step", "swap_p", "swap_n"});
  CsvTable unit_csv({"step", "condition", "unit", "delta"});
  for (size_t s = 0; s < res.size(); ++s) {
    const exp::ExposureStep& st = res[s];
    const exp::SwapLossTerms& t = st.loss;
    resp_csv.add({static_cast<double>(s), st.swap_p, st.swap_n});
    loss_csv.add_cells({"exposure", std::to_string(s), csv_number(t.pull), csv_number(t.push), csv_number(t.decorr),
                        csv_number(t.total(a.coeffs))});
    for (int c = 0; c < exp::kConditions; ++c) {
      const exp::Selectivity& sel = st.cond[c];
      mean_csv.add_cells({std::to_string(s), exp::condition_name(c), csv_number(sel.mean()), csv_number(sel.sem()),
                          std::to_string(sel.delta.size())});
      if (static_cast<int64_t>(s) % a.record_every == 0 || s + 1 == res.size()) {
        const std::vector<double> u = sel.unit_means();
        for (size_t i = 0; i < u.size(); ++i)
          unit_csv.add_cells({std::to_string(s), exp::condition_name(c), std::to_string(i), csv_number(u[i])});
      }
    }
  }
  make_dirs(a.out);
  mean_csv.write((fs::path(a.out) / "swap_exposure_mean.csv").string());
  unit_csv.write((fs::path(a.out) / "swap_exposure_units.csv").string());
  loss_csv.write((fs::path(a.out) / "swap_exposure_loss.csv").string());
  resp_csv.write((fs::path(a.out) / "swap_exposure_responses.csv").string());

  nlohmann::json j;
  j["weights"] = weights;
  j["encoder"] = net->kind();
  j["dataset"] = ds.name;
  j["image_size"] = ds.image_size;
  j["units"] = units;
  j["canvas_slots"] = exp::kCanvasSlots;
  j["slots"] = {{"top", exp::kTopSlot}, {"centre", exp::kCentreSlot}, {"bottom", exp::kBottomSlot}};
  j["swap_slot"] = {{"set 1", "top"}, {"set 2", "bottom"}};
  j["pairs"] = a.pairs;
  j["first_image"] = a.first_image;
  j["readout"] = {{"steps", steps}, {"batch", a.readout_batch}, {"lr", a.readout_lr}, {"optimizer", "adam"}, {"pool", a.readout_pool}};
  j["exposure"] = {{"steps", a.exposure_steps}, {"lr", a.exposure_lr}, {"optimizer", "sgd"}};
  j["weight_decay"] = a.weight_decay;
  j["feature_scale"] = a.feature_scale;
  j["coeffs"] = {{"pull", a.coeffs.pull}, {"push", a.coeffs.push}, {"decorr", a.coeffs.decorr}};
  j["seed"] = a.seed;
  nlohmann::json summary;
  for (int c = 0; c < exp::kConditions; ++c) {
    const double before = res.front().cond[c].mean(), after = res.back().cond[c].mean();
    summary[exp::condition_name(c)] = {{"before", before}, {"after", after}, {"change", after - before},
                                       {"sem_after", res.back().cond[c].sem()}};
  }
  j["selectivity"] = summary;
  // The swap-specific part: how much more the swap position lost than the non-swap position.
  j["swap_minus_nonswap_change"] = summary["swap"]["change"].get<double>() - summary["non-swap"]["change"].get<double>();
  j["position_tolerance"] = {{"top", tolerance[0]}, {"centre", tolerance[1]}, {"bottom", tolerance[2]}};
  j["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  atomic_write_file((fs::path(a.out) / "swap_exposure.json").string(), j.dump(2) + "\n");
  std::printf("swap exposure: selectivity before -> after %lld steps: swap %.5g -> %.5g, non-swap %.5g -> %.5g, "
              "control %.5g -> %.5g; results in %s\n",
              static_cast<long long>(a.exposure_steps), res.front().cond[exp::kSwap].mean(), res.back().cond[exp::kSwap].mean(),
              res.front().cond[exp::kNonSwap].mean(), res.back().cond[exp::kNonSwap].mean(),
              res.front().cond[exp::kControl].mean(), res.back().cond[exp::kControl].mean(), a.out.c_str());
  if (!a.no_plot) {
    const std::string png = (fs::path(a.out) / "swap_exposure.png").string();
    plot_and_report("plot_swap_exposure.py", {(fs::path(a.out) / "swap_exposure_mean.csv").string(), png,
                                              (fs::path(a.out) / "swap_exposure_responses.csv").string()},
                    png);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    run(parse(argc, argv));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
