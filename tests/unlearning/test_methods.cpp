// Every request kind with every method runs end to end through the `lethe unlearn` pipeline on tiny data
// and writes a loadable run; sequential requests checkpoint and audit each step; bad requests, bad options
// and mismatched checkpoints fail with clear errors and write nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>

#include "engine/error.h"
#include "engine/ops.h"
#include "fixture.h"
#include "models/eval/evaluator.h"
#include "models/unlearning/unlearn_run.h"

namespace lethe::unlearning::testing {
namespace {

std::vector<UnlearnResult> unlearn(const std::string& run, const std::vector<std::string>& reqs,
                                   const std::string& out, Method m, int64_t epochs) {
  UnlearnJob job;
  job.run_dir = run;
  job.request_files = reqs;
  job.out_dir = out;
  job.options.method = m;
  job.options.epochs = epochs;
  job.options.quiet = true;
  std::ostringstream sink;
  return run_unlearn_job(job, sink);
}

double max_param_diff(models::Model& a, models::Model& b) {
  double d = 0;
  auto pa = a.parameters(), pb = b.parameters();
  for (size_t k = 0; k < pa.size(); ++k)
    d = std::max(d, ops::max_abs_diff(pa[k].second.value(), pb[k].second.value()));
  return d;
}

// A small FREEDOM run (multi-modal: modality requests touch its feature tables and kNN graph).
const std::string& freedom_run() {
  static const std::string dir = [] {
    const std::string d = temp_root() + "/tiny-freedom";
    train_run(tiny_world().data_dir, "freedom", d, 3);
    return d;
  }();
  return dir;
}

struct KindCase {
  std::string name;
  unlearning::RequestKind kind;
  bool drop;
  std::string modality;
};

TEST(UnlearningMethods, EveryKindAndMethodRunsEndToEnd) {
  const TinyWorld& w = tiny_world();
  const std::vector<KindCase> kinds{{"user", unlearning::RequestKind::User, false, ""},
                                    {"item-drop", unlearning::RequestKind::Item, true, ""},
                                    {"interaction", unlearning::RequestKind::Interaction, false, ""},
                                    {"modality", unlearning::RequestKind::Modality, false, "image"}};
  for (const KindCase& k : kinds) {
    const std::string req =
        write_generated_request(w.ds, k.kind, 0.05, "methods-" + k.name, k.drop, k.modality);
    const std::string run = k.kind == unlearning::RequestKind::Modality ? freedom_run() : w.quick_run_dir();
    const RequestView view = apply_requests(w.ds, {unlearning::read_request(req)});
    const models::TrainData full = models::make_train_data(w.ds);
    ModelRun orig = load_model_run(run, full, "original");
    for (Method m : {Method::MMRecUn, Method::Gold, Method::Finetune, Method::NegGrad}) {
      SCOPED_TRACE(k.name + " / " + method_name(m));
      const std::string out = fresh_dir(k.name + "-" + method_name(m));
      if (k.kind == unlearning::RequestKind::Modality && m == Method::NegGrad) {
        // No forget set of interactions: neggrad is refused before anything is written.
        EXPECT_THROW(unlearn(run, {req}, out, m, 1), Error);
        EXPECT_FALSE(fs::exists(out));
        continue;
      }
      const auto res = unlearn(run, {req}, out, m, 2);
      ASSERT_EQ(res.size(), 1u);
      EXPECT_EQ(res[0].epochs_run, 2);
      EXPECT_GT(res[0].seconds, 0.0);
      for (const char* f : {"run.json", "config.yaml", "model.safetensors", "embeddings.safetensors",
                            "unlearn_log.jsonl", "metrics.json"})
        EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
      // The checkpoint loads against the request's retain set, and only against it.
      ModelRun u = load_model_run(out, view.retain, "unlearned");
      EXPECT_GT(max_param_diff(*u.model, *orig.model), 0.0);
      EXPECT_EQ(u.unlearning.value("method", ""), method_name(m));
      EXPECT_THROW(load_model_run(out, full, "unlearned"), Error);
      // Dropped items are never recommended by the unlearned run.
      if (k.drop) {
        const nlohmann::json mj = nlohmann::json::parse(std::ifstream(out + "/metrics.json"));
        EXPECT_TRUE(mj.contains("metrics"));
      }
    }
  }
}

TEST(UnlearningMethods, DroppedItemsLeaveTheCatalogue) {
  const TinyWorld& w = tiny_world();
  const std::string req =
      write_generated_request(w.ds, unlearning::RequestKind::Item, 0.1, "drop-catalogue", true);
  const std::string out = fresh_dir("drop-catalogue");
  unlearn(w.quick_run_dir(), {req}, out, Method::MMRecUn, 2);
  const RequestView view = apply_requests(w.ds, {unlearning::read_request(req)});
  ASSERT_FALSE(view.dropped_items.empty());
  ModelRun u = load_model_run(out, view.retain, "unlearned");
  std::vector<int32_t> users(static_cast<size_t>(w.ds.n_users));
  std::iota(users.begin(), users.end(), 0);
  const eval::Evaluator ev(datasets::UserItems::build(view.retain.train, w.ds.n_users), w.ds.n_items,
                           view.retain.item_dropped, Device::cpu());
  autograd::NoGrad ng;
  const models::Forward f = u.model->forward(false);
  std::vector<int32_t> top;
  ev.top_k(f.users.value(), f.items.value(), users, 50, top);
  for (int32_t i : top)
    EXPECT_FALSE(std::binary_search(view.dropped_items.begin(), view.dropped_items.end(), i)) << i;
  // The serving files agree: embeddings.safetensors flags the dropped items.
  const formats::SafeTensors st = formats::read_safetensors(out + "/embeddings.safetensors");
  const std::vector<int32_t> flags = st.find("item_dropped")->to_vector<int32_t>();
  for (int32_t i : view.dropped_items) EXPECT_EQ(flags[static_cast<size_t>(i)], 1);
}

TEST(UnlearningMethods, SequentialRequestsCheckpointAndAuditEachStep) {
  const TinyWorld& w = tiny_world();
  // Step 2 must resolve against the data after step 1: generate it from the data set after the first.
  const std::string r1 = write_generated_request(w.ds, unlearning::RequestKind::User, 0.03, "seq-1");
  const datasets::Dataset after1 =
      unlearning::apply_request(w.ds, unlearning::resolve(w.ds, unlearning::read_request(r1)));
  unlearning::RequestSpec spec;
  spec.kind = unlearning::RequestKind::Interaction;
  spec.fraction = 0.02;
  spec.seed = 99;
  const std::string r2 = temp_root() + "/seq-2.tsv";
  unlearning::write_request(unlearning::generate_request(after1, spec), r2);
  const std::string out = fresh_dir("sequential");
  UnlearnJob job;
  job.run_dir = w.quick_run_dir();
  job.request_files = {r1, r2};
  job.out_dir = out;
  job.options.epochs = 2;
  job.options.quiet = true;
  job.audit_steps = true;
  std::ostringstream sink;
  const auto res = run_unlearn_job(job, sink);
  ASSERT_EQ(res.size(), 2u);
  for (const char* s : {"/step-01", "/step-02"}) {
    EXPECT_TRUE(fs::exists(out + s + "/model.safetensors")) << s;
    EXPECT_TRUE(fs::exists(out + s + "/audit/report.json")) << s;
    EXPECT_TRUE(fs::exists(out + s + "/audit/report.md")) << s;
  }
  // Step 2 embodies both requests: its copies are in order, and it loads against the cumulative D_r.
  EXPECT_EQ(run_request_files(out + "/step-02").size(), 2u);
  const RequestView both = apply_requests(w.ds, {unlearning::read_request(r1), unlearning::read_request(r2)});
  EXPECT_NO_THROW(load_model_run(out + "/step-02", both.retain, "step 2"));
  // Cumulative forget set = step 1's rows + step 2's rows.
  const RequestView one = apply_requests(w.ds, {unlearning::read_request(r1)});
  EXPECT_EQ(both.forget.size(), one.forget.size() + both.step_forget.size());
  // Continuing from the step-1 run with the second request gives the same data view (chained runs).
  const std::string out2 = fresh_dir("sequential-chained");
  unlearn(out + "/step-01", {r2}, out2, Method::MMRecUn, 2);
  EXPECT_EQ(run_request_files(out2).size(), 2u);
  const nlohmann::json rep = nlohmann::json::parse(std::ifstream(out + "/step-02/audit/report.json"));
  EXPECT_EQ(rep["request"]["steps"], 2);
  EXPECT_EQ(rep["request"]["forget_rows"].get<size_t>(), both.forget.size());
}

TEST(UnlearningMethods, SameSeedSameModel) {
  const TinyWorld& w = tiny_world();
  const std::string req =
      write_generated_request(w.ds, unlearning::RequestKind::Interaction, 0.05, "determinism");
  const std::string a = fresh_dir("det-a"), b = fresh_dir("det-b");
  unlearn(w.quick_run_dir(), {req}, a, Method::MMRecUn, 3);
  unlearn(w.quick_run_dir(), {req}, b, Method::MMRecUn, 3);
  const RequestView view = apply_requests(w.ds, {unlearning::read_request(req)});
  ModelRun ra = load_model_run(a, view.retain, "a"), rb = load_model_run(b, view.retain, "b");
  EXPECT_EQ(max_param_diff(*ra.model, *rb.model), 0.0);
}

std::string write_text(const std::string& name, const std::string& text) {
  const std::string p = temp_root() + "/" + name;
  std::ofstream(p) << text;
  return p;
}

// Runs `fn`, expects a lethe::Error whose message contains `needle`, and that `out` was not created.
template <class Fn>
void expect_refused(Fn fn, const std::string& needle, const std::string& out) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out)) << out << " was written";
}

TEST(UnlearningMethods, BadRequestsAndMismatchesFailAndWriteNothing) {
  const TinyWorld& w = tiny_world();
  const std::string good = write_generated_request(w.ds, unlearning::RequestKind::User, 0.05, "errors-good");
  auto run = [&](const std::string& req, const std::string& out, Method m = Method::MMRecUn,
                 int64_t epochs = 1) { return [=] { unlearn(w.quick_run_dir(), {req}, out, m, epochs); }; };
  std::string out = fresh_dir("err");
  expect_refused(run(write_text("unknown-user.tsv", "userID\n99999\n"), out), "99999", out);
  out = fresh_dir("err");
  expect_refused(run(write_text("empty.tsv", "userID\n"), out), "empty", out);
  out = fresh_dir("err");
  expect_refused(run(write_text("no-header.tsv", "3\n4\n"), out), "header", out);
  out = fresh_dir("err");
  expect_refused(run(temp_root() + "/does-not-exist.tsv", out), "does-not-exist", out);
  // Options that do not fit: --until-forgotten with a fixed epoch count; an own-rows factor of 0.
  auto refuse_options = [&](auto set, const std::string& reason) {
    const std::string dir = fresh_dir("err");
    UnlearnJob job;
    job.run_dir = w.quick_run_dir();
    job.request_files = {good};
    job.out_dir = dir;
    set(job.options);
    std::ostringstream sink;
    expect_refused([&] { run_unlearn_job(job, sink); }, reason, dir);
  };
  refuse_options([](UnlearnOptions& o) { o.epochs = 3, o.until_forgotten = true; }, "either");
  refuse_options([](UnlearnOptions& o) { o.epochs = 1, o.own_rows_lr_factor = 0.0; },
                 "own-rows learning-rate factor");
  // A run that is not a run directory.
  out = fresh_dir("err");
  expect_refused([&] { unlearn(temp_root(), {good}, out, Method::MMRecUn, 1); }, "run.json", out);
  // A checkpoint that does not belong to the run's data: another data set with the same shape.
  const std::string other_data = temp_root() + "/other-data";
  if (!fs::exists(other_data))
    datasets::write_mmrec(datasets::generate_synthetic(datasets::synth_preset("tiny"), kSeed + 1),
                          other_data);
  out = fresh_dir("err");
  {
    UnlearnJob job;
    job.run_dir = w.quick_run_dir();
    job.request_files = {write_generated_request(datasets::load_mmrec(other_data),
                                                 unlearning::RequestKind::User, 0.05, "other")};
    job.out_dir = out;
    job.data_dir = other_data;
    job.options.epochs = 1;
    std::ostringstream sink;
    expect_refused([&] { run_unlearn_job(job, sink); }, "fingerprint", out);
  }
  // Audit: a gold run made for another request, and an unlearned run passed as --original.
  const std::string other_req =
      write_generated_request(w.ds, unlearning::RequestKind::Interaction, 0.05, "errors-other");
  const std::string gold_other = fresh_dir("gold-other");
  unlearn(w.quick_run_dir(), {other_req}, gold_other, Method::Gold, 1);
  out = fresh_dir("err-audit");
  {
    AuditJob aj;
    aj.request_files = {good};
    aj.original_dir = w.quick_run_dir();
    aj.gold_dir = gold_other;
    aj.out_dir = out;
    expect_refused([&] { run_audit_job(aj); }, "gold run", out);
    aj.original_dir = gold_other;
    aj.gold_dir = "";
    expect_refused([&] { run_audit_job(aj); }, "unlearned run", out);
  }
  // An existing run directory is never overwritten.
  const std::string done = fresh_dir("done");
  unlearn(w.quick_run_dir(), {good}, done, Method::NegGrad, 1);
  const auto stamp = fs::last_write_time(done + "/model.safetensors");
  EXPECT_THROW(unlearn(w.quick_run_dir(), {good}, done, Method::NegGrad, 1), Error);
  EXPECT_EQ(fs::last_write_time(done + "/model.safetensors"), stamp);
}

}  // namespace
}  // namespace lethe::unlearning::testing
