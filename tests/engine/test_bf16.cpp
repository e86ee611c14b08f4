// --precision bf16 (issue 15): the CPU convolutions read bfloat16 and accumulate in float32. Against
// the float32 ops: close to bf16's rounding (8 mantissa bits), and not bit-equal (the bf16 path ran).
// The refusal where the CPU lacks the instructions (LPL_NO_BF16=1 simulates it). On a GPU (cuDNN /
// cuBLAS on the tensor cores) the same comparisons, against the CPU's float32.
#include <cmath>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "engine/ops.h"
#include "kernels/backend.h"
#include "test_util.h"

using namespace lpl;

namespace {

// Restores float32 when a case ends, whatever happened.
struct PrecisionScope {
  explicit PrecisionScope(Precision p, Device d = cpu()) { set_precision(p, d); }
  ~PrecisionScope() { set_precision(Precision::fp32); }
};

bool can_bf16() { return LPL_HAVE_DNNL && cpu_has_bf16(); }

// max |a - b| / max |b|
double rel_err(const Tensor& a, const Tensor& b) {
  const auto va = a.to_vector(), vb = b.to_vector();
  REQUIRE(va.size() == vb.size());
  double d = 0, s = 1e-30;
  for (size_t i = 0; i < va.size(); ++i) {
    const double e = std::abs(static_cast<double>(va[i]) - vb[i]);
    d = std::isnan(e) ? INFINITY : std::max(d, e);
    s = std::max(s, std::abs(static_cast<double>(vb[i])));
  }
  return d / s;
}

}  // namespace

// bf16 convolutions on device d against float32 on the CPU: forward, backward-filter (also
// accumulating into a float32 dW), backward-data.
void check_conv_bf16(Device d) {
  for (auto [xs, ws, p] : {std::tuple{Shape{8, 3, 32, 32}, Shape{64, 3, 3, 3}, Conv2dParams{1, 1, 1, 1}},
                           std::tuple{Shape{4, 64, 16, 16}, Shape{128, 64, 3, 3}, Conv2dParams{1, 1, 1, 1}},
                           std::tuple{Shape{2, 16, 15, 13}, Shape{24, 16, 5, 5}, Conv2dParams{2, 2, 2, 2}},
                           // maps of at most 4x4: the CPU's forward is its own GEMM (conv2d_dnnl.cpp)
                           std::tuple{Shape{6, 64, 2, 2}, Shape{32, 64, 3, 3}, Conv2dParams{1, 1, 1, 1}}}) {
    CAPTURE(xs.str());
    const Tensor x = test::random_tensor(xs, 1), w = test::random_tensor(ws, 2, cpu(), -0.2f, 0.2f),
                 b = test::random_tensor({ws[0]}, 3);
    const Tensor y32 = conv2d_forward(x, w, b, p);
    const Tensor dy = test::random_tensor(y32.shape(), 4);
    Tensor dw32 = Tensor::zeros(ws), db32 = Tensor::zeros({ws[0]});
    conv2d_backward_filter(x, dy, dw32, &db32, p, false);
    const Tensor dx32 = conv2d_backward_data(dy, w, xs, p);
    Tensor twice = dw32.clone();
    axpy(1.f, dw32, twice);
    PrecisionScope bf(Precision::bf16, d);
    const Tensor xd = x.to(d), wd = w.to(d), dyd = dy.to(d);
    const Tensor y16 = conv2d_forward(xd, wd, b.to(d), p);
    Tensor dw16 = Tensor::zeros(ws, d), db16 = Tensor::zeros({ws[0]}, d);
    conv2d_backward_filter(xd, dyd, dw16, &db16, p, false);
    Tensor dw_acc = dw32.to(d);  // accumulate: dW32 + dW16 = about 2 dW32
    conv2d_backward_filter(xd, dyd, dw_acc, nullptr, p, true);
    const Tensor dx16 = conv2d_backward_data(dyd, wd, xs, p);
    // bf16 keeps 8 significant bits (relative rounding 2^-9 per input); sums of K products with
    // random signs stay within a few times that of the largest output.
    using Pair = std::tuple<Tensor, const Tensor*, const char*>;
    for (auto [a, r, what] : {Pair{y16.to(cpu()), &y32, "forward"}, Pair{dw16.to(cpu()), &dw32, "backward-filter"},
                              Pair{dw_acc.to(cpu()), &twice, "backward-filter, accumulating"},
                              Pair{dx16.to(cpu()), &dx32, "backward-data"}}) {
      CAPTURE(what);
      const double e = rel_err(a, *r);
      MESSAGE(std::string(what) << ": max relative error " << e);
      CHECK(e <= 2e-2);
      CHECK(e > 0);  // the bf16 kernels ran (float32 would be bit-equal)
    }
    CHECK(rel_err(db16.to(cpu()), db32) <= 1e-5);  // the bias gradient: a float32 sum of dy
  }
}

TEST_CASE("bf16 convolutions (CPU, oneDNN) against float32" * doctest::skip(!can_bf16())) { check_conv_bf16(cpu()); }

LPL_GPU_TEST_CASE("bf16 convolutions (GPU, cuDNN tensor cores) against float32 on the CPU") { check_conv_bf16(cuda(0)); }

TEST_CASE("bf16 is refused by name where the CPU has no bf16 instructions; fp32 stays") {
  REQUIRE(setenv("LPL_NO_BF16", "1", 1) == 0);
  CHECK_FALSE(cpu_has_bf16());
  CHECK_THROWS_WITH_AS(set_precision(Precision::bf16), doctest::Contains("this CPU has no AVX512-BF16"), Error);
  CHECK(precision() == Precision::fp32);
  REQUIRE(unsetenv("LPL_NO_BF16") == 0);
  CHECK_THROWS_WITH_AS(parse_precision("fp16"), doctest::Contains("--precision must be fp32 or bf16, got 'fp16'"), Error);
  CHECK(parse_precision("bf16") == Precision::bf16);
}

// The CPU's bf16 weight gradient is one GEMM of bf16 operands (kernels/im2col.h): on inputs already
// rounded to bf16 it must equal the float32 gradient of those inputs up to float32 summation order
// (a wrong index in the im2col / transposition would be far off). Strided, padded, non-square, chunked
// over images, accumulating. The backend itself, given a bf16 x (the op hands it x - batch mean).
TEST_CASE("bf16 backward-filter (CPU) equals float32 on bf16-rounded inputs: im2col indices, chunks, accumulate" *
          doctest::skip(!can_bf16())) {
  // The two 32x32 shapes need several chunks of images (3 and 2).
  for (auto [xs, ws, p] : {std::tuple{Shape{64, 256, 32, 32}, Shape{8, 256, 3, 3}, Conv2dParams{1, 1, 1, 1}},
                           std::tuple{Shape{64, 256, 32, 32}, Shape{8, 256, 3, 3}, Conv2dParams{2, 2, 1, 1}},
                           std::tuple{Shape{7, 6, 9, 12}, Shape{5, 6, 2, 3}, Conv2dParams{1, 1, 0, 1}},
                           std::tuple{Shape{3, 5, 11, 9}, Shape{7, 5, 4, 3}, Conv2dParams{2, 1, 2, 0}},
                           std::tuple{Shape{6, 16, 2, 2}, Shape{32, 16, 3, 3}, Conv2dParams{1, 1, 1, 1}},
                           // Maps of at most 64 outputs take the offset-table path (whole rows on the
                           // CPU): 8x8 at the limit, strided and padded, and 2x2 in 2 chunks of images.
                           std::tuple{Shape{5, 8, 8, 8}, Shape{6, 8, 3, 3}, Conv2dParams{1, 1, 1, 1}},
                           std::tuple{Shape{4, 8, 7, 5}, Shape{6, 8, 3, 3}, Conv2dParams{2, 2, 1, 1}},
                           std::tuple{Shape{1024, 512, 2, 2}, Shape{4, 512, 3, 3}, Conv2dParams{1, 1, 1, 1}}}) {
    CAPTURE(xs.str());
    const Tensor x = to_f32(to_bf16(test::random_tensor(xs, 5)));
    const Tensor w = test::random_tensor(ws, 6);
    const Tensor dy = to_f32(to_bf16(test::random_tensor(conv2d_forward(x, w, Tensor(), p).shape(), 7)));
    Tensor dw32 = test::random_tensor(ws, 8), db32 = test::random_tensor({ws[0]}, 9);
    Tensor dw16 = dw32.clone(), db16 = db32.clone();
    conv2d_backward_filter(x, dy, dw32, &db32, p, /*accumulate=*/true);
    cpu_backend::conv2d_backward_filter(to_bf16(x), dy, dw16, &db16, p, /*accumulate=*/true);
    const double e = rel_err(dw16, dw32);
    MESSAGE("max relative error " << e);
    CHECK(e <= 2e-5);
    CHECK(rel_err(db16, db32) <= 1e-5);
  }
}

// At maps of at most 4x4 the CPU's bf16 forward is one GEMM of bf16 operands on an im2col copy: on an
// input and weights already rounded to bf16 it must equal float32's forward of them up to summation
// order. Strided, padded, non-square, 4x4 at the limit, chunked over images, with and without bias.
TEST_CASE("bf16 forward (CPU) at small maps equals float32 on bf16-rounded operands: im2col, chunks, bias" *
          doctest::skip(!can_bf16())) {
  for (auto [xs, ws, p, bias] :
       {std::tuple{Shape{6, 16, 2, 2}, Shape{32, 16, 3, 3}, Conv2dParams{1, 1, 1, 1}, true},
        std::tuple{Shape{5, 8, 4, 4}, Shape{6, 8, 3, 3}, Conv2dParams{1, 1, 1, 1}, false},
        std::tuple{Shape{4, 8, 7, 5}, Shape{6, 8, 3, 3}, Conv2dParams{2, 2, 1, 1}, true},   // 4x3 output
        std::tuple{Shape{3, 5, 5, 6}, Shape{7, 5, 4, 3}, Conv2dParams{2, 1, 2, 0}, true},   // 3x4 output
        std::tuple{Shape{1024, 512, 2, 2}, Shape{4, 512, 3, 3}, Conv2dParams{1, 1, 1, 1}, true}}) {  // 2 chunks
    CAPTURE(xs.str());
    const Tensor x = to_f32(to_bf16(test::random_tensor(xs, 11)));
    const Tensor w = to_f32(to_bf16(test::random_tensor(ws, 12)));
    const Tensor b = bias ? test::random_tensor({ws[0]}, 13) : Tensor();
    const Tensor y32 = conv2d_forward(x, w, b, p);
    REQUIRE(y32.dim(2) * y32.dim(3) <= 16);
    const Tensor y16 = cpu_backend::conv2d_forward(to_bf16(x), w, b, p);
    REQUIRE(y16.shape() == y32.shape());
    const double e = rel_err(y16, y32);
    MESSAGE("max relative error " << e);
    CHECK(e <= 2e-5);
  }
}

// A layer-local block's conv + ReLU keeps what its bf16 forward read of x (batch mean, bf16(x - mean))
// for the weight gradient of the same x: the same bits as the gradient computing them itself; the
// output is max(conv2d_forward, 0) bit for bit (bf16: ReLU fused with the mean term's pass); nothing
// kept in float32 or for one image; what was kept of another x is refused by name.
TEST_CASE("conv2d_relu_forward: max(conv, 0) bit for bit, keeps its centred bf16 input for the weight gradient" *
          doctest::skip(!can_bf16())) {
  const Shape xs{6, 8, 5, 5}, ws{4, 8, 3, 3};
  const Conv2dParams p{1, 1, 1, 1};
  const Tensor x = test::random_tensor(xs, 21), w = test::random_tensor(ws, 22), b = test::random_tensor({4}, 23);
  const Tensor dy = test::random_tensor({6, 4, 5, 5}, 24);
  auto relu_of = [](const Tensor& y) {
    std::vector<float> v = y.to_vector();
    int negative = 0;
    for (float& f : v) {
      negative += f < 0.f;
      f = f > 0.f ? f : 0.f;
    }
    CHECK(negative > 0);  // the ReLU has something to do
    return Tensor::from_vector(v, y.shape());
  };
  CentredBf16 kept;
  CHECK(rel_err(conv2d_relu_forward(x, w, b, p, &kept), relu_of(conv2d_forward(x, w, b, p))) == 0);
  CHECK_FALSE(kept.centred.defined());  // float32 reads x as it is
  PrecisionScope bf(Precision::bf16);
  const Tensor y_relu = conv2d_relu_forward(x, w, b, p, &kept);
  CHECK(rel_err(y_relu, relu_of(conv2d_forward(x, w, b, p))) == 0);
  REQUIRE(kept.centred.defined());
  CHECK(kept.centred.dtype() == DType::BF16);
  CHECK(kept.centred.shape() == xs);
  CHECK(kept.mean.shape() == Shape{1, 8, 5, 5});
  Tensor dw_own = Tensor::zeros(ws), db_own = Tensor::zeros({4}), dw_kept = Tensor::zeros(ws), db_kept = Tensor::zeros({4});
  conv2d_backward_filter(x, dy, dw_own, &db_own, p, false);
  conv2d_backward_filter(x, dy, dw_kept, &db_kept, p, false, &kept);
  CHECK(rel_err(dw_kept, dw_own) == 0);
  CHECK(rel_err(db_kept, db_own) == 0);
  // what the forward of another x kept: the gradient would use the wrong input
  const Tensor other = test::random_tensor({6, 8, 4, 4}, 25);
  CentredBf16 kept_other;
  conv2d_relu_forward(other, w, b, p, &kept_other);
  CHECK_THROWS_WITH_AS(conv2d_backward_filter(x, dy, dw_kept, &db_kept, p, false, &kept_other),
                       doctest::Contains("what the forward kept ([6, 8, 4, 4]) is not of x [6, 8, 5, 5]"), Error);
  // one image: nothing to centre, nothing kept; the ReLU still applies
  const Tensor one = test::random_tensor({1, 8, 5, 5}, 26);
  CHECK(rel_err(conv2d_relu_forward(one, w, b, p, &kept), relu_of(conv2d_forward(one, w, b, p))) == 0);
  CHECK_FALSE(kept.centred.defined());
  CHECK_FALSE(kept.mean.defined());
}

TEST_CASE("to_bf16 / to_f32: round to nearest even, NaN stays NaN, overflow to infinity") {
  // bf16 keeps the top 16 bits of a float32: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 (tie -> even: 1),
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6 (tie -> even: 1 + 2^-6).
  const float big = 3.3965e38f;  // past the largest bf16 (3.3895e38) by more than half a step (3.3962e38)
  const std::vector<float> in{1.0f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-20f, -2.5f, 0.0f, -0.0f,
                              INFINITY, -INFINITY, NAN, big, 1e-40f};
  const std::vector<float> want{1.0f, 1.0f, 1.0f + 0x1p-6f, 1.0f + 0x1p-7f, -2.5f, 0.0f, -0.0f,
                                INFINITY, -INFINITY, NAN, INFINITY, 0x1p-133f};  // subnormal: the nearest step of 2^-133
  const Tensor x = Tensor::from_vector(in, {static_cast<int64_t>(in.size())});
  const Tensor h = to_bf16(x);
  CHECK(h.dtype() == DType::BF16);
  CHECK(h.shape() == x.shape());
  const auto back = to_f32(h).to_vector();
  for (size_t i = 0; i < in.size(); ++i) {
    CAPTURE(i);
    if (std::isnan(want[i])) {
      CHECK(std::isnan(back[i]));
    } else {
      CHECK(back[i] == want[i]);
      CHECK(std::signbit(back[i]) == std::signbit(want[i]));
    }
  }
  CHECK_THROWS_WITH_AS(to_f32(x), doctest::Contains("to_f32: x must be bfloat16"), Error);
}

// Linear layers (projector, classifier heads, AlexNet's classifier) in bf16: forward, dW, dX against float32.
static void check_linear_bf16(Device d) {
  const Tensor x = test::random_tensor({64, 512}, 11, d), w = test::random_tensor({96, 512}, 12, d, -0.05f, 0.05f),
               b = test::random_tensor({96}, 13, d), dy = test::random_tensor({64, 96}, 14, d);
  const Tensor y32 = linear_forward(x, w, b);
  const LinearGrads g32 = linear_backward(x, w, dy, true, true);
  PrecisionScope bf(Precision::bf16, d);
  const Tensor y16 = linear_forward(x, w, b);
  const LinearGrads g16 = linear_backward(x, w, dy, true, true);
  using Pair = std::tuple<const Tensor*, const Tensor*, const char*>;
  for (auto [a, r, what] : {Pair{&y16, &y32, "forward"}, Pair{&g16.dw, &g32.dw, "dW"}, Pair{&g16.dx, &g32.dx, "dX"}}) {
    CAPTURE(what);
    const double e = rel_err(a->to(cpu()), r->to(cpu()));
    MESSAGE(std::string(what) << ": max relative error " << e);
    CHECK(e <= 2e-2);
    CHECK(e > 0);  // bf16 ran
  }
  CHECK(rel_err(g16.db.to(cpu()), g32.db.to(cpu())) == 0);  // the bias gradient stays a float32 sum of dy
}

TEST_CASE("bf16 linear layers (CPU, oneDNN matmul) against float32" * doctest::skip(!can_bf16())) {
  check_linear_bf16(cpu());
}

LPL_GPU_TEST_CASE("bf16 linear layers (GPU, cuBLAS) against float32") { check_linear_bf16(cuda(0)); }

TEST_CASE("bf16 on a device that cannot is refused by name") {
#if !LPL_HAVE_DNNL
  CHECK_THROWS_WITH_AS(set_precision(Precision::bf16), doctest::Contains("needs the oneDNN backend"), Error);
#endif
  if (cuda_device_count() == 0)  // no GPU: asking for bf16 on one names the missing device
    CHECK_THROWS_AS(set_precision(Precision::bf16, cuda(0)), Error);
  CHECK(precision() == Precision::fp32);
}

TEST_CASE("batch_mean and to_bf16_centred: values, shapes, refusals") {
  const Tensor x = test::random_tensor({5, 3, 4, 2}, 21, cpu(), -3.f, 7.f);
  const Tensor m = batch_mean(x);
  CHECK(m.shape() == Shape{1, 3, 4, 2});
  const auto vx = x.to_vector(), vm = m.to_vector();
  const size_t e = vm.size();
  for (size_t j = 0; j < e; ++j) {
    double s = 0;
    for (size_t n = 0; n < 5; ++n) s += vx[n * e + j];
    CHECK(std::abs(vm[j] - s / 5) <= 1e-6 * (1 + std::abs(s / 5)));
  }
  const Tensor c = to_bf16_centred(x, m);
  CHECK(c.dtype() == DType::BF16);
  CHECK(c.shape() == x.shape());
  std::vector<float> diff(vx.size());
  for (size_t i = 0; i < vx.size(); ++i) diff[i] = vx[i] - vm[i % e];
  const auto want = to_f32(to_bf16(Tensor::from_vector(diff, x.shape()))).to_vector(), got = to_f32(c).to_vector();
  CHECK(got == want);  // the same rounding as to_bf16, of x - mean
  CHECK_THROWS_WITH_AS(to_bf16_centred(x, Tensor::zeros({3, 4})), doctest::Contains("is not one row of x"), Error);
  CHECK_THROWS_WITH_AS(to_bf16_centred(c, m), doctest::Contains("to_bf16_centred"), Error);
}

// y - batch mean of y, on the CPU.
static Tensor centred(const Tensor& y) {
  const Tensor yc = y.to(cpu()), m = batch_mean(yc);
  Tensor out = yc.clone(), neg = Tensor::zeros({m.numel()});
  Tensor rows = out.reshape({yc.dim(0), yc.numel() / yc.dim(0)});
  axpy(-1.f, m.reshape({m.numel()}), neg);
  add_row_bias_op(rows, neg);
  return out;
}

// Features that vary over the batch by 0.2 % of their size, as deep layers' do at initialisation. A
// bf16 forward must keep that variation (it rounds x - batch mean), where rounding x whole (a relative
// step of 2^-9 of 5) would leave noise as large as the variation itself. Weight gradients likewise:
// with an output gradient of zero batch mean (only the variation of x counts) and with a general one
// (then (sum of dy) x mean, in float32, dominates).
static void check_centred_bf16(Device d) {
  const Tensor r = test::random_tensor({16, 32, 8, 8}, 31), w = test::random_tensor({24, 32, 3, 3}, 32, cpu(), -0.2f, 0.2f),
               b = test::random_tensor({24}, 33);
  Tensor x = Tensor::full(r.shape(), 5.f);
  axpy(0.01f, r, x);
  const Tensor xl = x.reshape({16, 32 * 64}), wl = test::random_tensor({40, 32 * 64}, 34, cpu(), -0.05f, 0.05f),
               bl = test::random_tensor({40}, 35);
  const Conv2dParams p{1, 1, 1, 1};
  const Tensor dy = test::random_tensor(Shape{16, 24, 8, 8}, 36, cpu(), -0.5f, 1.f), dy0 = centred(dy);
  const Tensor dyl = test::random_tensor(Shape{16, 40}, 37, cpu(), -0.5f, 1.f), dyl0 = centred(dyl);
  struct Grads {
    Tensor dw, db, dwl, dbl;
  };
  auto grads = [&](const Tensor& g, const Tensor& gl, bool accumulate_twice) {
    Grads out{Tensor::full(w.shape(), 1.f, d), Tensor::full({24}, 1.f, d), {}, {}};  // overwritten
    conv2d_backward_filter(x.to(d), g.to(d), out.dw, &out.db, p, false);
    if (accumulate_twice) conv2d_backward_filter(x.to(d), g.to(d), out.dw, &out.db, p, true);
    const LinearGrads l = linear_backward(xl.to(d), wl.to(d), gl.to(d), false, true);
    out.dwl = l.dw;
    out.dbl = l.db;
    return out;
  };
  const Tensor c32 = centred(conv2d_forward(x, w, b, p)), l32 = centred(linear_forward(xl, wl, bl));
  const Tensor one32 = conv2d_forward(x.slice0(0, 1), w, b, p);
  const Grads g32 = grads(dy, dyl, false), g32_0 = grads(dy0, dyl0, false), g32_2 = grads(dy, dyl, true);
  PrecisionScope bf(Precision::bf16, d);
  const double ec = rel_err(centred(conv2d_forward(x.to(d), w.to(d), b.to(d), p)), c32);
  const double el = rel_err(centred(linear_forward(xl.to(d), wl.to(d), bl.to(d))), l32);
  const double e1 = rel_err(conv2d_forward(x.slice0(0, 1).to(d), w.to(d), b.to(d), p).to(cpu()), one32);
  MESSAGE("forward, batch variation kept by bf16: convolution " << ec << ", linear " << el << "; one image " << e1);
  CHECK(ec <= 2e-2);
  CHECK(el <= 2e-2);
  CHECK(e1 <= 2e-2);  // a single image has no variation to keep: plain rounding
  const Grads g16 = grads(dy, dyl, false), g16_0 = grads(dy0, dyl0, false), g16_2 = grads(dy, dyl, true);
  for (auto [got, want, what] : {std::tuple{&g16_0, &g32_0, std::string("dy of zero batch mean")},
                                 std::tuple{&g16, &g32, std::string("dy")},
                                 std::tuple{&g16_2, &g32_2, std::string("dy, accumulated twice")}}) {
    CAPTURE(what);
    const double gw = rel_err(got->dw.to(cpu()), want->dw), gb = rel_err(got->db.to(cpu()), want->db);
    const double lw = rel_err(got->dwl.to(cpu()), want->dwl), lb = rel_err(got->dbl.to(cpu()), want->dbl);
    MESSAGE(what << ": weight gradients in bf16, convolution " << gw << " (bias " << gb << "), linear " << lw
                 << " (bias " << lb << ")");
    CHECK(gw <= 2e-2);
    CHECK(lw <= 2e-2);
    if (got == &g16_0) continue;  // its bias gradients are sums of ~0
    CHECK(gb <= 1e-5);  // float32 sums of dy
    CHECK(lb <= 1e-5);
  }
}

TEST_CASE("bf16 forward and weight gradients keep a small batch variation (CPU)" * doctest::skip(!can_bf16())) {
  check_centred_bf16(cpu());
}

LPL_GPU_TEST_CASE("bf16 forward and weight gradients keep a small batch variation (GPU)") { check_centred_bf16(cuda(0)); }
