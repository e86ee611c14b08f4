// The small apps that take --threads or numbers share engine/flags.h: a non-numeric value names the
// flag and the value, and thread counts beyond the machine are refused with the bound.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "cli_util.h"
#include "test_util.h"

namespace {

struct Result {
  int rc;
  std::string out;
};
Result run(const std::string& app, const std::string& args) {
  const lpl::test::CmdResult r = lpl::test::run_program(app, args);
  return {r.status, r.output};
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
