// The import report: text for people (§10.2 steps 2, 4, 5) and JSON for the Python adapter
// (§9.2 reads resource_count). Both carry the same facts; values are never printed, only
// addresses, types, provider IDs and dropped paths.
#include <map>

#include <fmt/format.h>

#include "nic/importer.h"

namespace nic {

using nlohmann::json;

json ImportReportToJson(const ImportReport& r) {
  json j = json::object();
  j["success"] = true;
  j["command"] = "import";
  j["provider"] = r.provider;
  j["project_name"] = r.project_name;
  j["resource_count"] = r.resource_count;
  j["imported_count"] = r.imported.size();
  j["unmanaged_count"] = r.unmanaged.size();
  j["data_source_count"] = r.data_sources.size();
  j["dropped_sensitive_count"] = r.dropped.size();
  json sources = json::array();
  for (const auto& s : r.sources) {
    sources.push_back({{"path", s.path},
                       {"stage", s.stage},
                       {"format_version", s.format_version},
                       {"terraform_version", s.terraform_version},
                       {"serial", s.serial},
                       {"lineage", s.lineage},
                       {"bytes", s.bytes},
                       {"resource_blocks", s.resource_blocks},
                       {"managed_instances", s.managed_instances},
                       {"data_instances", s.data_instances}});
  }
  j["sources"] = std::move(sources);
  json counts = json::object();
  for (const auto& [k, n] : r.counts_by_kind) counts[k] = n;
  j["counts"] = std::move(counts);
  json imported = json::array();
  for (const auto& i : r.imported) {
    imported.push_back({{"terraform_address", i.terraform_address},
                        {"type", i.type},
                        {"kind", i.kind},
                        {"provider_id", i.provider_id},
                        {"source", i.source},
                        {"nic_addresses", i.nic_addresses},
                        {"tainted", i.tainted}});
  }
  j["imported"] = std::move(imported);
  json unmanaged = json::array();
  for (const auto& u : r.unmanaged) {
    unmanaged.push_back({{"address", u.address},
                         {"type", u.type},
                         {"id", u.id},
                         {"source", u.source},
                         {"reason", u.reason}});
  }
  j["unmanaged"] = std::move(unmanaged);
  j["data_sources"] = r.data_sources;
  json dropped = json::array();
  for (const auto& d : r.dropped) {
    dropped.push_back({{"terraform_address", d.terraform_address}, {"path", d.path}, {"source", d.source}});
  }
  j["dropped_sensitive"] = std::move(dropped);
  j["warnings"] = r.warnings;
  j["state"] = {{"backend", r.state_backend},
                {"location", r.state_location},
                {"lineage", r.lineage},
                {"serial", r.serial}};
  j["outputs_file"] = r.outputs_path.empty() ? json() : json(r.outputs_path);
  return j;
}

std::string FormatImportReport(const ImportReport& r) {
  std::string out;
  out += "Reading Terraform state files...\n";
  for (const auto& s : r.sources) {
    out += fmt::format("  ✓ {}{}: format v{}, Terraform {}, serial {}, {} managed / {} data instances\n",
                       s.stage.empty() ? "state" : "stage " + s.stage, s.path.empty() ? "" : " " + s.path,
                       s.format_version, s.terraform_version.empty() ? "?" : s.terraform_version,
                       s.serial, s.managed_instances, s.data_instances);
  }

  out += "\nExtracting resource information...\n";
  // Group by kind, keeping the first-seen order of kinds.
  std::vector<std::string> kinds;
  std::map<std::string, std::vector<const ImportedResource*>> by_kind;
  for (const auto& i : r.imported) {
    if (!by_kind.count(i.kind)) kinds.push_back(i.kind);
    by_kind[i.kind].push_back(&i);
  }
  for (const auto& k : kinds) {
    out += fmt::format("  ✓ {}: {}\n", k, by_kind[k].size());
    for (const auto* i : by_kind[k]) {
      std::string nic;
      for (const auto& a : i->nic_addresses) nic += (nic.empty() ? "" : ", ") + a;
      out += fmt::format("      {} -> {}{}{}\n", i->terraform_address, nic,
                         i->provider_id.empty() ? "" : "  (id " + i->provider_id + ")",
                         i->tainted ? "  [tainted]" : "");
    }
  }
  if (!r.counts_by_kind.empty()) {
    out += "\n  NIC resources per collection:\n";
    for (const auto& [k, n] : r.counts_by_kind) out += fmt::format("    {:<40} {}\n", k, n);
  }

  if (!r.unmanaged.empty()) {
    out += fmt::format("\nNot imported ({}), recorded under `unmanaged`:\n", r.unmanaged.size());
    for (const auto& u : r.unmanaged) {
      out += fmt::format("  ! {} ({}){}: {}\n", u.address, u.type, u.id.empty() ? "" : " id " + u.id,
                         u.reason);
    }
  }
  if (!r.data_sources.empty()) {
    out += fmt::format("\nData sources read by Terraform (never imported): {}\n", r.data_sources.size());
  }
  if (!r.dropped.empty()) {
    out += fmt::format("\nSensitive values left out of the NIC state ({}):\n", r.dropped.size());
    for (const auto& d : r.dropped) {
      out += fmt::format("  - {}{}\n", d.terraform_address, d.path.empty() ? "" : " " + d.path);
    }
  }
  if (!r.warnings.empty()) {
    out += "\nWarnings:\n";
    for (const auto& w : r.warnings) out += "  ! " + w + "\n";
  }

  out += "\nCreating NIC state file...\n";
  if (!r.state_location.empty()) {
    out += fmt::format("  ✓ State: {} ({} backend, lineage {}, serial {})\n", r.state_location,
                       r.state_backend, r.lineage, r.serial);
  }
  out += fmt::format("  ✓ Tracking {} resources\n", r.resource_count);
  out += "  ✓ All marked as imported (preserve as-is)\n";
  if (!r.outputs_path.empty()) {
    out += "\nGenerating outputs for application stages...\n";
    out += fmt::format("  ✓ Outputs file: {}\n", r.outputs_path);
  }
  return out;
}

}  // namespace nic
