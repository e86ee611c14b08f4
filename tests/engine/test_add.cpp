// Elementwise add against a float64 sum, its error messages; on every device.
#include <vector>

#include "engine/ops.h"
#include "test_util.h"

using namespace lpl;

namespace {

void add_values(Device d) {
  // One element, odd sizes, a CPU-parallel size.
  for (Shape s : {Shape{1}, Shape{3, 5, 7}, Shape{8, 13, 31, 33}}) {
    CAPTURE(s.str());
    auto a = test::random_vec(static_cast<size_t>(s.numel()), 1), b = test::random_vec(static_cast<size_t>(s.numel()), 2);
    Tensor y = add(Tensor::from_vector(a, s, d), Tensor::from_vector(b, s, d));
    CHECK(y.shape() == s);
    std::vector<double> want(a.size());
    for (size_t i = 0; i < a.size(); ++i) want[i] = double(a[i] + b[i]);  // float32 sum, correctly rounded
    test::check_close(y.to_vector(), want, 0, 0, "add " + s.str());
  }
  // Inputs are not modified, and a tensor may be added to itself.
  Tensor a = Tensor::from_vector({1, -2, 3.5f}, {3}, d);
  CHECK(add(a, a).to_vector() == std::vector<float>{2, -4, 7});
  CHECK(a.to_vector() == std::vector<float>{1, -2, 3.5f});
}
LPL_TEST_ON_DEVICES("add against a float32-rounded float64 sum", add_values)

void add_errors(Device d) {
  CHECK_THROWS_WITH_AS(add(Tensor::zeros({2, 3}, d), Tensor::zeros({3, 2}, d)),
                       "add: b has shape [3, 2], expected [2, 3]", Error);
  CHECK_THROWS_WITH_AS(add(Tensor::zeros({2, 3}, d), Tensor::zeros({6}, d)), "add: b has shape [6], expected [2, 3]",
                       Error);
  CHECK_THROWS_WITH_AS(add(Tensor::zeros({2}, d, DType::I32), Tensor::zeros({2}, d)),
                       "add: a is int32, expected float32", Error);
  CHECK_THROWS_WITH_AS(add(Tensor::zeros({2}, d), Tensor()), "add: b is undefined", Error);
}
LPL_TEST_ON_DEVICES("add refuses mismatched shapes and dtypes", add_errors)

}  // namespace
