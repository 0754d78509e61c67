// MMRec .inter / feature loader and writer (see datasets/mmrec_io.h).
#include "datasets/mmrec_io.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <unordered_set>

#include "engine/error.h"
#include "engine/formats/npy.h"

namespace fs = std::filesystem;

namespace lethe::datasets {
namespace {

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = line.find('\t', start);
    out.push_back(line.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

// Parses a non-negative integer id; "12" and "12.0" are accepted (some exports write floats).
int64_t parse_id(std::string_view s, const std::string& where, const char* field) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  bool ok = ec == std::errc() && p != s.data();
  if (ok && p != s.data() + s.size()) {  // allow a ".0" tail
    std::string_view tail(p, s.data() + s.size() - p);
    ok = tail.size() >= 2 && tail[0] == '.' && tail.find_first_not_of('0', 1) == std::string_view::npos;
  }
  LETHE_CHECK(ok, where << ": " << field << " '" << s << "' is not an integer");
  LETHE_CHECK(v >= 0, where << ": " << field << " " << v << " is negative");
  LETHE_CHECK(v < INT32_MAX, where << ": " << field << " " << v << " is too large");
  return v;
}

fs::path find_inter(const fs::path& dir) {
  std::string name = dir.filename().string();
  if (name.empty() || name == ".")
    name = fs::absolute(dir).lexically_normal().parent_path().filename().string();
  fs::path p = dir / (name + ".inter");
  if (fs::is_regular_file(p)) return p;
  std::vector<fs::path> found;
  for (auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".inter") found.push_back(e.path());
  LETHE_CHECK(found.size() == 1, dir.string()
                                     << ": expected " << name << ".inter or exactly one *.inter file, found "
                                     << found.size());
  return found[0];
}

const std::regex& feat_name_re() {
  static const std::regex re(R"(^([a-z0-9]+)_feat\.npy$)");
  return re;
}

// The count of ids in [0, n) without a row, and a warning when most of the range is empty (a table sized by
// the largest id then holds mostly nothing; an id of 2,000,000,000 asks for billions of rows).
void warn_empty_ids(Dataset& ds, const std::string& file, const char* field, const char* what, int64_t n,
                    size_t present) {
  const int64_t empty = n - static_cast<int64_t>(present);
  if (empty >= 1000 && empty > static_cast<int64_t>(present))
    ds.warnings.push_back(file + ": " + field + " runs up to " + std::to_string(n - 1) + " but only " +
                          std::to_string(present) + " " + what + " have rows: " + std::to_string(empty) +
                          " ids are empty (tables are sized by the largest id; re-index the ids to 0..N-1)");
}

// Fails naming file, row and column at the first non-finite value of a feature table.
void check_finite(const Tensor& t, const std::string& file) {
  const float* v = t.data<float>();
  const int64_t rows = t.dim(0), cols = t.ndim() == 2 ? t.dim(1) : 1;
  int64_t bad = 0, first = -1;
  for (int64_t k = 0; k < rows * cols; ++k)
    if (!std::isfinite(v[k])) {
      if (first < 0) first = k;
      ++bad;
    }
  if (bad == 0) return;
  const int64_t r = first / cols, c = first % cols;
  LETHE_CHECK(false, file << ": row " << r << " (itemID " << r << "), column " << c << " is "
                          << (std::isnan(v[first]) ? "NaN" : "infinite") << "; " << bad
                          << " value(s) in total are NaN or infinite (feature values must be finite)");
}

}  // namespace

Dataset parse_inter(std::istream& in, const std::string& file, const ReadOptions& opt) {
  std::string line;
  LETHE_CHECK(std::getline(in, line), file << ":1: empty file (no header)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // UTF-8 BOM
  auto header = split_tabs(line);
  auto col = [&](const char* name) -> int {
    for (size_t c = 0; c < header.size(); ++c)
      if (header[c] == name) return static_cast<int>(c);
    return -1;
  };
  const int cu = col("userID"), ci = col("itemID"), cx = col("x_label");
  for (auto [idx, name] : {std::pair{cu, "userID"}, std::pair{ci, "itemID"}, std::pair{cx, "x_label"}})
    LETHE_CHECK(idx >= 0, file << ":1: missing column '" << name << "' in header '" << line << "'");
  const size_t need = static_cast<size_t>(std::max({cu, ci, cx})) + 1;

  Interactions split[3];
  int64_t max_u = -1, max_i = -1, dups = 0, kept_repeats = 0;
  std::unordered_set<uint64_t> seen;
  std::unordered_set<int32_t> users, items;
  int64_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
    auto f = split_tabs(line);
    const std::string where = file + ":" + std::to_string(lineno);
    LETHE_CHECK(f.size() >= need, where << ": " << f.size() << " fields, header has " << header.size());
    int64_t u = parse_id(f[cu], where, "userID"), i = parse_id(f[ci], where, "itemID");
    std::string_view xs = f[cx];
    while (!xs.empty() && xs.back() == ' ') xs.remove_suffix(1);
    LETHE_CHECK(xs == "0" || xs == "1" || xs == "2",
                where << ": x_label '" << f[cx] << "' is not 0 (train), 1 (valid) or 2 (test)");
    max_u = std::max(max_u, u);
    max_i = std::max(max_i, i);
    users.insert(static_cast<int32_t>(u));
    items.insert(static_cast<int32_t>(i));
    if (!seen.insert((static_cast<uint64_t>(u) << 32) | static_cast<uint64_t>(i)).second) {
      // Train never keeps a repeat (it would be trained twice); valid/test keep theirs in MMRec's mode.
      if (!(opt.keep_eval_repeats && xs[0] != '0')) {
        ++dups;
        continue;
      }
      ++kept_repeats;
    }
    split[xs[0] - '0'].push(static_cast<int32_t>(u), static_cast<int32_t>(i));
  }
  const char* names[3] = {"train (x_label 0)", "valid (x_label 1)", "test (x_label 2)"};
  for (int s = 0; s < 3; ++s)
    LETHE_CHECK(!split[s].empty(), file << ": split " << names[s] << " has no rows");

  const std::string fname = fs::path(file).filename().string();
  Dataset ds;
  ds.name = fs::path(file).stem().string();
  ds.n_users = static_cast<int32_t>(max_u + 1);
  ds.n_items = static_cast<int32_t>(max_i + 1);
  if (dups > 0)
    ds.warnings.push_back(fname + ": " + std::to_string(dups) +
                          " repeated (userID, itemID) rows dropped (first occurrence kept)");
  if (kept_repeats > 0)
    ds.warnings.push_back(fname + ": " + std::to_string(kept_repeats) +
                          " repeated (userID, itemID) rows kept in valid/test (MMRec's evaluation)");
  warn_empty_ids(ds, fname, "userID", "users", ds.n_users, users.size());
  warn_empty_ids(ds, fname, "itemID", "items", ds.n_items, items.size());
  // Cold-start filter (MMRec filter_out_cod_start_users): drop valid/test rows of users without train rows.
  const std::unordered_set<int32_t> has_train(split[0].users.begin(), split[0].users.end());
  int64_t dropped = 0;
  std::unordered_set<int32_t> cold_users;
  for (int s = 1; s < 3; ++s) {
    Interactions kept;
    for (size_t r = 0; r < split[s].size(); ++r) {
      if (has_train.count(split[s].users[r])) {
        kept.push(split[s].users[r], split[s].items[r]);
      } else {
        ++dropped;
        cold_users.insert(split[s].users[r]);
      }
    }
    split[s] = std::move(kept);
  }
  if (dropped > 0)
    ds.warnings.push_back(fname + ": " + std::to_string(dropped) + " valid/test rows of " +
                          std::to_string(cold_users.size()) +
                          " users with no train row dropped (cold start)");
  ds.train = std::move(split[0]);
  ds.valid = std::move(split[1]);
  ds.test = std::move(split[2]);
  return ds;
}

Dataset load_mmrec(const std::string& dir_str, const ReadOptions& opt) {
  fs::path dir(dir_str);
  if (dir.filename().empty()) dir = dir.parent_path();  // trailing slash
  LETHE_CHECK(fs::is_directory(dir), dir_str << ": not a directory");
  const fs::path inter = find_inter(dir);
  std::ifstream in(inter, std::ios::binary);
  LETHE_CHECK(in, inter.string() << ": cannot open");
  Dataset ds = parse_inter(in, inter.string(), opt);

  std::vector<fs::path> feats;
  for (auto& e : fs::directory_iterator(dir)) {
    std::string fname = e.path().filename().string();
    if (!std::regex_match(fname, feat_name_re())) continue;
    LETHE_CHECK(e.is_regular_file(), e.path().string()
                                         << ": is not a regular file (a feature file must be a .npy "
                                            "file; rename or remove it)");
    feats.push_back(e.path());
  }
  std::sort(feats.begin(), feats.end());
  for (auto& p : feats) {
    std::smatch m;
    std::string fname = p.filename().string();
    std::regex_match(fname, m, feat_name_re());
    formats::NpyArray a = formats::read_npy(p.string());
    LETHE_CHECK(a.values.ndim() == 2, p.string() << ": feature file must be 2-D [n_items, width], got shape "
                                                 << shape_str(a.values.shape()));
    LETHE_CHECK(a.values.dim(0) == ds.n_items, p.string()
                                                   << ": " << a.values.dim(0) << " rows but the data set has "
                                                   << ds.n_items << " items (max itemID + 1)");
    LETHE_CHECK(a.values.dim(1) > 0,
                p.string() << ": feature file has 0 columns (shape " << shape_str(a.values.shape()) << ")");
    check_finite(a.values, p.string());
    ds.features[m[1].str()] = FeatureTable{a.values, a.dtype, p.string()};
  }
  return ds;
}

void write_mmrec(const Dataset& ds, const std::string& dir_str) {
  fs::path dir(dir_str);
  if (dir.filename().empty()) dir = dir.parent_path();
  const std::string base = dir.filename().string();
  LETHE_CHECK(!base.empty() && base != "." && base != "..", dir_str << ": need a directory name");
  for (auto& [m, t] : ds.features) {
    LETHE_CHECK(std::regex_match(m + "_feat.npy", feat_name_re()),
                "write_mmrec: modality name '" << m << "' must match [a-z0-9]+");
    LETHE_CHECK(t.values.ndim() == 2 && t.values.dim(0) == ds.n_items,
                "write_mmrec: modality '" << m << "' has shape " << shape_str(t.values.shape())
                                          << ", expected [" << ds.n_items << ", width]");
  }
  const bool exists = fs::exists(dir);
  fs::path target = dir;
  if (exists) {
    LETHE_CHECK(fs::is_directory(dir), dir_str << ": exists and is not a directory");
    for (auto& e : fs::directory_iterator(dir)) {
      const std::string fname = e.path().filename().string();
      LETHE_CHECK(!(e.path().extension() == ".inter" && fname != base + ".inter"),
                  dir_str << ": holds another data set (" << fname << "); refusing to mix");
      std::smatch m;
      LETHE_CHECK(!std::regex_match(fname, m, feat_name_re()) || ds.features.count(m[1].str()),
                  dir_str << ": holds " << fname << " but the data set has no '" << m[1].str()
                          << "' modality; refusing to mix");
    }
  } else {
    target = dir.parent_path() / ("." + base + ".tmp-" + std::to_string(::getpid()));
    fs::remove_all(target);
    fs::create_directories(target);
  }
  // .inter: write to a temporary name, rename.
  {
    const fs::path final_path = target / (base + ".inter");
    const fs::path tmp = target / ("." + base + ".inter.tmp");
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    LETHE_CHECK(out, tmp.string() << ": cannot open for writing");
    std::string buf = "userID\titemID\trating\ttimestamp\tx_label\n";
    const Interactions* sp[3] = {&ds.train, &ds.valid, &ds.test};
    for (int s = 0; s < 3; ++s) {
      for (size_t r = 0; r < sp[s]->size(); ++r) {
        buf += std::to_string(sp[s]->users[r]);
        buf += '\t';
        buf += std::to_string(sp[s]->items[r]);
        buf += "\t1.0\t0\t";
        buf += static_cast<char>('0' + s);
        buf += '\n';
        if (buf.size() > (1 << 20)) {
          out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
          buf.clear();
        }
      }
    }
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    out.close();
    LETHE_CHECK(out.good(), tmp.string() << ": write error");
    fs::rename(tmp, final_path);
  }
  for (auto& [m, t] : ds.features) {
    Tensor v = t.values.is_cpu() ? t.values : t.values.to(Device::cpu());
    if (v.dtype() != DType::F32) v = v.astype(DType::F32);
    formats::write_npy((target / (m + "_feat.npy")).string(), v);  // temporary name + rename inside
  }
  if (!exists) {
    std::error_code ec;
    fs::rename(target, dir, ec);
    if (ec) fs::remove_all(target);
    LETHE_CHECK(!ec, dir_str << ": cannot rename " << target.string() << ": " << ec.message());
  }
}

nlohmann::json summary_json(const Dataset& ds) {
  nlohmann::json j;
  j["name"] = ds.name;
  j["n_users"] = ds.n_users;
  j["n_items"] = ds.n_items;
  j["interactions"] = {{"train", ds.train.size()},
                       {"valid", ds.valid.size()},
                       {"test", ds.test.size()},
                       {"total", ds.train.size() + ds.valid.size() + ds.test.size()}};
  // Sets, not id-indexed flags: ids may be sparse (up to 2^31) and the summary must not allocate by id.
  j["users_with_train"] = std::unordered_set<int32_t>(ds.train.users.begin(), ds.train.users.end()).size();
  j["items_in_train"] = std::unordered_set<int32_t>(ds.train.items.begin(), ds.train.items.end()).size();
  const double cells = static_cast<double>(ds.n_users) * static_cast<double>(ds.n_items);
  j["density"] =
      cells > 0 ? static_cast<double>(ds.train.size() + ds.valid.size() + ds.test.size()) / cells : 0.0;
  nlohmann::json mods = nlohmann::json::object();
  for (auto& [m, t] : ds.features)
    mods[m] = {
        {"rows", t.values.rows()}, {"width", t.values.cols()}, {"dtype", t.source_dtype}, {"file", t.file}};
  j["modalities"] = mods;
  j["warnings"] = ds.warnings;
  return j;
}

std::string summary_text(const Dataset& ds) {
  nlohmann::json j = summary_json(ds);
  std::ostringstream o;
  o << "data set   " << ds.name << "\n"
    << "users      " << ds.n_users << " (" << j["users_with_train"].get<int64_t>() << " with train rows)\n"
    << "items      " << ds.n_items << " (" << j["items_in_train"].get<int64_t>() << " in train)\n"
    << "rows       train " << ds.train.size() << ", valid " << ds.valid.size() << ", test " << ds.test.size()
    << ", total " << j["interactions"]["total"].get<int64_t>() << "\n";
  char dens[32];
  std::snprintf(dens, sizeof dens, "%.6f", j["density"].get<double>());
  o << "density    " << dens << "\n";
  if (ds.features.empty()) o << "modalities none\n";
  for (auto& [m, t] : ds.features)
    o << "modality   " << m << ": width " << t.values.cols() << ", dtype on disk " << t.source_dtype
      << (t.file.empty() ? std::string() : ", file " + fs::path(t.file).filename().string()) << "\n";
  for (auto& w : ds.warnings) o << "warning    " << w << "\n";
  return o.str();
}

}  // namespace lethe::datasets
