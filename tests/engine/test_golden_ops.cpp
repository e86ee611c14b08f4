// Max-pool (values, arg-max with ties, backward), adaptive average pool and cross-entropy against
// PyTorch's own outputs (tests/data/ops/pool_golden.json, made by tools/make_pool_golden.py).
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/ops.h"
#include "test_util.h"

using namespace lpl;
using json = nlohmann::json;

namespace {

const json& golden() {
  static const json j = [] {
    const std::string path = test::data_path("ops/pool_golden.json");
    std::ifstream f(path);
    REQUIRE_MESSAGE(f.good(), "cannot open " << path);
    return json::parse(f);
  }();
  return j;
}

Shape shape_of(const json& a) { return Shape(a.get<std::vector<int64_t>>()); }
std::vector<float> floats(const json& a) { return a.get<std::vector<float>>(); }

std::vector<int32_t> ints(const Tensor& t) {
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  memcpy_bytes(v.data(), cpu(), t.data<int32_t>(), t.device(), v.size() * sizeof(int32_t));
  return v;
}

}  // namespace

static void maxpool_matches_pytorch(Device d) {
  for (const json& c : golden()["maxpool"]) {
    const Shape s = shape_of(c["shape"]);
    CAPTURE(s.str());
    Pool2dParams p{c["kernel"][0], c["kernel"][1], c["stride"][0], c["stride"][1], c["pad"][0], c["pad"][1]};
    MaxPoolResult r = maxpool2d_forward(Tensor::from_vector(floats(c["x"]), s, d), p);
    test::check_close(r.y.to_vector(), floats(c["y"]), 0, 1e-12, "maxpool y vs PyTorch");
    CHECK(ints(r.argmax) == c["argmax"].get<std::vector<int32_t>>());
    Tensor dx = maxpool2d_backward(Tensor::from_vector(floats(c["dy"]), r.y.shape(), d), r.argmax, s, p);
    test::check_close(dx.to_vector(), floats(c["dx"]), 1e-6, 1e-6, "maxpool dx vs PyTorch");
  }
}
LPL_TEST_ON_DEVICES("maxpool2d matches PyTorch (ties, padding, overlapping windows)", maxpool_matches_pytorch)

static void adaptive_matches_pytorch(Device d) {
  for (const json& c : golden()["adaptive_avgpool"]) {
    const Shape s = shape_of(c["shape"]);
    const int oh = c["out"][0], ow = c["out"][1];
    CAPTURE(s.str());
    CAPTURE(oh);
    Tensor y = adaptive_avgpool_forward(Tensor::from_vector(floats(c["x"]), s, d), oh, ow);
    test::check_close(y.to_vector(), floats(c["y"]), 1e-5, 1e-6, "adaptive_avgpool y vs PyTorch");
    Tensor dx = adaptive_avgpool_backward(Tensor::from_vector(floats(c["dy"]), y.shape(), d), s);
    test::check_close(dx.to_vector(), floats(c["dx"]), 1e-5, 1e-6, "adaptive_avgpool dx vs PyTorch");
  }
}
LPL_TEST_ON_DEVICES("adaptive_avgpool matches PyTorch (uneven, upsampling, 1x1)", adaptive_matches_pytorch)

static void xent_matches_pytorch(Device d) {
  for (const json& c : golden()["cross_entropy"]) {
    const int64_t b = c["batch"], k = c["classes"];
    CAPTURE(b);
    CAPTURE(k);
    auto lab = c["labels"].get<std::vector<int32_t>>();
    Tensor labels = Tensor::empty({b}, d, DType::I32);
    memcpy_bytes(labels.data<int32_t>(), d, lab.data(), cpu(), lab.size() * sizeof(int32_t));
    CrossEntropyResult r = softmax_cross_entropy(Tensor::from_vector(floats(c["logits"]), {b, k}, d), labels);
    CHECK(r.loss == doctest::Approx(c["loss"].get<double>()).epsilon(1e-5));
    test::check_close(r.dlogits.to_vector(), floats(c["dlogits"]), 1e-5, 1e-7, "dlogits vs PyTorch");
  }
}
LPL_TEST_ON_DEVICES("softmax_cross_entropy matches PyTorch's cross_entropy", xent_matches_pytorch)
