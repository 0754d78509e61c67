// Unlearned run directories: writing, loading against a request's data, request chains (unlearn_run.h).
#include "models/unlearning/unlearn_run.h"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/error.h"
#include "engine/formats/atomic_file.h"
#include "models/eval/evaluator.h"
#include "models/training/checkpoint.h"
#include "models/unlearning/audit.h"

namespace fs = std::filesystem;

namespace lethe::unlearning {

namespace {

using json = nlohmann::json;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LETHE_CHECK(in.good(), path << ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// FNV-1a 64 over the feature tables' names and values. data_fingerprint covers names and shapes only, and a
// modality request changes values, so unlearned runs also record this hash.
std::string features_hash(const models::TrainData& d) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t k = 0; k < n; ++k) {
      h ^= b[k];
      h *= 1099511628211ull;
    }
  };
  for (const auto& [name, t] : d.features) {
    mix(name.data(), name.size());
    const std::vector<float> v = t.to(Device::cpu()).astype(DType::F32).to_vector<float>();
    mix(v.data(), v.size() * sizeof(float));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

std::vector<std::string> run_request_files(const std::string& run_dir) {
  const training::RunInfo info = training::read_run_info(run_dir);
  std::vector<std::string> out;
  if (!info.summary.contains("unlearning")) return out;
  for (const auto& r : info.summary["unlearning"].value("request_copies", json::array())) {
    const std::string p = (fs::path(run_dir) / r.get<std::string>()).string();
    LETHE_CHECK(fs::exists(p),
                run_dir << "/run.json: request copy " << r.get<std::string>() << " is missing");
    out.push_back(fs::absolute(p).lexically_normal().string());
  }
  return out;
}

ModelRun load_model_run(const std::string& dir, const models::TrainData& data, const std::string& what_in,
                        std::optional<Device> dev) {
  const std::string what = what_in.empty() ? std::string("run") : what_in + " run";
  ModelRun r;
  r.dir = dir;
  r.info = training::read_run_info(dir);
  const std::string fp = training::data_fingerprint(data);
  if (r.info.fingerprint != fp) {
    const bool unl = r.info.summary.contains("unlearning");
    LETHE_CHECK(false, what << " " << dir << " does not match: it was "
                            << (unl ? "unlearned for a request whose retain set has" : "trained on data with")
                            << " fingerprint " << r.info.fingerprint << ", expected " << fp
                            << " (the data set and the request(s) given here)");
  }
  if (r.info.summary.contains("unlearning")) {
    const std::string want = r.info.summary["unlearning"].value("features_hash", "");
    LETHE_CHECK(want == features_hash(data),
                what << " " << dir
                     << " does not match: it was unlearned with other item features (features hash " << want
                     << ", expected " << features_hash(data) << "; a different modality request?)");
  }
  r.model = models::create_model(r.info.model, r.info.config, data, r.info.seed, dev.value_or(Device::cpu()));
  training::LoadOptions lo;
  lo.expected_fingerprint = fp;
  training::load_checkpoint(dir + "/model.safetensors", *r.model, nullptr, lo);
  if (r.info.summary.contains("unlearning")) {
    r.unlearning = r.info.summary["unlearning"];
    r.time_s = r.unlearning.value("time_s", -1.0);
    r.epochs = r.unlearning.value("epochs", int64_t(-1));
    r.stop_reason = r.unlearning.value("stop_reason", "");
    if (r.unlearning.contains("extra")) r.stopped_on = r.unlearning["extra"].value("stopped_on", "");
  } else {
    r.time_s = r.info.summary.value("train_seconds", 0.0) + r.info.summary.value("eval_seconds", 0.0);
    r.epochs = r.info.summary.value("epochs_run", int64_t(-1));
    r.stop_reason = r.info.summary.value("stop_reason", "");
  }
  return r;
}

std::string request_fingerprint(const Request& r) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t k = 0; k < n; ++k) {
      h ^= b[k];
      h *= 1099511628211ull;
    }
  };
  auto mix_i64 = [&](int64_t v) { mix(&v, sizeof v); };
  mix_i64(static_cast<int64_t>(r.kind));
  mix_i64(r.drop ? 1 : 0);
  mix_i64(static_cast<int64_t>(r.users.size()));
  mix(r.users.data(), r.users.size() * sizeof(int32_t));
  mix_i64(static_cast<int64_t>(r.items.size()));
  mix(r.items.data(), r.items.size() * sizeof(int32_t));
  mix_i64(static_cast<int64_t>(r.modalities.size()));
  for (const auto& m : r.modalities) {
    mix_i64(static_cast<int64_t>(m.size()));
    mix(m.data(), m.size());
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Lineage run_lineage(const std::string& dir) {
  const training::RunInfo info = training::read_run_info(dir);
  LETHE_CHECK(info.summary.contains("unlearning"),
              dir << " is not an unlearned run (no summary.unlearning in run.json)");
  const json& u = info.summary["unlearning"];
  Lineage l;
  l.original_run = u.value("original_run", "");
  l.original_run_id = u.value("original_run_id", "");
  if (u.contains("request_fingerprints")) {
    for (const auto& f : u["request_fingerprints"]) l.request_fingerprints.push_back(f.get<std::string>());
  } else {  // written before the field existed: the copies of the requests are in the run
    for (const auto& f : run_request_files(dir))
      l.request_fingerprints.push_back(request_fingerprint(read_request(f)));
  }
  return l;
}

void check_lineage(const std::string& what, const std::string& dir, const std::string& original_dir,
                   const std::vector<std::string>& request_files) {
  const Lineage l = run_lineage(dir);
  const training::RunInfo orig = training::read_run_info(original_dir);
  if (!l.original_run_id.empty() && !orig.run_id.empty()) {
    LETHE_CHECK(l.original_run_id == orig.run_id,
                what << " " << dir << " was unlearned from another original run (run_id " << l.original_run_id
                     << ", at " << l.original_run << "), not from " << original_dir << " (run_id "
                     << orig.run_id << ")");
  } else {  // runs written before run ids: compare the recorded path
    std::error_code ec;
    const bool same = fs::exists(l.original_run, ec) && fs::exists(original_dir, ec)
                          ? fs::equivalent(l.original_run, original_dir, ec)
                          : fs::absolute(l.original_run).lexically_normal() ==
                                fs::absolute(original_dir).lexically_normal();
    LETHE_CHECK(same, what << " " << dir << " was unlearned from the original run " << l.original_run
                           << ", not from " << original_dir);
  }
  std::vector<std::string> given;
  for (const auto& f : request_files) given.push_back(request_fingerprint(read_request(f)));
  if (given != l.request_fingerprints) {
    size_t k = 0;
    while (k < given.size() && k < l.request_fingerprints.size() && given[k] == l.request_fingerprints[k])
      ++k;
    LETHE_CHECK(false, what << " " << dir << " was unlearned for other requests: it embodies "
                            << l.request_fingerprints.size() << " request(s), " << given.size()
                            << " given, first difference at request " << k + 1
                            << (k < request_files.size() ? " (" + request_files[k] + ")" : std::string()));
  }
}

void write_unlearned_run(const std::string& dir, const training::RunInfo& original,
                         const std::string& original_dir, const std::string& original_run_id,
                         const std::vector<std::string>& request_files, const RequestView& view,
                         models::Model& model, const UnlearnResult& result, const UnlearnOptions& opt) {
  fs::create_directories(dir + "/requests");
  json copies = json::array(), sources = json::array(), fingerprints = json::array();
  for (size_t k = 0; k < request_files.size(); ++k) {
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "%02zu-", k + 1);
    // A copy taken from an earlier unlearned run is already named "NN-<name>": keep <name> only.
    std::string base = fs::path(request_files[k]).filename().string();
    if (fs::path(request_files[k]).parent_path().filename() == "requests" && base.size() > 3 &&
        std::isdigit(base[0]) && std::isdigit(base[1]) && base[2] == '-')
      base = base.substr(3);
    const std::string rel = "requests/" + std::string(prefix) + base;
    formats::write_file_atomic(dir + "/" + rel, read_text(request_files[k]));
    copies.push_back(rel);
    sources.push_back(request_files[k]);
    fingerprints.push_back(request_fingerprint(read_request(request_files[k])));
  }
  training::RunInfo info = original;
  info.run_id = training::new_run_id();
  info.fingerprint = training::data_fingerprint(view.retain);
  json u;
  u["method"] = result.method;
  u["original_run"] = fs::absolute(original_dir).lexically_normal().string();
  if (!original_run_id.empty()) u["original_run_id"] = original_run_id;
  u["request_copies"] = copies;
  u["request_sources"] = sources;
  u["request_fingerprints"] = fingerprints;
  u["request_kind"] = unlearning::request_kind_name(view.kind);
  u["forget_rows"] = view.forget.size();
  u["step_forget_rows"] = view.step_forget.size();
  u["retain_rows"] = view.retain.train.size();
  u["features_hash"] = features_hash(view.retain);
  u["time_s"] = result.seconds;
  u["epochs"] = result.epochs_run;
  u["steps"] = result.steps;
  u["stop_reason"] = result.stop_reason;
  u["options"] = {{"alpha", opt.alpha},
                  {"beta", opt.beta},
                  {"lr", opt.lr},
                  {"batch_size", opt.batch_size},
                  {"epochs", opt.epochs},
                  {"until_forgotten", opt.until_forgotten},
                  {"max_epochs", opt.max_epochs},
                  {"seed", opt.seed},
                  {"own_rows_lr_factor", opt.own_rows_lr_factor},
                  {"landing", opt.landing},
                  {"reference", reference_name(opt.reference)},
                  {"pair_rank", opt.pair_rank},
                  {"recall_floor", opt.recall_floor},
                  {"pair_gate", opt.pair_gate},
                  {"confine", opt.confine},
                  {"damping", opt.damping},
                  {"cg_max_iter", opt.cg_max_iter},
                  {"cg_tol", opt.cg_tol},
                  {"rank_gate", opt.rank_gate},
                  {"sensitive_layers", opt.sensitive_layers},
                  {"branch_scaling", opt.branch_scaling}};
  u["extra"] = result.extra;
  info.summary = json::object();
  info.summary["unlearning"] = u;
  training::write_run(dir, info, model, view.retain, result.epochs_run - 1);

  std::ostringstream logs;
  for (const EpochLog& e : result.epochs) {
    json j = {{"epoch", e.epoch}, {"loss", e.loss}, {"seconds", e.seconds}};
    if (e.forget_recall >= 0) j["forget_recall@20"] = e.forget_recall;
    if (e.test_recall >= 0) j["same_users_test_recall@20"] = e.test_recall;
    if (e.reference >= 0) j["until_forgotten_reference"] = e.reference;
    if (!e.candidates.empty()) j["reference_candidates"] = e.candidates;
    logs << j.dump() << "\n";
  }
  formats::write_file_atomic(dir + "/unlearn_log.jsonl", logs.str());

  // Test metrics after the request (the retained data's test split, retained train items masked).
  if (!view.current.test.empty()) {
    Tensor ue, ie;
    {
      autograd::NoGrad ng;
      models::Forward f = model.forward(false);
      ue = f.users.value();
      ie = f.items.value();
    }
    const eval::Evaluator ev(datasets::UserItems::build(view.retain.train, view.retain.n_users),
                             view.retain.n_items, view.retain.item_dropped, model.device());
    const eval::EvalResult t = ev.evaluate(ue, ie, view.current.test);
    json extra = {{"model", info.model}, {"method", result.method}, {"users", t.users}};
    training::write_metrics(dir, "test", t.metrics, eval::default_topks(), extra);
  }
}

AuditModel audit_model_of(const std::string& name, ModelRun& run) {
  AuditModel a = audit_model(name, *run.model);
  a.time_s = run.time_s;
  a.epochs = run.epochs;
  a.stop_reason = run.stop_reason;
  a.stopped_on = run.stopped_on;
  return a;
}

}  // namespace lethe::unlearning
