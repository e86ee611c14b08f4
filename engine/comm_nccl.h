// Internal to engine/comm.cpp: NCCL collectives on device buffers (engine/comm_nccl.cu, built when
// LPL_HAVE_NCCL). Kept free of mpi.h and nccl.h: comm.cpp passes how to broadcast NCCL's unique id.
#pragma once
#include <cstddef>
#include <cstdint>

#include "engine/device.h"

namespace lpl::detail {

// The job as NCCL needs it to make a communicator: this rank, the job's size, and a broadcast of
// `bytes` bytes from rank 0 to every rank (MPI_Bcast), used once per device for the unique id.
struct NcclJob {
  int rank = 0, size = 1;
  void (*bcast_from_rank0)(void* p, size_t bytes) = nullptr;
};

// Collectives on d's stream (lpl::stream(d)); the first call on a device makes its communicator,
// which is itself a collective: every rank makes its first call on its device at the same point.
void nccl_all_reduce_sum(void* p, int64_t n, bool f64, Device d, const NcclJob& job);
void nccl_all_gather(const float* in, float* out, int64_t n, Device d, const NcclJob& job);
// The sum on d's side stream, after the work queued on d's stream so far (an event); finish makes
// d's stream wait for everything started on the side stream.
void nccl_all_reduce_sum_async(float* p, int64_t n, Device d, const NcclJob& job);
void nccl_finish_async(Device d);
// Destroys the communicators made so far (finalize_distributed, before MPI_Finalize).
void nccl_destroy_all() noexcept;

}  // namespace lpl::detail
