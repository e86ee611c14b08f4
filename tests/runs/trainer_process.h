// Runs train_vgg11 as a child process (as users do) for the tests of tests/runs: a tiny CPU
// configuration on Fashion-MNIST, spawning with extra environment, waiting, reading logs.
#pragma once
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/checkpoint.h"
#include "engine/run_dir.h"
#include "test_util.h"

extern char** environ;

namespace lpl::test {

namespace fs = std::filesystem;

// The lines of a run's metrics.jsonl, parsed.
inline std::vector<nlohmann::json> metrics_lines(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream f(dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// ctest sets LPL_BIN_DIR (tests/CMakeLists.txt); the default suits a build/ beside tests/.
inline const std::string kTrainer =
    std::string(std::getenv("LPL_BIN_DIR") ? std::getenv("LPL_BIN_DIR") : "../build/bin") + "/train_vgg11";

struct TempRoot {
  std::string dir = (fs::temp_directory_path() / fmt::format("lpl_resume_{}", ::getpid())).string();
  TempRoot() { fs::create_directories(dir); }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};
inline TempRoot& root() {
  static TempRoot r;
  return r;
}

// 3 epochs of 4 batches of 4 Fashion-MNIST images (12 steps), a warm-up epoch, stale estimates
// (state in the objective), Adam (moments), checkpoints at steps 3, 4, 6, 8, 9, 12 (mid-epoch and
// epoch ends): every kind of state a resume must restore.
inline std::vector<std::string> tiny_args(const std::string& name) {
  return {"--dataset", "fashion-mnist", "--batch_size", "4", "--limit_train_batches", "4", "--max_epochs", "3",
          "--warmup_epochs", "1", "--learning_rate", "0.001", "--stale_estimates", "--threads", "1",
          "--num_workers", "1", "--log_dir", root().dir, "--experiment_name", name, "--checkpoint_every_steps", "3",
          "--keep_checkpoints", "3", "--histogram_samples", "32", "--eval_samples", "32", "--val_batches", "1"};
}
// A folder for the children's logs.
inline std::string logs() {
  std::string d = root().dir + "/logs";
  fs::create_directories(d);
  return d;
}
inline std::string run_dir(const std::string& name) { return root().dir + "/fashion-mnist/" + name + "/lpl"; }

struct Child {
  pid_t pid = -1;
  std::string log;
};
// Starts `argv_s` (argv_s[0] looked up on PATH when it has no '/') with extra environment entries;
// stdout+stderr go to a log file.
inline Child spawn_program(const std::vector<std::string>& argv_s_in, const std::vector<std::string>& env_extra,
                           const std::string& log) {
  std::vector<std::string> argv_s = argv_s_in;
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  env_s.insert(env_s.end(), env_extra.begin(), env_extra.end());
  env_s.emplace_back("OMP_NUM_THREADS=1");
  std::vector<char*> envp;
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  Child c;
  c.log = log;
  int rc = posix_spawnp(&c.pid, argv_s[0].c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE_MESSAGE(rc == 0, "cannot start " << argv_s[0]);
  return c;
}
// Starts the trainer with extra environment entries; stdout+stderr go to a log file.
inline Child spawn(const std::vector<std::string>& args, const std::vector<std::string>& env_extra, const std::string& log) {
  std::vector<std::string> argv_s{kTrainer};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  return spawn_program(argv_s, env_extra, log);
}
inline int wait_status(const Child& c) {
  int st = 0;
  REQUIRE(::waitpid(c.pid, &st, 0) == c.pid);
  return st;
}
inline int run_to_end(const std::vector<std::string>& args, const std::string& log, const std::vector<std::string>& env = {}) {
  int st = wait_status(spawn(args, env, log));
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
inline std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
// `a` with the flags of `more`: a flag already in `a` has its value replaced (the trainer refuses a
// flag given twice), a new one is appended. A flag's values are the arguments after it up to the next "--".
inline std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  auto value_end = [](const std::vector<std::string>& v, size_t i) {
    size_t j = i + 1;
    while (j < v.size() && v[j].rfind("--", 0) != 0) ++j;
    return j;
  };
  for (size_t i = 0; i < more.size();) {
    const size_t j = value_end(more, i);
    for (size_t k = 0; k < a.size(); ++k)
      if (a[k] == more[i]) {
        a.erase(a.begin() + static_cast<std::ptrdiff_t>(k), a.begin() + static_cast<std::ptrdiff_t>(value_end(a, k)));
        break;
      }
    a.insert(a.end(), more.begin() + static_cast<std::ptrdiff_t>(i), more.begin() + static_cast<std::ptrdiff_t>(j));
    i = j;
  }
  return a;
}

// Tensor bytes of a safetensors file by name (metadata ignored).
inline std::map<std::string, std::string> tensor_bytes(const std::string& path) {
  std::map<std::string, std::string> out;
  for (const auto& [n, t] : load_safetensors(path).tensors) out[n] = std::string(t.data<char>(), t.nbytes());
  return out;
}

// Waits until the log shows that training started (files created, signal handlers installed).
inline bool wait_for_log(const std::string& log, const std::string& text, double seconds) {
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
    if (slurp(log).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace lpl::test
