#include "engine/parallel.h"

namespace lpl {
namespace {
int g_threads = 0;
#if defined(_OPENMP)
int default_threads() { return omp_get_max_threads(); }
#else
int default_threads() { return 1; }
#endif
}  // namespace
void set_num_threads(int n) {
  g_threads = n > 0 ? n : default_threads();
#if defined(_OPENMP)
  omp_set_num_threads(g_threads);
#endif
}
int num_threads() {
  if (g_threads <= 0) g_threads = default_threads();
  return g_threads;
}
}  // namespace lpl
