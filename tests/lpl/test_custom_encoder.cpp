// The README's "Adding an encoder" example: a new encoder is one class that defines its layers on the
// tape, plus one registration line; it then trains, saves and loads like the built-in ones. This one
// has two layers: conv3x3 (8) -> ReLU -> max-pool 2x2, and conv3x3 stride 2 (16) -> ReLU.
#include <cmath>

#include "engine/safetensors.h"
#include "models/encoder.h"
#include "models/lpl_step.h"
#include "models/optim.h"
#include "datasets/data_files.h"
#include "test_util.h"

using namespace lpl;

namespace {

class TinyEncoder : public Encoder {
 public:
  TinyEncoder(const EncoderOptions& o, uint64_t seed, Device d) : Encoder(o, d) {
    w1_ = &add_param("network.encoder.c1.weight", {8, o.in_channels, 3, 3}, o.in_channels * 9, seed, 0, 0, ParamRole::weight);
    b1_ = &add_param("network.encoder.c1.bias", {8}, o.in_channels * 9, seed, 1, 0, ParamRole::bias);
    w2_ = &add_param("network.encoder.c2.weight", {16, 8, 3, 3}, 8 * 9, seed, 2, 1, ParamRole::weight);
    add_projectors_and_heads(seed, 3);
  }
  int num_layers() const override { return 2; }
  int channels(int k) const override { return k == 0 ? 8 : 16; }
  ag::Var layer_forward(ag::Tape& t, int k, const ag::Var& x, const ForwardMode&) override {
    Conv2dParams c;
    c.pad_h = c.pad_w = 1;
    if (k == 0) {
      ag::Var b = t.param(*b1_);
      return t.maxpool2d(t.relu(t.conv2d(x, t.param(*w1_), &b, c)), Pool2dParams{});
    }
    c.stride_h = c.stride_w = 2;
    return t.relu(t.conv2d(x, t.param(*w2_), nullptr, c));
  }

 private:
  Param *w1_, *b1_, *w2_;
};

void register_tiny() {
  register_encoder("tiny", [](const EncoderOptions& o, uint64_t seed, Device d) -> std::unique_ptr<Encoder> {
    return std::make_unique<TinyEncoder>(o, seed, d);
  });
}

// Two views of the same random images: the second with a little noise.
Tensor two_views(int64_t B, uint32_t seed) {
  Tensor v1 = test::random_tensor({B, 3, 16, 16}, seed);
  Tensor v2 = v1.clone();
  axpy(0.1f, test::random_tensor({B, 3, 16, 16}, seed + 1), v2);
  return stack_views(v1, v2);
}

double total(const std::vector<LplTerms>& t, const LplCoeffs& c) {
  double s = 0;
  for (const auto& x : t) s += x.weighted(c);
  return s;
}

}  // namespace

TEST_CASE("a registered encoder trains layer-local and end-to-end, and saves and loads its weights") {
  register_tiny();
  CHECK(encoder_known("tiny"));
  test::TempDir dir;
  for (bool e2e : {false, true}) {
    CAPTURE(e2e);
    EncoderOptions o;
    o.kind = "tiny";
    o.end_to_end = e2e;
    auto net = make_encoder(o, 3, cpu());
    REQUIRE(net->num_layers() == 2);
    LplStepOptions so;
    so.end_to_end = e2e;
    LplStep step(*net, so);
    Optimizer opt({"adam", 0.0, 0.0}, net->trained_params());
    const Tensor x = two_views(16, 5);
    const double first = total(step.run(x, 0), so.coeffs);
    double last = first;
    for (int i = 1; i <= 30; ++i) {
      opt.step(1e-2);
      last = total(step.run(x, i), so.coeffs);
    }
    // LPL spreads the features (the Hebbian term falls) while keeping the views together.
    CHECK(std::isfinite(last));
    CHECK(last < first - 0.5);
    // Saved under its own names and loaded back into a fresh encoder of another seed.
    const std::string path = dir / (e2e ? "e2e.safetensors" : "local.safetensors");
    save_safetensors(path, net->named_weights(), {{"encoder", "tiny"}});
    const SafetensorsFile f = load_safetensors(path);
    CHECK(encoder_of_weights(f) == "tiny");
    auto other = make_encoder(o, 99, cpu());
    other->load_weights(f, path);
    const auto a = net->pooled_features(x), b = other->pooled_features(x);
    REQUIRE(a.size() == 2);
    for (size_t k = 0; k < a.size(); ++k) CHECK(a[k].to_vector() == b[k].to_vector());
  }
}
