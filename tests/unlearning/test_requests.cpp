// Tests for unlearning requests (models/unlearning/requests.h): file format, generation, resolution,
// validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "datasets/graphs.h"
#include "datasets/synthetic.h"
#include "models/freedom_graphs.h"
#include "models/unlearning/requests.h"
#include "tests/datasets/helpers.h"

using namespace lethe;
using namespace lethe::datasets;
using namespace lethe::unlearning;
using lethe::models::freedom_pruned_adj;
using lethe::test::dense;
using lethe::test::expect_csr_equal;
using lethe::test::TempDir;
namespace fs = std::filesystem;

namespace {

const Dataset& tiny() {
  static const Dataset ds = generate_synthetic(synth_preset("tiny"), 21);
  return ds;
}

std::vector<int64_t> train_degree(const std::vector<int32_t>& ids, int32_t n) {
  std::vector<int64_t> d(n, 0);
  for (int32_t x : ids) ++d[x];
  return d;
}

Request gen(RequestKind k, double f, Select s, uint64_t seed = 1, const std::string& mod = "",
            bool drop = false) {
  RequestSpec spec;
  spec.kind = k;
  spec.fraction = f;
  spec.select = s;
  spec.seed = seed;
  spec.modality = mod;
  spec.drop = drop;
  return generate_request(tiny(), spec);
}

}  // namespace

TEST(Requests, UserGenerationBySelection) {
  const Dataset& ds = tiny();
  auto du = train_degree(ds.train.users, ds.n_users);
  Request r = gen(RequestKind::User, 0.1, Select::Random);
  EXPECT_EQ(r.users.size(), 30u);
  EXPECT_EQ(gen(RequestKind::User, 0.1, Select::Random).users, r.users);     // deterministic
  EXPECT_NE(gen(RequestKind::User, 0.1, Select::Random, 2).users, r.users);  // seed matters
  Request core = gen(RequestKind::User, 0.1, Select::Core), edge = gen(RequestKind::User, 0.1, Select::Edge);
  int64_t min_core = INT64_MAX, max_edge = 0;
  for (int32_t u : core.users) min_core = std::min(min_core, du[u]);
  for (int32_t u : edge.users) max_edge = std::max(max_edge, du[u]);
  std::set<int32_t> cs(core.users.begin(), core.users.end());
  for (int32_t u = 0; u < ds.n_users; ++u)
    if (!cs.count(u)) {
      EXPECT_LE(du[u], min_core);  // nobody left out is more active than a chosen one
    }
  EXPECT_LT(max_edge, min_core);

  Resolution res = resolve(ds, core);
  EXPECT_EQ(res.forget.size() + res.retain.size(), ds.train.size());
  for (int32_t u : res.forget.users) EXPECT_TRUE(cs.count(u));
  for (int32_t u : res.retain.users) EXPECT_FALSE(cs.count(u));
  EXPECT_EQ(res.forgotten_users, core.users);
  EXPECT_EQ(res.affected_users, core.users);
}

TEST(Requests, ItemAndInteractionGenerationKeepEveryUserTrainable) {
  const Dataset& ds = tiny();
  for (Select s : {Select::Random, Select::Core, Select::Edge}) {
    Request it = gen(RequestKind::Item, 0.1, s, 3, "", true);
    EXPECT_EQ(it.items.size(), 20u);
    EXPECT_TRUE(it.drop);
    Resolution res = resolve(ds, it);
    EXPECT_EQ(res.dropped_items, it.items);
    std::set<int32_t> is(it.items.begin(), it.items.end());
    for (int32_t i : res.forget.items) EXPECT_TRUE(is.count(i));
    for (int32_t i : res.retain.items) EXPECT_FALSE(is.count(i));
    auto left = train_degree(res.retain.users, ds.n_users);
    for (int32_t u = 0; u < ds.n_users; ++u) EXPECT_GT(left[u], 0);

    Request ix = gen(RequestKind::Interaction, 0.2, s, 4);
    EXPECT_EQ(ix.users.size(), static_cast<size_t>(std::llround(0.2 * ds.train.size())));
    Resolution rx = resolve(ds, ix);
    EXPECT_EQ(rx.forget.size(), ix.users.size());
    EXPECT_EQ(rx.retain.size(), ds.train.size() - ix.users.size());
    left = train_degree(rx.retain.users, ds.n_users);
    for (int32_t u = 0; u < ds.n_users; ++u) EXPECT_GT(left[u], 0);
  }
  // Core items are the popular ones.
  auto di = train_degree(ds.train.items, ds.n_items);
  Request core = gen(RequestKind::Item, 0.05, Select::Core),
          edge = gen(RequestKind::Item, 0.05, Select::Edge);
  int64_t sc = 0, se = 0;
  for (int32_t i : core.items) sc += di[i];
  for (int32_t i : edge.items) se += di[i];
  EXPECT_GT(sc, se);
}

TEST(Requests, ModalityResolutionAndMissingFeatureFill) {
  const Dataset& ds = tiny();
  Request r = gen(RequestKind::Modality, 0.1, Select::Random, 5, "image");
  ASSERT_EQ(r.items.size(), 20u);
  Resolution res = resolve(ds, r);
  EXPECT_TRUE(res.forget.empty());
  EXPECT_EQ(res.retain.size(), ds.train.size());
  ASSERT_EQ(res.erased.count("image"), 1u);
  EXPECT_EQ(res.erased["image"], r.items);
  EXPECT_FALSE(res.affected_users.empty());
  auto f = apply_to_features(ds, res);
  const Tensor& before = ds.features.at("image").values;
  const Tensor& after = f["image"].values;
  const int64_t W = before.cols();
  std::set<int32_t> er(r.items.begin(), r.items.end());
  std::vector<double> mean(W, 0);
  for (int32_t i = 0; i < ds.n_items; ++i)
    if (!er.count(i))
      for (int64_t w = 0; w < W; ++w) mean[w] += before.data<float>()[i * W + w] / (ds.n_items - 20.0);
  for (int32_t i = 0; i < ds.n_items; ++i)
    for (int64_t w = 0; w < W; ++w) {
      if (er.count(i))
        EXPECT_NEAR(after.data<float>()[i * W + w], mean[w], 1e-5);
      else
        EXPECT_EQ(after.data<float>()[i * W + w], before.data<float>()[i * W + w]);
    }
  EXPECT_EQ(f["text"].values.to_vector<float>(), ds.features.at("text").values.to_vector<float>());
  // The original data set is untouched.
  EXPECT_NE(after.data<float>()[r.items[0] * W], 0.5f + before.data<float>()[r.items[0] * W]);
}

TEST(Requests, FileRoundTripAndDropFlag) {
  TempDir t;
  for (RequestKind k :
       {RequestKind::User, RequestKind::Item, RequestKind::Interaction, RequestKind::Modality}) {
    Request r =
        gen(k, 0.05, Select::Edge, 9, k == RequestKind::Modality ? "text" : "", k == RequestKind::Item);
    const std::string p = (t / (std::string(request_kind_name(k)) + ".tsv")).string();
    write_request(r, p, "test");
    Request b = read_request(p);
    EXPECT_EQ(b.kind, k);
    EXPECT_EQ(b.users, r.users);
    EXPECT_EQ(b.items, r.items);
    EXPECT_EQ(b.modalities, r.modalities);
    EXPECT_EQ(b.drop, r.drop);
    EXPECT_EQ(b.lines.front(), r.drop ? 4 : 3);  // comment, (# drop), header, first row
  }
}

TEST(Requests, SequentialListResolvesRelativePaths) {
  TempDir t;
  fs::create_directories(t / "reqs");
  test::write_text(t / "reqs" / "a.tsv", "userID\n1\n");
  test::write_text(t / "reqs" / "b.tsv", "itemID\n2\n");
  test::write_text(t / "list.txt", "# two steps\nreqs/a.tsv\n\n" + (t / "reqs" / "b.tsv").string() + "\n");
  auto list = read_request_list((t / "list.txt").string());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(fs::path(list[0]).filename(), "a.tsv");
  test::write_text(t / "bad.txt", "reqs/a.tsv\nreqs/missing.tsv\n");
  test::expect_error([&] { read_request_list((t / "bad.txt").string()); }, {"bad.txt:2", "missing.tsv"});
  // Applying them one after another: the second resolves against the first's result.
  Dataset d1 = apply_request(tiny(), resolve(tiny(), read_request(list[0])));
  Resolution r2 = resolve(d1, read_request(list[1]), {true});
  for (int32_t u : r2.forget.users) EXPECT_NE(u, 1);
}

TEST(Requests, ValidationErrors) {
  TempDir t;
  const Dataset& ds = tiny();
  auto file = [&](const std::string& name, const std::string& body) {
    test::write_text(t / name, body);
    return (t / name).string();
  };
  // Syntax.
  test::expect_error([&] { read_request(file("nohead.tsv", "12\n13\n")); }, {"nohead.tsv:1", "header"});
  test::expect_error([&] { read_request(file("empty.tsv", "# nothing\nuserID\n")); }, {"empty.tsv", "empty"});
  test::expect_error([&] { read_request(file("nonnum.tsv", "userID\n5\nx7\n")); },
                     {"nonnum.tsv:3", "userID", "x7"});
  test::expect_error([&] { read_request(file("fields.tsv", "userID\titemID\n5\n")); },
                     {"fields.tsv:2", "fields"});
  test::expect_error([&] { read_request(file("dropuser.tsv", "# drop\nuserID\n5\n")); },
                     {"dropuser.tsv:1", "drop"});
  // Against the data set.
  test::expect_error([&] { resolve(ds, read_request(file("uu.tsv", "userID\n3\n300\n"))); },
                     {"uu.tsv:3", "unknown userID 300"});
  test::expect_error([&] { resolve(ds, read_request(file("ui.tsv", "itemID\n5000\n"))); },
                     {"ui.tsv:2", "unknown itemID 5000"});
  const int32_t u0 = ds.train.users[0], i0 = ds.train.items[0];
  UserItems ui = UserItems::build(ds.train, ds.n_users);
  int32_t not_item = 0;
  while (ui.contains(u0, not_item)) ++not_item;
  test::expect_error(
      [&] {
        resolve(ds, read_request(file("pair.tsv", "userID\titemID\n" + std::to_string(u0) + "\t" +
                                                      std::to_string(i0) + "\n" + std::to_string(u0) + "\t" +
                                                      std::to_string(not_item) + "\n")));
      },
      {"pair.tsv:3", "not a training interaction"});
  test::expect_error([&] { resolve(ds, read_request(file("mod.tsv", "itemID\tmodality\n1\taudio\n"))); },
                     {"mod.tsv:2", "audio", "image, text"});
  // Removing every train row of user u0 through an interaction request.
  std::string body = "userID\titemID\n";
  for (int32_t p = ui.indptr[u0]; p < ui.indptr[u0 + 1]; ++p)
    body += std::to_string(u0) + "\t" + std::to_string(ui.items[p]) + "\n";
  const std::string all_rows = file("allrows.tsv", body);
  test::expect_error([&] { resolve(ds, read_request(all_rows)); },
                     {"allrows.tsv:" + std::to_string(1 + ui.degree(u0)), "user " + std::to_string(u0),
                      "every training interaction"});
  Resolution ok = resolve(ds, read_request(all_rows), {true});  // allowed on request
  EXPECT_EQ(static_cast<int32_t>(ok.forget.size()), ui.degree(u0));
  // A user with no train rows (a cold user) cannot be forgotten.
  Dataset cold = ds;
  cold.n_users += 1;
  test::expect_error(
      [&] { resolve(cold, read_request(file("cold.tsv", "userID\n" + std::to_string(ds.n_users) + "\n"))); },
      {"cold.tsv:2", "no training interactions"});
  // Generation errors.
  RequestSpec bad;
  bad.fraction = 0.0;
  test::expect_error([&] { generate_request(ds, bad); }, {"fraction"});
  bad.fraction = 0.1;
  bad.kind = RequestKind::Modality;
  bad.modality = "audio";
  test::expect_error([&] { generate_request(ds, bad); }, {"audio", "image, text"});
}

TEST(Requests, ApplyRequestFiltersHeldOutRowsLikeAFreshLoad) {
  const Dataset& ds = tiny();
  Request users = gen(RequestKind::User, 0.1, Select::Random, 6);
  Dataset a = apply_request(ds, resolve(ds, users));
  std::set<int32_t> gone(users.users.begin(), users.users.end());
  size_t held = 0;
  for (const Interactions* x : {&ds.valid, &ds.test})
    for (int32_t u : x->users) held += !gone.count(u);
  EXPECT_EQ(a.valid.size() + a.test.size(), held);
  for (const Interactions* x : {&a.valid, &a.test})
    for (int32_t u : x->users) EXPECT_FALSE(gone.count(u));
  EXPECT_FALSE(a.warnings.empty());

  Request items = gen(RequestKind::Item, 0.1, Select::Core, 6, "", true);
  Dataset b = apply_request(ds, resolve(ds, items));
  std::set<int32_t> dropped(items.items.begin(), items.items.end());
  for (const Interactions* x : {&b.valid, &b.test})
    for (int32_t i : x->items) EXPECT_FALSE(dropped.count(i));
  for (int32_t i : items.items)  // dropped rows are zeroed
    for (int64_t w = 0; w < b.features["text"].values.cols(); ++w)
      EXPECT_EQ(b.features["text"].values.data<float>()[i * b.features["text"].values.cols() + w], 0.0f);
}

TEST(Requests, GraphsRebuiltFromRetainEqualFromScratch) {
  // After a request, structures built from the resolution's retain set equal those built on a data set
  // whose train split is the retain set from the start (unlearning.md 3).
  Dataset ds = generate_synthetic(synth_preset("tiny"), 8);
  RequestSpec spec;
  spec.kind = RequestKind::Item;
  spec.fraction = 0.1;
  spec.drop = true;
  spec.seed = 3;
  Resolution res = resolve(ds, generate_request(ds, spec));
  Dataset scratch = apply_request(ds, res);
  Interactions retain_sorted = unique_pairs(res.retain);  // a different row order must not matter
  expect_csr_equal(bipartite_sym_adj(res.retain, ds.n_users, ds.n_items),
                   bipartite_sym_adj(scratch.train, scratch.n_users, scratch.n_items));
  expect_csr_equal(bipartite_sym_adj(retain_sorted, ds.n_users, ds.n_items),
                   bipartite_sym_adj(scratch.train, scratch.n_users, scratch.n_items));
  expect_csr_equal(bipartite_rw_adj(res.retain, ds.n_users, ds.n_items),
                   bipartite_rw_adj(scratch.train, scratch.n_users, scratch.n_items));
  expect_csr_equal(user_item_matrix(res.retain, ds.n_users, ds.n_items, true),
                   user_item_matrix(scratch.train, scratch.n_users, scratch.n_items, true));
  Rng r1(9), r2(9);
  expect_csr_equal(freedom_pruned_adj(res.retain, ds.n_users, ds.n_items, 0.9, r1),
                   freedom_pruned_adj(scratch.train, scratch.n_users, scratch.n_items, 0.9, r2));
  auto mask = catalogue_mask(ds, res);
  auto feats = apply_to_features(ds, res);
  expect_csr_equal(knn_graph(feats["image"].values, 10, KnnWeight::Cosine, &mask),
                   knn_graph(scratch.features["image"].values, 10, KnnWeight::Cosine, &mask));
  // No forgotten edge survives.
  Csr adj = bipartite_sym_adj(res.retain, ds.n_users, ds.n_items);
  auto ip = adj.indptr.to_vector<int32_t>(), ix = adj.indices.to_vector<int32_t>();
  for (size_t f = 0; f < res.forget.size(); ++f) {
    const int32_t u = res.forget.users[f], col = ds.n_users + res.forget.items[f];
    EXPECT_FALSE(std::binary_search(ix.begin() + ip[u], ix.begin() + ip[u + 1], col));
  }
  // Dropped items have no kNN edges at all.
  Csr g = knn_graph(feats["text"].values, 10, KnnWeight::Binary, &mask);
  auto gd = dense(g);
  for (int32_t i : res.dropped_items)
    for (int32_t j = 0; j < ds.n_items; ++j) {
      EXPECT_EQ(gd[static_cast<size_t>(i) * ds.n_items + j], 0.0f);
      EXPECT_EQ(gd[static_cast<size_t>(j) * ds.n_items + i], 0.0f);
    }
}
