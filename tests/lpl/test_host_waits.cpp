// Host waits of a training step (issue 13): every blocking device-to-host read is counted by
// lpl::host_reads() (engine/device.h), on the CPU as on a GPU. A whole guarded training step
// (models/train_step.h: LplStep::run, the finite checks of every gradient and weight, the update)
// reads from the device at most once, in every mode; a non-finite tensor is still named.
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "engine/divergence.h"
#include "engine/lpl_ops.h"
#include "models/encoder.h"
#include "models/lpl_step.h"
#include "models/optim.h"
#include "models/train_step.h"
#include "test_util.h"

using namespace lpl;

namespace {

struct Mode {
  std::string name, kind = "vgg11";
  StepObjective objective = StepObjective::lpl;
  bool projector = false, end_to_end = false, stale = false, shuffle = false, no_pooling = false;
};

EncoderOptions encoder_options(const Mode& m) {
  EncoderOptions o;
  o.kind = m.kind;
  o.projector = m.projector;
  o.mlp_hidden = 16;
  o.projection = 8;
  o.end_to_end = m.end_to_end;
  if (m.objective == StepObjective::supervised) o.classes = 4;
  return o;
}

LplStepOptions step_options(const Mode& m) {
  LplStepOptions so;
  so.objective = m.objective;
  so.end_to_end = m.end_to_end;
  so.stale_estimates = m.stale;
  so.shuffle_positives = m.shuffle;
  so.no_pooling = m.no_pooling;
  if (m.objective == StepObjective::negative_samples) so.coeffs = {1.f, 1.f, 0.f};
  return so;
}

Tensor labels_for(int64_t B) {
  Tensor t = Tensor::empty({B}, cpu(), DType::I32);
  for (int64_t i = 0; i < B; ++i) t.data<int32_t>()[i] = static_cast<int32_t>((3 * i + 1) % 4);
  return t;
}

// Blocking reads per step over 3 steps (the first builds caches; all must be <= 1).
void check_mode(const Mode& m) {
  const int64_t B = 2, S = 32;
  auto net = make_encoder(encoder_options(m), 7, cpu());
  LplStep step(*net, step_options(m));
  Optimizer opt(OptimizerOptions{}, net->trained_params());
  DivergenceGuard guard;
  const Tensor x = test::random_tensor({2 * B, 3, S, S}, 3, cpu(), -3.f, 3.f);
  const Tensor y = m.objective == StepObjective::supervised ? labels_for(B) : Tensor();
  for (int64_t s = 0; s < 3; ++s) {
    const uint64_t before = host_reads();
    const std::vector<LplTerms> t = train_step(step, opt, *net, guard, nullptr, x, y, s, 1e-3);
    const uint64_t reads = host_reads() - before;
    MESSAGE(m.name << " step " << s << ": " << reads << " blocking device-to-host read(s)");
    CHECK_MESSAGE(reads <= 1, m.name << " step " << s << " waited for the device " << reads << " times");
    CHECK(t.size() == static_cast<size_t>(net->num_layers()));
  }
}

}  // namespace

TEST_CASE("a guarded training step reads from the device at most once, in every mode (VGG-11)") {
  Mode m;
  m.name = "LPL";
  check_mode(m);
  Mode p = m;
  p.name = "projector", p.projector = true;
  check_mode(p);
  Mode sup = m;
  sup.name = "supervised", sup.objective = StepObjective::supervised;
  check_mode(sup);
  Mode neg = m;
  neg.name = "negative samples", neg.objective = StepObjective::negative_samples;
  check_mode(neg);
  Mode e2e = m;
  e2e.name = "end-to-end", e2e.end_to_end = true;
  check_mode(e2e);
  Mode e2es = e2e;
  e2es.name = "end-to-end supervised", e2es.objective = StepObjective::supervised;
  check_mode(e2es);
  Mode st = m;
  st.name = "stale estimates", st.stale = true;
  check_mode(st);
  Mode sh = m;
  sh.name = "shuffle positives", sh.shuffle = true;
  check_mode(sh);
  Mode np = m;
  np.name = "no pooling", np.no_pooling = true;
  check_mode(np);
}

TEST_CASE("a guarded training step reads from the device at most once (AlexNet, ResNet-50 end-to-end)") {
  Mode a;
  a.name = "AlexNet end-to-end", a.kind = "alexnet", a.end_to_end = true;
  check_mode(a);
  Mode r;
  r.name = "ResNet-50 end-to-end", r.kind = "resnet50", r.end_to_end = true;
  check_mode(r);
}

namespace {

std::string divergence_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const DivergenceError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the combined finite checks still name the layer and the tensor") {
  Mode m;
  m.name = "LPL";
  const int64_t B = 2, S = 32;
  const Tensor x = test::random_tensor({2 * B, 3, S, S}, 3, cpu(), -3.f, 3.f);
  DivergenceGuard guard;
  guard.at(0, 1);

  SUBCASE("a NaN in a gradient: counted on the device, then named") {
    auto net = make_encoder(encoder_options(m), 7, cpu());
    LplStep step(*net, step_options(m));
    const std::vector<Param*> params = net->trained_params();
    step.compute(x, 1);
    Param* p = params[5];
    p->grad.data<float>()[3] = NAN;
    step.count_nonfinite(params, true);
    step.count_nonfinite(params, false);
    const LplStep::Readback r = step.read();
    CHECK(r.nonfinite_gradients == 1);
    CHECK(r.nonfinite_weights == 0);
    const std::string msg = divergence_message([&] { check_tensors(guard, *net, true); });
    CHECK_MESSAGE(msg.find(param_place(*p) + " gradient ('" + p->name + "'") != std::string::npos, msg);
    CHECK_MESSAGE(msg.find("first: nan at index 3") != std::string::npos, msg);
    // The next step starts from zero counts.
    p->grad.data<float>()[3] = 0.f;
    step.compute(x, 2);
    step.count_nonfinite(params, true);
    CHECK(step.read().nonfinite_gradients == 0);
  }

  SUBCASE("weights overflowing in the update: train_step names the first of them") {
    auto net = make_encoder(encoder_options(m), 7, cpu());
    LplStep step(*net, step_options(m));
    Optimizer opt(OptimizerOptions{}, net->trained_params());
    const Param* first = net->trained_params()[0];
    const uint64_t before = host_reads();
    const std::string msg =
        divergence_message([&] { train_step(step, opt, *net, guard, nullptr, x, Tensor(), 1, INFINITY); });
    const std::string want = "epoch 0, step 1: " + param_place(*first) + " weight ('" + first->name + "'";
    CHECK_MESSAGE(msg.find(want) != std::string::npos, msg);
    MESSAGE("reads with the slow path: " << host_reads() - before);
  }

  SUBCASE("a NaN injected into layer 2 (LPL_INJECT_NAN): the loss check names the layer") {
    setenv("LPL_INJECT_NAN", "2@1", 1);
    auto net = make_encoder(encoder_options(m), 7, cpu());
    LplStep step(*net, step_options(m));
    unsetenv("LPL_INJECT_NAN");
    Optimizer opt(OptimizerOptions{}, net->trained_params());
    const std::string msg =
        divergence_message([&] { train_step(step, opt, *net, guard, nullptr, x, Tensor(), 1, 1e-3); });
    CHECK_MESSAGE(msg.find("layer 2 pull loss is nan") != std::string::npos, msg);
  }
}
