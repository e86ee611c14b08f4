// train_vgg11's guards, as a child process on a tiny CPU configuration: SIGTERM checkpoints and
// exits; a NaN injected into a layer's activations stops the run with the named message and the
// last checkpoint intact; an existing run directory is refused; a resume with other model flags,
// or from a corrupt checkpoint, is refused by name; --init_from refuses missing tensors by name; a
// finished run trains longer when resumed with a larger --max_epochs.
#include <nlohmann/json.hpp>

#include "corrupt_file.h"
#include "trainer_process.h"

using namespace lpl;
using namespace lpl::test;
namespace fs = std::filesystem;

TEST_CASE("SIGTERM: checkpoint after the current step, exit 143, resumable") {
  REQUIRE_MESSAGE(fs::exists(kTrainer), kTrainer << " is not built");
  const std::string log = logs() + "/term.log";
  // Long enough that it is still training when the signal comes.
  Child c = spawn(with(tiny_args("term"), {"--max_epochs", "200"}), {}, log);
  REQUIRE_MESSAGE(wait_for_log(log, "steps of 4 x 2 views per epoch", 60), slurp(log));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(c.pid, SIGTERM);
  int st = wait_status(c);
  REQUIRE_MESSAGE(WIFEXITED(st), "the trainer was killed by signal " << (WIFSIGNALED(st) ? WTERMSIG(st) : -1) << ":\n"
                                                                      << slurp(log));
  CHECK(WEXITSTATUS(st) == 128 + SIGTERM);
  const std::string out = slurp(log);
  CHECK(out.find("SIGTERM: stopped after step") != std::string::npos);
  CHECK(out.find("continue with: --resume_from_checkpoint " + run_dir("term")) != std::string::npos);
  ResumeTarget r = resolve_resume(run_dir("term"));
  LoadedCheckpoint ck = load_checkpoint(r.paths.weights);
  CHECK(out.find(fmt::format("stopped after step {};", ck.state.global_step)) != std::string::npos);
  // The resumed run continues from there (and stops at --max_steps).
  const int64_t s0 = ck.state.global_step;
  const std::string log2 = logs() + "/term2.log";
  CHECK(run_to_end(with(tiny_args("term"), {"--max_epochs", "200", "--resume_from_checkpoint", "--max_steps",
                                            std::to_string(s0 + 2)}),
                   log2) == 0);
  CHECK(slurp(log2).find(fmt::format("resuming {} at epoch {}, step {}", r.paths.weights, ck.state.epoch, s0)) !=
        std::string::npos);
  CHECK(load_checkpoint(resolve_resume(run_dir("term")).paths.weights).state.global_step == s0 + 2);
}

TEST_CASE("a NaN in layer 3's activations stops the run by name; the last checkpoint stays intact") {
  const std::string log = logs() + "/nan.log";
  // Checkpoints at steps 3 and 4 (end of epoch 0); the NaN comes in the step after 5 steps were taken.
  int rc = run_to_end(tiny_args("nan"), log, {"LPL_INJECT_NAN=3@5"});
  CHECK(rc == 1);
  const std::string out = slurp(log);
  const std::string good = run_dir("nan") + "/checkpoints/epoch=0-step=4.safetensors";
  INFO(out);
  CHECK(out.find("error: training diverged at epoch 1, step 5: layer 3 pull loss is nan") != std::string::npos);
  CHECK(out.find("the last good checkpoint '" + good + "' is untouched") != std::string::npos);
  auto all = list_checkpoints(run_dir("nan"));
  REQUIRE(!all.empty());
  CHECK(all.back().step == 4);
  CHECK(all.back().complete);
  LoadedCheckpoint ck = load_checkpoint(good);  // digest-checked: intact
  CHECK(ck.state.global_step == 4);
  CHECK(load_safetensors(run_dir("nan") + "/checkpoints/last.safetensors").metadata.at("checkpoint") == "epoch=0-step=4");
  for (const auto& e : fs::directory_iterator(run_dir("nan") + "/checkpoints"))
    CHECK_MESSAGE(e.path().filename().string()[0] != '.', e.path());
}

TEST_CASE("an existing run directory is refused; other flags or a corrupt checkpoint on resume are refused by name") {
  const std::string l = logs();
  REQUIRE(run_to_end(with(tiny_args("guard"), {"--max_steps", "3"}), l + "/g0.log") == 0);
  const std::string dir = run_dir("guard");
  const std::string config = slurp(dir + "/config.json");
  const auto before = list_checkpoints(dir);
  REQUIRE(before.size() == 1);

  CHECK(run_to_end(with(tiny_args("guard"), {"--max_steps", "3"}), l + "/g1.log") == 1);
  CHECK(slurp(l + "/g1.log").find("run directory '" + dir + "' already exists; pass --resume_from_checkpoint") !=
        std::string::npos);

  CHECK(run_to_end(with(tiny_args("guard"), {"--resume_from_checkpoint", "--no_biases", "--batch_size", "8"}),
                   l + "/g2.log") == 1);
  const std::string g2 = slurp(l + "/g2.log");
  CHECK(g2.find("--batch_size is 4 in the checkpoint but 8 in this run") != std::string::npos);
  CHECK(g2.find("--no_biases is false in the checkpoint but true in this run") != std::string::npos);

  // A truncated state file: refused by name, nothing written.
  const std::string state = before[0].paths.state;
  std::string bytes = slurp(state);
  { std::ofstream(state, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2); }
  CHECK(run_to_end(with(tiny_args("guard"), {"--resume_from_checkpoint"}), l + "/g3.log") == 1);
  CHECK(slurp(l + "/g3.log").find(state) != std::string::npos);
  CHECK(slurp(dir + "/config.json") == config);
  CHECK(list_checkpoints(dir).size() == 1);

  CHECK(run_to_end(with(tiny_args("guard2"), {"--init_from", dir + "/config.json"}), l + "/g4.log") == 1);
  // A safetensors file without the network's tensors, refused by name.
  CHECK(run_to_end(with(tiny_args("guard3"), {"--init_from", test::data_path("runs/vgg11_torch_features.safetensors")}),
                   l + "/g5.log") == 1);
  CHECK(slurp(l + "/g5.log").find("network.encoder.blocks.0.module.0.weight") != std::string::npos);
}

TEST_CASE("a finished run trains longer when resumed with a larger --max_epochs; the same --max_epochs has nothing to do") {
  const std::string l = logs();
  REQUIRE(run_to_end(with(tiny_args("longer"), {"--max_epochs", "2"}), l + "/x0.log") == 0);
  const std::string dir = run_dir("longer");
  REQUIRE(list_checkpoints(dir).back().step == 8);  // 2 epochs of 4 batches

  CHECK(run_to_end(with(tiny_args("longer"), {"--max_epochs", "2", "--resume_from_checkpoint"}), l + "/x1.log") == 0);
  CHECK(slurp(l + "/x1.log").find("nothing to train: the checkpoint has completed 2 epochs and --max_epochs is 2") !=
        std::string::npos);
  CHECK(list_checkpoints(dir).back().step == 8);

  // Other flags still have to match.
  CHECK(run_to_end(with(tiny_args("longer"), {"--max_epochs", "3", "--batch_size", "8", "--resume_from_checkpoint"}),
                   l + "/x2.log") == 1);
  const std::string x2 = slurp(l + "/x2.log");
  CHECK(x2.find("--batch_size is 4 in the checkpoint but 8 in this run") != std::string::npos);

  CHECK(run_to_end(with(tiny_args("longer"), {"--max_epochs", "3", "--resume_from_checkpoint"}), l + "/x3.log") == 0);
  const std::string x3 = slurp(l + "/x3.log");
  INFO(x3);
  CHECK(x3.find("warning: --max_epochs is 2 in the checkpoint but 3 in this run: the learning-rate schedule continues "
                "as for a 3-epoch run from epoch 2 on") != std::string::npos);
  CHECK(list_checkpoints(dir).back().step == 12);
  // Epoch 2 (0-based) trained at the 3-epoch schedule's rate: warm-up 1 epoch, then cosine over 2 epochs,
  // lr = 1e-6 + (1e-3 - 1e-6) (1 + cos(pi / 2)) / 2.
  std::ifstream metrics(dir + "/metrics.jsonl");
  double lr2 = -1;
  for (std::string line; std::getline(metrics, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.at("epoch").get<int>() == 2) lr2 = j.at("lr").get<double>();
  }
  CHECK(lr2 == doctest::Approx(1e-6 + (1e-3 - 1e-6) * 0.5).epsilon(1e-6));
}

TEST_CASE("a state file with flipped moment bytes or an edited global_step is refused on resume, by name") {
  const std::string l = logs();
  REQUIRE(run_to_end(with(tiny_args("corrupt"), {"--max_steps", "3"}), l + "/c0.log") == 0);
  const std::string dir = run_dir("corrupt");
  const auto cks = list_checkpoints(dir);
  REQUIRE(cks.size() == 1);
  const std::string state = cks[0].paths.state, intact = file_bytes(state);
  const std::string refusal = fmt::format("error: training-state file '{}' is corrupt", state);

  flip_tensor_bytes(state, "optim.v.", 10);  // Adam's second moments
  CHECK(run_to_end(with(tiny_args("corrupt"), {"--resume_from_checkpoint"}), l + "/c1.log") == 1);
  CHECK_MESSAGE(slurp(l + "/c1.log").find(refusal) != std::string::npos, slurp(l + "/c1.log"));

  write_bytes(state, intact);
  replace_once(state, "\"global_step\":\"3\"", "\"global_step\":\"9\"");
  CHECK(run_to_end(with(tiny_args("corrupt"), {"--resume_from_checkpoint"}), l + "/c2.log") == 1);
  CHECK_MESSAGE(slurp(l + "/c2.log").find(refusal) != std::string::npos, slurp(l + "/c2.log"));
  CHECK(list_checkpoints(dir).size() == 1);  // nothing trained, nothing written

  write_bytes(state, intact);  // the intact file still resumes
  CHECK(run_to_end(with(tiny_args("corrupt"), {"--resume_from_checkpoint", "--max_steps", "4"}), l + "/c3.log") == 0);
}
