// End to end through the CLI: `lethe demo` (the README's main command) and `lethe train` -> `lethe request`
// -> `lethe unlearn` -> `lethe audit`, plus the refusals (bad request, mismatched gold) that must write
// nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli_support.h"

namespace fs = std::filesystem;

namespace {

int run(const std::string& cmd, std::string& out) { return lethe::testing::run_command(cmd, out); }

fs::path fresh(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("lethe_cli_unlearn_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

}  // namespace

TEST(CliUnlearn, DemoRunsEndToEnd) {
  const fs::path dir = fresh("demo");
  std::string out;
  ASSERT_EQ(run(std::string(LETHE_BIN_PATH) + " demo --model lightgcn --out " + dir.string(), out), 0) << out;
  for (const char* stage :
       {"[1/7]", "[2/7]", "[3/7]", "[4/7]", "[5/7]", "[6/7]", "[7/7]", "| mmrecun |", "| gold |"})
    EXPECT_NE(out.find(stage), std::string::npos) << stage << "\n" << out;
  std::ifstream in(dir / "audit" / "report.json");
  const nlohmann::json rep = nlohmann::json::parse(in);
  ASSERT_EQ(rep["rows"].size(), 4u);
  for (const char* k : {"retain_recall@20", "retain_ndcg@20", "forget_recall@20", "mia_balanced_accuracy",
                        "jaccard@20_vs_gold", "time_s", "speedup_vs_gold"})
    EXPECT_TRUE(rep["rows"][2].contains(k)) << k;
  EXPECT_TRUE(fs::exists(dir / "audit" / "report.md"));
  // A second demo into the same directory replaces the first; a foreign directory is refused.
  ASSERT_EQ(run(std::string(LETHE_BIN_PATH) + " demo --model lightgcn --out " + dir.string(), out), 0) << out;
  const fs::path foreign = fresh("foreign");
  fs::create_directories(foreign);
  std::ofstream(foreign / "keep.txt") << "mine\n";
  EXPECT_NE(run(std::string(LETHE_BIN_PATH) + " demo --out " + foreign.string(), out), 0);
  EXPECT_NE(out.find("not a previous demo"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(foreign / "keep.txt"));
  fs::remove_all(dir);
  fs::remove_all(foreign);
}

TEST(CliUnlearn, UnlearnAuditAndRefusals) {
  const fs::path dir = fresh("cmds");
  fs::create_directories(dir);
  const std::string bin = LETHE_BIN_PATH, d = dir.string();
  std::string out;
  ASSERT_EQ(run(bin + " gen --preset tiny --seed 4 --out " + d + "/data", out), 0) << out;
  ASSERT_EQ(
      run(bin + " train --data " + d + "/data --model lightgcn --epochs 20 --quiet --out " + d + "/orig",
          out),
      0)
      << out;
  ASSERT_EQ(run(bin + " request --data " + d + "/data --kind interaction --fraction 0.05 --seed 2 --out " +
                    d + "/r.tsv",
                out),
            0)
      << out;
  ASSERT_EQ(run(bin + " unlearn --run " + d + "/orig --request " + d +
                    "/r.tsv --method mmrecun --epochs 3 --out " + d + "/mu",
                out),
            0)
      << out;
  EXPECT_NE(out.find("mmrecun epoch 2"), std::string::npos) << out;
  ASSERT_EQ(run(bin + " unlearn --run " + d + "/orig --request " + d +
                    "/r.tsv --method gold --epochs 5 --quiet --out " + d + "/gold",
                out),
            0)
      << out;
  ASSERT_EQ(run(bin + " audit --request " + d + "/r.tsv --original " + d + "/orig --gold " + d +
                    "/gold --compare mmrecun=" + d + "/mu --out " + d + "/audit",
                out),
            0)
      << out;
  EXPECT_NE(out.find("| mmrecun |"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(dir / "audit" / "report.json"));
  // Refusals: a bad request, and a gold run audited against another request. Nothing is written.
  std::ofstream(dir / "bad.tsv") << "userID\n123456\n";
  EXPECT_EQ(run(bin + " unlearn --run " + d + "/orig --request " + d + "/bad.tsv --out " + d + "/bad", out),
            1);
  EXPECT_NE(out.find("123456"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "bad"));
  ASSERT_EQ(
      run(bin + " request --data " + d + "/data --kind user --fraction 0.05 --seed 9 --out " + d + "/r2.tsv",
          out),
      0);
  EXPECT_EQ(run(bin + " audit --request " + d + "/r2.tsv --original " + d + "/orig --gold " + d +
                    "/gold --out " + d + "/audit2",
                out),
            1);
  EXPECT_NE(out.find("was unlearned for other requests"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(dir / "audit2"));
  EXPECT_NE(run(bin + " unlearn --run " + d + "/orig --request " + d +
                    "/r.tsv --epochs 2 --until-forgotten --out " + d + "/x",
                out),
            0);
  EXPECT_FALSE(fs::exists(dir / "x"));
  fs::remove_all(dir);
}

// `lethe train --shards K` writes a sharded run that `lethe unlearn --method sisa` unlearns; sisa on a plain
// run fails, says how to get a sharded one, and writes nothing.
TEST(CliUnlearn, ShardedTrainAndSisa) {
  const fs::path dir = fresh("sisa");
  fs::create_directories(dir);
  const std::string bin = LETHE_BIN_PATH, d = dir.string();
  std::string out;
  ASSERT_EQ(run(bin + " gen --preset tiny --seed 4 --out " + d + "/data", out), 0) << out;
  ASSERT_EQ(run(bin + " train --data " + d + "/data --model lightgcn --epochs 2 --shards 2 --quiet --out " +
                    d + "/sharded",
                out),
            0)
      << out;
  ASSERT_EQ(
      run(bin + " train --data " + d + "/data --model lightgcn --epochs 2 --quiet --out " + d + "/plain",
          out),
      0)
      << out;
  const nlohmann::json info = nlohmann::json::parse(std::ifstream(d + "/sharded/run.json"));
  EXPECT_EQ(info["summary"]["shards"].size(), 2u) << info.dump();
  ASSERT_EQ(
      run(bin + " request --data " + d + "/data --kind user --fraction 0.05 --seed 1 --out " + d + "/req.tsv",
          out),
      0)
      << out;
  ASSERT_EQ(run(bin + " unlearn --run " + d + "/sharded --request " + d +
                    "/req.tsv --method sisa --quiet --out " + d + "/sisa",
                out),
            0)
      << out;
  const nlohmann::json un = nlohmann::json::parse(std::ifstream(d + "/sisa/run.json"));
  EXPECT_FALSE(un["summary"]["unlearning"]["extra"]["touched_shards"].empty()) << un.dump();
  EXPECT_NE(run(bin + " unlearn --run " + d + "/plain --request " + d +
                    "/req.tsv --method sisa --quiet --out " + d + "/no",
                out),
            0);
  EXPECT_NE(out.find("shards > 1"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(d + "/no"));
  fs::remove_all(dir);
}
