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
  double scale = 0;
  for (float v : av) scale = std::max(scale, static_cast<double>(std::abs(v)));
  test::check_close(bv, std::vector<double>(av.begin(), av.end()), rtol, atol_rel * scale + 1e-30, what);
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

LPL_GPU_TEST_CASE("cpu vs cuda: block delta, ReLU in place, Adam and SGD updates") {
  Tensor a = test::random_tensor({8, 16, 12, 12}, 1, cpu(), -1.f, 1.f);
  relu_inplace(a);
  Tensor ag = test::random_tensor({8, 16, 12, 12}, 1, cpu(), -1.f, 1.f).to(cuda(0));
  relu_inplace(ag);
  compare(a, ag, 0, 0, "relu_inplace");
  MaxPoolResult mp = maxpool2d_forward(a, Pool2dParams{}), mpg = maxpool2d_forward(ag, Pool2dParams{});
  Tensor g = test::random_tensor({8, 16}, 2), gg = g.to(cuda(0));
  compare(lpl_block_delta(g, a, mp.argmax, true), lpl_block_delta(gg, ag, mpg.argmax, true), 1e-6, 0, "block delta pooled");
  Tensor gm = test::random_tensor({8, 16, 6, 6}, 3), gmg = gm.to(cuda(0));
  compare(lpl_block_delta(gm, a, mp.argmax, false), lpl_block_delta(gmg, ag, mpg.argmax, false), 1e-6, 0,
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

#if LPL_HAVE_DNNL
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
    Tensor x = test::random_tensor({2 * 16, 3, 32, 32}, 9, cpu(), -2.f, 2.f), xg = x.to(cuda(0));
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
#endif
