// Config parsing, overrides and errors; the registry's defaults and the shipped models/configs/*.yaml.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "engine/error.h"
#include "models/config.h"
#include "models/model.h"
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
  EXPECT_NE(error_of([&] { c.get_int("n_layers", 0); }).find("'n_layers' is a list of 4 values"), std::string::npos);
  EXPECT_NE(error_of([&] { c.get_double("lr", 0); }).find("'lr' must be a number"), std::string::npos);
  EXPECT_NE(error_of([&] { c.get_int("k", 0); }).find("'k' must be an integer"), std::string::npos);
  EXPECT_NE(error_of([&] { c.get_bool("flag", false); }).find("'flag' must be true or false"), std::string::npos);
  EXPECT_NE(error_of([&] { c.get_doubles("lr", {}); }).find("'lr' must be a number or a list"), std::string::npos);
  EXPECT_NE(error_of([&] { c.set_from_assignment("no_equals_sign"); }).find("expected key=value"), std::string::npos);
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
  EXPECT_EQ(m.get_doubles("learning_rate_scheduler", {}), (std::vector<double>{0.96, 50}));  // model overrides overall
  EXPECT_DOUBLE_EQ(m.get_double("cl_loss", 0), 0.01);
  EXPECT_NE(error_of([] { lethe::models::default_config("nope"); }).find("unknown model 'nope'"), std::string::npos);
}

// models/configs/<name>.yaml are the user-facing copies of the built-in defaults: they must agree.
TEST(Registry, ShippedYamlMatchesBuiltInDefaults) {
  for (const auto& name : lethe::models::model_names()) {
    const Config file = Config::from_yaml_file(std::string(LETHE_SOURCE_DIR) + "/models/configs/" + name + ".yaml");
    const Config def = lethe::models::default_config(name);
    ASSERT_FALSE(file.raw().empty()) << name;
    for (const auto& [k, v] : file.raw()) {
      ASSERT_TRUE(def.has(k)) << name << ": " << k;
      EXPECT_EQ(def.get_doubles(k, {}), file.get_doubles(k, {})) << name << ": " << k;
    }
  }
}

}  // namespace
