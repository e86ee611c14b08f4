// Divergence guard: a non-finite loss term, gradient or weight stops the run with one message that
// names where (epoch, step), the layer and the term, before anything is written, so the last good
// checkpoint stays as it was. Also the NaN-injection hook the tests use to provoke it.
#pragma once
#include <cstdint>
#include <string>

#include "engine/common.h"
#include "engine/tensor.h"

namespace lpl {

// Thrown by the guard; a trainer catching it must exit without checkpointing.
struct DivergenceError : Error {
  using Error::Error;
};

class DivergenceGuard {
 public:
  void at(int64_t epoch, int64_t step) { epoch_ = epoch, step_ = step; }
  void set_last_checkpoint(const std::string& path) { last_checkpoint_ = path; }
  // A scalar loss term, e.g. check_loss("layer 3", "pull loss", v).
  void check_loss(const std::string& layer, const std::string& term, double value) const;
  // A tensor on any device, e.g. check_tensor("layer 3", "weight gradient", "network...weight", g).
  // Costs one reduction; the element count and first bad index are found only on failure.
  void check_tensor(const std::string& layer, const std::string& term, const std::string& name,
                    const Tensor& t) const;

  // A count of non-finite values found on the device (LplStep::count_nonfinite) when checking the
  // tensors one by one named none of them: stops the run with what was counted.
  void check_count(const std::string& what, double count) const;

 private:
  [[noreturn]] void diverged(const std::string& what) const;
  int64_t epoch_ = 0, step_ = 0;
  std::string last_checkpoint_;
};

// Test hook: LPL_INJECT_NAN="<layer>@<step>" (layer 1-based, step = optimiser steps taken before the
// step) makes inject() write a NaN into that layer's activations at that step.
struct NanInjection {
  int layer = 0;  // 0: off
  int64_t step = -1;
  static NanInjection from_env();  // malformed values are refused with the expected form
  bool due(int layer_1based, int64_t step_now) const { return layer != 0 && layer == layer_1based && step == step_now; }
  // Sets element 0 of t (any device) to NaN when due.
  void inject(int layer_1based, int64_t step_now, Tensor& t) const;
};

}  // namespace lpl
