// `lethe bench` and `lethe train --profile` through the CLI on the tiny synthetic set: the table, the JSON
// fields (per-epoch times, medians, floors, peak memory, unlearning speed-up, busy/quiet epochs) and the
// profile table; `--trace` on train, unlearn and bench writes Chrome trace JSON with the ops and phases;
// bench/unlearn_benchmark.sh end to end (leaderboard Markdown + JSON, plots redrawn from the JSON alone).
// No timing thresholds: figures are measured by bench/reproduce.sh, never asserted in tests.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli_support.h"

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
  ASSERT_EQ(run_cmd(bin_ + " bench --data " + data_ +
                        " --models lightgcn,freedom --epochs 2 --set lightgcn:n_layers=3" +
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
  // Floors: the machine's rates from this run, the model's counted work, the ratio.
  EXPECT_GT(j["machine"]["gemm_gflops"].get<double>(), 0.0);
  EXPECT_GT(j["machine"]["copy_gbs"].get<double>(), 0.0);
  EXPECT_GT(l["train_compulsory_gb_per_epoch"].get<double>(), 0.0);  // SpMM operands and Adam state
  EXPECT_GT(l["train_floor_seconds"].get<double>(), 0.0);
  EXPECT_GT(l["train_vs_floor"].get<double>(), 0.0);
  // The same in CPU seconds (the yardsticks per CPU second, the epochs' process CPU time).
  EXPECT_GT(j["machine"]["gemm_gflop_per_cpu_s"].get<double>(), 0.0);
  EXPECT_GT(j["machine"]["copy_gb_per_cpu_s"].get<double>(), 0.0);
  EXPECT_EQ(l["train_cpu_seconds"].size(), 2u);
  EXPECT_GT(l["train_cpu_floor_seconds"].get<double>(), 0.0);
  EXPECT_GT(l["eval_cpu_seconds"].get<double>(), 0.0);
  // An epoch's CPU less one evaluation's: on the tiny set the two are close, so only the sign is certain.
  EXPECT_GE(l["train_cpu_seconds_median"].get<double>(), 0.0);
  EXPECT_GE(l["train_cpu_vs_floor"].get<double>(), 0.0);
  EXPECT_GE(l["train_cores"].get<double>(), 0.0);
  EXPECT_GT(l["eval_gemm_gflop"].get<double>(), 0.0);                          // the score GEMMs
  EXPECT_GT(j["models"][1]["train_gemm_gflop_per_epoch"].get<double>(), 0.0);  // FREEDOM's projections
  EXPECT_NE(out.find("floor"), std::string::npos) << out;
}

// Counts the trace's complete events by name; fails on invalid JSON.
std::map<std::string, int> trace_events(const std::string& path) {
  std::ifstream in(path);
  const nlohmann::json j = nlohmann::json::parse(in);
  std::map<std::string, int> n;
  for (const auto& e : j.at("traceEvents"))
    if (e.at("ph") == "X") ++n[e.at("name").get<std::string>()];
  return n;
}

TEST_F(CliBench, BusyEpochsAndTrace) {
  const std::string json = (dir_ / "busy.json").string(), trace = (dir_ / "bench.trace.json").string();
  std::string out;
  ASSERT_EQ(
      run_cmd(bin_ + " bench --data " + data_ + " --models lightgcn,lightgcn/n_layers=1 --epochs 4 --busy" +
                  " --trace " + trace + " --json " + json,
              out),
      0)
      << out;
  std::ifstream in(json);
  const nlohmann::json j = nlohmann::json::parse(in);
  ASSERT_EQ(j["models"].size(), 2u);
  const auto& m = j["models"][0];
  EXPECT_EQ(m["train_seconds"].size(), 1u);       // quiet epoch 2 (epoch 0 warms up)
  EXPECT_EQ(m["busy_train_seconds"].size(), 2u);  // epochs 1 and 3
  EXPECT_GT(m["busy_train_ratio"].get<double>(), 0.0);
  EXPECT_EQ(j["models"][1]["model"], "lightgcn/n_layers=1");
  EXPECT_EQ(j["models"][1]["config"]["n_layers"], "1");  // the entry's own override
  const auto n = trace_events(trace);
  for (const char* name :
       {"phase:forward", "phase:backward", "phase:adam", "phase:eval", "fwd:spmm", "bwd:spmm"})
    EXPECT_GT(n.count(name) ? n.at(name) : 0, 0) << name;
  EXPECT_NE(out.find("busy/quiet"), std::string::npos) << out;
}

TEST_F(CliBench, TrainAndUnlearnTrace) {
  const std::string run = (dir_ / "run").string(), trace = (dir_ / "train.json").string();
  std::string out;
  ASSERT_EQ(run_cmd(bin_ + " train --data " + data_ + " --model lightgcn --epochs 1 --quiet --trace " +
                        trace + " --out " + run,
                    out),
            0)
      << out;
  auto n = trace_events(trace);
  for (const char* name :
       {"phase:forward", "phase:backward", "phase:adam", "phase:sample", "fwd:spmm", "bwd:spmm"})
    EXPECT_GT(n.count(name) ? n.at(name) : 0, 0) << name;
  const std::string req = (dir_ / "req.tsv").string(), utrace = (dir_ / "unlearn.json").string();
  ASSERT_EQ(
      run_cmd(bin_ + " request --data " + data_ + " --kind user --fraction 0.1 --seed 1 --out " + req, out),
      0)
      << out;
  ASSERT_EQ(
      run_cmd(bin_ + " unlearn --run " + run + " --request " + req + " --method mmrecun --epochs 1 --quiet" +
                  " --trace " + utrace + " --out " + (dir_ / "unlearned").string(),
              out),
      0)
      << out;
  n = trace_events(
      utrace);  // the unlearning loop's ops (forward and backward of the forget and retain terms)
  for (const char* name : {"fwd:spmm", "bwd:spmm", "fwd:gather_rows", "bwd:gather_rows"})
    EXPECT_GT(n.count(name) ? n.at(name) : 0, 0) << name;
}

TEST_F(CliBench, TrainProfileTable) {
  std::string out;
  ASSERT_EQ(run_cmd(bin_ + " train --data " + data_ + " --model lightgcn --epochs 1 --profile --out " +
                        (dir_ / "run").string(),
                    out),
            0)
      << out;
  for (const char* name : {"phase:forward", "phase:backward", "phase:adam", "phase:sample", "phase:eval",
                           "fwd:spmm", "bwd:spmm", "% wall"})
    EXPECT_NE(out.find(name), std::string::npos) << name << "\n" << out;
}

// The unlearning benchmark of record (docs/benchmark.md, "The command") on the tiny set, two seeds, a user
// and an interaction cell, mmrecun and sisa on 2 shards, a 2-request stream: every cell, seed, method, curve,
// the stream and the sharding table reach leaderboard.json, and `unlearn_benchmark_table.py plots` redraws
// every plot from that JSON alone (where Debian's python3-matplotlib is installed); TABLE_ONLY=1 then writes
// the leaderboard of a run stopped part-way.
TEST_F(CliBench, UnlearnBenchmarkScriptWritesTheLeaderboardAndPlotsFromItsJson) {
  std::string out;
  if (run_cmd("python3 -c 'import json'", out) != 0) GTEST_SKIP() << "python3 is not installed";
  const fs::path bench = dir_ / "bench";
  const std::string src = LETHE_SOURCE_DIR;
  ASSERT_EQ(
      run_cmd("OUT=" + bench.string() + " DATA=" + data_ +
                  " SEEDS='1 2' KINDS='user interaction' METHODS='mmrecun sisa' SHARDS=2 EXTRA_SHARDS=' '"
                  " STREAM_N=2 STREAM_METHODS=mmrecun PYTHON=python3 " +
                  src + "/bench/unlearn_benchmark.sh " + bin_,
              out),
      0)
      << out;
  std::ifstream in(bench / "leaderboard.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  for (const char* cell : {"user", "interaction"}) {
    for (const char* m : {"original", "gold", "mmrecun", "sisa"}) {
      ASSERT_TRUE(j["cells"][cell].contains(m)) << cell << " " << m;
      EXPECT_EQ(j["cells"][cell][m]["forget_recall@20"]["n"], 2) << cell << " " << m;  // both seeds
    }
    EXPECT_GT(j["cells"][cell]["mmrecun"]["speedup_vs_gold"]["mean"].get<double>(), 0.0) << cell;
    const auto& c = j["curves"][cell];  // MMRecUn's forget recall per epoch, first seed
    ASSERT_FALSE(c["epoch"].empty()) << cell;
    EXPECT_EQ(c["epoch"].size(), c["forget_recall@20"].size()) << cell;
    EXPECT_EQ(c["seed"], 1) << cell;
    EXPECT_TRUE(c["gold"].is_number() && c["original"].is_number()) << cell;
  }
  EXPECT_EQ(j["stream"]["mmrecun"]["requests"], 2);
  EXPECT_TRUE(j["sharding"].contains("1") && j["sharding"].contains("2"));
  const std::string md = lethe::testing::slurp(bench / "leaderboard.md");
  for (const char* h :
       {"## user", "## interaction", "| mmrecun |", "| sisa |", "Sequential stream (2 single-user"})
    EXPECT_NE(md.find(h), std::string::npos) << h << "\n" << md;
  if (run_cmd("python3 -c 'import matplotlib'", out) == 0) {  // tables only without matplotlib
    const fs::path plots = dir_ / "replotted";
    ASSERT_EQ(run_cmd("python3 " + src + "/bench/unlearn_benchmark_table.py plots " +
                          (bench / "leaderboard.json").string() + " --plots " + plots.string(),
                      out),
              0)
        << out;
    for (const char* png : {"tradeoff.png", "forget_per_epoch.png", "stream_latency.png"})
      EXPECT_GT(fs::file_size(plots / png), 1000u) << png;
  }

  // A run stopped part-way (bench/gpu_leaderboards.sh's time limit): TABLE_ONLY=1 runs nothing and writes the
  // leaderboard of what is there, naming the seeds of a cell that lacks some.
  fs::remove_all(bench / "audit-s2-interaction");
  ASSERT_EQ(
      run_cmd("OUT=" + bench.string() + " DATA=" + data_ +
                  " SEEDS='1 2' KINDS='user interaction' METHODS='mmrecun sisa' SHARDS=2 EXTRA_SHARDS=' '"
                  " STREAM_N=2 STREAM_METHODS=mmrecun PYTHON=python3 TABLE_ONLY=1 " +
                  src + "/bench/unlearn_benchmark.sh " + bin_,
              out),
      0)
      << out;
  EXPECT_FALSE(fs::exists(bench / "audit-s2-interaction"));  // nothing ran
  std::ifstream in2(bench / "leaderboard.json");
  const nlohmann::json p = nlohmann::json::parse(in2);
  EXPECT_EQ(p["cell_seeds"]["user"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(p["cell_seeds"]["interaction"], nlohmann::json::array({1}));
  EXPECT_EQ(p["cells"]["interaction"]["mmrecun"]["forget_recall@20"]["n"], 1);
  const std::string pmd = lethe::testing::slurp(bench / "leaderboard.md");
  EXPECT_NE(pmd.find("Only seed(s) 1 finished this cell."), std::string::npos) << pmd;
}

}  // namespace
