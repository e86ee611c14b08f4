// eval_linear --dataset shapes3d (every factor probed on its own labels, results_<factor>.yaml, the
// factor probe mean) and --experiment_dir with several runs, on a 3dshapes.h5 written here in
// the real file's layout: floor_hue is the colour of the lower half, wall_hue the position of a
// green square, and the other four factors leave no trace in the images.

#include <array>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/npy.h"
#include "data/shapes3d.h"
#include "engine/file_util.h"
#include "engine/safetensors.h"
#include "eval_cli.h"
#include "models/vgg11.h"
#include "shapes3d_h5.h"
#include "test_util.h"

using namespace lpl;
namespace fs = std::filesystem;

namespace {

const std::array<int, 6> kSizes = {2, 3, 2, 2, 4, 5};  // 480 images: probe-train 320, test 160
constexpr int kS = 32;
const char* const kFactors[6] = {"floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"};

// 'images' N x S x S x 3 uint8 in the flat factor order of spec §4, 'labels' N x 6 float64 with
// values like the real file's (hues 0, 0.1, ..; scale from 0.75; shape 0..3; orientation -30..30).
void write_h5(const std::string& dir) {
  fs::create_directories(dir);
  int64_t N = 1;
  for (int s : kSizes) N *= s;
  std::vector<uint8_t> img(static_cast<size_t>(N * kS * kS * 3), 0);
  std::vector<double> lab(static_cast<size_t>(N * 6));
  for (int64_t i = 0; i < N; ++i) {
    std::array<int, 6> v{};
    int64_t r = i;
    for (int f = 5; f >= 0; --f) {
      v[static_cast<size_t>(f)] = static_cast<int>(r % kSizes[static_cast<size_t>(f)]);
      r /= kSizes[static_cast<size_t>(f)];
    }
    auto at = [&](int y, int x, int c) -> uint8_t& { return img[static_cast<size_t>(((i * kS + y) * kS + x) * 3 + c)]; };
    for (int y = kS / 2; y < kS; ++y)  // floor: red or blue
      for (int x = 0; x < kS; ++x) at(y, x, v[0] == 0 ? 0 : 2) = 220;
    for (int y = 4; y < 12; ++y)       // wall: a green square at one of three places
      for (int x = 2 + 10 * v[1]; x < 10 + 10 * v[1]; ++x) at(y, x, 1) = 255;
    lab[static_cast<size_t>(i * 6 + 0)] = 0.1 * v[0];
    lab[static_cast<size_t>(i * 6 + 1)] = 0.1 * v[1];
    lab[static_cast<size_t>(i * 6 + 2)] = 0.1 * v[2];
    lab[static_cast<size_t>(i * 6 + 3)] = 0.75 + 0.5 * v[3] / (kSizes[3] - 1);
    lab[static_cast<size_t>(i * 6 + 4)] = v[4];
    lab[static_cast<size_t>(i * 6 + 5)] = -30.0 + 60.0 * v[5] / (kSizes[5] - 1);
  }
  const std::string path = dir + "/3dshapes.h5";
  test::write_shapes3d_h5(path, N, kS, img, lab);
  const std::vector<int64_t> t = {0, 1, 2, 3, 4, 5};  // the loader wants one; evaluation does not use it
  data::write_npy(dir + "/3dshapes_trajectories.npy", "i8", {2, 3}, t.data());
}

void write_run(const fs::path& dir, uint64_t seed) {
  fs::create_directories(dir / "checkpoints");
  Vgg11 net(Vgg11Options{}, seed, cpu());
  save_safetensors((dir / "checkpoints" / "last.safetensors").string(), net.named_weights());
}

const std::string kProbe = "--device cpu --no_metrics --no_plot --probe_epochs 40 --probe_batch_size 64 ";

}  // namespace

TEST_CASE("eval_linear --dataset shapes3d probes every factor on its own labels") {
  test::EvalTmpDir t;
  write_h5(t / "data");
  const auto r = test::run_eval("--random_init --dataset shapes3d --data_dir " + (t / "data") + " " + kProbe +
                                "--evaluate_pixel_acc --yaml --out " + (t / "exp/run/eval.json") + " --save_features " +
                                (t / "feats"));
  REQUIRE_MESSAGE(r.status == 0, r.output);
  const auto j = nlohmann::json::parse(read_file(t / "exp/run/eval.json"));
  CHECK(j["dataset"] == "shapes3d");
  CHECK(j["probe_train_size"] == 320);
  CHECK(j["test_size"] == 160);
  REQUIRE(j["factors"].size() == 6);
  double score = 0, pixel_score = 0;
  for (int k = 0; k < 6; ++k) {
    CAPTURE(kFactors[k]);
    const auto& f = j["factors"][kFactors[k]];
    CHECK(f["num_classes"] == kSizes[static_cast<size_t>(k)]);
    REQUIRE(f["layers"].size() == 8);
    CHECK(f["layers"][7]["layer"] == 8);
    const double chance = 1.0 / kSizes[static_cast<size_t>(k)];
    CHECK(f["chance"].get<double>() == doctest::Approx(chance));
    const double px = f["pixels"]["top1"].get<double>(), l1 = f["layers"][0]["top1"].get<double>();
    const double l8 = f["layers"][7]["top1"].get<double>();
    if (k == 0) {
      CHECK(px >= 0.95);  // a colour: decodable from the pixels and from the pooled first block
      CHECK(l1 >= 0.95);
    } else if (k == 1) {
      CHECK(px >= 0.95);  // a position: decodable from the pixels, lost by global average pooling
      CHECK(l1 <= chance + 0.2);
    } else {
      CHECK(px <= chance + 0.2);  // no trace in the images: chance for the pixels and every layer
      for (const auto& l : f["layers"]) CHECK(l["top1"].get<double>() <= chance + 0.2);
    }
    score += l8 / 6;
    pixel_score += px / 6;
  }
  CHECK(j["factor_probe_mean"].get<double>() == doctest::Approx(score).epsilon(1e-12));
  CHECK(j["pixels_factor_probe_mean"].get<double>() == doctest::Approx(pixel_score).epsilon(1e-12));
  CHECK(j["factor_probe_layer"] == 8);
  CHECK(r.output.find("factor probe mean (mean over the 6 factors of the layer-8 top-1; ") != std::string::npos);
  for (const char* f : kFactors) {
    CAPTURE(f);
    const std::string yaml = read_file(t / ("exp/run/results_" + std::string(f) + ".yaml"));
    CHECK(yaml.rfind("random_init_seed24:\n  acc:\n  - - ", 0) == 0);
    size_t lists = 0;  // acc and top_5: one list per layer
    for (size_t p = yaml.find("  - - "); p != std::string::npos; p = yaml.find("  - - ", p + 1)) ++lists;
    CHECK(lists == 16);
    CHECK(yaml.find("\npixels:\n  acc:\n  - ") != std::string::npos);
    CHECK(r.output.find("results_" + std::string(f) + ".yaml: ") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(t.path / "exp/run/results.yaml"));
  // Saved features: labels.npy holds the shape, factor_labels.npy every factor of the same images.
  const auto fl = data::read_npy(t / "feats/test/factor_labels.npy");
  REQUIRE(fl.shape == std::vector<int64_t>{160, 6});
  const auto shape = data::read_npy(t / "feats/test/labels.npy");
  REQUIRE(shape.shape == std::vector<int64_t>{160});
  for (int64_t i = 0; i < 160; ++i) CHECK(shape.as<int64_t>()[i] == fl.as<int64_t>()[i * 6 + 4]);
  CHECK(data::load_npy_f32(t / "feats/probe_train/layer_8.npy").shape == std::vector<int64_t>{320, 512});
}

TEST_CASE("eval_linear --dataset shapes3d names a missing file and writes nothing") {
  test::EvalTmpDir t;
  fs::create_directories(t.path / "empty");
  const auto r = test::run_eval("--random_init --dataset shapes3d --data_dir " + (t / "empty") + " " + kProbe +
                                "--yaml --out " + (t / "out/eval.json"));
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.output.find("error: shapes3d: missing " + (t / "empty") + "/3dshapes.h5 (download 3dshapes.h5") !=
                    std::string::npos, r.output);
  CHECK_FALSE(fs::exists(t.path / "out/eval.json"));
  CHECK_FALSE(fs::exists(t.path / "out/results_shape.yaml"));
}

TEST_CASE("eval_linear --experiment_dir with several runs evaluates each, keyed by run name, and skips evaluated runs") {
  test::EvalTmpDir t;
  write_h5(t / "data");
  write_run(t.path / "exp/lpl", 1);
  write_run(t.path / "exp/lpl_mlp-projection", 2);
  fs::create_directories(t.path / "exp/not_a_run");  // no checkpoint: not a run
  const std::string cmd = "--experiment_dir " + (t / "exp") + " --dataset shapes3d --data_dir " + (t / "data") + " " +
                          kProbe + "--yaml --last_layer_only --limit_test 100";
  const auto r = test::run_eval(cmd);
  REQUIRE_MESSAGE(r.status == 0, r.output);
  CHECK(r.output.find(": 2 runs, 2 to evaluate") != std::string::npos);
  const auto all = nlohmann::json::parse(read_file(t / "exp/eval.json"));
  REQUIRE(all["runs"].size() == 2);
  for (const char* run : {"lpl", "lpl_mlp-projection"}) {
    CAPTURE(run);
    const auto one = nlohmann::json::parse(read_file(t / (std::string("exp/") + run + "/eval.json")));
    CHECK(all["runs"][run] == one);  // each run's own eval.json, as a single-run evaluation writes it
    CHECK(one["weights"] == t / (std::string("exp/") + run + "/checkpoints/last.safetensors"));
    CHECK(one["factors"].size() == 6);
    CHECK(one["test_size"] == 100);  // --limit_test: the first 100 test images, every factor's labels cut alike
  }
  const auto pr = [&](const char* run) { return all["runs"][run]["factors"]["shape"]["layers"][0]["metrics"]["participation_ratio"]; };
  CHECK(pr("lpl") != pr("lpl_mlp-projection"));  // two networks, two sets of features
  const std::string yaml = read_file(t / "exp/results_floor_hue.yaml");
  CHECK(yaml.rfind("lpl:\n  acc:\n", 0) == 0);
  CHECK(yaml.find("\nlpl_mlp-projection:\n  acc:\n") != std::string::npos);

  // Again: both runs are in the results files, so nothing is evaluated and nothing changes.
  const auto again = test::run_eval(cmd);
  REQUIRE_MESSAGE(again.status == 0, again.output);
  CHECK(again.output.find("run 'lpl': already in ") != std::string::npos);
  CHECK(again.output.find("run 'lpl_mlp-projection': already in ") != std::string::npos);
  CHECK(again.output.find(": 2 runs, 0 to evaluate") != std::string::npos);
  CHECK(read_file(t / "exp/results_floor_hue.yaml") == yaml);
  CHECK(nlohmann::json::parse(read_file(t / "exp/eval.json")) == all);

  // A new run: only it is evaluated; the experiment's JSON keeps the earlier runs.
  write_run(t.path / "exp/supervised", 3);
  const auto third = test::run_eval(cmd);
  REQUIRE_MESSAGE(third.status == 0, third.output);
  CHECK(third.output.find(": 3 runs, 1 to evaluate") != std::string::npos);
  CHECK(third.output.find("== run 'supervised'") != std::string::npos);
  CHECK(third.output.find("== run 'lpl'") == std::string::npos);
  const auto after = nlohmann::json::parse(read_file(t / "exp/eval.json"));
  CHECK(after["runs"].size() == 3);
  CHECK(after["runs"]["lpl"] == all["runs"]["lpl"]);
  CHECK(read_file(t / "exp/results_shape.yaml").find("\nsupervised:\n  acc:\n") != std::string::npos);
}
