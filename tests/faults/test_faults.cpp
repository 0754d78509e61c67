// Fault tests of run directories (docs/training.md, "Run directories"): `lethe train` and `lethe unlearn`
// killed with SIGKILL at random points (many trials), full disks (a per-file size limit, and a small
// tmpfs where the machine allows one), several writers of one directory at once, and resuming a killed
// training. After every trial the directory must be the old run, byte for byte, or a complete new run
// whose files agree with each other (seed in run.json, config.yaml and the checkpoint; one log line per
// epoch; the model loads against its data). Each test prints its trial counts and appends them to
// LETHE_BINARY_DIR/fault_report.txt, which scripts/test.sh shows.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "datasets/mmrec_io.h"
#include "engine/formats/safetensors.h"
#include "models/training/run_dir.h"
#include "models/unlearning/requests.h"
#include "models/unlearning/unlearn_run.h"
#include "tests/cli_support.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;
using lethe::testing::lines_of;
using lethe::testing::slurp;
using lethe::testing::snapshot;
std::string bin() { return lethe::testing::lethe_bin(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs `cmd` through the shell; its exit status, and its output in `out` when given.
int sh(const std::string& cmd, std::string* out = nullptr) {
  std::string o;
  const int rc = lethe::testing::run_command(cmd, o);
  if (out) *out = o;
  return rc;
}

// Starts `cmd` through /bin/sh with its output discarded; returns the pid of the command itself (exec).
pid_t spawn(const std::string& cmd) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string c = "exec " + cmd + " > /dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", c.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Waits up to `delay` for `pid`; kills it with SIGKILL if it is still running. Returns true when it
// finished by itself (exit status in *status); *took: how long it ran.
bool kill_after(pid_t pid, double delay_s, int* status, double* took = nullptr) {
  const auto t0 = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - t0).count() < delay_s) {
    if (::waitpid(pid, status, WNOHANG) == pid) {
      if (took) *took = std::chrono::duration<double>(Clock::now() - t0).count();
      return true;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, status, 0);
  return false;
}

// Names beside `target` that its writers own (".<name>.partial", ".lock", ".old") and anything else that
// looks like a temporary.
std::vector<std::string> leftovers(const fs::path& target) {
  std::vector<std::string> out;
  const std::string name = target.filename().string();
  for (auto& e : fs::directory_iterator(target.parent_path())) {
    const std::string n = e.path().filename().string();
    if (n.rfind("." + name + ".", 0) == 0 || n.find(".tmp") != std::string::npos) out.push_back(n);
  }
  if (fs::exists(target))
    for (auto& e : fs::recursive_directory_iterator(target))
      if (e.path().filename().string().find(".tmp") != std::string::npos) out.push_back(e.path().string());
  return out;
}

void report(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::ofstream(std::string(LETHE_BINARY_DIR) + "/fault_report.txt", std::ios::app) << line << "\n";
}

struct World {
  fs::path root;
  std::string data;
  lethe::datasets::Dataset ds;
};

const World& world() {
  static const World w = [] {
    World x;
    x.root = fs::temp_directory_path() / ("lethe_faults_" + std::to_string(::getpid()));
    fs::remove_all(x.root);
    fs::create_directories(x.root);
    x.data = (x.root / "data").string();
    std::string out;
    EXPECT_EQ(sh(bin() + " gen --preset tiny --seed 8 --out " + x.data, &out), 0) << out;
    x.ds = lethe::datasets::load_mmrec(x.data);
    return x;
  }();
  return w;
}

class Cleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("lethe_faults_" + std::to_string(::getpid())), ec);
  }
};
::testing::Environment* const kCleanup = ::testing::AddGlobalTestEnvironment(new Cleanup);

fs::path fresh(const std::string& name) {
  const fs::path d = world().root / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string train_cmd(const std::string& out, uint64_t seed, const std::string& extra = "--force") {
  return bin() + " train --data " + world().data + " --model bpr --epochs 2 --quiet --seed " +
         std::to_string(seed) + " " + extra + " --out " + out;
}

// "" when `dir` is a complete trained run of `seed` whose files agree; otherwise what is wrong.
std::string complete_train_run(const fs::path& dir, uint64_t seed) {
  for (const char* f : {"config.yaml", "run.json", "model.safetensors", "embeddings.safetensors",
                        "train_log.jsonl", "metrics.json", "metrics.md"})
    if (!fs::is_regular_file(dir / f)) return std::string("missing ") + f;
  try {
    const json rj = json::parse(slurp(dir / "run.json"));
    if (rj["seed"].get<uint64_t>() != seed)
      return "run.json seed " + std::to_string(rj["seed"].get<uint64_t>());
    const std::string want = "seed: " + std::to_string(seed) + "\n";
    if (slurp(dir / "config.yaml").find(want) == std::string::npos) return "config.yaml has another seed";
    const auto md = lethe::formats::read_safetensors_metadata((dir / "model.safetensors").string());
    if (md.at("config").find(want) == std::string::npos) return "model.safetensors has another seed";
    // One line per epoch since the start (a resumed run's log holds the epochs before the resume too).
    if (lines_of(dir / "train_log.jsonl") != rj["summary"]["last_epoch"].get<int64_t>() + 1)
      return "train_log.jsonl lines";
    if (!json::parse(slurp(dir / "metrics.json")).is_object()) return "metrics.json is not an object";
    lethe::training::load_run(dir.string());  // fingerprint and parameters
  } catch (const std::exception& e) {
    return std::string("unreadable: ") + e.what();
  }
  return "";
}

TEST(Faults, SigkillDuringTrainLeavesOldOrNewRun) {
  const fs::path d = fresh("kill-train");
  const fs::path r = d / "run";
  std::string out;
  ASSERT_EQ(sh(train_cmd(r.string(), 1000, ""), &out), 0) << out;
  // Calibrate: the length of one run of the command that the trials kill (the median of the runs seen so
  // far: three now, then every trial that finished before its kill).
  std::vector<double> seen;
  for (int k = 0; k < 3; ++k) {
    const auto t0 = Clock::now();
    ASSERT_EQ(sh(train_cmd(r.string(), 1000), &out), 0) << out;
    seen.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  double t_run = median(seen);
  std::mt19937 rng(20240611);
  const int trials = 40;
  int old_kept = 0, new_done = 0, finished = 0;
  uint64_t current = 1000;
  for (int t = 0; t < trials; ++t) {
    const auto before = snapshot(r);
    const uint64_t seed = 2000 + static_cast<uint64_t>(t);
    // Half the kills anywhere in the run, half around its end, where the files are written and renamed.
    const double delay = t % 2 == 0 ? std::uniform_real_distribution<double>(0.0, t_run)(rng)
                                    : std::uniform_real_distribution<double>(0.6 * t_run, 1.1 * t_run)(rng);
    int status = 0;
    double took = 0;
    const bool done = kill_after(spawn(train_cmd(r.string(), seed)), delay, &status, &took);
    if (done) {
      ++finished;
      seen.push_back(took);  // follow the machine's speed (it is shared)
      t_run = median(seen);
    }
    if (snapshot(r) == before) {
      ASSERT_FALSE(done && WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "finished but the run did not change";
      ++old_kept;
      ASSERT_EQ(complete_train_run(r, current), "") << "trial " << t;
    } else {
      const std::string why = complete_train_run(r, seed);
      ASSERT_EQ(why, "") << "trial " << t << " (killed after " << delay
                         << " s): neither the old run nor a complete new one";
      ++new_done;
      current = seed;
    }
  }
  ASSERT_EQ(sh(train_cmd(r.string(), 999), &out), 0) << out;
  EXPECT_TRUE(leftovers(r).empty()) << "the next run left: " << leftovers(r).front();
  report("faults: SIGKILL during lethe train: " + std::to_string(trials) + " trials (run " +
         std::to_string(t_run).substr(0, 4) + " s): " + std::to_string(old_kept) + " old run intact, " +
         std::to_string(new_done) + " new run complete (" + std::to_string(finished) +
         " finished before the kill), 0 mixed");
}

TEST(Faults, SigkillDuringUnlearnLeavesOldOrNewRun) {
  const World& w = world();
  const fs::path d = fresh("kill-unlearn");
  const std::string base = (d / "base").string(), req = (d / "r.tsv").string();
  const fs::path u = d / "u";
  std::string out;
  ASSERT_EQ(sh(train_cmd(base, 7, ""), &out), 0) << out;
  ASSERT_EQ(
      sh(bin() + " request --data " + w.data + " --kind interaction --fraction 0.05 --seed 3 --out " + req,
         &out),
      0)
      << out;
  auto cmd = [&](uint64_t seed) {
    return bin() + " unlearn --run " + base + " --request " + req +
           " --method mmrecun --epochs 2 --quiet --seed " + std::to_string(seed) + " --force --out " +
           u.string();
  };
  ASSERT_EQ(sh(cmd(500), &out), 0) << out;
  const lethe::unlearning::RequestView view =
      lethe::unlearning::apply_requests(w.ds, {lethe::unlearning::read_request(req)});
  auto complete = [&](uint64_t seed) -> std::string {
    for (const char* f : {"config.yaml", "run.json", "model.safetensors", "embeddings.safetensors",
                          "unlearn_log.jsonl", "metrics.json"})
      if (!fs::is_regular_file(u / f)) return std::string("missing ") + f;
    try {
      const json un = json::parse(slurp(u / "run.json"))["summary"]["unlearning"];
      if (un["options"]["seed"].get<uint64_t>() != seed) return "run.json seed";
      if (lines_of(u / "unlearn_log.jsonl") != un["epochs"].get<int64_t>()) return "unlearn_log.jsonl lines";
      size_t n = 0;
      for (auto& e : fs::directory_iterator(u / "requests")) n += e.is_regular_file() ? 1 : 0;
      if (n != un["request_copies"].size()) return "requests/";
      lethe::unlearning::load_model_run(u.string(), view.retain, "");
    } catch (const std::exception& e) {
      return std::string("unreadable: ") + e.what();
    }
    return "";
  };
  std::vector<double> seen;
  for (int k = 0; k < 3; ++k) {
    const auto t0 = Clock::now();
    ASSERT_EQ(sh(cmd(501), &out), 0) << out;
    seen.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  double t_run = median(seen);
  uint64_t current = 501;
  std::mt19937 rng(7);
  const int trials = 30;
  int old_kept = 0, new_done = 0;
  for (int t = 0; t < trials; ++t) {
    const auto before = snapshot(u);
    const uint64_t seed = 600 + static_cast<uint64_t>(t);
    const double delay = t % 2 == 0 ? std::uniform_real_distribution<double>(0.0, t_run)(rng)
                                    : std::uniform_real_distribution<double>(0.6 * t_run, 1.1 * t_run)(rng);
    int status = 0;
    double took = 0;
    if (kill_after(spawn(cmd(seed)), delay, &status, &took)) {
      seen.push_back(took);
      t_run = median(seen);
    }
    if (snapshot(u) == before) {
      ++old_kept;
      ASSERT_EQ(complete(current), "") << "trial " << t;
    } else {
      ASSERT_EQ(complete(seed), "") << "trial " << t << " (killed after " << delay
                                    << " s): neither old nor new";
      ++new_done;
      current = seed;
    }
  }
  ASSERT_EQ(sh(cmd(42), &out), 0) << out;
  EXPECT_TRUE(leftovers(u).empty());
  report("faults: SIGKILL during lethe unlearn: " + std::to_string(trials) +
         " trials: " + std::to_string(old_kept) + " old run intact, " + std::to_string(new_done) +
         " new run complete, 0 mixed");
}

TEST(Faults, FullDiskLeavesOldRunIntact) {
  const fs::path d = fresh("disk-full");
  const fs::path r = d / "run";
  std::string out;
  ASSERT_EQ(sh(train_cmd(r.string(), 5, ""), &out), 0) << out;
  const auto before = snapshot(r);
  int efbig = 0, xfsz = 0;
  // Per-file limits (KiB) that cut the write of each file in turn: the log and small files, the checkpoint,
  // the embeddings. EFBIG (SIGXFSZ ignored) is a write error like a full disk: the command cleans up itself.
  // SIGXFSZ kills the command at the write: the next writer cleans up.
  for (int kib : {1, 8, 64, 130, 137}) {
    for (bool ignore : {true, false}) {
      const std::string cmd = "bash -c '" + std::string(ignore ? "trap \"\" XFSZ; " : "") + "ulimit -f " +
                              std::to_string(kib) + "; exec " + train_cmd(r.string(), 7) + "'";
      const int rc = sh(cmd, &out);
      if (rc == 0) {  // the limit was large enough after all: a complete new run; put the old one back
        ASSERT_EQ(complete_train_run(r, 7), "");
        ASSERT_EQ(sh(train_cmd(r.string(), 5), &out), 0) << out;
        continue;
      }
      ASSERT_EQ(snapshot(r), before) << "limit " << kib << " KiB: the old run changed";
      if (ignore) {
        EXPECT_NE(out.find("write failed"), std::string::npos) << out;
        EXPECT_TRUE(leftovers(r).empty()) << kib << " KiB: " << leftovers(r).front();
        ++efbig;
      } else {
        ++xfsz;
      }
    }
  }
  ASSERT_EQ(sh(train_cmd(r.string(), 5), &out), 0) << out;
  EXPECT_TRUE(leftovers(r).empty());
  std::string line = "faults: full disk (ulimit -f) during lethe train over a run: " + std::to_string(efbig) +
                     " write errors and " + std::to_string(xfsz) + " SIGXFSZ kills, old run intact in all";

  // A real small file system, in a private mount namespace (nothing outside sees the mount, and it goes
  // away with the shell); the check runs inside.
  std::string probe;
  const bool userns = sh("unshare -rm true", &probe) == 0;
  if (!userns) {
    report(line + "; small tmpfs: not available here (no mount namespace)");
    return;
  }
  int tmpfs_trials = 0;
  for (int kb : {360, 480}) {
    const fs::path mnt = d / ("tmpfs-" + std::to_string(kb));
    fs::create_directories(mnt);
    const std::string run = (mnt / "run").string();
    const std::string m = mnt.string(),
                      x = (d / ("tmpfs-" + std::to_string(kb) + "-")).string();  // x: outside
    const std::string script =
        "mount -t tmpfs -o size=" + std::to_string(kb) + "k tmpfs " + m + " || { echo NOMOUNT; exit 0; }; " +
        "if ! " + train_cmd(run, 5, "") + " > " + x + "first.txt 2>&1; then echo NOFIT; exit 0; fi; " +
        "cd " + run + " && sha256sum * > " + x + "before.sum; cd /; " + "if " + train_cmd(run, 7) + " > " +
        x + "out.txt 2>&1; then echo NEWRUN; exit 0; fi; cat " + x + "out.txt; " + "cd " + run +
        " && sha256sum * > " + x + "after.sum; cmp -s " + x + "before.sum " + x +
        "after.sum && echo INTACT; " + "ls -A " + m + " | grep -v -x -e run || echo CLEAN";
    sh("unshare -rm bash -c '" + script + "'", &out);
    if (out.find("NOMOUNT") != std::string::npos || out.find("NOFIT") != std::string::npos ||
        out.find("NEWRUN") != std::string::npos)
      continue;  // no mount, or not a full-disk trial (the first run did not fit, or both did)
    EXPECT_NE(out.find("INTACT"), std::string::npos) << kb << " KiB tmpfs:\n" << out;
    EXPECT_NE(out.find("CLEAN"), std::string::npos) << kb << " KiB tmpfs:\n" << out;
    ++tmpfs_trials;
  }
  report(line + "; small tmpfs: " + std::to_string(tmpfs_trials) +
         " trials out of space, old run intact and no leftovers");
}

TEST(Faults, ConcurrentWritersNeverMix) {
  const fs::path d = fresh("concurrent");
  const fs::path r = d / "run";
  int trials = 0, refused = 0;
  for (int t = 0; t < 6; ++t) {
    std::vector<pid_t> pids;
    std::vector<uint64_t> seeds;
    for (int k = 0; k < 3; ++k) {
      seeds.push_back(3000 + 10 * static_cast<uint64_t>(t) + static_cast<uint64_t>(k));
      pids.push_back(spawn(train_cmd(r.string(), seeds.back())));
    }
    std::vector<uint64_t> ok;
    for (size_t k = 0; k < pids.size(); ++k) {
      int st = 0;
      ::waitpid(pids[k], &st, 0);
      if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        ok.push_back(seeds[k]);
      else
        ++refused;
    }
    ASSERT_FALSE(ok.empty()) << "trial " << t << ": no writer succeeded";
    const uint64_t seed = json::parse(slurp(r / "run.json"))["seed"].get<uint64_t>();
    ASSERT_NE(std::find(ok.begin(), ok.end(), seed), ok.end())
        << "trial " << t << ": run of a writer that failed";
    ASSERT_EQ(complete_train_run(r, seed), "") << "trial " << t;
    ++trials;
  }
  EXPECT_TRUE(leftovers(r).empty());
  report("faults: 3 concurrent lethe train writers of one directory: " + std::to_string(trials) +
         " trials, " + std::to_string(refused) + " writers refused (locked), every result one complete run");
}

TEST(Faults, ResumeAfterSigkill) {
  const fs::path d = fresh("resume");
  const fs::path r = d / "run";
  const std::string cmd = bin() + " train --data " + world().data +
                          " --model lightgcn --epochs 6 --quiet --seed 4 --checkpoint-every 1 --out " +
                          r.string();
  int resumed = 0;
  for (int t = 0; t < 2; ++t) {
    fs::remove_all(r);
    // Kill once the interrupted job's staging directory holds a checkpoint of epoch >= 1.
    const pid_t pid = spawn(cmd);
    const fs::path ck = d / ".run.partial" / "last.safetensors";
    const auto t0 = Clock::now();
    int st = 0;
    bool exited = false;
    while (std::chrono::duration<double>(Clock::now() - t0).count() < 60) {
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        exited = true;
        break;
      }
      std::error_code ec;
      if (fs::exists(ck, ec)) {
        try {
          if (std::stoll(lethe::formats::read_safetensors_metadata(ck.string()).at("epoch")) >= 1) break;
        } catch (const std::exception&) {
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (exited) continue;  // too fast to catch
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
    ASSERT_FALSE(fs::exists(r)) << "a run directory appeared before the job finished";
    std::string out;
    ASSERT_EQ(sh(cmd + " --resume " + r.string(), &out), 0) << out;
    ASSERT_EQ(complete_train_run(r, 4), "");
    // One log line per epoch 0..5, none twice.
    std::ifstream in(r / "train_log.jsonl");
    std::string line;
    int64_t expect = 0;
    while (std::getline(in, line)) ASSERT_EQ(json::parse(line)["epoch"].get<int64_t>(), expect++) << line;
    ASSERT_EQ(expect, 6);
    EXPECT_TRUE(leftovers(r).empty());
    ++resumed;
  }
  report("faults: lethe train --checkpoint-every killed with SIGKILL, then --resume: " +
         std::to_string(resumed) + " trials, each completed with one log line per epoch");
}

}  // namespace
