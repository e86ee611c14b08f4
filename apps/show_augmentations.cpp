// Writes a PNG grid to check the augmentations by eye: one row per image, columns original,
// view 1, view 2 and evaluation view (the exact pixels the loader feeds the network, un-normalised).
//   show_augmentations --dataset D [--data_dir DIR] --out FILE.png [--count N] [--seed S] [--epoch E]
//                      [--split ssl_train|probe_train|test] [--downsample_images]
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "data/augment_batch.h"
#include "data/dataset.h"
#include "data/readers.h"
#include "engine/common.h"

using namespace lpl;
using namespace lpl::data;

namespace {
const char* kUsage =
    "usage: show_augmentations --dataset D [--data_dir DIR] --out FILE.png [--count N] [--seed S] [--epoch E]\n"
    "                          [--split ssl_train|probe_train|test] [--downsample_images] [--overwrite]";
}

int main(int argc, char** argv) {
  try {
    DataOptions dopt;
    std::string out, split = "ssl_train";
    int count = 8;
    uint64_t seed = 24;
    int64_t epoch = 0;
    bool overwrite = false;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) fail("show_augmentations: " + a + " needs a value\n" + kUsage);
        return argv[++i];
      };
      auto integer = [&](const std::string& v) {
        try {
          size_t pos = 0;
          long long x = std::stoll(v, &pos);
          if (pos != v.size()) throw std::invalid_argument(v);
          return x;
        } catch (const std::exception&) {
          fail("show_augmentations: " + a + " wants an integer, got '" + v + "'");
        }
      };
      if (a == "--dataset") dopt.dataset = value();
      else if (a == "--data_dir") dopt.data_dir = value();
      else if (a == "--out") out = value();
      else if (a == "--count") count = static_cast<int>(integer(value()));
      else if (a == "--seed") seed = static_cast<uint64_t>(integer(value()));
      else if (a == "--epoch") epoch = integer(value());
      else if (a == "--split") split = value();
      else if (a == "--downsample_images") dopt.downsample_images = true;
      else if (a == "--overwrite") overwrite = true;
      else if (a == "--help" || a == "-h") { std::puts(kUsage); return 0; }
      else fail("show_augmentations: unknown argument " + a + "\n" + kUsage);
    }
    if (out.empty()) fail(std::string("show_augmentations: --out FILE.png is required\n") + kUsage);
    if (count < 1 || count > 256) fail(strf("show_augmentations: --count %d must be in 1..256", count));
    if (std::filesystem::exists(out) && !overwrite)
      fail("show_augmentations: " + out + " exists (pass --overwrite to replace it)");
    DatasetSplits ds = load_dataset(dopt);
    const ImageSet* set = split == "ssl_train" ? &ds.ssl_train : split == "probe_train" ? &ds.probe_train
                        : split == "test" ? &ds.test : nullptr;
    if (!set) fail("show_augmentations: --split " + split + " (choose ssl_train, probe_train or test)");
    if (set->n == 0) fail("show_augmentations: the " + split + " split of " + ds.name + " is empty");
    count = static_cast<int>(std::min<int64_t>(count, set->n));
    const int S = ds.image_size, H = static_cast<int>(set->h), W = static_cast<int>(set->w), C = static_cast<int>(set->c);
    const int gap = 2, cols = 4, GW = cols * S + (cols + 1) * gap, GH = count * S + (count + 1) * gap;
    std::vector<uint8_t> grid(static_cast<size_t>(GW) * GH * 3, 255);
    NormF norm{};
    for (int c = 0; c < 3; ++c) { norm.mean[c] = ds.norm.mean[c]; norm.inv_std[c] = 1.f / ds.norm.std[c]; }
    std::vector<float> view(static_cast<size_t>(3 * S * S)), scratch(static_cast<size_t>(augment_scratch_floats(std::max(S, 1))));
    for (int r = 0; r < count; ++r) {
      const uint8_t* img = set->pixels.data() + static_cast<int64_t>(r) * C * H * W;
      ViewParams ps[cols] = {plain_view_params(H, W, S), draw_view_params(seed, epoch, 0, r, H, W, S),
                             draw_view_params(seed, epoch, 1, r, H, W, S), eval_view_params(H, W, S)};
      if (!ds.augment) ps[1] = ps[2] = ps[0];
      for (int k = 0; k < cols; ++k) {
        augment_view_cpu(img, C, H, W, ps[k], S, norm, view.data(), scratch.data());
        const int ox = gap + k * (S + gap), oy = gap + r * (S + gap);
        for (int c = 0; c < 3; ++c)
          for (int y = 0; y < S; ++y)
            for (int x = 0; x < S; ++x) {
              float v = view[static_cast<size_t>((c * S + y) * S + x)] * ds.norm.std[c] + ds.norm.mean[c];
              grid[(static_cast<size_t>(oy + y) * GW + ox + x) * 3 + c] =
                  static_cast<uint8_t>(std::lround(std::clamp(v, 0.f, 1.f) * 255.f));
            }
      }
    }
    const std::string tmp = out + ".tmp.png";
    if (!stbi_write_png(tmp.c_str(), GW, GH, 3, grid.data(), GW * 3)) fail("show_augmentations: cannot write " + tmp);
    std::filesystem::rename(tmp, out);
    std::printf("%s: %d %s images of %s, columns: original, view 1, view 2, evaluation view (%d px)\n", out.c_str(),
                count, split.c_str(), ds.name.c_str(), S);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
