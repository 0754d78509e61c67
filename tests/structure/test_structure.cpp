// The tree's structure rules (docs/architecture.md, "Layers"; docs/architecture.md, "Citations"), checked on
// the source files:
//   * no include runs upward between layers: engine <- autograd <- datasets <- models (models/*, models/eval)
//     <- models/training <- models/unlearning <- apps (tests, bench and docs/examples may include anything);
//   * serving (models/inference.*) reaches nothing of training or above, even through other headers;
//   * no file includes another in a cycle;
//   * every citation `docs/<file>.md` names a file of docs/, `docs/<file>.md, "<Section>"` one of its
//     headings; other spellings of a section (#anchor, "section 3", no comma) are refused;
//   * nothing cites documents outside the repository: MMRec's reference-semantics notes, the specification
//     documents of the shared folder (the spellings are in outside_citations).
// The checks are functions of an in-memory tree, so StructureChecker also feeds them planted violations
// (whose citations are split string literals, "docs" "/x.md", so that this file itself passes).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace lethe::structure {
namespace {

namespace fs = std::filesystem;
using Tree = std::map<std::string, std::string>;  // path relative to the repository root -> contents

// ---- reading the tree ----------------------------------------------------------------------------------

bool is_code(const std::string& p) {
  for (const char* e : {".h", ".hpp", ".cpp", ".cu", ".cuh", ".inc"})
    if (p.size() > std::strlen(e) && p.compare(p.size() - std::strlen(e), std::string::npos, e) == 0)
      return true;
  return false;
}

bool is_scanned(const std::string& p) {
  if (is_code(p)) return true;
  const std::string name = fs::path(p).filename().string();
  const std::string ext = fs::path(p).extension().string();
  return name == "CMakeLists.txt" || ext == ".py" || ext == ".sh" || ext == ".cmake" || ext == ".in" ||
         ext == ".yaml" || ext == ".md";
}

Tree read_tree(const fs::path& root) {
  Tree t;
  auto add = [&](const fs::path& f) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    t[fs::relative(f, root).generic_string()] = ss.str();
  };
  for (const char* top :
       {"engine", "autograd", "datasets", "models", "apps", "tests", "bench", "docs", "scripts", "cmake"}) {
    if (!fs::exists(root / top)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root / top))
      if (e.is_regular_file() && is_scanned(e.path().generic_string())) add(e.path());
  }
  for (const char* f : {"CMakeLists.txt", "README.md"})
    if (fs::exists(root / f)) add(root / f);
  // The benchmark log quotes history (earlier runs and their notes); it is a record, not documentation.
  t.erase("bench/RESULTS.md");
  return t;
}

// ---- includes ------------------------------------------------------------------------------------------

// Layer of a file: 0 engine, 1 autograd, 2 datasets, 3 models (models/*, models/eval), 4 models/training,
// 5 models/unlearning, 6 apps; -1 outside the layers (tests, bench, docs/examples, scripts).
int layer_of(const std::string& p) {
  auto under = [&](const char* dir) { return p.rfind(dir, 0) == 0; };
  if (under("engine/")) return 0;
  if (under("autograd/")) return 1;
  if (under("datasets/")) return 2;
  if (under("models/training/")) return 4;
  if (under("models/unlearning/")) return 5;
  if (under("models/")) return 3;
  if (under("apps/")) return 6;
  return -1;
}

const char* layer_name(int l) {
  static const char* names[] = {"engine",          "autograd",          "datasets", "models",
                                "models/training", "models/unlearning", "apps"};
  return l >= 0 && l < 7 ? names[l] : "outside the layers";
}

// The project files a file includes with #include "...": paths from the repository root, or relative to
// the including file. Includes of files not in the tree (system, third party) are left out.
std::vector<std::string> project_includes(const Tree& t, const std::string& path) {
  static const std::regex inc(R"re(^[ \t]*#[ \t]*include[ \t]*"([^"]+)")re");
  std::vector<std::string> out;
  std::istringstream in(t.at(path));
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, inc)) continue;
    const std::string name = m[1];
    if (t.count(name)) {
      out.push_back(name);
      continue;
    }
    const std::string rel = (fs::path(path).parent_path() / name).lexically_normal().generic_string();
    if (t.count(rel)) out.push_back(rel);
  }
  return out;
}

std::vector<std::string> upward_includes(const Tree& t) {
  std::vector<std::string> bad;
  for (const auto& [path, text] : t) {
    if (!is_code(path) || layer_of(path) < 0) continue;
    for (const std::string& inc : project_includes(t, path))
      if (layer_of(inc) > layer_of(path) || (layer_of(inc) < 0 && layer_of(path) >= 0))
        bad.push_back(path + " (" + layer_name(layer_of(path)) + ") includes " + inc + " (" +
                      layer_name(layer_of(inc)) + ")");
  }
  return bad;
}

// Every project file serving (models/inference.*) reaches through includes that lies in training or above.
std::vector<std::string> serving_reaches_training(const Tree& t) {
  std::vector<std::string> bad;
  for (const char* start : {"models/inference.h", "models/inference.cpp"}) {
    if (!t.count(start)) continue;
    std::map<std::string, std::string> via;  // file -> the file that included it first
    std::vector<std::string> todo{start};
    via[start] = "";
    while (!todo.empty()) {
      const std::string f = todo.back();
      todo.pop_back();
      if (!is_code(f)) continue;
      for (const std::string& inc : project_includes(t, f))
        if (!via.count(inc)) {
          via[inc] = f;
          todo.push_back(inc);
        }
    }
    for (const auto& [f, from] : via)
      if (layer_of(f) >= 4 || (layer_of(f) < 0 && f != start)) {
        std::string chain = f;
        for (std::string g = via[f]; !g.empty(); g = via[g]) chain = g + " -> " + chain;
        bad.push_back(std::string(start) + " reaches " + layer_name(layer_of(f)) + ": " + chain);
      }
  }
  return bad;
}

// Include cycles: the strongly connected components (Tarjan) with more than one file, or a file including
// itself.
std::vector<std::string> include_cycles(const Tree& t) {
  std::map<std::string, std::vector<std::string>> g;
  for (const auto& [path, text] : t)
    if (is_code(path)) g[path] = project_includes(t, path);
  std::map<std::string, int> index, low;
  std::set<std::string> on_stack;
  std::vector<std::string> stack, bad;
  int next = 0;
  std::function<void(const std::string&)> visit = [&](const std::string& v) {
    index[v] = low[v] = next++;
    stack.push_back(v);
    on_stack.insert(v);
    for (const std::string& w : g[v]) {
      if (!index.count(w)) {
        visit(w);
        low[v] = std::min(low[v], low[w]);
      } else if (on_stack.count(w)) {
        low[v] = std::min(low[v], index[w]);
      }
    }
    if (low[v] == index[v]) {
      std::vector<std::string> comp;
      std::string w;
      do {
        w = stack.back();
        stack.pop_back();
        on_stack.erase(w);
        comp.push_back(w);
      } while (w != v);
      const bool self = std::count(g[v].begin(), g[v].end(), v) > 0;
      if (comp.size() > 1 || self) {
        std::sort(comp.begin(), comp.end());
        std::string s = "include cycle among:";
        for (const auto& c : comp) s += " " + c;
        bad.push_back(s);
      }
    }
  };
  for (const auto& [v, edges] : g)
    if (!index.count(v)) visit(v);
  return bad;
}

// ---- citations -----------------------------------------------------------------------------------------

int line_of(const std::string& text, size_t pos) {
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

// The headings of a Markdown file, each also without a leading number ("3. MMRecUn" -> "MMRecUn") and
// without a trailing parenthesis ("Graphs (`datasets/graphs.h`)" -> "Graphs").
std::set<std::string> headings(const std::string& md) {
  std::set<std::string> out;
  static const std::regex h(R"(^#{1,6}[ \t]+(.+?)[ \t]*$)");
  static const std::regex number(R"(^[0-9]+(\.[0-9]+)*\.?[ \t]+)");
  static const std::regex paren(R"([ \t]+\(.*\)$)");
  std::istringstream in(md);
  bool fenced = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) fenced = !fenced;
    std::smatch m;
    if (fenced || !std::regex_match(line, m, h)) continue;
    const std::string title = m[1];
    const std::string unnumbered = std::regex_replace(title, number, "");
    for (const std::string& s : {title, unnumbered}) {
      out.insert(s);
      out.insert(std::regex_replace(s, paren, ""));
    }
  }
  return out;
}

// Citation syntax: docs/<file>.md, optionally followed by `, "<Section>"`; the quoted title may sit on the
// next comment line but not be split across lines.
std::vector<std::string> bad_citations(const Tree& t) {
  static const std::regex cite(
      R"re(docs/([A-Za-z0-9_./-]+?\.md)(,[ \t]*(?:\n[ \t]*(?://+|#+|\*)?[ \t]*)?"([^"\n]+)")?)re");
  static const std::regex malformed(R"re(^(#[A-Za-z0-9]|[ \t]+"|,[ \t]*"|,?[ \t]*(section|§)))re",
                                    std::regex::icase);
  std::vector<std::string> bad;
  for (const auto& [path, text] : t) {
    for (std::sregex_iterator it(text.begin(), text.end(), cite), end; it != end; ++it) {
      const auto& m = *it;
      const std::string where =
          path + ":" + std::to_string(line_of(text, static_cast<size_t>(m.position(0))));
      const std::string doc = "docs/" + m[1].str();
      if (!t.count(doc)) {
        bad.push_back(where + ": cites " + doc + ", which does not exist");
        continue;
      }
      if (m[3].matched) {
        if (!headings(t.at(doc)).count(m[3].str()))
          bad.push_back(where + ": cites " + doc + ", \"" + m[3].str() + "\", which is not a heading there");
        continue;
      }
      const std::string after = text.substr(static_cast<size_t>(m.position(0) + m.length(0)), 24);
      if (std::regex_search(after, malformed))
        bad.push_back(where + ": cites a section of " + doc + " as `" + m[0].str() +
                      after.substr(0, after.find('\n')) + "`; write " + doc + ", \"<Heading>\"");
    }
  }
  return bad;
}

// Documents outside the repository: MMRec's reference-semantics notes, the shared folder's documents and the
// specification cited as such ([p] keeps the patterns from matching this file's own text).
std::vector<std::string> outside_citations(const Tree& t) {
  static const std::regex outside(R"re(semantics\.md|shared/s[p]ec|shared/[A-Za-z0-9_./-]*\.md|\bs[p]ec/)re"
                                  R"re(|\bs[p]ec('s)?[ \t]+(section|§|[A-Za-z0-9_-]+\.md)|\bthe s[p]ec\b)re",
                                  std::regex::icase);
  std::vector<std::string> bad;
  for (const auto& [path, text] : t)
    for (std::sregex_iterator it(text.begin(), text.end(), outside), end; it != end; ++it)
      bad.push_back(path + ":" + std::to_string(line_of(text, static_cast<size_t>(it->position(0)))) +
                    ": cites `" + it->str() + "`, which is not in the repository (cite a docs/ section)");
  return bad;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "\n  " + x;
  return s;
}

// ---- the repository ------------------------------------------------------------------------------------

const Tree& repository() {
  static const Tree t = read_tree(LETHE_SOURCE_DIR);
  return t;
}

TEST(Structure, ReadsTheWholeTree) {
  const Tree& t = repository();
  for (const char* f : {"engine/tensor.h", "autograd/var.h", "models/inference.h", "apps/main.cpp",
                        "docs/architecture.md", "tests/structure/test_structure.cpp"})
    EXPECT_TRUE(t.count(f)) << f;
  EXPECT_GT(t.size(), 100u);
}

TEST(Structure, NoIncludeRunsUpwardBetweenLayers) {
  const auto bad = upward_includes(repository());
  EXPECT_TRUE(bad.empty()) << bad.size() << " upward includes:" << join(bad);
}

TEST(Structure, ServingDoesNotReachTraining) {
  const auto bad = serving_reaches_training(repository());
  EXPECT_TRUE(bad.empty()) << join(bad);
}

TEST(Structure, NoIncludeCycles) {
  const auto bad = include_cycles(repository());
  EXPECT_TRUE(bad.empty()) << join(bad);
}

TEST(Structure, DocCitationsExist) {
  const auto bad = bad_citations(repository());
  EXPECT_TRUE(bad.empty()) << bad.size() << " citations to fix:" << join(bad);
}

TEST(Structure, NothingCitesDocumentsOutsideTheRepository) {
  const auto bad = outside_citations(repository());
  EXPECT_TRUE(bad.empty()) << bad.size() << " citations to fix:" << join(bad);
}

// ---- the checker itself, on planted violations -----------------------------------------------------------

Tree planted() {
  Tree t;
  t["docs"
    "/models.md"] =
      "# Models\n\n## 3. FREEDOM\n\ntext\n\n## Graphs (`datasets/graphs.h`)\n\n```\n# not a heading\n```\n";
  t["engine/a.h"] = "#pragma once\n";
  t["autograd/b.h"] = "#include \"engine/a.h\"\n";
  t["models/inference.h"] = "#include \"models/layers.h\"\n";
  t["models/layers.h"] = "#include \"autograd/b.h\"\n";
  t["models/training/trainer.h"] = "#include \"models/layers.h\"\n";
  t["tests/t.cpp"] = "#include \"models/training/trainer.h\"\n#include \"apps/x.h\"\n";
  t["apps/x.h"] = "#include \"models/training/trainer.h\"\n";
  return t;
}

TEST(StructureChecker, AcceptsACleanTree) {
  const Tree t = planted();
  EXPECT_TRUE(upward_includes(t).empty()) << join(upward_includes(t));
  EXPECT_TRUE(serving_reaches_training(t).empty()) << join(serving_reaches_training(t));
  EXPECT_TRUE(include_cycles(t).empty()) << join(include_cycles(t));
  EXPECT_TRUE(bad_citations(t).empty());
  EXPECT_TRUE(outside_citations(t).empty());
}

TEST(StructureChecker, FindsAnUpwardInclude) {
  Tree t = planted();
  t["engine/a.h"] = "#pragma once\n#include \"autograd/b.h\"\n";
  const auto bad = upward_includes(t);
  ASSERT_EQ(bad.size(), 1u) << join(bad);
  EXPECT_NE(bad[0].find("engine/a.h (engine) includes autograd/b.h (autograd)"), std::string::npos) << bad[0];
  t = planted();
  t["models/eval/metrics.h"] = "#include \"models/unlearning/audit.h\"\n";
  t["models/unlearning/audit.h"] = "\n";
  EXPECT_EQ(upward_includes(t).size(), 1u);
}

TEST(StructureChecker, FindsServingReachingTrainingThroughAHeader) {
  Tree t = planted();
  t["models/layers.h"] += "#include \"models/training/checkpoint.h\"\n";
  t["models/training/checkpoint.h"] = "\n";
  const auto bad = serving_reaches_training(t);
  ASSERT_EQ(bad.size(), 1u) << join(bad);
  EXPECT_NE(bad[0].find("models/inference.h -> models/layers.h -> models/training/checkpoint.h"),
            std::string::npos)
      << bad[0];
}

TEST(StructureChecker, FindsACycle) {
  Tree t = planted();
  t["engine/a.h"] += "#include \"engine/c.h\"\n";
  t["engine/c.h"] = "#include \"d.h\"\n";  // relative to the including file
  t["engine/d.h"] = "#include \"engine/a.h\"\n";
  const auto bad = include_cycles(t);
  ASSERT_EQ(bad.size(), 1u) << join(bad);
  EXPECT_EQ(bad[0], "include cycle among: engine/a.h engine/c.h engine/d.h");
}

TEST(StructureChecker, FindsBadCitations) {
  Tree t = planted();
  t["engine/a.h"] =
      "// ok: docs"
      "/models.md, \"FREEDOM\"; docs"
      "/models.md, \"3. FREEDOM\"; docs"
      "/models.md, \"Graphs\"; "
      "docs"
      "/models.md\n"
      "// wrapped: docs"
      "/models.md,\n//   \"Graphs\"\n"
      "// missing section: docs"
      "/models.md, \"LightGCN\"\n"
      "// missing file: docs"
      "/semantic.md\n"
      "// fenced is not a heading: docs"
      "/models.md, \"not a heading\"\n"
      "// malformed: docs"
      "/models.md#freedom and docs"
      "/models.md \"FREEDOM\" and docs"
      "/models.md section 3\n"
      "// split title: docs"
      "/models.md, \"FREE\n// DOM\"\n";
  const auto bad = bad_citations(t);
  ASSERT_EQ(bad.size(), 7u) << join(bad);
  EXPECT_NE(bad[0].find("engine/a.h:4: cites docs"
                        "/models.md, \"LightGCN\""),
            std::string::npos)
      << bad[0];
  EXPECT_NE(bad[1].find("engine/a.h:5: cites docs"
                        "/semantic.md, which does not exist"),
            std::string::npos)
      << bad[1];
  EXPECT_NE(bad[2].find("\"not a heading\""), std::string::npos) << bad[2];
  for (size_t k = 3; k < 6; ++k)
    EXPECT_NE(bad[k].find("engine/a.h:7: cites a section"), std::string::npos) << bad[k];
  EXPECT_NE(bad[6].find("engine/a.h:8: cites a section"), std::string::npos) << bad[6];
}

TEST(StructureChecker, FindsCitationsOfOutsideDocuments) {
  Tree t = planted();
  t["models/x.cpp"] =
      "// LightGCN (semantics"
      ".md 4.2)\n// spec "
      "unlearning.md 6\n// the "
      "spec's target\n// ../shared/"
      "s"
      "pec/x.md\n"
      "// spec "
      "section 6.2\nRequestSpec spec; spec.kind = 1;  // not citations\n// data in ../shared/data\n";
  const auto bad = outside_citations(t);
  ASSERT_EQ(bad.size(), 5u) << join(bad);
  for (size_t k = 0; k < bad.size(); ++k)
    EXPECT_EQ(bad[k].rfind("models/x.cpp:" + std::to_string(k + 1) + ":", 0), 0u) << bad[k];
}

}  // namespace
}  // namespace lethe::structure
