// Unlearning requests (unlearning.md 2): files, generation, validation and resolution into forget/retain
// sets and modified features.
//
// File format: TSV with one header line, then one row per entry. The header decides the kind:
//   userID            -> user request (forget every train row of these users)
//   itemID            -> item request (forget every train row with these items)
//   userID  itemID    -> interaction request (forget these train pairs)
//   itemID  modality  -> modality request (erase these items' rows of the named modality)
// Lines starting with '#' are comments. The comment line `# drop` (anywhere) marks an item request whose
// items also leave the catalogue (never recommended again, feature rows and item-item edges removed); it is
// an error on other kinds. A flag for the whole request rather than a column because drop is a property
// of the request, not of single rows.
// Sequential requests: a list file with one request path per line ('#' comments, blank lines skipped),
// relative paths taken from the list file's directory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace lethe::unlearning {

using datasets::Dataset;
using datasets::FeatureTable;
using datasets::Interactions;
using datasets::UserItems;

enum class RequestKind { User, Item, Interaction, Modality };
const char* request_kind_name(RequestKind k);
RequestKind parse_request_kind(const std::string& s);  // "user", "item", "interaction", "modality"

struct Request {
  RequestKind kind = RequestKind::User;
  std::vector<int32_t> users;           // User, Interaction
  std::vector<int32_t> items;           // Item, Interaction, Modality
  std::vector<std::string> modalities;  // Modality: one name per row
  std::vector<int64_t> lines;           // 1-based source line of each row (0 when generated)
  bool drop = false;                    // Item: the items leave the catalogue too
  std::string file;                     // source path ("" when generated)
  size_t size() const { return kind == RequestKind::User ? users.size() : items.size(); }
};

// Reads and checks the syntax (header, field counts, integer ids, modality names); errors name file:line.
Request read_request(const std::string& path);
// Writes with a comment line describing the request; temporary name + rename.
void write_request(const Request& req, const std::string& path, const std::string& comment = "");
// Paths of a sequential request list, each checked to exist (error names list file:line).
std::vector<std::string> read_request_list(const std::string& path);

enum class Select { Random, Core, Edge };
Select parse_select(const std::string& s);  // "random", "core", "edge"

struct RequestSpec {
  RequestKind kind = RequestKind::User;
  double fraction = 0.05;  // of the population: users / items with train rows, train rows, or all items
  Select select = Select::Random;
  uint64_t seed = 0;
  std::string modality;  // Modality requests
  bool drop = false;     // Item requests
};

// Picks max(1, round(fraction * population)) entries. random: uniform; core: most active users / most
// popular items (train degree) first; edge: least first (ties in random order). Interaction requests
// order rows by their user's activity for core/edge. Item and interaction requests skip entries that
// would leave some user with no train row (so the result always resolves); modality requests choose among
// all items by popularity.
Request generate_request(const Dataset& ds, const RequestSpec& spec);

struct Resolution {
  Interactions forget;                                 // ⊂ train, in train order
  Interactions retain;                                 // train \ forget, in train order
  std::map<std::string, std::vector<int32_t>> erased;  // modality -> sorted item ids (Modality)
  std::vector<int32_t> dropped_items;                  // sorted (Item with drop)
  std::vector<int32_t> affected_users;   // sorted: users with a forgotten train row, or (modality)
                                         // with a train row on an erased item
  std::vector<int32_t> forgotten_users;  // sorted: users of a User request
};

struct ResolveOptions {
  // Item / interaction requests that leave a user (not itself forgotten) with no train row are refused
  // unless this is set: such a user cannot be trained with BPR.
  bool allow_empty_users = false;
};

// Validates against the data set (unknown ids, a user / item without train rows, a pair not in train, an
// unknown modality, an empty request, a user left without train rows) with one-line errors naming
// file:line, and resolves the request.
Resolution resolve(const Dataset& ds, const Request& req, const ResolveOptions& opt = {});

// Feature tables after the request: erased rows of a modality are treated as missing and replaced by the
// mean of that modality's remaining rows (neither erased nor dropped) — MMRec's preprocessing fills items
// with no image the same way; rows of dropped items are zeroed (they must not leak into any graph; use
// catalogue_mask for the kNN builders and for ranking).
std::map<std::string, FeatureTable> apply_to_features(const Dataset& ds, const Resolution& res);
// 1 for items still in the catalogue, 0 for dropped items.
std::vector<uint8_t> catalogue_mask(const Dataset& ds, const Resolution& res);
// The data set after the request: train = retain, features from apply_to_features; valid/test rows of users
// left with no train row (cold start, as a fresh MMRec load would drop them) and of dropped items (no longer
// in the catalogue) are removed, each with a warning. Sequential requests apply one after another; note
// that the catalogue mask is not carried over (a dropped item just has no rows and zero features).
Dataset apply_request(const Dataset& ds, const Resolution& res);

}  // namespace lethe::unlearning
