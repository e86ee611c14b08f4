#include "models/weights_file.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/common.h"

namespace lpl {

SafetensorsFile read_weights_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  LPL_CHECK(!std::filesystem::is_directory(path, ec),
            fmt::format("{} {} is a directory, expected a .safetensors file", what, path));
  return load_safetensors(path);
}

void load_checked_weights(Encoder& net, const SafetensorsFile& f, const std::string& path, const std::string& what,
                          const std::vector<std::string>& ignored_prefixes) {
  std::set<std::string> wanted;
  for (const auto& name : net.weight_names()) wanted.insert(name);
  std::vector<std::string> missing, foreign;
  for (const auto& name : wanted)
    if (!f.tensors.count(name)) missing.push_back(fmt::format("'{}'", name));
  const size_t shown = std::min<size_t>(missing.size(), 6);
  LPL_CHECK(missing.empty(), fmt::format("{} '{}' lacks {} tensor(s) of this network: {}{}", what, path, missing.size(),
                                         fmt::join(missing.begin(), missing.begin() + static_cast<std::ptrdiff_t>(shown), ", "),
                                         shown < missing.size() ? ", ..." : ""));
  for (const auto& [name, t] : f.tensors) {
    bool ignored = wanted.count(name) > 0;
    for (const auto& prefix : ignored_prefixes) ignored |= name.rfind(prefix, 0) == 0;
    if (!ignored) foreign.push_back(fmt::format("'{}'", name));
  }
  LPL_CHECK(foreign.empty(), fmt::format("{} '{}' holds tensors this network does not have: {}", what, path,
                                         fmt::join(foreign, ", ")));
  for (const auto& name : wanted) {
    const auto it = f.tensors.find(name);
    if (it->second.dtype() != DType::F32) continue;  // load_weights names the dtype
    const float* x = it->second.data<float>();
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < it->second.numel(); ++i)
      if (!std::isfinite(x[i]) && bad++ == 0) first = i;
    LPL_CHECK(bad == 0, fmt::format("{} '{}': tensor '{}' holds {} non-finite value(s) (first: {} at index {})", what, path,
                                    name, bad, first >= 0 ? x[first] : 0.f, first));
  }
  net.load_weights(f, path);
}

}  // namespace lpl
