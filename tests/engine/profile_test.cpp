// The process-wide profiler (engine/profile.h): off by default, counts and nests scopes when on, keys
// prefix + name, keeps counts after being switched off, sorts the report by total time; the work counters
// count GEMM FLOPs and the compulsory bytes of SpMM, Adam and top-k; the trace file is valid Chrome
// trace-event JSON with one complete event per scope (nested spans, thread CPU time) and the markers.
#include "engine/profile.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "engine/ops.h"
#include "engine/sparse.h"

namespace {

using lethe::prof::Entry;

const Entry* find(const std::vector<Entry>& es, const std::string& name) {
  for (const Entry& e : es)
    if (e.name == name) return &e;
  return nullptr;
}

TEST(Profile, DisabledRecordsNothing) {
  lethe::prof::enable(true);
  lethe::prof::enable(false);
  { LETHE_PROFILE_SCOPE("phase:ignored"); }
  EXPECT_EQ(find(lethe::prof::entries(), "phase:ignored"), nullptr);
}

TEST(Profile, CountsNestedAndPrefixedScopes) {
  lethe::prof::enable(true);
  for (int i = 0; i < 3; ++i) {
    LETHE_PROFILE_SCOPE("phase:outer");
    {
      LETHE_PROFILE_SCOPE("fwd:", "matmul");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  lethe::prof::enable(false);
  const auto es = lethe::prof::entries();
  const Entry* outer = find(es, "phase:outer");
  const Entry* inner = find(es, "fwd:matmul");
  ASSERT_NE(outer, nullptr);
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(outer->calls, 3);
  EXPECT_EQ(inner->calls, 3);
  EXPECT_GE(inner->seconds, 0.006);
  EXPECT_GE(outer->seconds, inner->seconds);  // the outer scope contains the inner one
  EXPECT_GE(lethe::prof::wall_seconds(), outer->seconds);
  EXPECT_EQ(es.front().name, "phase:outer");  // sorted by total time
  const std::string table = lethe::prof::report_string();
  EXPECT_NE(table.find("phase:outer"), std::string::npos);
  EXPECT_NE(table.find("% wall"), std::string::npos);
  EXPECT_LT(table.find("phase:outer"), table.find("fwd:matmul"));
}

TEST(Profile, EnableClearsEarlierCounts) {
  lethe::prof::enable(true);
  { LETHE_PROFILE_SCOPE("phase:first"); }
  lethe::prof::enable(true);
  { LETHE_PROFILE_SCOPE("phase:second"); }
  lethe::prof::enable(false);
  const auto es = lethe::prof::entries();
  EXPECT_EQ(find(es, "phase:first"), nullptr);
  ASSERT_NE(find(es, "phase:second"), nullptr);
  lethe::prof::reset();
  EXPECT_TRUE(lethe::prof::entries().empty());
}

TEST(Profile, WorkCountersCountGemmFlopsAndCompulsoryBytes) {
  using lethe::Tensor;
  const Tensor a = Tensor::full({30, 20}, 1.0), b = Tensor::full({20, 10}, 1.0);
  lethe::prof::Work w0 = lethe::prof::work();
  (void)lethe::ops::matmul(a, b);
  lethe::prof::Work d = lethe::prof::work() - w0;
  EXPECT_EQ(d.gemm_flops, 2.0 * 30 * 20 * 10);
  EXPECT_EQ(d.bytes, 0.0);

  // SpMM: A's values (4 B) and column indices (4 B) per non-zero, its row pointers, X once, Y once.
  const lethe::Csr sp = lethe::Csr::from_coo(5, 4, {0, 1, 4}, {0, 3, 2}, {1.f, 2.f, 3.f});
  const Tensor x = Tensor::full({4, 8}, 1.0);
  w0 = lethe::prof::work();
  (void)lethe::ops::spmm(sp, x);
  d = lethe::prof::work() - w0;
  EXPECT_EQ(d.gemm_flops, 0.0);
  EXPECT_EQ(d.bytes, 3 * 8.0 + 6 * 4.0 + 4 * 8 * 4.0 + 5 * 8 * 4.0);

  // Adam: parameter, gradient and both moments read, three written.
  Tensor p = Tensor::full({100}, 1.0), g = Tensor::full({100}, 0.1), m = Tensor::zeros({100}),
         v = Tensor::zeros({100});
  w0 = lethe::prof::work();
  lethe::ops::adam_step(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.0, 1);
  EXPECT_EQ((lethe::prof::work() - w0).bytes, 7.0 * 4 * 100);
}

TEST(Profile, TraceIsChromeTraceJsonWithNestedScopes) {
  namespace fs = std::filesystem;
  const fs::path path =
      fs::temp_directory_path() / ("lethe_trace_test_" + std::to_string(::getpid()) + ".json");
  lethe::prof::enable(false);
  lethe::prof::start_trace();
  EXPECT_TRUE(lethe::prof::tracing());
  for (int i = 0; i < 2; ++i) {
    LETHE_PROFILE_SCOPE("phase:outer");
    LETHE_PROFILE_SCOPE("fwd:", "matmul");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  lethe::prof::trace_instant("epoch \"0\" done");
  lethe::prof::write_trace(path.string());
  EXPECT_FALSE(lethe::prof::tracing());
  EXPECT_FALSE(lethe::prof::enabled());  // the profile was off before the trace: the scopes are off again
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));

  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in);  // throws (fails the test) on invalid JSON
  ASSERT_TRUE(j.contains("traceEvents"));
  int outer = 0, inner = 0, marks = 0;
  double outer_ts = -1, outer_end = -1;
  for (const auto& e : j["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph") && e.contains("name") && e.contains("pid"));
    const std::string name = e["name"], ph = e["ph"];
    if (ph == "X") {
      ASSERT_TRUE(e.contains("ts") && e.contains("dur") && e.contains("tid") && e.contains("tdur"));
      EXPECT_GE(e["dur"].get<double>(), 0.0);
      if (name == "phase:outer") {
        ++outer;
        EXPECT_EQ(e["cat"], "phase");
        outer_ts = e["ts"].get<double>();
        outer_end = outer_ts + e["dur"].get<double>();
      } else if (name == "fwd:matmul") {
        ++inner;
        EXPECT_EQ(e["cat"], "op");
        EXPECT_GE(e["dur"].get<double>(), 900.0);  // microseconds: the 1 ms sleep
        EXPECT_LE(e["tdur"].get<double>(),
                  e["dur"].get<double>() + 50.0);  // the thread slept: little CPU time
      }
    } else if (ph == "i") {
      ++marks;
      EXPECT_EQ(name, "epoch \"0\" done");
    }
  }
  EXPECT_EQ(outer, 2);
  EXPECT_EQ(inner, 2);
  EXPECT_EQ(marks, 1);
  EXPECT_GT(outer_end, outer_ts);
  fs::remove(path);
}

TEST(Profile, TraceToAnUnwritablePathFailsNamingIt) {
  lethe::prof::start_trace();
  { LETHE_PROFILE_SCOPE("phase:x"); }
  try {
    lethe::prof::write_trace("/nonexistent-dir/trace.json");
    ADD_FAILURE() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/trace.json"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(lethe::prof::tracing());
}

}  // namespace
