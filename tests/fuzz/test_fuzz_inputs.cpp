// The fuzzed parsers (targets/targets.h) over the seed corpus and over every input that once crashed a
// fuzz target (regressions/), in the ordinary suite: each must end in success or a lethe::Error. The
// debug preset runs this under AddressSanitizer + UBSan, as the fuzz targets do. The cases below name
// what each regression input broke.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "engine/formats/npy.h"
#include "targets/targets.h"

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::map<std::string, std::function<void(const uint8_t*, size_t)>>& targets() {
  static const std::map<std::string, std::function<void(const uint8_t*, size_t)>> t{
      {"npy", lethe::fuzz::npy},
      {"safetensors", lethe::fuzz::safetensors},
      {"inter", lethe::fuzz::inter},
      {"request", lethe::fuzz::request},
      {"config", lethe::fuzz::config}};
  return t;
}

TEST(FuzzInputs, CorpusAndRegressionsParseOrFailCleanly) {
  int files = 0;
  for (const char* set : {"corpus", "regressions"}) {
    for (const auto& [name, fn] : targets()) {
      const fs::path dir = fs::path(LETHE_SOURCE_DIR) / "tests" / "fuzz" / set / name;
      if (!fs::is_directory(dir)) continue;
      for (auto& e : fs::directory_iterator(dir)) {
        const std::string bytes = slurp(e.path());
        SCOPED_TRACE(e.path().string());
        fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());  // throws only on a bug
        ++files;
      }
    }
  }
  EXPECT_GE(files, 20);
}

// regressions/npy/empty-array-memcpy-from-null.npy: a (0, 0) array made read_npy memcpy from a null buffer.
TEST(FuzzInputs, EmptyNpyArrayReads) {
  const std::string bytes =
      slurp(fs::path(LETHE_SOURCE_DIR) / "tests/fuzz/regressions/npy/empty-array-memcpy-from-null.npy");
  const lethe::formats::NpyArray a = lethe::formats::read_npy_bytes(bytes, "empty.npy");
  EXPECT_EQ(a.values.ndim(), 2);
  EXPECT_EQ(a.values.numel(), 0);
}

// regressions/config/int-beyond-int64.yaml: reading `reg_weight: [1e50]` as an integer cast 1e50 to int64
// (undefined behaviour); now an error naming the key.
TEST(FuzzInputs, IntegerBeyondInt64IsAnError) {
  const lethe::models::Config c = lethe::models::Config::from_yaml_string("epochs: 1e50\nk: -1e19\nn: 12\n");
  for (const char* k : {"epochs", "k"}) {
    try {
      c.get_int(k, 0);
      ADD_FAILURE() << k << " read as an integer";
    } catch (const lethe::Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + k + "'"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(c.get_int("n", 0), 12);
}

}  // namespace
