// CIFAR-10 and STL-10 official binary formats, on files generated here (and each corruption of
// them), plus the offline / download-failure messages.
#include <cstdlib>
#include <filesystem>

#include "data/cifar10.h"
#include "data/dataset.h"
#include "data/download.h"
#include "data/stl10.h"
#include "data_files.h"
#include "test_util.h"

using namespace lpl;
using namespace lpl::data;

namespace {
uint8_t cifar_px(int64_t i, int c, int y, int x) { return static_cast<uint8_t>((i * 11 + c * 50 + y * 7 + x) % 256); }

// A CIFAR batch of n records; record i has label (i + k) % 10 and pixels cifar_px(i + 1000 k, ...).
std::vector<uint8_t> cifar_batch(int64_t n, int k) {
  std::vector<uint8_t> v;
  for (int64_t i = 0; i < n; ++i) {
    v.push_back(static_cast<uint8_t>((i + k) % 10));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) v.push_back(cifar_px(i + 1000 * k, c, y, x));
  }
  return v;
}
void write_cifar(const std::string& dir, int64_t n) {
  for (int k = 1; k <= 5; ++k) test::write_bytes(dir + "/data_batch_" + std::to_string(k) + ".bin", cifar_batch(n, k));
  test::write_bytes(dir + "/test_batch.bin", cifar_batch(n, 0));
}

struct EnvVar {  // sets an environment variable for one scope
  std::string name;
  EnvVar(const char* n, const std::string& v) : name(n) { setenv(n, v.c_str(), 1); }
  ~EnvVar() { unsetenv(name.c_str()); }
};
}  // namespace

TEST_CASE("cifar10: generated binary batches load with shapes, labels, pixels and the 4:1 split") {
  test::TempDir d;
  write_cifar(d.path, 20);
  DatasetSplits s = detail::load_cifar10_from(d.path, 20, 42);
  CHECK(s.name == "cifar10");
  CHECK(s.image_size == 32);
  CHECK(s.ssl_train.n == 80);
  CHECK(s.probe_train.n == 20);
  CHECK(s.validation.n == 20);
  CHECK(s.test.n == 20);
  CHECK(s.norm.mean[0] == doctest::Approx(125.3 / 255));
  CHECK(s.norm.std[2] == doctest::Approx(66.7 / 255));
  for (int64_t i = 0; i < 20; ++i) {
    CHECK(s.test.labels[i] == i % 10);
    for (int c = 0; c < 3; ++c) {
      CHECK(s.test.pixels[((i * 3 + c) * 32 + 5) * 32 + 9] == cifar_px(i, c, 5, 9));
      CHECK(s.test.pixels[((i * 3 + c) * 32 + 31) * 32 + 0] == cifar_px(i, c, 31, 0));
    }
  }
  // Training images: each carries its batch k and index i in its pixels; labels stay attached.
  for (const ImageSet* set : {&s.ssl_train, &s.probe_train})
    for (int64_t j = 0; j < set->n; ++j) {
      // Find (i, k) from the first pixel: (i + 1000 k) * 11 mod 256, search the 100 candidates.
      bool found = false;
      for (int k = 1; k <= 5 && !found; ++k)
        for (int64_t i = 0; i < 20 && !found; ++i)
          if (std::equal(set->pixels.begin() + j * 3072, set->pixels.begin() + (j + 1) * 3072,
                         cifar_batch(20, k).begin() + i * 3073 + 1)) {
            found = true;
            CHECK(set->labels[j] == (i + k) % 10);
          }
      CHECK(found);
    }
}

TEST_CASE("cifar10: official-size files through load_dataset (--data_dir with the batch files)") {
  test::TempDir d;
  write_cifar(d.path, 10000);
  DataOptions o;
  o.dataset = "cifar10";
  o.data_dir = d.path;
  DatasetSplits s = load_dataset(o);
  CHECK(s.ssl_train.n == 40000);
  CHECK(s.probe_train.n == 10000);
  CHECK(s.test.n == 10000);
  // and inside the archive's folder name
  test::TempDir e;
  write_cifar(e.path + "/cifar-10-batches-bin", 10000);
  o.data_dir = e.path;
  CHECK(load_dataset(o).ssl_train.n == 40000);
}

TEST_CASE("cifar10: missing, truncated, oversized files and bad labels give one clear error") {
  test::TempDir d;
  write_cifar(d.path, 4);
  std::filesystem::remove(d / "test_batch.bin");
  CHECK_THROWS_WITH_AS(detail::load_cifar10_from(d.path, 4, 42), doctest::Contains("cifar10: missing file"), Error);
  auto b = cifar_batch(4, 3);
  b.resize(b.size() - 10);
  test::write_bytes(d / "b.bin", b);
  CHECK_THROWS_WITH_AS(detail::read_cifar10_batch(d / "b.bin", 4), doctest::Contains("has 12282 bytes, want 12292 (4 records of 3073 bytes): truncated"), Error);
  b = cifar_batch(5, 3);
  test::write_bytes(d / "b.bin", b);
  CHECK_THROWS_WITH_AS(detail::read_cifar10_batch(d / "b.bin", 4), doctest::Contains(": wrong size"), Error);
  b = cifar_batch(4, 3);
  b[3 * 3073] = 10;
  test::write_bytes(d / "b.bin", b);
  CHECK_THROWS_WITH_AS(detail::read_cifar10_batch(d / "b.bin", 4), doctest::Contains("label 10 of record 3 is outside 0..9"), Error);
}

TEST_CASE("cifar10 / stl10: offline, the error says which archive to fetch from where and where to put it") {
  test::TempDir d;
  EnvVar off("LPL_OFFLINE", "1");
  DataOptions o;
  o.dataset = "cifar10";
  o.data_dir = d.path + "/cifar";
  CHECK_THROWS_WITH_AS(load_dataset(o), doctest::Contains(("missing " + d.path + "/cifar/cifar-10-batches-bin/data_batch_1.bin. Download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (md5 c32a1d4ab5d03f1284b67883e8d87530) and extract it into " + d.path + "/cifar").c_str()), Error);
  o.dataset = "stl10";
  o.data_dir = d.path + "/stl";
  CHECK_THROWS_WITH_AS(load_dataset(o), doctest::Contains("stl10_binary.tar.gz (md5 91f7769df0f17e558f3565bffb0c7dfb)"), Error);
  CHECK_FALSE(std::filesystem::exists(d.path + "/cifar"));  // nothing created offline
}

TEST_CASE("download: a failed download or a checksum mismatch leaves no partial file") {
  test::TempDir d;
  // A "mirror" folder with an archive whose checksum is not the official one.
  std::filesystem::create_directories(d.path + "/mirror/src/cifar-10-batches-bin");
  test::write_bytes(d.path + "/mirror/src/cifar-10-batches-bin/data_batch_1.bin", {1, 2, 3});
  REQUIRE(std::system(("tar -czf " + d.path + "/mirror/cifar-10-binary.tar.gz -C " + d.path + "/mirror/src cifar-10-batches-bin").c_str()) == 0);
  {
    EnvVar mirror("LPL_MIRROR", "file://" + d.path + "/mirror");
    DataOptions o;
    o.dataset = "cifar10";
    o.data_dir = d.path + "/data";
    CHECK_THROWS_WITH_AS(load_dataset(o), doctest::Contains("checksum"), Error);
    CHECK_FALSE(std::filesystem::exists(d.path + "/data/cifar-10-binary.tar.gz.part"));
    CHECK_FALSE(std::filesystem::exists(d.path + "/data/cifar-10-binary.tar.gz"));
  }
  {
    EnvVar mirror("LPL_MIRROR", "file://" + d.path + "/nowhere");
    DataOptions o;
    o.dataset = "cifar10";
    o.data_dir = d.path + "/data";
    CHECK_THROWS_WITH_AS(load_dataset(o), doctest::Contains("the download failed: curl exit status"), Error);
    CHECK_FALSE(std::filesystem::exists(d.path + "/data/cifar-10-binary.tar.gz.part"));
  }
  test::write_bytes(d / "abc", {'a', 'b', 'c'});
  CHECK(detail::md5_of_file(d / "abc") == "900150983cd24fb0d6963f7d28e17f72");  // RFC 1321 test vector
}

namespace {
uint8_t stl_px(int64_t i, int c, int y, int x) { return static_cast<uint8_t>((i * 13 + c * 70 + y * 2 + x * 5) % 256); }
// n images in STL's layout: channel planes stored column-major (byte x * 96 + y is pixel (y, x)).
std::vector<uint8_t> stl_images(int64_t n, int64_t first) {
  std::vector<uint8_t> v;
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c)
      for (int x = 0; x < 96; ++x)
        for (int y = 0; y < 96; ++y) v.push_back(stl_px(first + i, c, y, x));
  return v;
}
std::vector<uint8_t> stl_labels(int64_t n) {
  std::vector<uint8_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<uint8_t>(1 + i % 10));
  return v;
}
void write_stl(const std::string& dir, const detail::Stl10Counts& c) {
  test::write_bytes(dir + "/unlabeled_X.bin", stl_images(c.unlabeled, 1000));
  test::write_bytes(dir + "/train_X.bin", stl_images(c.train, 2000));
  test::write_bytes(dir + "/train_y.bin", stl_labels(c.train));
  test::write_bytes(dir + "/test_X.bin", stl_images(c.test, 0));
  test::write_bytes(dir + "/test_y.bin", stl_labels(c.test));
}
}  // namespace

TEST_CASE("stl10: generated binaries load transposed to row-major, labels 1..10 -> 0..9, spec splits") {
  test::TempDir d;
  detail::Stl10Counts c{40, 10, 6};
  write_stl(d.path, c);
  DatasetSplits s = detail::load_stl10_from(d.path, c, 42, false);
  CHECK(s.name == "stl10");
  CHECK(s.image_size == 96);
  CHECK(s.ssl_train.n == 38);
  CHECK(s.validation.n == 2);
  CHECK(s.probe_train.n == 9);
  CHECK(s.test.n == 6);
  CHECK(s.ssl_train.labels.empty());
  CHECK(s.ssl_train.h == 96);
  for (int64_t i = 0; i < 6; ++i) {
    CHECK(s.test.labels[i] == i % 10);
    for (int c3 = 0; c3 < 3; ++c3)
      for (auto [y, x] : {std::pair{0, 1}, {5, 70}, {95, 3}, {40, 95}})
        CHECK(s.test.pixels[((i * 3 + c3) * 96 + y) * 96 + x] == stl_px(i, c3, y, x));
  }
  for (int32_t l : s.probe_train.labels) CHECK((l >= 0 && l < 10));
  DatasetSplits ds = detail::load_stl10_from(d.path, c, 42, true);  // --downsample_images
  CHECK(ds.image_size == 32);
  CHECK(ds.ssl_train.h == 32);
  CHECK(ds.test.pixels.size() == static_cast<size_t>(6 * 3 * 32 * 32));
}

TEST_CASE("stl10: missing, truncated, oversized files and bad labels give one clear error") {
  test::TempDir d;
  detail::Stl10Counts c{4, 3, 2};
  write_stl(d.path, c);
  auto y = stl_labels(3);
  y[1] = 0;
  test::write_bytes(d / "train_y.bin", y);
  CHECK_THROWS_WITH_AS(detail::load_stl10_from(d.path, c, 1, false), doctest::Contains("label 0 of image 1 is outside 1..10"), Error);
  test::write_bytes(d / "train_y.bin", stl_labels(2));
  CHECK_THROWS_WITH_AS(detail::load_stl10_from(d.path, c, 1, false), doctest::Contains("train_y.bin has 2 bytes, want 3 (3 labels): truncated"), Error);
  test::write_bytes(d / "train_y.bin", stl_labels(3));
  auto x = stl_images(2, 0);
  x.pop_back();
  test::write_bytes(d / "test_X.bin", x);
  CHECK_THROWS_WITH_AS(detail::load_stl10_from(d.path, c, 1, false), doctest::Contains("test_X.bin has 55295 bytes, want 55296 (2 images of 3 x 96 x 96): truncated"), Error);
  test::write_bytes(d / "test_X.bin", stl_images(3, 0));
  CHECK_THROWS_WITH_AS(detail::load_stl10_from(d.path, c, 1, false), doctest::Contains("wrong size"), Error);
  test::write_bytes(d / "test_X.bin", stl_images(2, 0));
  std::filesystem::remove(d / "unlabeled_X.bin");
  CHECK_THROWS_WITH_AS(detail::load_stl10_from(d.path, c, 1, false), doctest::Contains(("stl10: missing file " + d.path + "/unlabeled_X.bin").c_str()), Error);
}
