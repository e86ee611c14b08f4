// Encoders through LplStep (CPU, small inputs):
//  1. the tape's layer-local step (every block output detached) against the analytic layer-local path
//     of VGG-11 and AlexNet (dropout on): gradients, loss terms, and the weights after one Adam step;
//  2. central finite differences of the step's weighted loss of the layer that owns a parameter
//     against its gradient, for every encoder x mode (VGG-11 and AlexNet layer-local and end-to-end,
//     ResNet-50 end-to-end);
//  3. structure: AlexNet's and ResNet-50's names and shapes as the original's, projectors, weight
//     decay flags, encoder_of_weights, the weights-file round trip;
//  4. batch norm (ResNet-50) and dropout (AlexNet) through LplStep.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "engine/lpl_ops.h"
#include "engine/safetensors.h"
#include "models/encoder.h"
#include "models/lpl_step.h"
#include "models/optim.h"
#include "test_util.h"

using namespace lpl;

namespace {

constexpr int kClasses = 4;

std::string objective_name(StepObjective o) {
  return o == StepObjective::lpl ? "LPL" : o == StepObjective::negative_samples ? "negative samples" : "supervised";
}

EncoderOptions encoder_options(const std::string& kind, StepObjective obj, bool projector, bool end_to_end) {
  EncoderOptions o;
  o.kind = kind;
  o.projector = projector;
  o.mlp_hidden = 16;
  o.projection = 8;
  o.end_to_end = end_to_end;
  if (obj == StepObjective::supervised) o.classes = kClasses;
  return o;
}

LplStepOptions step_options(StepObjective obj, bool end_to_end, bool no_pooling = false) {
  LplStepOptions so;
  so.objective = obj;
  so.end_to_end = end_to_end;
  so.no_pooling = no_pooling;
  if (obj == StepObjective::negative_samples) so.coeffs = {1.f, 1.f, 0.f};
  return so;
}

Tensor labels_for(int64_t B) {
  Tensor t = Tensor::empty({B}, cpu(), DType::I32);
  for (int64_t i = 0; i < B; ++i) t.data<int32_t>()[i] = static_cast<int32_t>((3 * i + 1) % kClasses);
  return t;
}

Param* find_param(Encoder& net, const std::string& name) {
  for (Param* p : net.params())
    if (p->name == name) return p;
  return nullptr;
}

Buffer* find_buffer(Encoder& net, const std::string& name) {
  for (Buffer* b : net.buffers())
    if (b->name == name) return b;
  return nullptr;
}


// |a - b| relative to max(|a|, |b|); 0 when both are 0, NaN when either is.
double rel_diff(double a, double b) {
  const double d = std::abs(a - b), m = std::max(std::abs(a), std::abs(b));
  if (std::isnan(d)) return NAN;
  return d == 0 ? 0.0 : d / m;
}

// ---- 1. Tape vs analytic layer-local ----------------------------------------------------------------

// max |a - b| / max |a| over two CPU float32 tensors of one shape, without copies (AlexNet's 37M-entry
// conv); NaN when a is all zeros, a NaN occurs anywhere, or the shapes differ.
double rel_max_diff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return NAN;
  const std::span<const float> va(a.data<float>(), static_cast<size_t>(a.numel())),
      vb(b.data<float>(), static_cast<size_t>(b.numel()));
  const double m = test::max_abs(va), d = test::max_abs_diff(va, vb);
  return m > 0 ? d / m : NAN;
}

struct TapeVsAnalytic {
  double grad = 0, terms = 0, weights = 0;  // worst differences, relative to each tensor's max
};

TapeVsAnalytic tape_vs_analytic(const std::string& kind, StepObjective obj, bool projector, bool no_pooling) {
  const int64_t B = 2, S = 32;
  const EncoderOptions eo = encoder_options(kind, obj, projector, false);
  auto a = make_encoder(eo, 7, cpu()), b = make_encoder(eo, 7, cpu());
  REQUIRE(a->analytic() != nullptr);
  LplStepOptions so = step_options(obj, false, no_pooling);
  LplStepOptions st = so;
  st.tape = true;
  LplStep sa(*a, so), sb(*b, st);
  const Tensor x = test::random_tensor({2 * B, 3, S, S}, 3, cpu(), -30.f, 30.f);
  const Tensor y = obj == StepObjective::supervised ? labels_for(B) : Tensor();
  const int64_t step = 5;
  const std::vector<LplTerms> ta = sa.run(x, step, y), tb = sb.run(x, step, y);
  TapeVsAnalytic r;
  REQUIRE(ta.size() == tb.size());
  for (size_t k = 0; k < ta.size(); ++k) {
    const double pa[4] = {ta[k].pull, ta[k].push, ta[k].decorr, ta[k].supervised};
    const double pb[4] = {tb[k].pull, tb[k].push, tb[k].decorr, tb[k].supervised};
    for (int i = 0; i < 4; ++i) {
      const double d = rel_diff(pa[i], pb[i]);
      r.terms = test::nan_max(r.terms, d);
      CHECK_MESSAGE(d <= 1e-5, kind << " layer " << k + 1 << " term " << i << ": analytic " << pa[i] << " tape " << pb[i]);
    }
    const double w = ta[k].weighted(so.coeffs);
    CHECK_MESSAGE(std::isfinite(w), kind << " layer " << k + 1 << " weighted loss " << w);
    CHECK_MESSAGE(w != 0.0, kind << " layer " << k + 1 << " has no loss");
  }
  const auto pa = a->trained_params(), pb = b->trained_params();
  REQUIRE(pa.size() == pb.size());
  REQUIRE(pa.size() == a->params().size());  // layer-local: everything trains
  for (size_t i = 0; i < pa.size(); ++i) {
    REQUIRE(pa[i]->name == pb[i]->name);
    const double d = rel_max_diff(pa[i]->grad, pb[i]->grad);
    CHECK_MESSAGE(d <= 1e-5, kind << " " << pa[i]->name << " gradient (tape vs analytic): max difference " << d
                                   << " x the tensor's max (NaN: a NaN, or an all-zero gradient)");
    r.grad = test::nan_max(r.grad, d);
  }
  OptimizerOptions oo;  // adam
  Optimizer oa(oo, pa), ob(oo, pb);
  oa.step(1e-3);
  ob.step(1e-3);
  for (size_t i = 0; i < pa.size(); ++i) {
    const double d = rel_max_diff(pa[i]->value, pb[i]->value);
    CHECK_MESSAGE(d <= 1e-5, kind << " " << pa[i]->name << " after one Adam step (tape vs analytic): max difference " << d
                                   << " x the tensor's max");
    r.weights = test::nan_max(r.weights, d);
  }
  MESSAGE(kind << " " << objective_name(obj) << std::string(projector ? " +projector" : "") << std::string(no_pooling ? " no_pooling" : "")
               << ": max |grad diff| / max|grad| " << r.grad << ", terms rel " << r.terms << ", weights after Adam "
               << r.weights);
  return r;
}

}  // namespace

TEST_CASE("tape vs analytic layer-local: VGG-11 LPL, negative samples, supervised, with and without projector") {
  for (StepObjective obj : {StepObjective::lpl, StepObjective::negative_samples, StepObjective::supervised})
    for (bool proj : {false, true}) tape_vs_analytic("vgg", obj, proj, false);
}
TEST_CASE("tape vs analytic layer-local: VGG-11 LPL with no_pooling") { tape_vs_analytic("vgg", StepObjective::lpl, false, true); }
TEST_CASE("tape vs analytic layer-local: AlexNet (dropout on) LPL, negative samples, supervised, with and without projector") {
  for (StepObjective obj : {StepObjective::lpl, StepObjective::negative_samples, StepObjective::supervised})
    for (bool proj : {false, true}) tape_vs_analytic("alexnet", obj, proj, false);
}

// ---- 2. Finite differences --------------------------------------------------------------------------

namespace {

std::string fmt_step(double s) {
  std::ostringstream o;
  o << s;
  return o.str();
}

// The step's weighted loss of layer k (float32 forward, terms in double), forward only: no gradient
// of any weight is touched. Training mode (dropout masks fixed by (seed, step), batch statistics).
double step_loss(Encoder& net, const LplStepOptions& so, const Tensor& x, const Tensor& y, int64_t step, int k) {
  LplStepOptions o = so;
  o.no_grad = true;
  o.training = true;
  LplStep s(net, o);
  const std::vector<LplTerms> t = s.run(x, step, y);
  return t.at(static_cast<size_t>(k)).weighted(so.coeffs);
}

struct FdCase {
  std::string kind;
  StepObjective obj = StepObjective::lpl;
  bool end_to_end = false;
  bool projector = false;
  float amplitude = 30.f;
  std::vector<std::string> tensors;  // parameter names to check
  std::vector<double> steps = {1e-3, 1e-4, 1e-2};  // relative to each tensor's scale, tried in turn
  std::map<std::string, std::vector<double>> steps_of = {};  // per tensor, where it differs
};

// Tensors whose single entries float32 resolves layer-local (the first conv of VGG-11 and AlexNet,
// projector output layers, classifier heads): also checked along a third direction, e_j, at the entry
// j with the largest |g| of 8 drawn at random. End-to-end these entries move the final loss by ~1e-8
// (0 or one float32 spacing at every step tried), so there only the two directions are checked.
bool entrywise(const std::string& name) {
  const auto ends = [&](const std::string& e) { return name.size() >= e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0; };
  return ends("blocks.0.module.0.weight") || ends("blocks.0.0.weight") || ends(".net.2.weight") ||
         name.rfind("classifier_heads.", 0) == 0;
}

// Float32 forward passes cannot resolve one entry of a wide layer (perturbing one of conv 6's 9216
// inputs by 1e-2 of the init bound moves a CE of ~1.4 by ~1e-8: the finite difference comes out as 0
// or as a multiple of the float32 spacing), so each tensor is checked along two directions instead:
// d = g / max|g| (every entry moves, the largest by the step) and d_i = u_i g_i / max|g| with u_i
// uniform in [0, 1] (which per-entry errors would break differently). The float32 steps actually
// taken enter the prediction sum_i g_i (w+_i - w-_i), compared with L(w+) - L(w-).
// The step is s x the tensor's scale (its largest |value|: the init bound, 1 for a batch-norm weight;
// 1 for a zero batch-norm bias), s from the case's list in turn until both directions agree within
// 5e-2: too large a step meets the curvature (ReLU and max-pool switches, the Hebbian log-variance),
// too small a one float32 rounding. A wrong gradient agrees at none.
// ResNet-50 at 32x32 with 2 samples per view is far more curved: layer 4 is 1x1, so its batch norms
// normalise 2 values per channel, y = d / sqrt(d^2 + eps) with d half their difference; its convs
// agree only from steps of 1e-6 of their scale on (at 1e-3 the loss moves 30x less than the
// gradient predicts, at 1e-4 5x, 1e-5 1.3x: the finite differences converge to the gradient).
// The first conv's bias end-to-end (and for VGG's negative-sample objective) is not checked: its
// gradient is ~1e-5 of the loss scale and no step moves the float32 loss by a resolvable amount
// (L(w+) - L(w-) is 0 or one float32 spacing).
constexpr double kFdTol = 5e-2;

struct FdResult {
  double worst = 0;  // over the tensors, of the accepted step's worse direction
  std::string worst_tensor;
};

FdResult fd_check(const FdCase& c, int64_t B = 2) {
  const int64_t S = 32;
  const EncoderOptions eo = encoder_options(c.kind, c.obj, c.projector, c.end_to_end);
  auto net = make_encoder(eo, 11, cpu());
  const LplStepOptions so = step_options(c.obj, c.end_to_end);
  const Tensor x = test::random_tensor({2 * B, 3, S, S}, 5, cpu(), -c.amplitude, c.amplitude);
  const Tensor y = c.obj == StepObjective::supervised ? labels_for(B) : Tensor();
  const int64_t step = 3;
  {
    LplStep s(*net, so);
    s.run(x, step, y);
  }
  const std::string what = c.kind + " " + objective_name(c.obj) + (c.end_to_end ? " end-to-end " : " layer-local ");
  FdResult r;
  uint32_t seed = 100;
  std::string accepted;
  for (const std::string& name : c.tensors) {
    Param* p = find_param(*net, name);
    REQUIRE_MESSAGE(p != nullptr, what << ": no parameter " << name);
    REQUIRE_MESSAGE(p->trained, what << ": " << name << " is not trained");
    const int k = c.end_to_end ? net->last_layer() : p->layer;
    const std::vector<float> g = p->grad.to_vector(), w0 = p->value.to_vector();
    const double gmax = test::max_abs(g);
    REQUIRE_MESSAGE(gmax > 0, what << name << ": gradient all zeros (or NaN)");
    const double vmax = test::max_abs(w0);
    const std::vector<float> u = test::random_vec(g.size(), seed++, 0.f, 1.f);
    size_t entry = 0;
    for (float r : test::random_vec(8, seed++, 0.f, 1.f)) {
      const size_t i = std::min(static_cast<size_t>(r * static_cast<float>(g.size())), g.size() - 1);
      if (std::abs(g[i]) > std::abs(g[entry])) entry = i;
    }
    const int dirs = !c.end_to_end && entrywise(name) ? 3 : 2;
    const Tensor keep = p->value.clone();
    std::ostringstream tried;
    double best = INFINITY;
    const auto own = c.steps_of.find(name);
    for (double s : own != c.steps_of.end() ? own->second : c.steps) {
      const double h = s * (vmax > 0 ? vmax : 1.0);
      double err_s = 0;
      for (int dir = 0; dir < dirs; ++dir) {
        std::vector<float> wp(g.size()), wm(g.size());
        double predicted = 0;
        for (size_t i = 0; i < g.size(); ++i) {
          const double d = (dir == 0 ? 1.0 : dir == 1 ? u[i] : i == entry ? 1.0 : 0.0) * g[i] / gmax;
          wp[i] = static_cast<float>(w0[i] + h * d);
          wm[i] = static_cast<float>(w0[i] - h * d);
          predicted += static_cast<double>(g[i]) * (static_cast<double>(wp[i]) - wm[i]);
        }
        p->value.copy_from(Tensor::from_vector(wp, p->value.shape()));
        const double lp = step_loss(*net, so, x, y, step, k);
        p->value.copy_from(Tensor::from_vector(wm, p->value.shape()));
        const double lm = step_loss(*net, so, x, y, step, k);
        p->value.copy_from(keep);
        const double fd = lp - lm;
        double err = std::abs(predicted - fd) / std::abs(fd);
        if (std::isnan(err)) err = INFINITY;
        err_s = test::nan_max(err_s, err);
        tried << " [step " << s << " dir " << dir << (dir == 2 ? " entry " + std::to_string(entry) : std::string()) << ": L(w+) - L(w-) = " << fd << ", predicted " << predicted << "]";
      }
      best = err_s;
      if (err_s <= kFdTol) {
        accepted += " " + name.substr(name.rfind('.', name.size() - 8) + 1) + "@" + fmt_step(s);
        break;
      }
    }
    CHECK_MESSAGE(best <= kFdTol, what << name << ": no step agrees within " << kFdTol << " (max |g| " << gmax << "):" << tried.str());
    if (!(best <= r.worst)) {
      r.worst = best;
      r.worst_tensor = name;
    }
  }
  MESSAGE(what << std::string(c.projector ? "+projector" : "") << ": " << c.tensors.size() << " tensors x 2 directions ("
               << (c.end_to_end ? 0 : std::count_if(c.tensors.begin(), c.tensors.end(), entrywise)) << " also at one entry), worst relative FD error "
               << r.worst << " (" << r.worst_tensor << "); steps:" << accepted);
  return r;
}

std::vector<std::string> conv_names(const std::string& kind, bool projector, bool supervised, bool end_to_end,
                                    bool first_bias) {
  std::vector<std::string> n;
  int last = 0;
  if (kind == "vgg") {
    last = 7;
    n = {"network.encoder.blocks.0.module.0.weight", "network.encoder.blocks.0.module.0.bias",
         "network.encoder.blocks.3.module.0.weight", "network.encoder.blocks.7.module.0.weight",
         "network.encoder.blocks.7.module.0.bias"};
  } else {
    last = 6;
    n = {"network.encoder.blocks.0.0.weight", "network.encoder.blocks.0.0.bias", "network.encoder.blocks.3.0.weight",
         "network.encoder.blocks.5.2.weight", "network.encoder.blocks.6.1.weight", "network.encoder.blocks.6.1.bias"};
  }
  if (!first_bias) n.erase(n.begin() + 1);
  const int pk = end_to_end ? last : 2;  // a middle layer's projector layer-local
  if (projector) {
    n.push_back("network.encoder.projectors." + std::to_string(pk) + ".net.0.weight");
    n.push_back("network.encoder.projectors." + std::to_string(pk) + ".net.2.weight");
  }
  if (supervised) n.push_back(end_to_end ? "classifier_heads.0.weight" : "classifier_heads.2.weight");
  return n;
}

const std::vector<std::string> kResNetTensors = {
    "network.encoder.conv1.weight", "network.encoder.bn1.weight", "network.encoder.bn1.bias",
    "network.encoder.layer2.1.conv2.weight", "network.encoder.layer3.0.downsample.1.weight",
    "network.encoder.layer4.2.conv3.weight"};
// The convs before layer 4 only agree from steps of 1e-6 on (see above); batch norm and layer 4 from 1e-4.
const std::map<std::string, std::vector<double>> kResNetSteps = {
    {"network.encoder.conv1.weight", {1e-6, 1e-5}}, {"network.encoder.layer2.1.conv2.weight", {1e-6, 1e-5}}};

}  // namespace

TEST_CASE("finite differences: VGG-11 layer-local (analytic path)") {
  fd_check({"vgg", StepObjective::lpl, false, true, 30.f, conv_names("vgg", true, false, false, true)});
  fd_check({"vgg", StepObjective::supervised, false, false, 30.f, conv_names("vgg", false, true, false, true)});
  fd_check({"vgg", StepObjective::negative_samples, false, false, 30.f,
            {"network.encoder.blocks.0.module.0.weight", "network.encoder.blocks.7.module.0.weight",
             "network.encoder.blocks.7.module.0.bias"}});
}
TEST_CASE("finite differences: VGG-11 end-to-end (tape)") {
  fd_check({"vgg", StepObjective::lpl, true, false, 30.f, conv_names("vgg", false, false, true, false)});
  fd_check({"vgg", StepObjective::supervised, true, true, 30.f, conv_names("vgg", true, true, true, false)});
}
TEST_CASE("finite differences: AlexNet layer-local (analytic path, dropout on)") {
  fd_check({"alexnet", StepObjective::lpl, false, true, 30.f, conv_names("alexnet", true, false, false, true)});
  fd_check({"alexnet", StepObjective::supervised, false, false, 30.f, conv_names("alexnet", false, true, false, true)});
}
TEST_CASE("finite differences: AlexNet end-to-end (tape, dropout on)") {
  fd_check({"alexnet", StepObjective::lpl, true, true, 30.f, conv_names("alexnet", true, false, true, false)});
  fd_check({"alexnet", StepObjective::supervised, true, false, 30.f, conv_names("alexnet", false, true, true, false)});
}
TEST_CASE("finite differences: ResNet-50 end-to-end (tape, batch norm in training mode)") {
  const std::vector<double> steps = {1e-4, 1e-5};
  fd_check({"resnet", StepObjective::lpl, true, false, 1.f, kResNetTensors, steps, kResNetSteps});
  const std::vector<std::string> sup = {"network.encoder.conv1.weight", "network.encoder.bn1.weight",
                                        "network.encoder.layer3.0.downsample.1.weight", "classifier_heads.0.weight"};
  fd_check({"resnet", StepObjective::supervised, true, false, 1.f, sup, steps, kResNetSteps});
}

// ---- 3. Structure ------------------------------------------------------------------------------------

namespace {

void check_shapes(Encoder& net, const std::vector<std::pair<std::string, Shape>>& want) {
  for (const auto& [name, shape] : want) {
    const Param* p = find_param(net, name);
    CHECK_MESSAGE(p != nullptr, net.kind() << ": no parameter " << name);
    if (p) CHECK_MESSAGE(p->value.shape() == shape, name << " is " << p->value.shape().str() << ", want " << shape.str());
  }
}

// The original's weight-decay rule: no decay for names containing "bias", "bn" or "norm".
void check_decay_rule(Encoder& net) {
  int n = 0;
  for (const Param* p : net.params()) {
    const bool exempt = p->name.find("bias") != std::string::npos || p->name.find("bn") != std::string::npos ||
                        p->name.find("norm") != std::string::npos;
    CHECK_MESSAGE(p->decay == !exempt, net.kind() << " " << p->name << ": decay " << p->decay);
    ++n;
  }
  CHECK(n > 0);
}

SafetensorsFile as_file(const Encoder& net) {
  SafetensorsFile f;
  for (const auto& [name, t] : net.named_weights()) f.tensors.emplace(name, t);
  return f;
}

}  // namespace

TEST_CASE("AlexNet: parameter names and shapes as the original's AlexNetEncoder, projectors, decay flags") {
  EncoderOptions o = encoder_options("alexnet", StepObjective::lpl, false, false);
  auto net = make_encoder(o, 1, cpu());
  const std::vector<std::pair<std::string, Shape>> convs = {
      {"network.encoder.blocks.0.0.weight", {64, 3, 11, 11}},   {"network.encoder.blocks.0.0.bias", {64}},
      {"network.encoder.blocks.1.0.weight", {192, 64, 5, 5}},   {"network.encoder.blocks.1.0.bias", {192}},
      {"network.encoder.blocks.2.0.weight", {384, 192, 3, 3}},  {"network.encoder.blocks.2.0.bias", {384}},
      {"network.encoder.blocks.3.0.weight", {256, 384, 3, 3}},  {"network.encoder.blocks.3.0.bias", {256}},
      {"network.encoder.blocks.4.0.weight", {256, 256, 3, 3}},  {"network.encoder.blocks.4.0.bias", {256}},
      {"network.encoder.blocks.5.2.weight", {4096, 256, 6, 6}}, {"network.encoder.blocks.5.2.bias", {4096}},
      {"network.encoder.blocks.6.1.weight", {4096, 4096, 1, 1}}, {"network.encoder.blocks.6.1.bias", {4096}}};
  const NamedTensors named = net->named_weights();
  REQUIRE(named.size() == convs.size());
  for (size_t i = 0; i < convs.size(); ++i) {
    CHECK(named[i].first == convs[i].first);
    CHECK_MESSAGE(named[i].second.shape() == convs[i].second, convs[i].first << " " << named[i].second.shape().str());
  }
  CHECK(net->num_layers() == 7);
  CHECK(net->buffers().empty());
  check_decay_rule(*net);
  CHECK(encoder_of_weights(as_file(*net)) == "alexnet");
  net.reset();

  SUBCASE("layer-local: a projector on every layer, all trained") {
    auto p = make_encoder(encoder_options("alexnet", StepObjective::supervised, true, false), 1, cpu());
    for (int k = 0; k < 7; ++k) {
      CHECK(p->has_projector(k));
      CHECK(p->projector_used(k));
      check_shapes(*p, {{"network.encoder.projectors." + std::to_string(k) + ".net.0.weight", {16, p->channels(k)}},
                        {"network.encoder.projectors." + std::to_string(k) + ".net.2.weight", {8, 16}},
                        {"classifier_heads." + std::to_string(k) + ".weight", {kClasses, 8}}});
    }
    CHECK(p->trained_params().size() == p->params().size());
    check_decay_rule(*p);
  }
  SUBCASE("end-to-end: projectors on blocks 5 and 7 (indices 4 and 6), only index 6 trained") {
    auto p = make_encoder(encoder_options("alexnet", StepObjective::lpl, true, true), 1, cpu());
    for (int k = 0; k < 7; ++k) CHECK_MESSAGE(p->has_projector(k) == (k == 4 || k == 6), "layer index " << k);
    CHECK(!p->projector_used(4));
    CHECK(p->projector_used(6));
    for (const Param* q : p->params()) {
      const bool proj4 = q->name.rfind("network.encoder.projectors.4.", 0) == 0;
      CHECK_MESSAGE(q->trained == !proj4, q->name << " trained " << q->trained);
    }
    check_shapes(*p, {{"network.encoder.projectors.4.net.0.weight", {16, 256}},
                      {"network.encoder.projectors.4.net.2.bias", {8}},
                      {"network.encoder.projectors.6.net.0.weight", {16, 4096}}});
    CHECK(p->trained_params().size() == p->params().size() - 4);
  }
}

TEST_CASE("ResNet-50: torchvision names and shapes, no bottleneck batch norms, parameter count, decay flags") {
  auto net = make_encoder(encoder_options("resnet", StepObjective::lpl, false, true), 1, cpu());
  check_shapes(*net, {{"network.encoder.conv1.weight", {64, 3, 7, 7}},
                      {"network.encoder.bn1.weight", {64}},
                      {"network.encoder.bn1.bias", {64}},
                      {"network.encoder.layer1.0.conv1.weight", {64, 64, 1, 1}},
                      {"network.encoder.layer1.0.conv2.weight", {64, 64, 3, 3}},
                      {"network.encoder.layer1.0.conv3.weight", {256, 64, 1, 1}},
                      {"network.encoder.layer1.0.downsample.0.weight", {256, 64, 1, 1}},
                      {"network.encoder.layer1.0.downsample.1.weight", {256}},
                      {"network.encoder.layer1.0.downsample.1.bias", {256}},
                      {"network.encoder.layer4.2.conv3.weight", {2048, 512, 1, 1}},
                      {"network.encoder.fc.weight", {1000, 2048}},
                      {"network.encoder.fc.bias", {1000}}});
  for (const std::string b : {"network.encoder.bn1.", "network.encoder.layer1.0.downsample.1."}) {
    for (const std::string s : {"running_mean", "running_var"}) {
      const Buffer* buf = find_buffer(*net, b + s);
      REQUIRE_MESSAGE(buf != nullptr, "no buffer " << b + s);
      CHECK(buf->value.dtype() == DType::F32);
      CHECK(buf->value.numel() == (b == "network.encoder.bn1." ? 64 : 256));
    }
    const Buffer* n = find_buffer(*net, b + "num_batches_tracked");
    REQUIRE_MESSAGE(n != nullptr, "no buffer " << b + "num_batches_tracked");
    CHECK(n->value.dtype() == DType::I64);
    CHECK(n->value.numel() == 1);
  }
  int64_t count = 0;
  for (const Param* p : net->params()) {
    count += p->value.numel();
    // No batch norm inside the bottlenecks (layerX.Y.bnZ); only bn1 and downsample.1.
    const bool bottleneck_bn = p->name.find(".bn") != std::string::npos && p->name.find("encoder.bn1.") == std::string::npos;
    CHECK_MESSAGE(!bottleneck_bn, p->name);
    const bool fc = p->name.rfind("network.encoder.fc.", 0) == 0;
    CHECK_MESSAGE(p->trained == !fc, p->name << " trained " << p->trained);
  }
  // torchvision.models.resnet50(): 25,557,032 parameters, of which the bottlenecks' bn1/bn2/bn3
  // hold 45,312 (2 x (p + p + 4p) per block, p = 64/128/256/512 over 3/4/6/3 blocks). Computed with
  //   sum(p.numel() for p in resnet50().parameters()) minus the same sum over names matching
  //   r'layer\d\.\d+\.bn\d' (torchvision on this machine, /usr/bin/python3).
  CHECK(count == 25557032 - 45312);
  CHECK(count == 25511720);
  CHECK(net->trained_params().size() == net->params().size() - 2);
  CHECK_FALSE(find_param(*net, "network.encoder.bn1.weight")->decay);
  CHECK(find_param(*net, "network.encoder.layer1.0.downsample.1.weight")->decay);
  CHECK_FALSE(find_param(*net, "network.encoder.layer1.0.downsample.1.bias")->decay);
  check_decay_rule(*net);
  CHECK(encoder_of_weights(as_file(*net)) == "resnet");
}

TEST_CASE("encoder_of_weights recognises VGG-11, AlexNet and ResNet-50 from names; metadata wins") {
  auto v = make_encoder(encoder_options("vgg", StepObjective::lpl, false, false), 1, cpu());
  check_decay_rule(*v);
  SafetensorsFile f = as_file(*v);
  CHECK(encoder_of_weights(f) == "vgg");
  f.metadata["encoder"] = "alexnet";
  CHECK(encoder_of_weights(f) == "alexnet");
  // AlexNet and ResNet-50 from names: see their structure cases.
}

TEST_CASE("named_weights -> save_safetensors -> load_weights restores every value and buffer (ResNet-50, AlexNet)") {
  const std::string file = (std::filesystem::temp_directory_path() / ("lpl_test_encoders_" + std::to_string(getpid()) + ".safetensors")).string();
  for (const std::string kind : {"resnet", "alexnet"}) {
    const bool e2e = kind == "resnet";
    const EncoderOptions o = encoder_options(kind, StepObjective::lpl, false, e2e);
    auto a = make_encoder(o, 1, cpu());
    if (kind == "resnet") {  // running statistics away from their initial values
      LplStep s(*a, step_options(StepObjective::lpl, true));
      s.run(test::random_tensor({4, 3, 32, 32}, 9, cpu()), 0);
    }
    save_safetensors(file, a->named_weights());
    auto b = make_encoder(o, 2, cpu());
    b->load_weights(load_safetensors(file), file);
    const NamedTensors na = a->named_weights(), nb = b->named_weights();
    REQUIRE(na.size() == nb.size());
    int differing_before = 0;
    for (size_t i = 0; i < na.size(); ++i) {
      REQUIRE(na[i].first == nb[i].first);
      const Tensor& ta = na[i].second;
      const Tensor& tb = nb[i].second;
      REQUIRE(ta.dtype() == tb.dtype());
      CHECK(ta.shape() == tb.shape());
      CHECK_MESSAGE(std::memcmp(ta.data<char>(), tb.data<char>(), ta.nbytes()) == 0, kind << " " << na[i].first << " differs after loading");
    }
    auto c = make_encoder(o, 2, cpu());  // not loaded: other values (the check above is not vacuous)
    const NamedTensors nc = c->named_weights();
    for (size_t i = 0; i < na.size(); ++i)
      differing_before += std::memcmp(na[i].second.data<char>(), nc[i].second.data<char>(), na[i].second.nbytes()) != 0;
    CHECK(differing_before >= (kind == "resnet" ? 50 : 10));
    if (kind == "resnet") {
      const Buffer* n = find_buffer(*b, "network.encoder.bn1.num_batches_tracked");
      REQUIRE(n != nullptr);
      CHECK(n->value.data<int64_t>()[0] == 2);
    }
  }
  std::filesystem::remove(file);
}

// ---- 4. Batch norm and dropout through LplStep -------------------------------------------------------

TEST_CASE("ResNet-50 batch norm through LplStep: training updates running statistics, validation changes nothing") {
  auto net = make_encoder(encoder_options("resnet", StepObjective::lpl, false, true), 1, cpu());
  const Tensor x = test::random_tensor({4, 3, 32, 32}, 12, cpu());
  auto snapshot = [&] {
    std::vector<Tensor> s;
    for (const Buffer* b : net->buffers()) s.push_back(b->value.clone());
    return s;
  };
  const std::vector<Tensor> before = snapshot();
  REQUIRE(before.size() == 5 * 3);  // bn1 and 4 downsample.1: running_mean, running_var, num_batches_tracked
  {
    LplStep s(*net, step_options(StepObjective::lpl, true));
    s.run(x, 0);
  }
  const std::vector<Tensor> after = snapshot();
  const auto buffers = net->buffers();
  for (size_t i = 0; i < buffers.size(); ++i) {
    const std::string& n = buffers[i]->name;
    if (n.find("num_batches_tracked") != std::string::npos) {
      CHECK_MESSAGE(after[i].data<int64_t>()[0] == before[i].data<int64_t>()[0] + 2, n);
    } else {
      CHECK_MESSAGE(after[i].to_vector() != before[i].to_vector(), n << " unchanged by a training step");
      CHECK_MESSAGE(test::max_abs(after[i].to_vector()) < INFINITY, n << " not finite");
    }
  }
  // Validation: evaluation mode, no gradients: neither buffers nor gradients nor weights change.
  std::vector<std::vector<float>> grads, values;
  for (const Param* p : net->params()) {
    grads.push_back(p->grad.to_vector());
    values.push_back(p->value.to_vector());
  }
  {
    LplStepOptions so = step_options(StepObjective::lpl, true);
    so.training = false;
    so.no_grad = true;
    LplStep s(*net, so);
    const std::vector<LplTerms> t = s.run(x, 1);
    CHECK(std::isfinite(t[0].weighted(so.coeffs)));
  }
  const std::vector<Tensor> val = snapshot();
  for (size_t i = 0; i < buffers.size(); ++i)
    CHECK_MESSAGE(std::memcmp(val[i].data<char>(), after[i].data<char>(), val[i].nbytes()) == 0,
                  buffers[i]->name << " changed by a validation step");
  const auto ps = net->params();
  for (size_t i = 0; i < ps.size(); ++i) {
    CHECK_MESSAGE(ps[i]->grad.to_vector() == grads[i], ps[i]->name << " gradient changed by a validation step");
    CHECK_MESSAGE(ps[i]->value.to_vector() == values[i], ps[i]->name << " changed by a validation step");
  }
  // pooled_features: deterministic, nothing updated, and per sample (running statistics: a sample's
  // features do not depend on the rest of the batch).
  const std::vector<float> f1 = net->pooled_features(x, true)[0].to_vector(), f2 = net->pooled_features(x, true)[0].to_vector();
  CHECK(f1 == f2);
  const std::vector<Tensor> ev = snapshot();
  for (size_t i = 0; i < buffers.size(); ++i)
    CHECK_MESSAGE(std::memcmp(ev[i].data<char>(), after[i].data<char>(), ev[i].nbytes()) == 0,
                  buffers[i]->name << " changed by pooled_features");
  const std::vector<float> one = net->pooled_features(x.slice0(1, 1), true)[0].to_vector();
  const std::vector<float> row1(f1.begin() + 2048, f1.begin() + 4096);
  test::check_close(one, row1, 1e-5, 1e-5 * test::max_abs(row1), "ResNet-50 evaluation features of sample 1 alone vs in the batch");
  // ... and they read the running statistics.
  Buffer* mean = find_buffer(*net, "network.encoder.bn1.running_mean");
  REQUIRE(mean != nullptr);
  mean->value.copy_from(Tensor::full(mean->value.shape(), 0.5f));
  CHECK(net->pooled_features(x, true)[0].to_vector() != f1);
}

TEST_CASE("AlexNet dropout: evaluation features deterministic, training gradients a function of the step index") {
  auto net = make_encoder(encoder_options("alexnet", StepObjective::lpl, false, false), 3, cpu());
  const Tensor x = test::random_tensor({4, 3, 32, 32}, 13, cpu(), -30.f, 30.f);
  const std::vector<Tensor> f1 = net->pooled_features(x), f2 = net->pooled_features(x);
  REQUIRE(f1.size() == 7);
  for (size_t k = 0; k < f1.size(); ++k) CHECK(f1[k].to_vector() == f2[k].to_vector());
  // No dropout in evaluation: sample 2 alone gives its row of the batch's features.
  const std::vector<float> one = net->pooled_features(x.slice0(2, 1), true)[0].to_vector();
  const std::vector<float> last = f1[6].to_vector();
  test::check_close(one, std::vector<float>(last.begin() + 2 * 4096, last.begin() + 3 * 4096), 1e-5, 1e-5 * test::max_abs(last),
                    "AlexNet evaluation features of sample 2 alone vs in the batch");
  LplStep s(*net, step_options(StepObjective::lpl, false));
  auto grads = [&](int64_t step) {
    s.run(x, step);
    std::vector<std::vector<float>> g;
    for (const Param* p : net->params()) g.push_back(p->grad.to_vector());
    return g;
  };
  const auto g1 = grads(1), g1b = grads(1), g2 = grads(2);
  const auto ps = net->params();
  for (size_t i = 0; i < ps.size(); ++i) {
    CHECK_MESSAGE(g1[i] == g1b[i], ps[i]->name << ": the same step index gave another gradient");
    // Layer-local: blocks 1-5 have no dropout and their objectives see none; blocks 6 and 7 draw their masks
    // from the step index.
    if (ps[i]->layer >= 5)
      CHECK_MESSAGE(g1[i] != g2[i], ps[i]->name << ": another step index gave the same gradient");
    else
      CHECK_MESSAGE(g1[i] == g2[i], ps[i]->name << ": a block without dropout changed with the step index");
  }
}
