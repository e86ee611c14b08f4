// Test helpers for eval_linear as users run it: the built program (build/bin/eval_linear) with its
// output and exit status, and a temporary folder.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "test_util.h"

namespace lpl::test {

struct CliResult {
  int status = -1;
  std::string output;  // stdout + stderr
};

inline std::string eval_binary() {
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe");  // build/tests/<test>
  return (exe.parent_path().parent_path() / "bin" / "eval_linear").string();
}

inline CliResult run_eval(const std::string& args) {
  CliResult r;
  const std::string cmd = eval_binary() + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

struct EvalTmpDir {
  std::filesystem::path path;
  EvalTmpDir() {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("lpl_test_eval_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~EvalTmpDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

}  // namespace lpl::test
