// A layer-local LPL step of VGG-11 with --precision bf16 against the same step in float32 (issue 15):
// the same data and weights; every gradient points the same way, and it and the weight update of one
// Adam step differ from float32's no more than rounding the input images to bf16 makes the float32
// step's differ.
// Why that yardstick: at initialisation the objective's gradient is sensitive (its Hebbian and
// decorrelation terms divide by feature variances that are tiny in deep layers), so even a float32
// step on bf16-rounded images moves each layer's gradient by 3-7 %. Rounding every convolution's input
// whole is worse from layer 2 on (11-26 % in layers 4-8): deep features vary over the batch by a
// small fraction of their size, near bf16's resolution. The bf16 forward and weight gradient therefore
// round x - batch mean (engine/ops.h); the last check fails without that.
#include <cmath>

#include "engine/ops.h"
#include "models/encoder.h"
#include "models/lpl_step.h"
#include "models/optim.h"
#include "test_util.h"

using namespace lpl;

namespace {

struct Diff {
  double rel = 0, cosine = 0;
};
Diff diff(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0, dot = 0, aa = 0;
  for (size_t k = 0; k < a.size(); ++k) {
    num += (static_cast<double>(a[k]) - b[k]) * (static_cast<double>(a[k]) - b[k]);
    den += static_cast<double>(b[k]) * b[k];
    dot += static_cast<double>(a[k]) * b[k];
    aa += static_cast<double>(a[k]) * a[k];
  }
  const double rel = std::sqrt(num / std::max(den, 1e-30)), cosine = dot / std::sqrt(std::max(aa * den, 1e-60));
  return {std::isnan(rel) ? INFINITY : rel, std::isnan(cosine) ? -INFINITY : cosine};
}
Diff diff(const Tensor& got, const Tensor& ref) { return diff(got.to_vector(), ref.to_vector()); }

std::vector<Tensor> gradients(Encoder& net) {
  std::vector<Tensor> g;
  for (Param* p : net.trained_params()) g.push_back(p->grad.clone());
  return g;
}

// The weight update one Adam step (lr 1e-3, the run's optimiser) makes from the gradients in the
// network; the weights are left as they were.
std::vector<std::vector<float>> adam_update(Encoder& net) {
  std::vector<Tensor> before;
  std::vector<std::vector<float>> update;
  for (Param* p : net.trained_params()) before.push_back(p->value.clone());
  Optimizer opt(OptimizerOptions{}, net.trained_params());
  opt.step(1e-3);
  size_t i = 0;
  for (Param* p : net.trained_params()) {
    std::vector<float> u = p->value.to_vector();
    const std::vector<float> b = before[i].to_vector();
    for (size_t k = 0; k < u.size(); ++k) u[k] -= b[k];
    update.push_back(std::move(u));
    p->value.copy_from(before[i++]);
  }
  return update;
}

// One step in bf16, restoring fp32 whatever happens.
std::vector<LplTerms> run_bf16(LplStep& step, const Tensor& x) {
  set_precision(Precision::bf16);
  try {
    auto t = step.run(x, 0);
    set_precision(Precision::fp32);
    return t;
  } catch (...) {
    set_precision(Precision::fp32);
    throw;
  }
}

}  // namespace

TEST_CASE("bf16 layer-local step: each weight gradient and Adam update as close to fp32's as rounding the images "
          "alone makes it" *
          doctest::skip(!(LPL_HAVE_DNNL && cpu_has_bf16()))) {
  constexpr int kSeeds = 8;
  std::vector<double> bf16_rel, image_rel;  // per weight tensor, mean over seeds: gradients
  std::vector<double> bf16_upd, image_upd;  // and one Adam step's weight updates
  std::vector<std::string> names;
  for (int s = 0; s < kSeeds; ++s) {
    auto net = make_encoder(EncoderOptions{}, 7 + s, cpu());
    LplStep step(*net, LplStepOptions{});
    const Tensor x = test::random_tensor({32, 3, 32, 32}, 3 + s, cpu(), 0.f, 1.f);  // image-like values
    const auto t32 = step.run(x, 0);
    const auto g32 = gradients(*net);
    const auto u32 = adam_update(*net);
    const auto t16 = run_bf16(step, x);
    const auto g16 = gradients(*net);
    const auto u16 = adam_update(*net);
    step.run(to_f32(to_bf16(x)), 0);  // float32 on bf16-rounded images
    const auto gim = gradients(*net);
    const auto uim = adam_update(*net);
    size_t w = 0;
    for (size_t i = 0; i < g32.size(); ++i) {
      const Param* p = net->trained_params()[i];
      const Diff d16 = diff(g16[i], g32[i]), dim = diff(gim[i], g32[i]);
      CAPTURE(p->name);
      CHECK(d16.cosine >= 0.99);
      CHECK(d16.rel > 0);  // bf16 did run: some rounding shows
      if (p->value.ndim() != 4) continue;
      if (s == 0) {
        names.push_back(p->name);
        bf16_rel.push_back(0);
        image_rel.push_back(0);
        bf16_upd.push_back(0);
        image_upd.push_back(0);
      }
      bf16_rel[w] += d16.rel / kSeeds;
      image_rel[w] += dim.rel / kSeeds;
      bf16_upd[w] += diff(u16[i], u32[i]).rel / kSeeds;
      image_upd[w] += diff(uim[i], u32[i]).rel / kSeeds;
      ++w;
    }
    for (size_t k = 0; k < t32.size(); ++k) {
      CAPTURE(k);
      CHECK(std::abs(t16[k].pull - t32[k].pull) <= 0.1 * std::abs(t32[k].pull) + 1e-6);
      CHECK(std::abs(t16[k].push - t32[k].push) <= 0.1 * std::abs(t32[k].push) + 1e-6);
    }
  }
  REQUIRE(names.size() == 8);
  for (size_t w = 0; w < names.size(); ++w) {
    CAPTURE(names[w]);
    MESSAGE(names[w] << ": relative L2 difference from fp32, bf16 " << bf16_rel[w] << ", fp32 on bf16-rounded images "
                     << image_rel[w]);
    // Measured (mean of 8 seeds): bf16 / images 0.81-1.10 at the 8 layers; rounding each convolution's
    // input whole instead of x - batch mean gave 1.27-5.5 (4 seeds). Layers 7-8 are bimodal per seed
    // (0.006-0.01 or 0.02-0.14, bf16 and the control alike), so fewer seeds make this mean a coin toss:
    // a change of summation order alone (the bf16 forward at 2x2 as its own GEMM) moved layer 7's
    // 4-seed ratio from 1.11 to 1.29.
    CHECK(bf16_rel[w] <= 1.25 * image_rel[w]);
    MESSAGE(names[w] << ": one Adam step's weight update, relative L2 difference from fp32's, bf16 " << bf16_upd[w]
                     << ", fp32 on bf16-rounded images " << image_upd[w]);
    // Adam's first step is about lr * sign(g), so this counts flipped signs of small gradient entries.
    // Measured: bf16 0.019-0.21, images 0.015-0.20 (bf16 / images 0.95-1.23, the most at layers 7-8
    // where both are below 0.05); rounding each convolution's input whole gave 0.14-0.31 (1.2-13x), and
    // fails this at layers 3-8.
    CHECK(bf16_upd[w] <= 1.25 * image_upd[w] + 0.03);
  }
}
