// Native TensorBoard event files: byte-identical to a golden file written by the real tensorboard
// package (tools/make_tb_golden.py), readable by our reader, and corrupt files refused.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <unistd.h>

#include "engine/file_util.h"
#include "engine/tb_events.h"
#include "test_util.h"

using namespace lpl;
namespace fs = std::filesystem;

static std::string golden_path() { return test::data_path("tb/golden.tfevents"); }

TEST_CASE("CRC-32C known answers") {
  // RFC 3720 B.4: 32 bytes of zeros -> 0x8a9136aa; "123456789" -> 0xe3069283.
  std::string zeros(32, '\0');
  CHECK(tb::crc32c(zeros.data(), zeros.size()) == 0x8a9136aau);
  CHECK(tb::crc32c("123456789", 9) == 0xe3069283u);
}

TEST_CASE("our writer reproduces the tensorboard package's golden file byte for byte") {
  auto dir = fs::temp_directory_path() / fmt::format("lpl_tb_{}", ::getpid());
  fs::remove_all(dir);
  std::string path;
  {
    tb::EventWriter w(dir.string(), 1700000000.0);
    w.add_scalar("Loss/train_loss", 1.25, 1, 1700000001.5);
    w.add_scalar("Layerwise train losses/Layer 1 pull loss", 0.0625, 2, 1700000002.5);
    w.add_scalar("Layerwise train losses/Final layer decorr loss", -3.5, 300000, 1700000003.5);
    w.add_scalar("lr", 0.0, 300001, 1700000004.5);  // a zero value is written too (oneof)
    tb::Histogram h{-1.0, 2.5, 4, 2.0, 8.5, {-0.9, 0.5, 2.6}, {1, 2, 1}};
    w.add_histogram("Activity Statistics/unit_activities", h, 5, 1700000010.25);
    w.add_session_start(13, 1700000011.5);
    w.flush();
    path = w.path();
  }
  CHECK(fs::path(path).filename().string().rfind("events.out.tfevents.1700000000.", 0) == 0);
  std::string ours = read_file(path), golden = read_file(golden_path());
  CHECK(ours.size() == golden.size());
  CHECK(ours == golden);

  auto ev = tb::read_events(golden_path());
  REQUIRE(ev.size() == 7);
  CHECK(ev[0].file_version == "brain.Event:2");
  CHECK(ev[1].values.at(0).tag == "Loss/train_loss");
  CHECK(ev[1].values.at(0).simple_value == 1.25f);
  CHECK(ev[3].step == 300000);
  CHECK(ev[4].values.at(0).tag == "lr");
  CHECK(ev[4].values.at(0).has_simple);
  CHECK(ev[4].values.at(0).simple_value == 0.f);
  CHECK(ev[5].values.at(0).has_histo);
  CHECK(ev[5].values.at(0).histo.bucket == std::vector<double>{1, 2, 1});
  CHECK(ev[5].values.at(0).histo.sum_squares == 8.5);
  CHECK(!ev[5].session_start);
  CHECK(ev[6].session_start);
  CHECK(ev[6].step == 13);
  CHECK(ev[6].values.empty());
}

TEST_CASE("a run directory reads as TensorBoard shows it: a SessionLog START purges the later steps before it") {
  auto dir = fs::temp_directory_path() / fmt::format("lpl_tb_purge_{}", ::getpid());
  fs::remove_all(dir);
  {
    tb::EventWriter a(dir.string(), 1700000000.0);  // a killed run: steps 1..5, checkpoint at 3
    for (int s = 1; s <= 5; ++s) a.add_scalar("Loss/train_loss_step", s, s, 1700000000.0 + s);
  }
  {
    tb::EventWriter b(dir.string(), 1700000100.0);  // the resumed run, file name sorts after
    b.add_session_start(4, 1700000100.5);
    for (int s = 4; s <= 6; ++s) b.add_scalar("Loss/train_loss_step", 10 * s, s, 1700000100.0 + s);
  }
  // The killed writer's last record is cut short: TensorBoard (and read_run_events) read up to it;
  // the strict reader refuses the file.
  std::string first;
  for (const auto& e : fs::directory_iterator(dir))
    if (first.empty() || e.path().string() < first) first = e.path().string();
  const std::string bytes = read_file(first);
  { std::ofstream(first, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 5); }
  CHECK_THROWS_WITH(tb::read_events(first), doctest::Contains("truncated record 5"));
  CHECK(tb::read_events(first, true).size() == 5);  // file version + steps 1..4
  std::vector<std::pair<int64_t, float>> seen;
  for (const auto& e : tb::read_run_events(dir.string()))
    for (const auto& v : e.values) seen.emplace_back(e.step, v.simple_value);
  CHECK(seen == std::vector<std::pair<int64_t, float>>{{1, 1.f}, {2, 2.f}, {3, 3.f}, {4, 40.f}, {5, 50.f}, {6, 60.f}});
  // Without the cut the killed writer's step 5 would be there too, then purged by the START at 4.
  fs::remove_all(dir);
}

TEST_CASE("default histogram buckets count every value once") {
  std::vector<double> v{-2.0, -1e-3, 0.0, 0.5, 0.5, 3.0, 1e5};
  tb::Histogram h = tb::make_histogram(v);
  double total = 0;
  for (double c : h.bucket) total += c;
  CHECK(total == 7);
  CHECK(h.num == 7);
  CHECK(h.min == -2.0);
  CHECK(h.max == 1e5);
  CHECK(h.bucket_limit.size() == h.bucket.size());
  for (size_t i = 1; i < h.bucket_limit.size(); ++i) CHECK(h.bucket_limit[i] > h.bucket_limit[i - 1]);
}

TEST_CASE("corrupt event files are refused") {
  std::string g = read_file(golden_path());
  auto dir = fs::temp_directory_path() / fmt::format("lpl_tbc_{}", ::getpid());
  fs::create_directories(dir);
  auto put = [&](const std::string& name, const std::string& b) {
    std::string p = (dir / name).string();
    std::ofstream(p, std::ios::binary) << b;
    return p;
  };
  std::string flipped = g;
  flipped[40] ^= 1;
  CHECK_THROWS_WITH_AS(tb::read_events(put("flip", flipped)), doctest::Contains("CRC mismatch"), Error);
  CHECK_THROWS_WITH_AS(tb::read_events(put("trunc", g.substr(0, g.size() - 3))), doctest::Contains("truncated"), Error);
}
