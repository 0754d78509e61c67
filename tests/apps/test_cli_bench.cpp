// `lethe bench` and `lethe train --profile` through the CLI on the tiny synthetic set: the table, the JSON
// fields (per-epoch times, medians, peak memory, unlearning speed-up) and the profile table. No timing
// thresholds: figures are measured by bench/reproduce.sh, never asserted in tests.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "run_command.h"

namespace fs = std::filesystem;

namespace {

int run_cmd(const std::string& cmd, std::string& out) { return lethe::testing::run_command(cmd, out); }

class CliBench : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lethe_cli_bench_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    data_ = (dir_ / "tiny").string();
    std::string out;
    ASSERT_EQ(run_cmd(bin_ + " gen --preset tiny --seed 1 --out " + data_, out), 0) << out;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string data_, bin_ = LETHE_BIN_PATH;
};

TEST_F(CliBench, TableAndJson) {
  const std::string json = (dir_ / "bench.json").string();
  std::string out;
  ASSERT_EQ(run_cmd(bin_ + " bench --data " + data_ + " --models lightgcn,freedom --epochs 2 --set lightgcn:n_layers=3" +
                        " --unlearn --json " + json,
                    out),
            0)
      << out;
  EXPECT_NE(out.find("train s/epoch"), std::string::npos) << out;
  EXPECT_NE(out.find("speed-up"), std::string::npos) << out;
  std::ifstream in(json);
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j["models"].size(), 2u);
  const auto& l = j["models"][0];
  EXPECT_EQ(l["model"], "lightgcn");
  EXPECT_EQ(l["config"]["n_layers"], "3");  // the model:key=value override reached that model only
  EXPECT_FALSE(j["models"][1]["config"].contains("n_layers"));
  EXPECT_EQ(l["train_seconds"].size(), 2u);
  EXPECT_EQ(l["eval_seconds"].size(), 2u);
  EXPECT_GT(l["train_seconds_median"].get<double>(), 0.0);
  EXPECT_GT(l["peak_rss_mib"].get<double>(), 1.0);
  EXPECT_GT(l["parameters"].get<int64_t>(), 0);
  EXPECT_GT(l["unlearning"]["mmrecun_seconds"].get<double>(), 0.0);
  EXPECT_GT(l["unlearning"]["gold_seconds"].get<double>(), 0.0);
  EXPECT_GT(l["unlearning"]["speedup"].get<double>(), 0.0);
}

TEST_F(CliBench, TrainProfileTable) {
  std::string out;
  ASSERT_EQ(run_cmd(bin_ + " train --data " + data_ + " --model lightgcn --epochs 1 --profile --out " +
                        (dir_ / "run").string(),
                    out),
            0)
      << out;
  for (const char* name : {"phase:forward", "phase:backward", "phase:adam", "phase:sample", "phase:eval", "fwd:spmm",
                           "bwd:spmm", "% wall"})
    EXPECT_NE(out.find(name), std::string::npos) << name << "\n" << out;
}

}  // namespace
