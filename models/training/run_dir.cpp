// Run directories: writing config / checkpoint / embeddings / metrics, and loading a run back (run_dir.h).
#include "models/training/run_dir.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "autograd/var.h"
#include "datasets/mmrec_io.h"
#include "engine/build_info.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/formats/atomic_file.h"
#include "models/training/checkpoint.h"
#include "models/training/pipeline.h"

namespace fs = std::filesystem;

namespace lethe::training {

void write_embeddings(const std::string& path, Model& model, const TrainData& data) {
  Tensor users, items;
  {
    autograd::NoGrad ng;
    Forward f = model.forward(false);
    users = f.users.value().to(Device::cpu());
    items = f.items.value().to(Device::cpu());
  }
  const datasets::UserItems seen = datasets::UserItems::build(data.train, data.n_users);
  std::vector<std::pair<std::string, Tensor>> t;
  t.emplace_back("users", users);
  t.emplace_back("items", items);
  t.emplace_back("seen_indptr", Tensor::from_vector(seen.indptr, {static_cast<int64_t>(seen.indptr.size())}));
  t.emplace_back("seen_items", Tensor::from_vector(seen.items, {static_cast<int64_t>(seen.items.size())}));
  std::vector<int32_t> dropped(static_cast<size_t>(data.n_items), 0);
  for (size_t i = 0; i < data.item_dropped.size() && i < dropped.size(); ++i)
    dropped[i] = data.item_dropped[i];
  t.emplace_back("item_dropped", Tensor::from_vector(dropped, {static_cast<int64_t>(dropped.size())}));
  formats::write_safetensors(
      path, t,
      {{"format", "lethe-embeddings"}, {"model", model.name()}, {"fingerprint", data_fingerprint(data)}});
}

std::string new_run_id() {
  std::random_device rd;
  const uint64_t t = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  uint64_t x = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ (t * 0x9E3779B97F4A7C15ull) ^
               static_cast<uint64_t>(::getpid());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

void write_run(const std::string& dir, const RunInfo& info, Model& model, const TrainData& data,
               int64_t epoch) {
  fs::create_directories(dir);
  formats::write_file_atomic(dir + "/config.yaml", info.config.to_yaml());
  nlohmann::json j;
  j["format"] = "lethe-run";
  j["format_version"] = 1;
  j["run_id"] = info.run_id.empty() ? new_run_id() : info.run_id;
  j["model"] = info.model;
  j["data"] = info.data_dir;
  j["fingerprint"] = info.fingerprint;
  j["seed"] = info.seed;
  j["device"] = info.device;
  j["build"] = build_record();  // what built and ran it (docs/training.md, "Provenance")
  if (info.keep_eval_repeats) j["eval_repeats"] = "kept";
  j["summary"] = info.summary;
  formats::write_file_atomic(dir + "/run.json", j.dump(2) + "\n");
  CheckpointInfo ci;
  ci.model = info.model;
  ci.config_yaml = info.config.to_yaml();
  ci.fingerprint = info.fingerprint;
  ci.epoch = epoch;
  save_checkpoint(dir + "/model.safetensors", model, ci);
  write_embeddings(dir + "/embeddings.safetensors", model, data);
}

void write_metrics(const std::string& dir, const std::string& split, const eval::Metrics& m,
                   const std::vector<int>& topks, const nlohmann::json& extra) {
  fs::create_directories(dir);
  nlohmann::json j = extra.is_object() ? extra : nlohmann::json::object();
  j["split"] = split;
  nlohmann::json mj = nlohmann::json::object();
  for (const auto& [k, v] : m) mj[k] = v;
  j["metrics"] = mj;
  formats::write_file_atomic(dir + "/metrics.json", j.dump(2) + "\n");
  std::ostringstream md;
  md << "# Metrics (" << split << ")\n\n";
  if (j.contains("model")) md << "Model: " << j["model"].get<std::string>() << "\n\n";
  md << eval::format_markdown(m, topks);
  formats::write_file_atomic(dir + "/metrics.md", md.str());
}

RunInfo read_run_info(const std::string& dir) {
  const std::string path = dir + "/run.json";
  std::ifstream in(path);
  LETHE_CHECK(in.good(),
              path << ": cannot open (is " << dir << " a run directory written by `lethe train`?)");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    LETHE_CHECK(false, path << ": not valid JSON: " << e.what());
  }
  LETHE_CHECK(j.value("format", "") == "lethe-run", path << ": not a Lethe run file (format field)");
  RunInfo info;
  try {
    info.model = j.at("model").get<std::string>();
    info.data_dir = j.at("data").get<std::string>();
    info.fingerprint = j.at("fingerprint").get<std::string>();
    info.seed = j.at("seed").get<uint64_t>();
    info.device = j.value("device", "cpu");
    info.run_id = j.value("run_id", "");
    info.keep_eval_repeats = j.value("eval_repeats", "") == "kept";
    if (j.contains("summary")) info.summary = j["summary"];
  } catch (const nlohmann::json::exception& e) {
    LETHE_CHECK(false, path << ": missing or malformed field: " << e.what());
  }
  info.config = Config::from_yaml_file(dir + "/config.yaml");
  return info;
}

LoadedRun load_run(const std::string& dir, const std::string& data_dir, std::optional<Device> dev) {
  LoadedRun r;
  r.info = read_run_info(dir);
  const std::string ddir = data_dir.empty() ? r.info.data_dir : data_dir;
  LETHE_CHECK(fs::is_directory(ddir), dir << "/run.json: data directory '" << ddir
                                          << "' not found (moved? give the data set's directory explicitly)");
  datasets::ReadOptions ro;
  ro.keep_eval_repeats = r.info.keep_eval_repeats;
  r.dataset = datasets::load_mmrec(ddir, ro);
  models::Config full = models::default_config(r.info.model);  // a run written before a key existed lacks it
  full.merge(r.info.config);
  check_memory(r.dataset, full, "loading run " + dir);
  r.train_data = models::make_train_data(r.dataset);
  const std::string fp = data_fingerprint(r.train_data);
  LETHE_CHECK(fp == r.info.fingerprint,
              dir << ": the run was trained on data with fingerprint " << r.info.fingerprint << ", but "
                  << ddir << " has fingerprint " << fp
                  << " (users, items, training interactions or feature shapes differ)");
  r.model = models::create_model(r.info.model, r.info.config, r.train_data, r.info.seed,
                                 dev.value_or(Device::cpu()));
  LoadOptions lo;
  lo.expected_fingerprint = r.info.fingerprint;
  load_checkpoint(dir + "/model.safetensors", *r.model, nullptr, lo);
  return r;
}

}  // namespace lethe::training
