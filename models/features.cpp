#include "models/features.h"

#include <algorithm>
#include <string>

#include "engine/common.h"
#include "engine/device.h"

namespace lpl {

FeatureMatrix features_from_tensor(const Tensor& t) {
  FeatureMatrix m;
  append_rows(m, t);
  return m;
}

void append_rows(FeatureMatrix& m, const Tensor& t) {
  check_f32(t, "append_rows", "features");
  LPL_CHECK(t.ndim() == 2, "append_rows: features must be [N, D], got " + t.shape().str());
  if (m.n == 0 && m.x.empty()) m.d = t.dim(1);
  LPL_CHECK(t.dim(1) == m.d, strf("append_rows: features have %lld columns, earlier rows %lld",
                                  static_cast<long long>(t.dim(1)), static_cast<long long>(m.d)));
  const size_t old = m.x.size();
  m.x.resize(old + static_cast<size_t>(t.numel()));
  read_to_host(m.x.data() + old, t.f(), t.device(), t.nbytes());
  m.n += t.dim(0);
}

std::vector<int32_t> labels_from_tensor(const Tensor& t) {
  LPL_CHECK(t.defined() && t.dtype() == DType::I32 && t.ndim() == 1,
            "labels_from_tensor: labels must be an int32 [N] tensor");
  std::vector<int32_t> y(static_cast<size_t>(t.numel()));
  read_to_host(y.data(), t.data<int32_t>(), t.device(), t.nbytes());
  return y;
}

FeatureMatrix select_rows(const FeatureMatrix& m, const std::vector<int64_t>& idx) {
  FeatureMatrix out;
  out.n = static_cast<int64_t>(idx.size());
  out.d = m.d;
  out.x.resize(static_cast<size_t>(out.n * out.d));
  for (size_t i = 0; i < idx.size(); ++i) {
    LPL_CHECK(idx[i] >= 0 && idx[i] < m.n, strf("select_rows: row %lld out of range [0, %lld)",
                                                static_cast<long long>(idx[i]), static_cast<long long>(m.n)));
    std::copy(m.row(idx[i]), m.row(idx[i]) + m.d, out.x.data() + static_cast<int64_t>(i) * m.d);
  }
  return out;
}

std::vector<int32_t> select_labels(const std::vector<int32_t>& y, const std::vector<int64_t>& idx) {
  std::vector<int32_t> out(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) out[i] = y[static_cast<size_t>(idx[i])];
  return out;
}

}  // namespace lpl
