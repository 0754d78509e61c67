// Config parsing, overrides and errors; the registry's defaults and the shipped models/configs/*.yaml.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/error.h"
#include "models/config.h"
#include "models/model.h"
#include "models/registry.h"
#include "tests/models/tiny.h"

using lethe::Error;
using lethe::models::Config;

using lethe::models::testing::error_of;

namespace {

TEST(Config, ParsesScalarsListsAndStrings) {
  Config c = Config::from_yaml_string(
      "learning_rate: 0.001\nepochs: 1000\nuse_neg_sampling: true\nvalid_metric: Recall@20\n"
      "learning_rate_scheduler: [0.96, 50]\nreg_weight: [1e-4]\n");
  EXPECT_DOUBLE_EQ(c.get_double("learning_rate", 0), 0.001);
  EXPECT_EQ(c.get_int("epochs", 0), 1000);
  EXPECT_TRUE(c.get_bool("use_neg_sampling", false));
  EXPECT_EQ(c.get_string("valid_metric", ""), "Recall@20");
  EXPECT_EQ(c.get_doubles("learning_rate_scheduler", {}), (std::vector<double>{0.96, 50}));
  EXPECT_DOUBLE_EQ(c.get_double("reg_weight", 0), 1e-4);  // a one-element grid reads as its value
  EXPECT_EQ(c.get_doubles("learning_rate", {}), (std::vector<double>{0.001}));
  EXPECT_DOUBLE_EQ(c.get_double("missing", 7.5), 7.5);
  EXPECT_FALSE(c.has("missing"));
  EXPECT_EQ(c.raw().at("learning_rate_scheduler"), "[0.96, 50]");
}

TEST(Config, AssignmentsOverrideAndRoundTrip) {
  Config c = Config::from_yaml_string("a: 1\nb: [1, 2]\n");
  c.set_from_assignment("a=0.5");
  c.set_from_assignment(" c = [1.0, 50]");
  c.set_from_assignment("name=freedom");
  EXPECT_DOUBLE_EQ(c.get_double("a", 0), 0.5);
  EXPECT_EQ(c.get_doubles("c", {}), (std::vector<double>{1.0, 50}));
  EXPECT_EQ(c.get_string("name", ""), "freedom");
  const Config back = Config::from_yaml_string(c.to_yaml());
  EXPECT_EQ(back.raw(), c.raw());
  Config over = Config::from_yaml_string("b: 3\n");
  c.merge(over);
  EXPECT_EQ(c.get_int("b", 0), 3);
  EXPECT_EQ(c.to_yaml(), "a: 0.5\nb: 3\nc: [1.0, 50]\nname: freedom\n");  // sorted keys
}

TEST(Config, ErrorsNameTheKeyAndFile) {
  Config c = Config::from_yaml_string("n_layers: [1, 2, 3, 4]\nlr: fast\nk: 2.5\nflag: maybe\n");
  EXPECT_NE(error_of([&] { c.get_int("n_layers", 0); }).find("'n_layers' is a list of 4 values"),
            std::string::npos);
  EXPECT_NE(error_of([&] { c.get_double("lr", 0); }).find("'lr' must be a number"), std::string::npos);
  EXPECT_NE(error_of([&] { c.get_int("k", 0); }).find("'k' must be an integer"), std::string::npos);
  EXPECT_NE(error_of([&] { c.get_bool("flag", false); }).find("'flag' must be true or false"),
            std::string::npos);
  EXPECT_NE(error_of([&] { c.get_doubles("lr", {}); }).find("'lr' must be a number or a list"),
            std::string::npos);
  EXPECT_NE(error_of([&] { c.set_from_assignment("no_equals_sign"); }).find("expected key=value"),
            std::string::npos);
  EXPECT_NE(error_of([&] { c.set_from_assignment("=3"); }).find("empty key"), std::string::npos);
  EXPECT_NE(error_of([&] { c.set("x", "[1, 2"); }).find("'x'"), std::string::npos);
  EXPECT_NE(error_of([&] { Config::from_yaml_string("- 1\n- 2\n"); }).find("mapping"), std::string::npos);

  const std::string path = std::string(LETHE_BINARY_DIR) + "/test_config_bad.yaml";
  {
    std::ofstream f(path);
    f << "a: 1\nb: {nested: 2}\n";
  }
  const std::string e = error_of([&] { Config::from_yaml_file(path); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("'b'"), std::string::npos) << e;
  {
    std::ofstream f(path);
    f << "a: [1, 2\n";
  }
  EXPECT_NE(error_of([&] { Config::from_yaml_file(path); }).find(path), std::string::npos);
  std::remove(path.c_str());
  EXPECT_NE(error_of([] { Config::from_yaml_file("/nonexistent/x.yaml"); }).find("/nonexistent/x.yaml"),
            std::string::npos);
}

TEST(Registry, DefaultsMergeOverallAndModel) {
  const auto names = lethe::models::model_names();
  EXPECT_EQ(names, (std::vector<std::string>{"bpr", "lightgcn", "vbpr", "freedom", "mgcn"}));
  const Config l = lethe::models::default_config("lightgcn");
  EXPECT_EQ(l.get_int("embedding_size", 0), 64);
  EXPECT_EQ(l.get_int("train_batch_size", 0), 2048);
  EXPECT_DOUBLE_EQ(l.get_double("learning_rate", 0), 0.001);
  EXPECT_EQ(l.get_doubles("learning_rate_scheduler", {}), (std::vector<double>{1.0, 50}));
  EXPECT_EQ(l.get_int("epochs", 0), 1000);
  EXPECT_EQ(l.get_int("stopping_step", 0), 20);
  EXPECT_EQ(l.get_int("seed", 0), 999);
  EXPECT_EQ(l.get_string("valid_metric", ""), "Recall@20");
  EXPECT_EQ(l.get_doubles("topk", {}), (std::vector<double>{5, 10, 20, 50}));
  EXPECT_EQ(l.get_int("n_layers", 0), 2);
  EXPECT_DOUBLE_EQ(l.get_double("reg_weight", 0), 1e-4);
  const Config m = lethe::models::default_config("mgcn");
  EXPECT_EQ(m.get_doubles("learning_rate_scheduler", {}),
            (std::vector<double>{0.96, 50}));  // model overrides overall
  EXPECT_DOUBLE_EQ(m.get_double("cl_loss", 0), 0.01);
  EXPECT_NE(error_of([] { lethe::models::default_config("nope"); }).find("unknown model 'nope'"),
            std::string::npos);
}

// models/configs/*.yaml are the defaults: compiled in verbatim (no copy that could drift), and every key a
// model reads has its default there (a config holding only the files' keys builds every model).
TEST(Registry, DefaultsAreTheShippedYamlFiles) {
  for (std::string stem : {"overall", "bpr", "lightgcn", "vbpr", "freedom", "mgcn"}) {
    std::ifstream in(std::string(LETHE_SOURCE_DIR) + "/models/configs/" + stem + ".yaml");
    std::stringstream file;
    file << in.rdbuf();
    EXPECT_EQ(lethe::models::config_file_text(stem), file.str()) << stem;
  }
  const Config d = lethe::models::default_config("freedom");
  EXPECT_EQ(d.origin("knn_k"), "models/configs/freedom.yaml, line 6");
  EXPECT_EQ(d.origin("seed"), "models/configs/overall.yaml, line 8");
}

TEST(Registry, UnknownKeysAreErrorsNamingWhereAndTheClosestKey) {
  using lethe::models::resolve_config;
  std::string e = error_of([] { resolve_config("lightgcn", "", {"learing_rate=0.5"}); });
  EXPECT_NE(e.find("unknown key 'learing_rate' (assignment 'learing_rate=0.5') for model lightgcn"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("did you mean 'learning_rate'?"), std::string::npos) << e;
  e = error_of([] { resolve_config("bpr", "", {"knn_k=5"}); });
  EXPECT_NE(e.find("'knn_k' (assignment 'knn_k=5') is a key of freedom, mgcn, not of model bpr"),
            std::string::npos)
      << e;
  e = error_of([] { resolve_config("bpr", "", {"zzzzqqqq=1"}); });
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;  // nothing close: no guess
  const std::string path = std::string(LETHE_BINARY_DIR) + "/test_config_typo.yaml";
  {
    std::ofstream f(path);
    f << "# a comment\nreg_weight: 0.01\nn_layer: 3\n";
  }
  e = error_of([&] { resolve_config("lightgcn", path, {}); });
  EXPECT_NE(e.find(path + ", line 3"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean 'n_layers'?"), std::string::npos) << e;
  std::remove(path.c_str());
  const Config ok = resolve_config("lightgcn", "", {"n_layers=3", "learning_rate=0.01"});
  EXPECT_EQ(ok.get_int("n_layers"), 3);
  EXPECT_EQ(ok.origin("n_layers"), "assignment 'n_layers=3'");
  EXPECT_NE(error_of([] { resolve_config("lightgcn", "", {"model=bpr"}); }).find("says 'bpr'"),
            std::string::npos);
}

TEST(Config, DifferingKeysCompareNumbersByValue) {
  const Config a = Config::from_yaml_string("lr: 0.001\nk: [1.0, 50]\nname: x\n");
  const Config b = Config::from_yaml_string("lr: 1e-3\nk: [1, 50]\nname: y\nextra: 1\n");
  EXPECT_EQ(Config::differing_keys(a, b), (std::vector<std::string>{"extra", "name"}));
  EXPECT_EQ(lethe::models::closest_key("embeding_size", {"embedding_size", "n_layers"}), "embedding_size");
  EXPECT_EQ(lethe::models::closest_key("qqqq", {"embedding_size", "n_layers"}), "");
}

}  // namespace
