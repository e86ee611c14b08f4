// Shapes3D from 3dshapes.h5 through libhdf5 (C API), and its splits:
//   ssl_train   every image, with `sequence` = the trajectory file's frames (the loader pairs
//               consecutive frames: view 1 = frames 0..B-1, view 2 = frames 1..B of a block of B+1)
//   probe_train 40,000 images of a permutation with split_seed (2/3 of the images in files with
//               fewer than 60,000); test the next 10,000 (the rest); no validation split.
// Labels are the class index (0..size-1) of --label_factor (0 floor hue .. 5 orientation; -1 =
// shape), from the sorted distinct values of that column of 'labels'. No augmentation and no
// normalisation (pixels / 255), 64 px.
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "data/npy.h"
#include "data/readers.h"
#include "data/shapes3d.h"
#include "engine/checked_size.h"
#include "engine/common.h"

namespace lpl::data::detail {

namespace {
struct H5Handle {  // closes an HDF5 id with the matching function
  hid_t id = -1;
  herr_t (*close)(hid_t) = nullptr;
  H5Handle(hid_t i, herr_t (*c)(hid_t)) : id(i), close(c) {}
  ~H5Handle() { if (id >= 0) close(id); }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
};

std::vector<hsize_t> dims_of(hid_t ds) {
  H5Handle sp(H5Dget_space(ds), H5Sclose);
  int nd = H5Sget_simple_extent_ndims(sp.id);
  std::vector<hsize_t> d(static_cast<size_t>(std::max(nd, 0)));
  if (nd > 0) H5Sget_simple_extent_dims(sp.id, d.data(), nullptr);
  return d;
}

std::string dims_str(const std::vector<hsize_t>& d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) s += (i ? " x " : "") + std::to_string(d[i]);
  return s;
}
}  // namespace

DatasetSplits load_shapes3d(const DataOptions& opt) {
  const std::string dir = opt.data_dir.empty() ? default_data_dir("shapes3d") : opt.data_dir;
  const std::string h5 = dir + "/3dshapes.h5", traj = dir + "/3dshapes_trajectories.npy";
  if (!file_exists(h5))
    fail("shapes3d: missing " + h5 + " (download 3dshapes.h5 from https://storage.googleapis.com/3d-shapes/3dshapes.h5 "
         "into " + dir + ", or pass --data_dir)");
  if (!file_exists(traj))
    fail("shapes3d: missing " + traj + " (write it with: build/bin/make_shapes3d_trajectories --out " + traj + ")");
  const int factor = opt.label_factor < 0 ? 4 : opt.label_factor;
  if (factor > 5)
    fail(strf("shapes3d: --label_factor %d: choose 0..5 (floor_hue, wall_hue, object_hue, scale, shape, orientation) or -1 (shape)",
              opt.label_factor));
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // our messages, not HDF5's stack dumps
  H5Handle f(H5Fopen(h5.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (f.id < 0) fail("shapes3d: " + h5 + " is not a readable HDF5 file (truncated or corrupt?)");
  H5Handle img(H5Dopen2(f.id, "images", H5P_DEFAULT), H5Dclose);
  if (img.id < 0) fail("shapes3d: " + h5 + " has no dataset 'images'");
  H5Handle lab(H5Dopen2(f.id, "labels", H5P_DEFAULT), H5Dclose);
  if (lab.id < 0) fail("shapes3d: " + h5 + " has no dataset 'labels'");
  const auto di = dims_of(img.id), dl = dims_of(lab.id);
  if (di.size() != 4 || di[3] != 3 || di[1] != di[2] || di[1] < 8)
    fail("shapes3d: 'images' in " + h5 + " is " + dims_str(di) + ", want N x H x H x 3");
  {
    H5Handle t(H5Dget_type(img.id), H5Tclose);
    if (H5Tget_class(t.id) != H5T_INTEGER || H5Tget_size(t.id) != 1) fail("shapes3d: 'images' in " + h5 + " is not uint8");
  }
  const int64_t N = static_cast<int64_t>(di[0]), S = static_cast<int64_t>(di[1]);
  if (dl.size() != 2 || static_cast<int64_t>(dl[0]) != N || dl[1] != 6)
    fail(strf("shapes3d: 'labels' in %s is %s, want %lld x 6", h5.c_str(), dims_str(dl).c_str(), static_cast<long long>(N)));
  // The sizes the file declares, checked before any allocation (a wrapped count would make HDF5
  // write past the buffers).
  const std::string who = "shapes3d: " + h5;
  checked_nbytes({N, 6}, sizeof(double), who + ": 'labels'");
  checked_nbytes({N, 3, S, S}, 1, who + ": 'images'");
  // Labels -> class index per factor (sorted distinct values); the images must be the full grid
  // in the flat order of spec §4.
  std::vector<double> lv(static_cast<size_t>(N * 6));
  if (H5Dread(lab.id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, lv.data()) < 0)
    fail("shapes3d: cannot read 'labels' from " + h5 + " (truncated or corrupt?)");
  std::array<int, 6> sizes{};
  std::array<std::vector<double>, 6> values;
  for (int k = 0; k < 6; ++k) {
    std::vector<double> v;
    for (int64_t i = 0; i < N; ++i) v.push_back(std::round(lv[static_cast<size_t>(i * 6 + k)] * 1e6) / 1e6);
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    values[static_cast<size_t>(k)] = v;
    sizes[static_cast<size_t>(k)] = static_cast<int>(v.size());
  }
  int64_t grid = 1;
  for (int s : sizes) grid *= s;
  if (grid != N)
    fail(strf("shapes3d: the labels of %s do not form a full factor grid (%d x %d x %d x %d x %d x %d values for %lld images)",
              h5.c_str(), sizes[0], sizes[1], sizes[2], sizes[3], sizes[4], sizes[5], static_cast<long long>(N)));
  std::vector<int32_t> labels(static_cast<size_t>(N)), factor_labels(static_cast<size_t>(N * 6));
  for (int64_t i = 0; i < N; ++i) {
    std::array<int, 6> cls{};
    for (int k = 0; k < 6; ++k) {
      const auto& v = values[static_cast<size_t>(k)];
      double x = std::round(lv[static_cast<size_t>(i * 6 + k)] * 1e6) / 1e6;
      cls[static_cast<size_t>(k)] = static_cast<int>(std::lower_bound(v.begin(), v.end(), x) - v.begin());
    }
    if (shapes3d_flat_index(cls, sizes) != i)
      fail(strf("shapes3d: image %lld of %s is not in the flat factor order of spec §4", static_cast<long long>(i), h5.c_str()));
    labels[static_cast<size_t>(i)] = cls[static_cast<size_t>(factor)];
    for (int k = 0; k < 6; ++k) factor_labels[static_cast<size_t>(i * 6 + k)] = cls[static_cast<size_t>(k)];
  }
  // Images, NHWC in the file -> NCHW, read in chunks.
  ImageSet all;
  all.n = N; all.c = 3; all.h = S; all.w = S;
  all.num_classes = sizes[static_cast<size_t>(factor)];
  all.pixels.resize(static_cast<size_t>(N * 3 * S * S));
  all.labels = labels;
  all.factor_labels = std::move(factor_labels);
  {
    H5Handle fsp(H5Dget_space(img.id), H5Sclose);
    const int64_t chunk = 4096;
    std::vector<uint8_t> buf(static_cast<size_t>(chunk * S * S * 3));
    for (int64_t b = 0; b < N; b += chunk) {
      const int64_t m = std::min(chunk, N - b);
      hsize_t start[4] = {static_cast<hsize_t>(b), 0, 0, 0}, count[4] = {static_cast<hsize_t>(m), static_cast<hsize_t>(S), static_cast<hsize_t>(S), 3};
      H5Sselect_hyperslab(fsp.id, H5S_SELECT_SET, start, nullptr, count, nullptr);
      H5Handle msp(H5Screate_simple(4, count, nullptr), H5Sclose);
      if (H5Dread(img.id, H5T_NATIVE_UINT8, msp.id, fsp.id, H5P_DEFAULT, buf.data()) < 0)
        fail(strf("shapes3d: cannot read images %lld..%lld from %s (truncated or corrupt?)", static_cast<long long>(b),
                  static_cast<long long>(b + m - 1), h5.c_str()));
      for (int64_t i = 0; i < m; ++i)
        for (int64_t p = 0; p < S * S; ++p)
          for (int c = 0; c < 3; ++c)
            all.pixels[static_cast<size_t>(((b + i) * 3 + c) * S * S + p)] = buf[static_cast<size_t>((i * S * S + p) * 3 + c)];
    }
  }
  NpyRaw t = read_npy(traj);
  if (t.shape.size() != 2 || (t.dtype != "i8" && t.dtype != "i4") || t.shape[1] < 2)
    fail("shapes3d: " + traj + " must be an int64 array of sequences x frames (at least 2 frames)");
  for (int64_t k = 0; k < t.numel(); ++k) {
    int64_t v = t.dtype == "i8" ? t.as<int64_t>()[k] : t.as<int32_t>()[k];
    if (v < 0 || v >= N)
      fail(strf("shapes3d: %s: frame %lld refers to image %lld, but %s holds %lld images", traj.c_str(), static_cast<long long>(k),
                static_cast<long long>(v), h5.c_str(), static_cast<long long>(N)));
    all.sequence.push_back(v);
  }
  DatasetSplits d;
  d.name = "shapes3d";
  d.image_size = static_cast<int>(S);
  d.norm = {{0.f, 0.f, 0.f}, {1.f, 1.f, 1.f}};
  d.augment = false;
  d.factor_sizes.assign(sizes.begin(), sizes.end());
  auto perm = seeded_permutation(N, opt.split_seed);
  const int64_t n_probe = N >= 60000 ? 40000 : N * 2 / 3, n_test = N >= 60000 ? 10000 : N - n_probe;
  d.probe_train = subset(all, perm, 0, n_probe);
  d.test = subset(all, perm, n_probe, n_probe + n_test);
  d.ssl_train = std::move(all);
  return d;
}

}  // namespace lpl::data::detail
