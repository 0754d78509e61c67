// Tensor basics: factories, views, conversions, host read-back, device parsing and error messages.
#include "helpers.h"

namespace lethe {
namespace {

using test::expect_error;

TEST(Device, Parse) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_EQ(parse_device("cuda"), Device::cuda(0));
  EXPECT_EQ(parse_device("cuda:1"), Device::cuda(1));
  expect_error([] { parse_device("gpu"); }, {"parse_device", "gpu"});
  expect_error([] { parse_device("cuda:x"); }, {"parse_device"});
  EXPECT_EQ(Device::cuda(2).str(), "cuda:2");
#ifndef LETHE_WITH_CUDA
  EXPECT_FALSE(cuda_compiled());
  EXPECT_FALSE(cuda_available());
  expect_error([] { Tensor::empty({2}, DType::F32, Device::cuda(0)); }, {"CUDA backend not compiled"});
#endif
}

TEST(Tensor, FactoriesAndReadBack) {
  Tensor z = Tensor::zeros({3, 4});
  EXPECT_EQ(z.numel(), 12);
  EXPECT_EQ(z.rows(), 3);
  EXPECT_EQ(z.cols(), 4);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(z.raw()) % 64, 0u);
  for (float v : z.to_vector<float>()) EXPECT_EQ(v, 0.0f);
  Tensor f = Tensor::full({2, 2}, 2.5, DType::F64);
  for (double v : f.to_vector<double>()) EXPECT_EQ(v, 2.5);
  Tensor i = Tensor::full({5}, 7, DType::I64);
  for (int64_t v : i.to_vector<int64_t>()) EXPECT_EQ(v, 7);
  EXPECT_DOUBLE_EQ(Tensor::scalar(3.0).item(), 3.0);
  EXPECT_EQ(Tensor::from_vector(std::vector<int32_t>{1, 2, 3}).describe(), "i32[3] on cpu");
  expect_error([] { Tensor::from_vector(std::vector<float>{1, 2, 3}, {2, 2}); }, {"from_vector", "[2, 2]"});
  expect_error([] { Tensor::zeros({2}).data<double>(); }, {"data", "f64", "f32[2]"});
  expect_error([] { Tensor::zeros({2}).item(); }, {"item", "f32[2]"});
}

TEST(Tensor, ViewsShareStorage) {
  Tensor a = Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, {3, 2});
  Tensor r = a.row_range(1, 3);
  EXPECT_EQ(r.shape(), (Shape{2, 2}));
  EXPECT_EQ(r.to_vector<float>(), (std::vector<float>{2, 3, 4, 5}));
  Tensor flat = a.reshape({-1});
  EXPECT_EQ(flat.shape(), (Shape{6}));
  r.data<float>()[0] = 9;  // writes through to a
  EXPECT_EQ(a.to_vector<float>()[2], 9.0f);
  EXPECT_EQ(a.reshape({2, 3}).shape(), (Shape{2, 3}));
  expect_error([&] { a.reshape({4, 2}); }, {"reshape", "f32[3, 2]", "[4, 2]"});
  expect_error([&] { a.row_range(2, 4); }, {"row_range", "f32[3, 2]"});
}

TEST(Tensor, CopiesAndConversions) {
  Tensor a = Tensor::from_vector(std::vector<float>{1.5f, -2.0f, 3.25f}, {3});
  Tensor b = a.clone();
  b.data<float>()[0] = 0;
  EXPECT_EQ(a.to_vector<float>()[0], 1.5f);  // clone is a deep copy
  EXPECT_EQ(a.astype(DType::F64).to_vector<double>(), (std::vector<double>{1.5, -2.0, 3.25}));
  EXPECT_EQ(Tensor::from_vector(std::vector<int32_t>{4, -5}).astype(DType::I64).to_vector<int64_t>(),
            (std::vector<int64_t>{4, -5}));
  EXPECT_EQ(Tensor::from_vector(std::vector<int64_t>{4, -5}).astype(DType::F32).to_vector<float>(),
            (std::vector<float>{4, -5}));
  Tensor c = Tensor::zeros({3});
  c.copy_from(a);
  EXPECT_EQ(c.to_vector<float>(), a.to_vector<float>());
  expect_error([&] { c.copy_from(Tensor::zeros({4})); }, {"copy_from", "f32[3]", "f32[4]"});
  expect_error([&] { a.astype(DType::I32); }, {"astype", "f32[3]"});
}

}  // namespace
}  // namespace lethe

namespace lethe {
namespace {

TEST(Tensor, HostBlocksAreCachedAndReused) {
  release_host_cache();
  void* first = nullptr;
  {
    Tensor big = Tensor::empty({3 << 20}, DType::F32);  // 12 MiB: cached class, huge-page aligned
    first = big.raw();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % (2 << 20), 0u);
  }
  EXPECT_GE(host_cache_bytes(), size_t{12} << 20);
  Tensor again = Tensor::zeros({3 << 20}, DType::F32);  // same size class: the same block comes back
  EXPECT_EQ(again.raw(), first);
  for (float v : again.row_range(0, 1000).to_vector<float>()) EXPECT_EQ(v, 0.0f);
  release_host_cache();
  EXPECT_EQ(host_cache_bytes(), 0u);
}

}  // namespace
}  // namespace lethe
