// The train pipeline (pipeline.h).
#include "models/training/pipeline.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "datasets/mmrec_io.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/formats/atomic_file.h"
#include "engine/formats/staged_dir.h"
#include "models/model.h"
#include "models/registry.h"
#include "models/training/checkpoint.h"
#include "models/training/shards.h"

namespace fs = std::filesystem;

namespace lethe::training {

namespace {

bool same_path(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::absolute(a).lexically_normal() == fs::absolute(b).lexically_normal();
}

// Bytes of memory available to this process: MemAvailable, capped by a cgroup v2 limit; 0 when unknown.
double available_memory() {
  double avail = 0;
  std::ifstream mi("/proc/meminfo");
  std::string key;
  double kb;
  std::string unit;
  while (mi >> key >> kb) {
    std::getline(mi, unit);
    if (key == "MemAvailable:") {
      avail = kb * 1024.0;
      break;
    }
  }
  std::ifstream cg("/sys/fs/cgroup/memory.max");
  std::string lim;
  if (cg >> lim && lim != "max") {
    std::ifstream cur("/sys/fs/cgroup/memory.current");
    double used = 0;
    cur >> used;
    const double left = std::stod(lim) - used;
    if (left > 0 && (avail == 0 || left < avail)) avail = left;
  }
  return avail;
}

std::string gib(double bytes) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(bytes < 1e9 ? 3 : 1);
  o << bytes / (1024.0 * 1024.0 * 1024.0) << " GiB";
  return o.str();
}

// The train_log.jsonl lines of epochs <= last_epoch (a resumed run continues after its checkpoint's epoch;
// lines of later epochs were written after that checkpoint and are trained again).
std::string log_up_to(const std::string& path, int64_t last_epoch) {
  std::ifstream in(path);
  std::string line, out;
  while (std::getline(in, line)) {
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (j.value("epoch", int64_t(-1)) <= last_epoch) out += line + "\n";
    } catch (const nlohmann::json::exception&) {
      // a line cut by a crash: dropped
    }
  }
  return out;
}

struct ResumeSource {
  std::string file;               // the checkpoint
  bool in_partial = false;        // it lies in out_dir's staging directory (an interrupted job)
  bool continues_target = false;  // it lies in out_dir itself
};

ResumeSource find_resume(const TrainJob& job) {
  ResumeSource r;
  const std::string partial = formats::StagedDir::partial_path(job.out_dir);
  fs::path p(job.resume);
  std::error_code ec;
  // A run directory, or the target of an interrupted job that never got as far as creating it.
  const bool dir_like =
      fs::is_directory(p, ec) || (!fs::exists(p, ec) && formats::StagedDir::is_interrupted_partial(
                                                            formats::StagedDir::partial_path(p.string())));
  if (dir_like) {
    const std::string dir_partial = formats::StagedDir::partial_path(p.string());
    const fs::path interrupted = fs::path(dir_partial) / "last.safetensors";
    if (formats::StagedDir::is_interrupted_partial(dir_partial) && fs::is_regular_file(interrupted, ec)) {
      p = interrupted;  // the newest state: a job on this directory was interrupted after it
    } else {
      p = p / "last.safetensors";
      LETHE_CHECK(fs::is_regular_file(p, ec),
                  "train job: resume: " << job.resume
                                        << " holds no last.safetensors (was it trained with checkpoints?)"
                                        << " and no interrupted job left one");
    }
  }
  LETHE_CHECK(fs::is_regular_file(p, ec), "train job: resume: " << p.string() << " not found");
  r.file = p.string();
  const fs::path parent = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  r.in_partial = same_path(parent, partial);
  r.continues_target = r.in_partial || same_path(parent, job.out_dir);
  return r;
}

}  // namespace

double memory_needed(const datasets::Dataset& ds, const models::Config& config) {
  const double nodes = static_cast<double>(ds.n_users) + static_cast<double>(ds.n_items);
  const double d = static_cast<double>(config.get_int("embedding_size"));
  const double rows = static_cast<double>(ds.train.size() + ds.valid.size() + ds.test.size());
  // Embedding tables in float32 with their gradients and Adam's two moments; int32 CSR row pointers per
  // user and item (training mask, evaluation targets, sampler, graphs); (user, item) pairs per row.
  return 16.0 * nodes * d + 16.0 * nodes + 24.0 * rows;
}

void check_memory(const datasets::Dataset& ds, const models::Config& config, const std::string& what) {
  const double need = memory_needed(ds, config), avail = available_memory();
  if (avail <= 0 || need <= avail) return;
  LETHE_CHECK(false,
              what << " needs at least " << gib(need) << " of memory (" << ds.n_users << " users + "
                   << ds.n_items << " items with " << config.get_int("embedding_size")
                   << "-wide embeddings, their gradients and Adam state, and per-id index arrays), but "
                   << gib(avail) << " is available"
                   << (ds.warnings.empty() ? std::string() : "; " + ds.warnings.back()));
}

namespace {

// Checks the job's own fields (paths, model, epoch counts) before anything is read.
void validate_job(const TrainJob& job) {
  LETHE_CHECK(!job.data_dir.empty(), "train job: no data directory given");
  LETHE_CHECK(!job.model.empty(), "train job: no model given");
  LETHE_CHECK(!job.out_dir.empty(), "train job: no output run directory given");
  LETHE_CHECK(job.max_epochs >= 0, "train job: max_epochs must be >= 0, got " << job.max_epochs);
  LETHE_CHECK(job.checkpoint_every >= 0,
              "train job: checkpoint_every must be >= 0, got " << job.checkpoint_every);
  LETHE_CHECK(!job.epochs || *job.epochs >= 0, "train job: epochs must be >= 0, got " << *job.epochs);
}

// The model's resolved configuration with the job's seed and epochs, its integer training keys read strictly.
models::Config resolve_job_config(const TrainJob& job) {
  models::Config cfg = models::resolve_config(job.model, job.config_file, job.assignments);
  if (job.seed) {
    cfg.set("seed", std::to_string(*job.seed));
    cfg.set_origin("seed", "the job's seed");
  }
  if (job.epochs) {
    cfg.set("epochs", std::to_string(*job.epochs));
    cfg.set_origin("epochs", "the job's epochs");
  }
  // The integer training keys, read strictly first (a fraction or a value beyond int64 is an error here,
  // not a silent cast in TrainOptions::from_config), then the range checks of the training keys.
  for (const char* k :
       {"epochs", "stopping_step", "eval_step", "train_batch_size", "eval_batch_size", "seed"})
    cfg.get_int(k);
  return cfg;
}

// The job's device, checked to be usable in this build.
Device job_device(const TrainJob& job) {
  const Device dev = parse_device(job.device);
  LETHE_CHECK(!dev.is_cuda() || cuda_available(),
              "train job: device " << job.device << ": no usable CUDA device in this build");
  return dev;
}

// Checks that every key resume_may_change names is a configuration key of the model.
void check_resume_may_change(const TrainJob& job) {
  const std::set<std::string> known = models::known_config_keys(job.model);
  for (const auto& k : job.resume_may_change) {
    const std::string near = models::closest_key(k, known);
    LETHE_CHECK(known.count(k), "train job: resume_may_change names '"
                                    << k << "', not a key of model " << job.model
                                    << (near.empty() ? std::string() : "; did you mean '" + near + "'?"));
  }
}

// On the writer rank, opens the staged output directory into `out` (lock, existence, leftovers, writable);
// on every rank, logs what an interrupted job left and was removed.
void open_output(const TrainJob& job, const ResumeSource& resume, bool writer,
                 std::optional<formats::StagedDir>& out, TrainOutcome& outcome, std::ostream& log) {
  formats::StageOptions so;
  so.replace = job.replace || resume.continues_target;
  so.keep_partial = resume.in_partial;
  if (writer) {
    out.emplace(job.out_dir, so);  // lock, existence, leftovers, writable
    LETHE_CHECK(!resume.in_partial || out->reused_partial(),
                "train job: resume: " << resume.file
                                      << " belongs to a staging directory that is not an interrupted job's");
    outcome.removed = out->removed();
  }
  for (const auto& r : outcome.removed) log << "removed " << r << ", left by an interrupted job\n";
}

// Loads the job's data set (logging its warnings) and checks that training it fits in memory.
datasets::Dataset load_job_data(const TrainJob& job, const models::Config& cfg, std::ostream& log) {
  datasets::ReadOptions ro;
  ro.keep_eval_repeats = job.keep_eval_repeats;
  datasets::Dataset ds = datasets::load_mmrec(job.data_dir, ro);
  for (const auto& w : ds.warnings) log << "warning: " << w << "\n";
  check_memory(ds, cfg, "training " + job.model);
  return ds;
}

// Checks the resume checkpoint against the job (model, data, configuration) and, on the writer rank
// (`out` engaged), stages the train log of the epochs it holds.
void check_resume(const TrainJob& job, const ResumeSource& resume, const models::Config& cfg,
                  const std::string& fingerprint, bool writer, std::optional<formats::StagedDir>& out) {
  const CheckpointInfo ck = read_checkpoint_info(resume.file);
  LETHE_CHECK(ck.model == job.model, "train job: resume: " << resume.file << " is a checkpoint of model '"
                                                           << ck.model << "', not '" << job.model << "'");
  LETHE_CHECK(ck.fingerprint == fingerprint,
              "train job: resume: " << resume.file << " was trained on other data (fingerprint "
                                    << ck.fingerprint << ", " << job.data_dir << " has " << fingerprint
                                    << ")");
  models::Config was = models::default_config(job.model);
  was.merge(models::Config::from_yaml_string(ck.config_yaml, resume.file));
  std::vector<std::string> changed;
  for (const auto& k : models::Config::differing_keys(was, cfg))
    if (std::find(job.resume_may_change.begin(), job.resume_may_change.end(), k) ==
        job.resume_may_change.end())
      changed.push_back(k);
  if (!changed.empty()) {
    std::ostringstream m;
    m << "train job: resume: the configuration differs from the checkpoint's (" << resume.file << ") in ";
    for (size_t k = 0; k < changed.size(); ++k) {
      const std::string& key = changed[k];
      m << (k ? ", " : "") << key << " (" << (was.has(key) ? was.raw().at(key) : "unset") << " -> "
        << (cfg.has(key) ? cfg.raw().at(key) : "unset") << ")";
    }
    m << "; a resumed run continues with its own configuration unless the changed keys are allowed";
    throw ConfigChanged(m.str(), changed);
  }
  // The log of the epochs the checkpoint holds: from the interrupted staging directory, or the run it is
  // in.
  const std::string src = (fs::path(resume.file).parent_path() / "train_log.jsonl").string();
  if (writer) formats::write_file_atomic(out->path() + "/train_log.jsonl", log_up_to(src, ck.epoch));
}

// The job's opening log line (none when quiet).
void log_start(const TrainJob& job, const datasets::Dataset& ds, const Device& dev, const TrainOptions& opt,
               const ResumeSource& resume, std::ostream& log) {
  if (!job.quiet)
    log << "train: " << job.model << " on " << job.data_dir << " (" << ds.n_users << " users, " << ds.n_items
        << " items, " << ds.train.size() << " train rows) device " << dev.str() << ", seed " << opt.seed
        << (resume.file.empty() ? std::string() : ", resuming from " + resume.file)
        << (job.comm && job.comm->size() > 1
                ? ", " + std::to_string(job.comm->size()) + " ranks (" + job.comm->backend() + ")"
                : std::string())
        << "\n";
}

// Sets the job's training options: into the staging directory on the writer rank, nowhere on the others.
void set_job_options(TrainOptions& opt, const TrainJob& job, const ResumeSource& resume, bool writer,
                     const std::optional<formats::StagedDir>& out) {
  opt.out_dir = writer ? out->path() : std::string();
  opt.comm = job.comm;
  opt.quiet = job.quiet;
  opt.progress = job.progress;
  opt.max_epochs = job.max_epochs;
  opt.checkpoint_every = job.checkpoint_every;
  opt.resume = resume.file;
}

// Creates the job's model (plain or sharded); a sharded one has no resume checkpoints.
std::unique_ptr<models::Model> build_model(const TrainJob& job, const models::Config& cfg,
                                           const models::TrainData& td, const TrainOptions& opt,
                                           const Device& dev, const ResumeSource& resume) {
  auto model = models::create_model(job.model, cfg, td, opt.seed, dev);
  auto* sharded = dynamic_cast<models::ShardedModel*>(model.get());
  LETHE_CHECK(!sharded || (resume.file.empty() && job.checkpoint_every == 0),
              "train job: a sharded run (shards = "
                  << cfg.get_int("shards")
                  << ") trains its shards one by one and has no resume checkpoints; "
                     "drop --resume / --checkpoint-every");
  return model;
}

// Trains the model (a sharded one shard by shard, into `shard_results`) and leaves in `trainer` the trainer
// that evaluates it; returns the training's result.
TrainResult train_model(models::Model& model, models::ShardedModel* sharded, const models::TrainData& td,
                        const datasets::Dataset& ds, const TrainOptions& opt, std::ostream& log,
                        std::vector<ShardResult>& shard_results, std::optional<Trainer>& trainer) {
  TrainResult res;
  try {
    if (sharded) {  // SISA: each shard on the one trainer (docs/unlearning.md, "SISA")
      shard_results = train_shards(*sharded, td, ds.valid, ds.test, opt, &log);
      for (const ShardResult& s : shard_results) {
        res.epochs_run += s.result.epochs_run;
        res.train_seconds += s.result.train_seconds;
        res.eval_seconds += s.result.eval_seconds;
      }
      res.stop_reason = "shards";
    } else {
      trainer.emplace(model, td, ds.valid, ds.test, opt, &log);
      res = trainer->train();  // leaves the best-valid parameters in the model
    }
  } catch (const NonFiniteLoss& e) {
    LETHE_CHECK(false, "train job: " << e.what() << "; no run directory was written");
  }
  if (!trainer) {  // a sharded model is evaluated combined
    TrainOptions eval_opt = opt;
    eval_opt.out_dir.clear();
    trainer.emplace(model, td, ds.valid, ds.test, eval_opt, &log);
  }
  return res;
}

// Fills the run's record: what was trained on what, and the summary of the training (per shard when sharded).
void fill_run_info(RunInfo& info, const TrainJob& job, const models::Config& cfg, const TrainOptions& opt,
                   const Device& dev, const std::string& fingerprint, const TrainResult& res,
                   models::ShardedModel* sharded, const std::vector<ShardResult>& shard_results) {
  info.model = job.model;
  info.data_dir = fs::absolute(job.data_dir).lexically_normal().string();
  info.fingerprint = fingerprint;
  info.seed = opt.seed;
  info.device = dev.str();
  info.config = cfg;
  info.keep_eval_repeats = job.keep_eval_repeats;
  info.run_id = new_run_id();
  info.summary["best_epoch"] = res.best_epoch;
  info.summary["best_valid_score"] = res.best_valid_score;
  info.summary["valid_metric"] = opt.valid_metric;
  info.summary["epochs_run"] = res.epochs_run;
  info.summary["last_epoch"] = res.last_epoch;
  info.summary["stop_reason"] = res.stop_reason;
  info.summary["train_seconds"] = res.train_seconds;
  info.summary["eval_seconds"] = res.eval_seconds;
  info.summary["train_seconds_per_epoch"] = res.epochs_run > 0 ? res.train_seconds / res.epochs_run : 0.0;
  if (sharded) {
    nlohmann::json shards = nlohmann::json::array();
    for (const ShardResult& s : shard_results)
      shards.push_back({{"shard", s.shard},
                        {"train_rows", s.train_rows},
                        {"best_epoch", s.result.best_epoch},
                        {"epochs_run", s.result.epochs_run},
                        {"stop_reason", s.result.stop_reason},
                        {"train_seconds", s.result.train_seconds}});
    info.summary["shards"] = shards;
    info.summary["shard_combiner"] = sharded->combiner();
  }
}

// Final report: the best checkpoint on test (and valid), as MMRec reports best_test_upon_valid; the writer
// rank writes the test metrics and puts the staging directory in place.
void final_report(TrainOutcome& outcome, Trainer& trainer, const TrainJob& job, const TrainOptions& opt,
                  const TrainResult& res, bool writer, std::optional<formats::StagedDir>& out) {
  outcome.valid = trainer.evaluate("valid");
  outcome.test = trainer.evaluate("test");
  outcome.topks = opt.topks;
  nlohmann::json extra;
  extra["model"] = job.model;
  extra["best_epoch"] = res.best_epoch;
  extra["users"] = outcome.test.users;
  extra["eval_seconds"] = outcome.test.seconds;
  extra["valid_metrics"] = nlohmann::json(outcome.valid.metrics);
  if (writer) {
    write_metrics(out->path(), "test", outcome.test.metrics, opt.topks, extra);
    out->commit();  // 3. In place.
  }
}

}  // namespace

TrainOutcome run_train_job(const TrainJob& job, std::ostream& log) {
  validate_job(job);

  // 1. Everything that can be checked before any work.
  models::Config cfg = resolve_job_config(job);
  TrainOptions opt = TrainOptions::from_config(cfg);
  const Device dev = job_device(job);
  check_resume_may_change(job);
  ResumeSource resume;
  if (!job.resume.empty()) resume = find_resume(job);

  const bool writer = !job.comm || job.comm->rank() == 0;  // rank 0 writes for a data-parallel job
  std::optional<formats::StagedDir> out;
  TrainOutcome outcome;
  open_output(job, resume, writer, out, outcome, log);

  const datasets::Dataset ds = load_job_data(job, cfg, log);
  const models::TrainData td = models::make_train_data(ds);
  const std::string fingerprint = data_fingerprint(td);
  if (!resume.file.empty()) check_resume(job, resume, cfg, fingerprint, writer, out);
  log_start(job, ds, dev, opt, resume, log);

  // 2. Training, into the staging directory.
  set_job_options(opt, job, resume, writer, out);
  auto model = build_model(job, cfg, td, opt, dev, resume);
  auto* sharded = dynamic_cast<models::ShardedModel*>(model.get());
  std::vector<ShardResult> shard_results;
  std::optional<Trainer> trainer;
  TrainResult res = train_model(*model, sharded, td, ds, opt, log, shard_results, trainer);

  fill_run_info(outcome.info, job, cfg, opt, dev, fingerprint, res, sharded, shard_results);
  if (writer) write_run(out->path(), outcome.info, *model, td, res.best_epoch);

  final_report(outcome, *trainer, job, opt, res, writer, out);
  outcome.result = std::move(res);
  return outcome;
}

}  // namespace lethe::training
