// Fashion-MNIST: gzip IDX files generated here (and every corruption of them), plus the real files
// of Debian's dataset-fashion-mnist package when installed.
#include <algorithm>
#include <cmath>
#include <set>

#include "data/dataset.h"
#include "data/readers.h"
#include "data_files.h"
#include "test_util.h"

using namespace lpl;
using namespace lpl::data;

namespace {
// n images of 28 x 28 with pixel (y, x) of image i = (i * 7 + y * 3 + x) % 256; label i % 10.
void write_fmnist(const test::TempDir& d, const std::string& prefix, uint32_t n) {
  std::vector<uint8_t> px(static_cast<size_t>(n) * 28 * 28), lab(n);
  for (uint32_t i = 0; i < n; ++i) {
    lab[i] = static_cast<uint8_t>(i % 10);
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) px[(i * 28 + y) * 28 + x] = static_cast<uint8_t>((i * 7 + y * 3 + x) % 256);
  }
  test::write_gz(d / (prefix + "-images-idx3-ubyte.gz"), test::idx_images(n, 28, 28, px));
  test::write_gz(d / (prefix + "-labels-idx1-ubyte.gz"), test::idx_labels(lab));
}
void write_all(const test::TempDir& d, uint32_t n_train = 60, uint32_t n_test = 12) {
  write_fmnist(d, "train", n_train);
  write_fmnist(d, "t10k", n_test);
}
DatasetSplits load(const test::TempDir& d) {
  DataOptions o;
  o.dataset = "fashion-mnist";
  o.data_dir = d.path;
  return load_dataset(o);
}
}  // namespace

TEST_CASE("fashion-mnist: generated gzip IDX files load with the spec's shapes, splits and labels") {
  test::TempDir d;
  write_all(d);
  DatasetSplits s = load(d);
  CHECK(s.name == "fashion-mnist");
  CHECK(s.image_size == 32);
  CHECK(s.augment);
  CHECK(s.norm.mean[1] == doctest::Approx(0.2860));
  CHECK(s.norm.std[2] == doctest::Approx(0.3530));
  CHECK(s.ssl_train.n == 50);
  CHECK(s.probe_train.n == 10);
  CHECK(s.validation.n == 10);
  CHECK(s.test.n == 12);
  for (const ImageSet* set : {&s.ssl_train, &s.probe_train, &s.test}) {
    CHECK(set->c == 3);
    CHECK(set->h == 32);
    CHECK(set->w == 32);
    CHECK(set->num_classes == 10);
    CHECK(set->pixels.size() == static_cast<size_t>(set->n * 3 * 32 * 32));
    REQUIRE(set->labels.size() == static_cast<size_t>(set->n));
    for (int32_t l : set->labels) CHECK((l >= 0 && l < 10));
  }
  // The test split keeps file order: image i has label i % 10; its three channels are equal and
  // its pixels are PIL's bilinear 28 -> 32 resize of the generated pattern (float64 reference).
  for (int64_t i = 0; i < s.test.n; ++i) CHECK(s.test.labels[i] == i % 10);
  const double scale = 28.0 / 32.0;
  int worst = 0;
  for (int64_t i = 0; i < s.test.n; ++i)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) {
        auto tri = [&](int o, std::vector<std::pair<int, double>>& taps) {
          double c = (o + 0.5) * scale, tot = 0;
          int lo = std::max(static_cast<int>(c - 1 + 0.5), 0), hi = std::min(static_cast<int>(c + 1 + 0.5), 28);
          for (int k = lo; k < hi; ++k) {
            double w = std::max(0.0, 1 - std::abs(k - c + 0.5));
            taps.push_back({k, w});
            tot += w;
          }
          for (auto& t : taps) t.second /= tot;
        };
        std::vector<std::pair<int, double>> ty, tx;
        tri(y, ty);
        tri(x, tx);
        double v = 0;
        for (auto [yy, wy] : ty)
          for (auto [xx, wx] : tx) v += wy * wx * ((i * 7 + yy * 3 + xx) % 256);
        const size_t base = static_cast<size_t>(i * 3 * 1024 + y * 32 + x);
        worst = std::max(worst, std::abs(static_cast<int>(s.test.pixels[base]) - static_cast<int>(std::lround(v))));
        CHECK(s.test.pixels[base] == s.test.pixels[base + 1024]);
        CHECK(s.test.pixels[base] == s.test.pixels[base + 2048]);
      }
  CHECK(worst <= 1);  // rounding of the intermediate row pass
  // The two training splits partition the training file: every label pattern occurs exactly once.
  std::set<std::string> seen;
  for (const ImageSet* set : {&s.ssl_train, &s.probe_train})
    for (int64_t i = 0; i < set->n; ++i)
      seen.insert(std::string(reinterpret_cast<const char*>(set->pixels.data()) + i * 3072, 3072));
  CHECK(seen.size() == 60);
}

TEST_CASE("fashion-mnist: the split depends on split_seed and is reproducible") {
  test::TempDir d;
  write_all(d);
  DataOptions o;
  o.dataset = "fashion-mnist";
  o.data_dir = d.path;
  auto a = load_dataset(o), b = load_dataset(o);
  CHECK(a.ssl_train.pixels == b.ssl_train.pixels);
  o.split_seed = 7;
  auto c = load_dataset(o);
  CHECK(a.ssl_train.pixels != c.ssl_train.pixels);
}

TEST_CASE("fashion-mnist: missing, truncated and corrupt files give one clear error") {
  {
    test::TempDir d;
    write_all(d);
    std::filesystem::remove(d / "t10k-labels-idx1-ubyte.gz");
    CHECK_THROWS_WITH_AS(load(d), doctest::Contains(("fashion-mnist: missing " + d.path + "/t10k-labels-idx1-ubyte.gz").c_str()), Error);
  }
  {  // truncated pixel data
    test::TempDir d;
    write_all(d);
    std::vector<uint8_t> px(60 * 28 * 28 - 100, 1);
    test::write_gz(d / "train-images-idx3-ubyte.gz", test::idx_images(60, 28, 28, px));
    CHECK_THROWS_WITH_AS(load(d), doctest::Contains("train-images-idx3-ubyte.gz: truncated (pixels"), Error);
  }
  {  // wrong magic
    test::TempDir d;
    write_all(d);
    test::write_gz(d / "train-images-idx3-ubyte.gz", test::idx_images(60, 28, 28, std::vector<uint8_t>(60 * 784), 0x801));
    CHECK_THROWS_WITH_AS(load(d), doctest::Contains("wrong magic number 0x00000801"), Error);
  }
  {  // label count differs from the image count
    test::TempDir d;
    write_all(d);
    test::write_gz(d / "train-labels-idx1-ubyte.gz", test::idx_labels(std::vector<uint8_t>(59, 1)));
    CHECK_THROWS_WITH_AS(load(d), doctest::Contains("holds 59 labels but its images file holds 60 images"), Error);
  }
  {  // label out of range
    test::TempDir d;
    write_all(d);
    std::vector<uint8_t> lab(60, 3);
    lab[17] = 12;
    test::write_gz(d / "train-labels-idx1-ubyte.gz", test::idx_labels(lab));
    CHECK_THROWS_WITH_AS(load(d), doctest::Contains("label 12 of image 17 is outside 0..9"), Error);
  }
  {  // gzip stream cut short (file truncated on disk)
    test::TempDir d;
    write_all(d);
    auto bytes = test::read_bytes(d / "train-images-idx3-ubyte.gz");
    bytes.resize(bytes.size() / 2);
    test::write_bytes(d / "train-images-idx3-ubyte.gz", bytes);
    CHECK_THROWS_WITH_AS(load(d), doctest::Contains("train-images-idx3-ubyte.gz"), Error);
  }
  {  // gzip data corrupted in the middle
    test::TempDir d;
    write_all(d);
    auto bytes = test::read_bytes(d / "train-images-idx3-ubyte.gz");
    for (size_t i = 20; i < 60 && i < bytes.size(); ++i) bytes[i] ^= 0x5a;
    test::write_bytes(d / "train-images-idx3-ubyte.gz", bytes);
    CHECK_THROWS_WITH_AS(load(d), doctest::Contains("train-images-idx3-ubyte.gz"), Error);
  }
}

TEST_CASE("fashion-mnist: a gzip file corrupted in the middle is refused by its CRC32 (issue 11)") {
  // 1000 bytes XOR-ed in the middle of the deflate data still decode, to wrong pixels: only the
  // gzip trailer's CRC32 tells. The real t10k images when installed, else a stored (level 0) file.
  test::TempDir d;
  const std::string real = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", p = d / "t10k-images-idx3-ubyte.gz";
  if (detail::file_exists(real)) {
    std::filesystem::copy_file(real, p);
  } else {
    write_fmnist(d, "t10k", 12);
    const ImageSet s = detail::read_idx_images_gz(p);
    test::write_gz(p, test::idx_images(12, 28, 28, s.pixels), "wb0");
  }
  const std::vector<uint8_t> good = test::read_bytes(p);
  CHECK(detail::read_idx_images_gz(p).pixels.size() > 0);
  const std::string crc = "fashion-mnist: " + p + ": CRC mismatch (corrupt file)";
  std::vector<uint8_t> bad = good;
  for (size_t i = bad.size() / 2 - 500; i < bad.size() / 2 + 500; ++i) bad[i] ^= 0x55;
  test::write_bytes(p, bad);
  CHECK_THROWS_WITH_AS(detail::read_idx_images_gz(p), crc.c_str(), Error);
  bad = good;  // the stored CRC itself damaged
  bad[bad.size() - 8] ^= 1;
  test::write_bytes(p, bad);
  CHECK_THROWS_WITH_AS(detail::read_idx_images_gz(p), crc.c_str(), Error);
  bad = good;  // the stored length (ISIZE) damaged
  bad[bad.size() - 1] ^= 1;
  test::write_bytes(p, bad);
  CHECK_THROWS_WITH_AS(detail::read_idx_images_gz(p), ("fashion-mnist: " + p + ": length field mismatch (corrupt file)").c_str(), Error);
  // Small files too: the reader must go on past the last pixel to the trailer.
  write_fmnist(d, "train", 60);
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}) {
    bad = test::read_bytes(d / f);
    bad[bad.size() - 8] ^= 1;
    test::write_bytes(d / f, bad);
  }
  CHECK_THROWS_WITH_AS(detail::read_idx_images_gz(d / "train-images-idx3-ubyte.gz"), doctest::Contains("CRC mismatch"), Error);
  CHECK_THROWS_WITH_AS(detail::read_idx_labels_gz(d / "train-labels-idx1-ubyte.gz"), doctest::Contains("CRC mismatch"), Error);
}

LPL_FASHION_MNIST_TEST_CASE("fashion-mnist: the real train images, corrupted in the middle or in the CRC field, are refused") {
  // The case issue 11 saw train silently: the old reader had all 47 MB of pixels before it reached
  // this file's gzip trailer, and stopped there without checking it.
  test::TempDir d;
  const std::string p = d / "train-images-idx3-ubyte.gz";
  std::filesystem::copy_file("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", p);
  const std::vector<uint8_t> good = test::read_bytes(p);
  const std::string crc = "fashion-mnist: " + p + ": CRC mismatch (corrupt file)";
  std::vector<uint8_t> bad = good;
  for (size_t i = bad.size() / 2; i < bad.size() / 2 + 1000; ++i) bad[i] ^= 0x5A;  // as scripts/reliability.sh
  test::write_bytes(p, bad);
  CHECK_THROWS_WITH_AS(detail::read_idx_images_gz(p), crc.c_str(), Error);
  bad = good;
  bad[bad.size() - 8] ^= 1;
  test::write_bytes(p, bad);
  CHECK_THROWS_WITH_AS(detail::read_idx_images_gz(p), crc.c_str(), Error);
}

TEST_CASE("fashion-mnist: a gzip file of several members decodes to their concatenation") {
  // gzip allows concatenated members (cat a.gz b.gz); each member's trailer is checked.
  const std::vector<uint8_t> lab{1, 2, 3, 4, 5, 6, 7, 8, 9, 0};
  const auto raw = test::idx_labels(lab);
  test::TempDir d;
  test::write_gz(d / "a.gz", std::vector<uint8_t>(raw.begin(), raw.begin() + 5));
  test::write_gz(d / "b.gz", std::vector<uint8_t>(raw.begin() + 5, raw.end()));
  auto bytes = test::read_bytes(d / "a.gz");
  const auto second = test::read_bytes(d / "b.gz");
  bytes.insert(bytes.end(), second.begin(), second.end());
  test::write_bytes(d / "ab.gz", bytes);
  CHECK(detail::read_idx_labels_gz(d / "ab.gz") == std::vector<int32_t>(lab.begin(), lab.end()));
}

TEST_CASE("fashion-mnist: a header declaring far more pixels than the file holds is refused before allocating") {
  // 10^7 x 4096 x 4096 passes the plausibility bounds but is 1.7e14 bytes: the reader must compare
  // with the data present instead of allocating what the header claims.
  test::TempDir d;
  const std::string p = d / "train-images-idx3-ubyte.gz";
  test::write_gz(p, test::idx_images(10000000, 4096, 4096, std::vector<uint8_t>(16, 1)));
  CHECK_THROWS_WITH_AS(detail::read_idx_images_gz(p),
                       ("fashion-mnist: " + p + ": truncated (pixels: wanted 167772160000000 bytes, file ends after 16)").c_str(), Error);
  auto raw = test::idx_labels(std::vector<uint8_t>(5, 1));
  raw.push_back(3);  // a byte more than the header declares
  test::write_gz(p, raw);
  CHECK_THROWS_WITH_AS(detail::read_idx_labels_gz(p), doctest::Contains("6 bytes after the header, the header declares 5"), Error);
}

LPL_FASHION_MNIST_TEST_CASE("fashion-mnist: the real files of Debian's package (when installed)") {
  DataOptions o;
  o.dataset = "fashion-mnist";
  DatasetSplits s = load_dataset(o);
  CHECK(s.ssl_train.n == 50000);
  CHECK(s.probe_train.n == 10000);
  CHECK(s.test.n == 10000);
  std::vector<int> count(10, 0);
  for (int32_t l : s.test.labels) count[static_cast<size_t>(l)]++;
  for (int c : count) CHECK(c == 1000);  // Fashion-MNIST's test set is balanced
  double mean = 0;
  for (uint8_t p : s.ssl_train.pixels) mean += p;
  mean /= 255.0 * static_cast<double>(s.ssl_train.pixels.size());
  CHECK(mean == doctest::Approx(0.2860).epsilon(0.02));  // the spec's normalisation mean
}

TEST_CASE("unknown datasets are refused with the list of known ones") {
  DataOptions o;
  o.dataset = "mnist";
  CHECK_THROWS_WITH_AS(load_dataset(o), doctest::Contains("--dataset mnist: unknown (choose cifar10"), Error);
}
