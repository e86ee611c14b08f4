// train_vgg11 as users run it (a child process, CPU, one thread, a tiny configuration): SIGKILL at
// random moments and inside checkpoint writes, resume, and get weights, optimiser moments and
// objective state bitwise identical to an uninterrupted run of the same length.
#include <map>
#include <random>
#include <set>

#include "engine/tb_events.h"

#include "trainer_process.h"

using namespace lpl;
using namespace lpl::test;
namespace fs = std::filesystem;

TEST_CASE("SIGKILL at random moments and inside checkpoint writes; the resumed run ends bitwise identical") {
  REQUIRE_MESSAGE(fs::exists(kTrainer), kTrainer << " is not built");
  const std::string logs = root().dir + "/logs";
  fs::create_directories(logs);

  // Uninterrupted reference: 12 steps.
  REQUIRE_MESSAGE(run_to_end(tiny_args("ref"), logs + "/ref.log") == 0, slurp(logs + "/ref.log"));
  const std::string ref_dir = run_dir("ref");
  auto ref_last = load_checkpoint(resolve_resume(ref_dir).paths.weights);
  REQUIRE(ref_last.state.global_step == 12);

  // Its TensorBoard file (read back with CRC checks): per-step loss, the §6 epoch scalars, and the
  // §6 histograms after epoch 1 (step 1), as the original logs them.
  std::map<std::string, std::set<int64_t>> steps_of;
  int histograms = 0;
  for (const auto& e : fs::directory_iterator(ref_dir))
    if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0)
      for (const auto& ev : tb::read_events(e.path().string()))
        for (const auto& v : ev.values) {
          steps_of[v.tag].insert(ev.step);
          if (v.has_histo) ++histograms;
        }
  CHECK(steps_of["Loss/train_loss_step"].size() == 12);
  // Epoch scalars at the global step of the epoch's end (as Lightning logs them), with `epoch`.
  CHECK(steps_of["Loss/train_loss"] == std::set<int64_t>{4, 8, 12});
  CHECK(steps_of["epoch"] == std::set<int64_t>{4, 8, 12});
  CHECK(steps_of["Layerwise train losses/Layer 3 push loss"].size() == 3);
  CHECK(steps_of["Layerwise train losses/Final layer decorr loss"].size() == 3);
  for (const char* h : {"Activity Statistics/unit_activities", "Activity Statistics/unit_correlations",
                        "Correlation Matrix/eig_vals", "Correlation Matrix/normalized_eig_vals", "Gramian Matrix/eig_vals",
                        "Gramian Matrix/normalized_eig_vals", "Embedding Similarity/cos_dists"})
    CHECK_MESSAGE(steps_of[h] == std::set<int64_t>{1}, h);
  CHECK(histograms == 7);

  // The same run, killed again and again.
  const auto base = tiny_args("killed");
  const std::vector<std::string> crash_points{"1:weights_partial", "1:after_weights", "2:state_partial", "1:after_state"};
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_ms(50, 2500);
  int kills = 0, attempts = 0, crash_kills = 0;
  bool done = false;
  while (!done && attempts < 40) {
    const bool first = attempts == 0;
    auto args = first ? base : with(base, {"--resume_from_checkpoint"});
    std::vector<std::string> env;
    // Attempts 1..4 crash inside a checkpoint write; then random SIGKILLs; after 8 kills, run to the end.
    if (attempts >= 1 && attempts <= 4) env.push_back("LPL_CRASH_IN_CHECKPOINT=" + crash_points[attempts - 1]);
    Child c = spawn(args, env, fmt::format("{}/killed_{}.log", logs, attempts));
    ++attempts;
    int st;
    if (env.empty() && kills < 8) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
      ::kill(c.pid, SIGKILL);  // a no-op when it already finished
      st = wait_status(c);
    } else {
      st = wait_status(c);
    }
    if (WIFSIGNALED(st)) {
      REQUIRE(WTERMSIG(st) == SIGKILL);
      ++kills;
      if (!env.empty()) ++crash_kills;
      continue;
    }
    REQUIRE_MESSAGE(WEXITSTATUS(st) == 0, slurp(c.log));
    done = true;
  }
  REQUIRE(done);
  MESSAGE("attempts " << attempts << ", SIGKILLs " << kills << " (" << crash_kills << " inside checkpoint writes)");
  CHECK(crash_kills == 4);

  auto got = load_checkpoint(resolve_resume(run_dir("killed")).paths.weights);
  CHECK(got.state.global_step == 12);
  CHECK(got.state.epoch == ref_last.state.epoch);
  CHECK(tensor_bytes(got.paths.weights) == tensor_bytes(ref_last.paths.weights));
  CHECK(tensor_bytes(got.paths.state) == tensor_bytes(ref_last.paths.state));
  CHECK(tensor_bytes(run_dir("killed") + "/checkpoints/last.safetensors") ==
        tensor_bytes(ref_dir + "/checkpoints/last.safetensors"));
  // TensorBoard shows the killed-and-resumed run as the uninterrupted one: every (tag, step) once,
  // with the same values (what killed processes logged after their last checkpoint is purged by the
  // resumed run's SessionLog START).
  auto shown = [](const std::string& dir) {
    std::multimap<std::pair<std::string, int64_t>, float> out;
    for (const auto& ev : tb::read_run_events(dir))
      for (const auto& v : ev.values)
        if (v.has_simple) out.emplace(std::make_pair(v.tag, ev.step), v.simple_value);
    return out;
  };
  const auto tb_ref = shown(ref_dir), tb_got = shown(run_dir("killed"));
  CHECK(tb_got.size() == tb_ref.size());
  for (const auto& [key, value] : tb_ref) {
    INFO(key.first << " at step " << key.second);
    CHECK(tb_got.count(key) == 1);
    // Online-evaluation metrics depend on timing-free data only, so they repeat exactly too.
    if (tb_got.count(key) == 1 && key.first != "images_per_s") CHECK(tb_got.find(key)->second == value);
  }
  // --keep_checkpoints 3 held throughout, and no temporary files are left.
  auto cks = list_checkpoints(run_dir("killed"));
  CHECK(cks.size() <= 3);
  for (const auto& e : fs::directory_iterator(run_dir("killed") + "/checkpoints"))
    CHECK_MESSAGE(e.path().filename().string()[0] != '.', e.path());
}
