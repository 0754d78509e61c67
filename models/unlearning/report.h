// Unlearning reports: report.json (the audit's JSON, run_audit in audit.h) and report.md (a Markdown table,
// one row per model: retain R@20, retain N@20, forget R@20, MIA balanced accuracy, Jaccard@20 vs gold,
// time, speed-up vs gold; then fairness, agreement and sanity details). Both written atomically.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace lethe::unlearning {

// The Markdown report of an audit JSON.
std::string format_report_md(const nlohmann::json& report);
// The main table only (also printed by `lethe demo` and `lethe audit`).
std::string format_report_table(const nlohmann::json& report);
// Writes DIR/report.json and DIR/report.md (temporary names + rename; DIR is created).
void write_report(const std::string& dir, const nlohmann::json& report);

}  // namespace lethe::unlearning
