// Unlearning requests: file I/O, generation, validation, resolution (see requests.h).
#include "models/unlearning/requests.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_map>

#include "engine/error.h"
#include "engine/rng.h"

namespace fs = std::filesystem;

namespace lethe::unlearning {
namespace {

std::string trim(const std::string& s) {
  auto a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, '\t')) out.push_back(trim(f));
  if (!line.empty() && line.back() == '\t') out.emplace_back();
  return out;
}

int32_t parse_id(const std::string& s, const std::string& where, const char* field) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  LETHE_CHECK(ec == std::errc() && p == s.data() + s.size() && !s.empty(),
              where << ": " << field << " '" << s << "' is not an integer");
  LETHE_CHECK(v >= 0 && v < INT32_MAX, where << ": " << field << " " << v << " is out of range");
  return static_cast<int32_t>(v);
}

std::string source(const Request& r) {
  return r.file.empty() ? std::string("<generated ") + request_kind_name(r.kind) + " request>" : r.file;
}
std::string where(const Request& r, size_t row) {
  std::string s = source(r);
  if (row < r.lines.size() && r.lines[row] > 0) {
    s += ':';
    s += std::to_string(r.lines[row]);
  }
  return s;
}

uint64_t pair_key(int32_t u, int32_t i) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(u)) << 32) | static_cast<uint32_t>(i);
}

std::vector<int64_t> degrees(const std::vector<int32_t>& ids, int32_t n) {
  std::vector<int64_t> d(n, 0);
  for (int32_t x : ids) ++d[x];
  return d;
}

// Candidates ordered for selection: random permutation, then (core/edge) a stable sort by score.
std::vector<int32_t> order_candidates(std::vector<int32_t> cand, const std::vector<int64_t>& score,
                                      Select sel, Rng& rng) {
  rng.shuffle(cand);
  if (sel == Select::Core)
    std::stable_sort(cand.begin(), cand.end(), [&](int32_t a, int32_t b) { return score[a] > score[b]; });
  if (sel == Select::Edge)
    std::stable_sort(cand.begin(), cand.end(), [&](int32_t a, int32_t b) { return score[a] < score[b]; });
  return cand;
}

int64_t pick_count(double fraction, size_t population) {
  return std::max<int64_t>(1, std::llround(fraction * static_cast<double>(population)));
}

}  // namespace

const char* request_kind_name(RequestKind k) {
  switch (k) {
    case RequestKind::User:
      return "user";
    case RequestKind::Item:
      return "item";
    case RequestKind::Interaction:
      return "interaction";
    case RequestKind::Modality:
      return "modality";
  }
  return "?";
}

RequestKind parse_request_kind(const std::string& s) {
  if (s == "user") return RequestKind::User;
  if (s == "item") return RequestKind::Item;
  if (s == "interaction") return RequestKind::Interaction;
  if (s == "modality") return RequestKind::Modality;
  LETHE_CHECK(false, "unknown request kind '" << s << "' (user, item, interaction, modality)");
}

Select parse_select(const std::string& s) {
  if (s == "random") return Select::Random;
  if (s == "core") return Select::Core;
  if (s == "edge") return Select::Edge;
  LETHE_CHECK(false, "unknown selection '" << s << "' (random, core, edge)");
}

Request read_request(const std::string& path) {
  std::ifstream in(path);
  LETHE_CHECK(in, path << ": cannot open request file");
  Request req;
  req.file = path;
  std::string line;
  int64_t lineno = 0;
  bool have_header = false, drop = false;
  int64_t drop_line = 0;
  static const std::regex mod_re("^[a-z0-9]+$");
  while (std::getline(in, line)) {
    ++lineno;
    const std::string t = trim(line);
    if (t.empty()) continue;
    if (t[0] == '#') {
      if (trim(t.substr(1)) == "drop") {
        drop = true;
        drop_line = lineno;
      }
      continue;
    }
    const std::string w = path + ":" + std::to_string(lineno);
    auto f = split_tabs(t);
    if (!have_header) {
      if (f == std::vector<std::string>{"userID"})
        req.kind = RequestKind::User;
      else if (f == std::vector<std::string>{"itemID"})
        req.kind = RequestKind::Item;
      else if (f == std::vector<std::string>{"userID", "itemID"})
        req.kind = RequestKind::Interaction;
      else if (f == std::vector<std::string>{"itemID", "modality"})
        req.kind = RequestKind::Modality;
      else
        LETHE_CHECK(false,
                    w << ": missing request header (expected 'userID', 'itemID', 'userID<TAB>itemID' or "
                         "'itemID<TAB>modality', got '"
                      << t << "')");
      have_header = true;
      continue;
    }
    const size_t want = (req.kind == RequestKind::User || req.kind == RequestKind::Item) ? 1 : 2;
    LETHE_CHECK(f.size() == want, w << ": " << f.size() << " fields, a " << request_kind_name(req.kind)
                                    << " request row has " << want);
    switch (req.kind) {
      case RequestKind::User:
        req.users.push_back(parse_id(f[0], w, "userID"));
        break;
      case RequestKind::Item:
        req.items.push_back(parse_id(f[0], w, "itemID"));
        break;
      case RequestKind::Interaction:
        req.users.push_back(parse_id(f[0], w, "userID"));
        req.items.push_back(parse_id(f[1], w, "itemID"));
        break;
      case RequestKind::Modality:
        req.items.push_back(parse_id(f[0], w, "itemID"));
        LETHE_CHECK(std::regex_match(f[1], mod_re),
                    w << ": modality '" << f[1] << "' is not a name [a-z0-9]+");
        req.modalities.push_back(f[1]);
        break;
    }
    req.lines.push_back(lineno);
  }
  LETHE_CHECK(have_header, path << ": missing request header (file has no non-comment line)");
  LETHE_CHECK(req.size() > 0, path << ": empty request (header but no rows)");
  LETHE_CHECK(!drop || req.kind == RequestKind::Item,
              path << ":" << drop_line << ": '# drop' applies only to item requests, this is a "
                   << request_kind_name(req.kind) << " request");
  req.drop = drop;
  return req;
}

void write_request(const Request& req, const std::string& path, const std::string& comment) {
  std::ostringstream o;
  if (!comment.empty()) o << "# " << comment << "\n";
  if (req.drop) o << "# drop\n";
  switch (req.kind) {
    case RequestKind::User:
      o << "userID\n";
      break;
    case RequestKind::Item:
      o << "itemID\n";
      break;
    case RequestKind::Interaction:
      o << "userID\titemID\n";
      break;
    case RequestKind::Modality:
      o << "itemID\tmodality\n";
      break;
  }
  for (size_t r = 0; r < req.size(); ++r) {
    switch (req.kind) {
      case RequestKind::User:
        o << req.users[r] << "\n";
        break;
      case RequestKind::Item:
        o << req.items[r] << "\n";
        break;
      case RequestKind::Interaction:
        o << req.users[r] << "\t" << req.items[r] << "\n";
        break;
      case RequestKind::Modality:
        o << req.items[r] << "\t" << req.modalities[r] << "\n";
        break;
    }
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    LETHE_CHECK(out, path << ": cannot open " << tmp << " for writing");
    out << o.str();
    out.close();
    LETHE_CHECK(out.good(), path << ": write error");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  LETHE_CHECK(!ec, path << ": cannot rename " << tmp << ": " << ec.message());
}

std::vector<std::string> read_request_list(const std::string& path) {
  std::ifstream in(path);
  LETHE_CHECK(in, path << ": cannot open request list");
  const fs::path base = fs::path(path).parent_path();
  std::vector<std::string> out;
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    fs::path p(t);
    if (p.is_relative()) p = base / p;
    LETHE_CHECK(fs::is_regular_file(p),
                path << ":" << lineno << ": request file " << p.string() << " not found");
    out.push_back(p.string());
  }
  LETHE_CHECK(!out.empty(), path << ": empty request list");
  return out;
}

Request generate_request(const Dataset& ds, const RequestSpec& spec) {
  LETHE_CHECK(spec.fraction > 0.0 && spec.fraction <= 1.0,
              "generate_request: fraction " << spec.fraction << " not in (0, 1]");
  LETHE_CHECK(!spec.drop || spec.kind == RequestKind::Item,
              "generate_request: drop applies to item requests only");
  Rng rng(spec.seed, 0x7e9u);
  Request req;
  req.kind = spec.kind;
  req.drop = spec.drop;
  const auto du = degrees(ds.train.users, ds.n_users);
  const auto di = degrees(ds.train.items, ds.n_items);
  switch (spec.kind) {
    case RequestKind::User: {
      std::vector<int32_t> cand;
      for (int32_t u = 0; u < ds.n_users; ++u)
        if (du[u] > 0) cand.push_back(u);
      LETHE_CHECK(!cand.empty(), "generate_request: no user has train rows");
      auto ord = order_candidates(cand, du, spec.select, rng);
      ord.resize(std::min<size_t>(ord.size(), pick_count(spec.fraction, cand.size())));
      req.users = ord;
      std::sort(req.users.begin(), req.users.end());
      break;
    }
    case RequestKind::Item:
    case RequestKind::Modality: {
      const bool item = spec.kind == RequestKind::Item;
      if (!item) {
        std::string known;
        for (auto& [m, t] : ds.features) known += (known.empty() ? "" : ", ") + m;
        LETHE_CHECK(ds.features.count(spec.modality), "generate_request: modality '"
                                                          << spec.modality << "' not in the data set (has: "
                                                          << (known.empty() ? "none" : known) << ")");
      }
      std::vector<int32_t> cand;
      for (int32_t i = 0; i < ds.n_items; ++i)
        if (!item || di[i] > 0) cand.push_back(i);
      LETHE_CHECK(!cand.empty(), "generate_request: no candidate items");
      auto ord = order_candidates(cand, di, spec.select, rng);
      const int64_t want = pick_count(spec.fraction, cand.size());
      if (item) {
        // Skip items whose removal would leave one of their users with no train row.
        UserItems by_item = UserItems::build(Interactions{ds.train.items, ds.train.users}, ds.n_items);
        std::vector<int64_t> left = du;
        for (int32_t i : ord) {
          if (static_cast<int64_t>(req.items.size()) == want) break;
          std::vector<int32_t> us(by_item.items.begin() + by_item.indptr[i],
                                  by_item.items.begin() + by_item.indptr[i + 1]);
          std::sort(us.begin(), us.end());
          bool ok = true;
          for (size_t a = 0; a < us.size() && ok;) {  // runs of equal users = this item's rows per user
            size_t b = a;
            while (b < us.size() && us[b] == us[a]) ++b;
            ok = left[us[a]] - static_cast<int64_t>(b - a) > 0;
            a = b;
          }
          if (!ok) continue;
          for (int32_t p = by_item.indptr[i]; p < by_item.indptr[i + 1]; ++p) --left[by_item.items[p]];
          req.items.push_back(i);
        }
        LETHE_CHECK(static_cast<int64_t>(req.items.size()) == want,
                    "generate_request: only "
                        << req.items.size() << " of " << want
                        << " items can be forgotten without leaving a user with no train row");
      } else {
        ord.resize(std::min<size_t>(ord.size(), want));
        req.items = ord;
      }
      std::sort(req.items.begin(), req.items.end());
      if (!item) req.modalities.assign(req.items.size(), spec.modality);
      break;
    }
    case RequestKind::Interaction: {
      const size_t E = ds.train.size();
      LETHE_CHECK(E > 0, "generate_request: no train rows");
      std::vector<int32_t> rows(E);
      std::iota(rows.begin(), rows.end(), 0);
      std::vector<int64_t> score(E);
      for (size_t r = 0; r < E; ++r) score[r] = du[ds.train.users[r]];
      auto ord = order_candidates(rows, score, spec.select, rng);
      const int64_t want = pick_count(spec.fraction, E);
      std::vector<int64_t> left = du;
      std::vector<int32_t> picked;
      for (int32_t r : ord) {
        if (static_cast<int64_t>(picked.size()) == want) break;
        const int32_t u = ds.train.users[r];
        if (left[u] <= 1) continue;  // keep at least one train row per user
        --left[u];
        picked.push_back(r);
      }
      LETHE_CHECK(static_cast<int64_t>(picked.size()) == want,
                  "generate_request: only " << picked.size() << " of " << want
                                            << " interactions can be forgotten without emptying a user");
      std::sort(picked.begin(), picked.end());
      for (int32_t r : picked) {
        req.users.push_back(ds.train.users[r]);
        req.items.push_back(ds.train.items[r]);
      }
      break;
    }
  }
  req.lines.assign(req.size(), 0);
  return req;
}

Resolution resolve(const Dataset& ds, const Request& req, const ResolveOptions& opt) {
  LETHE_CHECK(req.size() > 0, source(req) << ": empty request");
  const auto du = degrees(ds.train.users, ds.n_users);
  const auto di = degrees(ds.train.items, ds.n_items);
  Resolution res;
  const size_t E = ds.train.size();
  std::vector<int64_t> forget_by(E, -1);  // request row that forgets each train row
  auto check_user = [&](size_t r) {
    const int32_t u = req.users[r];
    LETHE_CHECK(u < ds.n_users,
                where(req, r) << ": unknown userID " << u << " (data set has " << ds.n_users << " users)");
  };
  auto check_item = [&](size_t r) {
    const int32_t i = req.items[r];
    LETHE_CHECK(i < ds.n_items,
                where(req, r) << ": unknown itemID " << i << " (data set has " << ds.n_items << " items)");
  };
  switch (req.kind) {
    case RequestKind::User: {
      std::unordered_map<int32_t, int64_t> row_of;
      for (size_t r = 0; r < req.users.size(); ++r) {
        check_user(r);
        LETHE_CHECK(du[req.users[r]] > 0,
                    where(req, r) << ": user " << req.users[r] << " has no training interactions");
        row_of.emplace(req.users[r], static_cast<int64_t>(r));
      }
      for (size_t e = 0; e < E; ++e) {
        auto it = row_of.find(ds.train.users[e]);
        if (it != row_of.end()) forget_by[e] = it->second;
      }
      for (auto& [u, r] : row_of) res.forgotten_users.push_back(u);
      std::sort(res.forgotten_users.begin(), res.forgotten_users.end());
      break;
    }
    case RequestKind::Item: {
      std::unordered_map<int32_t, int64_t> row_of;
      for (size_t r = 0; r < req.items.size(); ++r) {
        check_item(r);
        LETHE_CHECK(req.drop || di[req.items[r]] > 0, where(req, r)
                                                          << ": item " << req.items[r]
                                                          << " has no training interactions (use '# drop' to "
                                                          << "remove it from the catalogue)");
        row_of.emplace(req.items[r], static_cast<int64_t>(r));
      }
      for (size_t e = 0; e < E; ++e) {
        auto it = row_of.find(ds.train.items[e]);
        if (it != row_of.end()) forget_by[e] = it->second;
      }
      if (req.drop) {
        for (auto& [i, r] : row_of) res.dropped_items.push_back(i);
        std::sort(res.dropped_items.begin(), res.dropped_items.end());
      }
      break;
    }
    case RequestKind::Interaction: {
      std::unordered_map<uint64_t, int64_t> row_of;
      for (size_t r = 0; r < req.users.size(); ++r) {
        check_user(r);
        check_item(r);
        row_of.emplace(pair_key(req.users[r], req.items[r]), static_cast<int64_t>(r));
      }
      std::set<uint64_t> found;
      for (size_t e = 0; e < E; ++e) {
        auto it = row_of.find(pair_key(ds.train.users[e], ds.train.items[e]));
        if (it != row_of.end()) {
          forget_by[e] = it->second;
          found.insert(it->first);
        }
      }
      for (size_t r = 0; r < req.users.size(); ++r)
        LETHE_CHECK(found.count(pair_key(req.users[r], req.items[r])),
                    where(req, r) << ": (" << req.users[r] << ", " << req.items[r]
                                  << ") is not a training interaction");
      break;
    }
    case RequestKind::Modality: {
      std::string known;
      for (auto& [m, t] : ds.features) known += (known.empty() ? "" : ", ") + m;
      std::vector<uint8_t> touched(ds.n_items, 0);
      for (size_t r = 0; r < req.items.size(); ++r) {
        check_item(r);
        LETHE_CHECK(ds.features.count(req.modalities[r]),
                    where(req, r) << ": modality '" << req.modalities[r] << "' not in the data set (has: "
                                  << (known.empty() ? "none" : known) << ")");
        res.erased[req.modalities[r]].push_back(req.items[r]);
        touched[req.items[r]] = 1;
      }
      for (auto& [m, v] : res.erased) {
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
      }
      std::set<int32_t> aff;
      for (size_t e = 0; e < E; ++e)
        if (touched[ds.train.items[e]]) aff.insert(ds.train.users[e]);
      res.affected_users.assign(aff.begin(), aff.end());
      break;
    }
  }
  std::set<int32_t> aff(res.affected_users.begin(), res.affected_users.end());
  std::vector<int64_t> left = du, last_row(ds.n_users, -1);
  for (size_t e = 0; e < E; ++e) {
    const int32_t u = ds.train.users[e];
    if (forget_by[e] >= 0) {
      res.forget.push(u, ds.train.items[e]);
      aff.insert(u);
      --left[u];
      last_row[u] = std::max(last_row[u], forget_by[e]);
    } else {
      res.retain.push(u, ds.train.items[e]);
    }
  }
  res.affected_users.assign(aff.begin(), aff.end());
  if (req.kind == RequestKind::Item || req.kind == RequestKind::Interaction) {
    if (!opt.allow_empty_users)
      for (int32_t u : res.affected_users)
        LETHE_CHECK(left[u] > 0, where(req, static_cast<size_t>(last_row[u]))
                                     << ": request removes every training interaction of user " << u
                                     << " (BPR training needs at least one)");
    LETHE_CHECK(!res.forget.empty() || !res.dropped_items.empty(), source(req)
                                                                       << ": request forgets nothing");
  }
  LETHE_CHECK(!res.retain.empty(), source(req) << ": request would forget the whole training set");
  return res;
}

std::vector<uint8_t> catalogue_mask(const Dataset& ds, const Resolution& res) {
  std::vector<uint8_t> m(ds.n_items, 1);
  for (int32_t i : res.dropped_items) m[i] = 0;
  return m;
}

std::map<std::string, FeatureTable> apply_to_features(const Dataset& ds, const Resolution& res) {
  std::map<std::string, FeatureTable> out;
  const auto active = catalogue_mask(ds, res);
  for (auto& [m, t] : ds.features) {
    FeatureTable ft{t.values.clone(), t.source_dtype, t.file};
    auto it = res.erased.find(m);
    if (res.dropped_items.empty() && it == res.erased.end()) {
      out[m] = ft;
      continue;
    }
    const int64_t I = ft.values.rows(), W = ft.values.cols();
    float* x = ft.values.data<float>();
    std::vector<uint8_t> missing(I, 0);
    if (it != res.erased.end())
      for (int32_t i : it->second) missing[i] = 1;
    std::vector<double> mean(W, 0.0);
    int64_t n = 0;
    for (int64_t i = 0; i < I; ++i) {
      if (missing[i] || !active[i]) continue;
      ++n;
      for (int64_t w = 0; w < W; ++w) mean[w] += x[i * W + w];
    }
    for (auto& v : mean) v = n > 0 ? v / static_cast<double>(n) : 0.0;
    for (int64_t i = 0; i < I; ++i) {
      if (!active[i])
        std::fill(x + i * W, x + (i + 1) * W, 0.0f);
      else if (missing[i])
        for (int64_t w = 0; w < W; ++w) x[i * W + w] = static_cast<float>(mean[w]);
    }
    out[m] = ft;
  }
  return out;
}

Dataset apply_request(const Dataset& ds, const Resolution& res) {
  Dataset out;
  out.name = ds.name;
  out.n_users = ds.n_users;
  out.n_items = ds.n_items;
  out.train = res.retain;
  out.features = apply_to_features(ds, res);
  out.warnings = ds.warnings;
  // Held-out rows as a fresh load of the retained data would give them: users left without train rows
  // are cold-start users (MMRec drops their valid/test rows), and dropped items are no longer targets.
  std::vector<uint8_t> has_train(ds.n_users, 0);
  for (int32_t u : res.retain.users) has_train[u] = 1;
  const auto active = catalogue_mask(ds, res);
  int64_t cold = 0, gone = 0;
  auto filter = [&](const Interactions& x) {
    Interactions kept;
    for (size_t r = 0; r < x.size(); ++r) {
      if (!has_train[x.users[r]])
        ++cold;
      else if (!active[x.items[r]])
        ++gone;
      else
        kept.push(x.users[r], x.items[r]);
    }
    return kept;
  };
  out.valid = filter(ds.valid);
  out.test = filter(ds.test);
  if (cold > 0)
    out.warnings.push_back("request: " + std::to_string(cold) +
                           " valid/test rows of users with no retained train row dropped (cold start)");
  if (gone > 0)
    out.warnings.push_back("request: " + std::to_string(gone) + " valid/test rows of dropped items removed");
  return out;
}

}  // namespace lethe::unlearning
