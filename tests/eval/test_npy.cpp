// .npy reading and writing: round trips, files written by NumPy itself (v1 and v3 headers, float64),
// and clear errors for what cannot be read.
#include <cstdio>
#include <filesystem>
#include <string>

#include "data/npy.h"
#include "engine/file_util.h"
#include "test_util.h"

using namespace lpl;

namespace {
std::string tmp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("lpl_test_npy_" + std::to_string(::getpid()) + "_" + name)).string();
}
}  // namespace

TEST_CASE("npy float32 round trip keeps shape and values; header is 64-byte aligned") {
  const std::string p = tmp_path("a.npy");
  std::vector<float> v{1.5f, -2.f, 3.25f, 0.f, 7.f, -8.5f};
  data::save_npy_f32(p, v.data(), {2, 3});
  const std::string raw = read_file(p);
  CHECK(raw.substr(0, 6) == "\x93NUMPY");
  CHECK((raw.size() - 24) % 64 == 0);
  CHECK(raw.find("'shape': (2, 3)") != std::string::npos);
  const auto a = data::load_npy_f32(p);
  CHECK(a.shape == std::vector<int64_t>{2, 3});
  CHECK(a.data == v);
  data::save_npy_f32(p, v.data(), {6});
  CHECK(read_file(p).find("'shape': (6,)") != std::string::npos);
  std::remove(p.c_str());
}

TEST_CASE("npy files written by NumPy are read (float32 and float64)") {
  // np.save of np.arange(6, dtype=np.float32).reshape(1, 2, 3) and of np.array([0.5, -1.25]) (float64).
  const std::string dir = std::string(std::getenv("LPL_TEST_DATA") ? std::getenv("LPL_TEST_DATA") : "data") + "/eval/";
  const auto a = data::load_npy_f32(dir + "arange_f32.npy");
  CHECK(a.shape == std::vector<int64_t>{1, 2, 3});
  CHECK(a.data == std::vector<float>{0, 1, 2, 3, 4, 5});
  const auto b = data::load_npy_f32(dir + "f64.npy");
  CHECK(b.shape == std::vector<int64_t>{2});
  CHECK(b.data == std::vector<float>{0.5f, -1.25f});
}

TEST_CASE("npy: a shape whose byte count overflows 64 bits is refused, not wrapped") {
  // (2^61, 4) float32 is 2^65 bytes: it wrapped to 0 and then matched an empty data section.
  const std::string p = tmp_path("huge.npy");
  atomic_write_file(p, test::npy_bytes("<f4", "(2305843009213693952, 4)"));
  CHECK_THROWS_WITH_AS(data::load_npy_f32(p),
                       ("'" + p + "': declared shape (2305843009213693952,4) is too large (overflows 64-bit byte count)").c_str(), Error);
  atomic_write_file(p, test::npy_bytes("<f8", "(4611686018427387904, 4611686018427387904)"));
  CHECK_THROWS_WITH_AS(data::load_npy_f32(p), doctest::Contains("is too large (overflows 64-bit byte count)"), Error);
  std::remove(p.c_str());
}

TEST_CASE("npy errors name the file and the problem") {
  const std::string p = tmp_path("bad.npy");
  atomic_write_file(p, std::string("hello world, not numpy"));
  CHECK_THROWS_WITH_AS(data::load_npy_f32(p), ("'" + p + "' is not a NumPy .npy file (bad magic)").c_str(), Error);
  std::vector<float> v(12, 1.f);
  data::save_npy_f32(p, v.data(), {3, 4});
  std::string raw = read_file(p);
  atomic_write_file(p, raw.substr(0, raw.size() - 8));
  CHECK_THROWS_WITH_AS(data::load_npy_f32(p),
                       ("'" + p + "': truncated: shape (3, 4) needs 48 bytes of data, the file has 40").c_str(), Error);
  data::save_npy_i64(p, {1, 2, 3});
  CHECK_THROWS_WITH_AS(data::load_npy_f32(p),
                       ("'" + p + "': dtype '<i8' is not supported (need float32 '<f4' or float64 '<f8')").c_str(), Error);
  std::remove(p.c_str());
  CHECK_THROWS_AS(data::load_npy_f32(p), Error);  // missing file
}
