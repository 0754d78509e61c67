// Tests for the .npy reader/writer and the MMRec directory loader/writer (engine/formats/npy.h,
// datasets/mmrec_io.h): round trips, every malformed input, and the real data sets in ../shared/data when
// present.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "datasets/mmrec_io.h"
#include "engine/formats/npy.h"
#include "tests/datasets/helpers.h"

using namespace lethe;
using namespace lethe::datasets;
using namespace lethe::formats;
using lethe::test::TempDir;
namespace fs = std::filesystem;

namespace {

// A small valid data set directory `<root>/toy` with image (f32) features.
std::string make_toy(const TempDir& t, const std::string& inter_body, int n_items = 4) {
  fs::path d = t / "toy";
  fs::create_directories(d);
  test::write_text(d / "toy.inter", "userID\titemID\trating\ttimestamp\tx_label\n" + inter_body);
  std::vector<float> v(n_items * 3);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5f * static_cast<float>(i);
  test::write_raw_npy(
      d / "image_feat.npy",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(n_items) + ", 3), }",
      test::as_bytes(v));
  return d.string();
}

const char* kToyRows =
    "0\t0\t1.0\t0\t0\n0\t1\t1.0\t0\t0\n0\t2\t1.0\t0\t1\n0\t3\t1.0\t0\t2\n"
    "1\t1\t1.0\t0\t0\n1\t2\t1.0\t0\t0\n1\t3\t1.0\t0\t1\n1\t0\t1.0\t0\t2\n";

}  // namespace

TEST(Npy, HalfToFloatExactForAllValues) {
  for (uint32_t h = 0; h < 65536; ++h) {
    _Float16 ref;
    const auto hb = static_cast<uint16_t>(h);
    std::memcpy(&ref, &hb, 2);
    const float want = static_cast<float>(ref), got = half_to_float(hb);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << h;
    } else {
      uint32_t a, b;
      std::memcpy(&a, &want, 4);
      std::memcpy(&b, &got, 4);
      ASSERT_EQ(a, b) << "half bits " << h;
    }
  }
}

TEST(Npy, ReadsF2F4F8AndVersions) {
  TempDir t;
  std::vector<double> d = {1.5, -2.25, 3.0, 1e-3, 0.0, 7.0};
  test::write_raw_npy(t / "a.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                      test::as_bytes(d));
  NpyArray a = read_npy((t / "a.npy").string());
  EXPECT_EQ(a.dtype, "f64");
  ASSERT_EQ(a.values.shape(), (Shape{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.values.data<float>()[i], static_cast<float>(d[i]));

  std::vector<uint16_t> h = {0x3C00, 0xC000, 0x0001, 0x7BFF};  // 1, -2, smallest subnormal, 65504
  test::write_raw_npy(t / "h.npy", "{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }",
                      test::as_bytes(h), 2);
  NpyArray b = read_npy((t / "h.npy").string());
  EXPECT_EQ(b.dtype, "f16");
  EXPECT_EQ(b.values.data<float>()[0], 1.0f);
  EXPECT_EQ(b.values.data<float>()[1], -2.0f);
  EXPECT_EQ(b.values.data<float>()[2], std::ldexp(1.0f, -24));
  EXPECT_EQ(b.values.data<float>()[3], 65504.0f);

  std::vector<float> f = {1, 2, 3, 4};
  test::write_raw_npy(t / "f.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
                      test::as_bytes(f), 3);
  EXPECT_EQ(read_npy((t / "f.npy").string()).values.to_vector<float>(), f);
}

TEST(Npy, WriteReadRoundTrip) {
  TempDir t;
  std::vector<float> v(5 * 7);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<float>(i)) * 100.0f;
  write_npy((t / "x.npy").string(), Tensor::from_vector(v, {5, 7}));
  EXPECT_FALSE(fs::exists(t / "x.npy.tmp"));
  const std::string bytes = test::read_bytes(t / "x.npy");
  EXPECT_EQ((bytes.size() - v.size() * 4) % 64, 0u);  // data 64-byte aligned
  NpyArray a = read_npy((t / "x.npy").string());
  EXPECT_EQ(a.dtype, "f32");
  EXPECT_EQ(a.values.shape(), (Shape{5, 7}));
  EXPECT_EQ(a.values.to_vector<float>(), v);
}

TEST(Npy, Errors) {
  TempDir t;
  std::vector<float> f(6, 1.0f);
  const std::string p = (t / "bad.npy").string();
  test::write_raw_npy(p, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", test::as_bytes(f));
  test::expect_error([&] { read_npy(p); }, {p, "fortran_order"});
  test::write_raw_npy(p, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", test::as_bytes(f));
  test::expect_error([&] { read_npy(p); }, {p, "'<i4'"});
  test::write_raw_npy(p, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", test::as_bytes(f));
  test::expect_error([&] { read_npy(p); }, {p, "dtype"});
  test::write_raw_npy(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                      test::as_bytes(f).substr(0, 20));
  test::expect_error([&] { read_npy(p); }, {p, "truncated"});
  test::write_text(p, "\x93NUMPY\x01");
  test::expect_error([&] { read_npy(p); }, {p, "truncated"});
  test::write_text(p, "hello world, not numpy");
  test::expect_error([&] { read_npy(p); }, {p, "magic"});
}

TEST(MmrecIo, LoadsToy) {
  TempDir t;
  Dataset ds = load_mmrec(make_toy(t, kToyRows));
  EXPECT_EQ(ds.name, "toy");
  EXPECT_EQ(ds.n_users, 2);
  EXPECT_EQ(ds.n_items, 4);
  EXPECT_EQ(ds.train.users, (std::vector<int32_t>{0, 0, 1, 1}));
  EXPECT_EQ(ds.train.items, (std::vector<int32_t>{0, 1, 1, 2}));
  EXPECT_EQ(ds.valid.items, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(ds.test.items, (std::vector<int32_t>{3, 0}));
  ASSERT_EQ(ds.features.count("image"), 1u);
  EXPECT_EQ(ds.features["image"].values.shape(), (Shape{4, 3}));
  EXPECT_EQ(ds.features["image"].source_dtype, "f32");
  EXPECT_TRUE(ds.warnings.empty());
  nlohmann::json j = summary_json(ds);
  EXPECT_EQ(j["interactions"]["train"], 4);
  EXPECT_EQ(j["modalities"]["image"]["width"], 3);
  EXPECT_NE(summary_text(ds).find("image: width 3"), std::string::npos);
}

TEST(MmrecIo, ColumnsByNameCrlfAndOnlyInterFile) {
  TempDir t;
  fs::path d = t / "somewhere";
  fs::create_directories(d);
  test::write_text(d / "other.inter",
                   "x_label\titemID\tuserID\r\n0\t1\t0\r\n0\t0\t0\r\n1\t2\t0\r\n2\t3\t0\r\n");
  Dataset ds = load_mmrec(d.string());
  EXPECT_EQ(ds.name, "other");
  EXPECT_EQ(ds.n_users, 1);
  EXPECT_EQ(ds.n_items, 4);
  EXPECT_EQ(ds.train.items, (std::vector<int32_t>{1, 0}));
  EXPECT_TRUE(ds.features.empty());
}

TEST(MmrecIo, DuplicatesAndColdStartWarnings) {
  TempDir t;
  // user 0: (0,1) repeated (second copy in test) -> dropped; user 2 has only valid/test rows -> cold start.
  std::string d = make_toy(t,
                           "0\t0\t1\t0\t0\n0\t1\t1\t0\t0\n0\t1\t1\t0\t2\n0\t2\t1\t0\t1\n0\t3\t1\t0\t2\n"
                           "2\t3\t1\t0\t1\n2\t0\t1\t0\t2\n");
  Dataset ds = load_mmrec(d);
  EXPECT_EQ(ds.n_users, 3);  // max id + 1 over all rows, cold users included
  EXPECT_EQ(ds.train.size(), 2u);
  EXPECT_EQ(ds.valid.size(), 1u);
  EXPECT_EQ(ds.test.size(), 1u);
  ASSERT_EQ(ds.warnings.size(), 2u);
  EXPECT_NE(ds.warnings[0].find("1 repeated"), std::string::npos) << ds.warnings[0];
  EXPECT_NE(ds.warnings[1].find("2 valid/test rows of 1 users"), std::string::npos) << ds.warnings[1];
}

TEST(MmrecIo, ErrorMissingColumn) {
  TempDir t;
  fs::path d = t / "toy";
  fs::create_directories(d);
  test::write_text(d / "toy.inter", "userID\titemID\trating\n0\t0\t1\n");
  test::expect_error([&] { load_mmrec(d.string()); }, {"toy.inter:1", "x_label"});
}

TEST(MmrecIo, ErrorNonNumericId) {
  TempDir t;
  std::string d = make_toy(t, std::string(kToyRows) + "1\tabc\t1.0\t0\t0\n");
  test::expect_error([&] { load_mmrec(d); }, {"toy.inter:10", "itemID", "abc"});
}

TEST(MmrecIo, ErrorNegativeId) {
  TempDir t;
  std::string d = make_toy(t, "0\t0\t1.0\t0\t0\n-3\t1\t1.0\t0\t0\n");
  test::expect_error([&] { load_mmrec(d); }, {"toy.inter:3", "userID", "negative"});
}

TEST(MmrecIo, ErrorBadXLabel) {
  TempDir t;
  std::string d = make_toy(t, std::string(kToyRows) + "1\t2\t1.0\t0\t3\n");
  test::expect_error([&] { load_mmrec(d); }, {"toy.inter:10", "x_label", "'3'"});
}

TEST(MmrecIo, ErrorEmptySplit) {
  TempDir t;
  std::string d = make_toy(t, "0\t0\t1.0\t0\t0\n0\t1\t1.0\t0\t0\n0\t2\t1.0\t0\t1\n0\t3\t1.0\t0\t1\n");
  test::expect_error([&] { load_mmrec(d); }, {"toy.inter", "test", "no rows"});
}

TEST(MmrecIo, ErrorTruncatedNpy) {
  TempDir t;
  std::string d = make_toy(t, kToyRows);
  std::string bytes = test::read_bytes(fs::path(d) / "image_feat.npy");
  test::write_text(fs::path(d) / "image_feat.npy", bytes.substr(0, bytes.size() - 5));
  test::expect_error([&] { load_mmrec(d); }, {"image_feat.npy", "truncated"});
}

TEST(MmrecIo, ErrorWrongDtype) {
  TempDir t;
  std::string d = make_toy(t, kToyRows);
  std::vector<int32_t> v(12, 1);
  test::write_raw_npy(fs::path(d) / "text_feat.npy",
                      "{'descr': '<i4', 'fortran_order': False, 'shape': (4, 3), }", test::as_bytes(v));
  test::expect_error([&] { load_mmrec(d); }, {"text_feat.npy", "'<i4'"});
}

TEST(MmrecIo, ErrorRowCountMismatch) {
  TempDir t;
  std::string d = make_toy(t, kToyRows, 5);
  test::expect_error([&] { load_mmrec(d); }, {"image_feat.npy", "5 rows", "4 items"});
}

TEST(MmrecIo, IgnoresNonMatchingFeatureNames) {
  TempDir t;
  std::string d = make_toy(t, kToyRows);
  std::vector<float> v(3, 1.0f);
  for (const char* bad : {"image_feat_fp16_original.npy", "Image_feat.npy", "feat.npy", "text-x_feat.npy"})
    test::write_raw_npy(fs::path(d) / bad, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }",
                        test::as_bytes(v));
  Dataset ds = load_mmrec(d);
  ASSERT_EQ(ds.features.size(), 1u);
  EXPECT_EQ(ds.features.begin()->first, "image");
}

TEST(MmrecIo, WriteReadRoundTripIdentical) {
  TempDir t;
  Dataset a = load_mmrec(make_toy(t, kToyRows));
  a.features["text"] =
      FeatureTable{Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}, {4, 2}), "f32", ""};
  const std::string out = (t / "copy").string();
  write_mmrec(a, out);
  for (auto& e : fs::directory_iterator(t.path()))  // no temporary directory left behind
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  Dataset b = load_mmrec(out);
  EXPECT_EQ(b.name, "copy");
  EXPECT_EQ(b.n_users, a.n_users);
  EXPECT_EQ(b.n_items, a.n_items);
  EXPECT_EQ(b.train.users, a.train.users);
  EXPECT_EQ(b.train.items, a.train.items);
  EXPECT_EQ(b.valid.users, a.valid.users);
  EXPECT_EQ(b.valid.items, a.valid.items);
  EXPECT_EQ(b.test.users, a.test.users);
  EXPECT_EQ(b.test.items, a.test.items);
  ASSERT_EQ(b.features.size(), 2u);
  for (auto& [m, ft] : a.features)
    EXPECT_EQ(b.features[m].values.to_vector<float>(), ft.values.to_vector<float>()) << m;
  // Writing again into the existing directory replaces the files in place.
  write_mmrec(b, out);
  Dataset c = load_mmrec(out);
  EXPECT_EQ(c.train.items, a.train.items);
}

// --- the real data sets (research-only; never copied into the repository) ------------------------------

namespace {
struct RealCounts {
  const char* name;
  int32_t users, items;
  int64_t train, valid, test;  // -1: not checked per split
  int64_t total;
};
}  // namespace

class RealData : public ::testing::TestWithParam<RealCounts> {};

TEST_P(RealData, CountsMatchSourceMd) {
  const RealCounts& c = GetParam();
  const std::string dir = test::shared_data_dir(c.name);
  if (dir.empty()) GTEST_SKIP() << "../shared/data/" << c.name << " not present";
  Dataset ds = load_mmrec(dir);
  EXPECT_EQ(ds.n_users, c.users);
  EXPECT_EQ(ds.n_items, c.items);
  if (c.train >= 0) {
    EXPECT_EQ(static_cast<int64_t>(ds.train.size()), c.train);
    EXPECT_EQ(static_cast<int64_t>(ds.valid.size()), c.valid);
    EXPECT_EQ(static_cast<int64_t>(ds.test.size()), c.test);
  }
  EXPECT_EQ(static_cast<int64_t>(ds.train.size() + ds.valid.size() + ds.test.size()), c.total);
}

INSTANTIATE_TEST_SUITE_P(SharedData, RealData,
                         ::testing::Values(RealCounts{"baby", 19445, 7050, 119674, 20559, 20559, 160792},
                                           RealCounts{"sports", 35598, 18357, 218409, 40029, 37899, 296337},
                                           RealCounts{"clothing", 39387, 23033, 197338, 41189, 40150, 278677},
                                           RealCounts{"ml-100k", 943, 1682, 80024, 9988, 9988, 100000},
                                           // 144 repeated pairs dropped (SOURCE.md: 19,568 unique pairs)
                                           RealCounts{"scientific", 2928, 1585, -1, -1, -1, 19568}),
                         [](const auto& info) {
                           std::string n = info.param.name;
                           for (auto& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(RealDataDetails, ScientificFeaturesAndDuplicates) {
  const std::string dir = test::shared_data_dir("scientific");
  if (dir.empty()) GTEST_SKIP() << "../shared/data/scientific not present";
  Dataset ds = load_mmrec(dir);
  ASSERT_EQ(ds.features.size(), 2u);
  EXPECT_EQ(ds.features["image"].values.shape(), (Shape{1585, 512}));
  EXPECT_EQ(ds.features["text"].values.shape(), (Shape{1585, 512}));
  ASSERT_FALSE(ds.warnings.empty());
  EXPECT_NE(ds.warnings[0].find("144 repeated"), std::string::npos) << ds.warnings[0];
}

TEST(RealDataDetails, TiktokModalitiesColdStartAndFp16) {
  const std::string dir = test::shared_data_dir("tiktok");
  if (dir.empty()) GTEST_SKIP() << "../shared/data/tiktok not present";
  Dataset ds = load_mmrec(dir);
  EXPECT_EQ(ds.n_users, 9308);
  EXPECT_EQ(ds.n_items, 6710);
  EXPECT_EQ(ds.train.size(), 59541u);
  EXPECT_LT(ds.valid.size() + ds.test.size(), 3051u + 6130u);  // the 10 train-less users' rows are gone
  ASSERT_EQ(ds.features.size(), 2u);  // image + audio; the *_fp16_original.npy files are ignored
  EXPECT_EQ(ds.features["image"].values.shape(), (Shape{6710, 128}));
  EXPECT_EQ(ds.features["audio"].values.shape(), (Shape{6710, 128}));
  bool cold = false;
  for (auto& w : ds.warnings) cold |= w.find("cold start") != std::string::npos;
  EXPECT_TRUE(cold);
  // The fp16 originals convert exactly to the float32 upcasts.
  for (const char* m : {"image", "audio"}) {
    NpyArray h = read_npy((fs::path(dir) / (std::string(m) + "_feat_fp16_original.npy")).string());
    EXPECT_EQ(h.dtype, "f16");
    EXPECT_EQ(h.values.to_vector<float>(), ds.features[m].values.to_vector<float>()) << m;
  }
}

TEST(MmrecIo, WriteRefusesToMixDataSets) {
  TempDir t;
  Dataset a = load_mmrec(make_toy(t, kToyRows));
  const fs::path out = t / "mixed";
  fs::create_directories(out);
  test::write_text(out / "other.inter", "userID\titemID\tx_label\n");
  test::expect_error([&] { write_mmrec(a, out.string()); }, {"mixed", "other.inter"});
  fs::remove(out / "other.inter");
  test::write_text(out / "audio_feat.npy", "x");
  test::expect_error([&] { write_mmrec(a, out.string()); }, {"mixed", "audio_feat.npy"});
}
