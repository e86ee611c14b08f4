// dist.abort_ends_job (tests/dist/abort_ends_job.cmake): under mpirun -np 2, rank 1 calls
// Communicator::abort while rank 0 waits in a barrier that can never complete; the job must end
// with a non-zero status and rank 1's message, rank 0 must never get past the barrier.
#include <cstdio>

#include "engine/comm.h"

int main(int argc, char** argv) {
  lpl::init_distributed(&argc, &argv);
  lpl::Communicator* c = lpl::world_comm();
  if (!c) {
    std::fprintf(stderr, "abort_helper: needs mpirun with 2 ranks\n");
    return 2;
  }
  if (c->rank() == 1) c->abort("injected");
  c->barrier();
  std::printf("rank %d passed the barrier\n", c->rank());  // abort failed to end the job
  lpl::finalize_distributed();
  return 0;
}
