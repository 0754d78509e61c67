// A run directory: everything needed to reproduce, evaluate and deploy one trained model.
//   config.yaml            the merged model / training configuration
//   run.json               model name, data directory, data fingerprint, seed, device, training summary
//   model.safetensors      the best-valid checkpoint (parameters + metadata, see checkpoint.h)
//   embeddings.safetensors final user / item embeddings of that checkpoint (eval-time forward) plus each
//                          user's training items and the dropped-item flags: all that serving needs
//                          (models/inference.h), no data set or model code required
//   train_log.jsonl        one JSON line per epoch (trainer.h)
//   metrics.json/.md       {"split": ..., "metrics": {"Recall@20": ..., ...}} and a readable table
//   last.safetensors       (optional) resumable state: parameters, Adam state, trainer state
// A run directory is written whole or not at all (models/training/pipeline.h, engine/formats/staged_dir.h;
// docs/training.md, "Run directories"); write_run fills a directory that the caller then puts in place.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "datasets/dataset.h"
#include "models/config.h"
#include "models/eval/metrics.h"
#include "models/model.h"

namespace lethe::training {

using models::Batch;
using models::Config;
using models::Forward;
using models::Model;
using models::TrainData;

struct RunInfo {
  std::string model;        // registry name
  std::string data_dir;     // absolute path of the data set directory
  std::string fingerprint;  // data_fingerprint of the training data
  uint64_t seed = 999;
  std::string device = "cpu";
  Config config;                                      // merged configuration (config.yaml)
  nlohmann::json summary = nlohmann::json::object();  // training summary (best epoch, times, ...)
  std::string run_id;              // random identity of this run (lineage checks); written when empty
  bool keep_eval_repeats = false;  // valid/test evaluated with MMRec's repeated rows (datasets::ReadOptions)
};

// A fresh random run id (16 hex digits).
std::string new_run_id();

// Writes config.yaml, run.json, model.safetensors (the model's current parameters) and
// embeddings.safetensors (eval-time forward of the model on `data`).
void write_run(const std::string& dir, const RunInfo& info, Model& model, const TrainData& data,
               int64_t epoch);
void write_embeddings(const std::string& path, Model& model, const TrainData& data);
// metrics.json and metrics.md for one split; `extra` keys are added to the JSON object.
void write_metrics(const std::string& dir, const std::string& split, const eval::Metrics& m,
                   const std::vector<int>& topks, const nlohmann::json& extra = nlohmann::json::object());

// Reads run.json and config.yaml. Runs written before a field existed read with its default (run_id empty,
// keep_eval_repeats false).
RunInfo read_run_info(const std::string& dir);

struct LoadedRun {
  RunInfo info;
  datasets::Dataset dataset;
  TrainData train_data;
  std::unique_ptr<Model> model;  // rebuilt with create_model and loaded from model.safetensors
};
// Loads a run: data from `data_dir` (default: the path recorded in run.json; read as the run was, see
// RunInfo::keep_eval_repeats), the model on `dev` (default: cpu), parameters from model.safetensors. Fails
// if the data's fingerprint differs from the run's, or the memory the model needs is not available.
LoadedRun load_run(const std::string& dir, const std::string& data_dir = "",
                   std::optional<Device> dev = std::nullopt);

}  // namespace lethe::training
