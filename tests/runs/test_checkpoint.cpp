// Full checkpoints: exact round trip of the training state, refusal of corrupt / truncated /
// mismatched files (nothing overwritten), rotation, kill-safety of the write order, the run
// directory guard and what --resume_from_checkpoint resolves to.
#include <filesystem>
#include <fstream>
#include <limits>

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "engine/checkpoint.h"
#include "engine/file_util.h"
#include "engine/run_dir.h"
#include "corrupt_file.h"
#include "test_util.h"

using namespace lpl;
namespace fs = std::filesystem;

namespace {
// Every folder of this test process is removed when it ends.
struct RemoveTempDirs {
  ~RemoveTempDirs() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec))
      if (e.path().filename().string().rfind(fmt::format("lpl_ck_{}_", ::getpid()), 0) == 0) fs::remove_all(e.path(), ec);
  }
} remove_temp_dirs;

std::string fresh_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / fmt::format("lpl_ck_{}_{}", ::getpid(), name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}
NamedTensors weights(uint32_t seed) {
  return {{"network.encoder.blocks.0.module.0.weight", test::random_tensor({4, 3, 3, 3}, seed)},
          {"network.encoder.blocks.0.module.0.bias", test::random_tensor({4}, seed + 1)}};
}
TrainState state(uint32_t seed) {
  TrainState s;
  s.epoch = 3;
  s.batch_in_epoch = 7;
  s.global_step = 52;
  s.set_u64("rng.seed", 0xFFFFFFFFFFFFFFFFull);
  s.set_i64("sched.warmup", -1);
  s.set_f64("sched.lr", 0.1 + 0.2);
  s.set_f64("neg_zero", -0.0);
  // Any string (train_vgg11 keeps an epoch's pending log record, a JSON object, in its state).
  s.values["pending_epoch_log"] = "{\"Loss/val\": -1.5e-300, \"q\": \"a\\\"b\\n\"}\n\t\\ \xc3\xa9";
  s.tensors = {{"optim.exp_avg.network.encoder.blocks.0.module.0.weight", test::random_tensor({4, 3, 3, 3}, seed + 2)},
               {"optim.exp_avg_sq.network.encoder.blocks.0.module.0.weight", test::random_tensor({4, 3, 3, 3}, seed + 3)}};
  s.fingerprint = {{"no_biases", "false"}, {"use_projector_mlp", "false"}, {"optimizer", "adam"}};
  return s;
}
std::string bytes_of(const std::string& p) { return read_file(p); }
void truncate_to(const std::string& p, size_t n) {
  std::string b = read_file(p);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << b.substr(0, n);
}
}  // namespace

TEST_CASE("a checkpoint round-trips weights, moments, counters and exact scalars") {
  std::string run = fresh_dir("roundtrip");
  auto w = weights(1);
  auto s = state(10);
  CheckpointPaths p = save_checkpoint(run, 3, 52, w, s, 0);
  CHECK(p.weights == run + "/checkpoints/epoch=3-step=52.safetensors");
  CHECK(p.state == run + "/checkpoints/epoch=3-step=52.state");
  CHECK(file_exists(run + "/checkpoints/last.safetensors"));

  LoadedCheckpoint c = load_checkpoint(p.weights);
  CHECK(c.state.epoch == 3);
  CHECK(c.state.batch_in_epoch == 7);
  CHECK(c.state.global_step == 52);
  CHECK(c.state.get_u64("rng.seed", p.state) == 0xFFFFFFFFFFFFFFFFull);
  CHECK(c.state.get_i64("sched.warmup", p.state) == -1);
  CHECK(c.state.get_f64("sched.lr", p.state) == 0.1 + 0.2);  // bit-exact, not 0.3
  double nz = c.state.get_f64("neg_zero", p.state);
  CHECK((nz == 0.0 && std::signbit(nz)));
  CHECK(c.state.fingerprint == s.fingerprint);
  CHECK(c.state.values == s.values);
  for (const auto& [n, t] : s.tensors) CHECK(c.state.tensor(n, p.state).to_vector() == t.to_vector());
  for (const auto& [n, t] : w) CHECK(c.weights.at(n, p.weights).to_vector() == t.to_vector());
  CHECK(c.weights.metadata.at("checkpoint") == "epoch=3-step=52");
  CHECK_THROWS_WITH_AS(c.state.get_f64("nope", p.state), doctest::Contains("has no value 'nope'"), Error);
  CHECK_THROWS_WITH_AS(c.state.get_i64("sched.lr", p.state), doctest::Contains("is not an integer"), Error);
  CHECK_THROWS_WITH_AS(c.state.tensor("optim.x", p.state), doctest::Contains("has no tensor 'optim.x'"), Error);

  // last.safetensors holds the same weights and names its checkpoint.
  SafetensorsFile last = load_safetensors(run + "/checkpoints/last.safetensors");
  CHECK(last.metadata.at("checkpoint") == "epoch=3-step=52");
  CHECK(tensors_digest(last.tensors) == tensors_digest(w));
}

TEST_CASE("the digest changes with any name, shape or bit of the weights") {
  auto w = weights(1);
  std::string d0 = tensors_digest(w);
  NamedTensors reordered{w[1], w[0]};
  CHECK(tensors_digest(reordered) == d0);
  auto w2 = weights(1);
  w2[0].second.f()[5] = std::nextafter(w2[0].second.f()[5], 2.f);
  CHECK(tensors_digest(w2) != d0);
  NamedTensors renamed{{"x", w[0].second}, w[1]};
  CHECK(tensors_digest(renamed) != d0);
  NamedTensors reshaped{{w[0].first, w[0].second.reshape({4, 27})}, w[1]};
  CHECK(tensors_digest(reshaped) != d0);
}

TEST_CASE("corrupt, truncated, incomplete and mismatched checkpoints are refused and left as they were") {
  std::string run = fresh_dir("bad");
  CheckpointPaths a = save_checkpoint(run, 0, 10, weights(1), state(1), 0);
  CheckpointPaths b = save_checkpoint(run, 1, 20, weights(2), state(2), 0);

  SUBCASE("truncated weights") {
    truncate_to(b.weights, bytes_of(b.weights).size() - 3);
    std::string before = bytes_of(b.weights);
    CHECK_THROWS_WITH_AS(load_checkpoint(b.weights), doctest::Contains(b.weights.c_str()), Error);
    CHECK(bytes_of(b.weights) == before);
  }
  SUBCASE("truncated state") {
    truncate_to(b.state, 20);
    CHECK_THROWS_WITH_AS(load_checkpoint(b.weights), doctest::Contains(b.state.c_str()), Error);
  }
  SUBCASE("a flipped bit in the weights data") {
    std::string w = bytes_of(b.weights);
    w[w.size() - 1] ^= 1;
    std::ofstream(b.weights, std::ios::binary | std::ios::trunc) << w;
    CHECK_THROWS_WITH_AS(load_checkpoint(b.weights), doctest::Contains("is not the one its state file"), Error);
  }
  SUBCASE("10 flipped bytes in the optimiser moments of the state file") {
    test::flip_tensor_bytes(b.state, "optim.exp_avg_sq.", 10);
    CHECK_THROWS_WITH_AS(load_checkpoint(b.weights), doctest::Contains(fmt::format("training-state file '{}' is corrupt", b.state).c_str()), Error);
  }
  SUBCASE("global_step edited in the state file's header") {
    test::replace_once(b.state, "\"global_step\":\"52\"", "\"global_step\":\"99\"");
    CHECK_THROWS_WITH_AS(load_checkpoint(b.weights), doctest::Contains(fmt::format("training-state file '{}' is corrupt", b.state).c_str()), Error);
  }
  SUBCASE("weights of another checkpoint beside a state file") {
    fs::copy_file(a.weights, b.weights, fs::copy_options::overwrite_existing);
    CHECK_THROWS_WITH_AS(load_checkpoint(b.weights), doctest::Contains("come from different runs"), Error);
  }
  SUBCASE("no companion state file") {
    fs::remove(b.state);
    CHECK_THROWS_WITH_AS(load_checkpoint(b.weights), doctest::Contains("has no companion state file"), Error);
  }
  SUBCASE("a safetensors file that is not a training state") {
    save_safetensors(b.state, weights(3));
    CHECK_THROWS_WITH_AS(load_checkpoint(b.weights), doctest::Contains("is not an lpl training-state file"), Error);
  }
  SUBCASE("missing weights file") {
    CHECK_THROWS_WITH_AS(load_checkpoint(run + "/checkpoints/epoch=9-step=99.safetensors"),
                         doctest::Contains("does not exist"), Error);
  }
  // The older checkpoint is never touched by any of this.
  CHECK(load_checkpoint(a.weights).state.global_step == 52);
}

TEST_CASE("resume checks: other model flags and mis-shaped or missing tensors are refused by name") {
  std::map<std::string, std::string> saved{{"no_biases", "false"}, {"use_projector_mlp", "false"}, {"optimizer", "adam"}};
  CHECK_NOTHROW(check_fingerprint(saved, saved, "f"));
  auto cur = saved;
  cur["no_biases"] = "true";
  cur["mlp_hidden_size"] = "2048";
  CHECK_THROWS_WITH_AS(check_fingerprint(saved, cur, "ck.state"),
                       doctest::Contains("--no_biases is false in the checkpoint but true in this run"), Error);
  CHECK_THROWS_WITH_AS(check_fingerprint(saved, cur, "ck.state"),
                       doctest::Contains("--mlp_hidden_size is (absent) in the checkpoint but 2048"), Error);

  std::map<std::string, Tensor> src{{"a", test::random_tensor({2, 3}, 1)}, {"b", test::random_tensor({4}, 2)}};
  NamedTensors dst{{"a", Tensor::zeros({2, 3})}, {"b", Tensor::zeros({4})}};
  restore_tensors(src, dst, "f", true);
  CHECK(dst[0].second.to_vector() == src["a"].to_vector());
  NamedTensors wrong{{"a", Tensor::zeros({3, 2})}, {"c", Tensor::zeros({1})}};
  CHECK_THROWS_WITH_AS(restore_tensors(src, wrong, "w.safetensors", false),
                       doctest::Contains("'a' has shape [2, 3] float32 but the model needs [3, 2] float32"), Error);
  CHECK_THROWS_WITH_AS(restore_tensors(src, wrong, "w.safetensors", false), doctest::Contains("'c' is missing"), Error);
  NamedTensors only_a{{"a", Tensor::zeros({2, 3})}};
  CHECK_NOTHROW(restore_tensors(src, only_a, "f", false));
  CHECK_THROWS_WITH_AS(restore_tensors(src, only_a, "f", true), doctest::Contains("'b' is not a tensor of this model"),
                       Error);
}

TEST_CASE("--keep_checkpoints K keeps the newest K complete checkpoints and clears debris") {
  std::string run = fresh_dir("rotate");
  for (int i = 1; i <= 5; ++i) save_checkpoint(run, i - 1, 10 * i, weights(i), state(i), 3);
  auto all = list_checkpoints(run);
  REQUIRE(all.size() == 3);
  CHECK(all[0].step == 30);
  CHECK(all[2].step == 50);
  for (const auto& c : all) CHECK(c.complete);

  // Debris of a killed writer: a temporary file of another process, an orphan older weights file.
  std::string ck = checkpoint_dir(run);
  std::ofstream(ck + "/.epoch=5-step=60.safetensors.tmp-999999") << "partial";
  fs::copy_file(all[0].paths.weights, ck + "/epoch=1-step=15.safetensors");
  // An incomplete checkpoint newer than the newest complete one stays (it may be being written).
  fs::copy_file(all[0].paths.weights, ck + "/epoch=9-step=99.safetensors");
  auto removed = rotate_checkpoints(run, 3);
  CHECK(removed.size() == 2);
  CHECK(!file_exists(ck + "/.epoch=5-step=60.safetensors.tmp-999999"));
  CHECK(!file_exists(ck + "/epoch=1-step=15.safetensors"));
  CHECK(file_exists(ck + "/epoch=9-step=99.safetensors"));
  CHECK(list_checkpoints(run).size() == 4);

  CHECK_THROWS_WITH_AS(rotate_checkpoints(run, -1), doctest::Contains("--keep_checkpoints must be >= 0"), Error);
  // 0 keeps all complete ones; the incomplete step-99 one is now older than the newest: removed.
  save_checkpoint(run, 9, 100, weights(9), state(9), 0);
  CHECK(list_checkpoints(run).size() == 4);
  CHECK(!file_exists(ck + "/epoch=9-step=99.safetensors"));
}

TEST_CASE("a kill between the two files of a checkpoint leaves the previous one resumable") {
  std::string run = fresh_dir("kill");
  CheckpointPaths a = save_checkpoint(run, 0, 10, weights(1), state(1), 1);
  // Simulate a kill after the new weights were renamed into place but before the state was written.
  CheckpointPaths b = checkpoint_paths(run, 1, 20);
  save_safetensors(b.weights, weights(2));
  ResumeTarget r = resolve_resume(run);
  CHECK(r.paths.weights == a.weights);
  CHECK(load_checkpoint(r.paths.weights).state.global_step == 52);
  // Rewriting a checkpoint of the same name removes its old state before the new weights land.
  save_checkpoint(run, 1, 20, weights(3), state(3), 1);
  CHECK(tensors_digest(load_checkpoint(b.weights).weights.tensors) == tensors_digest(weights(3)));
}

TEST_CASE("SIGKILL at every point of a checkpoint write leaves the previous checkpoint resumable") {
  for (const char* point : {"weights_partial", "after_weights", "state_partial", "after_state"}) {
    INFO(point);
    std::string run = fresh_dir(std::string("crash_") + point);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::setenv("LPL_CRASH_IN_CHECKPOINT", (std::string("2:") + point).c_str(), 1);
      save_checkpoint(run, 0, 10, weights(1), state(1), 1);
      save_checkpoint(run, 1, 20, weights(2), state(2), 1);  // killed in here
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    bool second_done = std::string(point) == "after_state";
    ResumeTarget r = resolve_resume(run);
    CHECK(r.paths.weights == checkpoint_paths(run, second_done ? 1 : 0, second_done ? 20 : 10).weights);
    LoadedCheckpoint c = load_checkpoint(r.paths.weights);
    CHECK(tensors_digest(c.weights.tensors) == tensors_digest(weights(second_done ? 2 : 1)));
    // The resumed run writes that checkpoint again; debris of the killed writer disappears.
    save_checkpoint(run, 1, 20, weights(2), state(2), 1);
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(checkpoint_dir(run))) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"epoch=1-step=20.safetensors", "epoch=1-step=20.state", "last.safetensors"});
  }
}

TEST_CASE("a new run refuses an existing run directory; --resume_from_checkpoint resolves paths") {
  std::string root = fresh_dir("rundir");
  std::string run = run_dir_path(root, "cifar10", "exp1", "lpl");
  CHECK(run == root + "/cifar10/exp1/lpl");
  create_new_run_dir(run);  // does not exist yet
  CHECK(fs::is_directory(run));
  create_new_run_dir(run);  // exists but empty: nothing to lose
  std::ofstream(run + "/config.json") << "{}";
  CHECK_THROWS_WITH_AS(create_new_run_dir(run), doctest::Contains("already exists; pass --resume_from_checkpoint"),
                       Error);
  CHECK(bytes_of(run + "/config.json") == "{}");

  CHECK_THROWS_WITH_AS(resolve_resume(run), doctest::Contains("no checkpoints/ folder"), Error);
  make_dirs(checkpoint_dir(run));
  CHECK_THROWS_WITH_AS(resolve_resume(run), doctest::Contains("no complete checkpoint"), Error);
  CheckpointPaths a = save_checkpoint(run, 0, 10, weights(1), state(1), 0);
  CheckpointPaths b = save_checkpoint(run, 1, 20, weights(2), state(2), 0);
  for (const std::string& arg : {run, run + "/", checkpoint_dir(run), root + "/cifar10/exp1",
                                 run + "/checkpoints/last.safetensors"}) {
    ResumeTarget r = resolve_resume(arg);
    CHECK_MESSAGE(r.paths.weights == b.weights, arg);
    CHECK(fs::equivalent(r.run_dir, run));
  }
  CHECK(resolve_resume(a.weights).paths.state == a.state);
  CHECK(resolve_resume(a.state).paths.weights == a.weights);
  CHECK_THROWS_WITH_AS(resolve_resume(root + "/nope"), doctest::Contains("does not exist"), Error);
  std::ofstream(root + "/x.txt") << "x";
  CHECK_THROWS_WITH_AS(resolve_resume(root + "/x.txt"), doctest::Contains("is neither"), Error);
  save_safetensors(root + "/loose.safetensors", weights(1));
  CHECK_THROWS_WITH_AS(resolve_resume(root + "/loose.safetensors"), doctest::Contains("use --init_from"), Error);
  create_new_run_dir(run_dir_path(root, "cifar10", "exp1", "lpl_no-pooling"));
  make_dirs(run_dir_path(root, "cifar10", "exp1", "lpl_no-pooling") + "/checkpoints");
  CHECK_THROWS_WITH_AS(resolve_resume(root + "/cifar10/exp1"), doctest::Contains("holds 2 runs"), Error);
}

TEST_CASE("a file whose epoch or step number exceeds int64 is not a checkpoint of ours, and does not stop the listing") {
  std::string run = fresh_dir("huge_name");
  CheckpointPaths a = save_checkpoint(run, 0, 10, weights(1), state(1), 0);
  std::ofstream(run + "/checkpoints/epoch=99999999999999999999-step=1.safetensors") << "x";
  std::vector<CheckpointEntry> all;
  CHECK_NOTHROW(all = list_checkpoints(run));
  REQUIRE(all.size() == 1);
  CHECK(all[0].paths.weights == a.weights);
}
