// Tensor: a contiguous n-d array (NCHW for images) in owned, reference-counted storage on one
// device. Views (reshape, slicing along dim 0) share storage and cost nothing; copies between
// devices are explicit (to(), copy_from()).
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/common.h"
#include "engine/device.h"

namespace lpl {

// bf16 is reserved for storage (not yet used by any op).
enum class DType : uint8_t { F32, BF16, I32, I64, U8 };
size_t dtype_size(DType t);
const char* dtype_name(DType t);

class Shape {
 public:
  static constexpr int kMaxDims = 6;
  Shape() = default;
  Shape(std::initializer_list<int64_t> d);
  explicit Shape(const std::vector<int64_t>& d);
  int ndim() const { return n_; }
  int64_t operator[](int i) const { return d_[i < 0 ? i + n_ : i]; }
  int64_t& operator[](int i) { return d_[i < 0 ? i + n_ : i]; }
  int64_t numel() const;
  std::vector<int64_t> vec() const { return {d_.begin(), d_.begin() + n_}; }
  std::string str() const;
  bool operator==(const Shape& o) const;

 private:
  std::array<int64_t, kMaxDims> d_{};
  int n_ = 0;
};

struct Storage {
  void* ptr = nullptr;
  size_t bytes = 0;
  Device device;
  bool owned = true;
  ~Storage();
};

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(const Shape& s, Device d = cpu(), DType t = DType::F32);
  static Tensor zeros(const Shape& s, Device d = cpu(), DType t = DType::F32);
  static Tensor full(const Shape& s, float v, Device d = cpu());
  static Tensor from_vector(const std::vector<float>& v, const Shape& s, Device d = cpu());
  // Wraps memory the caller keeps alive (no ownership).
  static Tensor wrap(void* ptr, const Shape& s, Device d, DType t = DType::F32);

  bool defined() const { return static_cast<bool>(storage_); }
  const Shape& shape() const { return shape_; }
  int ndim() const { return shape_.ndim(); }
  int64_t dim(int i) const { return shape_[i]; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device : cpu(); }

  template <class T = float>
  T* data() const {
    return reinterpret_cast<T*>(static_cast<char*>(storage_->ptr) + offset_);
  }
  float* f() const { return data<float>(); }

  // Same storage, new shape (same element count).
  Tensor reshape(const Shape& s) const;
  // Rows [start, start+len) along dim 0, sharing storage.
  Tensor slice0(int64_t start, int64_t len) const;

  Tensor to(Device d) const;
  Tensor clone() const;
  void copy_from(const Tensor& src);
  void zero_();
  std::vector<float> to_vector() const;  // float32 only; copies from any device

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;  // bytes
  Shape shape_;
  DType dtype_ = DType::F32;
};

// Checks used by ops; each fails with a message naming the op and the offending shape.
void check_shape(const Tensor& t, const Shape& want, const char* op, const char* name);
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
void check_f32(const Tensor& t, const char* op, const char* name);

}  // namespace lpl
