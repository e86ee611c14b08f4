// Writes the Shapes3D trajectory file (spec §4): int64 .npy of sequences x frames flat image
// indices into 3dshapes.h5, seeded. The shapes3d dataset reads it from
// <data_dir>/3dshapes_trajectories.npy.
//   make_shapes3d_trajectories --out FILE.npy [--seed S] [--sequences 64000] [--frames 17]
//                              [--sizes 10,10,10,8,4,15] [--overwrite]
// (--sizes: the factor sizes of a smaller 3dshapes.h5 in the same layout, e.g. for quick checks)
#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "data/npy.h"
#include "data/shapes3d.h"
#include "engine/common.h"

using namespace lpl;
using namespace lpl::data;

int main(int argc, char** argv) {
  const char* usage = "usage: make_shapes3d_trajectories --out FILE.npy [--seed S] [--sequences N] [--frames F] [--sizes A,B,C,D,E,F] [--overwrite]";
  try {
    std::string out;
    uint64_t seed = 42;
    long long sequences = 64000, frames = 17;
    bool overwrite = false;
    std::array<int, 6> sizes = kShapes3dFactorSizes;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) fail("make_shapes3d_trajectories: " + a + " needs a value\n" + usage);
        return argv[++i];
      };
      auto integer = [&](const std::string& v) {
        size_t pos = 0;
        long long x = 0;
        try { x = std::stoll(v, &pos); } catch (const std::exception&) { pos = 0; }
        if (pos != v.size() || v.empty()) fail("make_shapes3d_trajectories: " + a + " wants an integer, got '" + v + "'");
        return x;
      };
      if (a == "--out") out = value();
      else if (a == "--seed") seed = static_cast<uint64_t>(integer(value()));
      else if (a == "--sequences") sequences = integer(value());
      else if (a == "--frames") frames = integer(value());
      else if (a == "--overwrite") overwrite = true;
      else if (a == "--sizes") {
        std::string v = value() + ",";
        for (size_t k = 0; k < 6; ++k) {
          const size_t c = v.find(',');
          if (c == std::string::npos) fail("make_shapes3d_trajectories: --sizes wants six integers A,B,C,D,E,F");
          const long long s = integer(v.substr(0, c));
          if (s < 2 || s > 1000) fail("make_shapes3d_trajectories: --sizes: every factor needs 2..1000 values");
          sizes[k] = static_cast<int>(s);
          v = v.substr(c + 1);
        }
        if (!v.empty()) fail("make_shapes3d_trajectories: --sizes wants six integers A,B,C,D,E,F");
      }
      else if (a == "--help" || a == "-h") { std::puts(usage); return 0; }
      else fail("make_shapes3d_trajectories: unknown argument " + a + "\n" + usage);
    }
    if (out.empty()) fail(std::string("make_shapes3d_trajectories: --out is required\n") + usage);
    if (sequences < 1 || frames < 2) fail("make_shapes3d_trajectories: --sequences must be >= 1 and --frames >= 2");
    if (std::filesystem::exists(out) && !overwrite) fail("make_shapes3d_trajectories: " + out + " exists (pass --overwrite to replace it)");
    auto t = make_shapes3d_trajectories(seed, sequences, static_cast<int>(frames), sizes);
    const std::string tmp = out + ".tmp";
    write_npy(tmp, "i8", {sequences, frames}, t.data());
    std::filesystem::rename(tmp, out);
    std::printf("%s: %lld sequences x %lld frames (seed %llu)\n", out.c_str(), sequences, frames,
                static_cast<unsigned long long>(seed));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
