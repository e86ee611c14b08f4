// Writes a file in 3dshapes.h5's layout for tests: 'images' N x S x S x 3 uint8 and 'labels' N x 6
// float64 (floor hue, wall hue, object hue, scale, shape, orientation).
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lpl::test {

inline void write_shapes3d_h5(const std::string& path, int64_t n, int size, const std::vector<uint8_t>& images,
                              const std::vector<double>& labels) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t di[4] = {static_cast<hsize_t>(n), static_cast<hsize_t>(size), static_cast<hsize_t>(size), 3};
  hsize_t dl[2] = {static_cast<hsize_t>(n), 6};
  hid_t si = H5Screate_simple(4, di, nullptr), sl = H5Screate_simple(2, dl, nullptr);
  hid_t d1 = H5Dcreate2(f, "images", H5T_NATIVE_UINT8, si, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t d2 = H5Dcreate2(f, "labels", H5T_NATIVE_DOUBLE, sl, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d1, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, images.data());
  H5Dwrite(d2, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels.data());
  H5Dclose(d1);
  H5Dclose(d2);
  H5Sclose(si);
  H5Sclose(sl);
  H5Fclose(f);
}

// A 3dshapes.h5 whose datasets declare n images but store none (chunked, nothing written): the
// overflow tests of issue 11 (2^61 x 6 labels is more bytes than int64 counts).
inline void write_shapes3d_h5_declared(const std::string& path, uint64_t n, int size) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t di[4] = {n, static_cast<hsize_t>(size), static_cast<hsize_t>(size), 3}, ci[4] = {1, di[1], di[2], 3};
  const hsize_t dl[2] = {n, 6}, cl[2] = {1, 6};
  const struct {
    const char* name;
    int rank;
    const hsize_t *dims, *chunk;
    hid_t type;
  } sets[] = {{"images", 4, di, ci, H5T_NATIVE_UINT8}, {"labels", 2, dl, cl, H5T_NATIVE_DOUBLE}};
  for (const auto& s : sets) {
    hid_t sp = H5Screate_simple(s.rank, s.dims, nullptr), pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(pl, s.rank, s.chunk);
    H5Dclose(H5Dcreate2(f, s.name, s.type, sp, H5P_DEFAULT, pl, H5P_DEFAULT));
    H5Pclose(pl);
    H5Sclose(sp);
  }
  H5Fclose(f);
}

}  // namespace lpl::test
