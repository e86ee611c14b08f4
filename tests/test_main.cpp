// doctest main shared by all test executables. Prints which backends are exercised so a CPU-only
// run never looks like a GPU pass.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "engine/device.h"
#include "engine/parallel.h"

int main(int argc, char** argv) {
  lpl::set_num_threads(0);
  std::printf("[lpl tests] CUDA backend %s, GPUs visible: %d\n", lpl::cuda_built() ? "built" : "not built",
              lpl::cuda_device_count());
  doctest::Context ctx;
  ctx.applyCommandLine(argc, argv);
  return ctx.run();
}
