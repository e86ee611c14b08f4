#include "engine/tensor.h"

#include <fmt/format.h>

#include "engine/checked_size.h"

namespace lpl {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::BF16: return "bfloat16";
    case DType::I32: return "int32";
    case DType::I64: return "int64";
    case DType::U8: return "uint8";
  }
  return "?";
}

Shape::Shape(std::initializer_list<int64_t> d) : Shape(std::vector<int64_t>(d)) {}

Shape::Shape(const std::vector<int64_t>& d) {
  LPL_CHECK(d.size() <= kMaxDims, fmt::format("tensor rank {} exceeds {}", d.size(), kMaxDims));
  n_ = static_cast<int>(d.size());
  for (int i = 0; i < n_; ++i) {
    LPL_CHECK(d[i] >= 0, fmt::format("negative dimension {} in shape", d[i]));
    d_[i] = d[i];
  }
  // Every dtype's byte count (at most 8 bytes per element) must fit in int64, so numel() and
  // nbytes() never wrap. (LPL_CHECK formats the message only on failure: shapes are built often.)
  int64_t bytes = 8;
  for (int i = 0; i < n_; ++i)
    LPL_CHECK(checked_mul(bytes, d_[i], &bytes), fmt::format("tensor shape {} is too large (overflows 64-bit byte count)", str()));
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < n_; ++i) n *= d_[i];
  return n;
}

std::string Shape::str() const { return fmt::format("[{}]", fmt::join(vec(), ", ")); }

bool Shape::operator==(const Shape& o) const {
  if (n_ != o.n_) return false;
  for (int i = 0; i < n_; ++i)
    if (d_[i] != o.d_[i]) return false;
  return true;
}

Storage::~Storage() {
  if (owned && ptr) device_free(device, ptr, bytes);
}

Tensor Tensor::empty(const Shape& s, Device d, DType t) {
  Tensor x;
  x.storage_ = std::make_shared<Storage>();
  x.storage_->bytes = static_cast<size_t>(s.numel()) * dtype_size(t);
  x.storage_->device = d;
  x.storage_->ptr = device_alloc(d, x.storage_->bytes);
  x.shape_ = s;
  x.dtype_ = t;
  return x;
}

Tensor Tensor::zeros(const Shape& s, Device d, DType t) {
  Tensor x = empty(s, d, t);
  x.zero_();
  return x;
}

Tensor Tensor::full(const Shape& s, float v, Device d) {
  std::vector<float> h(static_cast<size_t>(s.numel()), v);
  return from_vector(h, s, d);
}

Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& s, Device d) {
  LPL_CHECK(static_cast<int64_t>(v.size()) == s.numel(),
            fmt::format("from_vector: {} values for shape {}", v.size(), s.str()));
  Tensor x = empty(s, d);
  memcpy_bytes(x.f(), d, v.data(), cpu(), v.size() * sizeof(float));
  return x;
}

Tensor Tensor::wrap(void* ptr, const Shape& s, Device d, DType t) {
  Tensor x;
  x.storage_ = std::make_shared<Storage>();
  x.storage_->ptr = ptr;
  x.storage_->bytes = static_cast<size_t>(s.numel()) * dtype_size(t);
  x.storage_->device = d;
  x.storage_->owned = false;
  x.shape_ = s;
  x.dtype_ = t;
  return x;
}

Tensor Tensor::reshape(const Shape& s) const {
  LPL_CHECK(s.numel() == numel(),
            fmt::format("reshape: cannot view {} as {}", shape_.str(), s.str()));
  Tensor x = *this;
  x.shape_ = s;
  return x;
}

Tensor Tensor::slice0(int64_t start, int64_t len) const {
  LPL_CHECK(ndim() >= 1 && start >= 0 && len >= 0 && start + len <= dim(0),
            fmt::format("slice0: rows [{}, {}) out of range for shape {}", start, start + len, shape_.str()));
  Tensor x = *this;
  int64_t row = numel() / (dim(0) == 0 ? 1 : dim(0));
  x.offset_ += static_cast<size_t>(start * row) * dtype_size(dtype_);
  x.shape_[0] = len;
  return x;
}

Tensor Tensor::to(Device d) const {
  Tensor x = empty(shape_, d, dtype_);
  x.copy_from(*this);
  return x;
}

Tensor Tensor::clone() const { return to(device()); }

void Tensor::copy_from(const Tensor& src) {
  LPL_CHECK(src.numel() == numel() && src.dtype() == dtype_,
            fmt::format("copy_from: {} {} into {} {}", dtype_name(src.dtype()), src.shape().str(),
                        dtype_name(dtype_), shape_.str()));
  if (device().is_cpu() && src.device().is_cuda() && nbytes() > 0) count_host_read();  // waits for the GPU
  memcpy_bytes(data<void>(), device(), src.data<void>(), src.device(), nbytes());
}

void Tensor::zero_() { memset_zero(data<void>(), device(), nbytes()); }

std::vector<float> Tensor::to_vector() const {
  check_f32(*this, "to_vector", "tensor");
  std::vector<float> v(static_cast<size_t>(numel()));
  read_to_host(v.data(), f(), device(), nbytes());
  return v;
}

void check_shape(const Tensor& t, const Shape& want, const char* op, const char* name) {
  LPL_CHECK(t.shape() == want,
            fmt::format("{}: {} has shape {}, expected {}", op, name, t.shape().str(), want.str()));
}

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  LPL_CHECK(a.device() == b.device(),
            fmt::format("{}: tensors on different devices ({} and {})", op, a.device().str(), b.device().str()));
}

void check_f32(const Tensor& t, const char* op, const char* name) {
  LPL_CHECK(t.defined(), fmt::format("{}: {} is undefined", op, name));
  LPL_CHECK(t.dtype() == DType::F32,
            fmt::format("{}: {} is {}, expected float32", op, name, dtype_name(t.dtype())));
}

}  // namespace lpl
