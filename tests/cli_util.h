// Test helpers for programs as users run them: a command's output and exit status, the built
// programs beside the test binary (build/bin/<name>), the repository's tools, a temporary folder.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "test_util.h"

namespace lpl::test {

struct CmdResult {
  int status = -1;     // exit status, -1 when killed by a signal
  std::string output;  // stdout + stderr
};

inline CmdResult run_cmd(const std::string& cmd) {
  CmdResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// build/bin/<name> for a test binary at build/tests/<test>.
inline std::string built_program(const std::string& name) {
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe");
  return (exe.parent_path().parent_path() / "bin" / name).string();
}

// Runs build/bin/<name> with args (its output and status); the program must be built.
inline CmdResult run_program(const std::string& name, const std::string& args) {
  const std::string bin = built_program(name);
  REQUIRE_MESSAGE(std::filesystem::exists(bin), "build the " << name << " target first: " << bin);
  return run_cmd(bin + " " + args);
}


// Runs build/bin/<name> with args and checks that it is refused: exit status 1 and msg in its output.
inline void check_refused(const std::string& name, const std::string& args, const std::string& msg) {
  const CmdResult r = run_program(name, args);
  CHECK_MESSAGE(r.status == 1, name << " " << args << " -> status " << r.status << ": " << r.output);
  CHECK_MESSAGE(r.output.find(msg) != std::string::npos, name << " " << args << " -> " << r.output);
}
// The repository's tools/<rel> (LPL_SOURCE_DIR, set by ctest, else the source tree of this build).
inline std::string tool_script(const std::string& rel) {
  const char* s = std::getenv("LPL_SOURCE_DIR");
  return (s ? std::string(s) : std::string(LPL_TEST_DATA_DIR) + "/../..") + "/tools/" + rel;
}

inline bool have_python3() { return std::filesystem::exists("/usr/bin/python3"); }
// Usable in doctest decorators (before any test runs): no doctest assertion inside.
inline bool have_matplotlib() {
  return have_python3() && std::system("/usr/bin/python3 -c 'import matplotlib' >/dev/null 2>&1") == 0;
}

struct TmpDir {
  std::filesystem::path path;
  explicit TmpDir(const std::string& tag) {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("lpl_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TmpDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

}  // namespace lpl::test
