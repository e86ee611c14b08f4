// cpu entry points of kernels/reduce.h (the arithmetic lives there, shared with the other backend).
#include "kernels/backend.h"
#include "kernels/launch.h"
#include "kernels/reduce.h"

namespace lpl::cpu_backend {

double sum_all(const Tensor& x) { return kern::sum_all(CpuLaunch{}, x); }
bool all_finite(const Tensor& x) { return kern::all_finite(CpuLaunch{}, x); }
void count_nonfinite(const Tensor& x, Tensor& out, int64_t slot) { kern::count_nonfinite(CpuLaunch{}, x, out, slot); }
void column_sum(const Tensor& x, Tensor& out, bool accumulate) { kern::column_sum(CpuLaunch{}, x, out, accumulate); }
void add_row_bias(Tensor& y, const Tensor& b, bool relu) { kern::add_row_bias(CpuLaunch{}, y, b, relu); }
Tensor batch_sum(const Tensor& x, float scale) { return kern::batch_sum(CpuLaunch{}, x, scale); }
void axpy(float a, const Tensor& x, Tensor& y) { kern::axpy(CpuLaunch{}, a, x, y); }
ColumnStats column_mean_var(const Tensor& z) { return kern::column_mean_var(CpuLaunch{}, z); }

}  // namespace lpl::cpu_backend
