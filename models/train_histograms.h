// The histograms of spec §6 during training: after epochs 1, 5, 10, 50, 100, 500 and 800 (1-based,
// as the original), the final layer's pooled features of the first `samples` probe-training images
// (evaluation view) go through metrics::named_histograms into the TensorBoard file at step = epoch.
// The original uses the whole probe-training split; `samples` bounds the N^2 / 2 pairwise cosines.
#pragma once
#include <cstdint>

#include "data/dataset.h"
#include "engine/tb_events.h"
#include "models/encoder.h"

namespace lpl {

// Returns the number of images used (0 when the split is empty or samples is 0).
int64_t log_feature_histograms(tb::EventWriter& tb, Encoder& net, const data::DatasetSplits& splits, int64_t samples,
                               int64_t epoch_1based);

}  // namespace lpl
