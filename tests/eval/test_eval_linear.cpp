// eval_linear as users run it (the built program, from build/bin): --embed against the network
// API, results files on a few hundred Fashion-MNIST images, and one clear error (exit status 1)
// for every kind of bad input.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "data/npy.h"
#include "engine/file_util.h"
#include "engine/safetensors.h"
#include "models/vgg11.h"
#include "eval_cli.h"
#include "test_util.h"

using namespace lpl;
namespace fs = std::filesystem;

namespace {

using Result = test::CliResult;
using TmpDir = test::EvalTmpDir;
Result run(const std::string& args) { return test::run_eval(args); }

void write_images(const std::string& path, int64_t n, int64_t c, int64_t hw, uint32_t seed) {
  const auto v = test::random_vec(static_cast<size_t>(n * c * hw * hw), seed);
  data::save_npy_f32(path, v.data(), {n, c, hw, hw});
}

void expect_error(const std::string& args, const std::string& message) {
  const Result r = run(args);
  CHECK_MESSAGE(r.status == 1, args << " -> status " << r.status << ": " << r.output);
  CHECK_MESSAGE(r.output.find("error: " + message) != std::string::npos, args << " -> " << r.output);
}

}  // namespace

TEST_CASE("eval_linear --help lists the original's flags") {
  const Result r = run("--help");
  CHECK(r.status == 0);
  for (const char* f : {"--experiment_dir", "--last_layer_only", "--do_cross_val", "--evaluate_pixel_acc", "--batch_size",
                        "--downsample_images", "--model_type", "--encoder", "--gpus", "--num_workers"})
    CHECK_MESSAGE(r.output.find(f) != std::string::npos, f);
  CHECK(r.output.find("the factor probe mean is the\n                           mean over the six factors of the last probed "
                      "layer's top-1 test accuracy") != std::string::npos);
}

TEST_CASE("eval_linear refuses bad command lines with one clear message") {
  TmpDir t;
  expect_error("--random_init --bogus", "eval_linear: unknown flag '--bogus' (see --help)");
  expect_error("", "eval_linear: give exactly one of --experiment_dir DIR, --weights FILE or --random_init");
  expect_error("--random_init --weights x.safetensors",
               "eval_linear: give exactly one of --experiment_dir DIR, --weights FILE or --random_init");
  expect_error("--random_init --encoder foo", "eval_linear: --encoder foo: unknown encoder (known: alexnet, resnet, vgg)");
  expect_error("--random_init --gpus 2", "eval_linear: --gpus 2: multi-GPU evaluation is not implemented yet");
  expect_error("--random_init --batch_size x", "eval_linear: --batch_size: expected an integer, got 'x'");
  expect_error("--random_init --probe_lr -1", "eval_linear: --probe_lr must be > 0, got -1");
  expect_error("--random_init --threads 100000", "eval_linear: --threads 100000 is too many: at most ");
  expect_error("--random_init --num_workers 50000", "eval_linear: --num_workers 50000 is too many: at most 256");
  expect_error("--random_init --batch_size 4 --batch_size=8", "eval_linear: flag --batch_size given twice");
  expect_error("--random_init --dataset mnist",
               "eval_linear: --dataset must be one of cifar10, stl10, fashion-mnist, imagenet2012, shapes3d, got 'mnist'");
  expect_error("--random_init --embed a.npy", "eval_linear: --embed needs --save_features DIR (where layer_<k>.npy are written)");
  expect_error("--weights " + (t / "none.safetensors"), "eval_linear: --weights '" + (t / "none.safetensors") + "' does not exist");
  fs::create_directories(t / "dir.safetensors");
  expect_error("--weights " + (t / "dir.safetensors"), "eval_linear: --weights '" + (t / "dir.safetensors") +
                                                          "' is a directory, expected a .safetensors file (--experiment_dir takes a run directory)");
  std::ofstream(t / "epoch=1-step=2.ckpt") << "x";
  expect_error("--weights " + (t / "epoch=1-step=2.ckpt"),
               "eval_linear: --weights '" + (t / "epoch=1-step=2.ckpt") + "' is a PyTorch Lightning checkpoint; convert it first");
  expect_error("--experiment_dir " + t.path.string(),
               "eval_linear: no checkpoints/last.safetensors in '" + t.path.string() + "' or its sub-directories");
  for (const char* run_name : {"lpl", "lpl_mlp-projection"}) {
    fs::create_directories(t.path / run_name / "checkpoints");
    std::ofstream(t.path / run_name / "checkpoints" / "last.safetensors") << "x";
  }
  // An experiment directory with two runs is evaluated run by run: the corrupt checkpoint of the
  // first fails before any data is read, naming the run and the file.
  const Result two = run("--experiment_dir " + t.path.string());
  CHECK(two.status == 1);
  CHECK_MESSAGE(two.output.find("error: run 'lpl': ") != std::string::npos, two.output);
  CHECK(two.output.find("lpl/checkpoints/last.safetensors") != std::string::npos);
  expect_error("--experiment_dir " + t.path.string() + " --embed x.npy --save_features " + (t / "e"),
               "eval_linear: --embed takes one network, but '" + t.path.string() +
                   "' holds 2 runs; pass one of them as --experiment_dir");
  // A corrupt checkpoint of the one run in a run directory: the safetensors reader names the file.
  write_images(t / "img.npy", 1, 3, 32, 1);
  const Result bad = run("--experiment_dir " + (t / "lpl") + " --embed " + (t / "img.npy") + " --save_features " + (t / "f"));
  CHECK(bad.status == 1);
  CHECK(bad.output.find("last.safetensors") != std::string::npos);
  // Images of the wrong shape, and a file that is not .npy; nothing is written.
  write_images(t / "gray.npy", 2, 1, 32, 1);
  expect_error("--random_init --embed " + (t / "gray.npy") + " --save_features " + (t / "g"),
               "eval_linear --embed: images must be N x 3 x H x W float32, got shape (2, 1, 32, 32)");
  CHECK_FALSE(fs::exists(t.path / "g"));
  // A NaN pixel is named at load (it would otherwise give NaN features without a word).
  auto nan_img = test::random_vec(2 * 3 * 32 * 32, 3);
  nan_img[3 * 32 * 32 + 7] = std::numeric_limits<float>::quiet_NaN();
  data::save_npy_f32(t / "nan.npy", nan_img.data(), {2, 3, 32, 32});
  expect_error("--random_init --embed " + (t / "nan.npy") + " --save_features " + (t / "n"),
               "eval_linear --embed " + (t / "nan.npy") + ": image 1 holds a non-finite value (nan)");
  const Result notnpy = run("--random_init --embed " + (t / "lpl/checkpoints/last.safetensors") + " --save_features " + (t / "h"));
  CHECK(notnpy.status == 1);
  CHECK(notnpy.output.find("is not a NumPy .npy file") != std::string::npos);
}

TEST_CASE("eval_linear --embed writes the pooled block outputs of the network it loads") {
  TmpDir t;
  write_images(t / "img.npy", 5, 3, 32, 7);
  // The same weights through --weights and through --random_init with the seed that made them.
  Vgg11 net(Vgg11Options{}, 11, cpu());
  save_safetensors(t / "w.safetensors", net.named_weights());
  REQUIRE(run("--weights " + (t / "w.safetensors") + " --embed " + (t / "img.npy") + " --save_features " + (t / "a") +
              " --device cpu --batch_size 2").status == 0);
  REQUIRE(run("--random_init --random_seed 11 --embed " + (t / "img.npy") + " --save_features " + (t / "b") +
              " --device cpu").status == 0);
  REQUIRE(run("--random_init --random_seed 12 --embed " + (t / "img.npy") + " --save_features " + (t / "c") +
              " --device cpu --last_layer_only").status == 0);
  const int widths[8] = {64, 128, 256, 256, 512, 512, 512, 512};
  for (int k = 1; k <= 8; ++k) {
    const auto a = data::load_npy_f32(t / ("a/layer_" + std::to_string(k) + ".npy"));
    const auto b = data::load_npy_f32(t / ("b/layer_" + std::to_string(k) + ".npy"));
    CHECK(a.shape == std::vector<int64_t>{5, widths[k - 1]});
    CHECK(a.data == b.data);  // batches of 2 and of 256 give the same features
  }
  // Reference for layer 1 through the network API: pooled output of block 1 on all 5 images.
  const auto img = data::load_npy_f32(t / "img.npy");
  Tensor x = Tensor::from_vector(img.data, {5, 3, 32, 32});
  net.block_forward(0, x);
  CHECK(data::load_npy_f32(t / "a/layer_1.npy").data == net.pooled(0).to_vector());
  CHECK(fs::exists(t.path / "c/layer_8.npy"));
  CHECK_FALSE(fs::exists(t.path / "c/layer_1.npy"));
  CHECK(data::load_npy_f32(t / "c/layer_8.npy").data != data::load_npy_f32(t / "b/layer_8.npy").data);
}

TEST_CASE("eval_linear names a weight the file lacks") {
  TmpDir t;
  Vgg11 net(Vgg11Options{}, 3, cpu());
  NamedTensors w = net.named_weights();
  w.erase(w.begin() + 2);  // block 1's conv weight
  save_safetensors(t / "w.safetensors", w);
  write_images(t / "img.npy", 1, 3, 32, 2);
  const Result r = run("--weights " + (t / "w.safetensors") + " --embed " + (t / "img.npy") + " --save_features " + (t / "f"));
  CHECK(r.status == 1);
  CHECK(r.output.find("network.encoder.blocks.1.module.0.weight") != std::string::npos);
}

LPL_FASHION_MNIST_TEST_CASE("eval_linear on Fashion-MNIST writes the JSON, results.yaml, features and plots") {
  TmpDir t;
  const std::string common = "--random_init --dataset fashion-mnist --device cpu --limit_probe_train 600 --limit_test 300 "
                             "--last_layer_only --evaluate_pixel_acc --yaml --probe_batch_size 64 ";
  const Result r = run(common + "--out " + (t / "run/eval.json") + " --save_features " + (t / "feats"));
  REQUIRE_MESSAGE(r.status == 0, r.output);
  const auto j = nlohmann::json::parse(read_file(t / "run/eval.json"));
  CHECK(j["dataset"] == "fashion-mnist");
  CHECK(j["num_classes"] == 10);
  REQUIRE(j["layers"].size() == 1);
  const auto& l = j["layers"][0];
  CHECK(l["layer"] == 8);
  CHECK(l["dim"] == 512);
  CHECK(l["top1"].get<double>() >= 0.0);
  CHECK(l["top5"].get<double>() >= l["top1"].get<double>());
  for (const char* m : {"within_class_mean_cosine", "cross_class_mean_cosine", "cosine_ratio", "mean_class_correlation",
                        "mean_class_radius", "global_radius", "mean_class_dim", "cosine_push", "uniformity_push", "kl_push",
                        "participation_ratio", "mean_activation"})
    CHECK_MESSAGE(l["metrics"].contains(m), m);
  CHECK(j["pixels"]["top1"].get<double>() > 0.5);  // pixels are far above chance on Fashion-MNIST
  const std::string yaml = read_file(t / "run/results.yaml");
  CHECK(yaml.find("random_init_seed24:\n  acc:\n  - - ") != std::string::npos);
  CHECK(yaml.find("\npixels:\n  acc:\n  - ") != std::string::npos);
  CHECK(r.output.find("pixels") != std::string::npos);
  const auto f = data::load_npy_f32(t / "feats/probe_train/layer_8.npy");
  CHECK(f.shape == std::vector<int64_t>{600, 512});
  CHECK(data::load_npy_f32(t / "feats/test/layer_8.npy").shape == std::vector<int64_t>{300, 512});
  CHECK(fs::file_size(t / "feats/test/labels.npy") == 128 + 300 * 8);
  if (r.output.find("plots skipped") == std::string::npos) {
    CHECK(fs::file_size(t / "run/eval_accuracy.png") > 1000);
    CHECK(fs::file_size(t / "run/eval_participation_ratio.png") > 1000);
  }
  // Cross-validation: mean and std over the folds; results.yaml keeps the earlier entry (as eval.py).
  const Result cv = run(common + "--do_cross_val --folds 3 --no_metrics --no_plot --out " + (t / "run/eval.json"));
  REQUIRE_MESSAGE(cv.status == 0, cv.output);
  const auto k = nlohmann::json::parse(read_file(t / "run/eval.json"));
  CHECK(k["layers"][0]["folds_top1"].size() == 3);
  CHECK(k["layers"][0].contains("top1_std"));
  CHECK(k["pixels"]["folds_top1"].size() == 3);
  CHECK(cv.output.find("already has 'random_init_seed24'") != std::string::npos);
  CHECK(read_file(t / "run/results.yaml") == yaml);
}

LPL_FASHION_MNIST_TEST_CASE("eval_linear --experiment_dir with two Fashion-MNIST runs keys results.yaml and --out by run name") {
  TmpDir t;
  for (uint64_t seed : {5, 6}) {
    const fs::path run = t.path / "exp" / (seed == 5 ? "lpl" : "lpl_no-pooling") / "checkpoints";
    fs::create_directories(run);
    Vgg11 net(Vgg11Options{}, seed, cpu());
    save_safetensors((run / "last.safetensors").string(), net.named_weights());
  }
  const std::string cmd = "--experiment_dir " + (t / "exp") + " --dataset fashion-mnist --device cpu --limit_probe_train 200 "
                          "--limit_test 100 --last_layer_only --no_metrics --no_plot --yaml --out " + (t / "all.json");
  const Result r = run(cmd);
  REQUIRE_MESSAGE(r.status == 0, r.output);
  const auto all = nlohmann::json::parse(read_file(t / "all.json"));
  CHECK(all["runs"]["lpl"] == nlohmann::json::parse(read_file(t / "exp/lpl/eval.json")));
  CHECK(all["runs"]["lpl_no-pooling"] == nlohmann::json::parse(read_file(t / "exp/lpl_no-pooling/eval.json")));
  CHECK(all["runs"]["lpl"]["num_classes"] == 10);
  CHECK_FALSE(fs::exists(t.path / "exp/eval.json"));
  const std::string yaml = read_file(t / "exp/results.yaml");
  CHECK(yaml.rfind("lpl:\n  acc:\n  - - ", 0) == 0);
  CHECK(yaml.find("\nlpl_no-pooling:\n  acc:\n  - - ") != std::string::npos);
  const Result again = run(cmd);
  REQUIRE_MESSAGE(again.status == 0, again.output);
  CHECK(again.output.find("run 'lpl': already in " + (t / "exp/results.yaml") + ", skipped") != std::string::npos);
  CHECK(read_file(t / "exp/results.yaml") == yaml);
}

LPL_FASHION_MNIST_TEST_CASE("eval_linear --experiment_dir: a run that fails is reported, the others are evaluated, the status is 1") {
  TmpDir t;
  const auto write_run = [&](const std::string& name, const NamedTensors& w) {
    const fs::path ck = t.path / "exp" / name / "checkpoints";
    fs::create_directories(ck);
    save_safetensors((ck / "last.safetensors").string(), w);
  };
  NamedTensors bad = Vgg11(Vgg11Options{}, 5, cpu()).named_weights();
  bad.emplace_back("network.encoder.bogus", Tensor::zeros({2}, cpu()));  // a foreign tensor: refused
  write_run("a_bad", bad);
  write_run("b_good", Vgg11(Vgg11Options{}, 6, cpu()).named_weights());
  const Result r = run("--experiment_dir " + (t / "exp") + " --dataset fashion-mnist --device cpu --limit_probe_train 100 "
                       "--limit_test 50 --last_layer_only --no_metrics --no_plot --probe_epochs 1");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.output.find("error: run 'a_bad': weights file '" + (t / "exp/a_bad/checkpoints/last.safetensors") +
                              "' holds tensors this network does not have: 'network.encoder.bogus'") != std::string::npos,
                r.output);
  CHECK_MESSAGE(fs::exists(t.path / "exp/b_good/eval.json"), r.output);
  CHECK(r.output.find("error: 1 of 2 runs failed: run 'a_bad'") != std::string::npos);
}
