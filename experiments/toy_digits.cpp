#include "experiments/toy_digits.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "data/readers.h"
#include "engine/common.h"
#include "experiments/toy2d.h"  // Toy2dRng: the counter-based normal / uniform draws

namespace lpl::exp {

namespace {
constexpr double kVarEps = 1e-8;

// k distinct indices of 0..n-1 in random order (the first k of a random permutation).
std::vector<int64_t> draw_distinct(int64_t n, int64_t k, Toy2dRng& rng) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = 0; i < k; ++i) {
    const int64_t j = i + std::min<int64_t>(n - i - 1, static_cast<int64_t>(rng.uniform() * static_cast<double>(n - i)));
    std::swap(p[i], p[j]);
  }
  p.resize(static_cast<size_t>(k));
  return p;
}

int coin(Toy2dRng& rng) { return rng.uniform() < 0.5 ? 0 : 1; }

// The IDX file `name` in dir, gzip-compressed (name.gz) or not.
std::vector<uint8_t> read_idx(const std::string& dir, const std::string& name, std::string* path) {
  const std::string gz = dir + "/" + name + ".gz", raw = dir + "/" + name;
  if (data::detail::file_exists(gz)) {
    *path = gz;
    const auto bytes = data::detail::read_file(gz, "toy digits");
    return data::detail::gunzip(bytes.data(), bytes.size(), gz);
  }
  if (data::detail::file_exists(raw)) {
    *path = raw;
    return data::detail::read_file(raw, "toy digits");
  }
  fail("toy digits: missing file " + gz + " (or " + raw + ")");
}
}  // namespace

DigitsData digits_from_images(std::vector<float> images, std::vector<int> labels, int class_a, int class_b) {
  LPL_CHECK(images.size() == labels.size() * kDigitSide * kDigitSide, "toy digits: images must be [n, 28 * 28]");
  DigitsData d;
  d.class_a = class_a;
  d.class_b = class_b;
  d.images = std::move(images);
  d.labels = std::move(labels);
  d.per_class = static_cast<int64_t>(std::count(d.labels.begin(), d.labels.end(), 0));
  return d;
}

DigitsData load_digits_two_classes(const std::string& dir, int class_a, int class_b, int64_t per_class) {
  LPL_CHECK(class_a >= 0 && class_a <= 9 && class_b >= 0 && class_b <= 9,
            "toy digits: class indices must lie in 0..9, got " + std::to_string(class_a) + " and " + std::to_string(class_b));
  LPL_CHECK(class_a != class_b, "toy digits: the two classes must differ, got " + std::to_string(class_a) + " twice");
  LPL_CHECK(per_class >= 1, "toy digits: --per_class must be at least 1");
  LPL_CHECK(std::filesystem::is_directory(dir), "toy digits: data directory " + dir + " does not exist");
  std::string ipath, lpath;
  const data::ImageSet s = data::detail::parse_idx_images(read_idx(dir, "train-images-idx3-ubyte", &ipath), ipath);
  const std::vector<int32_t> labels = data::detail::parse_idx_labels(read_idx(dir, "train-labels-idx1-ubyte", &lpath), lpath);
  LPL_CHECK(s.h == kDigitSide && s.w == kDigitSide, "toy digits: " + ipath + " holds " + std::to_string(s.h) + " x " +
                                                        std::to_string(s.w) + " images, expected 28 x 28");
  LPL_CHECK(static_cast<int64_t>(labels.size()) == s.n, "toy digits: " + lpath + " has " + std::to_string(labels.size()) +
                                                            " labels for " + std::to_string(s.n) + " images");
  DigitsData d;
  d.class_a = class_a;
  d.class_b = class_b;
  d.per_class = per_class;
  const int64_t px = int64_t{kDigitSide} * kDigitSide;
  for (int k = 0; k < 2; ++k) {
    const int cls = k == 0 ? class_a : class_b;
    int64_t taken = 0;
    for (int64_t i = 0; i < s.n && taken < per_class; ++i) {
      if (labels[i] != cls) continue;
      for (int64_t p = 0; p < px; ++p) d.images.push_back(static_cast<float>(s.pixels[i * px + p]) / 255.0f);
      d.labels.push_back(k);
      ++taken;
    }
    LPL_CHECK(taken == per_class, "toy digits: " + ipath + " has only " + std::to_string(taken) + " images of class " +
                                      std::to_string(cls) + ", --per_class asks for " + std::to_string(per_class));
  }
  return d;
}

void digits_canvas(const DigitsData& d, int64_t image, int location, float* out) {
  std::fill(out, out + kCanvasPixels, 0.0f);
  const float* src = d.images.data() + image * kDigitSide * kDigitSide;
  const int off = location * kDigitSide;
  for (int r = 0; r < kDigitSide; ++r)
    std::copy(src + r * kDigitSide, src + (r + 1) * kDigitSide, out + (off + r) * kCanvasSide + off);
}

std::string digits_rule_name(DigitsRule r) {
  switch (r) {
    case DigitsRule::kLpl: return "lpl";
    case DigitsRule::kPredOff: return "pred_off";
    case DigitsRule::kHebbOff: return "hebb_off";
    case DigitsRule::kOja: return "oja";
  }
  return "?";
}

DigitsRule digits_rule_from_name(const std::string& s) {
  for (DigitsRule r : {DigitsRule::kLpl, DigitsRule::kPredOff, DigitsRule::kHebbOff, DigitsRule::kOja})
    if (digits_rule_name(r) == s) return r;
  fail("unknown rule '" + s + "' (known: lpl, pred_off, hebb_off, oja)");
}

std::string digits_seq_name(DigitsSeq s) { return s == DigitsSeq::kDigit ? "digit" : "location"; }

DigitsSeq digits_seq_from_name(const std::string& s) {
  if (s == "digit") return DigitsSeq::kDigit;
  if (s == "location") return DigitsSeq::kLocation;
  fail("unknown sequence '" + s + "' (known: digit, location)");
}

DigitsStepOut digits_step(std::vector<double>& w, const std::vector<float>& X, int64_t B,
                          const std::vector<double>& y_past, DigitsRule rule, double lr, double wd) {
  const int64_t D = static_cast<int64_t>(w.size());
  LPL_CHECK(B >= 2 && static_cast<int64_t>(X.size()) == B * D, "toy digits: a step needs X of [B >= 2, D]");
  DigitsStepOut o;
  o.y.assign(static_cast<size_t>(B), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    const float* x = X.data() + b * D;
    double s = 0;
    for (int64_t i = 0; i < D; ++i) s += w[i] * x[i];
    o.y[b] = s;
  }
  std::vector<double> dy(static_cast<size_t>(B), 0.0);
  if (rule == DigitsRule::kOja) {
    // w += lr mean_b(y_b x_b) - lr mean_b(y_b^2) w
    double yy = 0;
    for (int64_t b = 0; b < B; ++b) yy += o.y[b] * o.y[b];
    std::vector<double> dw(static_cast<size_t>(D), 0.0);
    for (int64_t b = 0; b < B; ++b) {
      const float* x = X.data() + b * D;
      for (int64_t i = 0; i < D; ++i) dw[i] += o.y[b] * x[i];
    }
    for (int64_t i = 0; i < D; ++i) w[i] += lr * (dw[i] - yy * w[i]) / static_cast<double>(B);
    return o;
  }
  LPL_CHECK(static_cast<int64_t>(y_past.size()) == B, "toy digits: y_past must have one output per batch row");
  if (rule != DigitsRule::kPredOff) {  // MSELoss(y, y_past.detach())
    for (int64_t b = 0; b < B; ++b) {
      const double d = o.y[b] - y_past[b];
      o.pred += d * d;
      dy[b] += 2.0 * d / static_cast<double>(B);
    }
    o.pred /= static_cast<double>(B);
  }
  if (rule != DigitsRule::kHebbOff) {  // -log(var + 1e-8), the batch mean held constant
    double mu = 0, ss = 0;
    for (double v : o.y) mu += v;
    mu /= static_cast<double>(B);
    for (double v : o.y) ss += (v - mu) * (v - mu);
    const double var = ss / static_cast<double>(B - 1) + kVarEps;
    o.hebb = -std::log(var);
    for (int64_t b = 0; b < B; ++b) dy[b] += -2.0 * (o.y[b] - mu) / (static_cast<double>(B - 1) * var);
  }
  std::vector<double> g(static_cast<size_t>(D), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    const float* x = X.data() + b * D;
    for (int64_t i = 0; i < D; ++i) g[i] += dy[b] * x[i];
  }
  double gn = 0;
  for (int64_t i = 0; i < D; ++i) {
    gn += g[i] * g[i];
    w[i] -= lr * (g[i] + wd * w[i]);
  }
  o.grad_norm = std::sqrt(gn);
  return o;
}

double digits_sensitivity(const std::vector<double>& a, const std::vector<double>& b) {
  LPL_CHECK(!a.empty() && !b.empty(), "toy digits: sensitivity of an empty output set");
  double ma = 0, mb = 0, lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : a) { ma += v; lo = std::min(lo, v); hi = std::max(hi, v); }
  for (double v : b) { mb += v; lo = std::min(lo, v); hi = std::max(hi, v); }
  ma /= static_cast<double>(a.size());
  mb /= static_cast<double>(b.size());
  return std::abs(ma - mb) / (hi - lo);
}

DigitsMeasures digits_measures(const DigitsData& d, const std::vector<double>& w) {
  // The output of image i at location p reads only the quadrant (p, p) of w.
  const int64_t px = int64_t{kDigitSide} * kDigitSide;
  std::vector<double> out[2];
  for (int p = 0; p < 2; ++p) {
    out[p].resize(static_cast<size_t>(d.n()));
    const int off = p * kDigitSide;
    for (int64_t i = 0; i < d.n(); ++i) {
      const float* img = d.images.data() + i * px;
      double s = 0;
      for (int r = 0; r < kDigitSide; ++r) {
        const double* wr = w.data() + (off + r) * kCanvasSide + off;
        for (int c = 0; c < kDigitSide; ++c) s += wr[c] * img[r * kDigitSide + c];
      }
      out[p][i] = s;
    }
  }
  std::vector<double> cls[2];
  for (int p = 0; p < 2; ++p)
    for (int64_t i = 0; i < d.n(); ++i) cls[d.labels[i]].push_back(out[p][i]);
  DigitsMeasures m;
  m.location = digits_sensitivity(out[0], out[1]);
  m.digit = digits_sensitivity(cls[0], cls[1]);
  return m;
}

DigitsResult digits_train(const DigitsData& d, const DigitsRun& run) {
  LPL_CHECK(run.batch >= 2, "toy digits: --batch must be at least 2");
  LPL_CHECK(run.steps >= 1, "toy digits: --steps must be at least 1");
  LPL_CHECK(run.eval_every >= 1, "toy digits: --eval_every must be at least 1");
  LPL_CHECK(d.per_class >= run.batch && d.n() >= run.batch,
            "toy digits: each class needs at least --batch images (" + std::to_string(run.batch) + "), have " +
                std::to_string(d.per_class));
  const int64_t B = run.batch, D = kCanvasPixels;
  Toy2dRng rng(run.seed, run.stream);
  DigitsResult r;
  r.w.resize(static_cast<size_t>(D));
  const double bound = 1.0 / std::sqrt(static_cast<double>(D));
  for (double& v : r.w) v = (2.0 * rng.uniform() - 1.0) * bound;

  std::vector<int64_t> by_class[2];
  for (int64_t i = 0; i < d.n(); ++i) by_class[d.labels[i]].push_back(i);
  std::vector<float> X(static_cast<size_t>(B * D));
  std::vector<float> center(static_cast<size_t>(D), 0.0f);
  auto fill = [&](const std::vector<int64_t>& img, const std::vector<int>& loc) {
    for (int64_t b = 0; b < B; ++b) digits_canvas(d, img[b], loc[b], X.data() + b * D);
    if (run.rule == DigitsRule::kOja)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t i = 0; i < D; ++i) X[b * D + i] -= center[i];
  };
  if (run.rule == DigitsRule::kOja) {  // data_center: the mean of 2000 random images at random locations
    const int64_t n = std::min<int64_t>(2000, d.n());
    const std::vector<int64_t> idx = draw_distinct(d.n(), n, rng);
    std::vector<double> acc(static_cast<size_t>(D), 0.0);
    std::vector<float> canvas(static_cast<size_t>(D));
    for (int64_t k = 0; k < n; ++k) {
      digits_canvas(d, idx[k], coin(rng), canvas.data());
      for (int64_t i = 0; i < D; ++i) acc[i] += canvas[i];
    }
    for (int64_t i = 0; i < D; ++i) center[i] = static_cast<float>(acc[i] / static_cast<double>(n));
  }
  // The initial batch: random distinct images at random locations; the locations are the keys.
  std::vector<int64_t> img = draw_distinct(d.n(), B, rng);
  std::vector<int> key(static_cast<size_t>(B));
  for (auto& k : key) k = coin(rng);
  fill(img, key);
  std::vector<double> y_past(static_cast<size_t>(B), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    double s = 0;
    for (int64_t i = 0; i < D; ++i) s += r.w[i] * X[b * D + i];
    y_past[b] = s;
  }
  auto measure = [&](int64_t step) {
    r.eval_step.push_back(step);
    r.measures.push_back(digits_measures(d, r.w));
  };
  measure(0);
  std::vector<int> loc(static_cast<size_t>(B));
  for (int64_t t = 1; t <= run.steps; ++t) {
    if (run.seq == DigitsSeq::kLocation) {  // same location, any image
      img = draw_distinct(d.n(), B, rng);
      loc = key;
    } else {  // same class, a new exemplar, a random location
      int64_t need[2] = {0, 0};
      for (int k : key) ++need[k];
      std::vector<int64_t> pick[2];
      for (int c = 0; c < 2; ++c) {
        LPL_CHECK(static_cast<int64_t>(by_class[c].size()) >= need[c], "toy digits: too few images of a class for the batch");
        for (int64_t j : draw_distinct(static_cast<int64_t>(by_class[c].size()), need[c], rng)) pick[c].push_back(by_class[c][j]);
      }
      int64_t used[2] = {0, 0};
      for (int64_t b = 0; b < B; ++b) img[b] = pick[key[b]][used[key[b]]++];
      for (auto& l : loc) l = coin(rng);
    }
    fill(img, loc);
    DigitsStepOut o = digits_step(r.w, X, B, y_past, run.rule, run.lr, run.weight_decay);
    double m = 0;
    for (double v : o.y) m += v;
    r.activity.push_back(std::abs(m / static_cast<double>(B)));
    y_past = std::move(o.y);
    if (t % run.eval_every == 0 || t == run.steps) measure(t);
  }
  return r;
}

}  // namespace lpl::exp
