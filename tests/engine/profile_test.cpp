// The process-wide profiler (engine/profile.h): off by default, counts and nests scopes when on, keys
// prefix + name, keeps counts after being switched off, sorts the report by total time.
#include "engine/profile.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

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

}  // namespace
