// Free paths never throw: destructors (the loader's pinned staging buffers) call pinned_free, and after
// a sticky CUDA error cudaFreeHost fails too; throwing there would end the process in std::terminate
// naming cudaFreeHost instead of the error that caused it. The failure is reported once and counted.
#include <type_traits>

#include "engine/device.h"
#include "test_util.h"

using namespace lpl;

TEST_CASE("pinned_free is noexcept and reports an (injected) failure instead of throwing") {
  static_assert(noexcept(pinned_free(nullptr)), "pinned_free must never throw");
  static_assert(noexcept(report_free_failure("x", "y")), "report_free_failure must never throw");
  void* p = pinned_alloc(256);
  REQUIRE(p != nullptr);
  const int64_t before = free_failures();
  inject_free_failure_for_test(true);
  CHECK_NOTHROW(pinned_free(p));  // the injected failure is reported, not thrown (p is left to the process)
  CHECK(free_failures() == before + 1);
  // The hook fires once: the next free is an ordinary one.
  void* q = pinned_alloc(256);
  CHECK_NOTHROW(pinned_free(q));
  CHECK(free_failures() == before + 1);
  pinned_free(nullptr);
}
