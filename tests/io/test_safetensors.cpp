// safetensors writer/reader: round trip, the on-disk layout, and every kind of corrupt file.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>
#include <cstring>

#include "engine/file_util.h"
#include "engine/safetensors.h"
#include "test_util.h"

using namespace lpl;
namespace fs = std::filesystem;

namespace {
std::string tmpdir() {
  auto d = fs::temp_directory_path() / fmt::format("lpl_st_{}", ::getpid());
  fs::create_directories(d);
  return d.string();
}
void write_raw(const std::string& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; }
std::string with_header(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + json + data;
}
}  // namespace

TEST_CASE("safetensors round trip keeps names, dtypes, shapes, values and metadata") {
  std::string p = tmpdir() + "/w.safetensors";
  Tensor a = test::random_tensor({2, 3, 3, 3}, 1);
  Tensor b = Tensor::from_vector({1, 2, 3}, {3});
  Tensor c = Tensor::empty({4}, cpu(), DType::I64);
  for (int i = 0; i < 4; ++i) c.data<int64_t>()[i] = 1000000000000LL * i;
  save_safetensors(p, {{"network.encoder.blocks.0.module.0.weight", a}, {"bias", b}, {"steps", c}}, {{"epoch", "3"}});
  SafetensorsFile f = load_safetensors(p);
  CHECK(f.tensors.size() == 3);
  CHECK(f.metadata.at("epoch") == "3");
  CHECK(f.at("network.encoder.blocks.0.module.0.weight", p).to_vector() == a.to_vector());
  CHECK(f.at("bias", p).shape() == Shape{3});
  CHECK(f.at("steps", p).data<int64_t>()[3] == 3000000000000LL);
  CHECK_THROWS_WITH_AS(f.at("nope", p), doctest::Contains("no tensor named 'nope'"), Error);
}

TEST_CASE("safetensors layout: header length, JSON, aligned contiguous offsets") {
  std::string p = tmpdir() + "/layout.safetensors";
  save_safetensors(p, {{"a", Tensor::from_vector({1, 2}, {2})}, {"b", Tensor::from_vector({3, 4, 5}, {3, 1})}});
  std::string bytes = read_file(p);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  CHECK(n % 8 == 0);
  auto h = nlohmann::json::parse(bytes.substr(8, n));
  CHECK(h["a"]["dtype"] == "F32");
  CHECK(h["b"]["shape"] == nlohmann::json::array({3, 1}));
  CHECK(h["a"]["data_offsets"] == nlohmann::json::array({0, 8}));
  CHECK(h["b"]["data_offsets"] == nlohmann::json::array({8, 20}));
  CHECK(bytes.size() == 8 + n + 20);
  float v;
  std::memcpy(&v, bytes.data() + 8 + n + 8, 4);
  CHECK(v == 3.f);
}

TEST_CASE("corrupt safetensors files are refused with a message naming the problem") {
  std::string d = tmpdir();
  auto expect = [&](const std::string& name, const std::string& content, const std::string& msg) {
    std::string p = d + "/" + name;
    write_raw(p, content);
    CHECK_THROWS_WITH_AS(load_safetensors(p), doctest::Contains(msg.c_str()), Error);
  };
  expect("short", "abc", "truncated");
  expect("hlen", with_header("{}", "").substr(0, 8) + "{", "exceeds file size");
  expect("json", with_header("{not json", ""), "not valid JSON");
  expect("dtype", with_header(R"({"a":{"dtype":"F99","shape":[1],"data_offsets":[0,4]}})", "abcd"), "unsupported dtype");
  expect("range", with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "abcd"), "outside");
  expect("size", with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", "abcd"), "expected");
  expect("overlap", with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})", "abcdefgh"), "overlap");
  expect("fields", with_header(R"({"a":{"dtype":"F32"}})", ""), "lacks");
  // Issue 11: 2^61 x 8 floats is 2^66 bytes, which wrapped to 0 and matched empty offsets.
  expect("huge", with_header(R"({"a":{"dtype":"F32","shape":[2305843009213693952,8],"data_offsets":[0,0]}})", ""),
         "tensor 'a': declared shape (2305843009213693952,8) is too large (overflows 64-bit byte count)");
  CHECK_THROWS_WITH_AS(load_safetensors(d + "/missing"), doctest::Contains("cannot open"), Error);
}

TEST_CASE("a directory where a .safetensors file belongs is named as such (issue 11: basic_filebuf::underflow)") {
  const std::string d = tmpdir() + "/dir.safetensors";
  fs::create_directories(d);
  CHECK_THROWS_WITH_AS(load_safetensors(d), fmt::format("'{}' is a directory, expected a file", d).c_str(), Error);
  CHECK_THROWS_WITH_AS(read_file(d), fmt::format("'{}' is a directory, expected a file", d).c_str(), Error);
}

TEST_CASE("atomic writes replace the old file whole and leave no temporary behind") {
  std::string d = tmpdir() + "/atomic";
  make_dirs(d);
  std::string p = d + "/f.bin";
  atomic_write_file(p, std::string("old"));
  atomic_write_file(p, std::string("new contents"));
  CHECK(read_file(p) == "new contents");
  int files = 0;
  for (auto& e : fs::directory_iterator(d)) files += e.is_regular_file();
  CHECK(files == 1);
  // A write into a missing directory fails clearly and does not touch anything else.
  CHECK_THROWS_WITH_AS(atomic_write_file(d + "/nodir/x", std::string("x")), doctest::Contains("cannot create"), Error);
  CHECK(read_file(p) == "new contents");
}
