// kern::divmod, the index maths of the per-element functors: its 32-bit path (taken when both
// operands fit in 31 bits, on the GPU and here alike) and its 64-bit path agree with / and %.
#include <cstdint>
#include <vector>

#include "kernels/span.h"
#include "test_util.h"

using lpl::kern::divmod;

TEST_CASE("divmod equals / and % on both sides of the 32-bit limit") {
  const int64_t lim = INT64_C(1) << 31;
  const std::vector<int64_t> as{0, 1, 2, 7, 4095, 4096, 65535, lim - 2, lim - 1, lim, lim + 1, 3 * lim + 5,
                                (INT64_C(1) << 40) + 12345, INT64_MAX};
  const std::vector<int64_t> bs{1, 2, 3, 7, 32, 49, 1000, 65536, lim - 1, lim, lim + 3, INT64_C(1) << 40};
  for (int64_t a : as)
    for (int64_t b : bs) {
      CAPTURE(a);
      CAPTURE(b);
      const auto r = divmod(a, b);
      REQUIRE(r.q == a / b);
      REQUIRE(r.r == a % b);
    }
}
