#include "experiments/swap_exposure.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "engine/common.h"
#include "engine/ops.h"
#include "engine/tape.h"

namespace lpl::exp {

Tensor place_on_canvas(const Tensor& images, const std::vector<int>& slot, int slots) {
  LPL_CHECK(images.ndim() == 4, "swap exposure: images must be [N, C, H, W]");
  const int64_t n = images.dim(0), c = images.dim(1), h = images.dim(2), w = images.dim(3);
  LPL_CHECK(static_cast<int64_t>(slot.size()) == n,
            fmt::format("swap exposure: {} slots given for {} images", slot.size(), n));
  LPL_CHECK(slots >= 1, "swap exposure: the canvas needs at least one slot");
  const Tensor host = images.device() == cpu() ? images : images.to(cpu());
  Tensor out = Tensor::zeros({n, c, slots * h, w}, cpu());
  const int64_t plane = h * w;
  for (int64_t i = 0; i < n; ++i) {
    const int s = slot[static_cast<size_t>(i)];
    LPL_CHECK(s >= 0 && s < slots, fmt::format("swap exposure: slot {} is outside the canvas's 0..{}", s, slots - 1));
    for (int64_t ch = 0; ch < c; ++ch)
      std::memcpy(out.f() + (i * c + ch) * slots * plane + s * plane, host.f() + (i * c + ch) * plane,
                  static_cast<size_t>(plane) * sizeof(float));
  }
  return images.device() == cpu() ? out : out.to(images.device());
}

Tensor place_on_canvas(const Tensor& images, int slot, int slots) {
  return place_on_canvas(images, std::vector<int>(static_cast<size_t>(images.dim(0)), slot), slots);
}

Tensor canvas_features(Encoder& net, const Tensor& canvases, int64_t batch) {
  LPL_CHECK(canvases.ndim() == 4 && canvases.dim(2) % kCanvasSlots == 0,
            "swap exposure: canvases must be [N, C, 13 H, W]");
  const int64_t n = canvases.dim(0), h = canvases.dim(2) / kCanvasSlots, w = canvases.dim(3);
  LPL_CHECK(h >= 32 && w >= 32,
            fmt::format("swap exposure: images must be at least 32 x 32 pixels (the encoder's five 2x2 max-pools), got {} x {}", h, w));
  LPL_CHECK(canvases.dim(1) == net.options().in_channels,
            fmt::format("swap exposure: images have {} channels, the encoder takes {}", canvases.dim(1), net.options().in_channels));
  LPL_CHECK(batch >= 1, "swap exposure: the feature batch must be >= 1");
  const int64_t cl = net.channels(net.last_layer()), k = cl * kCanvasSlots;
  Tensor out = Tensor::empty({n, k}, net.device());
  for (int64_t s = 0; s < n; s += batch) {
    const int64_t len = std::min(batch, n - s);
    ag::Tape t(false);
    ForwardMode m;  // evaluation mode
    ag::Var y = ag::Tape::input(canvases.slice0(s, len).to(net.device()));
    for (int l = 0; l < net.num_layers(); ++l) y = net.layer_forward(t, l, y, m);
    LPL_CHECK(y.value.ndim() == 4 && y.value.dim(2) >= 1 && y.value.dim(3) >= 1,
              "swap exposure: the encoder's last feature map of the canvas is empty");
    const Tensor pooled = adaptive_avgpool_forward(y.value, kCanvasSlots, 1);  // [len, C, 13, 1]
    memcpy_bytes(out.slice0(s, len).f(), net.device(), pooled.f(), pooled.device(), pooled.nbytes());
  }
  return out;
}

SwapLossTerms swap_objective(const std::vector<double>& z, int64_t rows, int64_t m, int64_t stat_rows,
                             const std::vector<PullPair>& pairs, const LplCoeffs& c, std::vector<double>* dz) {
  LPL_CHECK(m >= 2 && rows >= 1 && static_cast<int64_t>(z.size()) == rows * m,
            "swap exposure: the objective needs z of rows x m values, m >= 2");
  LPL_CHECK(stat_rows >= 2 && stat_rows <= rows, "swap exposure: the Hebbian / decorrelation rows must be 2..rows");
  SwapLossTerms t;
  if (dz) dz->assign(z.size(), 0.0);
  const auto at = [&](int64_t r, int64_t i) { return z[static_cast<size_t>(r * m + i)]; };
  // Pull: mean over the pairs of each pair's mean squared difference.
  const double np = static_cast<double>(pairs.size());
  for (const PullPair& p : pairs) {
    LPL_CHECK(p.n >= 1 && p.a >= 0 && p.b >= 0 && p.a + p.n <= rows && p.b + p.n <= rows,
              "swap exposure: a pull pair is outside z");
    const double norm = 1.0 / (static_cast<double>(p.n * m) * np);
    for (int64_t r = 0; r < p.n; ++r)
      for (int64_t i = 0; i < m; ++i) {
        const double d = at(p.b + r, i) - at(p.a + r, i);
        t.pull += d * d * norm;
        if (dz) {
          (*dz)[static_cast<size_t>((p.b + r) * m + i)] += c.pull * 2.0 * d * norm;
          if (p.grad_a) (*dz)[static_cast<size_t>((p.a + r) * m + i)] -= c.pull * 2.0 * d * norm;
        }
      }
  }
  // Hebbian and decorrelation over the statistics rows (mean treated as a constant).
  const int64_t s = stat_rows;
  const double eps = 1e-4, sm1 = static_cast<double>(s - 1);
  std::vector<double> mu(static_cast<size_t>(m), 0.0), zc(static_cast<size_t>(s * m));
  for (int64_t r = 0; r < s; ++r)
    for (int64_t i = 0; i < m; ++i) mu[static_cast<size_t>(i)] += at(r, i) / static_cast<double>(s);
  for (int64_t r = 0; r < s; ++r)
    for (int64_t i = 0; i < m; ++i) zc[static_cast<size_t>(r * m + i)] = at(r, i) - mu[static_cast<size_t>(i)];
  std::vector<double> cov(static_cast<size_t>(m * m), 0.0);
  for (int64_t r = 0; r < s; ++r) {
    const double* row = &zc[static_cast<size_t>(r * m)];
    for (int64_t i = 0; i < m; ++i) {
      double* ci = &cov[static_cast<size_t>(i * m)];
      const double v = row[i];
      for (int64_t k = i; k < m; ++k) ci[k] += v * row[k];
    }
  }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t k = i; k < m; ++k) {
      const double v = cov[static_cast<size_t>(i * m + k)] / sm1;
      cov[static_cast<size_t>(i * m + k)] = v;
      cov[static_cast<size_t>(k * m + i)] = v;
    }
  const double md = static_cast<double>(m), off = md * md - md;
  for (int64_t i = 0; i < m; ++i) t.push -= std::log(cov[static_cast<size_t>(i * m + i)] + eps) / md;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t k = 0; k < m; ++k)
      if (k != i) t.decorr += cov[static_cast<size_t>(i * m + k)] * cov[static_cast<size_t>(i * m + k)] / off;
  if (dz) {
    const double gd = c.decorr * 4.0 / (off * sm1);
    for (int64_t r = 0; r < s; ++r) {
      const double* row = &zc[static_cast<size_t>(r * m)];
      double* g = &(*dz)[static_cast<size_t>(r * m)];
      for (int64_t i = 0; i < m; ++i) {
        const double* ci = &cov[static_cast<size_t>(i * m)];
        double acc = 0;
        for (int64_t k = 0; k < m; ++k) acc += ci[k] * row[k];
        acc -= ci[i] * row[i];  // k != i
        g[i] += gd * acc - c.push * 2.0 * row[i] / (md * sm1 * (ci[i] + eps));
      }
    }
  }
  return t;
}

Readout make_readout(int64_t in, int64_t out, uint64_t seed, Device d) {
  LPL_CHECK(in >= 1 && out >= 1, "swap exposure: the readout needs positive sizes");
  Readout r;
  r.w = uniform_init({out, in}, in, seed, 7001, d);
  r.b = uniform_init({out}, in, seed, 7002, d);
  r.mw = Tensor::zeros({out, in}, d);
  r.vw = Tensor::zeros({out, in}, d);
  r.mb = Tensor::zeros({out}, d);
  r.vb = Tensor::zeros({out}, d);
  return r;
}

std::vector<double> readout_forward(const Readout& r, const Tensor& x) {
  const Tensor y = linear_forward(x, r.w, r.b).to(cpu());
  return std::vector<double>(y.f(), y.f() + y.numel());
}

void readout_update(Readout& r, const Tensor& x, const std::vector<double>& dz, bool adam, double lr,
                    double weight_decay) {
  const int64_t n = x.dim(0), m = r.w.dim(0);
  LPL_CHECK(static_cast<int64_t>(dz.size()) == n * m, "swap exposure: dz does not match the readout's batch");
  const std::vector<float> g32(dz.begin(), dz.end());
  const Tensor dy = Tensor::from_vector(g32, {n, m}, x.device());
  const LinearGrads g = linear_backward(x, r.w, dy, false, true);
  if (adam) {
    AdamHyper h;
    h.lr = static_cast<float>(lr);
    h.step = ++r.adam_step;
    h.weight_decay = static_cast<float>(weight_decay);
    adam_update(r.w, g.dw, r.mw, r.vw, h);
    h.weight_decay = 0.f;
    adam_update(r.b, g.db, r.mb, r.vb, h);
  } else {
    sgd_update(r.w, g.dw, r.mw, static_cast<float>(lr), 0.f, static_cast<float>(weight_decay), true);
    sgd_update(r.b, g.db, r.mb, static_cast<float>(lr), 0.f, 0.f, true);
  }
}

SwapLossTerms readout_pair_step(Readout& r, const Tensor& x, const LplCoeffs& c, double lr, double weight_decay) {
  LPL_CHECK(x.ndim() == 2 && x.dim(0) % 2 == 0 && x.dim(0) >= 4, "swap exposure: the readout step needs [2B, K], B >= 2");
  const int64_t rows = x.dim(0), b = rows / 2, m = r.w.dim(0);
  const std::vector<double> z = readout_forward(r, x);
  std::vector<double> dz;
  const SwapLossTerms t = swap_objective(z, rows, m, rows, {PullPair{0, b, b, true}}, c, &dz);
  readout_update(r, x, dz, true, lr, weight_decay);
  return t;
}

const char* condition_name(int c) {
  switch (c) {
    case kSwap: return "swap";
    case kNonSwap: return "non-swap";
    case kControl: return "control";
    default: return "?";
  }
}

std::vector<ExposureRow> exposure_rows() {
  // Set 1 (P1, N1) is swapped at the top (slot index 0), set 2 (P2, N2) at the bottom (2).
  std::vector<ExposureRow> rows;
  for (int g : {P1, N1, P2, N2}) rows.push_back({g, 1});
  for (int g : {P1, N1}) rows.push_back({g, 2});
  for (int g : {P2, N2}) rows.push_back({g, 0});
  for (int g : {P1, N1}) rows.push_back({g, 0});
  for (int g : {P2, N2}) rows.push_back({g, 2});
  return rows;
}

std::vector<PullPair> exposure_pull_pairs(int64_t pairs) {
  // Blocks: 0..3 centre P1 N1 P2 N2, 4..7 non-swap, 8..11 swap (exposure_rows()).
  const auto blk = [&](int i) { return static_cast<int64_t>(i) * pairs; };
  std::vector<PullPair> p;
  for (int set = 0; set < 2; ++set) {
    const int pc = 2 * set, nc = 2 * set + 1;  // centre P, N of the set
    p.push_back({blk(pc), blk(4 + pc), pairs, false});  // P centre -> P non-swap
    p.push_back({blk(pc), blk(8 + nc), pairs, false});  // P centre -> N swap
    p.push_back({blk(nc), blk(4 + nc), pairs, false});  // N centre -> N non-swap
    p.push_back({blk(nc), blk(8 + pc), pairs, false});  // N centre -> P swap
  }
  return p;
}

double Selectivity::mean() const {
  double s = 0;
  for (double v : delta) s += v;
  return delta.empty() ? 0.0 : s / static_cast<double>(delta.size());
}

double Selectivity::sem() const {
  const double n = static_cast<double>(delta.size());
  if (n < 2) return 0.0;
  const double mu = mean();
  double ss = 0;
  for (double v : delta) ss += (v - mu) * (v - mu);
  return std::sqrt(ss / (n - 1)) / std::sqrt(n);
}

std::vector<double> Selectivity::unit_means() const {
  std::vector<double> u(static_cast<size_t>(units), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < units; ++i)
      u[static_cast<size_t>(i)] += delta[static_cast<size_t>(r * units + i)] / static_cast<double>(rows);
  return u;
}

std::vector<double> preference_signs(const std::vector<double>& z_centre, int64_t pairs, int64_t units) {
  LPL_CHECK(static_cast<int64_t>(z_centre.size()) == kGroups * pairs * units, "swap exposure: centre responses of the wrong size");
  std::vector<double> s(static_cast<size_t>(3 * pairs * units));
  for (int set = 0; set < 3; ++set)
    for (int64_t r = 0; r < pairs; ++r)
      for (int64_t i = 0; i < units; ++i) {
        const double p = z_centre[static_cast<size_t>(((2 * set) * pairs + r) * units + i)];
        const double n = z_centre[static_cast<size_t>(((2 * set + 1) * pairs + r) * units + i)];
        s[static_cast<size_t>((set * pairs + r) * units + i)] = p < n ? -1.0 : 1.0;
      }
  return s;
}

void measure_selectivity(const std::vector<double> z_slot[3], const std::vector<double>& signs, int64_t pairs,
                         int64_t units, ExposureStep& out) {
  // One block of `pairs` rows: set (0, 1, control 2) at a slot.
  const auto block = [&](Selectivity& sel, int set, int slot) {
    const std::vector<double>& z = z_slot[slot];
    for (int64_t r = 0; r < pairs; ++r)
      for (int64_t i = 0; i < units; ++i) {
        const double p = z[static_cast<size_t>(((2 * set) * pairs + r) * units + i)];
        const double n = z[static_cast<size_t>(((2 * set + 1) * pairs + r) * units + i)];
        sel.delta.push_back(signs[static_cast<size_t>((set * pairs + r) * units + i)] * (p - n));
      }
    sel.rows += pairs;
    sel.units = units;
  };
  for (auto& s : out.cond) s = Selectivity{};
  out.swap_p = out.swap_n = 0;
  for (int set = 0; set < 2; ++set) {
    const std::vector<double>& z = z_slot[set == 0 ? 0 : 2];
    for (int64_t r = 0; r < pairs; ++r)
      for (int64_t i = 0; i < units; ++i) {
        const double p = z[static_cast<size_t>(((2 * set) * pairs + r) * units + i)];
        const double n = z[static_cast<size_t>(((2 * set + 1) * pairs + r) * units + i)];
        const bool keep = signs[static_cast<size_t>((set * pairs + r) * units + i)] > 0;
        out.swap_p += (keep ? p : n) / static_cast<double>(2 * pairs * units);
        out.swap_n += (keep ? n : p) / static_cast<double>(2 * pairs * units);
      }
  }
  block(out.cond[kSwap], 0, 0);
  block(out.cond[kSwap], 1, 2);
  block(out.cond[kNonSwap], 0, 2);
  block(out.cond[kNonSwap], 1, 0);
  for (int slot = 0; slot < 3; ++slot) block(out.cond[kControl], 2, slot);
}

std::vector<ExposureStep> run_exposure(Readout& r, const ExposureInput& in, const ExposureOptions& o,
                                       void (*progress)(int64_t step, const ExposureStep& s)) {
  const int64_t pairs = in.pairs, m = r.w.dim(0), k = r.w.dim(1);
  LPL_CHECK(pairs >= 1 && o.steps >= 0, "swap exposure: needs >= 1 pair and >= 0 steps");
  for (const Tensor& f : in.slot_features)
    LPL_CHECK(f.ndim() == 2 && f.dim(0) == kGroups * pairs && f.dim(1) == k,
              fmt::format("swap exposure: slot features must be [{}, {}]", kGroups * pairs, k));
  // The training rows' inputs, gathered once (the encoder is frozen).
  const std::vector<ExposureRow> rows = exposure_rows();
  const int64_t nt = static_cast<int64_t>(rows.size()) * pairs;
  Tensor xt = Tensor::empty({nt, k}, r.w.device());
  for (size_t b = 0; b < rows.size(); ++b) {
    const Tensor src = in.slot_features[rows[b].slot].slice0(rows[b].group * pairs, pairs);
    memcpy_bytes(xt.slice0(static_cast<int64_t>(b) * pairs, pairs).f(), xt.device(), src.f(), src.device(), src.nbytes());
  }
  const std::vector<PullPair> pull = exposure_pull_pairs(pairs);
  std::vector<ExposureStep> out;
  std::vector<double> signs, zt(static_cast<size_t>(nt * m)), dz;
  for (int64_t step = 0; step <= o.steps; ++step) {
    std::vector<double> z[3];
    for (int s = 0; s < 3; ++s) z[s] = readout_forward(r, in.slot_features[s]);
    if (step == 0) signs = preference_signs(z[1], pairs, m);
    ExposureStep st;
    measure_selectivity(z, signs, pairs, m, st);
    for (size_t b = 0; b < rows.size(); ++b)
      std::copy_n(z[rows[b].slot].begin() + rows[b].group * pairs * m, pairs * m,
                  zt.begin() + static_cast<int64_t>(b) * pairs * m);
    st.loss = swap_objective(zt, nt, m, nt, pull, o.coeffs, &dz);
    LPL_CHECK(std::isfinite(st.loss.total(o.coeffs)),
              fmt::format("swap exposure: the exposure diverged at step {} (non-finite loss); lower the learning rate or "
                          "the features' scale (networks trained with biases light up the empty canvas)", step));
    if (step < o.steps) readout_update(r, xt, dz, false, o.lr, o.weight_decay);
    out.push_back(std::move(st));
    if (progress) progress(step, out.back());
  }
  return out;
}

}  // namespace lpl::exp
