// doctest main shared by all test executables. Prints which backends are exercised so a CPU-only
// run never looks like a GPU pass, and exits 77 (ctest: "Skipped") when every case of the binary
// was skipped (e.g. a GPU-only suite on a machine without a GPU).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "engine/comm.h"
#include "engine/common.h"
#include "engine/device.h"
#include "engine/parallel.h"

namespace {
struct RunCounter : doctest::IReporter {
  static inline unsigned total = 0, run = 0;
  explicit RunCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& s) override {
    total = s.numTestCases;
    run = s.numTestCasesPassingFilters;
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};
REGISTER_LISTENER("lpl_run_counter", 1, RunCounter);
}  // namespace

int main(int argc, char** argv) {
  // Under mpirun (tests/dist): MPI_Init before any case runs. A plain run makes no MPI call.
  try {
    lpl::init_distributed(&argc, &argv);
  } catch (const lpl::Error& e) {
    std::fprintf(stderr, "[lpl tests] %s\n", e.what());
    return 1;
  }
  lpl::set_num_threads(0);
  std::printf("[lpl tests] CUDA backend %s, GPUs visible: %d\n", lpl::cuda_built() ? "built" : "not built",
              lpl::cuda_device_count());
  doctest::Context ctx;
  ctx.applyCommandLine(argc, argv);
  int rc = ctx.run();
  lpl::finalize_distributed();
  if (rc == 0 && RunCounter::total > 0 && RunCounter::run == 0) {
    std::printf("[lpl tests] all %u test cases skipped\n", RunCounter::total);
    return 77;
  }
  return rc;
}
