// cuda entry points of kernels/reduce.h (the arithmetic lives there, shared with the other backend).
#include "kernels/backend.h"
#include "kernels/launch_cuda.cuh"
#include "kernels/reduce.h"

namespace lpl::cuda_backend {

double sum_all(const Tensor& x) { return kern::sum_all(CudaLaunch{}, x); }
bool all_finite(const Tensor& x) { return kern::all_finite(CudaLaunch{}, x); }
void count_nonfinite(const Tensor& x, Tensor& out, int64_t slot) { kern::count_nonfinite(CudaLaunch{}, x, out, slot); }
void column_sum(const Tensor& x, Tensor& out, bool accumulate) { kern::column_sum(CudaLaunch{}, x, out, accumulate); }
void add_row_bias(Tensor& y, const Tensor& b, bool relu) { kern::add_row_bias(CudaLaunch{}, y, b, relu); }
Tensor batch_sum(const Tensor& x, float scale) { return kern::batch_sum(CudaLaunch{}, x, scale); }
void axpy(float a, const Tensor& x, Tensor& y) { kern::axpy(CudaLaunch{}, a, x, y); }
ColumnStats column_mean_var(const Tensor& z) { return kern::column_mean_var(CudaLaunch{}, z); }

}  // namespace lpl::cuda_backend
