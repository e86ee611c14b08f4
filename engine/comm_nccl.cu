// NCCL collectives of engine/comm.cpp (see engine/comm_nccl.h). No fmt here: messages use lpl::strf.
#include <cuda_runtime.h>
#include <nccl.h>

#include <mutex>

#include "engine/comm_nccl.h"
#include "engine/cuda_check.h"
#include "engine/common.h"
#include "engine/stream.h"

namespace lpl::detail {

namespace {
constexpr int kMaxDevices = 16;
ncclComm_t g_comms[kMaxDevices] = {};
std::mutex g_mutex;

void nccl_check(ncclResult_t r, const char* call, const NcclJob& job, Device d) {
  if (r != ncclSuccess)
    fail(strf("%s failed on rank %d of %d (device %s): %s", call, job.rank, job.size, d.str().c_str(),
              ncclGetErrorString(r)));
}

// d's communicator, made on first use: rank 0 makes the unique id, MPI broadcasts it, and every rank
// joins with d current (ncclCommInitRank binds the communicator to the current device).
ncclComm_t comm_for(Device d, const NcclJob& job) {
  LPL_CHECK(d.is_cuda() && d.index >= 0 && d.index < kMaxDevices,
            strf("NCCL collective on rank %d of %d: unsupported device %s", job.rank, job.size, d.str().c_str()));
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_comms[d.index]) return g_comms[d.index];
  LPL_CHECK(job.bcast_from_rank0 != nullptr,
            strf("NCCL on rank %d of %d: no MPI broadcast to share the unique id", job.rank, job.size));
  ncclUniqueId id{};
  if (job.rank == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId", job, d);
  job.bcast_from_rank0(&id, sizeof id);
  set_current_device(d.index);
  ncclComm_t c = nullptr;
  nccl_check(ncclCommInitRank(&c, job.size, id, job.rank), "ncclCommInitRank", job, d);
  g_comms[d.index] = c;
  return c;
}
}  // namespace

void nccl_all_reduce_sum(void* p, int64_t n, bool f64, Device d, const NcclJob& job) {
  ncclComm_t c = comm_for(d, job);
  cudaStream_t s = stream(d);  // (makes d current)
  nccl_check(ncclAllReduce(p, p, static_cast<size_t>(n), f64 ? ncclDouble : ncclFloat, ncclSum, c, s), "ncclAllReduce",
             job, d);
}

namespace {
// Per device: the side stream of the overlapped all-reduces, and an event to order the two streams.
struct SideStream {
  cudaStream_t s = nullptr;
  cudaEvent_t ev = nullptr;
  bool pending = false;
};
SideStream g_side[kMaxDevices];
SideStream& side_for(Device d) {
  SideStream& ss = g_side[d.index];
  if (!ss.s) {
    set_current_device(d.index);
    LPL_CUDA_CHECK(cudaStreamCreateWithFlags(&ss.s, cudaStreamNonBlocking));
    LPL_CUDA_CHECK(cudaEventCreateWithFlags(&ss.ev, cudaEventDisableTiming));
  }
  return ss;
}
}  // namespace

void nccl_all_reduce_sum_async(float* p, int64_t n, Device d, const NcclJob& job) {
  ncclComm_t c = comm_for(d, job);
  cudaStream_t main = stream(d);  // (makes d current)
  SideStream& ss = side_for(d);
  LPL_CUDA_CHECK(cudaEventRecord(ss.ev, main));  // the gradient is complete here
  LPL_CUDA_CHECK(cudaStreamWaitEvent(ss.s, ss.ev, 0));
  nccl_check(ncclAllReduce(p, p, static_cast<size_t>(n), ncclFloat, ncclSum, c, ss.s), "ncclAllReduce", job, d);
  ss.pending = true;
}

void nccl_finish_async(Device d) {
  LPL_CHECK(d.is_cuda() && d.index >= 0 && d.index < kMaxDevices, "nccl_finish_async: not a CUDA device");
  SideStream& ss = g_side[d.index];
  if (!ss.pending) return;
  cudaStream_t main = stream(d);
  LPL_CUDA_CHECK(cudaEventRecord(ss.ev, ss.s));
  LPL_CUDA_CHECK(cudaStreamWaitEvent(main, ss.ev, 0));
  ss.pending = false;
}

void nccl_all_gather(const float* in, float* out, int64_t n, Device d, const NcclJob& job) {
  ncclComm_t c = comm_for(d, job);
  cudaStream_t s = stream(d);
  nccl_check(ncclAllGather(in, out, static_cast<size_t>(n), ncclFloat, c, s), "ncclAllGather", job, d);
}

void nccl_destroy_all() noexcept {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& c : g_comms) {
    if (!c) continue;
    ncclCommDestroy(c);  // at exit: a failure here has nothing left to protect
    c = nullptr;
  }
}

}  // namespace lpl::detail
