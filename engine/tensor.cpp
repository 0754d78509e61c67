// Tensor, Storage and host/device copies: allocation (64-byte aligned, cached host blocks on the CPU; the
// CUDA caching allocator on GPUs), factories, views, conversions and host read-back.
#include "engine/tensor.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "engine/dispatch.h"
#include "engine/error.h"

namespace lethe {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32:
      return 4;
    case DType::F64:
      return 8;
    case DType::I32:
      return 4;
    case DType::I64:
      return 8;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "f32";
    case DType::F64:
      return "f64";
    case DType::I32:
      return "i32";
    case DType::I64:
      return "i64";
  }
  return "?";
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    LETHE_CHECK(d >= 0, "shape: negative dimension in " << shape_str(s));
    n *= d;
  }
  return n;
}

// ---- host allocator -------------------------------------------------------------------------------------
// Fresh pages are very expensive on the VMs we run on (first touch ~130 MB/s with 4 KiB pages, ~4 GB/s with
// transparent huge pages), and glibc returns large blocks to the OS on free. So blocks of 256 KiB and more
// are rounded to size classes (<= 12.5% slack) and kept on per-class free lists after use, up to a cap
// (LETHE_HOST_CACHE_MB, default 2048; 0 disables); blocks of 2 MiB and more are 2 MiB aligned and advised
// for huge pages. Steady-state training loops then reuse the same blocks without page faults.
namespace {

constexpr size_t kCacheMin = 256 << 10;
constexpr size_t kHugePage = 2 << 20;

size_t host_class(size_t bytes) {
  if (bytes < kCacheMin) return bytes == 0 ? 64 : (bytes + 63) / 64 * 64;
  size_t top = size_t{1} << (63 - __builtin_clzll(bytes));  // highest power of two <= bytes
  const size_t step = top / 8;
  return (bytes + step - 1) / step * step;
}

struct HostCache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_lists;
  size_t cached = 0;
  size_t cap = [] {
    const char* env = std::getenv("LETHE_HOST_CACHE_MB");
    return (env ? static_cast<size_t>(std::strtoull(env, nullptr, 10)) : size_t{2048}) << 20;
  }();
};

HostCache& host_cache() {
  static HostCache* c = new HostCache;  // never destroyed: tensors in static storage may outlive it
  return *c;
}

void* host_alloc(size_t bytes) {
  const size_t size = host_class(bytes);
  if (size >= kCacheMin) {
    HostCache& c = host_cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_lists.find(size);
    if (it != c.free_lists.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= size;
      return p;
    }
  }
  if (size >= kHugePage) {
    // aligned_alloc needs a size that is a multiple of the alignment; the size class stays the cache key.
    const size_t whole = (size + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, whole);
    if (p) madvise(p, whole, MADV_HUGEPAGE);  // advisory: failure only costs speed
    return p;
  }
  return std::aligned_alloc(64, size);
}

void host_free(void* p, size_t bytes) {
  const size_t size = host_class(bytes);
  if (size >= kCacheMin) {
    HostCache& c = host_cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.cached + size <= c.cap) {
      c.free_lists[size].push_back(p);
      c.cached += size;
      return;
    }
  }
  std::free(p);
}

}  // namespace

size_t host_cache_bytes() {
  HostCache& c = host_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cached;
}

void release_host_cache() {
  HostCache& c = host_cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [size, list] : c.free_lists)
    for (void* p : list) std::free(p);
  c.free_lists.clear();
  c.cached = 0;
}

// ---- Storage -------------------------------------------------------------------------------------------
Storage::Storage(size_t bytes, Device dev) : bytes_(bytes), dev_(dev) {
  if (dev.is_cpu()) {
    ptr_ = host_alloc(bytes);
    LETHE_CHECK(ptr_ != nullptr, "Storage: out of host memory allocating " << bytes << " bytes");
  } else {
#ifdef LETHE_WITH_CUDA
    ptr_ = cuda::device_alloc(bytes, dev.index);
#else
    detail::no_cuda("Storage");
#endif
  }
}

Storage::~Storage() {
  if (!ptr_) return;
  if (dev_.is_cpu()) {
    host_free(ptr_, bytes_);
  } else {
#ifdef LETHE_WITH_CUDA
    cuda::device_free(ptr_, dev_.index);
#endif
  }
}

// ---- copies between devices ------------------------------------------------------------------------------
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t bytes) {
  if (bytes == 0 || dst == src) return;
  if (dst_dev.is_cpu() && src_dev.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef LETHE_WITH_CUDA
  if (dst_dev.is_cuda() && src_dev.is_cpu()) {
    cuda::memcpy_h2d(dst, src, bytes);
  } else if (dst_dev.is_cpu() && src_dev.is_cuda()) {
    cuda::memcpy_d2h(dst, src, bytes);
  } else {
    cuda::memcpy_d2d(dst, src, bytes);
  }
#else
  detail::no_cuda("copy_bytes");
#endif
}

// ---- factories -------------------------------------------------------------------------------------------
Tensor Tensor::empty(const Shape& shape, DType dtype, Device dev) {
  Tensor t;
  t.shape_ = shape;
  t.numel_ = shape_numel(shape);
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<Storage>(static_cast<size_t>(t.numel_) * dtype_size(dtype), dev);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device dev) {
  Tensor t = empty(shape, dtype, dev);
  if (dev.is_cpu()) {
    std::memset(t.raw(), 0, t.nbytes());
  } else {
    LETHE_DISPATCH(dev, fill, t, 0.0);
  }
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device dev) {
  Tensor t = empty(shape, dtype, dev);
  LETHE_DISPATCH(dev, fill, t, value);
  return t;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& data, const Shape& shape, Device dev) {
  const int64_t n = shape_numel(shape);
  LETHE_CHECK(static_cast<int64_t>(data.size()) == n,
              "from_vector: " << data.size() << " values for shape " << shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>(), dev);
  copy_bytes(t.raw(), dev, data.data(), Device::cpu(), t.nbytes());
  return t;
}

template Tensor Tensor::from_vector<float>(const std::vector<float>&, const Shape&, Device);
template Tensor Tensor::from_vector<double>(const std::vector<double>&, const Shape&, Device);
template Tensor Tensor::from_vector<int32_t>(const std::vector<int32_t>&, const Shape&, Device);
template Tensor Tensor::from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, Device);

// ---- accessors -------------------------------------------------------------------------------------------
int64_t Tensor::dim(int i) const {
  const int n = ndim();
  const int j = i < 0 ? i + n : i;
  LETHE_CHECK(j >= 0 && j < n, "dim: index " << i << " out of range for " << describe());
  return shape_[j];
}

void* Tensor::raw() const {
  if (!storage_) return nullptr;
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

template <class T>
T* Tensor::data() const {
  if (!storage_) return nullptr;
  LETHE_CHECK(dtype_of<T>() == dtype_,
              "data: requested " << dtype_name(dtype_of<T>()) << " pointer from " << describe());
  return static_cast<T*>(raw());
}

template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int32_t* Tensor::data<int32_t>() const;
template int64_t* Tensor::data<int64_t>() const;

// ---- views -----------------------------------------------------------------------------------------------
Tensor Tensor::reshape(const Shape& shape) const {
  LETHE_CHECK(defined(), "reshape: undefined tensor");
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      LETHE_CHECK(infer < 0, "reshape: more than one -1 in " << shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      LETHE_CHECK(s[i] >= 0, "reshape: negative dimension in " << shape_str(shape));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    LETHE_CHECK(known > 0 && numel_ % known == 0,
                "reshape: cannot reshape " << detail::sig(*this) << " to " << shape_str(shape));
    s[infer] = numel_ / known;
    known *= s[infer];
  }
  LETHE_CHECK(known == numel_,
              "reshape: cannot reshape " << detail::sig(*this) << " to " << shape_str(shape));
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::row_range(int64_t begin, int64_t end) const {
  LETHE_CHECK(defined() && ndim() >= 1,
              "row_range: needs a tensor with at least one dimension, got " << describe());
  LETHE_CHECK(0 <= begin && begin <= end && end <= shape_[0],
              "row_range: rows [" << begin << ", " << end << ") out of range for " << detail::sig(*this));
  Tensor t = *this;
  const int64_t c = cols();
  t.shape_[0] = end - begin;
  t.offset_ = offset_ + begin * c;
  t.numel_ = (end - begin) * c;
  return t;
}

// ---- copies ----------------------------------------------------------------------------------------------
Tensor Tensor::to(Device dev) const {
  LETHE_CHECK(defined(), "to: undefined tensor");
  Tensor t = empty(shape_, dtype_, dev);
  copy_bytes(t.raw(), dev, raw(), device(), nbytes());
  return t;
}

Tensor Tensor::astype(DType t) const {
  LETHE_CHECK(defined(), "astype: undefined tensor");
  if (t == dtype_) return clone();
  LETHE_CHECK(!(is_float(dtype_) && !is_float(t)), "astype: float to integer conversion not supported ("
                                                       << detail::sig(*this) << " to " << dtype_name(t)
                                                       << ")");
  Tensor out = empty(shape_, t, device());
  LETHE_DISPATCH(device(), astype, *this, out);
  return out;
}

void Tensor::copy_from(const Tensor& src) {
  LETHE_CHECK(defined() && src.defined(), "copy_from: undefined tensor");
  LETHE_CHECK(dtype_ == src.dtype_ && numel_ == src.numel_ && shape_ == src.shape_,
              "copy_from: shape/dtype mismatch " << detail::sig(*this) << " vs " << detail::sig(src));
  copy_bytes(raw(), device(), src.raw(), src.device(), nbytes());
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  if (!defined()) return {};
  LETHE_CHECK(dtype_of<T>() == dtype_,
              "to_vector: requested " << dtype_name(dtype_of<T>()) << " values from " << describe());
  std::vector<T> out(static_cast<size_t>(numel_));
  copy_bytes(out.data(), Device::cpu(), raw(), device(), nbytes());
  return out;
}

template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

double Tensor::item() const {
  LETHE_CHECK(defined() && numel_ == 1, "item: needs a one-element tensor, got " << describe());
  switch (dtype_) {
    case DType::F32:
      return to_vector<float>()[0];
    case DType::F64:
      return to_vector<double>()[0];
    case DType::I32:
      return to_vector<int32_t>()[0];
    case DType::I64:
      return static_cast<double>(to_vector<int64_t>()[0]);
  }
  return 0.0;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return detail::sig(*this) + " on " + device().str();
}

}  // namespace lethe
