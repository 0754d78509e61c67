// The MMRec training loop: epochs of BPR batches with Adam, per-epoch lr schedule, evaluation and early
// stopping, best-epoch snapshot, resumable checkpoints and train_log.jsonl (see trainer.h).
#include "models/training/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "autograd/ops.h"
#include "engine/error.h"
#include "engine/profile.h"
#include "models/batch_share.h"
#include "models/training/checkpoint.h"

namespace lethe::training {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A Config value that MMRec may give as a scalar or as a one-element hyper-parameter list.
double scalar_or_first(const Config& c, const std::string& key, double def) {
  if (!c.has(key)) return def;
  const std::string raw = c.raw().at(key);
  if (!raw.empty() && raw.front() == '[') {
    const auto v = c.get_doubles(key, {def});
    LETHE_CHECK(!v.empty(), "config: '" << key << "' is an empty list");
    return v.front();
  }
  return c.get_double(key, def);
}

std::string fmt(const char* f, double a) {
  char buf[128];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

nlohmann::json metrics_json(const eval::Metrics& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

eval::Metrics metrics_from_json(const std::string& text) {
  eval::Metrics m;
  if (text.empty()) return m;
  const nlohmann::json j = nlohmann::json::parse(text);  // kept alive for the loop (items() is a view)
  for (auto& [k, v] : j.items()) m[k] = v.get<double>();
  return m;
}

}  // namespace

NonFiniteLoss::NonFiniteLoss(int64_t e, int64_t b, double value)
    : Error("training loss is " + std::string(std::isnan(value) ? "NaN" : "infinite") + " at epoch " +
            std::to_string(e) + ", batch " + std::to_string(b) +
            "; stopping (lower learning_rate or check the data)"),
      epoch(e),
      batch(b) {}

TrainOptions TrainOptions::from_config(const Config& c) {
  TrainOptions o;
  o.epochs = static_cast<int64_t>(scalar_or_first(c, "epochs", static_cast<double>(o.epochs)));
  o.stopping_step =
      static_cast<int64_t>(scalar_or_first(c, "stopping_step", static_cast<double>(o.stopping_step)));
  o.eval_step = static_cast<int64_t>(scalar_or_first(c, "eval_step", static_cast<double>(o.eval_step)));
  o.batch_size =
      static_cast<int64_t>(scalar_or_first(c, "train_batch_size", static_cast<double>(o.batch_size)));
  o.lr = scalar_or_first(c, "learning_rate", o.lr);
  o.weight_decay = scalar_or_first(c, "weight_decay", o.weight_decay);
  o.seed = static_cast<uint64_t>(scalar_or_first(c, "seed", static_cast<double>(o.seed)));
  o.eval_batch_size =
      static_cast<int64_t>(scalar_or_first(c, "eval_batch_size", static_cast<double>(o.eval_batch_size)));
  o.valid_metric = c.get_string("valid_metric", o.valid_metric);
  if (c.has("learning_rate_scheduler")) {
    const auto s = c.get_doubles("learning_rate_scheduler", {1.0, 50.0});
    LETHE_CHECK(s.size() == 2,
                "config: learning_rate_scheduler must be [a, b], got " << s.size() << " values");
    o.lr_a = s[0];
    o.lr_b = s[1];
  }
  if (c.has("topk")) {
    o.topks.clear();
    for (double k : c.get_doubles("topk", {})) o.topks.push_back(static_cast<int>(k));
  }
  LETHE_CHECK(o.epochs >= 0, "config: epochs must be >= 0, got " << o.epochs);
  LETHE_CHECK(o.eval_step >= 1, "config: eval_step must be >= 1, got " << o.eval_step);
  LETHE_CHECK(o.batch_size >= 1, "config: train_batch_size must be >= 1, got " << o.batch_size);
  LETHE_CHECK(o.lr > 0, "config: learning_rate must be > 0, got " << o.lr);
  LETHE_CHECK(o.lr_b != 0, "config: learning_rate_scheduler b must be non-zero");
  return o;
}

bool EarlyStopping::update(double score, int64_t epoch, bool* improved) {
  bool imp = score > best;  // strictly greater (MMRec early_stopping, bigger=True)
  if (imp) {
    best = score;
    cur_step = 0;
    best_epoch = epoch;
  } else {
    ++cur_step;
  }
  if (improved) *improved = imp;
  return !imp && cur_step > stopping_step;
}

Trainer::Trainer(Model& model, const TrainData& data, datasets::Interactions valid,
                 datasets::Interactions test, TrainOptions opt, std::ostream* log)
    : model_(model),
      valid_(std::move(valid)),
      test_(std::move(test)),
      opt_o_(std::move(opt)),
      log_(log ? log : &std::cout),
      sampler_(datasets::BprSampler::for_training(data.train, data.n_users, opt_o_.batch_size)),
      evaluator_(datasets::UserItems::build(data.train, data.n_users), data.n_items, data.item_dropped,
                 model.device(),
                 eval::EvalOptions{opt_o_.eval_batch_size, opt_o_.topks, eval::EvalOptions{}.max_block_elems,
                                   opt_o_.comm}) {
  LETHE_CHECK(!data.train.empty(), "trainer: the training split is empty");
  if (opt_o_.comm && opt_o_.comm->rank() != 0) {  // rank 0 logs and writes for the job
    opt_o_.quiet = true;
    opt_o_.progress = false;
    opt_o_.out_dir.clear();
    opt_o_.checkpoint_every = 0;
  }
  std::vector<autograd::Var> params;
  for (auto& [name, v] : model_.parameters()) params.push_back(v);
  opt_ =
      std::make_unique<autograd::Adam>(std::move(params), opt_o_.lr, 0.9, 0.999, 1e-8, opt_o_.weight_decay);
  stopper_.stopping_step = opt_o_.stopping_step;
  fingerprint_ = data_fingerprint(data);
  if (!opt_o_.resume.empty()) load_resume_checkpoint(opt_o_.resume);
}

void Trainer::log_line(const std::string& s) {
  if (!opt_o_.quiet) (*log_) << s << "\n" << std::flush;
}

double Trainer::train_epoch(int64_t epoch, const TrainHooks& hooks, int64_t* batches) {
  // Epoch randomness is a pure function of (seed, epoch): resuming reproduces it.
  Rng rng = Rng(opt_o_.seed).fork(opt_o_.epoch_stream + static_cast<uint64_t>(epoch));
  {
    LETHE_PROFILE_SCOPE("phase:pre_epoch");
    model_.pre_epoch(rng);
  }
  int64_t nb;
  {
    LETHE_PROFILE_SCOPE("phase:sample");
    if (hooks.begin_epoch) {
      nb = hooks.begin_epoch(epoch, rng);
    } else {
      sampler_.shuffle(rng);
      nb = sampler_.num_batches();
    }
  }
  if (batches) *batches = nb;
  const Device dev = model_.device();
  Tensor losses = Tensor::zeros({std::max<int64_t>(nb, 1)}, DType::F64, dev);
  const bool bar = opt_o_.progress && !opt_o_.quiet && isatty(STDERR_FILENO);
  for (int64_t b = 0; b < nb; ++b) {
    Batch batch;
    {
      LETHE_PROFILE_SCOPE("phase:sample");
      if (hooks.make_batch) {
        batch = hooks.make_batch(epoch, b, rng);
      } else {
        const datasets::BprBatch hb = sampler_.batch(b, rng);
        const Shape s{static_cast<int64_t>(hb.size())};
        batch.users = Tensor::from_vector(hb.users, s, dev);
        batch.pos = Tensor::from_vector(hb.pos, s, dev);
        batch.neg = Tensor::from_vector(hb.neg, s, dev);
      }
    }
    {
      LETHE_PROFILE_SCOPE("phase:zero_grad");
      opt_->zero_grad();
    }
    Forward f;
    autograd::Var loss;
    {
      LETHE_PROFILE_SCOPE("phase:forward");
      f = model_.forward(true);
      const models::BatchShare share(opt_o_.comm, batch.size());  // this rank's rows (all of them alone)
      const Batch mine = share.take(batch);
      loss = hooks.batch_loss ? hooks.batch_loss(model_, f, mine, epoch, b, rng) : model_.loss(f, mine);
    }
    LETHE_CHECK(loss.value().numel() == 1, "trainer: " << model_.name() << " loss is "
                                                       << loss.value().describe() << ", expected one value");
    {
      LETHE_PROFILE_SCOPE("phase:backward");
      if (loss.requires_grad()) autograd::backward(loss);  // a rank with no rows of a small batch has none
      allreduce_gradients();
    }
    {
      LETHE_PROFILE_SCOPE("phase:adam");
      opt_->step();
    }
    // Batch losses stay on the device; one read-back per epoch (no per-batch host synchronisation).
    losses.row_range(b, b + 1).copy_from(loss.value().reshape({1}).astype(DType::F64));
    if (bar && (b % 4 == 0 || b + 1 == nb))
      std::fprintf(stderr, "\r  epoch %lld  batch %lld/%lld", static_cast<long long>(epoch),
                   static_cast<long long>(b + 1), static_cast<long long>(nb));
  }
  if (bar) std::fprintf(stderr, "\r%60s\r", "");
  if (opt_o_.comm) opt_o_.comm->allreduce_sum(losses);  // the ranks' parts of each step's loss
  const std::vector<double> lv = losses.to_vector<double>();
  double total = 0.0;
  for (int64_t b = 0; b < nb; ++b) {
    if (!std::isfinite(lv[b])) throw NonFiniteLoss(epoch, b, lv[b]);
    total += lv[b];
  }
  return total;
}

void Trainer::allreduce_gradients() {
  if (!opt_o_.comm || opt_o_.comm->size() == 1) return;
  LETHE_PROFILE_SCOPE("phase:allreduce");
  // Which parameters any rank gave a gradient (a rank with no rows of a batch may have given none).
  const std::vector<autograd::Var>& ps = opt_->params();
  Tensor has = Tensor::zeros({static_cast<int64_t>(ps.size())}, DType::F64, Device::cpu());
  for (size_t k = 0; k < ps.size(); ++k) has.data<double>()[k] = ps[k].grad().defined() ? 1.0 : 0.0;
  opt_o_.comm->allreduce_sum(has);
  for (size_t k = 0; k < ps.size(); ++k)
    if (has.data<double>()[k] > 0) opt_o_.comm->allreduce_sum(autograd::grad_buffer(ps[k]));
}

std::pair<Tensor, Tensor> Trainer::embeddings() {
  autograd::NoGrad ng;
  Forward f = model_.forward(false);
  return {f.users.value(), f.items.value()};
}

eval::EvalResult Trainer::evaluate(const std::string& split) {
  LETHE_CHECK(split == "valid" || split == "test",
              "trainer: unknown split '" << split << "' (valid or test)");
  LETHE_PROFILE_SCOPE("phase:eval");
  const auto t0 = Clock::now();
  auto [u, i] = embeddings();
  eval::EvalResult r = evaluator_.evaluate(u, i, split == "valid" ? valid_ : test_);
  r.seconds = since(t0);
  return r;
}

void Trainer::append_log(const EpochRecord& r) {
  if (opt_o_.out_dir.empty()) return;
  nlohmann::json j;
  j["epoch"] = r.epoch;
  j["train_loss"] = r.train_loss;
  j["train_seconds"] = r.train_seconds;
  j["lr"] = r.lr;
  j["evaluated"] = r.evaluated;
  if (r.evaluated) {
    j["eval_seconds"] = r.eval_seconds;
    j["test_seconds"] = r.test_seconds;
    j["valid_score"] = r.valid_score;
    j["improved"] = r.improved;
    j["valid"] = metrics_json(r.valid);
    if (!r.test.empty()) j["test"] = metrics_json(r.test);
  }
  // Appending keeps earlier lines (and those of a run this one resumes). A log is a stream, not a result
  // file, so it is appended in place rather than renamed into place.
  std::filesystem::create_directories(opt_o_.out_dir);
  std::ofstream out(opt_o_.out_dir + "/train_log.jsonl", std::ios::app);
  LETHE_CHECK(out.good(), opt_o_.out_dir << "/train_log.jsonl: cannot open for appending");
  out << j.dump() << "\n";
}

void Trainer::save_resume_checkpoint(const std::string& path, int64_t epoch) {
  CheckpointInfo info;
  info.model = model_.name();
  info.config_yaml = model_.config().to_yaml();
  info.fingerprint = fingerprint_;
  info.epoch = epoch;
  info.extra["trainer_best_score"] = fmt("%.17g", stopper_.best);
  info.extra["trainer_best_epoch"] = std::to_string(stopper_.best_epoch);
  info.extra["trainer_cur_step"] = std::to_string(stopper_.cur_step);
  info.extra["trainer_seed"] = std::to_string(opt_o_.seed);
  info.extra["trainer_best_valid"] = metrics_json(best_valid_).dump();
  info.extra["trainer_best_test"] = metrics_json(best_test_).dump();
  std::vector<std::pair<std::string, Tensor>> extra;
  auto params = model_.parameters();
  for (size_t k = 0; k < best_params_.size() && k < params.size(); ++k)
    extra.emplace_back("best/" + params[k].first, best_params_[k]);
  save_checkpoint(path, model_, info, opt_.get(), extra);
}

void Trainer::load_resume_checkpoint(const std::string& path) {
  LoadOptions lo;
  lo.expected_fingerprint = fingerprint_;
  formats::SafeTensors raw;
  CheckpointInfo info = load_checkpoint(path, model_, opt_.get(), lo, &raw);
  LETHE_CHECK(info.extra.count("adam_steps"),
              path << ": has no optimizer state; resume needs a last.safetensors written by the trainer");
  auto get = [&](const char* k, const std::string& def) {
    auto it = info.extra.find(k);
    return it == info.extra.end() ? def : it->second;
  };
  const std::string seed = get("trainer_seed", std::to_string(opt_o_.seed));
  LETHE_CHECK(seed == std::to_string(opt_o_.seed),
              path << ": was trained with seed " << seed << ", resuming with seed " << opt_o_.seed);
  start_epoch_ = info.epoch + 1;
  stopper_.best = std::stod(get("trainer_best_score", "-1"));
  stopper_.best_epoch = std::stoll(get("trainer_best_epoch", "-1"));
  stopper_.cur_step = std::stoll(get("trainer_cur_step", "0"));
  best_valid_ = metrics_from_json(get("trainer_best_valid", ""));
  best_test_ = metrics_from_json(get("trainer_best_test", ""));
  best_params_.clear();
  for (auto& [name, v] : model_.parameters()) {
    const Tensor* t = raw.find("best/" + name);
    if (!t) {
      best_params_.clear();
      break;
    }
    best_params_.push_back(t->to(v.value().device()));
  }
  opt_->set_epoch(static_cast<int>(start_epoch_), opt_o_.lr_a, opt_o_.lr_b);
}

TrainResult Trainer::train(const TrainHooks& hooks) {
  TrainResult res;
  int64_t end = opt_o_.epochs;
  if (opt_o_.max_epochs > 0) end = std::min(end, start_epoch_ + opt_o_.max_epochs);
  res.stop_reason = end < opt_o_.epochs ? "max_epochs" : "epochs";
  if (!opt_o_.out_dir.empty() && start_epoch_ == 0) {  // a fresh run starts a fresh log
    std::filesystem::create_directories(opt_o_.out_dir);
    std::filesystem::remove(opt_o_.out_dir + "/train_log.jsonl");
  }
  const bool can_eval = !valid_.empty();
  for (int64_t e = start_epoch_; e < end; ++e) {
    EpochRecord rec;
    rec.epoch = e;
    rec.lr = opt_->lr();
    const auto t0 = Clock::now();
    if (hooks.epoch_begin) hooks.epoch_begin(e);
    rec.train_loss =
        train_epoch(e, hooks, &rec.batches);  // NonFiniteLoss propagates: nothing trained into NaN is kept
    rec.train_seconds = since(t0);
    opt_->set_epoch(static_cast<int>(e + 1), opt_o_.lr_a, opt_o_.lr_b);  // LambdaLR, stepped after training
    res.train_seconds += rec.train_seconds;
    ++res.epochs_run;
    res.last_epoch = e;
    log_line(opt_o_.log_name + "epoch " + std::to_string(e) + " training [time: " +
             fmt("%.2f", rec.train_seconds) + "s, train loss: " + fmt("%.4f", rec.train_loss) + "]");
    bool stop = false;
    if (can_eval && (e + 1) % opt_o_.eval_step == 0) {
      const auto t1 = Clock::now();
      Tensor u, it;
      eval::EvalResult vr;
      {
        LETHE_PROFILE_SCOPE("phase:eval");
        std::tie(u, it) = embeddings();
        vr = evaluator_.evaluate(u, it, valid_);
      }
      rec.eval_seconds = since(t1);
      rec.evaluated = true;
      rec.valid = vr.metrics;
      if (opt_o_.eval_test && !test_.empty()) {
        const auto t2 = Clock::now();
        LETHE_PROFILE_SCOPE("phase:eval_test");
        rec.test = evaluator_.evaluate(u, it, test_).metrics;
        rec.test_seconds = since(t2);
      }
      res.eval_seconds += rec.eval_seconds + rec.test_seconds;
      // MMRec compares the valid metric after its evaluator rounded it to 4 decimals.
      rec.valid_score = eval::round4(eval::metric(rec.valid, opt_o_.valid_metric));
      stop = stopper_.update(rec.valid_score, e, &rec.improved);
      log_line("epoch " + std::to_string(e) + " evaluating [time: " + fmt("%.2f", rec.eval_seconds) +
               "s, valid_score: " + fmt("%f", rec.valid_score) + "]");
      log_line("valid result: \n" + eval::format_mmrec(rec.valid, opt_o_.topks));
      if (!rec.test.empty()) log_line("test result: \n" + eval::format_mmrec(rec.test, opt_o_.topks));
      if (rec.improved) {
        log_line("\xe2\x96\x88\xe2\x96\x88 " + model_.name() + "--Best validation results updated!!!");
        best_params_ = snapshot_parameters(model_);
        best_valid_ = rec.valid;
        best_test_ = rec.test;
      }
      if (stop) res.stop_reason = "early stopping";
    }
    res.epochs.push_back(rec);
    append_log(rec);
    if (hooks.on_epoch && !hooks.on_epoch(rec)) {
      stop = true;
      res.stop_reason = "hook";
    }
    if (opt_o_.checkpoint_every > 0 && !opt_o_.out_dir.empty() && (e + 1) % opt_o_.checkpoint_every == 0)
      save_resume_checkpoint(opt_o_.out_dir + "/last.safetensors", e);
    if (stop) break;
  }
  if (res.stop_reason == "early stopping")
    log_line("+++++Finished training, best eval result in epoch " + std::to_string(stopper_.best_epoch));
  // Without any evaluation the last parameters are the result.
  if (best_params_.empty()) {
    best_params_ = snapshot_parameters(model_);
    stopper_.best_epoch = res.last_epoch;
  }
  if (opt_o_.checkpoint_every > 0 && !opt_o_.out_dir.empty() && res.last_epoch >= 0)
    save_resume_checkpoint(opt_o_.out_dir + "/last.safetensors", res.last_epoch);
  res.best_epoch = stopper_.best_epoch;
  res.best_valid_score = stopper_.best;
  res.best_valid = best_valid_;
  res.best_test = best_test_;
  if (opt_o_.restore_best) restore_parameters(model_, best_params_);
  return res;
}

}  // namespace lethe::training
