#include "experiments/shapes3d_figures.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/npy.h"
#include "engine/common.h"
#include "engine/file_util.h"

namespace lpl::exp {
namespace {

int64_t grid_size(const FactorSizes& sizes) {
  int64_t n = 1;
  for (int s : sizes) {
    LPL_CHECK(s >= 1, "shapes3d: every factor needs at least one value");
    n *= s;
  }
  return n;
}

size_t at(int64_t i) { return static_cast<size_t>(i); }

}  // namespace

void check_shapes3d_trajectories(const Shapes3dTrajectories& t, const FactorSizes& sizes, const std::string& what) {
  LPL_CHECK(t.sequences >= 1 && t.frames >= 2,
            fmt::format("{}: want at least one sequence of two frames, got {} x {}", what, t.sequences, t.frames));
  LPL_CHECK(static_cast<int64_t>(t.index.size()) == t.sequences * t.frames, fmt::format("{}: size mismatch", what));
  const int64_t n = grid_size(sizes);
  for (int64_t i = 0; i < static_cast<int64_t>(t.index.size()); ++i) {
    const int64_t v = t.index[at(i)];
    if (v < 0 || v >= n)
      fail(fmt::format("{}: index {} at sequence {}, frame {} is outside the {} images of a {}x{}x{}x{}x{}x{} factor grid",
                       what, v, i / t.frames, i % t.frames, n, sizes[0], sizes[1], sizes[2], sizes[3], sizes[4], sizes[5]));
  }
}

Shapes3dTrajectories load_shapes3d_trajectories(const std::string& path, const FactorSizes& sizes) {
  const data::NpyRaw raw = data::read_npy(path);
  LPL_CHECK(raw.dtype == "i8", fmt::format("{}: want int64 flat image indices, the file holds dtype {}", path, raw.dtype));
  LPL_CHECK(raw.shape.size() == 2,
            fmt::format("{}: want a sequences x frames array, the file has rank {}", path, raw.shape.size()));
  Shapes3dTrajectories t;
  t.sequences = raw.shape[0];
  t.frames = raw.shape[1];
  t.index.assign(raw.as<int64_t>(), raw.as<int64_t>() + raw.numel());
  check_shapes3d_trajectories(t, sizes, path);
  return t;
}

std::array<int, 6> shapes3d_factor_values(int64_t index, const FactorSizes& sizes) {
  std::array<int, 6> v{};
  for (int f = 5; f >= 0; --f) {
    const int s = sizes[static_cast<size_t>(f)];
    v[static_cast<size_t>(f)] = static_cast<int>(index % s);
    index /= s;
  }
  return v;
}

std::vector<int> recover_cycle_order(const std::vector<int64_t>& counts, int n) {
  if (n < 3) return {};
  // Each value's two strongest neighbours (symmetrised counts, self excluded); ties: lower value.
  std::vector<std::array<int, 2>> nb(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    std::vector<int> others;
    for (int j = 0; j < n; ++j)
      if (j != i) others.push_back(j);
    auto w = [&](int j) { return counts[at(int64_t{i} * n + j)] + counts[at(int64_t{j} * n + i)]; };
    std::stable_sort(others.begin(), others.end(), [&](int a, int b) { return w(a) > w(b); });
    if (w(others[1]) == 0) return {};
    nb[static_cast<size_t>(i)] = {std::min(others[0], others[1]), std::max(others[0], others[1])};
  }
  auto mutual = [&](int a, int b) {
    const auto& x = nb[static_cast<size_t>(a)];
    const auto& y = nb[static_cast<size_t>(b)];
    return (x[0] == b || x[1] == b) && (y[0] == a || y[1] == a);
  };
  std::vector<int> order = {0};
  std::vector<bool> seen(static_cast<size_t>(n), false);
  seen[0] = true;
  int prev = -1, cur = 0;
  for (int k = 1; k < n; ++k) {
    const auto& c = nb[static_cast<size_t>(cur)];
    const int next = prev < 0 ? c[0] : (c[0] == prev ? c[1] : c[0]);
    if (seen[static_cast<size_t>(next)] || !mutual(cur, next)) return {};
    seen[static_cast<size_t>(next)] = true;
    order.push_back(next);
    prev = cur;
    cur = next;
  }
  if (!mutual(cur, 0)) return {};  // the cycle closes
  return order;
}

TrajectoryStats trajectory_stats(const Shapes3dTrajectories& t, const FactorSizes& sizes, bool across_sequences) {
  check_shapes3d_trajectories(t, sizes, "trajectories");
  TrajectoryStats s;
  s.sizes = sizes;
  s.sequences = t.sequences;
  s.frames = t.frames;
  s.across_sequences = across_sequences;
  for (size_t f = 0; f < 6; ++f) s.counts[f].assign(static_cast<size_t>(sizes[f] * sizes[f]), 0);
  const int64_t total = t.sequences * t.frames;
  std::vector<std::array<int, 6>> v(at(total));
  for (int64_t i = 0; i < total; ++i) v[at(i)] = shapes3d_factor_values(t.index[at(i)], sizes);
  for (int64_t i = 0; i + 1 < total; ++i) {
    if (!across_sequences && (i + 1) % t.frames == 0) continue;  // last frame of a sequence
    for (size_t f = 0; f < 6; ++f) ++s.counts[f][at(int64_t{v[at(i)][f]} * sizes[f] + v[at(i + 1)][f])];
  }
  for (size_t f = 0; f < 6; ++f) {
    const int n = sizes[f];
    s.probs[f].assign(static_cast<size_t>(n * n), std::nan(""));
    for (int i = 0; i < n; ++i) {
      int64_t row = 0;
      for (int j = 0; j < n; ++j) row += s.counts[f][at(int64_t{i} * n + j)];
      if (row > 0)
        for (int j = 0; j < n; ++j)
          s.probs[f][at(int64_t{i} * n + j)] = static_cast<double>(s.counts[f][at(int64_t{i} * n + j)]) / static_cast<double>(row);
    }
    // Hues (the first three factors) move along a shuffled cycle; the others along their values.
    std::vector<int> ord = f < 3 ? recover_cycle_order(s.counts[f], n) : std::vector<int>{};
    s.order_recovered[f] = !ord.empty();
    if (ord.empty()) {
      ord.resize(static_cast<size_t>(n));
      std::iota(ord.begin(), ord.end(), 0);
    }
    s.order[f] = ord;
  }
  // Which factor moves in each sequence, and by how many positions of its order per frame.
  std::array<std::vector<int>, 6> pos;  // value -> position in order
  for (size_t f = 0; f < 6; ++f) {
    pos[f].assign(static_cast<size_t>(sizes[f]), 0);
    for (int k = 0; k < sizes[f]; ++k) pos[f][static_cast<size_t>(s.order[f][static_cast<size_t>(k)])] = k;
    s.step_hist[f].assign(static_cast<size_t>(sizes[f]), 0);
  }
  for (int64_t q = 0; q < t.sequences; ++q) {
    std::array<bool, 6> changes{};
    for (int64_t k = 0; k + 1 < t.frames; ++k)
      for (size_t f = 0; f < 6; ++f) changes[f] = changes[f] || v[at(q * t.frames + k)][f] != v[at(q * t.frames + k + 1)][f];
    const int m = static_cast<int>(std::count(changes.begin(), changes.end(), true));
    if (m == 0) ++s.still;
    if (m > 1) ++s.several;
    if (m != 1) continue;
    const size_t f = static_cast<size_t>(std::find(changes.begin(), changes.end(), true) - changes.begin());
    ++s.moving[f];
    const int n = sizes[f];
    for (int64_t k = 0; k + 1 < t.frames; ++k) {
      const int a = pos[f][static_cast<size_t>(v[at(q * t.frames + k)][f])];
      const int b = pos[f][static_cast<size_t>(v[at(q * t.frames + k + 1)][f])];
      int d = std::abs(a - b);
      if (f < 3) d = std::min(d, n - d);  // hues wrap around
      ++s.step_hist[f][static_cast<size_t>(d)];
    }
  }
  return s;
}

// ---- majority-vote metric ----

namespace {

// The least variable feature of rows `rows` of `features` (row-major, D wide), in one row-major pass:
// var = E[x^2] - E[x]^2 in double per feature, then divided by scale^2 (the features are floats, so
// double sums keep the variances exact enough to rank).
int64_t least_variable_rows(const float* features, int64_t d, const int64_t* rows, int64_t m, const std::vector<double>& scale,
                            const std::vector<bool>& constant, std::vector<double>& sum, std::vector<double>& sq) {
  sum.assign(at(d), 0.0);
  sq.assign(at(d), 0.0);
  for (int64_t r = 0; r < m; ++r) {
    const float* x = features + (rows ? rows[r] : r) * d;
    for (int64_t j = 0; j < d; ++j) {
      const double v = x[j];
      sum[at(j)] += v;
      sq[at(j)] += v * v;
    }
  }
  int64_t best = -1;
  double best_var = 0;
  for (int64_t j = 0; j < d; ++j) {
    if (constant[at(j)]) continue;
    const double mean = sum[at(j)] / static_cast<double>(m);
    const double var = std::max(0.0, sq[at(j)] / static_cast<double>(m) - mean * mean) / (scale[at(j)] * scale[at(j)]);
    if (best < 0 || var < best_var) {  // first minimum, as np.argmin
      best = j;
      best_var = var;
    }
  }
  return best;
}

}  // namespace

int64_t least_variable_feature(const std::vector<float>& batch, int64_t rows, int64_t d, const std::vector<double>& scale,
                               const std::vector<bool>& constant) {
  std::vector<double> sum, sq;
  return least_variable_rows(batch.data(), d, nullptr, rows, scale, constant, sum, sq);
}

double vote_accuracy(const std::vector<double>& votes, int64_t d, const std::vector<std::pair<int64_t, int>>& test,
                     bool strict, const FactorSizes& sizes) {
  std::vector<double> m = votes;
  if (strict) {
    std::fill(m.begin(), m.end(), 0.0);
    for (int k = 0; k < 6; ++k) {
      std::vector<int64_t> idx(at(d));
      std::iota(idx.begin(), idx.end(), 0);
      std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return votes[at(a * 6 + k)] < votes[at(b * 6 + k)]; });
      const int64_t top = std::min<int64_t>(sizes[static_cast<size_t>(k)], d);
      for (int64_t r = d - top; r < d; ++r) m[at(idx[at(r)] * 6 + k)] = 1.0;
    }
  }
  if (test.empty()) return std::nan("");
  int64_t right = 0;
  for (const auto& [feat, truth] : test) {
    if (feat < 0) continue;
    // np.argmax of the row (first maximum); votes are >= 0, so an all-zero row predicts nothing.
    int best = 0;
    for (int k = 1; k < 6; ++k)
      if (m[at(feat * 6 + k)] > m[at(feat * 6 + best)]) best = k;
    if (m[at(feat * 6 + best)] > 0 && best == truth) ++right;
  }
  return static_cast<double>(right) / static_cast<double>(test.size());
}

VoteResult majority_vote_score(const std::vector<float>& features, int64_t n, int64_t d, const std::vector<int64_t>& labels,
                               const FactorSizes& sizes, const VoteOptions& opt) {
  LPL_CHECK(n >= 1 && d >= 1 && static_cast<int64_t>(features.size()) == n * d,
            fmt::format("majority vote: want N x D features, got {} values for {} x {}", features.size(), n, d));
  LPL_CHECK(static_cast<int64_t>(labels.size()) == n * 6,
            fmt::format("majority vote: want {} x 6 factor labels, got {} values", n, labels.size()));
  LPL_CHECK(opt.batch_size >= 2 && opt.per_value >= 1 && opt.reps >= 1,
            "majority vote: batch size >= 2, votes per value >= 1 and repetitions >= 1 please");
  // Rows of each factor value.
  std::array<std::vector<std::vector<int64_t>>, 6> rows;
  for (size_t k = 0; k < 6; ++k) rows[k].resize(static_cast<size_t>(sizes[k]));
  for (int64_t i = 0; i < n; ++i)
    for (size_t k = 0; k < 6; ++k) {
      const int64_t v = labels[at(i * 6 + static_cast<int64_t>(k))];
      LPL_CHECK(v >= 0 && v < sizes[k], fmt::format("majority vote: row {} has {} value {}, want 0..{}", i,
                                                    k, v, sizes[k] - 1));
      rows[k][at(v)].push_back(i);
    }
  for (size_t k = 0; k < 6; ++k)
    for (int v = 0; v < sizes[k]; ++v)
      LPL_CHECK(!rows[k][static_cast<size_t>(v)].empty(),
                fmt::format("majority vote: no image has factor {} at value {}", k, v));
  // Feature scales over the whole data set (population variance, as np.var).
  std::vector<double> mean(at(d), 0.0), var(at(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) mean[at(j)] += features[at(i * d + j)];
  for (auto& x : mean) x /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const double x = features[at(i * d + j)] - mean[at(j)];
      var[at(j)] += x * x;
    }
  VoteResult r;
  r.dims = d;
  std::vector<double> scale(at(d));
  std::vector<bool> constant(at(d));
  for (int64_t j = 0; j < d; ++j) {
    var[at(j)] /= static_cast<double>(n);
    scale[at(j)] = std::sqrt(var[at(j)]) + 1e-8;
    constant[at(j)] = var[at(j)] == 0.0;
    r.zero_variance += constant[at(j)] ? 1 : 0;
  }
  r.votes.assign(at(d * 6), 0.0);
  std::mt19937_64 rng(opt.seed);
  std::vector<int64_t> batch(at(opt.batch_size));
  std::vector<double> sum, sq;
  auto vote = [&](size_t k, int v) {
    const auto& pool = rows[k][static_cast<size_t>(v)];
    std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
    for (auto& b : batch) b = pool[pick(rng)];
    return least_variable_rows(features.data(), d, batch.data(), opt.batch_size, scale, constant, sum, sq);
  };
  for (int rep = 0; rep < opt.reps; ++rep) {
    std::vector<double> votes(at(d * 6), 0.0);
    for (int e = 0; e < opt.per_value; ++e)
      for (size_t k = 0; k < 6; ++k)
        for (int v = 0; v < sizes[k]; ++v) {
          const int64_t j = vote(k, v);
          if (j >= 0) votes[at(j * 6 + static_cast<int64_t>(k))] += 1.0;
        }
    for (int64_t j = 0; j < d; ++j)
      for (size_t k = 0; k < 6; ++k) votes[at(j * 6 + static_cast<int64_t>(k))] /= sizes[k];
    std::vector<std::pair<int64_t, int>> test;
    for (int e = 0; e < opt.per_value; ++e)
      for (size_t k = 0; k < 6; ++k)
        for (int v = 0; v < sizes[k]; ++v) test.emplace_back(vote(k, v), static_cast<int>(k));
    r.scores.push_back(vote_accuracy(votes, d, test, false, sizes));
    r.strict_scores.push_back(vote_accuracy(votes, d, test, true, sizes));
    for (size_t i = 0; i < votes.size(); ++i) r.votes[i] += votes[i] / opt.reps;
    if (opt.progress) opt.progress(rep, r.scores.back());
  }
  auto mean_std = [](const std::vector<double>& x, double& m, double& sd) {
    m = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
    double s2 = 0;
    for (double y : x) s2 += (y - m) * (y - m);
    sd = std::sqrt(s2 / static_cast<double>(x.size()));
  };
  mean_std(r.scores, r.score_mean, r.score_std);
  mean_std(r.strict_scores, r.strict_mean, r.strict_std);
  return r;
}

// ---- eval_linear's probes ----

ProbeFactors parse_probe_factors(const std::string& text, const std::string& what) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    fail(fmt::format("{}: not valid JSON ({})", what, e.what()));
  }
  static const char* names[6] = {"floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"};
  LPL_CHECK(j.is_object() && j.contains("factors") && j["factors"].is_object(),
            fmt::format("{}: no \"factors\" object (is it eval_linear --dataset shapes3d's eval.json?)", what));
  ProbeFactors p;
  if (j.contains("weights") && j["weights"].is_string()) p.weights = j["weights"].get<std::string>();
  auto number = [](const nlohmann::json& x) { return x.is_number() ? x.get<double>() : std::nan(""); };
  p.score = p.pixels_score = 0;
  bool any_pixels = false, all_pixels = true;
  for (size_t k = 0; k < 6; ++k) {
    const auto& fs = j["factors"];
    LPL_CHECK(fs.contains(names[k]) && fs[names[k]].is_object(), fmt::format("{}: no results for factor {}", what, names[k]));
    const auto& e = fs[names[k]];
    LPL_CHECK(e.contains("layers") && e["layers"].is_array() && !e["layers"].empty(),
              fmt::format("{}: factor {} has no probed layers", what, names[k]));
    const auto& last = e["layers"].back();
    p.top1[k] = last.contains("top1") ? number(last["top1"]) : std::nan("");
    p.layer = last.contains("layer") && last["layer"].is_number_integer() ? last["layer"].get<int>() : 0;
    p.chance[k] = e.contains("chance") ? number(e["chance"]) : std::nan("");
    const bool px = e.contains("pixels") && e["pixels"].is_object() && e["pixels"].contains("top1");
    p.pixels_top1[k] = px ? number(e["pixels"]["top1"]) : std::nan("");
    any_pixels = any_pixels || px;
    all_pixels = all_pixels && px;
    p.score += p.top1[k] / 6.0;
    p.pixels_score += p.pixels_top1[k] / 6.0;
  }
  LPL_CHECK(any_pixels == all_pixels, fmt::format("{}: only some factors have pixel-probe results", what));
  p.has_pixels = all_pixels;
  if (!p.has_pixels) p.pixels_score = std::nan("");
  return p;
}

ProbeFactors read_probe_factors(const std::string& path) { return parse_probe_factors(read_file(path), path); }

}  // namespace lpl::exp
