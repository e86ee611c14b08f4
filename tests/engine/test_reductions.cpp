// Every op built on the segmented sums (kernels/segments.h), on each device, against float64
// references computed here. The shapes hit each launch path: one segment or many (more than a grid
// holds: 600000 bias planes), segments that do not fill a 32-column tile, lengths below one warp,
// between warps and above a block, and the last short chunk of a whole-tensor sum.
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "engine/ops.h"
#include "test_util.h"

using namespace lpl;

namespace {

std::vector<double> column_sums(const std::vector<float>& x, int64_t rows, int64_t cols) {
  std::vector<double> s(static_cast<size_t>(cols), 0.0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) s[j] += x[i * cols + j];
  return s;
}

void column_ops(Device d) {
  for (auto [rows, cols] : {std::tuple{int64_t{2}, int64_t{1}}, {17, 31}, {300, 33}, {5, 1000}, {2000, 3}, {64, 4096}}) {
    CAPTURE(rows);
    CAPTURE(cols);
    auto xv = test::random_vec(static_cast<size_t>(rows * cols), 7);
    Tensor x = Tensor::from_vector(xv, {rows, cols}, d);
    const std::vector<double> sums = column_sums(xv, rows, cols);
    Tensor out = Tensor::full({cols}, 0.5f, d);
    column_sum_op(x, out, true);
    std::vector<double> acc(sums);
    for (double& v : acc) v += 0.5;
    test::check_close(out.to_vector(), acc, 1e-6, 1e-6, "column_sum accumulate");
    column_sum_op(x, out, false);
    test::check_close(out.to_vector(), sums, 1e-6, 1e-6, "column_sum");

    ColumnStats st = column_mean_var(x);
    std::vector<double> mean(sums), var(static_cast<size_t>(cols), 0.0);
    for (double& m : mean) m /= static_cast<double>(rows);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) var[j] += (xv[i * cols + j] - mean[j]) * (xv[i * cols + j] - mean[j]);
    for (double& v : var) v /= static_cast<double>(rows - 1);
    test::check_close(st.mean.to_vector(), mean, 1e-6, 1e-7, "column_mean_var mean");
    test::check_close(st.var.to_vector(), var, 1e-6, 1e-7, "column_mean_var var");
    // No atomics: the same bits on a second run.
    CHECK(column_mean_var(x).var.to_vector() == st.var.to_vector());
  }
}

void whole_tensor_sums(Device d) {
  for (int64_t n : {int64_t{1}, int64_t{4095}, int64_t{4097}, int64_t{3 * 4096 + 5}, int64_t{(1 << 20) + 3}}) {
    CAPTURE(n);
    auto xv = test::random_vec(static_cast<size_t>(n), 9);
    double ref = 0;
    for (float v : xv) ref += v;
    Tensor x = Tensor::from_vector(xv, {n}, d);
    const double s = sum_all(x);
    CHECK(std::abs(s - ref) <= 1e-9 * (1.0 + std::abs(ref)));
    CHECK(sum_all(x) == s);
    CHECK(all_finite(x));
    // Non-finite values in the first and the last (short) chunk, counted into slot 1.
    xv[0] = std::numeric_limits<float>::quiet_NaN();
    xv[static_cast<size_t>(n - 1)] = -std::numeric_limits<float>::infinity();
    Tensor bad = Tensor::from_vector(xv, {n}, d);
    CHECK_FALSE(all_finite(bad));
    Tensor counts = Tensor::zeros({3}, d, DType::I64);
    count_nonfinite(bad, counts, 1);
    count_nonfinite(bad, counts, 1);  // adds
    double c[3];
    memcpy_bytes(c, cpu(), counts.data<double>(), d, sizeof c);
    CHECK(c[0] == 0.0);
    CHECK(c[1] == (n == 1 ? 2.0 : 4.0));
    CHECK(c[2] == 0.0);
  }
}

void plane_sums(Device d) {
  for (Shape s : {Shape{2, 3, 1, 1}, Shape{3, 5, 17, 19}, Shape{2, 4, 40, 40}, Shape{1, 600000, 1, 1}, Shape{5, 37, 2, 3}}) {
    CAPTURE(s.str());
    const int64_t n = s[0], c = s[1], hw = s[2] * s[3];
    auto gv = test::random_vec(static_cast<size_t>(s.numel()), 11);
    Tensor g = Tensor::from_vector(gv, s, d);
    std::vector<double> db(static_cast<size_t>(c), 0.0), avg(static_cast<size_t>(n * c), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t k = 0; k < hw; ++k) {
          db[ch] += gv[(i * c + ch) * hw + k];
          avg[i * c + ch] += gv[(i * c + ch) * hw + k] / static_cast<double>(hw);
        }
    Tensor out = Tensor::empty({c}, d);
    bias_backward(g, out, false);
    test::check_close(out.to_vector(), db, 1e-6, 1e-6, "bias_backward");
    test::check_close(global_avgpool_forward(g).to_vector(), avg, 1e-6, 1e-7, "global_avgpool_forward");
  }
}

void cross_entropy_mean(Device d) {
  // The loss read on the host and the one left on the device are the same value.
  const int64_t b = 300, k = 7;
  Tensor logits = test::random_tensor({b, k}, 13, d, -3.f, 3.f);
  std::vector<int32_t> lv(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) lv[static_cast<size_t>(i)] = static_cast<int32_t>((i * 5) % k);
  Tensor labels = Tensor::empty({b}, d, DType::I32);
  memcpy_bytes(labels.data<int32_t>(), d, lv.data(), cpu(), lv.size() * sizeof(int32_t));
  const CrossEntropyResult r = softmax_cross_entropy(logits, labels);
  Tensor out = Tensor::zeros({2}, d, DType::I64);
  softmax_cross_entropy_into(logits, labels, out, 1);
  double o[2];
  memcpy_bytes(o, cpu(), out.data<double>(), d, sizeof o);
  CHECK(o[1] == static_cast<double>(r.loss));
  auto lg = logits.to_vector();
  double ref = 0;
  for (int64_t i = 0; i < b; ++i) {
    double m = -1e30, s = 0;
    for (int64_t j = 0; j < k; ++j) m = std::max(m, static_cast<double>(lg[i * k + j]));
    for (int64_t j = 0; j < k; ++j) s += std::exp(lg[i * k + j] - m);
    ref += std::log(s) + m - lg[i * k + lv[static_cast<size_t>(i)]];
  }
  CHECK(std::abs(r.loss - ref / b) <= 1e-6);
}

}  // namespace

LPL_TEST_ON_DEVICES("column_sum, column_mean_var over awkward shapes against float64 references", column_ops)
LPL_TEST_ON_DEVICES("sum_all, all_finite, count_nonfinite across chunk boundaries", whole_tensor_sums)
LPL_TEST_ON_DEVICES("bias_backward and global_avgpool_forward: plane sums of every size", plane_sums)
LPL_TEST_ON_DEVICES("softmax_cross_entropy: the host-read loss equals the device-side mean", cross_entropy_mean)
