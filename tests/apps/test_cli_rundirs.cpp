// Run directories that never lie (docs/training.md, "Run directories"), through the CLI: one test per case
// of the fault list they were built against. Concurrent writers, an existing run, a full disk, leftovers of
// killed writers, typos in configs, non-finite features and losses, eval's read-only contract (also on
// unlearned and read-only runs), audit lineage, absurd ids, unwritable outputs, refused options, resume with
// a changed config, malformed feature files and MMRec's evaluation of repeated rows. The many-trial fault
// runs (SIGKILL at random points, full disks, several writers) are tests/faults.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/cli_support.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string& bin() {
  static const std::string b = lethe::testing::lethe_bin();
  return b;
}

int run(const std::string& cmd, std::string& out) { return lethe::testing::run_command(cmd, out); }
using lethe::testing::lines_of;
using lethe::testing::slurp;
using lethe::testing::snapshot;

json read_json(const fs::path& p) { return json::parse(slurp(p)); }

// Entries of `parent` that belong to the writers of `name` (".<name>.*": staging, lock, backup).
std::vector<std::string> leftovers(const fs::path& parent, const std::string& name) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(parent)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("." + name + ".", 0) == 0) out.push_back(n);
  }
  return out;
}

// A float32 .npy written by hand (independent of the library's writer), with `extra` bytes appended.
void write_npy(const fs::path& p, int64_t rows, int64_t cols, const std::vector<float>& v, size_t extra = 0) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  const unsigned char pre[10] = {0x93,
                                 'N',
                                 'U',
                                 'M',
                                 'P',
                                 'Y',
                                 1,
                                 0,
                                 static_cast<unsigned char>(header.size() & 0xFF),
                                 static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char*>(pre), 10);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  for (size_t k = 0; k < extra; ++k) out.put('\0');
}

// One temporary tree per test program: the tiny data set, built once.
class CliRunDirs : public ::testing::Test {
 protected:
  static fs::path root() {
    static const fs::path r = [] {
      const fs::path p = fs::temp_directory_path() / ("lethe_cli_rundirs_" + std::to_string(::getpid()));
      fs::remove_all(p);
      fs::create_directories(p);
      return p;
    }();
    return r;
  }
  static std::string data() {
    static const std::string d = [] {
      const std::string dd = (root() / "data").string();
      std::string out;
      EXPECT_EQ(run(bin() + " gen --preset tiny --seed 3 --out " + dd, out), 0) << out;
      return dd;
    }();
    return d;
  }
  // A fresh directory for one test.
  fs::path fresh(const std::string& name) {
    const fs::path d = root() / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }
  // `lethe train` of a small model on the tiny data.
  int train(const std::string& out_dir, const std::string& extra, std::string& out,
            const std::string& model = "bpr", int epochs = 2, const std::string& data_dir = "") {
    return run(bin() + " train --data " + (data_dir.empty() ? data() : data_dir) + " --model " + model +
                   " --epochs " + std::to_string(epochs) + " --quiet " + extra + " --out " + out_dir,
               out);
  }
  // A copy of the tiny data set to modify.
  fs::path data_copy(const fs::path& where) {
    const fs::path d = where / "data";
    fs::create_directories(d);
    for (auto& e : fs::directory_iterator(data())) fs::copy(e.path(), d / e.path().filename());
    return d;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(root(), ec);
  }
};

// `lethe train --out` over an existing run replaced it silently and kept stale files (a FREEDOM
// last.safetensors in a BPR run; an unlearned run's requests/ in a fresh one).
TEST_F(CliRunDirs, ExistingRunIsRefusedAndForceReplacesItWhole) {
  const fs::path d = fresh("existing");
  const std::string r = (d / "run").string();
  std::string out;
  ASSERT_EQ(train(r, "--checkpoint-every 1", out, "freedom", 1), 0) << out;
  ASSERT_TRUE(fs::exists(d / "run" / "last.safetensors"));
  const auto before = snapshot(r);
  EXPECT_NE(train(r, "", out), 0) << out;
  EXPECT_NE(out.find("already exists"), std::string::npos) << out;
  EXPECT_NE(out.find("--force"), std::string::npos) << out;
  EXPECT_EQ(snapshot(r), before);
  ASSERT_EQ(train(r, "--force", out), 0) << out;
  EXPECT_FALSE(fs::exists(d / "run" / "last.safetensors")) << "a stale FREEDOM checkpoint survived";
  EXPECT_EQ(read_json(d / "run" / "run.json")["model"], "bpr");
  EXPECT_TRUE(leftovers(d, "run").empty());

  // An unlearned run's requests/ and unlearn_log.jsonl do not survive a fresh run written over it.
  ASSERT_EQ(run(bin() + " request --data " + data() + " --kind user --fraction 0.05 --seed 1 --out " +
                    (d / "r.tsv").string(),
                out),
            0)
      << out;
  const std::string u = (d / "unl").string();
  ASSERT_EQ(run(bin() + " unlearn --run " + r + " --request " + (d / "r.tsv").string() +
                    " --method finetune --epochs 1 --quiet --out " + u,
                out),
            0)
      << out;
  ASSERT_TRUE(fs::exists(d / "unl" / "requests"));
  ASSERT_EQ(train(u, "--force", out), 0) << out;
  EXPECT_FALSE(fs::exists(d / "unl" / "requests"));
  EXPECT_FALSE(fs::exists(d / "unl" / "unlearn_log.jsonl"));
}

// Two `lethe train` runs with the same --out both exited 0 and train_log.jsonl interleaved their epochs.
TEST_F(CliRunDirs, ConcurrentTrainWritersNeverMix) {
  for (int trial = 0; trial < 3; ++trial) {
    const fs::path d = fresh("concurrent-train-" + std::to_string(trial));
    const std::string r = (d / "run").string();
    auto one = [&](int seed) {
      const std::string tag = (d / ("w" + std::to_string(seed))).string();
      return "(" + bin() + " train --data " + data() + " --model lightgcn --epochs 6 --quiet --seed " +
             std::to_string(seed) + " --out " + r + " > " + tag + ".log 2>&1; echo $? > " + tag + ".rc)";
    };
    std::string out;
    ASSERT_EQ(run(one(11) + " & " + one(12) + " & wait", out), 0) << out;
    int ok = 0, ok_seed = -1;
    for (int seed : {11, 12}) {
      const std::string tag = (d / ("w" + std::to_string(seed))).string();
      const int rc = std::stoi(slurp(tag + ".rc"));
      const std::string log = slurp(tag + ".log");
      if (rc == 0) {
        ++ok;
        ok_seed = seed;
      } else {
        EXPECT_TRUE(log.find("being written by another process") != std::string::npos ||
                    log.find("already exists") != std::string::npos)
            << log;
      }
    }
    EXPECT_EQ(ok, 1) << "exactly one writer may succeed";
    const json rj = read_json(d / "run" / "run.json");
    EXPECT_EQ(rj["seed"].get<int>(), ok_seed);
    EXPECT_EQ(lines_of(d / "run" / "train_log.jsonl"), rj["summary"]["epochs_run"].get<int64_t>());
    EXPECT_NE(slurp(d / "run" / "config.yaml").find("seed: " + std::to_string(ok_seed)), std::string::npos);
  }
}

// Two `lethe unlearn` runs left one run's run.json beside the other's log and both request files.
TEST_F(CliRunDirs, ConcurrentUnlearnWritersNeverMix) {
  const fs::path d = fresh("concurrent-unlearn");
  const std::string base = (d / "base").string();
  std::string out;
  ASSERT_EQ(train(base, "", out, "lightgcn", 3), 0) << out;
  for (int k : {1, 2})
    ASSERT_EQ(run(bin() + " request --data " + data() + " --kind interaction --fraction 0.05 --seed " +
                      std::to_string(k) + " --out " + (d / ("r" + std::to_string(k) + ".tsv")).string(),
                  out),
              0)
        << out;
  for (int trial = 0; trial < 3; ++trial) {
    const std::string u = (d / ("u" + std::to_string(trial))).string();
    auto one = [&](int k) {
      const std::string tag = (d / ("t" + std::to_string(trial) + "-" + std::to_string(k))).string();
      return "(" + bin() + " unlearn --run " + base + " --request " +
             (d / ("r" + std::to_string(k) + ".tsv")).string() + " --method mmrecun --epochs 2 --out " + u +
             " > " + tag + ".log 2>&1; echo $? > " + tag + ".rc)";
    };
    ASSERT_EQ(run(one(1) + " & " + one(2) + " & wait", out), 0) << out;
    int ok = 0;
    for (int k : {1, 2})
      if (std::stoi(slurp((d / ("t" + std::to_string(trial) + "-" + std::to_string(k))).string() + ".rc")) ==
          0)
        ++ok;
    EXPECT_EQ(ok, 1) << "exactly one writer may succeed";
    const json rj = read_json(fs::path(u) / "run.json");
    const json& copies = rj["summary"]["unlearning"]["request_copies"];
    std::vector<std::string> listed, present;
    for (const auto& c : copies) listed.push_back(fs::path(c.get<std::string>()).filename().string());
    for (auto& e : fs::directory_iterator(fs::path(u) / "requests"))
      present.push_back(e.path().filename().string());
    std::sort(present.begin(), present.end());
    EXPECT_EQ(listed, present) << "request files of another writer in the run";
    EXPECT_EQ(lines_of(fs::path(u) / "unlearn_log.jsonl"),
              rj["summary"]["unlearning"]["epochs"].get<int64_t>());
  }
}

// Disk full while writing over a seed-5 run left run.json / config.yaml saying seed 7 beside the seed-5
// model; a fresh run cut by a full disk left a half directory.
TEST_F(CliRunDirs, FullDiskLeavesTheOldRunIntactAndNoHalfRun) {
  const fs::path d = fresh("disk-full");
  const std::string r = (d / "run").string();
  std::string out;
  ASSERT_EQ(train(r, "--seed 5", out), 0) << out;
  const auto before = snapshot(r);
  // 64 KiB per file: config.yaml and run.json fit, model.safetensors (about 130 KB) does not. SIGXFSZ is
  // ignored so that the write fails with EFBIG, as on a full disk, and the command must clean up itself.
  auto limited = [&](const std::string& target, const std::string& extra) {
    return run("bash -c 'trap \"\" XFSZ; ulimit -f 64; exec " + bin() + " train --data " + data() +
                   " --model bpr --epochs 2 --quiet --seed 7 " + extra + " --out " + target + "'",
               out);
  };
  EXPECT_NE(limited(r, "--force"), 0) << out;
  EXPECT_NE(out.find("write failed"), std::string::npos) << out;
  EXPECT_EQ(snapshot(r), before) << "the old run changed";
  EXPECT_TRUE(leftovers(d, "run").empty());
  EXPECT_NE(limited((d / "fresh").string(), ""), 0) << out;
  EXPECT_FALSE(fs::exists(d / "fresh")) << "a half-written run directory";
  EXPECT_TRUE(leftovers(d, "fresh").empty());
}

// .tmp files were never cleaned (also after SIGKILL).
TEST_F(CliRunDirs, LeftoversOfKilledWritersAreRemovedByTheNextRun) {
  const fs::path d = fresh("leftovers");
  const std::string r = (d / "run").string();
  std::string out;
  ASSERT_EQ(train(r, "", out), 0) << out;
  // What killed writers leave: a temporary file inside the run (as the old writer named them) and a
  // staging directory beside it.
  std::ofstream(d / "run" / "model.safetensors.tmp") << "half";
  fs::create_directories(d / ".run.partial");
  std::ofstream(d / ".run.partial" / "run.json") << "{";
  // A real one: SIGKILL in the middle of a long training.
  ASSERT_EQ(
      run("(" + bin() + " train --data " + data() + " --model lightgcn --epochs 400 --quiet --force --out " +
              r + " > /dev/null 2>&1 & pid=$!; sleep 1.5; kill -9 $pid; wait $pid; true)",
          out),
      0)
      << out;
  ASSERT_EQ(train(r, "--force", out), 0) << out;
  EXPECT_FALSE(fs::exists(d / "run" / "model.safetensors.tmp"));
  EXPECT_TRUE(leftovers(d, "run").empty()) << "staging or lock files left";
  for (auto& e : fs::directory_iterator(d / "run"))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

// `--set learing_rate=0.5` (a typo) and the same typo in a YAML config were accepted, written to
// config.yaml, and ignored.
TEST_F(CliRunDirs, UnknownConfigKeysAreErrors) {
  const fs::path d = fresh("strict-config");
  std::string out;
  EXPECT_NE(train((d / "a").string(), "--set learing_rate=0.5", out), 0) << out;
  EXPECT_NE(out.find("unknown key 'learing_rate'"), std::string::npos) << out;
  EXPECT_NE(out.find("did you mean 'learning_rate'"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(d / "a"));
  const fs::path yaml = d / "c.yaml";
  std::ofstream(yaml) << "# overrides\nreg_weight: 0.001\nlearing_rate: 0.5\n";
  EXPECT_NE(train((d / "b").string(), "--config " + yaml.string(), out), 0) << out;
  EXPECT_NE(out.find(yaml.string() + ", line 3"), std::string::npos) << out;
  EXPECT_NE(out.find("did you mean 'learning_rate'"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(d / "b"));
}

// A feature file with NaN loaded.
TEST_F(CliRunDirs, NonFiniteFeaturesAreErrorsNamingRowAndColumn) {
  const fs::path d = fresh("nan-features");
  const fs::path data2 = data_copy(d);
  const json info = [&] {
    std::string o;
    run(bin() + " info --json --data " + data(), o);
    return json::parse(o);
  }();
  const int64_t items = info["n_items"].get<int64_t>();
  for (float bad : {std::nanf(""), INFINITY}) {
    std::vector<float> v(static_cast<size_t>(items) * 8, 0.25f);
    v[3 * 8 + 5] = bad;
    write_npy(data2 / "image_feat.npy", items, 8, v);
    std::string out;
    EXPECT_NE(run(bin() + " info --data " + data2.string(), out), 0) << out;
    EXPECT_NE(out.find("image_feat.npy: row 3 (itemID 3), column 5"), std::string::npos) << out;
    EXPECT_NE(train((d / "run").string(), "", out, "bpr", 2, data2.string()), 0);
    EXPECT_FALSE(fs::exists(d / "run"));
  }
}

// `train` stopped on a NaN loss but still wrote a run, which `eval` scored and `recommend` ranked.
TEST_F(CliRunDirs, NonFiniteLossWritesNoRun) {
  const fs::path d = fresh("nan-loss");
  std::string out;
  EXPECT_NE(train((d / "run").string(), "--set learning_rate=1e30", out, "bpr", 3), 0) << out;
  EXPECT_NE(out.find("training loss is"), std::string::npos) << out;
  EXPECT_NE(out.find("no run directory was written"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(d / "run"));
  EXPECT_TRUE(leftovers(d, "run").empty());
}

// `lethe eval` rewrote the run's metrics.json (after --split valid it held valid metrics) and failed on a
// read-only run directory without printing what it computed.
TEST_F(CliRunDirs, EvalIsReadOnlyAndWorksOnReadOnlyRuns) {
  const fs::path d = fresh("eval-readonly");
  const std::string r = (d / "run").string();
  std::string out;
  ASSERT_EQ(train(r, "", out), 0) << out;
  const auto before = snapshot(r);
  ASSERT_EQ(run(bin() + " eval --run " + r + " --split valid", out), 0) << out;
  EXPECT_NE(out.find("| Recall |"), std::string::npos) << out;
  EXPECT_EQ(snapshot(r), before) << "eval wrote into the run directory";
  ASSERT_EQ(run(bin() + " eval --run " + r + " --split valid --out " + (d / "valid.json").string(), out), 0)
      << out;
  EXPECT_EQ(read_json(d / "valid.json")["split"], "valid");
  EXPECT_EQ(snapshot(r), before);

  // Read-only: chmod for a normal user; root ignores permissions, so the immutable attribute instead.
  const bool root = ::geteuid() == 0;
  std::string how;
  if (root) {
    if (run("chattr -R +i " + r, how) != 0) GTEST_SKIP() << "cannot make a read-only directory here: " << how;
  } else {
    ASSERT_EQ(run("chmod -R a-w " + r, how), 0) << how;
  }
  const int rc = run(bin() + " eval --run " + r + " --split test", out);
  run(root ? "chattr -R -i " + r : "chmod -R u+w " + r, how);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("| Recall |"), std::string::npos) << out;
}

// `lethe eval` could not evaluate an unlearned run (fingerprint mismatch: it did not apply the requests).
TEST_F(CliRunDirs, EvalOfAnUnlearnedRunAppliesItsRequests) {
  const fs::path d = fresh("eval-unlearned");
  const std::string base = (d / "base").string(), u = (d / "u").string(), req = (d / "r.tsv").string();
  std::string out;
  ASSERT_EQ(train(base, "", out, "lightgcn", 4), 0) << out;
  ASSERT_EQ(
      run(bin() + " request --data " + data() + " --kind user --fraction 0.1 --seed 4 --out " + req, out), 0)
      << out;
  ASSERT_EQ(run(bin() + " unlearn --run " + base + " --request " + req +
                    " --method mmrecun --epochs 1 --quiet --out " + u,
                out),
            0)
      << out;
  ASSERT_EQ(run(bin() + " eval --run " + u + " --split test --out " + (d / "e.json").string(), out), 0)
      << out;
  const double got = read_json(d / "e.json")["metrics"]["Recall@20"].get<double>();
  const double want = read_json(fs::path(u) / "metrics.json")["metrics"]["Recall@20"].get<double>();
  EXPECT_NEAR(got, want, 1e-12);
}

// `lethe audit --original A` accepted gold and compared runs made from another original.
TEST_F(CliRunDirs, AuditRefusesRunsOfAnotherOriginal) {
  const fs::path d = fresh("audit-lineage");
  const std::string a = (d / "A").string(), b = (d / "B").string(), req = (d / "r.tsv").string();
  std::string out;
  ASSERT_EQ(train(a, "--seed 1", out, "lightgcn", 3), 0) << out;
  ASSERT_EQ(train(b, "--seed 2", out, "lightgcn", 3), 0) << out;
  ASSERT_EQ(
      run(bin() + " request --data " + data() + " --kind interaction --fraction 0.05 --seed 3 --out " + req,
          out),
      0)
      << out;
  const std::string gold_b = (d / "goldB").string(), mu_b = (d / "muB").string();
  ASSERT_EQ(run(bin() + " unlearn --run " + b + " --request " + req +
                    " --method gold --epochs 2 --quiet --out " + gold_b,
                out),
            0)
      << out;
  ASSERT_EQ(run(bin() + " unlearn --run " + b + " --request " + req +
                    " --method mmrecun --epochs 1 --quiet --out " + mu_b,
                out),
            0)
      << out;
  EXPECT_NE(run(bin() + " audit --request " + req + " --original " + a + " --gold " + gold_b + " --out " +
                    (d / "x").string(),
                out),
            0)
      << out;
  EXPECT_NE(out.find("another original run"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(d / "x"));
  EXPECT_NE(run(bin() + " audit --request " + req + " --original " + a + " --compare mu=" + mu_b + " --out " +
                    (d / "y").string(),
                out),
            0)
      << out;
  EXPECT_NE(out.find("another original run"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(d / "y"));
  EXPECT_EQ(run(bin() + " audit --request " + req + " --original " + b + " --gold " + gold_b +
                    " --compare mu=" + mu_b + " --out " + (d / "z").string(),
                out),
            0)
      << out;
}

// An id of 2,000,000,000 was accepted with no warning and `train` then died with a bare std::bad_alloc.
TEST_F(CliRunDirs, HugeIdsWarnAndTrainChecksMemoryFirst) {
  const fs::path d = fresh("huge-ids");
  const fs::path data2 = d / "huge";
  fs::create_directories(data2);
  {
    std::ofstream f(data2 / "huge.inter");
    f << "userID\titemID\tx_label\n";
    for (int u = 0; u < 10; ++u)
      for (int i = 0; i < 6; ++i) f << u << "\t" << (u + i) % 8 << "\t" << (i < 4 ? 0 : i - 3) << "\n";
    f << "2000000000\t1\t0\n";
  }
  std::string out;
  ASSERT_EQ(run(bin() + " info --data " + data2.string(), out), 0) << out;
  EXPECT_NE(out.find("1999999990 ids are empty"), std::string::npos) << out;
  EXPECT_NE(run(bin() + " train --data " + data2.string() + " --model bpr --epochs 1 --quiet --out " +
                    (d / "run").string(),
                out),
            0)
      << out;
  EXPECT_NE(out.find("of memory"), std::string::npos) << out;
  EXPECT_EQ(out.find("bad_alloc"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(d / "run"));
}

// `unlearn` and `bench` found an unwritable output only after all the work.
TEST_F(CliRunDirs, UnwritableOutputsFailBeforeTheWork) {
  const fs::path d = fresh("unwritable");
  const std::string base = (d / "base").string(), req = (d / "r.tsv").string();
  std::string out;
  ASSERT_EQ(train(base, "", out, "lightgcn", 2), 0) << out;
  ASSERT_EQ(
      run(bin() + " request --data " + data() + " --kind user --fraction 0.05 --seed 1 --out " + req, out), 0)
      << out;
  std::ofstream(d / "file") << "a file, not a directory\n";
  const std::string bad = (d / "file" / "out").string();
  EXPECT_NE(run(bin() + " unlearn --run " + base + " --request " + req +
                    " --method mmrecun --epochs 3 --out " + bad,
                out),
            0)
      << out;
  EXPECT_EQ(out.find("mmrecun epoch"), std::string::npos) << "the work ran before the output was checked:\n"
                                                          << out;
  EXPECT_NE(run(bin() + " bench --data " + data() + " --models bpr --epochs 1 --json " +
                    (d / "file" / "b.json").string(),
                out),
            0)
      << out;
  EXPECT_EQ(out.find("done:"), std::string::npos) << "the work ran before the output was checked:\n" << out;
}

// `unlearn --epochs 0` was ignored silently.
TEST_F(CliRunDirs, UnlearnEpochsZeroIsRefused) {
  const fs::path d = fresh("epochs-zero");
  const std::string base = (d / "base").string(), req = (d / "r.tsv").string();
  std::string out;
  ASSERT_EQ(train(base, "", out, "lightgcn", 2), 0) << out;
  ASSERT_EQ(
      run(bin() + " request --data " + data() + " --kind interaction --fraction 0.05 --seed 1 --out " + req,
          out),
      0)
      << out;
  EXPECT_NE(
      run(bin() + " unlearn --run " + base + " --request " + req + " --epochs 0 --out " + (d / "u").string(),
          out),
      0)
      << out;
  EXPECT_NE(out.find("--epochs"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(d / "u"));
}

// Resume with a changed learning rate was accepted silently.
TEST_F(CliRunDirs, ResumeRefusesAChangedConfigUnlessAllowed) {
  const fs::path d = fresh("resume");
  const std::string r = (d / "run").string();
  std::string out;
  ASSERT_EQ(train(r, "--max-epochs 2 --checkpoint-every 1", out, "lightgcn", 4), 0) << out;
  const auto before = snapshot(r);
  EXPECT_NE(train(r, "--resume " + r + "/last.safetensors --set learning_rate=0.01", out, "lightgcn", 4), 0)
      << out;
  EXPECT_NE(out.find("learning_rate (0.001 -> 0.01)"), std::string::npos) << out;
  EXPECT_NE(out.find("--allow-change learning_rate"), std::string::npos) << out;
  EXPECT_EQ(snapshot(r), before);
  ASSERT_EQ(train(r, "--resume " + r + " --set learning_rate=0.01 --allow-change learning_rate", out,
                  "lightgcn", 4),
            0)
      << out;
  EXPECT_EQ(lines_of(fs::path(r) / "train_log.jsonl"), 4) << slurp(fs::path(r) / "train_log.jsonl");
  EXPECT_EQ(read_json(fs::path(r) / "run.json")["summary"]["last_epoch"].get<int>(), 3);
}

// `.npy` with trailing bytes or a 0-wide table was accepted; a directory named image_feat.npy was skipped.
TEST_F(CliRunDirs, MalformedFeatureFilesAreErrors) {
  const fs::path d = fresh("bad-npy");
  const fs::path data2 = data_copy(d);
  std::string out;
  ASSERT_EQ(run(bin() + " info --json --data " + data2.string(), out), 0) << out;
  const int64_t items = json::parse(out)["n_items"].get<int64_t>();
  write_npy(data2 / "image_feat.npy", items, 4, std::vector<float>(static_cast<size_t>(items) * 4, 0.5f), 12);
  EXPECT_NE(run(bin() + " info --data " + data2.string(), out), 0) << out;
  EXPECT_NE(out.find("12 bytes after the data"), std::string::npos) << out;
  write_npy(data2 / "image_feat.npy", items, 0, {});
  EXPECT_NE(run(bin() + " info --data " + data2.string(), out), 0) << out;
  EXPECT_NE(out.find("0 columns"), std::string::npos) << out;
  fs::remove(data2 / "image_feat.npy");
  fs::create_directories(data2 / "image_feat.npy");
  EXPECT_NE(run(bin() + " info --data " + data2.string(), out), 0) << out;
  EXPECT_NE(out.find("image_feat.npy: is not a regular file"), std::string::npos) << out;
}

// MMRec keeps repeated (user, item) rows in valid/test; the option evaluates that way (default unchanged).
TEST_F(CliRunDirs, MmrecEvaluationOfRepeatedRowsIsAnOption) {
  const fs::path d = fresh("repeats");
  const fs::path data2 = data_copy(d);
  const fs::path inter = data2 / "data.inter";
  ASSERT_TRUE(fs::exists(inter));
  // Repeat every test row once.
  {
    std::istringstream in(slurp(inter));
    std::string line, extra;
    std::getline(in, line);
    while (std::getline(in, line))
      if (!line.empty() && line.back() == '2') extra += line + "\n";
    std::ofstream(inter, std::ios::app) << extra;
  }
  const std::string r = (d / "run").string();
  std::string out;
  ASSERT_EQ(train(r, "", out, "lightgcn", 3, data2.string()), 0) << out;
  EXPECT_NE(out.find("repeated (userID, itemID) rows dropped"), std::string::npos) << out;
  ASSERT_EQ(run(bin() + " eval --run " + r + " --out " + (d / "drop.json").string(), out), 0) << out;
  ASSERT_EQ(
      run(bin() + " eval --run " + r + " --keep-eval-repeats true --out " + (d / "keep.json").string(), out),
      0)
      << out;
  const json drop = read_json(d / "drop.json"), keep = read_json(d / "keep.json");
  // Every target repeated once: the same hits over twice the rows.
  EXPECT_NEAR(keep["metrics"]["Recall@20"].get<double>(), drop["metrics"]["Recall@20"].get<double>() / 2,
              1e-12);
  EXPECT_NEAR(keep["metrics"]["Precision@20"].get<double>(), drop["metrics"]["Precision@20"].get<double>(),
              1e-12);
  // Trained with the option, the run records it and eval follows it by default.
  const std::string rk = (d / "run-keep").string();
  ASSERT_EQ(train(rk, "--keep-eval-repeats", out, "lightgcn", 3, data2.string()), 0) << out;
  EXPECT_NE(out.find("kept in valid/test"), std::string::npos) << out;
  EXPECT_EQ(read_json(fs::path(rk) / "run.json")["eval_repeats"], "kept");
}

// Run directories written before this change (no run_id, no lineage fields) are still read: eval, unlearn
// from them, and audit with lineage taken from what they record.
TEST_F(CliRunDirs, RunsWrittenBeforeLineageFieldsStillWork) {
  const fs::path d = fresh("old-format");
  const std::string base = (d / "base").string(), req = (d / "r.tsv").string(), gold = (d / "gold").string();
  std::string out;
  ASSERT_EQ(train(base, "", out, "lightgcn", 3), 0) << out;
  ASSERT_EQ(
      run(bin() + " request --data " + data() + " --kind interaction --fraction 0.05 --seed 2 --out " + req,
          out),
      0)
      << out;
  ASSERT_EQ(run(bin() + " unlearn --run " + base + " --request " + req +
                    " --method gold --epochs 2 --quiet --out " + gold,
                out),
            0)
      << out;
  auto strip = [&](const fs::path& p, bool unlearned) {
    json j = read_json(p / "run.json");
    j.erase("run_id");
    j.erase("eval_repeats");
    if (unlearned) {
      j["summary"]["unlearning"].erase("original_run_id");
      j["summary"]["unlearning"].erase("request_fingerprints");
    }
    std::ofstream(p / "run.json") << j.dump(2) << "\n";
  };
  strip(base, false);
  strip(gold, true);
  EXPECT_EQ(run(bin() + " eval --run " + gold, out), 0) << out;
  EXPECT_EQ(run(bin() + " audit --request " + req + " --original " + base + " --gold " + gold + " --out " +
                    (d / "a").string(),
                out),
            0)
      << out;
  const std::string req2 = (d / "r2.tsv").string();
  ASSERT_EQ(
      run(bin() + " request --data " + data() + " --kind user --fraction 0.03 --seed 9 --out " + req2, out),
      0)
      << out;
  EXPECT_EQ(run(bin() + " unlearn --run " + gold + " --request " + req2 +
                    " --method finetune --epochs 1 --quiet --out " + (d / "chain").string(),
                out),
            0)
      << out;
  EXPECT_EQ(run(bin() + " eval --run " + (d / "chain").string(), out), 0) << out;
}

}  // namespace
