// safetensors files (the format PyTorch users load with safetensors.torch.load_file): an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__"},
// then the raw little-endian data. Writing is atomic (engine/file_util.h).
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace lpl {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Tensors may live on any device (copied to the host). Metadata is a string->string map.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;  // CPU tensors
  std::map<std::string, std::string> metadata;
  const Tensor& at(const std::string& name, const std::string& file) const;  // clear error if absent
};
// Validates the header (JSON, dtypes, shapes, offsets inside the file, no overlaps) and fails with a
// message naming the file and the problem.
SafetensorsFile load_safetensors(const std::string& path);
// The same on a file's bytes (fuzzing); `path` only names it in errors.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& path);

}  // namespace lpl
