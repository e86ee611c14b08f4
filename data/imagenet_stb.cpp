// imagenet2012 as image folders (torchvision ImageFolder layout): <data_dir>/train/<class>/*.{jpg,
// jpeg,png} and <data_dir>/val/<class>/*, decoded with stb_image. Classes are the sorted names of
// train/'s sub-folders. Every image is stored as its centre square resized (PIL bilinear,
// antialiased) to 196 x 196 (--downsample_images: 32), uint8 in memory: the full ImageNet train
// set needs about 148 GB at 196 px, so this is meant for subsets unless the machine has that much.
// Splits: train/ minus 50 images per class (chosen with split_seed) is the SSL split; those 50 per
// class are the probe-training and validation split; val/ is the probe test split.
#include <stb/stb_image.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "data/readers.h"
#include "engine/common.h"

namespace lpl::data::detail {

namespace fs = std::filesystem;

namespace {
bool is_image(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e == ".jpg" || e == ".jpeg" || e == ".png";
}

struct Listing {
  std::vector<std::string> files;
  std::vector<int32_t> labels;
};

Listing list_folder(const std::string& dir, const std::map<std::string, int>& classes, bool define_classes) {
  Listing l;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  if (names.empty()) fail("imagenet2012: " + dir + " has no class sub-folders (want <class>/<image>.jpg)");
  for (const auto& n : names) {
    auto it = classes.find(n);
    if (it == classes.end()) {
      if (define_classes) continue;  // not reached: classes come from this folder
      fail("imagenet2012: class folder " + dir + "/" + n + " is not among the training classes");
    }
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(dir + "/" + n))
      if (e.is_regular_file() && is_image(e.path())) files.push_back(e.path().string());
    if (files.empty()) fail("imagenet2012: class folder " + dir + "/" + n + " holds no .jpg/.jpeg/.png images");
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      l.files.push_back(f);
      l.labels.push_back(it->second);
    }
  }
  return l;
}

// Decodes every file (threads), centre square, resize to S x S; fails naming the first bad file.
ImageSet decode_all(const Listing& l, int S, int num_classes) {
  ImageSet s;
  s.n = static_cast<int64_t>(l.files.size());
  s.c = 3; s.h = S; s.w = S;
  s.num_classes = num_classes;
  s.labels = l.labels;
  s.pixels.resize(static_cast<size_t>(s.n * 3 * S * S));
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::string error;
  auto work = [&] {
    std::vector<uint8_t> chw;
    for (int64_t i = next++; i < s.n; i = next++) {
      int w = 0, h = 0, n = 0;
      uint8_t* d = stbi_load(l.files[static_cast<size_t>(i)].c_str(), &w, &h, &n, 3);
      if (!d) {
        std::lock_guard<std::mutex> lk(mu);
        if (error.empty()) error = "imagenet2012: cannot decode " + l.files[static_cast<size_t>(i)] + " (" + stbi_failure_reason() + ")";
        continue;
      }
      const int side = std::min(w, h), x0 = (w - side) / 2, y0 = (h - side) / 2;
      chw.resize(static_cast<size_t>(3) * side * side);
      for (int c = 0; c < 3; ++c)
        for (int y = 0; y < side; ++y)
          for (int x = 0; x < side; ++x)
            chw[(static_cast<size_t>(c) * side + y) * side + x] = d[(static_cast<size_t>(y0 + y) * w + x0 + x) * 3 + c];
      stbi_image_free(d);
      resize_bilinear_u8(chw.data(), 3, side, side, s.pixels.data() + i * 3 * S * S, S, S);
    }
  };
  const unsigned nt = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < nt; ++t) ts.emplace_back(work);
  for (auto& t : ts) t.join();
  if (!error.empty()) fail(error);
  return s;
}
}  // namespace

DatasetSplits load_imagenet(const DataOptions& opt) {
  const std::string dir = opt.data_dir.empty() ? default_data_dir("imagenet2012") : opt.data_dir;
  for (const char* sub : {"train", "val"})
    if (!fs::is_directory(dir + "/" + sub))
      fail(std::string("imagenet2012: missing folder ") + dir + "/" + sub +
           " (want train/<class>/*.JPEG and val/<class>/*.JPEG, the ImageFolder layout; or pass --data_dir)");
  std::map<std::string, int> classes;
  {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir + "/train"))
      if (e.is_directory()) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    for (size_t k = 0; k < names.size(); ++k) classes[names[k]] = static_cast<int>(k);
  }
  const int S = opt.downsample_images ? 32 : 196, K = static_cast<int>(classes.size());
  Listing train = list_folder(dir + "/train", classes, true), val = list_folder(dir + "/val", classes, false);
  // 50 per class for the probe (fewer when a class is small: at most half of it).
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(K));
  auto perm = seeded_permutation(static_cast<int64_t>(train.files.size()), opt.split_seed);
  for (int64_t i : perm) by_class[static_cast<size_t>(train.labels[static_cast<size_t>(i)])].push_back(i);
  std::vector<int64_t> probe_idx, ssl_idx;
  for (auto& v : by_class) {
    const size_t hold = std::min<size_t>(50, v.size() / 2);
    probe_idx.insert(probe_idx.end(), v.begin(), v.begin() + static_cast<ptrdiff_t>(hold));
    ssl_idx.insert(ssl_idx.end(), v.begin() + static_cast<ptrdiff_t>(hold), v.end());
  }
  std::sort(probe_idx.begin(), probe_idx.end());
  std::sort(ssl_idx.begin(), ssl_idx.end());
  ImageSet all = decode_all(train, S, K);
  DatasetSplits d;
  d.name = "imagenet2012";
  d.image_size = S;
  d.norm = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  d.probe_train = subset(all, probe_idx, 0, static_cast<int64_t>(probe_idx.size()));
  d.ssl_train = subset(all, ssl_idx, 0, static_cast<int64_t>(ssl_idx.size()));
  d.validation = d.probe_train;
  d.test = decode_all(val, S, K);
  return d;
}

}  // namespace lpl::data::detail
