// Our VGG-11 against PyTorch: the per-layer pooled features of the network initialised with seed 24
// on a fixed input batch equal those of a PyTorch VGG-11 (spec §1) loaded with the same weights,
// computed in float64 by tools/compare_torch_features.py and stored as float32 (the suite needs no torch).
#include <cmath>

#include <fmt/format.h>

#include "engine/ops.h"
#include "engine/safetensors.h"
#include "models/vgg11.h"
#include "test_util.h"

using namespace lpl;

static void features_match_torch(Device d) {
  set_allow_tf32(false);
  const std::string path = test::data_path("runs/vgg11_torch_features.safetensors");
  SafetensorsFile g = load_safetensors(path);
  const Tensor& x = g.at("input", path);
  REQUIRE(x.shape() == Shape{4, 3, 32, 32});
  Vgg11 net(Vgg11Options{}, 24, d);
  Tensor h = x.to(d);
  for (int k = 0; k < Vgg11::kBlocks; ++k) {
    h = net.block_forward(k, h);
    std::vector<float> ours = net.pooled(k).to_vector();
    const Tensor& ref = g.at(fmt::format("features.{}", k), path);
    REQUIRE(ref.numel() == static_cast<int64_t>(ours.size()));
    const std::vector<float> r = ref.to_vector();
    const double scale = test::max_abs(r), worst = test::max_abs_diff(ours, r) / scale;  // NaN-propagating
    // float32 against float64: PyTorch's own float32 result is within 3e-7 of the reference.
    CHECK_MESSAGE(worst <= 2e-6, "layer " << k + 1 << ": max error " << worst << " of the layer's max " << scale);
  }
}
LPL_TEST_ON_DEVICES("VGG-11 pooled features equal PyTorch's (float64 golden) layer by layer", features_match_torch)
