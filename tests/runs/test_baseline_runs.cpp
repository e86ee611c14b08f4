// The paper's baselines as users run them (train_vgg11 child processes, CPU, one thread, tiny
// configurations on Fashion-MNIST): the run directory of spec §6b, the logged names, the classifier
// heads' weight names, and a run stopped by --max_steps then resumed with --resume_from_checkpoint
// ends bitwise identical to an uninterrupted run (weights, optimiser moments, objective state).
#include <set>

#include <nlohmann/json.hpp>

#include "engine/tb_events.h"

#include "trainer_process.h"

using namespace lpl;
using namespace lpl::test;
namespace fs = std::filesystem;

namespace {

struct Mode {
  std::string descriptor;
  std::vector<std::string> flags;
};

// 2 epochs of 3 batches of 4 images (6 steps); online evaluation on 32 images after each epoch.
std::vector<std::string> base_args(const std::string& name, const Mode& m) {
  std::vector<std::string> a{"--dataset", "fashion-mnist", "--batch_size", "4", "--limit_train_batches", "3",
                             "--max_epochs", "2", "--warmup_epochs", "0", "--threads", "1", "--num_workers", "1",
                             "--log_dir", root().dir, "--experiment_name", name, "--histogram_samples", "0",
                             "--eval_samples", "32", "--val_batches", "1"};
  a.insert(a.end(), m.flags.begin(), m.flags.end());
  return a;
}

std::set<std::string> tb_tags(const std::string& dir) {
  std::set<std::string> tags;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0)
      for (const auto& ev : tb::read_events(e.path().string()))
        for (const auto& v : ev.values) tags.insert(v.tag);
  return tags;
}

void check_mode(const Mode& m, const std::vector<std::string>& must_log, const std::vector<std::string>& must_not_log,
                const std::vector<std::string>& weights, const std::vector<std::string>& no_weights) {
  REQUIRE_MESSAGE(fs::exists(kTrainer), kTrainer << " is not built");
  const std::string logs = root().dir + "/logs";
  fs::create_directories(logs);
  const std::string ref_name = "ref_" + m.descriptor, cut_name = "cut_" + m.descriptor;
  const std::string ref_log = logs + "/" + ref_name + ".log", cut_log = logs + "/" + cut_name + ".log";
  REQUIRE_MESSAGE(run_to_end(base_args(ref_name, m), ref_log) == 0, slurp(ref_log));
  const std::string ref_dir = root().dir + "/fashion-mnist/" + ref_name + "/" + m.descriptor;
  REQUIRE_MESSAGE(fs::exists(ref_dir + "/config.json"), "no run directory " << ref_dir);

  // Files and names.
  const auto cfg = nlohmann::json::parse(slurp(ref_dir + "/config.json"));
  for (const auto& f : m.flags)
    if (f.rfind("--", 0) == 0 && cfg.contains(f.substr(2)) && cfg[f.substr(2)].is_boolean())
      CHECK_MESSAGE(cfg[f.substr(2)] == true, f);
  const auto lines = metrics_lines(ref_dir);
  REQUIRE(lines.size() == 2);
  const std::set<std::string> tags = tb_tags(ref_dir);
  for (const auto& k : must_log) {
    CHECK_MESSAGE(lines[1].contains(k), "metrics.jsonl lacks " << k);
    CHECK_MESSAGE(tags.count(k) == 1, "TensorBoard lacks " << k);
  }
  for (const auto& k : must_not_log) CHECK_MESSAGE(!lines[1].contains(k), "metrics.jsonl should not have " << k);
  CHECK(lines[1].contains("Performance/linear_readout_acc"));
  const auto ref_w = tensor_bytes(ref_dir + "/checkpoints/last.safetensors");
  for (const auto& w : weights) CHECK_MESSAGE(ref_w.count(w) == 1, "weights lack " << w);
  for (const auto& w : no_weights) CHECK_MESSAGE(ref_w.count(w) == 0, "weights should not have " << w);

  // Stopped inside epoch 1 by --max_steps, then resumed: the same bits as the uninterrupted run.
  REQUIRE_MESSAGE(run_to_end(with(base_args(cut_name, m), {"--max_steps", "4"}), cut_log) == 0, slurp(cut_log));
  REQUIRE_MESSAGE(run_to_end(with(base_args(cut_name, m), {"--resume_from_checkpoint"}), cut_log) == 0, slurp(cut_log));
  const std::string cut_dir = root().dir + "/fashion-mnist/" + cut_name + "/" + m.descriptor;
  auto ref_ck = load_checkpoint(resolve_resume(ref_dir).paths.weights);
  auto cut_ck = load_checkpoint(resolve_resume(cut_dir).paths.weights);
  CHECK(ref_ck.state.global_step == 6);
  CHECK(cut_ck.state.global_step == 6);
  CHECK(tensor_bytes(cut_ck.paths.weights) == tensor_bytes(ref_ck.paths.weights));
  CHECK(tensor_bytes(cut_ck.paths.state) == tensor_bytes(ref_ck.paths.state));
  const auto cut_lines = metrics_lines(cut_dir);
  REQUIRE(cut_lines.size() == 2);
  CHECK(cut_lines[1]["Loss/train_loss"].get<double>() == lines[1]["Loss/train_loss"].get<double>());
}

}  // namespace

TEST_CASE("negative-sample baseline with the projector: files, names, resume bitwise") {
  check_mode({"negative_samples_mlp-projection",
              {"--use_negative_samples", "--decorr_coeff", "0", "--use_projector_mlp", "--mlp_hidden_size", "32",
               "--projection_size", "16"}},
             {"Layerwise train losses/Layer 1 pull loss", "Layerwise train losses/Final layer push loss",
              "Layerwise train losses/Final layer decorr loss", "Layerwise validation losses/Layer 3 push loss",
              "Loss/train_loss", "Loss/val_loss"},
             {"Layerwise train losses/Layer 1 supervised loss"},
             {"network.encoder.projectors.0.net.0.weight", "network.encoder.projectors.7.net.2.bias"},
             {"classifier_heads.0.weight"});
}

TEST_CASE("supervised baseline: classifier heads under the original's names, CE per layer logged, resume bitwise") {
  check_mode({"supervised", {"--train_with_supervision"}},
             {"Layerwise train losses/Layer 1 supervised loss", "Layerwise train losses/Final layer supervised loss",
              "Layerwise validation losses/Layer 2 supervised loss", "Loss/train_loss", "Loss/val_loss"},
             {"Layerwise train losses/Layer 1 pull loss"},
             {"classifier_heads.0.weight", "classifier_heads.0.bias", "classifier_heads.7.weight",
              "network.encoder.blocks.0.module.0.weight"},
             {"classifier_heads.8.weight"});
}

TEST_CASE("end-to-end LPL with stale estimates: final-layer names only, resume bitwise") {
  check_mode({"lpl_end-to-end", {"--train_end_to_end", "--stale_estimates"}},
             {"Layerwise train losses/Final layer pull loss", "Layerwise train losses/Final layer decorr loss",
              "Layerwise validation losses/Final layer push loss", "Loss/train_loss"},
             {"Layerwise train losses/Layer 1 pull loss", "Layerwise train losses/Layer 7 push loss"},
             {"network.encoder.blocks.0.module.0.weight"}, {"classifier_heads.0.weight"});
}

TEST_CASE("end-to-end supervised with the projector: one head on projector 8, resume bitwise") {
  check_mode({"supervised_mlp-projection_end-to-end",
              {"--train_with_supervision", "--train_end_to_end", "--use_projector_mlp", "--mlp_hidden_size", "32",
               "--projection_size", "16"}},
             {"Layerwise train losses/Final layer supervised loss", "Loss/train_loss"},
             {"Layerwise train losses/Layer 1 supervised loss"},
             {"classifier_heads.0.weight", "network.encoder.projectors.7.net.0.weight"}, {"classifier_heads.1.weight"});
}
