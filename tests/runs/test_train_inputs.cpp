// train_vgg11 refuses inputs it cannot finish with before it trains (labels the probe cannot use,
// flags whose sizes cannot be allocated, non-finite pixels or initial weights, an --init_from that is
// a directory or holds foreign tensors), and a failure after an epoch's training leaves that epoch's
// checkpoint written and intact.
#include <cmath>
#include <functional>
#include <limits>

#include "data/npy.h"
#include "models/vgg11.h"
#include "trainer_process.h"

using namespace lpl;
using namespace lpl::test;
namespace fs = std::filesystem;

namespace {

// A `pairs` dataset of 20 random 32 x 32 images (16 probe-training, 4 test with labels), with the
// given labels (none when empty); `bad_pixel` (>= 0) makes that value of view1.npy NaN.
std::string pairs_dir(const std::string& name, const std::vector<int64_t>& labels, int64_t bad_pixel = -1) {
  const std::string dir = root().dir + "/pairs_" + name;
  fs::create_directories(dir);
  const int64_t n = 20;
  auto v = random_vec(static_cast<size_t>(n * 3 * 32 * 32), 5);
  for (auto& x : v) x = std::fabs(x);
  data::save_npy_f32(dir + "/view2.npy", v.data(), {n, 3, 32, 32});
  if (bad_pixel >= 0) v[static_cast<size_t>(bad_pixel)] = std::numeric_limits<float>::quiet_NaN();
  data::save_npy_f32(dir + "/view1.npy", v.data(), {n, 3, 32, 32});
  if (!labels.empty()) data::save_npy_i64(dir + "/labels.npy", labels);
  return dir;
}
std::vector<std::string> pairs_args(const std::string& name, const std::string& dir) {
  return with(tiny_args(name), {"--dataset", "pairs", "--data_dir", dir, "--max_epochs", "1"});
}
std::string pairs_run_dir(const std::string& name) { return root().dir + "/pairs/" + name + "/lpl"; }

// Runs the trainer, expects exit status 1 with `message` after "error: ", and no run directory.
void refused_before_training(const std::vector<std::string>& args, const std::string& run, const std::string& message) {
  const std::string log = logs() + "/" + fs::path(run).parent_path().filename().string() + ".log";
  CHECK(run_to_end(args, log) == 1);
  const std::string out = slurp(log);
  CHECK_MESSAGE(out.find("error: " + message) != std::string::npos, out);
  CHECK_MESSAGE(out.find("steps of 4 x 2 views per epoch") == std::string::npos, out);  // training never started
  CHECK_FALSE(fs::exists(run));
}

// The initial weights of the tiny configuration, written with `edit` applied.
std::string init_file(const std::string& name, const std::function<void(NamedTensors&)>& edit) {
  Vgg11 net(Vgg11Options{}, 7, cpu());
  NamedTensors w = net.named_weights();
  for (auto& [n, t] : w) t = t.clone();
  edit(w);
  const std::string p = root().dir + "/" + name + ".safetensors";
  save_safetensors(p, w);
  return p;
}

}  // namespace

TEST_CASE("labels and sizes the online evaluation cannot use are refused before training") {
  const std::vector<int64_t> one_class(20, 3);
  refused_before_training(pairs_args("one_class", pairs_dir("one_class", one_class)), pairs_run_dir("one_class"),
                          "online evaluation needs at least 2 classes");
  std::vector<int64_t> huge(20);
  for (size_t i = 0; i < huge.size(); ++i) huge[i] = static_cast<int64_t>(i % 2);
  huge[7] = 1000000;
  refused_before_training(pairs_args("huge_label", pairs_dir("huge_label", huge)), pairs_run_dir("huge_label"),
                          "pairs: labels.npy: label 1000000 of image 7 is above the bound of 100000");
  refused_before_training(with(tiny_args("one_sample"), {"--eval_samples", "1"}), run_dir("one_sample"),
                          "online evaluation needs at least 2 classes among the first 1 probe-training images");
  refused_before_training(with(tiny_args("huge_mlp"), {"--use_projector_mlp", "--mlp_hidden_size", "10000000000"}),
                          run_dir("huge_mlp"), "--mlp_hidden_size 10000000000 is too large: at most 65536");
}

TEST_CASE("a failure after an epoch's training leaves that epoch's checkpoint written and intact") {
  const std::string log = logs() + "/late.log";
  CHECK(run_to_end(with(tiny_args("late"), {"--max_epochs", "1"}), log, {"LPL_INJECT_EVAL_ERROR=1"}) == 1);
  const std::string out = slurp(log);
  const std::string ck = run_dir("late") + "/checkpoints/epoch=0-step=4.safetensors";
  CHECK_MESSAGE(out.find("error: online evaluation after epoch 0 failed: injected failure (LPL_INJECT_EVAL_ERROR); the "
                         "epoch's checkpoint '" + ck + "' is written and intact") != std::string::npos, out);
  CHECK(load_checkpoint(ck).state.global_step == 4);  // digests checked
  CHECK(load_checkpoint(ck).state.epoch == 1);        // the epoch is complete: a resume starts the next one
  // The epoch's logging is not done: the resumed run redoes it, the evaluation included.
  CHECK(slurp(run_dir("late") + "/metrics.jsonl").empty());
  CHECK(run_to_end(with(tiny_args("late"), {"--max_epochs", "1", "--resume_from_checkpoint"}), log) == 0);
  CHECK(slurp(run_dir("late") + "/metrics.jsonl").find("\"Performance/linear_readout_acc\"") != std::string::npos);
}

TEST_CASE("float32 pairs: the online probe and the histograms on fewer images than the split") {
  std::vector<int64_t> two(20);
  for (size_t i = 0; i < two.size(); ++i) two[i] = static_cast<int64_t>(i % 2);
  const std::string log = logs() + "/pairs_head.log";
  // 16 probe-training images; the first 8 (eval) and 4 (histograms) of them, as float32 views.
  CHECK(run_to_end(with(pairs_args("pairs_head", pairs_dir("pairs_head", two)),
                        {"--eval_samples", "8", "--histogram_samples", "4"}), log) == 0);
  INFO(slurp(log));
  CHECK(load_checkpoint(pairs_run_dir("pairs_head") + "/checkpoints/epoch=0-step=4.safetensors").state.epoch == 1);
}

TEST_CASE("non-finite pixels and initial weights, a directory or foreign tensors as --init_from are refused by name") {
  std::vector<int64_t> two(20);
  for (size_t i = 0; i < two.size(); ++i) two[i] = static_cast<int64_t>(i % 2);
  const std::string nan_dir = pairs_dir("nan_pixel", two, 3 * 1024 * 3 + 5);  // image 3
  refused_before_training(pairs_args("nan_pixel", nan_dir), pairs_run_dir("nan_pixel"),
                          "pairs: " + nan_dir + "/view1.npy: image 3 holds a non-finite value (nan)");

  const std::string nan_init = init_file("nan_init", [](NamedTensors& w) {
    w[2].second.data<float>()[1] = std::numeric_limits<float>::infinity();
  });
  const std::string nan_name = Vgg11(Vgg11Options{}, 7, cpu()).named_weights()[2].first;
  refused_before_training(with(tiny_args("nan_init"), {"--init_from", nan_init}), run_dir("nan_init"),
                          "--init_from '" + nan_init + "': tensor '" + nan_name + "' holds 1 non-finite value(s) (first: inf");

  refused_before_training(with(tiny_args("dir_init"), {"--init_from", root().dir}), run_dir("dir_init"),
                          "--init_from " + root().dir + " is a directory, expected a .safetensors file");

  const std::string extra = init_file("extra_init", [](NamedTensors& w) {
    w.emplace_back("network.encoder.bogus.weight", Tensor::zeros({2}, cpu()));
  });
  refused_before_training(with(tiny_args("extra_init"), {"--init_from", extra}), run_dir("extra_init"),
                          "--init_from '" + extra + "' holds tensors this network does not have: 'network.encoder.bogus.weight'");
}
