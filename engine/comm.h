// Collectives of a data-parallel job: one process per device (rank), launched by mpirun (or by
// `train_vgg11 --gpus N`, which runs mpirun for the user). MPI starts the processes, bootstraps
// NCCL (the unique id is broadcast over MPI) and is the collective layer of the CPU backend;
// NCCL moves device buffers between GPUs. A process not started by an MPI launcher is a job of one
// rank and makes no MPI call at all.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/device.h"

namespace lpl {

struct DistInfo {
  int rank = 0, size = 1;              // in the job
  int local_rank = 0, local_size = 1;  // on this node (which GPU a rank binds)
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In-place sum over the ranks of n values at p, which live on device d. On a GPU: NCCL on d's
  // stream (ordered with the ops before and after it, like any op); on the CPU: MPI (returns when done).
  // Every rank calls it with the same n, in the same order of collectives.
  virtual void all_reduce_sum(float* p, int64_t n, Device d) = 0;
  virtual void all_reduce_sum(double* p, int64_t n, Device d) = 0;
  // all_reduce_sum that may overlap the work queued on d's stream after it: on a GPU (NCCL) it runs
  // on a side stream once d's stream has reached this point, and its result is there for the work
  // queued on d's stream after finish_async(d); p must not be touched in between. On the CPU it is
  // all_reduce_sum (done when it returns).
  virtual void all_reduce_sum_async(float* p, int64_t n, Device d) { all_reduce_sum(p, n, d); }
  virtual void finish_async(Device) {}
  // Every rank's n floats (the same n on all ranks) into out[size * n], in rank order; device d.
  virtual void all_gather(const float* in, float* out, int64_t n, Device d) = 0;
  // Rank root's `bytes` bytes of host memory to every rank.
  virtual void broadcast(void* p, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Ends the whole job: prints "rank R of N: <why>" on stderr and aborts every rank (MPI_Abort,
  // status 1), so no rank waits forever for a peer that has failed.
  [[noreturn]] virtual void abort(const std::string& why) = 0;
};

// Whether this build can run jobs of several ranks (MPI found at configure time), and NCCL for GPUs.
bool mpi_built();
bool nccl_built();
// Called once, first thing in main: MPI_Init when the process was started by an MPI launcher
// (OMPI_COMM_WORLD_SIZE / PMI_SIZE / PMIX_RANK in the environment), nothing otherwise. Fails with a
// clear message when launched by mpirun but built without MPI.
DistInfo init_distributed(int* argc, char*** argv);
// The job as init_distributed found it (a job of one rank before / without it).
const DistInfo& dist_info();
// The job's communicator; null for a job of one rank.
Communicator* world_comm();
// MPI_Finalize when MPI was initialised (call on every normal exit path; safe to call twice).
void finalize_distributed();

}  // namespace lpl
