// `lethe request`: generate an unlearning request file (unlearning.md 2), or check one against a data set.
//   lethe request --data DIR --kind user|item|interaction|modality --fraction F --select random|core|edge
//                 --seed S --out FILE [--modality NAME] [--drop]
//   lethe request --data DIR --check FILE        (validate + print what it resolves to)
//   lethe request --data DIR --check-list LIST   (sequential requests, each applied to the previous result)
#include <iostream>
#include <sstream>

#include "apps/command.h"
#include "datasets/mmrec_io.h"
#include "engine/error.h"
#include "engine/formats/atomic_file.h"
#include "models/unlearning/requests.h"

namespace {
struct RequestArgs {
  std::string data, kind = "user", select = "random", out, modality, check, check_list;
  double fraction = 0.05;
  uint64_t seed = 0;
  bool drop = false;
};

void print_resolution(const lethe::unlearning::Request& req, const lethe::unlearning::Resolution& res) {
  std::cout << "kind " << lethe::unlearning::request_kind_name(req.kind) << (req.drop ? " (drop)" : "")
            << ", rows " << req.size() << "\nforget " << res.forget.size() << " train rows, retain "
            << res.retain.size() << "\naffected users " << res.affected_users.size() << ", dropped items "
            << res.dropped_items.size() << "\n";
  for (auto& [m, v] : res.erased) std::cout << "erased " << m << " rows " << v.size() << "\n";
}

lethe::apps::Register reg("request", "Generate or check an unlearning request file", [](CLI::App& sub) {
  auto a = std::make_shared<RequestArgs>();
  sub.add_option("--data", a->data, "data set directory")->required();
  sub.add_option("--kind", a->kind, "user | item | interaction | modality")->default_val("user");
  sub.add_option("--fraction", a->fraction, "fraction of the population to forget, in (0, 1]")
      ->default_val(0.05);
  sub.add_option("--select", a->select, "random | core (most active first) | edge (least active first)")
      ->default_val("random");
  sub.add_option("--seed", a->seed, "random seed")->default_val(0);
  sub.add_option("--out", a->out, "request file to write");
  sub.add_option("--modality", a->modality, "modality to erase (modality requests)");
  sub.add_flag("--drop", a->drop, "item requests: the items also leave the catalogue");
  sub.add_option("--check", a->check, "validate this request file instead of generating");
  sub.add_option("--check-list", a->check_list,
                 "validate a sequential request list: each request applied to the result of the previous");
  return [a]() -> int {
    using namespace lethe::datasets;
    using namespace lethe::unlearning;
    if (a->check.empty() && a->check_list.empty()) {
      LETHE_CHECK(!a->out.empty(), "--out FILE is required when generating");
      lethe::formats::check_writable(a->out);  // before loading the data
    }
    Dataset ds = load_mmrec(a->data);
    if (!a->check.empty()) {
      Request req = read_request(a->check);
      print_resolution(req, resolve(ds, req));
      return 0;
    }
    if (!a->check_list.empty()) {
      for (const std::string& path : read_request_list(a->check_list)) {
        Request req = read_request(path);
        Resolution res = resolve(ds, req);
        std::cout << "== " << path << "\n";
        print_resolution(req, res);
        ds = apply_request(ds, res);
      }
      return 0;
    }
    LETHE_CHECK(!a->out.empty(), "--out FILE is required when generating");
    RequestSpec spec;
    spec.kind = parse_request_kind(a->kind);
    spec.fraction = a->fraction;
    spec.select = parse_select(a->select);
    spec.seed = a->seed;
    spec.modality = a->modality;
    spec.drop = a->drop;
    Request req = generate_request(ds, spec);
    Resolution res = resolve(ds, req);  // generated requests always resolve; this is the same check
    std::ostringstream c;
    c << "lethe request: kind " << a->kind << ", fraction " << a->fraction << ", select " << a->select
      << ", seed " << a->seed << ", data " << ds.name;
    write_request(req, a->out, c.str());
    std::cout << "wrote " << a->out << "\n";
    print_resolution(req, res);
    return 0;
  };
});
}  // namespace
