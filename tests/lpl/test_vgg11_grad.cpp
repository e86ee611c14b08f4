// Layer-local gradients of VGG-11 LPL: for every block k the engine's weight and bias gradients
// match central finite differences of that layer's own objective L_k (float64 reference of
// conv -> ReLU -> [maxpool] -> [avg pool] -> [projector] -> objective, block input held fixed),
// with and without the projector and with --no_pooling; and layer-locality itself.
#include <algorithm>
#include <cmath>

#include "engine/lpl_ops.h"
#include "lpl/lpl_reference.h"
#include "models/lpl_step.h"
#include "models/vgg11.h"
#include "test_util.h"

using namespace lpl;


namespace {

// Float64 reference of block k's objective as a function of its own parameters.
struct BlockReference {
  int64_t N, Ci, H, W, Co;
  bool pool, no_pooling, bias;
  std::vector<double> x, w, b;                    // input, conv weight, conv bias
  std::vector<double> conv;                       // cached pre-activation [N, Co, H, W]
  bool projector = false;
  int64_t hidden = 0, proj = 0;
  std::vector<double> w1, b1, w2, b2;
  LplCoeffs coeffs;
  StepObjective objective = StepObjective::lpl;
  std::vector<double> wh, bh;  // supervised: the classifier head [classes, width], [classes]
  int64_t classes = 0;
  std::vector<int> labels;     // [N / 2], the same for both views

  void conv_channel(int64_t co) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t q = 0; q < W; ++q) {
          double s = bias ? b[co] : 0.0;
          for (int64_t ci = 0; ci < Ci; ++ci)
            for (int64_t kh = 0; kh < 3; ++kh) {
              const int64_t ih = h + kh - 1;
              if (ih < 0 || ih >= H) continue;
              for (int64_t kw = 0; kw < 3; ++kw) {
                const int64_t iw = q + kw - 1;
                if (iw < 0 || iw >= W) continue;
                s += w[((co * Ci + ci) * 3 + kh) * 3 + kw] * x[((n * Ci + ci) * H + ih) * W + iw];
              }
            }
          conv[((n * Co + co) * H + h) * W + q] = s;
        }
  }
  void conv_all() {
    conv.assign(N * Co * H * W, 0.0);
    for (int64_t co = 0; co < Co; ++co) conv_channel(co);
  }
  // Block output [N, Co, OH, OW] after ReLU and pool.
  std::vector<double> block_out(int64_t& OH, int64_t& OW) const {
    OH = pool ? H / 2 : H;
    OW = pool ? W / 2 : W;
    std::vector<double> y(N * Co * OH * OW);
    for (int64_t nc = 0; nc < N * Co; ++nc)
      for (int64_t h = 0; h < OH; ++h)
        for (int64_t q = 0; q < OW; ++q) {
          double v;
          if (pool) {
            v = 0;  // max of ReLU outputs
            for (int dh = 0; dh < 2; ++dh)
              for (int dw = 0; dw < 2; ++dw) v = std::max(v, conv[nc * H * W + (2 * h + dh) * W + 2 * q + dw]);
          } else {
            v = std::max(0.0, conv[nc * H * W + h * W + q]);
          }
          y[nc * OH * OW + h * OW + q] = v;
        }
    return y;
  }
  // The objective of the representation rep [N, width] (pooled, after the projector if any).
  double objective_of(const std::vector<double>& rep, int64_t width) const {
    if (objective == StepObjective::negative_samples) {
      test::RefNegative neg;
      neg.pull_coeff = coeffs.pull;
      neg.push_coeff = coeffs.push;
      neg.B = N / 2;
      neg.M = width;
      return neg.loss(rep);
    }
    if (objective == StepObjective::supervised) {
      // mean over the 2B rows of the cross-entropy = (CE(view 1) + CE(view 2)) / 2
      double s = 0;
      for (int64_t n = 0; n < N; ++n) {
        std::vector<double> logit(classes);
        double mx = -1e300;
        for (int64_t c = 0; c < classes; ++c) {
          double v = bh[c];
          for (int64_t j = 0; j < width; ++j) v += wh[c * width + j] * rep[n * width + j];
          logit[c] = v;
          mx = std::max(mx, v);
        }
        double se = 0;
        for (double v : logit) se += std::exp(v - mx);
        s += std::log(se) + mx - logit[labels[n % (N / 2)]];
      }
      return s / static_cast<double>(N);
    }
    test::RefObjective ref;
    ref.pull_coeff = coeffs.pull;
    ref.push_coeff = coeffs.push;
    ref.decorr_coeff = coeffs.decorr;
    ref.B = N / 2;
    ref.M = ref.C = width;
    return ref.loss(rep);
  }
  // Pooled representation [N, Co] of a block output, then the projector when there is one.
  std::vector<double> representation(const std::vector<double>& y, int64_t OH, int64_t OW, int64_t& width) const {
    std::vector<double> z(N * Co, 0.0);
    for (int64_t nc = 0; nc < N * Co; ++nc) {
      for (int64_t i = 0; i < OH * OW; ++i) z[nc] += y[nc * OH * OW + i];
      z[nc] /= static_cast<double>(OH * OW);
    }
    width = Co;
    if (!projector) return z;
    std::vector<double> hid(N * hidden), p(N * proj);
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t j = 0; j < hidden; ++j) {
        double s = bias ? b1[j] : 0.0;
        for (int64_t c = 0; c < Co; ++c) s += w1[j * Co + c] * z[n * Co + c];
        hid[n * hidden + j] = std::max(0.0, s);
      }
      for (int64_t j = 0; j < proj; ++j) {
        double s = bias ? b2[j] : 0.0;
        for (int64_t c = 0; c < hidden; ++c) s += w2[j * hidden + c] * hid[n * hidden + c];
        p[n * proj + j] = std::max(0.0, s);
      }
    }
    width = proj;
    return p;
  }
  double loss() const {
    int64_t OH, OW;
    std::vector<double> y = block_out(OH, OW);
    if (!no_pooling) {
      int64_t width = 0;
      const std::vector<double> r = representation(y, OH, OW, width);
      return objective_of(r, width);
    }
    test::RefObjective ref;  // --no_pooling: LPL on the maps
    ref.pull_coeff = coeffs.pull;
    ref.push_coeff = coeffs.push;
    ref.decorr_coeff = coeffs.decorr;
    ref.B = N / 2;
    ref.M = Co * OH * OW;
    ref.C = Co;
    ref.HW = OH * OW;
    return ref.loss(y);
  }
};

std::vector<double> to_d(const Tensor& t) {
  auto v = t.to_vector();
  return {v.begin(), v.end()};
}

// Indices to check: the largest-|g| entry and a few spread over the tensor.
std::vector<int64_t> pick(const std::vector<float>& g, int n_random, uint32_t seed) {
  std::vector<int64_t> idx;
  int64_t best = 0;
  for (size_t i = 0; i < g.size(); ++i)
    if (std::abs(g[i]) > std::abs(g[best])) best = static_cast<int64_t>(i);
  idx.push_back(best);
  auto r = test::random_vec(n_random, seed, 0.f, 1.f);
  for (float u : r) idx.push_back(std::min<int64_t>(static_cast<int64_t>(u * g.size()), g.size() - 1));
  return idx;
}

// Tolerance: 1% of the finite difference plus `atol` x `scale`, the largest gradient of the layer's
// weights. (A bias gradient may be a float32 sum that cancels to ~0 — the objective is invariant to
// shifting a unit in every sample — so it is compared on the scale of the weights' gradient.)
void check_fd(const std::vector<float>& g, std::vector<double>& param, BlockReference& ref, int64_t per_channel,
              bool is_conv, const std::string& what, uint32_t seed, double scale, double atol = 2e-3) {
  REQUIRE_MESSAGE(scale > 0, what << ": gradient is all zeros");
  // Small steps: the Hebbian log(var + 1e-4) is sharply curved for nearly silent channels.
  const double h = 1e-5;
  for (int64_t i : pick(g, 5, seed)) {
    const double keep = param[i];
    auto eval = [&](double v) {
      param[i] = v;
      if (is_conv) ref.conv_channel(i / per_channel);
      return ref.loss();
    };
    const double fd = (eval(keep + h) - eval(keep - h)) / (2 * h);
    param[i] = keep;
    if (is_conv) ref.conv_channel(i / per_channel);
    CHECK_MESSAGE(std::abs(g[i] - fd) <= 1e-2 * std::abs(fd) + atol * scale,
                  what << " entry " << i << ": engine " << g[i] << " finite difference " << fd << " (max |g| " << scale << ")");
  }
}

std::vector<int> test_labels(int64_t B, int64_t classes) {
  std::vector<int> y;
  for (float u : test::random_vec(static_cast<size_t>(B), 99, 0.f, 1.f))
    y.push_back(std::min<int>(static_cast<int>(u * static_cast<float>(classes)), static_cast<int>(classes) - 1));
  return y;
}
Tensor labels_tensor(const std::vector<int>& y, Device d) {
  Tensor t = Tensor::empty({static_cast<int64_t>(y.size())}, cpu(), DType::I32);
  std::copy(y.begin(), y.end(), t.data<int32_t>());
  return t.to(d);
}

Param& find_param(Vgg11& net, const std::string& n) {
  auto ps = net.params();
  for (auto* p : ps)
    if (p->name == n) return *p;
  FAIL("no parameter " << n);
  return *ps[0];
}

void layer_gradients_match_fd(bool projector, bool no_pooling, bool bias, StepObjective obj = StepObjective::lpl) {
  // Inputs of amplitude 30: deep in a randomly initialised VGG the samples become nearly alike at
  // unit amplitude, the Hebbian log(var + 1e-4) is then sharply curved and float32 sums cancel; at
  // this amplitude every layer is in a regime where central differences resolve the gradient.
  const int64_t B = 6, S = 32;
  Vgg11Options vo;
  vo.projector = projector;
  vo.bias = bias;
  vo.mlp_hidden = 24;
  vo.projection = 12;
  const int64_t classes = 5;
  if (obj == StepObjective::supervised) vo.classes = static_cast<int>(classes);
  Vgg11 net(vo, 11, cpu());
  LplStepOptions so;
  so.no_pooling = no_pooling;
  so.objective = obj;
  if (obj == StepObjective::negative_samples) so.coeffs = {1.f, 1.f, 0.f};
  LplStep step(net, so);
  Tensor x = test::random_tensor({2 * B, 3, S, S}, 5, cpu(), -30.f, 30.f);
  const std::vector<int> labels = test_labels(B, classes);
  // The inputs of every block (the same forward the step runs).
  std::vector<Tensor> inputs{x};
  for (int k = 0; k < Vgg11::kBlocks; ++k) inputs.push_back(net.block_forward(k, inputs.back()));
  step.run(x, 0, obj == StepObjective::supervised ? labels_tensor(labels, cpu()) : Tensor());
  for (int k = 0; k < Vgg11::kBlocks; ++k) {
    const Tensor& xk = inputs[k];
    BlockReference ref;
    ref.N = 2 * B;
    ref.Ci = xk.dim(1);
    ref.H = xk.dim(2);
    ref.W = xk.dim(3);
    ref.Co = net.channels(k);
    ref.pool = Vgg11::kPool[k];
    ref.no_pooling = no_pooling;
    ref.bias = bias;
    ref.x = to_d(xk);
    ref.w = to_d(net.conv_weight(k).value);
    if (bias) ref.b = to_d(net.conv_bias(k).value);
    ref.projector = projector;
    ref.coeffs = so.coeffs;
    ref.objective = obj;
    if (obj == StepObjective::supervised) {
      ref.classes = classes;
      ref.labels = labels;
      ref.wh = to_d(net.head_weight(k).value);
      ref.bh = to_d(net.head_bias(k).value);
      ref.hidden = vo.mlp_hidden;
      ref.proj = vo.projection;
      if (projector) {
        const std::string base = "network.encoder.projectors." + std::to_string(k) + ".net.";
        ref.w1 = to_d(find_param(net, base + "0.weight").value);
        ref.w2 = to_d(find_param(net, base + "2.weight").value);
        ref.b1 = to_d(find_param(net, base + "0.bias").value);
        ref.b2 = to_d(find_param(net, base + "2.bias").value);
      }
      ref.conv_all();
      const std::string hname = "head " + std::to_string(k);
      const auto gh = net.head_weight(k).grad.to_vector();
      check_fd(gh, ref.wh, ref, 0, false, hname + " weight", 60 + k, test::max_abs(gh));
      check_fd(net.head_bias(k).grad.to_vector(), ref.bh, ref, 0, false, hname + " bias", 65 + k, test::max_abs(gh), 5e-2);
    }
    if (projector) {
      ref.hidden = vo.mlp_hidden;
      ref.proj = vo.projection;
      auto ps = net.params();
      auto find = [&](const std::string& n) -> Param& {
        for (auto* p : ps)
          if (p->name == n) return *p;
        FAIL("no parameter " << n);
        return *ps[0];
      };
      const std::string base = "network.encoder.projectors." + std::to_string(k) + ".net.";
      ref.w1 = to_d(find(base + "0.weight").value);
      ref.w2 = to_d(find(base + "2.weight").value);
      if (bias) {
        ref.b1 = to_d(find(base + "0.bias").value);
        ref.b2 = to_d(find(base + "2.bias").value);
      }
      ref.conv_all();
      const std::string pname = "projector " + std::to_string(k + 1);
      const auto gw1 = find(base + "0.weight").grad.to_vector(), gw2 = find(base + "2.weight").grad.to_vector();
      check_fd(gw1, ref.w1, ref, 0, false, pname + " w1", 70 + k, test::max_abs(gw1));
      check_fd(gw2, ref.w2, ref, 0, false, pname + " w2", 80 + k, test::max_abs(gw2));
      if (bias) {
        check_fd(find(base + "0.bias").grad.to_vector(), ref.b1, ref, 0, false, pname + " b1", 90 + k, test::max_abs(gw1), 5e-2);
        check_fd(find(base + "2.bias").grad.to_vector(), ref.b2, ref, 0, false, pname + " b2", 95 + k, test::max_abs(gw2), 5e-2);
      }
    }
    ref.conv_all();
    const std::string name = "block " + std::to_string(k + 1);
    const auto gw = net.conv_weight(k).grad.to_vector();
    check_fd(gw, ref.w, ref, ref.Ci * 9, true, name + " weight", 10 + k, test::max_abs(gw));
    if (bias) check_fd(net.conv_bias(k).grad.to_vector(), ref.b, ref, 1, true, name + " bias", 20 + k, test::max_abs(gw), 5e-2);
  }
}

}  // namespace

TEST_CASE("VGG-11 LPL: each block's weight and bias gradients match finite differences of its own L_k") {
  layer_gradients_match_fd(false, false, true);
}
TEST_CASE("VGG-11 LPL with the projector MLP: projector and block gradients match finite differences") {
  layer_gradients_match_fd(true, false, true);
}
TEST_CASE("VGG-11 LPL with no_pooling (and no biases): block gradients match finite differences") {
  layer_gradients_match_fd(false, true, false);
}
TEST_CASE("VGG-11 negative-sample baseline with the projector: projector and block gradients match finite differences") {
  layer_gradients_match_fd(true, false, true, StepObjective::negative_samples);
}
TEST_CASE("VGG-11 negative-sample baseline: block gradients match finite differences") {
  layer_gradients_match_fd(false, false, true, StepObjective::negative_samples);
}
TEST_CASE("VGG-11 supervised baseline: head and block gradients match finite differences of the layer's CE") {
  layer_gradients_match_fd(false, false, true, StepObjective::supervised);
}

namespace {
// End-to-end: the final objective as a function of every block's weights and biases (float64 forward
// through all 8 blocks), against the engine's backprop (conv backward-data, max-pool, ReLU through
// every block).
void end_to_end_fd(StepObjective obj, bool projector) {
  const int64_t B = 2, S = 32, classes = 4;
  Vgg11Options vo;
  vo.end_to_end = true;
  vo.projector = projector;
  vo.mlp_hidden = 24;
  vo.projection = 12;
  if (obj == StepObjective::supervised) vo.classes = static_cast<int>(classes);
  Vgg11 net(vo, 13, cpu());
  LplStepOptions so;
  so.end_to_end = true;
  so.objective = obj;
  if (obj == StepObjective::negative_samples) so.coeffs = {1.f, 1.f, 0.f};
  LplStep step(net, so);
  Tensor x = test::random_tensor({2 * B, 3, S, S}, 7, cpu(), -30.f, 30.f);
  const std::vector<int> labels = test_labels(B, classes);
  const std::vector<LplTerms> t = step.run(x, 0, obj == StepObjective::supervised ? labels_tensor(labels, cpu()) : Tensor());
  for (int k = 0; k + 1 < Vgg11::kBlocks; ++k)  // only the final layer has an objective
    CHECK(t[k].pull == 0.0);
  // As the original's VGG11Encoder end-to-end: one projector, on layer 8, and it is trained.
  if (projector) {
    int projectors = 0;
    for (const Param* p : net.params()) projectors += p->part == ParamPart::projector;
    CHECK(projectors == 4);
    CHECK(net.has_projector(7));
    CHECK(!net.has_projector(0));
    CHECK(net.trained_params().size() == net.params().size());
  }

  std::vector<BlockReference> refs(Vgg11::kBlocks);
  std::vector<double> in = to_d(x);
  int64_t C = 3, H = S;
  for (int k = 0; k < Vgg11::kBlocks; ++k) {
    BlockReference& r = refs[k];
    r.N = 2 * B;
    r.Ci = C;
    r.H = r.W = H;
    r.Co = net.channels(k);
    r.pool = Vgg11::kPool[k];
    r.no_pooling = false;
    r.bias = true;
    r.w = to_d(net.conv_weight(k).value);
    r.b = to_d(net.conv_bias(k).value);
    C = r.Co;
    H = r.pool ? H / 2 : H;
  }
  BlockReference& last = refs[Vgg11::kBlocks - 1];
  last.coeffs = so.coeffs;
  last.objective = obj;
  last.projector = projector;
  last.hidden = vo.mlp_hidden;
  last.proj = vo.projection;
  if (projector) {
    const std::string base = "network.encoder.projectors.7.net.";
    last.w1 = to_d(find_param(net, base + "0.weight").value);
    last.w2 = to_d(find_param(net, base + "2.weight").value);
    last.b1 = to_d(find_param(net, base + "0.bias").value);
    last.b2 = to_d(find_param(net, base + "2.bias").value);
  }
  if (obj == StepObjective::supervised) {
    REQUIRE(net.num_heads() == 1);
    last.classes = classes;
    last.labels = labels;
    last.wh = to_d(net.head_weight(0).value);
    last.bh = to_d(net.head_bias(0).value);
  }
  // Forward from block `from` on (its conv already computed when from_conv_done).
  auto forward_from = [&](int from, bool from_conv_done) {
    for (int k = from; k < Vgg11::kBlocks; ++k) {
      if (k > from || !from_conv_done) refs[k].conv_all();
      if (k + 1 < Vgg11::kBlocks) {
        int64_t OH, OW;
        refs[k + 1].x = refs[k].block_out(OH, OW);
      }
    }
    return last.loss();
  };
  refs[0].x = in;
  forward_from(0, false);

  // The final block's gradient: its input is fixed, as in the layer-local check.
  const auto g8 = net.conv_weight(7).grad.to_vector();
  check_fd(g8, last.w, last, last.Ci * 9, true, "end-to-end block 8 weight", 31, test::max_abs(g8));

  // Every block's weight and bias through the rest of the network: per block one weight and one bias
  // entry at the first, middle or last index (rotating over the blocks), plus block 1's largest
  // weight entry. Blocks go last to first, so a block's own input is never left perturbed by an
  // earlier check (forward_from recomputes everything after it).
  const double h = 1e-5;
  int checked = 0;
  auto check_entries = [&](int k, const std::vector<float>& g, std::vector<double>& param, int64_t per_channel,
                           const std::vector<int64_t>& idx, double atol, const std::string& what) {
    for (int64_t i : idx) {
      const double keep = param[i];
      auto eval = [&](double v) {
        param[i] = v;
        refs[k].conv_channel(i / per_channel);
        return forward_from(k, true);
      };
      const double fd = (eval(keep + h) - eval(keep - h)) / (2 * h);
      param[i] = keep;
      refs[k].conv_channel(i / per_channel);
      CHECK_MESSAGE(std::abs(g[i] - fd) <= 1e-2 * std::abs(fd) + atol,  // NaN on either side fails
                    "end-to-end block " << k + 1 << " " << what << " entry " << i << ": engine " << g[i]
                                        << " finite difference " << fd);
      ++checked;
    }
  };
  auto spread = [](size_t n, int which) { return static_cast<int64_t>(which == 0 ? 0 : which == 1 ? n / 2 : n - 1); };
  for (int k = Vgg11::kBlocks - 1; k >= 0; --k) {
    const auto gw = net.conv_weight(k).grad.to_vector(), gb = net.conv_bias(k).grad.to_vector();
    const double scale = test::max_abs(gw);  // bias tolerance on the weights' scale, as in check_fd
    REQUIRE_MESSAGE(scale > 0, "block " << k + 1 << " weight gradient is all zeros (or NaN)");
    std::vector<int64_t> wi{spread(gw.size(), k % 3)};
    if (k == 0) wi.push_back(pick(gw, 0, 0)[0]);
    check_entries(k, gw, refs[k].w, refs[k].Ci * 9, wi, 2e-3 * scale, "weight");
    check_entries(k, gb, refs[k].b, 1, {spread(gb.size(), (k + 1) % 3)}, 5e-2 * scale, "bias");
  }
  CHECK(checked >= 16);
}
}  // namespace

TEST_CASE("VGG-11 end-to-end LPL: every block's weight and bias gradients of the final objective match finite differences") {
  end_to_end_fd(StepObjective::lpl, false);
}
TEST_CASE("VGG-11 end-to-end supervised: every block's weight and bias gradients of the final CE match finite differences") {
  end_to_end_fd(StepObjective::supervised, false);
}
TEST_CASE("VGG-11 end-to-end negative samples through projector 8: every block's gradients match finite differences") {
  end_to_end_fd(StepObjective::negative_samples, true);
}

static void layer_locality(Device d) {
  const int64_t B = 4;
  Vgg11 net({}, 2, d);
  LplStep step(net, {});
  Tensor x = test::random_tensor({2 * B, 3, 32, 32}, 8, d);
  step.run(x, 0);
  std::vector<std::vector<float>> before;
  for (int k = 0; k < Vgg11::kBlocks; ++k) before.push_back(net.conv_weight(k).grad.to_vector());
  const int changed = 4;
  axpy(0.05f, Tensor::full(net.conv_weight(changed).value.shape(), 1.f, d), net.conv_weight(changed).value);
  step.run(x, 0);
  for (int k = 0; k < Vgg11::kBlocks; ++k) {
    const bool same = net.conv_weight(k).grad.to_vector() == before[k];
    if (k < changed)
      CHECK_MESSAGE(same, "layer " << k + 1 << " gradient changed when layer " << changed + 1 << "'s weights did");
    else
      CHECK_MESSAGE(!same, "layer " << k + 1 << " gradient did not change");
  }
}
LPL_TEST_ON_DEVICES("layer-local: changing layer k's weights leaves layers 1..k-1 gradients unchanged", layer_locality)

TEST_CASE("VGG-11 init is PyTorch's default and names are the original's") {
  Vgg11 net({}, 24, cpu());
  auto named = net.named_weights();
  REQUIRE(named.size() == 16);
  CHECK(named[0].first == "network.encoder.blocks.0.module.0.weight");
  CHECK(named[1].first == "network.encoder.blocks.0.module.0.bias");
  CHECK(named[15].first == "network.encoder.blocks.7.module.0.bias");
  CHECK(named[2].second.shape() == Shape{128, 64, 3, 3});
  // Block 2: fan_in = 64 * 9, bound 1/24; uniform: variance bound^2 / 3.
  auto w = named[2].second.to_vector();
  const double bound = 1.0 / 24.0;
  double mean = 0, var = 0;
  const double mx = test::max_abs(w);  // NaN-propagating
  for (float v : w) mean += v;
  mean /= w.size();
  for (float v : w) var += (v - mean) * (v - mean);
  var /= w.size();
  CHECK(mx <= bound);
  CHECK(mx > 0.99 * bound);
  CHECK(std::abs(mean) < 1e-3 * bound * 10);
  CHECK(var == doctest::Approx(bound * bound / 3).epsilon(0.02));
  // Seeded: the same seed gives the same weights, another seed others.
  Vgg11 same({}, 24, cpu()), other({}, 25, cpu());
  CHECK(same.named_weights()[2].second.to_vector() == w);
  CHECK(other.named_weights()[2].second.to_vector() != w);
  Vgg11Options po;
  po.projector = true;
  po.bias = false;
  Vgg11 pn(po, 1, cpu());
  auto pnamed = pn.named_weights();
  REQUIRE(pnamed.size() == 8 + 16);
  CHECK(pnamed[8].first == "network.encoder.projectors.0.net.0.weight");
  CHECK(pnamed[8].second.shape() == Shape{2048, 64});
  CHECK(pnamed[9].first == "network.encoder.projectors.0.net.2.weight");
  CHECK(pnamed[9].second.shape() == Shape{256, 2048});
}
