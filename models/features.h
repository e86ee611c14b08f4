// Host copies of per-layer features (N x D float32, row-major) and their int32 labels: what the
// linear probes and the representation metrics read. Features live on the host because they are
// gathered batch by batch from the encoder and reused by several probes and metrics.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace lpl {

struct FeatureMatrix {
  int64_t n = 0, d = 0;
  std::vector<float> x;  // n * d
  const float* row(int64_t i) const { return x.data() + i * d; }
};

// A [N, D] float32 tensor on any device, copied to the host.
FeatureMatrix features_from_tensor(const Tensor& t);
// Appends the rows of a [B, D] float32 tensor (any device); D must match earlier rows.
void append_rows(FeatureMatrix& m, const Tensor& t);
// Labels of an int32 [N] tensor on any device.
std::vector<int32_t> labels_from_tensor(const Tensor& t);
// Rows idx of m (in that order), and the matching labels.
FeatureMatrix select_rows(const FeatureMatrix& m, const std::vector<int64_t>& idx);
std::vector<int32_t> select_labels(const std::vector<int32_t>& y, const std::vector<int64_t>& idx);

}  // namespace lpl
