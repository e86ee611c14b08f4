#include "engine/parallel.h"

namespace lpl {
namespace {
int g_threads = 0;
}
void set_num_threads(int n) {
  g_threads = n > 0 ? n : omp_get_max_threads();
  omp_set_num_threads(g_threads);
}
int num_threads() {
  if (g_threads <= 0) g_threads = omp_get_max_threads();
  return g_threads;
}
}  // namespace lpl
