// Fashion-MNIST from the gzip IDX files of Debian's dataset-fashion-mnist package (or --data_dir):
// 28 px grayscale resized bilinearly to 32 px and replicated to 3 channels (spec §4).
// Splits: the 60,000 training images are permuted with split_seed (detail::seeded_permutation);
// the first 50,000 are the SSL split, the other 10,000 the probe-training and validation split;
// the 10,000 test images are the probe test split.
#include <zlib.h>

#include <cstring>

#include "data/readers.h"
#include "engine/common.h"

namespace lpl::data::detail {

namespace {
constexpr const char* kDebianDir = "/usr/share/datasets/fashion-mnist";

struct GzFile {
  gzFile f = nullptr;
  std::string path;
  explicit GzFile(const std::string& p) : path(p) {
    if (!file_exists(p)) fail("fashion-mnist: missing file " + p);
    f = gzopen(p.c_str(), "rb");
    if (!f) fail("fashion-mnist: cannot open " + p);
  }
  ~GzFile() { if (f) gzclose(f); }
  // Reads exactly n bytes; fails naming the file when it is truncated or not valid gzip.
  void read(void* dst, size_t n, const char* what) {
    size_t got = 0;
    while (got < n) {
      unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      int r = gzread(f, static_cast<char*>(dst) + got, chunk);
      if (r < 0) {
        int err = 0;
        const char* msg = gzerror(f, &err);
        fail(strf("fashion-mnist: %s: corrupt gzip data (%s)", path.c_str(), msg ? msg : "?"));
      }
      if (r == 0) {
        int err = 0;
        const char* msg = gzerror(f, &err);
        if (err != Z_OK && err != Z_BUF_ERROR) fail(strf("fashion-mnist: %s: corrupt gzip data (%s)", path.c_str(), msg));
        fail(strf("fashion-mnist: %s: truncated (%s: wanted %zu bytes, file ends after %zu)", path.c_str(), what, n, got));
      }
      got += static_cast<size_t>(r);
    }
  }
  uint32_t be32(const char* what) {
    uint8_t b[4];
    read(b, 4, what);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }
};
}  // namespace

ImageSet read_idx_images_gz(const std::string& path) {
  GzFile g(path);
  uint32_t magic = g.be32("header");
  if (magic != 0x00000803u) fail(strf("fashion-mnist: %s: wrong magic number 0x%08x (IDX uint8 images have 0x00000803)", path.c_str(), magic));
  uint32_t n = g.be32("header"), rows = g.be32("header"), cols = g.be32("header");
  if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096 || n > 10000000u)
    fail(strf("fashion-mnist: %s: implausible size %u x %u x %u", path.c_str(), n, rows, cols));
  ImageSet s;
  s.n = n; s.c = 1; s.h = rows; s.w = cols;
  s.pixels.resize(static_cast<size_t>(n) * rows * cols);
  g.read(s.pixels.data(), s.pixels.size(), "pixels");
  return s;
}

std::vector<int32_t> read_idx_labels_gz(const std::string& path) {
  GzFile g(path);
  uint32_t magic = g.be32("header");
  if (magic != 0x00000801u) fail(strf("fashion-mnist: %s: wrong magic number 0x%08x (IDX uint8 labels have 0x00000801)", path.c_str(), magic));
  uint32_t n = g.be32("header");
  if (n > 10000000u) fail(strf("fashion-mnist: %s: implausible label count %u", path.c_str(), n));
  std::vector<uint8_t> raw(n);
  g.read(raw.data(), raw.size(), "labels");
  std::vector<int32_t> out(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (raw[i] > 9) fail(strf("fashion-mnist: %s: label %u of image %u is outside 0..9", path.c_str(), raw[i], i));
    out[i] = raw[i];
  }
  return out;
}

namespace {
ImageSet read_split(const std::string& dir, const std::string& prefix) {
  ImageSet s = read_idx_images_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  std::string lp = dir + "/" + prefix + "-labels-idx1-ubyte.gz";
  s.labels = read_idx_labels_gz(lp);
  if (static_cast<int64_t>(s.labels.size()) != s.n)
    fail(strf("fashion-mnist: %s holds %zu labels but its images file holds %lld images", lp.c_str(), s.labels.size(),
              static_cast<long long>(s.n)));
  s.num_classes = 10;
  return replicate_to_rgb(resize_images(s, 32));
}
}  // namespace

DatasetSplits load_fashion_mnist(const DataOptions& opt) {
  const std::string dir = opt.data_dir.empty() ? kDebianDir : opt.data_dir;
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                        "t10k-labels-idx1-ubyte.gz"})
    if (!file_exists(dir + "/" + f))
      fail(strf("fashion-mnist: missing %s/%s (install Debian's dataset-fashion-mnist with scripts/setup.sh, "
                "or point --data_dir at a folder with the four gzip IDX files)", dir.c_str(), f));
  DatasetSplits d;
  d.name = "fashion-mnist";
  d.image_size = 32;
  d.norm = {{0.2860f, 0.2860f, 0.2860f}, {0.3530f, 0.3530f, 0.3530f}};
  ImageSet train = read_split(dir, "train");
  d.test = read_split(dir, "t10k");
  // The real files have 60,000 training images; smaller (test) files keep the 5:1 proportion.
  const int64_t n_ssl = train.n == 60000 ? 50000 : train.n * 5 / 6;
  auto perm = seeded_permutation(train.n, opt.split_seed);
  d.ssl_train = subset(train, perm, 0, n_ssl);
  d.probe_train = subset(train, perm, n_ssl, train.n);
  d.validation = d.probe_train;
  return d;
}

}  // namespace lpl::data::detail
