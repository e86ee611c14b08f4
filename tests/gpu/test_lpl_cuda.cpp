// LPL on CUDA against the CPU: the objective, block delta and optimiser kernels (same arithmetic,
// near-identical results), and a few whole VGG-11 training steps from the same weights and batch
// (cuDNN vs oneDNN; needs a build with oneDNN). Without a GPU every case reports "skipped".
#include <cmath>
#include <string>

#include "engine/lpl_ops.h"
#include "models/lpl_step.h"
#include "models/optim.h"
#include "models/vgg11.h"
#include "test_util.h"

using namespace lpl;

namespace {

void compare(const Tensor& a, const Tensor& b, double rtol, double atol_rel, const std::string& what) {
  REQUIRE_MESSAGE(a.shape() == b.shape(), what);
  auto av = a.to_vector(), bv = b.to_vector();
  test::check_close(bv, std::vector<double>(av.begin(), av.end()), rtol, atol_rel * test::max_abs(av) + 1e-30, what);
}

void objective_both(const Shape& s, LplObjectiveArgs a, const std::string& what, bool stale = false) {
  Tensor z = test::random_tensor(s, 3, cpu(), -1.f, 1.f), zg = z.to(cuda(0));
  Tensor dz = Tensor::empty(s), dzg = Tensor::empty(s, cuda(0));
  Tensor t = lpl_terms_buffer(cpu(), 1), tg = lpl_terms_buffer(cuda(0), 1);
  const int64_t M = z.numel() / z.dim(0);
  Tensor sm = test::random_tensor({M}, 4, cpu(), -0.1f, 0.1f), sv = test::random_tensor({M}, 5, cpu(), 0.1f, 0.3f);
  Tensor smg = sm.to(cuda(0)), svg = sv.to(cuda(0));
  Tensor perm = Tensor::empty({s[0] / 2}, cpu(), DType::I32);
  for (int64_t i = 0; i < s[0] / 2; ++i) perm.data<int32_t>()[i] = static_cast<int32_t>((i * 5 + 3) % (s[0] / 2));
  Tensor permg = perm.to(cuda(0));
  LplObjectiveArgs ag = a;
  if (a.positive_perm) { a.positive_perm = &perm; ag.positive_perm = &permg; }
  if (stale) {
    a.stale_mean = &sm; a.stale_var = &sv; a.stale_valid = true;
    ag.stale_mean = &smg; ag.stale_var = &svg; ag.stale_valid = true;
  }
  lpl_objective(z, dz, t, 0, a);
  lpl_objective(zg, dzg, tg, 0, ag);
  compare(dz, dzg, 1e-4, 1e-5, what + " dL/dz");
  auto tc = lpl_terms_read(t)[0], tgc = lpl_terms_read(tg)[0];
  CHECK_MESSAGE(tgc.pull == doctest::Approx(tc.pull).epsilon(1e-5), what);
  CHECK_MESSAGE(tgc.push == doctest::Approx(tc.push).epsilon(1e-5), what);
  CHECK_MESSAGE(tgc.decorr == doctest::Approx(tc.decorr).epsilon(1e-4), what);
  if (stale) compare(sm, smg, 1e-5, 1e-6, what + " stale mean update");
}

}  // namespace

LPL_GPU_TEST_CASE("cpu vs cuda: LPL objective (pooled, no_pooling, stale, shuffled positives)") {
  LplObjectiveArgs a;
  objective_both({2 * 64, 512}, a, "pooled");
  LplObjectiveArgs np;
  np.no_pooling = true;
  objective_both({2 * 16, 64, 8, 8}, np, "no_pooling");
  objective_both({2 * 32, 256}, a, "stale", true);
  Tensor dummy;
  LplObjectiveArgs sh;
  sh.positive_perm = &dummy;  // replaced by a permutation inside
  objective_both({2 * 32, 128}, sh, "shuffled positives");
}

LPL_GPU_TEST_CASE("cpu vs cuda: negative-sample objective (plain and with shuffled positives)") {
  LplObjectiveArgs a;
  a.negative_samples = true;
  a.coeffs = {1.f, 1.f, 0.f};
  objective_both({2 * 64, 256}, a, "negative samples");
  Tensor dummy;
  a.positive_perm = &dummy;
  objective_both({2 * 32, 128}, a, "negative samples, shuffled positives");
}

LPL_GPU_TEST_CASE("cpu vs cuda: block delta, ReLU in place, Adam and SGD updates") {
  Tensor a = test::random_tensor({8, 16, 12, 12}, 1, cpu(), -1.f, 1.f);
  relu_inplace(a);
  Tensor ag = test::random_tensor({8, 16, 12, 12}, 1, cpu(), -1.f, 1.f).to(cuda(0));
  relu_inplace(ag);
  compare(a, ag, 0, 0, "relu_inplace");
  MaxPoolResult mp = maxpool2d_forward(a, Pool2dParams{}), mpg = maxpool2d_forward(ag, Pool2dParams{});
  Tensor g = test::random_tensor({8, 16}, 2), gg = g.to(cuda(0));
  const Pool2dParams pool2;
  compare(lpl_block_delta(g, a, mp.argmax, &pool2, true), lpl_block_delta(gg, ag, mpg.argmax, &pool2, true), 1e-6, 0, "block delta pooled");
  Tensor gm = test::random_tensor({8, 16, 6, 6}, 3), gmg = gm.to(cuda(0));
  compare(lpl_block_delta(gm, a, mp.argmax, &pool2, false), lpl_block_delta(gmg, ag, mpg.argmax, &pool2, false), 1e-6, 0,
          "block delta no_pooling");
  Tensor w = test::random_tensor({1000}, 4), gr = test::random_tensor({1000}, 5);
  Tensor m = Tensor::zeros({1000}), v = Tensor::zeros({1000});
  Tensor wg = w.to(cuda(0)), grg = gr.to(cuda(0)), mg = m.to(cuda(0)), vg = v.to(cuda(0));
  for (int s = 1; s <= 3; ++s) {
    AdamHyper h;
    h.weight_decay = 0.01f;
    h.step = s;
    adam_update(w, gr, m, v, h);
    adam_update(wg, grg, mg, vg, h);
  }
  compare(w, wg, 1e-6, 1e-7, "adam");
  sgd_update(w, gr, m, 0.1f, 0.9f, 0.01f, false);
  sgd_update(wg, grg, mg, 0.1f, 0.9f, 0.01f, false);
  compare(w, wg, 1e-6, 1e-7, "sgd");
}

namespace {

// A float64 CPU reference of the layer-local LPL step (naive convolution loops, so it runs in the
// CUDA-only build that has no oneDNN): forward, the objective's dL/dz (the CPU kernel), the routing
// through average pool / max-pool / ReLU, backward-filter, then SGD with momentum.
struct ReferenceNet {
  std::vector<std::vector<double>> w, b, mw, mb;  // weights, biases, momentum buffers
  std::vector<int64_t> cin;

  explicit ReferenceNet(Vgg11& net) {
    for (int k = 0; k < Vgg11::kBlocks; ++k) {
      auto wv = net.conv_weight(k).value.to_vector(), bv = net.conv_bias(k).value.to_vector();
      w.emplace_back(wv.begin(), wv.end());
      b.emplace_back(bv.begin(), bv.end());
      mw.emplace_back(wv.size(), 0.0);
      mb.emplace_back(bv.size(), 0.0);
      cin.push_back(net.conv_weight(k).value.dim(1));
    }
  }

  void step(std::vector<double> x, int64_t N, int64_t H, double lr, double momentum, double wd, bool first) {
    for (int k = 0; k < Vgg11::kBlocks; ++k) {
      const int64_t Ci = cin[k], Co = Vgg11::kChannels[k], W = H;
      auto at = [&](const std::vector<double>& t, int64_t n, int64_t c, int64_t C, int64_t h, int64_t q) {
        return (h < 0 || h >= H || q < 0 || q >= W) ? 0.0 : t[((n * C + c) * H + h) * W + q];
      };
      std::vector<double> a(N * Co * H * W);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t co = 0; co < Co; ++co)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t q = 0; q < W; ++q) {
              double s = b[k][co];
              for (int64_t ci = 0; ci < Ci; ++ci)
                for (int64_t kh = 0; kh < 3; ++kh)
                  for (int64_t kw = 0; kw < 3; ++kw)
                    s += w[k][((co * Ci + ci) * 3 + kh) * 3 + kw] * at(x, n, ci, Ci, h + kh - 1, q + kw - 1);
              a[((n * Co + co) * H + h) * W + q] = std::max(s, 0.0);
            }
      const bool pool = Vgg11::kPool[k];
      const int64_t PH = pool ? H / 2 : H;
      std::vector<double> y(N * Co * PH * PH);
      std::vector<int64_t> arg(y.size());
      for (int64_t nc = 0; nc < N * Co; ++nc)
        for (int64_t ph = 0; ph < PH; ++ph)
          for (int64_t pw = 0; pw < PH; ++pw) {
            int64_t best = pool ? (2 * ph) * W + 2 * pw : ph * W + pw;
            if (pool)
              for (int64_t dh = 0; dh < 2; ++dh)
                for (int64_t dw = 0; dw < 2; ++dw) {
                  const int64_t i = (2 * ph + dh) * W + 2 * pw + dw;
                  if (a[nc * H * W + i] > a[nc * H * W + best]) best = i;
                }
            y[(nc * PH + ph) * PH + pw] = a[nc * H * W + best];
            arg[(nc * PH + ph) * PH + pw] = best;
          }
      std::vector<float> z(N * Co, 0.f);
      for (int64_t nc = 0; nc < N * Co; ++nc) {
        double s = 0;
        for (int64_t i = 0; i < PH * PH; ++i) s += y[nc * PH * PH + i];
        z[nc] = static_cast<float>(s / static_cast<double>(PH * PH));
      }
      Tensor zt = Tensor::from_vector(z, {N, Co}), dz = Tensor::empty({N, Co}), terms = lpl_terms_buffer(cpu(), 1);
      lpl_objective(zt, dz, terms, 0, {});
      const auto g = dz.to_vector();
      std::vector<double> delta(a.size(), 0.0);
      for (int64_t nc = 0; nc < N * Co; ++nc)
        for (int64_t j = 0; j < PH * PH; ++j) {
          const int64_t i = nc * H * W + arg[nc * PH * PH + j];
          if (a[i] > 0) delta[i] = g[nc] / static_cast<double>(PH * PH);
        }
      std::vector<double> dw(w[k].size(), 0.0), db(Co, 0.0);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t co = 0; co < Co; ++co)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t q = 0; q < W; ++q) {
              const double d = delta[((n * Co + co) * H + h) * W + q];
              if (d == 0) continue;
              db[co] += d;
              for (int64_t ci = 0; ci < Ci; ++ci)
                for (int64_t kh = 0; kh < 3; ++kh)
                  for (int64_t kw = 0; kw < 3; ++kw)
                    dw[((co * Ci + ci) * 3 + kh) * 3 + kw] += d * at(x, n, ci, Ci, h + kh - 1, q + kw - 1);
            }
      for (size_t i = 0; i < dw.size(); ++i) {
        const double gi = dw[i] + wd * w[k][i];
        mw[k][i] = first ? gi : momentum * mw[k][i] + gi;
        w[k][i] -= lr * mw[k][i];
      }
      for (int64_t i = 0; i < Co; ++i) {
        mb[k][i] = first ? db[i] : momentum * mb[k][i] + db[i];
        b[k][i] -= lr * mb[k][i];
      }
      x = std::move(y);
      H = PH;
    }
  }
};

}  // namespace

LPL_GPU_TEST_CASE("cpu vs cuda: LPL training steps on CUDA match a float64 CPU reference from the same weights and batch") {
  const int64_t B = 4, S = 32;
  Vgg11 net(Vgg11Options{}, 7, cuda(0));
  ReferenceNet ref(net);
  LplStep step(net, {});
  Optimizer opt({"sgd", 1.5e-6, 0.9}, net.params());
  Tensor x = test::random_tensor({2 * B, 3, S, S}, 9, cpu(), -2.f, 2.f);
  const auto xv = x.to_vector();
  Tensor xg = x.to(cuda(0));
  for (int s = 0; s < 2; ++s) {
    step.run(xg, s);
    opt.step(0.05);
    ref.step({xv.begin(), xv.end()}, 2 * B, S, 0.05, 0.9, 1.5e-6, s == 0);
  }
  for (int k = 0; k < Vgg11::kBlocks; ++k) {
    // Compare the change of the weights (the update), relative to its size.
    auto init_w = Vgg11(Vgg11Options{}, 7, cpu()).conv_weight(k).value.to_vector();
    auto got = net.conv_weight(k).value.to_vector();
    std::vector<float> du(got.size());
    std::vector<double> dref(got.size());
    for (size_t i = 0; i < got.size(); ++i) {
      du[i] = got[i] - init_w[i];
      dref[i] = ref.w[k][i] - init_w[i];
    }
    test::check_close(du, dref, 2e-2, 2e-2 * test::max_abs(dref) + 1e-9, "block " + std::to_string(k + 1) + " weight update");
  }
}

// The CPU side runs oneDNN, or the naive reference convolution in the CUDA-only build (gpu-check):
// there a smaller batch keeps these cases within the check's time budget.
constexpr int64_t kStepBatch = LPL_HAVE_DNNL ? 16 : 4;

LPL_GPU_TEST_CASE("cpu vs cuda: three VGG-11 LPL training steps from the same weights and batch") {
  for (bool projector : {false, true}) {
    CAPTURE(projector);
    Vgg11Options vo;
    vo.projector = projector;
    Vgg11 net_c(vo, 7, cpu()), net_g(vo, 7, cuda(0));
    LplStepOptions so;
    so.shuffle_positives = projector;
    so.stale_estimates = projector;
    LplStep step_c(net_c, so), step_g(net_g, so);
    // SGD: the update is linear in the gradient, so device differences stay at rounding level.
    Optimizer opt_c({"sgd", 1.5e-6, 0.9}, net_c.params()), opt_g({"sgd", 1.5e-6, 0.9}, net_g.params());
    Tensor x = test::random_tensor({2 * kStepBatch, 3, 32, 32}, 9, cpu(), -2.f, 2.f), xg = x.to(cuda(0));
    for (int s = 0; s < 3; ++s) {
      auto tc = step_c.run(x, s), tg = step_g.run(xg, s);
      for (int k = 0; k < Vgg11::kBlocks; ++k) {
        CHECK(tg[k].pull == doctest::Approx(tc[k].pull).epsilon(2e-3).scale(1e-6));
        CHECK(tg[k].push == doctest::Approx(tc[k].push).epsilon(2e-3));
      }
      opt_c.step(0.01);
      opt_g.step(0.01);
    }
    auto pc = net_c.params(), pg = net_g.params();
    for (size_t i = 0; i < pc.size(); ++i) compare(pc[i]->value, pg[i]->value, 1e-3, 1e-4, pc[i]->name);
  }
}

LPL_GPU_TEST_CASE("cpu vs cuda: baseline steps (negative samples, supervised, end-to-end) from the same weights and batch") {
  struct Case {
    const char* name;
    StepObjective obj;
    bool e2e, projector;
  };
  for (Case c : {Case{"negative samples + projector", StepObjective::negative_samples, false, true},
                 Case{"supervised", StepObjective::supervised, false, false},
                 Case{"end-to-end LPL", StepObjective::lpl, true, false},
                 Case{"end-to-end supervised + projector", StepObjective::supervised, true, true}}) {
    Vgg11Options vo;
    vo.projector = c.projector;
    vo.end_to_end = c.e2e;
    vo.classes = c.obj == StepObjective::supervised ? 10 : 0;
    Vgg11 net_c(vo, 7, cpu()), net_g(vo, 7, cuda(0));
    LplStepOptions so;
    so.objective = c.obj;
    so.end_to_end = c.e2e;
    if (c.obj == StepObjective::negative_samples) so.coeffs = {1.f, 1.f, 0.f};
    LplStep step_c(net_c, so), step_g(net_g, so);
    const int64_t B = kStepBatch;
    Tensor x = test::random_tensor({2 * B, 3, 32, 32}, 9, cpu(), -2.f, 2.f), xg = x.to(cuda(0));
    Tensor y = Tensor::empty({B}, cpu(), DType::I32);
    for (int64_t i = 0; i < B; ++i) y.data<int32_t>()[i] = static_cast<int32_t>((i * 7) % 10);
    auto tc = step_c.run(x, 0, y), tg = step_g.run(xg, 0, y.to(cuda(0)));
    for (int k = 0; k < Vgg11::kBlocks; ++k) {
      CHECK_MESSAGE(tg[k].pull == doctest::Approx(tc[k].pull).epsilon(2e-3).scale(1e-6), c.name);
      CHECK_MESSAGE(tg[k].supervised == doctest::Approx(tc[k].supervised).epsilon(1e-4), c.name);
    }
    auto pc = net_c.trained_params(), pg = net_g.trained_params();
    for (size_t i = 0; i < pc.size(); ++i)
      compare(pc[i]->grad, pg[i]->grad, 2e-2, 2e-3, std::string(c.name) + " gradient " + pc[i]->name);
  }
}
