// Online evaluation during training (the original's SSLEvalCallback): every --eval_every epochs the
// trainer collects final-layer features of the probe-training split and the test split, and this
// computes the probe accuracy and the representation metrics under the names of spec §6.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "models/features.h"
#include "models/histograms.h"
#include "models/linear_probe.h"

namespace lpl {

struct OnlineEvalOptions {
  ProbeOptions probe;    // 20 epochs, batch 512, Adam lr 1e-3 (as the callback's readout trainer)
  bool metrics = true;   // cosine / manifold / push metrics of the probe-training features
};

// "Performance/linear_readout_acc" (top-1 of a probe trained on train_x, tested on test_x), then
// the metrics of named_representation_metrics(train_x, train_y) when opt.metrics.
std::vector<std::pair<std::string, double>> online_evaluation(const FeatureMatrix& train_x,
                                                              const std::vector<int32_t>& train_y,
                                                              const FeatureMatrix& test_x,
                                                              const std::vector<int32_t>& test_y, int num_classes,
                                                              const OnlineEvalOptions& opt = {});

// The original logs the §6 histograms after epochs 1, 5, 10, 50, 100, 500 and 800 (1-based).
bool is_histogram_epoch(int epoch_1based);

}  // namespace lpl
