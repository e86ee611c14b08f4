#include "engine/plot_tool.h"

#include <cstdio>
#include <filesystem>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

extern char** environ;

namespace lpl {

std::string find_tool_script(const std::string& rel) {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* src = std::getenv("LPL_SOURCE_DIR")) candidates.push_back(fs::path(src) / "tools" / rel);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / "../../tools" / rel);  // build/bin/<program>
    candidates.push_back(exe.parent_path() / "../tools" / rel);
  }
  candidates.push_back(fs::path("tools") / rel);
  for (const auto& c : candidates)
    if (fs::exists(c, ec)) return fs::weakly_canonical(c).string();
  return "";
}

std::string run_plot_tool(const std::string& rel, const std::vector<std::string>& script_args) {
  const std::string script = find_tool_script(rel);
  if (script.empty()) return fmt::format("tools/{} not found (set LPL_SOURCE_DIR to the repository)", rel);
  std::string python = "python3";
  if (const char* p = std::getenv("LPL_PYTHON")) python = p;
  else if (std::filesystem::exists("/usr/bin/python3")) python = "/usr/bin/python3";
  std::vector<std::string> args{python, script};
  args.insert(args.end(), script_args.begin(), script_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, python.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    return fmt::format("cannot run {} (is python3 installed?)", python);
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return "waiting for the plot script failed";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 3) return "python3-matplotlib is not installed";
  return fmt::format("{} {} failed (status {})", python, script, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

void plot_and_report(const std::string& rel, const std::vector<std::string>& args, const std::string& drawn) {
  const std::string why = run_plot_tool(rel, args);
  if (why.empty())
    std::printf("plots: %s\n", drawn.c_str());
  else
    std::printf("plots skipped: %s\n", why.c_str());
  std::fflush(stdout);
}

}  // namespace lpl
