// train_vgg11 SIGKILLed during the end of an epoch (LPL_CRASH_IN_EPOCH_END): the epoch's checkpoint
// is written before the evaluation and the histograms, so the epoch's training survives, and the
// resumed run redoes the epoch's logging: metrics.jsonl, TensorBoard and weights as an uninterrupted run's.
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/tb_events.h"

#include "trainer_process.h"

using namespace lpl;
using namespace lpl::test;
namespace fs = std::filesystem;

namespace {

// 2 epochs of 4 steps; histograms after epoch 0 (TensorBoard step 1).
std::vector<std::string> args(const std::string& name) { return with(tiny_args(name), {"--max_epochs", "2"}); }

// metrics.jsonl's lines; images_per_s is a timing, logged by whichever process trained the epoch.
std::vector<nlohmann::json> metrics(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(nlohmann::json::parse(line));
    out.back().erase("images_per_s");
  }
  return out;
}

// What TensorBoard shows: (tag, step) -> the value of each event logged there (a scalar, or a
// histogram's sum): a pair logged twice has two.
std::map<std::pair<std::string, int64_t>, std::vector<double>> shown(const std::string& dir) {
  std::map<std::pair<std::string, int64_t>, std::vector<double>> out;
  for (const auto& ev : tb::read_run_events(dir))
    for (const auto& v : ev.values)
      if (v.tag != "images_per_s") out[{v.tag, ev.step}].push_back(v.has_histo ? v.histo.sum : v.simple_value);
  return out;
}

}  // namespace

TEST_CASE("SIGKILL during an epoch's evaluation or logging keeps its checkpoint; the resume redoes the logging") {
  REQUIRE_MESSAGE(fs::exists(kTrainer), kTrainer << " is not built");
  const std::string logs = root().dir + "/logs";
  fs::create_directories(logs);
  REQUIRE_MESSAGE(run_to_end(args("ee_ref"), logs + "/ee_ref.log") == 0, slurp(logs + "/ee_ref.log"));
  const std::string ref = run_dir("ee_ref");
  const auto ref_metrics = metrics(ref);
  const auto ref_tb = shown(ref);
  REQUIRE(ref_metrics.size() == 2);
  REQUIRE(ref_metrics[0].contains("Performance/linear_readout_acc"));
  REQUIRE(ref_tb.count({"Embedding Similarity/cos_dists", 1}) == 1);

  // Epoch 0 ends at step 4 (evaluation and histograms), epoch 1 at step 8 (evaluation; the last epoch,
  // so the resumed run only logs).
  for (const std::string point : {"0:in_eval", "0:after_histograms", "0:before_metrics", "1:after_checkpoint"}) {
    CAPTURE(point);
    const int epoch = point[0] - '0';
    const std::string name = fmt::format("ee_{}_{}", epoch, point.substr(2));
    const std::string log = fmt::format("{}/{}.log", logs, name);
    CHECK(run_to_end(args(name), log, {"LPL_CRASH_IN_EPOCH_END=" + point}) == 128 + SIGKILL);
    const std::string ck = fmt::format("{}/checkpoints/epoch={}-step={}.safetensors", run_dir(name), epoch, 4 * (epoch + 1));
    REQUIRE_MESSAGE(fs::exists(ck), "the epoch's checkpoint is missing after the kill:\n" << slurp(log));
    CHECK(load_checkpoint(ck).state.epoch == epoch + 1);  // digests checked
    REQUIRE_MESSAGE(run_to_end(with(args(name), {"--resume_from_checkpoint"}), log) == 0, slurp(log));
    CHECK(slurp(log).find(fmt::format("epoch {}'s logging did not complete: redoing it", epoch)) != std::string::npos);
    CHECK(metrics(run_dir(name)) == ref_metrics);
    const auto got_tb = shown(run_dir(name));
    CHECK(got_tb.size() == ref_tb.size());
    for (const auto& [key, values] : ref_tb) {
      INFO(key.first << " at step " << key.second);
      REQUIRE(got_tb.count(key) == 1);
      CHECK(got_tb.at(key) == values);  // once, with the same value
    }
    const std::string last = "/checkpoints/last.safetensors";
    CHECK(tensor_bytes(run_dir(name) + last) == tensor_bytes(ref + last));
  }
}
