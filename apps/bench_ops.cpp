// Operator benchmark: time and GFLOP/s of each op at the VGG-11 shapes (spec section 1: batch B,
// 32x32 input) on one device.
//   bench_ops [--device cpu|cuda[:i]] [--threads N] [--batch B] [--reps R] [--only OPS] [--json]
// Each row is the best of R timed calls after one warm-up call (which also creates the cached
// primitives / picks cuDNN algorithms); the device is synchronised around every timed call.
// FLOP = 2 x multiply-adds for conv, linear and gram; one per element (or per window element) for
// the memory-bound ops. conv_fwd_bwdfilter_gflops = sum FLOP / sum seconds over the conv forward
// and backward-filter rows (the passes a layer-local LPL step runs). Ops a build does not have yet
// ("not implemented yet") are skipped.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/flags.h"
#include "engine/lpl_ops.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "engine/rng.h"

using namespace lpl;

namespace {

struct Options {
  Device device = cpu();
  int threads = 0;
  int64_t batch = 256;
  int reps = 3;
  bool json = false;
  Precision precision = Precision::fp32;
  std::vector<std::string> only;  // op-name prefixes to run (empty: all)
};

const char* kUsage =
    "usage: bench_ops [--device cpu|cuda[:i]] [--threads N] [--batch B] [--reps R] [--only OPS] [--precision fp32|bf16]\n"
    "       [--json]\n"
    "  times every op at the VGG-11 shapes (32x32 input, batch B, default 256), best of R (default 3)\n"
    "  timed calls after a warm-up; --threads 0 (default) uses OpenMP's default; --only runs just the\n"
    "  ops whose names start with one of the comma-separated prefixes (e.g. conv_fwd,conv_bwd_filter);\n"
    "  --json prints\n"
    "  {\"device\", \"threads\", \"rows\": [{\"op\", \"shape\", \"flops\", \"seconds\", \"gflops\"}],\n"
    "   \"conv_fwd_bwdfilter_gflops\"}\n";

const char* const kOps[] = {"conv_fwd", "conv_bwd_filter", "conv_bwd_data", "bias_backward", "relu_fwd", "relu_bwd",
                            "maxpool2x2_fwd", "maxpool2x2_bwd", "global_avgpool_fwd", "global_avgpool_bwd",
                            "linear_fwd", "linear_bwd", "softmax_ce", "column_mean_var", "gram", "lpl_objective",
                            "lpl_objective_nopool", "lpl_negative", "lpl_block_delta", "batch_norm_fwd",
                            "batch_norm_bwd"};

int64_t parse_int(const std::string& flag, const char* v, int64_t lo) {
  const int64_t x = parse_int_flag(flag, v);
  LPL_CHECK(x >= lo, fmt::format("bench_ops: {} needs an integer >= {}, got '{}'", flag, lo, v));
  return x;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (a == "--json") {
      o.json = true;
      continue;
    }
    LPL_CHECK(a == "--device" || a == "--threads" || a == "--batch" || a == "--reps" || a == "--only" ||
                  a == "--precision",
              fmt::format("bench_ops: unknown argument '{}'\n{}", a, kUsage));
    LPL_CHECK(i + 1 < argc, fmt::format("bench_ops: {} needs a value", a));
    const char* v = argv[++i];
    if (a == "--device") o.device = parse_device(v);
    if (a == "--precision") o.precision = parse_precision(v);
    if (a == "--threads") {
      const int64_t t = parse_int(a, v, 0);
      check_threads_flag(a, t);
      o.threads = static_cast<int>(t);
    }
    if (a == "--batch") o.batch = parse_int(a, v, 2);
    if (a == "--reps") o.reps = static_cast<int>(parse_int(a, v, 1));
    if (a == "--only") {
      std::string list = v;
      for (size_t start = 0; start <= list.size();) {
        size_t end = list.find(',', start);
        if (end == std::string::npos) end = list.size();
        std::string name = list.substr(start, end - start);
        LPL_CHECK(!name.empty(), fmt::format("bench_ops: --only needs comma-separated op names, got '{}'", list));
        LPL_CHECK(std::any_of(std::begin(kOps), std::end(kOps), [&](const char* op) { return std::string(op).starts_with(name); }),
                  fmt::format("bench_ops: --only '{}' matches no op (ops: {})", name, fmt::join(std::begin(kOps), std::end(kOps), ", ")));
        o.only.push_back(name);
        start = end + 1;
      }
    }
  }
  return o;
}

struct Row {
  std::string op, shape;
  double flops = 0, seconds = 0;
};

class Bench {
 public:
  explicit Bench(const Options& o) : o_(o) {}

  // Whether any of `ops` is selected (its name starts with one of the --only prefixes).
  bool wants(std::initializer_list<const char*> ops) const {
    if (o_.only.empty()) return true;
    for (const char* op : ops)
      for (const std::string& p : o_.only)
        if (std::string(op).starts_with(p)) return true;
    return false;
  }

  // Times fn (best of reps after one warm-up); a "not implemented yet" op is skipped.
  void time(const std::string& op, const std::string& shape, double flops, const std::function<void()>& fn) {
    if (!wants({op.c_str()})) return;
    try {
      fn();
      synchronize(o_.device);
    } catch (const Error& e) {
      if (std::string(e.what()).find("not implemented yet") == std::string::npos) throw;
      if (!o_.json) fmt::print("{:<18} {:<28} skipped ({})\n", op, shape, e.what());
      return;
    }
    double best = std::numeric_limits<double>::infinity();
    for (int r = 0; r < o_.reps; ++r) {
      synchronize(o_.device);
      auto t0 = std::chrono::steady_clock::now();
      fn();
      synchronize(o_.device);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    rows_.push_back({op, shape, flops, best});
    if (!o_.json)
      fmt::print("{:<18} {:<28} {:10.3f} ms {:10.1f} GFLOP/s\n", op, shape, best * 1e3, flops / best / 1e9);
  }

  void report() const {
    double f = 0, s = 0;
    for (const Row& r : rows_)
      if (r.op == "conv_fwd" || r.op == "conv_bwd_filter") {
        f += r.flops;
        s += r.seconds;
      }
    const double conv = s > 0 ? f / s / 1e9 : 0.0;
    if (o_.json) {
      nlohmann::ordered_json rows = nlohmann::ordered_json::array();
      for (const Row& r : rows_)
        rows.push_back({{"op", r.op}, {"shape", r.shape}, {"flops", r.flops}, {"seconds", r.seconds},
                        {"gflops", r.flops / r.seconds / 1e9}});
      nlohmann::ordered_json j = {{"device", o_.device.str()}, {"threads", num_threads()},
                                  {"precision", precision_name(precision())}, {"rows", rows},
                          {"conv_fwd_bwdfilter_gflops", conv}};
      std::puts(j.dump().c_str());
    } else {
      fmt::print("device {} threads {} precision {} batch {}: conv_fwd_bwdfilter_gflops {:.1f}\n", o_.device.str(),
                 num_threads(), precision_name(precision()),
                 o_.batch, conv);
    }
  }

 private:
  Options o_;
  std::vector<Row> rows_;
};

Tensor uniform(const Shape& s, uint64_t stream, Device d, float scale = 1.f) {
  std::vector<float> h(static_cast<size_t>(s.numel()));
  CounterRng rng{42, stream};
  for (size_t i = 0; i < h.size(); ++i) h[i] = scale * (2.f * rng.uniform(i / 4, static_cast<int>(i % 4)) - 1.f);
  return Tensor::from_vector(h, s, d);
}

std::string nchw(int64_t n, int64_t c, int64_t h, int64_t w) { return fmt::format("{}x{}x{}x{}", n, c, h, w); }

void run(const Options& o) {
  if (o.device.is_cpu()) set_num_threads(o.threads);
  set_allow_winograd(true);  // the training convolutions' algorithms (LPL_NO_WINOGRAD=1: direct)
  set_precision(o.precision, o.device);
  Bench b(o);
  const int64_t B = o.batch;
  const Device d = o.device;
  // (in channels, out channels, spatial size of the block's input): VGG-11 at 32x32.
  struct Conv {
    int64_t ci, co, s;
  };
  const Conv convs[] = {{3, 64, 32},   {64, 128, 16}, {128, 256, 8}, {256, 256, 8},
                        {256, 512, 4}, {512, 512, 4}, {512, 512, 2}, {512, 512, 2}};
  const Conv2dParams p{1, 1, 1, 1};
  uint64_t stream_id = 1;
  for (const Conv& c : convs) {
    if (!b.wants({"conv_fwd", "conv_bwd_filter", "conv_bwd_data"})) break;
    Tensor x = uniform({B, c.ci, c.s, c.s}, stream_id++, d), w = uniform({c.co, c.ci, 3, 3}, stream_id++, d, 0.05f),
           bias = uniform({c.co}, stream_id++, d), dy = uniform({B, c.co, c.s, c.s}, stream_id++, d);
    Tensor dw = Tensor::empty({c.co, c.ci, 3, 3}, d);
    const double flops = 2.0 * B * c.co * c.ci * 9 * c.s * c.s;
    const std::string shape = fmt::format("{} -> {}", nchw(B, c.ci, c.s, c.s), c.co);
    b.time("conv_fwd", shape, flops, [&] { conv2d_forward(x, w, bias, p); });
    b.time("conv_bwd_filter", shape, flops, [&] { conv2d_backward_filter(x, dy, dw, nullptr, p); });
    b.time("conv_bwd_data", shape, flops, [&] { conv2d_backward_data(dy, w, x.shape(), p); });
  }
  if (b.wants({"bias_backward", "relu_fwd", "relu_bwd", "maxpool2x2_fwd", "maxpool2x2_bwd", "global_avgpool_fwd",
               "global_avgpool_bwd"})) {
    // Block 1's output: bias gradient, ReLU, 2x2 max-pool; then its global average (the layer's z).
    const Shape s{B, 64, 32, 32};
    const double n = static_cast<double>(s.numel());
    const std::string sh = nchw(B, 64, 32, 32);
    Tensor a = uniform(s, 100, d), g = uniform(s, 101, d), db = Tensor::empty({64}, d);
    b.time("bias_backward", sh, n, [&] { bias_backward(g, db); });
    Tensor y;
    b.time("relu_fwd", sh, n, [&] { y = relu_forward(a); });
    if (y.defined()) b.time("relu_bwd", sh, n, [&] { relu_backward(g, y); });
    MaxPoolResult mp;
    b.time("maxpool2x2_fwd", sh, n, [&] { mp = maxpool2d_forward(a, Pool2dParams{}); });
    if (mp.y.defined()) {
      Tensor gy = uniform(mp.y.shape(), 102, d);
      b.time("maxpool2x2_bwd", sh, n, [&] { maxpool2d_backward(gy, mp.argmax, s, Pool2dParams{}); });
    }
    const Shape ps{B, 64, 16, 16};
    Tensor pooled = uniform(ps, 103, d), gz = uniform({B, 64}, 104, d);
    b.time("global_avgpool_fwd", nchw(B, 64, 16, 16), static_cast<double>(ps.numel()),
           [&] { global_avgpool_forward(pooled); });
    b.time("global_avgpool_bwd", nchw(B, 64, 16, 16), static_cast<double>(ps.numel()),
           [&] { global_avgpool_backward(gz, ps); });
  }
  if (b.wants({"linear_fwd", "linear_bwd", "softmax_ce", "column_mean_var", "gram"})) {
    // Projector's first layer (512 -> 2048), the probe's softmax-CE, the LPL batch statistics.
    Tensor z = uniform({B, 512}, 200, d), w = uniform({2048, 512}, 201, d, 0.05f), bias = uniform({2048}, 202, d),
           gy = uniform({B, 2048}, 203, d);
    const double lf = 2.0 * B * 512 * 2048;
    const std::string lsh = fmt::format("{}x512 -> 2048", B);
    b.time("linear_fwd", lsh, lf, [&] { linear_forward(z, w, bias); });
    b.time("linear_bwd", lsh, 2 * lf, [&] { linear_backward(z, w, gy, true, true); });
    Tensor labels = Tensor::zeros({B}, d, DType::I32);
    Tensor logits = uniform({B, 10}, 204, d);
    b.time("softmax_ce", fmt::format("{}x10", B), 4.0 * B * 10, [&] { softmax_cross_entropy(logits, labels); });
    b.time("column_mean_var", fmt::format("{}x512", B), 3.0 * B * 512, [&] { column_mean_var(z); });
    b.time("gram", fmt::format("{}x512", B), 2.0 * B * 512 * 512, [&] { gram(z, 1.f / (B - 1)); });
  }
  if (b.wants({"lpl_objective", "lpl_objective_nopool", "lpl_negative", "lpl_block_delta"})) {
    // The layer objective of VGG's last block (pooled 512 channels) and of block 1 without pooling
    // (64 x 16 x 16 maps), both views stacked; the block delta of block 1 (32x32 conv output).
    Tensor terms = lpl_terms_buffer(d, 1);
    Tensor z = uniform({2 * B, 512}, 300, d), dz = Tensor::empty(z.shape(), d);
    LplObjectiveArgs args;
    const double zn = static_cast<double>(z.numel());
    b.time("lpl_objective", fmt::format("2x{}x512", B), zn, [&] { lpl_objective(z, dz, terms, 0, args); });
    Tensor zm = uniform({2 * B, 64, 16, 16}, 301, d), dzm = Tensor::empty(zm.shape(), d);
    LplObjectiveArgs nop;
    nop.no_pooling = true;
    b.time("lpl_objective_nopool", nchw(2 * B, 64, 16, 16), static_cast<double>(zm.numel()),
           [&] { lpl_objective(zm, dzm, terms, 0, nop); });
    LplObjectiveArgs neg;
    neg.negative_samples = true;
    b.time("lpl_negative", fmt::format("2x{}x512", B), zn, [&] { lpl_objective(z, dz, terms, 0, neg); });
    const Shape s{2 * B, 64, 32, 32};
    Tensor a = uniform(s, 302, d), g = uniform({2 * B, 64}, 303, d);
    MaxPoolResult mp = maxpool2d_forward(a, Pool2dParams{});
    const Pool2dParams pool{};
    b.time("lpl_block_delta", nchw(2 * B, 64, 32, 32), static_cast<double>(s.numel()),
           [&] { lpl_block_delta(g, a, mp.argmax, &pool, true); });
  }
  if (b.wants({"batch_norm_fwd", "batch_norm_bwd"})) {
    // ResNet-50's first batch norm (64 channels at 112x112 for 224-pixel inputs; here 32x32 inputs
    // keep the memory small: B x 64 x 32 x 32).
    const Shape s{B, 64, 32, 32};
    Tensor x = uniform(s, 400, d), dy = uniform(s, 401, d), gamma = uniform({64}, 402, d), beta = uniform({64}, 403, d);
    Tensor rm = Tensor::zeros({64}, d), rv = Tensor::full({64}, 1.f, d), dg = Tensor::zeros({64}, d),
           dbeta = Tensor::zeros({64}, d);
    BatchNormSaved saved;
    const double n = static_cast<double>(s.numel());
    b.time("batch_norm_fwd", nchw(B, 64, 32, 32), n,
           [&] { batch_norm_train_forward(x, gamma, beta, rm, rv, BatchNormParams{}, &saved); });
    if (saved.mean.defined())
      b.time("batch_norm_bwd", nchw(B, 64, 32, 32), n, [&] { batch_norm_backward(dy, x, gamma, saved, dg, dbeta); });
  }
  b.report();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    run(parse(argc, argv));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
