// A small `pairs` dataset (data/pairs.cpp) for smoke tests that must not need a download or any
// -dev library (scripts/gpu-check.sh): DIR/view1.npy and DIR/view2.npy, N x 3 x S x S float32 in
// [0, 1], view 2 a slightly perturbed copy of view 1 (temporal neighbours), and DIR/labels.npy
// (N int64 in 0..9). Deterministic: the same N, S and seed write the same bytes.
//   make_pairs DIR [N=64] [S=32] [SEED=1]
#include <cstdio>
#include <exception>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "data/npy.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 5) {
    std::fprintf(stderr, "usage: make_pairs DIR [N=64] [S=32] [SEED=1]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int64_t n = argc > 2 ? std::atoll(argv[2]) : 64, s = argc > 3 ? std::atoll(argv[3]) : 32;
  const unsigned seed = argc > 4 ? static_cast<unsigned>(std::atoll(argv[4])) : 1u;
  if (n < 1 || s < 32) {
    std::fprintf(stderr, "make_pairs: need N >= 1 and S >= 32\n");
    return 2;
  }
  try {
    ::mkdir(dir.c_str(), 0755);
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> u(0.f, 1.f), d(-0.05f, 0.05f);
    const size_t count = static_cast<size_t>(n * 3 * s * s);
    std::vector<float> v1(count), v2(count);
    for (size_t i = 0; i < count; ++i) {
      v1[i] = u(g);
      const float w = v1[i] + d(g);
      v2[i] = w < 0.f ? 0.f : (w > 1.f ? 1.f : w);
    }
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = i % 10;
    lpl::data::save_npy_f32(dir + "/view1.npy", v1.data(), {n, 3, s, s});
    lpl::data::save_npy_f32(dir + "/view2.npy", v2.data(), {n, 3, s, s});
    lpl::data::save_npy_i64(dir + "/labels.npy", labels);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_pairs: %s\n", e.what());
    return 1;
  }
  std::printf("make_pairs: %lld pairs of 3 x %lld x %lld float32 in %s\n", static_cast<long long>(n),
              static_cast<long long>(s), static_cast<long long>(s), dir.c_str());
  return 0;
}
