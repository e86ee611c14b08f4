// compare_close (behind check_close): every element counts, and a NaN or an unmatched infinity
// anywhere fails, however many good elements follow it.
#include <limits>

#include "test_util.h"

using lpl::test::compare_close;

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<double> expected() { return {1.0, -2.0, 3.0, 0.5, 0.0, 4.0, -1.5}; }
std::vector<float> actual() { return {1.f, -2.f, 3.f, 0.5f, 0.f, 4.f, -1.5f}; }

// compare_close on the expected values with element i of the actual ones replaced by v.
lpl::test::CloseResult with(size_t i, float v) {
  std::vector<float> a = actual();
  a[i] = v;
  return compare_close(a, expected(), 1e-5, 1e-6);
}
}  // namespace

TEST_CASE("compare_close: equal inputs pass") {
  CHECK(compare_close(actual(), expected(), 1e-5, 1e-6).ok);
  CHECK(compare_close(actual(), expected(), 0, 0).ok);  // exact match with zero tolerance
}

TEST_CASE("compare_close: a NaN at the first, a middle or the last element fails, with its index") {
  for (size_t i : {size_t{0}, size_t{3}, size_t{6}}) {
    CAPTURE(i);
    const auto r = with(i, kNaN);
    CHECK_FALSE(r.ok);
    CHECK(r.msg.find("element " + std::to_string(i)) != std::string::npos);
  }
}

TEST_CASE("compare_close: a NaN or an infinity on the expected side fails") {
  std::vector<double> e = expected();
  e[2] = std::numeric_limits<double>::quiet_NaN();
  CHECK_FALSE(compare_close(actual(), e, 1e-5, 1e-6).ok);
  e[2] = std::numeric_limits<double>::infinity();
  CHECK_FALSE(compare_close(actual(), e, 1e-5, 1e-6).ok);
}

TEST_CASE("compare_close: an infinity fails unless the same infinity is expected") {
  CHECK_FALSE(with(2, kInf).ok);
  CHECK_FALSE(with(2, -kInf).ok);
  std::vector<float> a = actual();
  std::vector<double> e = expected();
  a[2] = kInf;
  e[2] = std::numeric_limits<double>::infinity();
  CHECK(compare_close(a, e, 1e-5, 1e-6).ok);
}

TEST_CASE("compare_close: an early mismatch is not erased by later matches or a later NaN") {
  CHECK_FALSE(with(0, 1.5f).ok);
  std::vector<float> a = actual();
  a[1] = -3.f;  // mismatch, then a NaN, then matches
  a[3] = kNaN;
  const auto r = compare_close(a, expected(), 1e-5, 1e-6);
  CHECK_FALSE(r.ok);
  CHECK(r.msg.find("element 1") != std::string::npos);
  CHECK(r.msg.find("element 3") != std::string::npos);
}

TEST_CASE("compare_close: a NaN tolerance fails a mismatch") {
  CHECK_FALSE(compare_close({1.5f}, {1.0}, 1e-5, std::numeric_limits<double>::quiet_NaN()).ok);
}

TEST_CASE("nan_max, max_abs and max_abs_diff keep a NaN wherever it is") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(std::isnan(lpl::test::nan_max(nan, 1.0)));
  CHECK(std::isnan(lpl::test::nan_max(1.0, nan)));
  CHECK(lpl::test::max_abs(std::vector<double>{1, -3, 2}) == 3);
  CHECK(std::isnan(lpl::test::max_abs(std::vector<double>{nan, 1, 2})));
  CHECK(lpl::test::max_abs_diff(std::vector<float>{1, 2}, std::vector<double>{1, 4}) == 2);
  CHECK(std::isnan(lpl::test::max_abs_diff(std::vector<float>{kNaN, 2}, std::vector<double>{1, 4})));
  CHECK(std::isnan(lpl::test::max_abs_diff(std::vector<float>{1}, std::vector<double>{1, 4})));  // sizes differ
}

TEST_CASE("compare_close: sizes must match") {
  CHECK_FALSE(compare_close(std::vector<float>{1.f}, std::vector<double>{1.0, 2.0}, 1e-5, 1e-6).ok);
}
