// sim_sweep: runs independent simulations in parallel across cores. Each non-empty, non-'#' line
// of the job file is "<working directory> <program> [args...]"; a job runs in its working
// directory (created if missing) with stdout/stderr in <dir>/sweep_job.log. Usage:
//   sim_sweep [-j N] jobs.txt       (N defaults to the number of cores)
// Exit status 0 only if every job exited with status 0; failures are listed at the end.
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

struct Job {
  std::string dir;
  std::vector<std::string> argv;
  int line = 0;
};

static std::vector<Job> read_jobs(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot open job file '" + path + "'");
  std::vector<Job> jobs;
  std::string line;
  int no = 0;
  while (std::getline(f, line)) {
    ++no;
    std::istringstream in(line);
    Job j;
    j.line = no;
    std::string tok;
    while (in >> tok) j.argv.push_back(tok);
    if (j.argv.empty() || j.argv[0][0] == '#') continue;
    if (j.argv.size() < 2) throw std::runtime_error(path + ":" + std::to_string(no) + ": expected '<dir> <program> [args...]'");
    j.dir = j.argv[0];
    j.argv.erase(j.argv.begin());
    jobs.push_back(std::move(j));
  }
  return jobs;
}

static pid_t start(const Job& j) {
  std::filesystem::create_directories(j.dir);
  // Relative program paths are resolved from the sweep's working directory, not the job's.
  std::string prog = j.argv[0];
  if (prog.find('/') != std::string::npos && prog[0] != '/') prog = std::filesystem::absolute(prog).string();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    if (chdir(j.dir.c_str()) != 0) _exit(126);
    const int fd = open("sweep_job.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> av;
    av.push_back(prog.data());
    for (size_t k = 1; k < j.argv.size(); ++k) av.push_back(const_cast<char*>(j.argv[k].c_str()));
    av.push_back(nullptr);
    execvp(av[0], av.data());
    std::fprintf(stderr, "sim_sweep: cannot run '%s': %s\n", av[0], std::strerror(errno));
    _exit(127);
  }
  return pid;
}

int main(int argc, char** argv) {
  try {
    int jobs_max = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::string file;
    for (int a = 1; a < argc; ++a) {
      const std::string s = argv[a];
      if (s == "-j" && a + 1 < argc) {
        jobs_max = std::atoi(argv[++a]);
        if (jobs_max < 1) throw std::runtime_error("-j needs a positive number");
      } else if (s == "-h" || s == "--help") {
        std::printf("Usage: sim_sweep [-j N] jobs.txt  (lines: <dir> <program> [args...])\n");
        return 1;
      } else if (file.empty()) {
        file = s;
      } else {
        throw std::runtime_error("unexpected argument '" + s + "'");
      }
    }
    if (file.empty()) throw std::runtime_error("no job file given (usage: sim_sweep [-j N] jobs.txt)");
    const auto jobs = read_jobs(file);
    const auto t0 = std::chrono::steady_clock::now();
    std::map<pid_t, size_t> running;
    std::vector<std::string> failed;
    size_t next = 0, done = 0;
    while (done < jobs.size()) {
      while (next < jobs.size() && static_cast<int>(running.size()) < jobs_max) {
        running[start(jobs[next])] = next;
        ++next;
      }
      int status = 0;
      const pid_t pid = wait(&status);
      if (pid < 0) throw std::runtime_error(std::string("wait failed: ") + std::strerror(errno));
      auto it = running.find(pid);
      if (it == running.end()) continue;
      const Job& j = jobs[it->second];
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      ++done;
      std::printf("[%zu/%zu] %s %s (%s)\n", done, jobs.size(), ok ? "ok  " : "FAIL", j.dir.c_str(), j.argv[0].c_str());
      std::fflush(stdout);
      if (!ok) failed.push_back(j.dir + " (line " + std::to_string(j.line) + ", see " + j.dir + "/sweep_job.log)");
      running.erase(it);
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("sim_sweep: %zu jobs, %zu failed, %.1f s wall with %d parallel\n", jobs.size(), failed.size(), wall, jobs_max);
    for (const auto& f : failed) std::printf("  failed: %s\n", f.c_str());
    return failed.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sim_sweep: error: %s\n", e.what());
    return 1;
  }
}
