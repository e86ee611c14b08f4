#include "models/online_eval.h"

#include "models/metrics.h"

namespace lpl {

std::vector<std::pair<std::string, double>> online_evaluation(const FeatureMatrix& train_x,
                                                              const std::vector<int32_t>& train_y,
                                                              const FeatureMatrix& test_x,
                                                              const std::vector<int32_t>& test_y, int num_classes,
                                                              const OnlineEvalOptions& opt) {
  std::vector<std::pair<std::string, double>> out;
  const ProbeAccuracy acc = train_and_test_probe(train_x, train_y, test_x, test_y, num_classes, opt.probe);
  out.emplace_back("Performance/linear_readout_acc", acc.top1);
  if (opt.metrics)
    for (auto& kv : metrics::named_representation_metrics(train_x, train_y)) out.push_back(std::move(kv));
  return out;
}

bool is_histogram_epoch(int epoch_1based) {
  for (int e : {1, 5, 10, 50, 100, 500, 800})
    if (e == epoch_1based) return true;
  return false;
}

}  // namespace lpl
