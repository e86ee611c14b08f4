#include "engine/safetensors.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/checked_size.h"
#include "engine/file_util.h"

namespace lpl {

namespace {

const char* st_dtype(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType* t) {
  static const std::pair<const char*, DType> table[] = {
      {"F32", DType::F32}, {"BF16", DType::BF16}, {"I32", DType::I32}, {"I64", DType::I64}, {"U8", DType::U8}};
  for (auto& [n, d] : table)
    if (s == n) {
      *t = d;
      return true;
    }
  return false;
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> host;
  host.reserve(tensors.size());
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    LPL_CHECK(t.defined(), fmt::format("save_safetensors: tensor '{}' is undefined", name));
    LPL_CHECK(name != "__metadata__", "save_safetensors: '__metadata__' is a reserved name");
    LPL_CHECK(!header.contains(name), fmt::format("save_safetensors: duplicate tensor name '{}'", name));
    host.push_back(t.device().is_cpu() ? t : t.to(cpu()));
    header[name] = {{"dtype", st_dtype(t.dtype())}, {"shape", t.shape().vec()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
  uint64_t n = h.size();
  char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  std::vector<std::string_view> pieces{std::string_view(len, 8), h};
  for (const Tensor& t : host) pieces.emplace_back(t.data<const char>(), t.nbytes());
  atomic_write_file(path, pieces);
}

SafetensorsFile load_safetensors(const std::string& path) { return parse_safetensors(read_file(path), path); }

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& path) {
  auto bad = [&](const std::string& why) -> void { fail(fmt::format("invalid safetensors file '{}': {}", path, why)); };
  if (bytes.size() < 8) bad(fmt::format("only {} bytes (truncated?)", bytes.size()));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (n > bytes.size() - 8) bad(fmt::format("header length {} exceeds file size {} (truncated?)", n, bytes.size()));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<int64_t>(n));
  } catch (const std::exception& e) {
    bad(fmt::format("header is not valid JSON ({})", e.what()));
  }
  if (!header.is_object()) bad("header is not a JSON object");
  const size_t data_size = bytes.size() - 8 - n;
  const char* data = bytes.data() + 8 + n;
  SafetensorsFile out;
  std::vector<std::pair<size_t, size_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) bad("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) bad(fmt::format("metadata '{}' is not a string", m.key()));
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      bad(fmt::format("tensor '{}' lacks dtype/shape/data_offsets", name));
    DType dt;
    if (!v["dtype"].is_string() || !parse_dtype(v["dtype"].get<std::string>(), &dt))
      bad(fmt::format("tensor '{}' has unsupported dtype {}", name, v["dtype"].dump()));
    std::vector<int64_t> shape;
    if (!v["shape"].is_array()) bad(fmt::format("tensor '{}' shape is not an array", name));
    for (const auto& d : v["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) bad(fmt::format("tensor '{}' has an invalid shape", name));
      shape.push_back(d.get<int64_t>());
    }
    if (shape.size() > static_cast<size_t>(Shape::kMaxDims))
      bad(fmt::format("tensor '{}' has rank {} (at most {})", name, shape.size(), Shape::kMaxDims));
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad(fmt::format("tensor '{}' data_offsets must be two non-negative integers", name));
    size_t b = off[0].get<size_t>(), e = off[1].get<size_t>();
    const size_t want = static_cast<size_t>(checked_nbytes(shape, static_cast<int64_t>(dtype_size(dt)),
                                                           fmt::format("invalid safetensors file '{}': tensor '{}'", path, name)));
    Shape s(shape);
    if (b > e || e > data_size)
      bad(fmt::format("tensor '{}' data [{}, {}) lies outside the {} data bytes (truncated?)", name, b, e, data_size));
    if (e - b != want)
      bad(fmt::format("tensor '{}' has {} bytes for shape {} {} ({} expected)", name, e - b, s.str(), dtype_name(dt), want));
    ranges.emplace_back(b, e);
    Tensor t = Tensor::empty(s, cpu(), dt);
    if (want) std::memcpy(t.data<void>(), data + b, want);
    out.tensors.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) bad("tensor data ranges overlap");
  return out;
}

const Tensor& SafetensorsFile::at(const std::string& name, const std::string& file) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) fail(fmt::format("'{}' has no tensor named '{}'", file, name));
  return it->second;
}

}  // namespace lpl
