// Formatting and writing of unlearning reports (report.h).
#include "models/unlearning/report.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "engine/formats/atomic_file.h"

namespace lethe::unlearning {

namespace {

using json = nlohmann::json;

std::string num(const json& r, const char* key, int decimals = 4) {
  if (!r.contains(key) || r[key].is_null()) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, r[key].get<double>());
  return buf;
}

}  // namespace

std::string format_report_table(const json& report) {
  std::ostringstream s;
  s << "| model | retain R@20 | retain N@20 | forget R@20 | MIA bal. acc | Jaccard@20 vs gold | time (s) | "
       "speed-up vs gold |\n"
    << "|---|---|---|---|---|---|---|---|\n";
  for (const json& r : report.at("rows")) {
    std::string speed = num(r, "speedup_vs_gold", 1);
    if (speed != "–") speed += "x";
    s << "| " << r.at("model").get<std::string>() << " | " << num(r, "retain_recall@20") << " | "
      << num(r, "retain_ndcg@20") << " | " << num(r, "forget_recall@20") << " | "
      << num(r, "mia_balanced_accuracy") << " | " << num(r, "jaccard@20_vs_gold") << " | "
      << num(r, "time_s", 2) << " | " << speed << " |\n";
  }
  return s.str();
}

std::string format_report_md(const json& report) {
  std::ostringstream s;
  const json& q = report.at("request");
  s << "# Unlearning report\n\n"
    << "Request: kind " << q.value("kind", "?") << (q.value("drop", false) ? " (drop)" : "") << ", "
    << q.value("steps", 1) << " step(s); forget set " << q.value("forget_rows", 0) << " train rows ("
    << q.value("affected_users", 0) << " users), retain set " << q.value("retain_rows", 0) << " rows";
  if (q.contains("erased") && !q["erased"].empty()) s << "; erased feature rows " << q["erased"].dump();
  s << ".\n\n" << format_report_table(report) << "\n";
  s << "Retain metrics are measured on test interactions outside the request with the retained training "
       "items "
       "masked; forget R@20 uses the forget set as targets; MIA: balanced accuracy of a membership attack "
       "trained "
       "on the original model (0.5 = nothing left to detect). See docs/unlearning.md.\n\n";
  s << "## Details\n\n| model | epochs | stop | users' test R@20 | Kendall tau (forget, vs gold) | NDCG@20 "
       "active 20% | NDCG@20 rest | params differ | forget R fell |\n"
    << "|---|---|---|---|---|---|---|---|---|\n";
  for (const json& r : report.at("rows")) {
    std::string users_test = "–";
    for (const char* k : {"forgotten_users_test_recall@20", "affected_users_test_recall@20"})
      if (r.contains(k)) users_test = num(r, k);
    const json sanity = r.value("sanity", json::object());
    auto flag = [&](const char* k) {
      return sanity.contains(k) ? (sanity[k].get<bool>() ? "yes" : "NO") : "–";
    };
    s << "| " << r.at("model").get<std::string>() << " | "
      << (r["epochs"].is_null() ? "–" : r["epochs"].dump()) << " | " << r.value("stop_reason", "–")
      << (r.contains("stopped_on") ? " (" + r["stopped_on"].get<std::string>() + ")" : "") << " | "
      << users_test << " | " << num(r, "kendall_tau_forget_vs_gold") << " | "
      << num(r.at("fairness"), "ndcg@20_active20") << " | " << num(r.at("fairness"), "ndcg@20_rest") << " | "
      << flag("params_differ_from_original") << " | " << flag("forget_recall_fell") << " |\n";
  }
  if (report.contains("sanity") && report["sanity"].contains("methods_differ")) {
    s << "\nMethods differ pairwise:";
    for (const json& p : report["sanity"]["methods_differ"])
      s << " " << p["models"][0].get<std::string>() << "/" << p["models"][1].get<std::string>() << " "
        << (p["differ"].get<bool>() ? "yes" : "NO") << ";";
    s << "\n";
  }
  if (report.contains("mia_attack") && report["mia_attack"].contains("train_balanced_accuracy"))
    s << "\nMembership attack: trained on " << report["mia_attack"]["train_members"] << " member and "
      << report["mia_attack"]["train_nonmembers"]
      << " non-member pairs of the original model (its own balanced "
      << "accuracy there: " << num(report["mia_attack"], "train_balanced_accuracy") << ").\n";
  return s.str();
}

void write_report(const std::string& dir, const json& report) {
  std::filesystem::create_directories(dir);
  formats::write_file_atomic(dir + "/report.json", report.dump(2) + "\n");
  formats::write_file_atomic(dir + "/report.md", format_report_md(report));
}

}  // namespace lethe::unlearning
