// Shapes3D trajectories and indexing (the HDF5 reading is in shapes3d_hdf5.cpp).
#include "data/shapes3d.h"

#include <algorithm>

#include "engine/common.h"
#include "engine/rng.h"

namespace lpl::data {

int64_t shapes3d_flat_index(const std::array<int, 6>& v, const std::array<int, 6>& sizes) {
  int64_t idx = 0;
  for (int f = 0; f < 6; ++f) idx = idx * sizes[static_cast<size_t>(f)] + v[static_cast<size_t>(f)];
  return idx;
}

std::vector<int64_t> make_shapes3d_trajectories(uint64_t seed, int64_t sequences, int frames,
                                                const std::array<int, 6>& sizes) {
  LPL_CHECK(sequences > 0 && frames > 1, "make_shapes3d_trajectories: need at least one sequence of two frames");
  for (int s : sizes) LPL_CHECK(s >= 2, "make_shapes3d_trajectories: every factor needs at least two values");
  LPL_CHECK(sizes[0] == sizes[1] && sizes[1] == sizes[2], "make_shapes3d_trajectories: the three hue factors must have the same size");
  // One random order of the hue values (stream 0), shared by the three hue factors.
  CounterRng rng{seed, 0};
  std::vector<int> hue(static_cast<size_t>(sizes[0]));
  for (int i = 0; i < sizes[0]; ++i) hue[static_cast<size_t>(i)] = i;
  for (int i = sizes[0] - 1; i > 0; --i) {
    int j = static_cast<int>(rng.uniform(static_cast<uint64_t>(i), 0) * static_cast<float>(i + 1));
    std::swap(hue[static_cast<size_t>(i)], hue[static_cast<size_t>(std::min(j, i))]);
  }
  const int movable[5] = {0, 1, 2, 3, 5};  // every factor but shape
  std::vector<int64_t> out(static_cast<size_t>(sequences * frames));
  CounterRng seq_rng{seed, 1};
  for (int64_t s = 0; s < sequences; ++s) {
    // Blocks 3s..3s+2 of stream 1: start values (6 draws), factor, step size, direction.
    Philox4 a = seq_rng.block(static_cast<uint64_t>(3 * s)), b = seq_rng.block(static_cast<uint64_t>(3 * s + 1)),
            c = seq_rng.block(static_cast<uint64_t>(3 * s + 2));
    const uint32_t draws[6] = {a.v[0], a.v[1], a.v[2], a.v[3], b.v[0], b.v[1]};
    std::array<int, 6> pos{};
    for (int f = 0; f < 6; ++f)
      pos[static_cast<size_t>(f)] = std::min(static_cast<int>(CounterRng::to_unit(draws[f]) * static_cast<float>(sizes[static_cast<size_t>(f)])),
                                             sizes[static_cast<size_t>(f)] - 1);
    const int factor = movable[std::min(static_cast<int>(CounterRng::to_unit(b.v[2]) * 5.f), 4)];
    const int step = CounterRng::to_unit(b.v[3]) < 0.25f ? 2 : 1;
    int dir = CounterRng::to_unit(c.v[0]) < 0.5f ? -1 : 1;
    const int n = sizes[static_cast<size_t>(factor)];
    for (int t = 0; t < frames; ++t) {
      if (t > 0) {
        int p = pos[static_cast<size_t>(factor)] + dir * step;
        if (factor <= 2) {
          p = ((p % n) + n) % n;  // hues wrap around
        } else {
          while (p < 0 || p > n - 1) {  // scale and orientation reflect at the ends
            p = p < 0 ? -p : 2 * (n - 1) - p;
            dir = -dir;
          }
        }
        pos[static_cast<size_t>(factor)] = p;
      }
      std::array<int, 6> v = pos;
      for (int f = 0; f < 3; ++f) v[static_cast<size_t>(f)] = hue[static_cast<size_t>(pos[static_cast<size_t>(f)])];
      out[static_cast<size_t>(s * frames + t)] = shapes3d_flat_index(v, sizes);
    }
  }
  return out;
}

}  // namespace lpl::data
