// Shared helpers for the data-layer tests: scratch directories, raw file writers, error-message checks.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/error.h"
#include "engine/rng.h"
#include "engine/sparse.h"
#include "engine/tensor.h"

namespace lethe::test {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("lethe_ds_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  fs::path operator/(const std::string& s) const { return path_ / s; }

 private:
  fs::path path_;
};

inline void write_text(const fs::path& p, const std::string& s) {
  std::ofstream o(p, std::ios::binary | std::ios::trunc);
  o << s;
}

inline std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A raw .npy (version 1.0) with the given header dict and payload bytes.
inline void write_raw_npy(const fs::path& p, const std::string& dict, const std::string& payload,
                          int version = 1) {
  std::string header = dict;
  const size_t pre = version == 1 ? 10 : 12;
  size_t total = pre + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(version));
  out.push_back(0);
  const size_t n = header.size();
  out.push_back(static_cast<char>(n & 0xFF));
  out.push_back(static_cast<char>((n >> 8) & 0xFF));
  if (version != 1) {
    out.push_back(static_cast<char>((n >> 16) & 0xFF));
    out.push_back(static_cast<char>((n >> 24) & 0xFF));
  }
  write_text(p, out + header + payload);
}

template <class T>
std::string as_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// Runs fn, expects lethe::Error with a one-line message containing every needle.
inline void expect_error(const std::function<void()>& fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected lethe::Error";
  } catch (const lethe::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line message: " << msg;
    for (auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

// ../shared/data relative to the repository root, or "" when absent.
inline std::string shared_data_dir(const std::string& name) {
  fs::path p = fs::path(LETHE_SOURCE_DIR "/../shared/data") / name;
  return fs::is_directory(p) ? p.string() : std::string();
}

// Dense copy of a CSR matrix (small test matrices only).
inline std::vector<float> dense(const Csr& m) { return m.to_dense().to_vector<float>(); }

// Same shape, pattern and values, bitwise.
inline void expect_csr_equal(const Csr& a, const Csr& b) {
  ASSERT_EQ(a.rows, b.rows);
  ASSERT_EQ(a.cols, b.cols);
  EXPECT_EQ(a.indptr.to_vector<int32_t>(), b.indptr.to_vector<int32_t>());
  EXPECT_EQ(a.indices.to_vector<int32_t>(), b.indices.to_vector<int32_t>());
  EXPECT_EQ(a.values.to_vector<float>(), b.values.to_vector<float>());
}

// [n, f] standard normal features.
inline Tensor random_features(int64_t n, int64_t f, uint64_t seed) {
  Rng r(seed);
  std::vector<float> v(n * f);
  for (auto& x : v) x = static_cast<float>(r.normal());
  return Tensor::from_vector(v, {n, f});
}

}  // namespace lethe::test
