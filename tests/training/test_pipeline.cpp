// The train pipeline (models/training/pipeline.h) and the staged output directories under it
// (engine/formats/staged_dir.h; docs/training.md, "Run directories"): a complete run in place, the refusals
// before any work (existing output, locked output, unknown config key, changed config on resume), nothing
// left behind by a failed job, the memory check, and MMRec's evaluation of repeated valid/test rows.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "datasets/mmrec_io.h"
#include "datasets/synthetic.h"
#include "engine/error.h"
#include "engine/formats/atomic_file.h"
#include "engine/formats/staged_dir.h"
#include "models/eval/evaluator.h"
#include "models/training/pipeline.h"
#include "models/training/run_dir.h"

namespace fs = std::filesystem;
using namespace lethe;
using namespace lethe::training;

namespace {

fs::path temp_root() {
  static const fs::path p = [] {
    const fs::path r = fs::temp_directory_path() / ("lethe_pipeline_" + std::to_string(::getpid()));
    fs::remove_all(r);
    fs::create_directories(r);
    return r;
  }();
  return p;
}

class Cleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(temp_root(), ec);
  }
};
::testing::Environment* const kCleanup = ::testing::AddGlobalTestEnvironment(new Cleanup);

const std::string& tiny_dir() {
  static const std::string d = [] {
    const std::string dd = (temp_root() / "tiny").string();
    datasets::write_mmrec(datasets::generate_synthetic(datasets::synth_preset("tiny"), 5), dd);
    return dd;
  }();
  return d;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TrainJob small_job(const std::string& out) {
  TrainJob j;
  j.data_dir = tiny_dir();
  j.model = "bpr";
  j.epochs = 2;
  j.out_dir = out;
  j.quiet = true;
  j.progress = false;
  return j;
}

// Entries beside `target` that belong to its writers.
std::vector<std::string> leftovers(const fs::path& target) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(target.parent_path()))
    if (e.path().filename().string().rfind("." + target.filename().string() + ".", 0) == 0)
      out.push_back(e.path().filename().string());
  return out;
}

TEST(TrainPipeline, WritesACompleteRunInPlace) {
  const fs::path out = temp_root() / "complete";
  std::ostringstream log;
  const TrainOutcome o = run_train_job(small_job(out.string()), log);
  for (const char* f : {"config.yaml", "run.json", "model.safetensors", "embeddings.safetensors",
                        "train_log.jsonl", "metrics.json", "metrics.md"})
    EXPECT_TRUE(fs::is_regular_file(out / f)) << f;
  EXPECT_TRUE(leftovers(out).empty());
  EXPECT_EQ(o.result.epochs_run, 2);
  const RunInfo info = read_run_info(out.string());
  EXPECT_EQ(info.run_id.size(), 16u);
  EXPECT_EQ(info.run_id, o.info.run_id);
  EXPECT_EQ(info.config.get_int("epochs"), 2);
  LoadedRun r = load_run(out.string());
  EXPECT_EQ(r.info.model, "bpr");
}

TEST(TrainPipeline, RefusesBeforeAnyWorkAndLeavesNothing) {
  const fs::path out = temp_root() / "refusals";
  std::ostringstream log;
  // Unknown key: named with where it was set and the closest known key.
  TrainJob j = small_job(out.string());
  j.assignments = {"embeding_size=8"};
  const std::string e = error_of([&] { run_train_job(j, log); });
  EXPECT_NE(e.find("unknown key 'embeding_size' (assignment 'embeding_size=8')"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'embedding_size'"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(leftovers(out).empty());
  // A non-finite loss: no run directory.
  j = small_job(out.string());
  j.assignments = {"learning_rate=1e30"};
  EXPECT_NE(error_of([&] { run_train_job(j, log); }).find("no run directory was written"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(leftovers(out).empty());
  // An existing run: refused (typed, so that a command can say how to replace it), then replaced whole.
  run_train_job(small_job(out.string()), log);
  std::ofstream(out / "stale.txt") << "from an older run\n";
  EXPECT_THROW(run_train_job(small_job(out.string()), log), formats::OutputExists);
  EXPECT_TRUE(fs::exists(out / "stale.txt"));
  j = small_job(out.string());
  j.replace = true;
  run_train_job(j, log);
  EXPECT_FALSE(fs::exists(out / "stale.txt"));
  EXPECT_TRUE(leftovers(out).empty());
}

TEST(TrainPipeline, ResumeRefusesAChangedConfigUnlessAllowed) {
  const fs::path out = temp_root() / "resume";
  std::ostringstream log;
  TrainJob j = small_job(out.string());
  j.epochs = 4;
  j.max_epochs = 2;
  j.checkpoint_every = 1;
  run_train_job(j, log);
  TrainJob r = small_job(out.string());
  r.epochs = 4;
  r.resume = out.string();
  r.assignments = {"reg_weight=0.5"};
  try {
    run_train_job(r, log);
    ADD_FAILURE() << "a changed config was accepted";
  } catch (const ConfigChanged& e) {
    EXPECT_EQ(e.keys, std::vector<std::string>{"reg_weight"});
  }
  r.resume_may_change = {"reg_weigth"};  // a typo in the allowed keys is an error too
  EXPECT_NE(error_of([&] { run_train_job(r, log); }).find("did you mean 'reg_weight'"), std::string::npos);
  r.resume_may_change = {"reg_weight"};
  const TrainOutcome o = run_train_job(r, log);
  EXPECT_EQ(o.result.last_epoch, 3);
  std::ifstream in(out / "train_log.jsonl");
  std::string line;
  int64_t e = 0;
  while (std::getline(in, line)) EXPECT_EQ(nlohmann::json::parse(line)["epoch"].get<int64_t>(), e++);
  EXPECT_EQ(e, 4);
}

TEST(TrainPipeline, MemoryIsCheckedBeforeAllocating) {
  datasets::Dataset ds;
  ds.n_users = 2000000001;
  ds.n_items = 10;
  models::Config c = models::default_config("bpr");
  EXPECT_GT(memory_needed(ds, c), 1e12);  // two billion 64-wide rows with gradients and Adam state
  const std::string e = error_of([&] { check_memory(ds, c, "training bpr"); });
  EXPECT_NE(e.find("training bpr needs at least"), std::string::npos) << e;
  EXPECT_NE(e.find("is available"), std::string::npos) << e;
  ds.n_users = 300;
  EXPECT_NO_THROW(check_memory(ds, c, "training bpr"));
}

TEST(StagedDir, OneWriterAtATimeAndNothingPublishedWithoutCommit) {
  const fs::path target = temp_root() / "staged";
  {
    formats::StagedDir a(target.string());
    std::ofstream(fs::path(a.path()) / "x.txt") << "x\n";
    // A second writer of the same target (another open file description, as another process would have).
    const std::string e = error_of([&] { formats::StagedDir b(target.string()); });
    EXPECT_NE(e.find("is being written by another process (pid " + std::to_string(::getpid()) + ")"),
              std::string::npos)
        << e;
    EXPECT_FALSE(fs::exists(target));
  }  // no commit: nothing published, nothing left
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(leftovers(target).empty());
  {
    formats::StagedDir a(target.string());
    std::ofstream(fs::path(a.path()) / "x.txt") << "first\n";
    a.commit();
  }
  EXPECT_TRUE(fs::exists(target / "x.txt"));
  {
    formats::StageOptions o;
    o.replace = true;
    formats::StagedDir a(target.string(), o);
    EXPECT_TRUE(a.target_existed());
    std::ofstream(fs::path(a.path()) / "y.txt") << "second\n";
    a.commit();
  }
  EXPECT_FALSE(fs::exists(target / "x.txt"));
  EXPECT_TRUE(fs::exists(target / "y.txt"));
  EXPECT_TRUE(leftovers(target).empty());
}

TEST(StagedDir, RecoversWhatInterruptedWritersLeft) {
  const fs::path target = temp_root() / "recover";
  // A swap cut between its two renames: the target is gone and .old holds it.
  fs::create_directories(temp_root() / ".recover.old");
  std::ofstream(temp_root() / ".recover.old" / "run.json") << "{}\n";
  fs::create_directories(temp_root() / ".recover.partial");
  {
    formats::StageOptions o;
    o.replace = true;
    formats::StagedDir a(target.string(), o);
    EXPECT_TRUE(fs::exists(target / "run.json")) << "the old directory was not restored";
    EXPECT_EQ(a.removed().size(), 2u);
  }
  EXPECT_TRUE(fs::exists(target / "run.json"));
  EXPECT_TRUE(leftovers(target).empty());
}

TEST(AtomicFile, TemporariesOfDeadWritersAreRemovedAndOutputsCheckedFirst) {
  const fs::path dir = temp_root() / "atomic";
  fs::create_directories(dir);
  // pid 2^22 + 1 is above Linux's largest pid: its writer cannot be alive.
  const fs::path dead = dir / ".a.txt.tmp-4194305-0";
  std::ofstream(dead) << "half";
  formats::write_file_atomic((dir / "a.txt").string(), "whole\n");
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(dir / "a.txt"));
  std::ofstream(dir / "file") << "x";
  EXPECT_NE(error_of([&] {
              formats::check_writable((dir / "file" / "out.json").string());
            }).find("not a directory"),
            std::string::npos);
  EXPECT_NO_THROW(formats::check_writable((dir / "new" / "sub" / "out.json").string()));
  EXPECT_FALSE(fs::exists(dir / "new")) << "the check created a directory";
}

// MMRec keeps repeated valid/test rows: a user's Recall@K divides by their row count with the repeats.
TEST(MmrecRepeats, KeptValidTestRowsEnlargeRecallDenominators) {
  const fs::path d = temp_root() / "repeats";
  fs::create_directories(d);
  {
    std::ofstream f(d / "repeats.inter");
    f << "userID\titemID\tx_label\n"
      << "0\t0\t0\n0\t1\t0\n0\t2\t2\n0\t2\t2\n0\t3\t2\n"  // user 0: test item 2 twice, item 3 once
      << "1\t1\t0\n1\t1\t0\n1\t3\t1\n1\t4\t2\n";          // user 1: a repeated train row (dropped either way)
  }
  const datasets::Dataset drop = datasets::load_mmrec(d.string());
  datasets::ReadOptions ro;
  ro.keep_eval_repeats = true;
  const datasets::Dataset keep = datasets::load_mmrec(d.string(), ro);
  EXPECT_EQ(drop.train.users, keep.train.users);  // train and so the fingerprint: the same
  EXPECT_EQ(drop.train.items, keep.train.items);
  EXPECT_EQ(drop.test.size(), 3u);
  EXPECT_EQ(keep.test.size(), 4u);
  // Scores: user 0 ranks item 2 first, then 4, 3 (train items masked). Recall@1: one hit of T_u.
  const Tensor users = Tensor::from_vector(std::vector<float>{1, 0, 0, 1}, {2, 2});
  const Tensor items = Tensor::from_vector(std::vector<float>{0, 0, 0, 0, 5, 0, 3, 0, 4, 0}, {5, 2});
  const eval::EvalOptions eo{4096, {1}};
  auto recall_of_user0 = [&](const datasets::Dataset& ds) {
    datasets::Interactions only0;
    for (size_t k = 0; k < ds.test.size(); ++k)
      if (ds.test.users[k] == 0) only0.push(0, ds.test.items[k]);
    const eval::Evaluator ev(datasets::UserItems::build(ds.train, ds.n_users), ds.n_items, {}, Device::cpu(),
                             eo);
    return eval::metric(ev.evaluate(users, items, only0).metrics, "Recall@1");
  };
  EXPECT_DOUBLE_EQ(recall_of_user0(drop), 1.0 / 2.0);  // T_0 = {2, 3}
  EXPECT_DOUBLE_EQ(recall_of_user0(keep), 1.0 / 3.0);  // T_0 = {2, 2, 3}: MMRec's denominator
}

}  // namespace
