// `pairs` and the .npy reader: files written by NumPy (tests/data/datasets) and generated here,
// the loader's pair batches, and every refusal.
#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "data/dataset.h"
#include "data/loader.h"
#include "data/npy.h"
#include "data_files.h"
#include "test_util.h"

using namespace lpl;
using namespace lpl::data;

namespace {
std::string npy_dir() { return std::string(std::getenv("LPL_TEST_DATA")) + "/datasets"; }

// N pairs of C x H x W uint8 images: view 1 value (i * 10 + k) % 256, view 2 the same + 1.
void write_pairs_u8(const std::string& dir, int64_t N, int64_t C, int64_t H, int64_t W, bool labels) {
  std::vector<uint8_t> v1(static_cast<size_t>(N * C * H * W)), v2(v1.size());
  for (size_t k = 0; k < v1.size(); ++k) {
    int64_t i = static_cast<int64_t>(k) / (C * H * W);
    v1[k] = static_cast<uint8_t>((i * 10 + static_cast<int64_t>(k)) % 256);
    v2[k] = static_cast<uint8_t>(v1[k] + 1);
  }
  write_npy(dir + "/view1.npy", "u1", {N, C, H, W}, v1.data());
  write_npy(dir + "/view2.npy", "u1", {N, C, H, W}, v2.data());
  if (labels) {
    std::vector<int64_t> l(static_cast<size_t>(N));
    std::iota(l.begin(), l.end(), 0);  // label = index, so batches can be traced
    write_npy(dir + "/labels.npy", "i8", {N}, l.data());
  }
}
DatasetSplits load_pairs(const std::string& dir) {
  DataOptions o;
  o.dataset = "pairs";
  o.data_dir = dir;
  return load_dataset(o);
}
}  // namespace

TEST_CASE("npy: files written by NumPy read back with dtype, shape and values") {
  NpyRaw u = read_npy(npy_dir() + "/np_view_u1.npy");
  CHECK(u.dtype == "u1");
  CHECK(u.shape == std::vector<int64_t>{2, 1, 32, 33});
  for (int64_t k = 0; k < u.numel(); k += 97) CHECK(u.as<uint8_t>()[k] == k % 251);
  NpyRaw f = read_npy(npy_dir() + "/np_view_f4.npy");
  CHECK(f.dtype == "f4");
  CHECK(f.shape == std::vector<int64_t>{2, 3, 32, 32});
  CHECK(f.as<float>()[1234] == doctest::Approx(1234 / 1000.0 - 3.0));
  CHECK(read_npy(npy_dir() + "/np_labels_i8.npy").as<int64_t>()[1] == 7);
  CHECK(read_npy(npy_dir() + "/np_labels_i4.npy").as<int32_t>()[0] == 1);
  CHECK_THROWS_WITH_AS(read_npy(npy_dir() + "/np_f8.npy"), doctest::Contains("dtype <f8 not supported (float32, uint8, int64, int32)"), Error);
  CHECK_THROWS_WITH_AS(read_npy(npy_dir() + "/np_fortran.npy"), doctest::Contains("Fortran-order arrays not supported"), Error);
}

TEST_CASE("npy: bad magic, truncated and oversized files are refused") {
  test::TempDir d;
  test::write_bytes(d / "x.npy", {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH_AS(read_npy(d / "x.npy"), doctest::Contains("is not a .npy file (bad magic)"), Error);
  auto good = test::read_bytes(npy_dir() + "/np_view_u1.npy");
  auto cut = good;
  cut.resize(cut.size() - 5);
  test::write_bytes(d / "c.npy", cut);
  CHECK_THROWS_WITH_AS(read_npy(d / "c.npy"), doctest::Contains("2107 data bytes, the header's shape and dtype want 2112 (truncated)"), Error);
  good.push_back(0);
  test::write_bytes(d / "l.npy", good);
  CHECK_THROWS_WITH_AS(read_npy(d / "l.npy"), doctest::Contains("(wrong size)"), Error);
  CHECK_THROWS_WITH_AS(read_npy(d / "none.npy"), doctest::Contains("npy: missing file"), Error);
  std::filesystem::create_directories(d / "dir.npy");  // a folder where a file belongs: said so
  CHECK_THROWS_WITH_AS(read_npy(d / "dir.npy"), ("npy: " + (d / "dir.npy") + " is a directory, expected a file").c_str(), Error);
}

TEST_CASE("pairs: headers declaring 2^61 images are refused (the byte count must not wrap to 0)") {
  // Issue 11: (2^61, 1, 32, 32) uint8 is 2^71 bytes, which wrapped to 0 and matched the empty data.
  test::TempDir d;
  const std::string huge = "(2305843009213693952, 1, 32, 32)";
  auto put = [&](const std::string& name, const std::string& descr, const std::string& shape) {
    const std::string b = test::npy_bytes(descr, shape);
    test::write_bytes(d / name, std::vector<uint8_t>(b.begin(), b.end()));
  };
  put("view1.npy", "|u1", huge);
  put("view2.npy", "|u1", huge);
  put("labels.npy", "<i8", "(2305843009213693952,)");
  const std::string want = "npy: " + (d / "view1.npy") +
                           ": declared shape (2305843009213693952,1,32,32) is too large (overflows 64-bit byte count)";
  CHECK_THROWS_WITH_AS(load_pairs(d.path), want.c_str(), Error);
  // A dimension beyond int64 itself, and a product that overflows only with the item size.
  put("view1.npy", "|u1", "(99999999999999999999, 1, 32, 32)");
  CHECK_THROWS_WITH_AS(load_pairs(d.path), doctest::Contains("is too large"), Error);
  put("view1.npy", "<f4", "(2305843009213693952, 1)");
  CHECK_THROWS_WITH_AS(read_npy(d / "view1.npy"), doctest::Contains("is too large (overflows 64-bit byte count)"), Error);
}

TEST_CASE("pairs: uint8 pairs, 1 channel replicated, labels, splits; the loader pairs view 1 with view 2") {
  test::TempDir d;
  write_pairs_u8(d.path, 10, 1, 32, 40, true);
  DatasetSplits s = load_pairs(d.path);
  CHECK(s.name == "pairs");
  CHECK_FALSE(s.augment);
  CHECK(s.image_size == 32);
  CHECK(s.ssl_train.n == 10);
  CHECK(s.ssl_train.c == 3);
  CHECK(s.ssl_train.w == 40);
  CHECK(s.ssl_train.pixels2.size() == s.ssl_train.pixels.size());
  CHECK(s.probe_train.n == 8);
  CHECK(s.test.n == 2);
  CHECK(s.validation.n == 0);
  LoaderOptions o;
  o.batch_size = 4;
  o.threads = 2;
  Loader ld(s.ssl_train, s, o);
  CHECK(ld.batches_per_epoch() == 2);  // the partial batch is dropped
  ld.start_epoch(0);
  Batch b;
  int batches = 0;
  std::vector<int32_t> seen;
  while (ld.next(b)) {
    ++batches;
    CHECK(b.view1.shape() == Shape{4, 3, 32, 40});
    auto v1 = b.view1.to_vector(), v2 = b.view2.to_vector();
    CHECK(b.eval_view.to_vector() == v1);
    for (int64_t r = 0; r < 4; ++r) {
      const int64_t i = b.labels.data<int32_t>()[r];
      seen.push_back(static_cast<int32_t>(i));
      for (int c = 0; c < 3; ++c)
        for (int64_t k : {0, 77, 1279}) {  // channel c replicates the file's single channel
          const float want = static_cast<float>((i * 10 + i * 1280 + k) % 256);
          CHECK(v1[static_cast<size_t>(((r * 3 + c) * 1280) + k)] == doctest::Approx(want / 255.0));
          CHECK(v2[static_cast<size_t>(((r * 3 + c) * 1280) + k)] == doctest::Approx(static_cast<float>(static_cast<uint8_t>(want + 1)) / 255.0));
        }
    }
  }
  CHECK(batches == 2);
  std::sort(seen.begin(), seen.end());
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());  // one permutation: no repeats
}

TEST_CASE("pairs: float32 views are used as given; without labels the probe splits are empty") {
  test::TempDir d;
  std::vector<float> v1(2 * 3 * 32 * 32), v2(v1.size());
  for (size_t k = 0; k < v1.size(); ++k) { v1[k] = -5.f + 0.001f * k; v2[k] = 7.f - 0.002f * k; }
  write_npy(d / "view1.npy", "f4", {2, 3, 32, 32}, v1.data());
  write_npy(d / "view2.npy", "f4", {2, 3, 32, 32}, v2.data());
  DatasetSplits s = load_pairs(d.path);
  CHECK(s.ssl_train.fpixels == v1);
  CHECK(s.ssl_train.fpixels2 == v2);
  CHECK(s.ssl_train.labels.empty());
  CHECK(s.probe_train.n == 0);
  CHECK(s.test.n == 0);
  LoaderOptions o;
  o.batch_size = 2;
  o.shuffle = false;
  Loader ld(s.ssl_train, s, o);
  ld.start_epoch(0);
  Batch b;
  REQUIRE(ld.next(b));
  CHECK(b.view1.to_vector() == v1);
  CHECK(b.view2.to_vector() == v2);
  CHECK_FALSE(b.labels.defined());
}

TEST_CASE("pairs: every inconsistent folder is refused with a clear message") {
  test::TempDir d;
  CHECK_THROWS_WITH_AS(load_pairs(""), doctest::Contains("pairs: --data_dir is required"), Error);
  CHECK_THROWS_WITH_AS(load_pairs(d.path), doctest::Contains(("npy: missing file " + d.path + "/view1.npy").c_str()), Error);
  write_pairs_u8(d.path, 4, 3, 32, 32, false);
  std::vector<uint8_t> other(5 * 3 * 32 * 32);
  write_npy(d / "view2.npy", "u1", {5, 3, 32, 32}, other.data());
  CHECK_THROWS_WITH_AS(load_pairs(d.path), doctest::Contains("view1.npy is 4 x 3 x 32 x 32 but view2.npy is 5 x 3 x 32 x 32"), Error);
  std::vector<float> f(4 * 3 * 32 * 32);
  write_npy(d / "view2.npy", "f4", {4, 3, 32, 32}, f.data());
  CHECK_THROWS_WITH_AS(load_pairs(d.path), doctest::Contains("view1.npy is u1 but view2.npy is f4"), Error);
  write_pairs_u8(d.path, 4, 2, 32, 32, false);
  CHECK_THROWS_WITH_AS(load_pairs(d.path), doctest::Contains("view1.npy has 2 channels, want 1 or 3"), Error);
  write_pairs_u8(d.path, 4, 3, 31, 32, false);
  CHECK_THROWS_WITH_AS(load_pairs(d.path), doctest::Contains("images are 31 x 32, want H, W >= 32"), Error);
  write_pairs_u8(d.path, 4, 3, 32, 32, false);
  std::vector<int64_t> l3{0, 1, 2};
  write_npy(d / "labels.npy", "i8", {3}, l3.data());
  CHECK_THROWS_WITH_AS(load_pairs(d.path), doctest::Contains("labels.npy has shape 3, want (4,) like the views"), Error);
  std::vector<int64_t> neg{0, 1, -2, 3};
  write_npy(d / "labels.npy", "i8", {4}, neg.data());
  CHECK_THROWS_WITH_AS(load_pairs(d.path), doctest::Contains("label -2 of image 2 is not a class index"), Error);
  std::vector<uint8_t> lu{0, 1, 2, 3};
  write_npy(d / "labels.npy", "u1", {4}, lu.data());
  CHECK_THROWS_WITH_AS(load_pairs(d.path), doctest::Contains("labels.npy has dtype u1, want int64 or int32"), Error);
  std::vector<int32_t> l32{3, 1, 2, 0};
  write_npy(d / "labels.npy", "i4", {4}, l32.data());
  CHECK(load_pairs(d.path).probe_train.labels.size() == 3);
}
