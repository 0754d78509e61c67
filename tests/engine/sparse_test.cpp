// CSR construction (duplicate summing, sorted columns), transpose, scaling, degree sums, to_dense and
// SpMM in both orientations against dense GEMM.
#include "helpers.h"

namespace lethe {
namespace {

using test::expect_error;
using test::host;
using test::max_rel_err;
using test::rand_tensor;

TEST(Csr, FromCooSumsDuplicatesAndSortsColumns) {
  Csr a = Csr::from_coo(3, 4, {2, 0, 0, 2, 0, 1}, {1, 3, 1, 1, 3, 0}, {1.f, 2.f, 3.f, 4.f, 5.f, 6.f});
  EXPECT_EQ(a.nnz(), 4);
  EXPECT_EQ(a.indptr.to_vector<int32_t>(), (std::vector<int32_t>{0, 2, 3, 4}));
  EXPECT_EQ(a.indices.to_vector<int32_t>(), (std::vector<int32_t>{1, 3, 0, 1}));
  EXPECT_EQ(a.values.to_vector<float>(), (std::vector<float>{3.f, 7.f, 6.f, 5.f}));
  EXPECT_EQ(host(a.to_dense()), (std::vector<double>{0, 3, 0, 7, 6, 0, 0, 0, 0, 5, 0, 0}));
  EXPECT_EQ(host(a.row_sums()), (std::vector<double>{10, 6, 5}));
  EXPECT_EQ(host(a.col_sums()), (std::vector<double>{6, 8, 0, 7}));
  EXPECT_EQ(a.describe(), "csr f32[3, 4] nnz=4 on cpu");
  expect_error([] { Csr::from_coo(2, 2, {0, 2}, {0, 0}, {1.f, 1.f}); }, {"from_coo", "(2, 0)"});
  expect_error([] { Csr::from_coo(2, 2, {0}, {0, 1}, {1.f}); }, {"from_coo"});
}

TEST(Csr, TransposeScaleAndDenseRoundTrip) {
  Tensor d = rand_tensor<double>({6, 5}, 3);
  std::vector<double> dv = d.to_vector<double>();
  for (size_t i = 0; i < dv.size(); i += 3) dv[i] = 0;  // sparsify
  d = Tensor::from_vector(dv, {6, 5});
  Csr a = Csr::from_dense(d);
  EXPECT_EQ(a.dtype(), DType::F64);
  EXPECT_EQ(host(a.to_dense()), dv);
  Csr t = a.transpose();
  EXPECT_EQ(t.rows, 5);
  EXPECT_EQ(t.cols, 6);
  const auto T = host(t.to_dense());
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 5; ++j) EXPECT_EQ(T[j * 6 + i], dv[i * 5 + j]);
  // columns stay sorted within rows after the transpose
  const auto ip = t.indptr.to_vector<int32_t>();
  const auto ic = t.indices.to_vector<int32_t>();
  for (int r = 0; r < 5; ++r)
    for (int j = ip[r] + 1; j < ip[r + 1]; ++j) EXPECT_LT(ic[j - 1], ic[j]);
  // D_r A D_c
  Tensor rs = rand_tensor<double>({6}, 4), cs = rand_tensor<double>({5}, 5);
  const auto R = host(rs), C = host(cs);
  Csr s = a;
  s.scale_rows(rs);
  s.scale_cols(cs);
  const auto S = host(s.to_dense());
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 5; ++j) EXPECT_DOUBLE_EQ(S[i * 5 + j], dv[i * 5 + j] * R[i] * C[j]);
  EXPECT_EQ(host(a.to_dense()), dv);  // scaling replaced s.values, a is untouched
  EXPECT_EQ(a.astype(DType::F32).dtype(), DType::F32);
  expect_error([&] { s.scale_rows(cs); }, {"scale_rows", "[6, 5]", "f64[5]"});
}

template <class T>
class SpmmTest : public ::testing::Test {};
TYPED_TEST_SUITE(SpmmTest, test::FloatTypes);

TYPED_TEST(SpmmTest, BothTransposesMatchDense) {
  using T = TypeParam;
  const int64_t rows = 300, cols = 200, m = 17;
  std::vector<int32_t> r, c;
  std::vector<float> v;
  std::mt19937 gen(1);
  for (int i = 0; i < 3000; ++i) {  // includes duplicates
    r.push_back(static_cast<int32_t>(gen() % rows));
    c.push_back(static_cast<int32_t>(gen() % cols));
    v.push_back(static_cast<float>(gen() % 1000) / 500.f - 1.f);
  }
  Csr a = Csr::from_coo(rows, cols, r, c, v).astype(dtype_of<T>());
  Tensor dense = a.to_dense();
  Tensor x = rand_tensor<T>({cols, m}, 2), xt = rand_tensor<T>({rows, m}, 3);
  const double eps = 100 * test::tol<T>();
  EXPECT_LT(max_rel_err(host(ops::spmm(a, x)), host(ops::matmul(dense, x))), eps);
  Tensor y = rand_tensor<T>({cols, m}, 4);
  Tensor ref = ops::add(ops::scale(ops::matmul(dense, xt, true, false), 0.5), ops::scale(y, 2.0));
  ops::spmm(a, true, xt, y, 0.5, 2.0);
  EXPECT_LT(max_rel_err(host(y), host(ref)), eps);
  // beta = 0 ignores NaN in y
  Tensor yn = Tensor::full({rows, m}, std::nan(""), dtype_of<T>());
  ops::spmm(a, false, x, yn, 1.0, 0.0);
  EXPECT_TRUE(test::all_finite(yn));
  expect_error([&] { ops::spmm(a, false, xt, yn); }, {"spmm", "[300, 200]", "[300, 17]"});
  expect_error([&] { ops::spmm(a, x.astype(dtype_of<T>() == DType::F32 ? DType::F64 : DType::F32)); },
               {"spmm", "dtype mismatch"});
}

}  // namespace
}  // namespace lethe
