// A short demonstration of the engine: builds tensors on the chosen device, runs a GEMM and the
// LPL batch statistics, and prints what it computed. (Replaced as the main job by train_vgg11.)
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "engine/ops.h"
#include "engine/parallel.h"
#include "engine/rng.h"

using namespace lpl;

int main(int argc, char** argv) {
  try {
    Device dev = parse_device(argc > 1 ? argv[1] : "cpu");
    set_num_threads(0);
    const int64_t B = 256, M = 512;
    std::vector<float> h(B * M);
    CounterRng rng{24, 0};
    for (size_t i = 0; i < h.size(); ++i) h[i] = rng.uniform(i / 4, static_cast<int>(i % 4));
    Tensor z = Tensor::from_vector(h, {B, M}, dev);
    ColumnStats st = column_mean_var(z);
    Tensor g = gram(z, 1.0f / (B - 1));
    fmt::print("device {} threads {}: z {} mean(mean) {:.4f} (expect 0.5), mean(var) {:.4f} (expect {:.4f}), "
               "trace(z^T z)/(B-1)/M {:.4f}\n",
               dev.str(), num_threads(), z.shape().str(), sum_all(st.mean) / M, sum_all(st.var) / M, 1.0 / 12,
               [&] { auto v = g.to_vector(); double t = 0; for (int64_t i = 0; i < M; ++i) t += v[i * M + i]; return t / M; }());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
