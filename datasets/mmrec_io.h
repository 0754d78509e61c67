// MMRec data set directories: read and write `<name>.inter` plus `<modality>_feat.npy` files, and summarise
// a loaded data set as text or JSON (docs/datasets.md, "MMRec directories").
//
// Directory layout read by load_mmrec(dir):
//   * `<name>.inter`, name = the directory's name; if absent, the directory's only `*.inter` file.
//     Tab-separated with a header; columns found by name: userID, itemID, x_label (required), rating and
//     timestamp (optional, ignored as in MMRec). x_label 0 = train, 1 = valid, 2 = test.
//   * Feature files: every file named `<modality>_feat.npy` where <modality> matches [a-z0-9]+ (the whole
//     name must match ^[a-z0-9]+_feat\.npy$). image_feat.npy -> "image", text_feat.npy -> "text",
//     audio_feat.npy -> "audio". Other files (e.g. image_feat_fp16_original.npy) are ignored.
// Loading: n_users / n_items = max id + 1 over all rows; repeated (user, item) pairs keep the first row
// (warning with the count); valid/test rows of users with no train row are dropped (MMRec's
// filter_out_cod_start_users, warning with the count); feature row count must equal n_items.
// Checked at load: every value of a feature file is finite (else an error naming file, row and column), a
// feature file is a regular file with at least one column, and ids far beyond the rows present (most of
// the id range empty: the tables are sized by the largest id) get a warning with the count of empty ids.
#pragma once

#include <iosfwd>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "datasets/dataset.h"

namespace lethe::datasets {

struct ReadOptions {
  // MMRec keeps repeated (user, item) rows in valid and test, so a user's Recall@K divides by their row
  // count with the repeats; Lethe keeps the first row of each pair. true: keep the valid/test repeats as
  // MMRec does (for comparing with published MMRec tables; docs/datasets.md). Train is the same either way.
  bool keep_eval_repeats = false;
};

Dataset load_mmrec(const std::string& dir, const ReadOptions& opt = {});
// The .inter part of load_mmrec over a stream (`file` names it in messages): splits, n_users, n_items and
// the warnings; no feature files.
Dataset parse_inter(std::istream& in, const std::string& file, const ReadOptions& opt = {});

// Writes `<basename(dir)>.inter` (header `userID itemID rating timestamp x_label`; rating 1.0 and
// timestamp 0 are placeholders, the engine keeps neither; rows train, then valid, then test, each in stored
// order, so a write -> load round trip is exact) and `<modality>_feat.npy` (float32). A new directory is
// built under a temporary name and renamed; into an existing directory each file is written under a
// temporary name and renamed. Refuses to write into a directory holding another data set's .inter file or
// a feature file of a modality the data set lacks (it would be loaded back as part of the data set).
void write_mmrec(const Dataset& ds, const std::string& dir);

// Human-readable summary: counts per split, users/items, modalities (width, dtype on disk), warnings.
std::string summary_text(const Dataset& ds);
nlohmann::json summary_json(const Dataset& ds);

}  // namespace lethe::datasets
