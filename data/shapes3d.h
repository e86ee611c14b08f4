// Shapes3D (spec §4): 3dshapes.h5 ('images' N x 64 x 64 x 3 uint8, 'labels' N x 6 float64 for
// floor hue, wall hue, object hue, scale, shape, orientation) and a trajectory file of flat image
// indices (int64 .npy, sequences x frames) made by apps/make_shapes3d_trajectories.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace lpl::data {

constexpr std::array<int, 6> kShapes3dFactorSizes = {10, 10, 10, 8, 4, 15};
constexpr const char* kShapes3dFactorNames[6] = {"floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation"};

// Flat index of factor values v: ((((v0 * n1 + v1) * n2 + v2) * n3 + v3) * n4 + v4) * n5 + v5.
int64_t shapes3d_flat_index(const std::array<int, 6>& v, const std::array<int, 6>& sizes = kShapes3dFactorSizes);

// Trajectories (seeded): in each sequence exactly one non-shape factor moves by +-1 per frame (a
// quarter of the sequences by +-2); hues wrap around, scale and orientation reflect at the ends;
// the hue values are randomly permuted once (moving by 1 = the next hue in that order). Returns
// sequences * frames flat indices, sequence-major.
std::vector<int64_t> make_shapes3d_trajectories(uint64_t seed, int64_t sequences = 64000, int frames = 17,
                                                const std::array<int, 6>& sizes = kShapes3dFactorSizes);

namespace detail {
DatasetSplits load_shapes3d(const DataOptions& opt);  // shapes3d_hdf5.cpp
}

}  // namespace lpl::data
