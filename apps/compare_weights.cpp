// Compares two safetensors files tensor by tensor (same names, sizes and dtypes required) and exits 1
// when the largest relative difference over the float32 tensors exceeds TOL (scripts/gpu-check.sh:
// the same training steps on the CPU and on CUDA). Per tensor: max|a - b| / max|a - base| with
// --base (the initial weights: the difference relative to what training changed), else
// max|a - b| / max|a|.
//   compare_weights A.safetensors B.safetensors [TOL=1e-3] [--base INIT.safetensors]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "engine/safetensors.h"

int main(int argc, char** argv) {
  std::vector<std::string> pos;
  std::string base_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--base" && i + 1 < argc) base_path = argv[++i];
    else pos.push_back(a);
  }
  if (pos.size() < 2 || pos.size() > 3) {
    std::fprintf(stderr, "usage: compare_weights A.safetensors B.safetensors [TOL=1e-3] [--base INIT.safetensors]\n");
    return 2;
  }
  const double tol = pos.size() > 2 ? std::atof(pos[2].c_str()) : 1e-3;
  try {
    const lpl::SafetensorsFile a = lpl::load_safetensors(pos[0]), b = lpl::load_safetensors(pos[1]);
    std::optional<lpl::SafetensorsFile> base;
    if (!base_path.empty()) base = lpl::load_safetensors(base_path);
    if (a.tensors.size() != b.tensors.size()) {
      std::printf("compare_weights: %zu tensors vs %zu: FAILED\n", a.tensors.size(), b.tensors.size());
      return 1;
    }
    double worst = 0;
    std::string worst_name;
    size_t compared = 0;
    for (const auto& [name, ta] : a.tensors) {
      const lpl::Tensor& tb = b.at(name, pos[1]);
      if (ta.numel() != tb.numel() || ta.dtype() != tb.dtype()) {
        std::printf("compare_weights: %s differs in size or dtype: FAILED\n", name.c_str());
        return 1;
      }
      if (ta.dtype() != lpl::DType::F32) continue;
      const float* p0 = nullptr;
      if (base) {
        const lpl::Tensor& t0 = base->at(name, base_path);
        if (t0.numel() != ta.numel() || t0.dtype() != ta.dtype()) {
          std::printf("compare_weights: %s differs in size or dtype from --base: FAILED\n", name.c_str());
          return 1;
        }
        p0 = t0.f();
      }
      const float *pa = ta.f(), *pb = tb.f();
      double diff = 0, scale = 0;
      for (int64_t i = 0; i < ta.numel(); ++i) {
        if (!std::isfinite(pa[i]) || !std::isfinite(pb[i])) diff = INFINITY;
        else diff = std::max(diff, std::fabs(static_cast<double>(pa[i]) - pb[i]));
        scale = std::max(scale, std::fabs(static_cast<double>(pa[i]) - (p0 ? p0[i] : 0.f)));
      }
      if (scale == 0 && diff == 0) continue;  // unchanged by training on both (e.g. an unused layer)
      const double rel = scale > 0 ? diff / scale : INFINITY;
      ++compared;
      if (rel > worst || worst_name.empty()) { worst = rel; worst_name = name; }
    }
    const bool ok = compared > 0 && worst <= tol;
    std::printf("max relative difference %.3g (%s) over %zu changed tensors%s, tolerance %.3g: %s\n", worst,
                worst_name.c_str(), compared, base ? " (relative to the trained change)" : "", tol,
                ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "compare_weights: %s\n", e.what());
    return 1;
  }
}
