#include "models/linear_probe.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "engine/common.h"
#include "engine/ops.h"

namespace lpl {
namespace {

Tensor upload_labels(const std::vector<int32_t>& y, Device d) {
  Tensor t = Tensor::empty({static_cast<int64_t>(y.size())}, d, DType::I32);
  memcpy_bytes(t.data<int32_t>(), d, y.data(), cpu(), y.size() * sizeof(int32_t));
  return t;
}

// Rows of x on device d: a view of the host memory on the CPU, a copy on a GPU.
Tensor upload_rows(const FeatureMatrix& x, Device d) {
  Tensor host = Tensor::wrap(const_cast<float*>(x.x.data()), {x.n, x.d}, cpu());
  return d == cpu() ? host : host.to(d);
}

void adam_update(std::vector<float>& p, std::vector<double>& m, std::vector<double>& v, const std::vector<float>& g,
                 const ProbeOptions& o, int64_t step) {
  const double c1 = 1 - std::pow(o.beta1, static_cast<double>(step));
  const double c2 = 1 - std::pow(o.beta2, static_cast<double>(step));
  for (size_t i = 0; i < p.size(); ++i) {
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * static_cast<double>(g[i]) * g[i];
    // PyTorch's Adam: p -= lr * m_hat / (sqrt(v_hat) + eps).
    p[i] = static_cast<float>(p[i] - o.lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + o.adam_eps));
  }
}

}  // namespace

LinearProbe::LinearProbe(int64_t in_dim, int num_classes, const ProbeOptions& opt)
    : in_(in_dim), classes_(num_classes), opt_(opt) {
  LPL_CHECK(in_dim >= 1, strf("linear probe: feature dimension must be >= 1, got %lld", static_cast<long long>(in_dim)));
  LPL_CHECK(num_classes >= 2, strf("linear probe: need at least 2 classes, got %d", num_classes));
  LPL_CHECK(opt.epochs >= 1, strf("linear probe: epochs must be >= 1, got %d", opt.epochs));
  LPL_CHECK(opt.batch_size >= 1, strf("linear probe: batch size must be >= 1, got %lld", static_cast<long long>(opt.batch_size)));
  LPL_CHECK(opt.lr > 0 && std::isfinite(opt.lr), strf("linear probe: learning rate must be > 0, got %g", opt.lr));
  // PyTorch's nn.Linear default: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_dim));
  std::mt19937_64 g(opt.seed);
  std::uniform_real_distribution<double> u(-bound, bound);
  w_.resize(static_cast<size_t>(num_classes * in_dim));
  b_.resize(static_cast<size_t>(num_classes));
  for (auto& v : w_) v = static_cast<float>(u(g));
  for (auto& v : b_) v = static_cast<float>(u(g));
  mw_.assign(w_.size(), 0.0);
  vw_.assign(w_.size(), 0.0);
  mb_.assign(b_.size(), 0.0);
  vb_.assign(b_.size(), 0.0);
}

void LinearProbe::set_parameters(const std::vector<float>& w, const std::vector<float>& b) {
  LPL_CHECK(w.size() == w_.size() && b.size() == b_.size(), "linear probe: set_parameters got the wrong sizes");
  w_ = w;
  b_ = b;
}

void LinearProbe::check_data(const FeatureMatrix& x, const std::vector<int32_t>* y, const char* what) const {
  LPL_CHECK(x.n >= 1, strf("linear probe %s: no feature rows", what));
  LPL_CHECK(x.d == in_, strf("linear probe %s: features have dimension %lld, the probe expects %lld", what,
                             static_cast<long long>(x.d), static_cast<long long>(in_)));
  LPL_CHECK(static_cast<int64_t>(x.x.size()) == x.n * x.d, strf("linear probe %s: feature matrix is truncated", what));
  for (size_t i = 0; i < x.x.size(); ++i)
    LPL_CHECK(std::isfinite(x.x[i]), strf("linear probe %s: feature row %lld has a non-finite value", what,
                                          static_cast<long long>(static_cast<int64_t>(i) / x.d)));
  if (!y) return;
  LPL_CHECK(static_cast<int64_t>(y->size()) == x.n,
            strf("linear probe %s: %zu labels for %lld feature rows", what, y->size(), static_cast<long long>(x.n)));
  for (size_t i = 0; i < y->size(); ++i)
    LPL_CHECK((*y)[i] >= 0 && (*y)[i] < classes_,
              strf("linear probe %s: label %d of row %zu is outside [0, %d)", what, (*y)[i], i, classes_));
}

std::vector<double> LinearProbe::fit(const FeatureMatrix& x, const std::vector<int32_t>& y) {
  check_data(x, &y, "training");
  const Device dev = opt_.device;
  const Shape ws{classes_, in_}, bs{classes_};
  Tensor w = Tensor::empty(ws, dev), b = Tensor::empty(bs, dev);
  std::mt19937_64 shuffle_rng(opt_.seed ^ 0x9e3779b97f4a7c15ull);
  std::vector<int64_t> order(static_cast<size_t>(x.n));
  std::iota(order.begin(), order.end(), 0);
  Tensor xs = upload_rows(x, dev), ys = upload_labels(y, dev);
  FeatureMatrix xp;
  std::vector<double> epoch_loss;
  for (int e = 0; e < opt_.epochs; ++e) {
    if (opt_.shuffle) {
      std::shuffle(order.begin(), order.end(), shuffle_rng);
      xp = select_rows(x, order);
      xs = upload_rows(xp, dev);
      ys = upload_labels(select_labels(y, order), dev);
    }
    double loss_sum = 0;
    int64_t batches = 0;
    for (int64_t s = 0; s < x.n; s += opt_.batch_size) {
      const int64_t len = std::min(opt_.batch_size, x.n - s);
      w.copy_from(Tensor::wrap(w_.data(), ws, cpu()));
      b.copy_from(Tensor::wrap(b_.data(), bs, cpu()));
      const Tensor xb = xs.slice0(s, len), yb = ys.slice0(s, len);
      const Tensor z = linear_forward(xb, w, b);
      const CrossEntropyResult ce = softmax_cross_entropy(z, yb);
      LPL_CHECK(std::isfinite(ce.loss), strf("linear probe: training loss is not finite at epoch %d", e + 1));
      const LinearGrads g = linear_backward(xb, w, ce.dlogits, false, true);
      ++step_;
      adam_update(w_, mw_, vw_, g.dw.to_vector(), opt_, step_);
      adam_update(b_, mb_, vb_, g.db.to_vector(), opt_, step_);
      loss_sum += ce.loss;
      ++batches;
    }
    epoch_loss.push_back(loss_sum / static_cast<double>(batches));
  }
  return epoch_loss;
}

FeatureMatrix LinearProbe::logits(const FeatureMatrix& x) const {
  check_data(x, nullptr, "evaluation");
  const Device dev = opt_.device;
  Tensor w = Tensor::wrap(const_cast<float*>(w_.data()), {classes_, in_}, cpu()).to(dev);
  Tensor b = Tensor::wrap(const_cast<float*>(b_.data()), {classes_}, cpu()).to(dev);
  const Tensor xs = upload_rows(x, dev);
  FeatureMatrix out;
  for (int64_t s = 0; s < x.n; s += 4096) {
    const int64_t len = std::min<int64_t>(4096, x.n - s);
    append_rows(out, linear_forward(xs.slice0(s, len), w, b));
  }
  return out;
}

ProbeAccuracy LinearProbe::evaluate(const FeatureMatrix& x, const std::vector<int32_t>& y) const {
  check_data(x, &y, "evaluation");
  return topk_accuracy(logits(x), y);
}

ProbeAccuracy topk_accuracy(const FeatureMatrix& logits, const std::vector<int32_t>& y) {
  LPL_CHECK(static_cast<int64_t>(y.size()) == logits.n && logits.n > 0,
            strf("topk_accuracy: %zu labels for %lld logit rows", y.size(), static_cast<long long>(logits.n)));
  const int64_t c = logits.d;
  int64_t top1 = 0, top5 = 0;
  for (int64_t i = 0; i < logits.n; ++i) {
    const float* r = logits.row(i);
    const int32_t t = y[static_cast<size_t>(i)];
    LPL_CHECK(t >= 0 && t < c, strf("topk_accuracy: label %d outside [0, %lld)", t, static_cast<long long>(c)));
    const int64_t arg = std::max_element(r, r + c) - r;  // first maximum, as torch.argmax
    const bool hit1 = arg == t;
    top1 += hit1;
    if (c <= 5) {
      top5 += hit1;
    } else {
      int64_t above = 0;  // classes ranked before the true one
      for (int64_t k = 0; k < c; ++k) above += r[k] > r[t] || (r[k] == r[t] && k < t);
      top5 += above < 5;
    }
  }
  const double n = static_cast<double>(logits.n);
  return {static_cast<double>(top1) / n, static_cast<double>(top5) / n};
}

ProbeAccuracy train_and_test_probe(const FeatureMatrix& train_x, const std::vector<int32_t>& train_y,
                                   const FeatureMatrix& test_x, const std::vector<int32_t>& test_y, int num_classes,
                                   const ProbeOptions& opt) {
  LinearProbe probe(train_x.d, num_classes, opt);
  probe.fit(train_x, train_y);
  return probe.evaluate(test_x, test_y);
}

std::vector<std::vector<int64_t>> kfold_test_indices(int64_t n, int folds, uint64_t seed) {
  LPL_CHECK(folds >= 2 && n >= folds, strf("cross-validation: need 2 <= folds <= samples, got %d folds for %lld samples",
                                           folds, static_cast<long long>(n)));
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 g(seed);
  std::shuffle(perm.begin(), perm.end(), g);
  std::vector<std::vector<int64_t>> out;
  int64_t start = 0;
  for (int f = 0; f < folds; ++f) {
    const int64_t len = n / folds + (f < n % folds ? 1 : 0);
    out.emplace_back(perm.begin() + start, perm.begin() + start + len);
    start += len;
  }
  return out;
}

CrossValidation cross_validate_probe(const FeatureMatrix& x, const std::vector<int32_t>& y, int num_classes, int folds,
                                     const ProbeOptions& opt, uint64_t split_seed) {
  const auto tests = kfold_test_indices(x.n, folds, split_seed);
  CrossValidation cv;
  for (const auto& test : tests) {
    std::vector<char> in_test(static_cast<size_t>(x.n), 0);
    for (int64_t i : test) in_test[static_cast<size_t>(i)] = 1;
    std::vector<int64_t> train;
    for (int64_t i = 0; i < x.n; ++i)
      if (!in_test[static_cast<size_t>(i)]) train.push_back(i);
    cv.folds.push_back(train_and_test_probe(select_rows(x, train), select_labels(y, train), select_rows(x, test),
                                            select_labels(y, test), num_classes, opt));
  }
  auto mean_std = [&](auto get, double& mean, double& sd) {
    mean = 0;
    for (const auto& a : cv.folds) mean += get(a);
    mean /= static_cast<double>(cv.folds.size());
    double v = 0;
    for (const auto& a : cv.folds) v += (get(a) - mean) * (get(a) - mean);
    sd = std::sqrt(v / static_cast<double>(cv.folds.size()));
  };
  mean_std([](const ProbeAccuracy& a) { return a.top1; }, cv.top1_mean, cv.top1_std);
  mean_std([](const ProbeAccuracy& a) { return a.top5; }, cv.top5_mean, cv.top5_std);
  return cv;
}

}  // namespace lpl
