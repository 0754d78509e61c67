// End to end through the CLI: `lethe gen` -> `lethe train` -> `lethe eval` -> `lethe recommend`, checking the
// MMRec-shaped log lines and the run directory.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/cpu/info.h"
#include "tests/cli_support.h"

namespace fs = std::filesystem;

namespace {

int run(const std::string& cmd, std::string& out) { return lethe::testing::run_command(cmd, out); }

}  // namespace

TEST(CliTrain, GenTrainEvalRecommend) {
  const fs::path dir = fs::temp_directory_path() / ("lethe_cli_train_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string bin = LETHE_BIN_PATH, data = (dir / "tiny").string(), rund = (dir / "run").string();
  std::string out;
  ASSERT_EQ(run(bin + " gen --preset tiny --seed 1 --out " + data, out), 0) << out;
  ASSERT_EQ(run(bin + " train --data " + data + " --model lightgcn --epochs 3 --seed 5 --out " + rund, out),
            0)
      << out;
  EXPECT_NE(out.find("epoch 2 training [time: "), std::string::npos) << out;
  EXPECT_NE(out.find("epoch 2 evaluating [time: "), std::string::npos) << out;
  for (const char* f : {"config.yaml", "run.json", "model.safetensors", "embeddings.safetensors",
                        "train_log.jsonl", "metrics.json", "metrics.md"})
    EXPECT_TRUE(fs::exists(fs::path(rund) / f)) << f;
  nlohmann::json m;
  {
    std::ifstream in(fs::path(rund) / "metrics.json");
    m = nlohmann::json::parse(in);
  }
  EXPECT_EQ(m["split"], "test");
  {  // run.json names what built and ran it (docs/training.md, "Provenance")
    std::ifstream in(fs::path(rund) / "run.json");
    const auto b = nlohmann::json::parse(in).at("build");
    for (const char* k : {"lethe", "commit", "compiler", "blas", "blas_core", "cpu"})
      EXPECT_FALSE(b.at(k).get<std::string>().empty()) << k;
    EXPECT_GE(b.at("threads").get<int>(), 1);
  }
  const double r20 = m["metrics"]["Recall@20"].get<double>();
  EXPECT_GT(r20, 0.0);
  // Re-evaluating the saved run on test reproduces the training-time numbers.
  ASSERT_EQ(run(bin + " eval --run " + rund + " --split test", out), 0) << out;
  EXPECT_NE(out.find("| Recall |"), std::string::npos) << out;
  {
    std::ifstream in(fs::path(rund) / "metrics.json");
    const auto m2 = nlohmann::json::parse(in);
    EXPECT_DOUBLE_EQ(m2["metrics"]["Recall@20"].get<double>(), r20);
  }
  ASSERT_EQ(run(bin + " recommend --run " + rund + " --user 0 --k 5", out), 0) << out;
  EXPECT_NE(out.find("rank\titem\tscore\n1\t"), std::string::npos) << out;
  // Errors are reported, not crashed on.
  EXPECT_NE(run(bin + " recommend --run " + rund + " --user 100000", out), 0);
  EXPECT_NE(out.find("outside"), std::string::npos) << out;
  EXPECT_NE(run(bin + " train --data " + data + " --model nosuchmodel --out " + (dir / "x").string(), out),
            0);
  fs::remove_all(dir);
}

// `lethe --version` names the build and the BLAS kernels. Where OpenBLAS gave this CPU its generic kernels
// and the CPU has wider ones, the binary restarted itself with those (this test process did not: it says
// which they are); a kernel set the user names stands (docs/architecture.md, "BLAS kernels").
TEST(CliTrain, VersionNamesTheBuildAndTheBlasKernelsItRestartedWith) {
  const std::string bin = LETHE_BIN_PATH;
  std::string out;
  ASSERT_EQ(run("env -u OPENBLAS_CORETYPE " + bin + " --version", out), 0) << out;
  EXPECT_EQ(out.rfind("lethe ", 0), 0u) << out;
  EXPECT_NE(out.find("(commit "), std::string::npos) << out;
  const std::string better = lethe::cpu::blas_core_to_restart_with();
  if (!better.empty()) EXPECT_NE(out.find("kernels " + better + ")"), std::string::npos) << out;
  ASSERT_EQ(run("OPENBLAS_CORETYPE=Prescott " + bin + " --version", out), 0) << out;
  EXPECT_NE(out.find("kernels Prescott)"), std::string::npos) << out;
}
