// Linear probe (spec §5): a linear layer + softmax cross-entropy trained with Adam on frozen
// features, as the original's pl_bolts LogisticRegression (lr 1e-3, 20 epochs, batch 512, PyTorch's
// default Linear init, last partial batch kept), evaluated by top-1 / top-5 accuracy. The GEMMs
// and the loss run on opt.device (CPU or CUDA); the few thousand parameters are updated on the
// host in float64 Adam state, which costs two small copies per step.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/device.h"
#include "models/features.h"

namespace lpl {

struct ProbeOptions {
  int epochs = 20;
  int64_t batch_size = 512;
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, adam_eps = 1e-8;
  uint64_t seed = 0;     // initialisation and shuffling
  bool shuffle = true;   // reshuffle every epoch (the original iterates in a fixed order: false)
  Device device = cpu();
};

struct ProbeAccuracy {
  double top1 = 0, top5 = 0;  // fractions; top5 == top1 when there are <= 5 classes (as the original)
};

class LinearProbe {
 public:
  LinearProbe(int64_t in_dim, int num_classes, const ProbeOptions& opt);
  // Trains for opt.epochs; returns each epoch's mean training loss (over batches).
  std::vector<double> fit(const FeatureMatrix& x, const std::vector<int32_t>& y);
  // Logits [N, num_classes] on the host.
  FeatureMatrix logits(const FeatureMatrix& x) const;
  ProbeAccuracy evaluate(const FeatureMatrix& x, const std::vector<int32_t>& y) const;

  int64_t in_dim() const { return in_; }
  int num_classes() const { return classes_; }
  // Row-major weight [num_classes, in_dim] and bias [num_classes].
  const std::vector<float>& weight() const { return w_; }
  const std::vector<float>& bias() const { return b_; }
  void set_parameters(const std::vector<float>& w, const std::vector<float>& b);

 private:
  void check_data(const FeatureMatrix& x, const std::vector<int32_t>* y, const char* what) const;
  int64_t in_;
  int classes_;
  ProbeOptions opt_;
  std::vector<float> w_, b_;
  std::vector<double> mw_, vw_, mb_, vb_;
  int64_t step_ = 0;
};

// top-1 and top-5 of logits [N, C] against labels; top-5 = top-1 when C <= 5.
ProbeAccuracy topk_accuracy(const FeatureMatrix& logits, const std::vector<int32_t>& y);

// Trains a probe on (train_x, train_y) and tests it on (test_x, test_y).
ProbeAccuracy train_and_test_probe(const FeatureMatrix& train_x, const std::vector<int32_t>& train_y,
                                   const FeatureMatrix& test_x, const std::vector<int32_t>& test_y, int num_classes,
                                   const ProbeOptions& opt);

// K-fold split as sklearn's KFold(shuffle=True): a seeded permutation cut into `folds` test sets,
// the first n % folds of them one larger. The test sets partition 0..n-1.
std::vector<std::vector<int64_t>> kfold_test_indices(int64_t n, int folds, uint64_t seed);

struct CrossValidation {
  std::vector<ProbeAccuracy> folds;
  double top1_mean = 0, top1_std = 0, top5_mean = 0, top5_std = 0;  // population std (np.std)
};
// Cross-validation of the probe on one split (eval.py --do_cross_val: 10 folds).
CrossValidation cross_validate_probe(const FeatureMatrix& x, const std::vector<int32_t>& y, int num_classes,
                                     int folds, const ProbeOptions& opt, uint64_t split_seed = 0);

}  // namespace lpl
