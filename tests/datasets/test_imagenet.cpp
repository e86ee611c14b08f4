// imagenet2012 image folders: PNG and JPEG files generated here with stb_image_write.
#include <stb/stb_image_write.h>

#include <filesystem>

#include "data/dataset.h"
#include "data_files.h"
#include "test_util.h"

using namespace lpl;
using namespace lpl::data;

namespace {
// A w x h RGB image of one colour (class k: (40 k, 255 - 40 k, 100)) with an index-dependent corner.
void write_image(const std::string& path, int w, int h, int k, bool jpeg) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::vector<uint8_t> px(static_cast<size_t>(w * h * 3));
  for (int i = 0; i < w * h; ++i) {
    px[static_cast<size_t>(i * 3)] = static_cast<uint8_t>(40 * k);
    px[static_cast<size_t>(i * 3 + 1)] = static_cast<uint8_t>(255 - 40 * k);
    px[static_cast<size_t>(i * 3 + 2)] = 100;
  }
  if (jpeg) stbi_write_jpg(path.c_str(), w, h, 3, px.data(), 95);
  else stbi_write_png(path.c_str(), w, h, 3, px.data(), w * 3);
}
void write_tree(const std::string& dir) {
  const char* cls[3] = {"n01", "n02", "n03"};
  for (int k = 0; k < 3; ++k) {
    for (int i = 0; i < 6; ++i)
      write_image(dir + "/train/" + cls[k] + "/img" + std::to_string(i) + (i % 2 ? ".JPEG" : ".png"), 60 + 10 * i, 50, k, i % 2);
    write_image(dir + "/val/" + cls[k] + "/v.png", 40, 70, k, false);
  }
}
DatasetSplits load(const std::string& dir, bool down = false) {
  DataOptions o;
  o.dataset = "imagenet2012";
  o.data_dir = dir;
  o.downsample_images = down;
  return load_dataset(o);
}
}  // namespace

TEST_CASE("imagenet2012: class folders of PNG / JPEG files load at 196 px with per-class probe hold-out") {
  test::TempDir d;
  write_tree(d.path);
  DatasetSplits s = load(d.path);
  CHECK(s.name == "imagenet2012");
  CHECK(s.image_size == 196);
  CHECK(s.ssl_train.n == 9);    // 6 per class, half (< 50) held out
  CHECK(s.probe_train.n == 9);
  CHECK(s.test.n == 3);
  CHECK(s.ssl_train.h == 196);
  CHECK(s.test.num_classes == 3);
  for (int k = 0; k < 3; ++k) CHECK(s.test.labels[static_cast<size_t>(k)] == k);
  for (const ImageSet* set : {&s.ssl_train, &s.probe_train, &s.test})
    for (int64_t i = 0; i < set->n; ++i) {  // one colour per class survives decode + resize (JPEG: +-3)
      const int k = set->labels[static_cast<size_t>(i)];
      const int64_t P = 196 * 196;
      for (int64_t p : {int64_t{0}, P / 2 + 17, P - 1}) {
        CHECK(std::abs(set->pixels[static_cast<size_t>(i * 3 * P + p)] - 40 * k) <= 3);
        CHECK(std::abs(set->pixels[static_cast<size_t>((i * 3 + 1) * P + p)] - (255 - 40 * k)) <= 3);
        CHECK(std::abs(set->pixels[static_cast<size_t>((i * 3 + 2) * P + p)] - 100) <= 3);
      }
    }
  CHECK(load(d.path, true).ssl_train.h == 32);
}

TEST_CASE("imagenet2012: missing folders, empty classes, unknown val classes and corrupt images are refused") {
  test::TempDir d;
  CHECK_THROWS_WITH_AS(load(d.path), doctest::Contains(("imagenet2012: missing folder " + d.path + "/train").c_str()), Error);
  write_tree(d.path);
  test::write_bytes(d.path + "/train/n02/broken.jpg", {0xff, 0xd8, 0xff, 0x00, 0x01});
  CHECK_THROWS_WITH_AS(load(d.path), doctest::Contains(("imagenet2012: cannot decode " + d.path + "/train/n02/broken.jpg").c_str()), Error);
  std::filesystem::remove(d.path + "/train/n02/broken.jpg");
  write_image(d.path + "/val/n09/x.png", 40, 40, 1, false);
  CHECK_THROWS_WITH_AS(load(d.path), doctest::Contains(("class folder " + d.path + "/val/n09 is not among the training classes").c_str()), Error);
  std::filesystem::remove_all(d.path + "/val/n09");
  std::filesystem::create_directories(d.path + "/train/n04");
  CHECK_THROWS_WITH_AS(load(d.path), doctest::Contains(("class folder " + d.path + "/train/n04 holds no .jpg/.jpeg/.png images").c_str()), Error);
}
