// The small apps that take --threads or numbers share engine/flags.h: a non-numeric value names the
// flag and the value, and thread counts beyond the machine are refused with the bound.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "test_util.h"

namespace {

struct Result {
  int rc;
  std::string out;
};
Result run(const std::string& app, const std::string& args) {
  const char* bin = std::getenv("LPL_BIN_DIR");
  REQUIRE_MESSAGE(bin, "LPL_BIN_DIR is not set (run through ctest)");
  FILE* p = popen((std::string(bin) + "/" + app + " " + args + " 2>&1").c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}
void refused(const std::string& app, const std::string& args, const std::string& msg) {
  const Result r = run(app, args);
  CHECK_MESSAGE(r.rc == 1, app << " " << args << " -> status " << r.rc << ": " << r.out);
  CHECK_MESSAGE(r.out.find(msg) != std::string::npos, app << " " << args << " -> " << r.out);
}

}  // namespace

TEST_CASE("apps with --threads refuse counts beyond the machine, naming the bound") {
  refused("bench_data", "--threads 100000", "--threads 100000 is too many: at most ");
  refused("bench_ops", "--threads 100000", "--threads 100000 is too many: at most ");
  refused("probe_vgg11", "--threads 100000", "--threads 100000 is too many: at most ");
}

TEST_CASE("non-numeric flag values name the flag and the value") {
  refused("bench_data", "--threads x", "--threads: expected an integer, got 'x'");
  refused("bench_data", "--seconds y", "--seconds: expected a finite number, got 'y'");
  refused("vgg11_features", "--input a --out b --seed z", "--seed: expected an integer, got 'z'");
}
