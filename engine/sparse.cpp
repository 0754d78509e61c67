// CSR matrices: construction from COO triplets or dense tensors, transpose, conversions, degree sums and
// in-place row/column scaling (computed on the host; device matrices round-trip), and the SpMM entry point.
#include "engine/sparse.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "engine/dispatch.h"
#include "engine/error.h"
#include "engine/profile.h"

namespace lethe {

using detail::sig;

namespace {

// Host copies of a CSR's arrays, values as double (exact for f32 and f64).
struct HostCsr {
  std::vector<int32_t> ip, ic;
  std::vector<double> v;
};

HostCsr to_host(const Csr& a) {
  HostCsr h;
  h.ip = a.indptr.to_vector<int32_t>();
  h.ic = a.indices.to_vector<int32_t>();
  h.v = a.values.astype(DType::F64).to_vector<double>();
  return h;
}

Tensor host_values(const std::vector<double>& v, DType t, Device dev) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}).astype(t).to(dev);
}

Csr from_host(int64_t rows, int64_t cols, const HostCsr& h, DType t, Device dev) {
  Csr c;
  c.rows = rows;
  c.cols = cols;
  c.indptr = Tensor::from_vector(h.ip, {rows + 1}, dev);
  c.indices = Tensor::from_vector(h.ic, {static_cast<int64_t>(h.ic.size())}, dev);
  c.values = host_values(h.v, t, dev);
  return c;
}

void check_csr(const char* op, const Csr& a) {
  LETHE_CHECK(a.indptr.defined() && a.indices.defined() && a.values.defined(),
              op << ": undefined CSR matrix");
}

}  // namespace

Csr Csr::from_coo(int64_t rows, int64_t cols, const std::vector<int32_t>& r, const std::vector<int32_t>& c,
                  const std::vector<float>& v) {
  LETHE_CHECK(r.size() == c.size() && r.size() == v.size(), "from_coo: triplet lengths differ ("
                                                                << r.size() << " rows, " << c.size()
                                                                << " cols, " << v.size() << " values)");
  LETHE_CHECK(rows >= 0 && cols >= 0 && rows < std::numeric_limits<int32_t>::max() &&
                  cols < std::numeric_limits<int32_t>::max(),
              "from_coo: bad matrix size [" << rows << ", " << cols << "]");
  LETHE_CHECK(r.size() < static_cast<size_t>(std::numeric_limits<int32_t>::max()),
              "from_coo: too many entries for i32 indices: " << r.size());
  const size_t n = r.size();
  for (size_t i = 0; i < n; ++i)
    LETHE_CHECK(r[i] >= 0 && r[i] < rows && c[i] >= 0 && c[i] < cols,
                "from_coo: entry (" << r[i] << ", " << c[i] << ") outside [" << rows << ", " << cols << "]");
  // Counting sort by row, then sort each row by column and merge duplicates.
  std::vector<int32_t> start(static_cast<size_t>(rows + 1), 0);
  for (size_t i = 0; i < n; ++i) ++start[r[i] + 1];
  for (int64_t i = 0; i < rows; ++i) start[i + 1] += start[i];
  std::vector<int32_t> next(start.begin(), start.end() - 1);
  std::vector<std::pair<int32_t, float>> ent(n);
  for (size_t i = 0; i < n; ++i) ent[next[r[i]]++] = {c[i], v[i]};
  std::vector<int32_t> ip(static_cast<size_t>(rows + 1), 0), ic;
  std::vector<float> vals;
  ic.reserve(n);
  vals.reserve(n);
  for (int64_t row = 0; row < rows; ++row) {
    auto b = ent.begin() + start[row], e = ent.begin() + start[row + 1];
    // stable: duplicates are summed in input order, so the result is reproducible
    std::stable_sort(b, e, [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto it = b; it != e; ++it) {
      if (!ic.empty() && static_cast<int64_t>(ic.size()) > ip[row] && ic.back() == it->first) {
        vals.back() += it->second;
      } else {
        ic.push_back(it->first);
        vals.push_back(it->second);
      }
    }
    ip[row + 1] = static_cast<int32_t>(ic.size());
  }
  Csr out;
  out.rows = rows;
  out.cols = cols;
  out.indptr = Tensor::from_vector(ip, {rows + 1});
  out.indices = Tensor::from_vector(ic, {static_cast<int64_t>(ic.size())});
  out.values = Tensor::from_vector(vals, {static_cast<int64_t>(vals.size())});
  return out;
}

Csr Csr::from_dense(const Tensor& dense) {
  LETHE_CHECK(dense.defined() && dense.ndim() == 2 && is_float(dense.dtype()),
              "from_dense: expected a 2-D f32/f64 tensor, got " << dense.describe());
  const int64_t rows = dense.dim(0), cols = dense.dim(1);
  const std::vector<double> d = dense.to(Device::cpu()).astype(DType::F64).to_vector<double>();
  HostCsr h;
  h.ip.assign(static_cast<size_t>(rows + 1), 0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double x = d[r * cols + c];
      if (x != 0.0) {
        h.ic.push_back(static_cast<int32_t>(c));
        h.v.push_back(x);
      }
    }
    h.ip[r + 1] = static_cast<int32_t>(h.ic.size());
  }
  return from_host(rows, cols, h, dense.dtype(), dense.device());
}

Csr Csr::transpose() const {
  check_csr("transpose", *this);
  const HostCsr h = to_host(*this);
  HostCsr t;
  t.ip.assign(static_cast<size_t>(cols + 1), 0);
  t.ic.resize(h.ic.size());
  t.v.resize(h.v.size());
  for (int32_t c : h.ic) ++t.ip[c + 1];
  for (int64_t c = 0; c < cols; ++c) t.ip[c + 1] += t.ip[c];
  std::vector<int32_t> next(t.ip.begin(), t.ip.end() - 1);
  for (int64_t r = 0; r < rows; ++r) {
    for (int32_t j = h.ip[r]; j < h.ip[r + 1]; ++j) {
      const int32_t dst = next[h.ic[j]]++;
      t.ic[dst] = static_cast<int32_t>(r);
      t.v[dst] = h.v[j];
    }
  }
  return from_host(cols, rows, t, dtype(), device());
}

Csr Csr::to(Device dev) const {
  check_csr("to", *this);
  Csr c;
  c.rows = rows;
  c.cols = cols;
  c.indptr = indptr.to(dev);
  c.indices = indices.to(dev);
  c.values = values.to(dev);
  return c;
}

Csr Csr::astype(DType t) const {
  check_csr("astype", *this);
  LETHE_CHECK(is_float(t), "Csr::astype: values must be f32 or f64, got " << dtype_name(t));
  Csr c = *this;  // index arrays are shared (immutable by convention)
  c.values = values.astype(t);
  return c;
}

Tensor Csr::to_dense() const {
  check_csr("to_dense", *this);
  const HostCsr h = to_host(*this);
  std::vector<double> d(static_cast<size_t>(rows * cols), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int32_t j = h.ip[r]; j < h.ip[r + 1]; ++j) d[r * cols + h.ic[j]] += h.v[j];
  return Tensor::from_vector(d, {rows, cols}).astype(dtype()).to(device());
}

Tensor Csr::row_sums() const {
  check_csr("row_sums", *this);
  const HostCsr h = to_host(*this);
  std::vector<double> s(static_cast<size_t>(rows), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int32_t j = h.ip[r]; j < h.ip[r + 1]; ++j) s[r] += h.v[j];
  return host_values(s, dtype(), device());
}

Tensor Csr::col_sums() const {
  check_csr("col_sums", *this);
  const HostCsr h = to_host(*this);
  std::vector<double> s(static_cast<size_t>(cols), 0.0);
  for (size_t j = 0; j < h.ic.size(); ++j) s[h.ic[j]] += h.v[j];
  return host_values(s, dtype(), device());
}

void Csr::scale_rows(const Tensor& s) {
  check_csr("Csr::scale_rows", *this);
  LETHE_CHECK(s.defined() && is_float(s.dtype()) && s.numel() == rows,
              "Csr::scale_rows: shape mismatch " << describe() << " vs " << s.describe());
  const HostCsr h = to_host(*this);
  const std::vector<double> sv = s.to(Device::cpu()).astype(DType::F64).to_vector<double>();
  std::vector<double> v = h.v;
  for (int64_t r = 0; r < rows; ++r)
    for (int32_t j = h.ip[r]; j < h.ip[r + 1]; ++j) v[j] *= sv[r];
  values = host_values(v, dtype(), device());
}

void Csr::scale_cols(const Tensor& s) {
  check_csr("Csr::scale_cols", *this);
  LETHE_CHECK(s.defined() && is_float(s.dtype()) && s.numel() == cols,
              "Csr::scale_cols: shape mismatch " << describe() << " vs " << s.describe());
  const HostCsr h = to_host(*this);
  const std::vector<double> sv = s.to(Device::cpu()).astype(DType::F64).to_vector<double>();
  std::vector<double> v = h.v;
  for (size_t j = 0; j < v.size(); ++j) v[j] *= sv[h.ic[j]];
  values = host_values(v, dtype(), device());
}

std::string Csr::describe() const {
  return std::string("csr ") + dtype_name(dtype()) + shape_str({rows, cols}) +
         " nnz=" + std::to_string(nnz()) + " on " + device().str();
}

namespace ops {

void spmm(const Csr& a, bool trans_a, const Tensor& x, Tensor& y, double alpha, double beta) {
  LETHE_PROFILE_SCOPE("kernel:spmm");
  check_csr("spmm", a);
  LETHE_CHECK(x.defined() && y.defined() && x.ndim() == 2 && y.ndim() == 2,
              "spmm: expected 2-D dense operands, got " << x.describe() << " and " << y.describe());
  LETHE_CHECK(a.dtype() == x.dtype() && x.dtype() == y.dtype(),
              "spmm: dtype mismatch " << a.describe() << " vs " << sig(x) << " -> " << sig(y));
  LETHE_CHECK(a.device() == x.device() && x.device() == y.device(),
              "spmm: device mismatch " << a.describe() << " vs " << x.describe() << " -> " << y.describe());
  const int64_t in = trans_a ? a.rows : a.cols, out = trans_a ? a.cols : a.rows;
  LETHE_CHECK(x.dim(0) == in,
              "spmm: shape mismatch " << a.describe() << (trans_a ? "^T" : "") << " vs " << sig(x));
  LETHE_CHECK(y.dim(0) == out && y.dim(1) == x.dim(1), "spmm: output "
                                                           << sig(y) << " does not match " << a.describe()
                                                           << (trans_a ? "^T" : "") << " x " << sig(x));
  {  // compulsory bytes: A (values, column indices, row pointers), X read once, Y written (and read if beta
     // != 0)
    const double es = static_cast<double>(dtype_size(x.dtype()));
    const double a_bytes = static_cast<double>(a.nnz()) * (es + 4.0) + 4.0 * static_cast<double>(a.rows + 1);
    const double y_bytes = static_cast<double>(y.numel()) * es * (beta != 0.0 ? 2.0 : 1.0);
    prof::count_bytes(a_bytes + static_cast<double>(x.numel()) * es + y_bytes);
  }
  LETHE_DISPATCH(x.device(), spmm, a, trans_a, x, y, alpha, beta);
}

Tensor spmm(const Csr& a, const Tensor& x) {
  LETHE_CHECK(x.defined() && x.ndim() == 2, "spmm: expected a 2-D dense operand, got " << x.describe());
  Tensor y = Tensor::empty({a.rows, x.dim(1)}, x.dtype(), x.device());
  spmm(a, false, x, y, 1.0, 0.0);
  return y;
}

}  // namespace ops

}  // namespace lethe
