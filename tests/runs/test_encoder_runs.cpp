// train_vgg11 --encoder alexnet | resnet as users run it (child processes, CPU, one thread, tiny
// configurations on Fashion-MNIST): the checkpoint holds the original's tensor names (ResNet-50's
// batch-norm buffers included) and says its encoder, the online evaluation runs and logs its
// accuracy, a run stopped by --max_steps then resumed ends bitwise identical to an uninterrupted one
// (dropout masks, batch-norm running statistics and num_batches_tracked included), eval_linear reads
// the runs, and the combinations the original cannot train are refused before training.
#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "eval/eval_cli.h"

#include "trainer_process.h"

using namespace lpl;
using namespace lpl::test;
namespace fs = std::filesystem;

namespace {

struct Mode {
  std::string encoder, descriptor;
  std::vector<std::string> flags;
};

// 1 epoch of 3 batches of 4 images (3 steps); online evaluation on 32 images at the epoch's end.
std::vector<std::string> base_args(const std::string& name, const Mode& m) {
  std::vector<std::string> a{"--dataset", "fashion-mnist", "--encoder", m.encoder, "--batch_size", "4",
                             "--limit_train_batches", "3", "--max_epochs", "1", "--warmup_epochs", "0",
                             "--learning_rate", "0.001", "--threads", "1", "--num_workers", "1", "--log_dir", root().dir,
                             "--experiment_name", name, "--histogram_samples", "0", "--eval_samples", "32",
                             "--val_batches", "1", "--keep_checkpoints", "1"};
  a.insert(a.end(), m.flags.begin(), m.flags.end());
  return a;
}
std::string dir_of(const std::string& name, const Mode& m) { return root().dir + "/fashion-mnist/" + name + "/" + m.descriptor; }

// Trains `m`; checks the files, names and online evaluation; with `resume`, also a run stopped after
// 2 steps (mid-epoch) then resumed, bitwise. Returns the uninterrupted run's directory.
std::string check_mode(const std::string& tag, const Mode& m, const std::vector<std::string>& weights, bool resume) {
  REQUIRE_MESSAGE(fs::exists(kTrainer), kTrainer << " is not built");
  const std::string ref_name = "ref_" + tag, cut_name = "cut_" + tag;
  const std::string ref_log = logs() + "/" + ref_name + ".log", cut_log = logs() + "/" + cut_name + ".log";
  REQUIRE_MESSAGE(run_to_end(base_args(ref_name, m), ref_log) == 0, slurp(ref_log));
  const std::string ref_dir = dir_of(ref_name, m);
  const std::string last = ref_dir + "/checkpoints/last.safetensors";
  REQUIRE_MESSAGE(fs::exists(last), "no " << last);

  // The checkpoint: its encoder in the metadata, the original's names (buffers included).
  const SafetensorsFile f = load_safetensors(last);
  REQUIRE(f.metadata.count("encoder") == 1);
  CHECK(f.metadata.at("encoder") == m.encoder);
  for (const auto& w : weights) CHECK_MESSAGE(f.tensors.count(w) == 1, "weights lack " << w);

  // The online evaluation ran after each epoch and logged the probe's accuracy.
  const auto lines = metrics_lines(ref_dir);
  REQUIRE(lines.size() == 1);
  REQUIRE_MESSAGE(lines[0].contains("Performance/linear_readout_acc"), lines[0].dump());
  const double acc = lines[0]["Performance/linear_readout_acc"].get<double>();
  CHECK(acc >= 0.0);
  CHECK(acc <= 1.0);
  MESSAGE(tag << ": online final-layer probe accuracy " << acc);

  if (!resume) return ref_dir;
  // Stopped mid-epoch by --max_steps, then resumed: the same bits as the uninterrupted run.
  REQUIRE_MESSAGE(run_to_end(with(base_args(cut_name, m), {"--max_steps", "2"}), cut_log) == 0, slurp(cut_log));
  REQUIRE_MESSAGE(run_to_end(with(base_args(cut_name, m), {"--resume_from_checkpoint"}), cut_log) == 0, slurp(cut_log));
  const std::string cut_dir = dir_of(cut_name, m);
  auto ref_ck = load_checkpoint(resolve_resume(ref_dir).paths.weights);
  auto cut_ck = load_checkpoint(resolve_resume(cut_dir).paths.weights);
  CHECK(ref_ck.state.global_step == 3);
  CHECK(cut_ck.state.global_step == 3);
  const auto ref_w = tensor_bytes(last), cut_w = tensor_bytes(cut_dir + "/checkpoints/last.safetensors");
  CHECK(cut_w.size() == ref_w.size());
  for (const auto& [n, bytes] : ref_w) {
    const bool same = cut_w.count(n) == 1 && cut_w.at(n) == bytes;
    CHECK_MESSAGE(same, n << " differs after resume");
  }
  CHECK(tensor_bytes(cut_ck.paths.state) == tensor_bytes(ref_ck.paths.state));
  const auto cut_lines = metrics_lines(cut_dir);
  REQUIRE(cut_lines.size() == 1);
  CHECK(cut_lines[0]["Loss/train_loss"].get<double>() == lines[0]["Loss/train_loss"].get<double>());
  CHECK(cut_lines[0]["Performance/linear_readout_acc"].get<double>() == acc);
  std::error_code ec;
  fs::remove_all(root().dir + "/fashion-mnist/" + cut_name, ec);  // hundreds of MB
  return ref_dir;
}

// eval_linear on the run (all layers, a few images), through --weights FILE --out or through
// --experiment_dir RUN (results in RUN/eval.json): one result per layer.
void check_eval(const std::string& tag, const std::string& run_dir, size_t layers, bool by_dir = false) {
  const std::string out = by_dir ? run_dir + "/eval.json" : root().dir + "/eval_" + tag + ".json";
  const std::string which = by_dir ? "--experiment_dir " + run_dir
                                   : "--weights " + run_dir + "/checkpoints/last.safetensors --out " + out;
  const CliResult r = run_eval(which + " --dataset fashion-mnist --device cpu --threads 1 --limit_probe_train 64 "
                               "--limit_test 32 --probe_epochs 1 --no_metrics --no_plot");
  REQUIRE_MESSAGE(r.status == 0, r.output);
  const auto j = nlohmann::json::parse(slurp(out));
  REQUIRE(j["layers"].size() == layers);
  MESSAGE(tag << ": eval_linear final-layer top-1 " << j["layers"][layers - 1]["top1"].get<double>());
}

// Runs the trainer, expects exit status 1 with `message` after "error: ", before training.
void refused_before_training(const std::string& name, const std::vector<std::string>& args, const std::string& message) {
  const std::string log = logs() + "/" + name + ".log";
  CHECK(run_to_end(args, log) == 1);
  const std::string out = slurp(log);
  CHECK_MESSAGE(out.find("error: " + message) != std::string::npos, out);
  CHECK_MESSAGE(out.find("steps of 4 x 2 views per epoch") == std::string::npos, out);  // training never started
  CHECK_FALSE(fs::exists(root().dir + "/fashion-mnist/" + name));
}

const std::vector<std::string> kAlexNames{"network.encoder.blocks.0.0.weight", "network.encoder.blocks.0.0.bias",
                                          "network.encoder.blocks.5.2.weight", "network.encoder.blocks.6.1.weight"};
const std::vector<std::string> kResNetNames{"network.encoder.conv1.weight", "network.encoder.bn1.running_mean",
                                            "network.encoder.bn1.num_batches_tracked",
                                            "network.encoder.layer1.0.downsample.1.running_var",
                                            "network.encoder.layer4.2.conv3.weight", "network.encoder.fc.weight"};

}  // namespace

LPL_FASHION_MNIST_TEST_CASE("AlexNet layer-local: names, online evaluation, resume bitwise (dropout), eval_linear 7 layers") {
  const Mode m{"alexnet", "lpl", {}};
  const std::string dir = check_mode("alexnet", m, kAlexNames, true);
  check_eval("alexnet", dir, 7);
  // The file's encoder is used; another --encoder is refused naming both.
  const CliResult r = run_eval("--weights " + dir + "/checkpoints/last.safetensors --encoder vgg --dataset fashion-mnist "
                               "--device cpu --limit_probe_train 64 --limit_test 32 --no_metrics --no_plot");
  CHECK(r.status == 1);
  CHECK_MESSAGE(r.output.find("holds weights of the alexnet encoder, but --encoder vgg was given") != std::string::npos, r.output);
}

LPL_FASHION_MNIST_TEST_CASE("AlexNet layer-local with the projector: projector names, online evaluation") {
  auto names = kAlexNames;
  names.push_back("network.encoder.projectors.0.net.0.weight");
  names.push_back("network.encoder.projectors.6.net.2.bias");
  const Mode m{"alexnet", "lpl_mlp-projection", {"--use_projector_mlp", "--mlp_hidden_size", "32", "--projection_size", "16"}};
  check_mode("alexnet_mlp", m, names, false);
}

LPL_FASHION_MNIST_TEST_CASE("AlexNet end-to-end: names, online evaluation, eval_linear 7 layers") {
  const Mode m{"alexnet", "lpl_end-to-end", {"--train_end_to_end"}};
  check_eval("alexnet_e2e", check_mode("alexnet_e2e", m, kAlexNames, false), 7);
}

LPL_FASHION_MNIST_TEST_CASE("AlexNet supervised: classifier heads, online evaluation") {
  auto names = kAlexNames;
  names.push_back("classifier_heads.0.weight");
  names.push_back("classifier_heads.6.bias");
  const Mode m{"alexnet", "supervised", {"--train_with_supervision"}};
  check_mode("alexnet_sup", m, names, false);
}

LPL_FASHION_MNIST_TEST_CASE("ResNet-50 end-to-end: batch-norm buffers, resume bitwise, eval_linear 1 layer") {
  const Mode m{"resnet", "lpl_end-to-end", {"--train_end_to_end"}};
  const std::string dir = check_mode("resnet", m, kResNetNames, true);
  const SafetensorsFile f = load_safetensors(dir + "/checkpoints/last.safetensors");
  const Tensor& count = f.tensors.at("network.encoder.bn1.num_batches_tracked");
  CHECK(count.dtype() == DType::I64);
  CHECK(count.numel() == 1);
  // 3 steps of 2 views, each view its own batch (as the original's two forward passes).
  CHECK(count.data<int64_t>()[0] == 6);
  CHECK(f.tensors.at("network.encoder.layer4.0.downsample.1.num_batches_tracked").data<int64_t>()[0] == 6);
  // Running statistics moved away from their initial values (mean 0, variance 1).
  auto moved_from = [&](const std::string& name, float init) {
    const Tensor& t = f.tensors.at(name);
    for (int64_t i = 0; i < t.numel(); ++i)
      if (t.data<float>()[i] != init) return true;
    return false;
  };
  CHECK(moved_from("network.encoder.bn1.running_mean", 0.f));
  CHECK(moved_from("network.encoder.bn1.running_var", 1.f));
  CHECK(moved_from("network.encoder.layer3.0.downsample.1.running_mean", 0.f));
  CHECK(moved_from("network.encoder.layer1.0.downsample.1.running_var", 1.f));
  check_eval("resnet", dir, 1, true);
}

LPL_FASHION_MNIST_TEST_CASE("ResNet-50 end-to-end supervised: one head, online evaluation") {
  auto names = kResNetNames;
  names.push_back("classifier_heads.0.weight");
  const Mode m{"resnet", "supervised_end-to-end", {"--train_end_to_end", "--train_with_supervision"}};
  check_mode("resnet_sup", m, names, false);
}

LPL_FASHION_MNIST_TEST_CASE("ResNet-50 without --train_end_to_end or with the projector: refused before training") {
  const Mode m{"resnet", "lpl", {}};
  refused_before_training("resnet_local", base_args("resnet_local", m),
                          "--encoder resnet trains end-to-end only (as the original): add --train_end_to_end");
  refused_before_training("resnet_mlp", base_args("resnet_mlp", {"resnet", "", {"--train_end_to_end", "--use_projector_mlp"}}),
                          "--encoder resnet: the original's resnet has no projector (drop --use_projector_mlp)");
}
