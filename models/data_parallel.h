// Data parallelism helpers. After the backward, every rank's gradients are summed over the ranks, in
// a few large buckets (one collective per bucket, not one per tensor). The objectives scale each
// rank's gradient as its share of the global batch's (models/lpl_step.cpp), so the sum is the
// one-process gradient, and every rank then takes the same optimiser step.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/comm.h"
#include "engine/param.h"
#include "models/encoder.h"

namespace lpl {

class GradientSync {
 public:
  explicit GradientSync(Communicator& comm, int64_t bucket_floats = int64_t{8} << 20) : comm_(comm), cap_(bucket_floats) {}
  // Sums each parameter's gradient over the ranks (in place; the order of params must be the same on every rank).
  void all_reduce(const std::vector<Param*>& params);
  // Layer-local steps: starts summing one layer's finished gradients (in place) while the next layer
  // computes (on a GPU: NCCL on a side stream); finish() makes the device's later work wait for all
  // of them. On the CPU each sum is done when start returns.
  void start(const std::vector<Param*>& params);
  void finish(Device d);

 private:
  Communicator& comm_;
  int64_t cap_;
  Tensor bucket_;  // reused between steps
};

// Rank root's parameters and buffers to every rank (a start from identical weights, whatever each
// rank's initialisation or files did).
void broadcast_weights(Encoder& net, Communicator& comm, int root = 0);

// Whether `flag` holds on any rank (a stop request, ...): one small collective; comm may be null.
bool any_rank(bool flag, Communicator* comm);

}  // namespace lpl
