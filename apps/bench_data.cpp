// Augmentation throughput: source images per second on ONE thread at 32 px and 96 px, each source
// image giving two SimCLR views and the evaluation view (what the original's transform makes per
// image). Also the Loader's rate with `--threads N` workers. tools/bench_torchvision_aug.py runs
// the torchvision pipeline in the same run and prints the ratio.
//   bench_data [--json] [--threads N] [--seconds S]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "data/augment_batch.h"
#include "data/loader.h"
#include "engine/common.h"
#include "engine/flags.h"

using namespace lpl;
using namespace lpl::data;
using Clock = std::chrono::steady_clock;

namespace {
ImageSet random_set(int64_t n, int S) {
  ImageSet s;
  s.n = n; s.c = 3; s.h = s.w = S;
  std::mt19937 g(1);
  s.pixels.resize(static_cast<size_t>(n * 3 * S * S));
  for (auto& p : s.pixels) p = static_cast<uint8_t>(g());
  s.labels.assign(static_cast<size_t>(n), 0);
  s.num_classes = 10;
  return s;
}

// One thread, no loader: draw + make the three views of each image, repeatedly for `seconds`.
double core_rate(int S, double seconds) {
  const int64_t N = 512;
  ImageSet set = random_set(N, S);
  NormF n{{0.49f, 0.48f, 0.45f}, {4.f, 4.f, 4.f}};
  const int64_t V = 3 * static_cast<int64_t>(S) * S;
  std::vector<float> out(static_cast<size_t>(3 * V)), scratch(static_cast<size_t>(augment_scratch_floats(S)));
  const ViewParams ev = eval_view_params(S, S, S);
  int64_t done = 0;
  float sink = 0;
  auto t0 = Clock::now();
  double el = 0;
  for (int64_t epoch = 0; el < seconds; ++epoch) {
    for (int64_t i = 0; i < N; ++i) {
      const uint8_t* img = set.pixels.data() + i * V;
      augment_view_cpu(img, 3, S, S, draw_view_params(24, epoch, 0, i, S, S, S), S, n, out.data(), scratch.data());
      augment_view_cpu(img, 3, S, S, draw_view_params(24, epoch, 1, i, S, S, S), S, n, out.data() + V, scratch.data());
      augment_view_cpu(img, 3, S, S, ev, S, n, out.data() + 2 * V, scratch.data());
      sink += out[static_cast<size_t>(i % V)];
    }
    done += N;
    el = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  if (sink == 12345.f) std::puts("");  // keep the work observable
  return static_cast<double>(done) / el;
}

double loader_rate(int S, int threads, double seconds) {
  ImageSet set = random_set(2048, S);
  DatasetSplits meta;
  meta.name = "bench";
  meta.image_size = S;
  meta.norm = {{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}};
  LoaderOptions o;
  o.batch_size = 256;
  o.threads = threads;
  Loader ld(set, meta, o);
  int64_t done = 0;
  auto t0 = Clock::now();
  double el = 0;
  for (int64_t epoch = 0; el < seconds; ++epoch) {
    ld.start_epoch(epoch);
    Batch b;
    while (ld.next(b)) done += b.view1.dim(0);
    el = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  return static_cast<double>(done) / el;
}
}  // namespace

int main(int argc, char** argv) {
  try {
    bool json = false;
    int threads = 1;
    double seconds = 2.0;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) fail("bench_data: " + a + " needs a value");
        return argv[++i];
      };
      if (a == "--json") json = true;
      else if (a == "--threads") threads = static_cast<int>(parse_int_flag(a, value()));
      else if (a == "--seconds") seconds = parse_float_flag(a, value());
      else fail("bench_data: unknown argument " + a + " (use --json, --threads N, --seconds S)");
    }
    LPL_CHECK(threads >= 1, "bench_data: --threads must be at least 1");
    check_threads_flag("--threads", threads);
    double r32 = core_rate(32, seconds), r96 = core_rate(96, seconds);
    double l32 = loader_rate(32, threads, seconds);
    if (json) {
      std::printf("{\"threads\": 1, \"images_per_s_32px\": %.1f, \"images_per_s_96px\": %.1f, "
                  "\"loader_threads\": %d, \"loader_images_per_s_32px\": %.1f}\n", r32, r96, threads, l32);
    } else {
      std::printf("one thread: %.0f source images/s at 32 px, %.0f at 96 px (2 SimCLR views + eval view each)\n", r32, r96);
      std::printf("loader with %d worker thread(s): %.0f images/s at 32 px\n", threads, l32);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
