#include "src/cli/cmd_import.h"
#include "src/cli/provider_select.h"
#include "nic/backend.h"
#include "nic/lock.h"
#include "nic/reconciler.h"

#include <string>
#include <vector>

#include "nic/config.h"
#include "nic/importer.h"

namespace nic::cli {
namespace {

// --output-state is the design's (§9.3) name for the shared --state option.
Invocation WithStateAlias(const Invocation& inv) {
  Invocation out{inv.command, {}};
  for (const auto& a : inv.args) {
    if (a == "--output-state") {
      out.args.push_back("--state");
    } else if (a.rfind("--output-state=", 0) == 0) {
      out.args.push_back("--state=" + a.substr(std::string("--output-state=").size()));
    } else {
      out.args.push_back(a);
    }
  }
  return out;
}

}  // namespace

namespace {

Result<BackendConfig> TerraformBackendConfig(const std::string& type, const std::vector<std::string>& items,
                                             const std::vector<std::string>& overrides) {
  BackendConfig cfg;
  cfg.type = type;
  for (const auto* list : {&items, &overrides}) {
    for (const auto& item : *list) {
      auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0) return Status::Usage("--terraform-backend-config \"" + item + "\" must be key=value");
      cfg.values[item.substr(0, eq)] = item.substr(eq + 1);
    }
  }
  return cfg;
}

// Reads Terraform's own remote state without writing or locking anything. Terraform's lock is
// checked first: importing while Terraform applies would capture a state about to change, so a
// held lock (DynamoDB item / .tflock / blob lease, in Terraform's format) refuses the import
// and names the holder.
Result<TerraformStateSource> ReadRemoteTerraformState(const BackendConfig& cfg, const std::string& stage) {
  NIC_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenBackend(cfg));
  NIC_ASSIGN_OR_RETURN(std::optional<LockInfo> holder, backend->CurrentLock());
  if (holder) {
    Status st = LockHeldError(*holder, "Terraform's " + cfg.type, nullptr);
    st.Prepend("refusing to import stage " + stage + " from " + backend->Location() + " while Terraform holds its lock");
    return st;
  }
  NIC_ASSIGN_OR_RETURN(StateBlob blob, backend->ReadState());
  if (!blob.exists || blob.bytes.empty()) {
    return Status::NotFound("no Terraform state for stage " + stage + " at " + backend->Location())
        .WithSuggestion("check the backend settings (bucket/prefix/key) against the terraform_state section Nebari uses");
  }
  return TerraformStateSource{cfg.type + "://" + backend->Location(), stage, std::move(blob.bytes)};
}

Result<std::vector<TerraformStateSource>> ReadTerraformRemoteStates(const cxxopts::ParseResult& p) {
  std::string type = p["terraform-backend"].as<std::string>();
  std::vector<std::string> items, items03;
  if (p.count("terraform-backend-config")) items = p["terraform-backend-config"].as<std::vector<std::string>>();
  if (p.count("terraform-backend-config-03")) items03 = p["terraform-backend-config-03"].as<std::vector<std::string>>();
  std::vector<TerraformStateSource> out;
  NIC_ASSIGN_OR_RETURN(BackendConfig c02, TerraformBackendConfig(type, items, {}));
  NIC_ASSIGN_OR_RETURN(TerraformStateSource s02, ReadRemoteTerraformState(c02, "02"));
  out.push_back(std::move(s02));
  if (!items03.empty()) {
    NIC_ASSIGN_OR_RETURN(BackendConfig c03, TerraformBackendConfig(type, items, items03));
    NIC_ASSIGN_OR_RETURN(TerraformStateSource s03, ReadRemoteTerraformState(c03, "03"));
    out.push_back(std::move(s03));
  }
  return out;
}

}  // namespace

int RunImport(const Invocation& raw) {
  Invocation inv = WithStateAlias(raw);
  cxxopts::Options options("nic import",
                           "Import Terraform-managed Nebari infrastructure (stages 02 and 03) into a NIC state.\n"
                           "Nothing in the cloud or the cluster is changed.");
  options.add_options()
      ("from-terraform", "Import from Terraform state files (the only source supported)")
      ("config", "nebari-config.yaml", cxxopts::value<std::string>())
      ("f", "nebari-config.yaml (same as --config)", cxxopts::value<std::string>())
      ("terraform-state-02", "Stage 02 (infrastructure) tfstate file", cxxopts::value<std::string>())
      ("terraform-state-03", "Stage 03 (kubernetes-initialize) tfstate file", cxxopts::value<std::string>())
      ("terraform-state", "A single tfstate holding both stages", cxxopts::value<std::string>())
      ("terraform-backend", "Read stage 02 (and 03) from Terraform's remote state: s3, gcs or azurerm (read-only)",
       cxxopts::value<std::string>())
      ("terraform-backend-config", "Terraform backend setting key=value for stage 02 (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("terraform-backend-config-03", "Settings for stage 03 that differ from stage 02's, e.g. key=... (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("output-file", "Where to write outputs.json (mode 0600)", cxxopts::value<std::string>())
      ("strict", "Fail when any managed Terraform resource has no NIC mapping")
      ("verify-live", "Read every imported resource through its provider; exit 2 if any is missing or differs")
      ("force", "Replace an existing NIC state");
  AddFormatOption(options);
  AddStateOptions(options);
  options.custom_help("--from-terraform --config nebari-config.yaml --terraform-state-02 A.tfstate "
                      "[--terraform-state-03 B.tfstate | --terraform-state X.tfstate] "
                      "--output-state nic-state.json --output-file outputs.json [--strict] [--force] "
                      "[--format json]");
  int rc = 0;
  auto parsed = ParseArgs(options, inv, &rc);
  if (!parsed) return rc;
  auto format = GetFormat(*parsed);
  if (!format.ok()) return ReportError(format.status(), OutputFormat::kText);
  OutputFormat fmt = *format;

  if (!parsed->count("from-terraform")) {
    return ReportError(Status::Usage("nic import needs --from-terraform (the only import source)"), fmt);
  }
  std::string config_path = parsed->count("config") ? (*parsed)["config"].as<std::string>()
                            : parsed->count("f")    ? (*parsed)["f"].as<std::string>()
                                                    : "";
  if (config_path.empty()) return ReportError(Status::Usage("--config nebari-config.yaml is required"), fmt);

  std::vector<TerraformStateSource> sources;
  if (parsed->count("terraform-backend")) {
    if (parsed->count("terraform-state") || parsed->count("terraform-state-02") || parsed->count("terraform-state-03")) {
      return ReportError(Status::Usage("--terraform-backend replaces the --terraform-state* files; give one or the other"), fmt);
    }
    auto remote = ReadTerraformRemoteStates(*parsed);
    if (!remote.ok()) return ReportError(remote.status(), fmt);
    sources = std::move(remote).value();
  } else if (parsed->count("terraform-state")) {
    if (parsed->count("terraform-state-02") || parsed->count("terraform-state-03")) {
      return ReportError(Status::Usage("--terraform-state cannot be combined with --terraform-state-02/-03"), fmt);
    }
    sources.push_back({(*parsed)["terraform-state"].as<std::string>(), "", std::nullopt});
  } else {
    if (!parsed->count("terraform-state-02")) {
      return ReportError(Status::Usage("--terraform-state-02 (or --terraform-state) is required"), fmt);
    }
    sources.push_back({(*parsed)["terraform-state-02"].as<std::string>(), "02", std::nullopt});
    if (parsed->count("terraform-state-03")) {
      sources.push_back({(*parsed)["terraform-state-03"].as<std::string>(), "03", std::nullopt});
    }
  }

  ConfigLoadResult loaded = LoadNebariConfig(config_path);
  if (!loaded.ok()) return ReportError(loaded.ToStatus(), fmt);
  const NebariConfig& config = *loaded.config;

  ImportOptions opts;
  opts.provider = config.provider;
  opts.project_name = config.project_name;
  opts.region = config.region;
  opts.configuration_hash = ConfigHash(config);
  opts.strict = parsed->count("strict") > 0;
  opts.force = parsed->count("force") > 0;
  if (parsed->count("output-file")) opts.outputs_path = (*parsed)["output-file"].as<std::string>();

  auto state = OpenState(*parsed);
  if (!state.ok()) return ReportError(state.status(), fmt);
  auto result = ImportFromTerraform(sources, opts, state->manager.get());
  if (!result.ok()) return ReportError(result.status(), fmt);

  nlohmann::json verification;
  int rc_verify = kExitOk;
  if (parsed->count("verify-live")) {
    // §10.4 VerifyImportedResources: the imported state against live reads. Nothing is
    // changed; missing or differing resources are reported and make the exit code 2.
    ProviderContext pc;
    pc.project_name = config.project_name;
    pc.region = config.region;
    pc.config_hash = opts.configuration_hash;
    auto provider = OpenProvider(result->state.provider, pc);
    if (!provider.ok()) {
      return ReportError(Status(provider.status()).Prepend("the state was imported, but --verify-live cannot read live resources"), fmt);
    }
    if (fmt == OutputFormat::kText) Log("Verifying imported resources against the " + provider.value()->Name() + " APIs ...");
    auto report = DetectDrift(result->state, *provider.value());
    if (!report.ok()) return ReportError(Status(report.status()).Prepend("the state was imported, but verifying it failed"), fmt);
    nlohmann::json missing = nlohmann::json::array(), mismatched = nlohmann::json::array();
    for (const auto& n : report->plan.notes) {
      if (n.kind == "deleted-outside") missing.push_back(n.address);
      if (n.kind == "drift") {
        nlohmann::json fields = nlohmann::json::array();
        for (const auto& f : n.fields) fields.push_back({{"field", f.field}, {"terraform_value", f.recorded}, {"live_value", f.live}});
        mismatched.push_back({{"address", n.address}, {"fields", fields}});
      }
    }
    verification = {{"checked", report->plan.refreshed}, {"missing", missing}, {"mismatched", mismatched},
                    {"ok", missing.empty() && mismatched.empty()}};
    if (!verification["ok"].get<bool>()) rc_verify = kExitChangesPresent;
  }

  if (fmt == OutputFormat::kJson) {
    nlohmann::json j = ImportReportToJson(result->report);
    if (!verification.is_null()) j["verification"] = verification;
    PrintJson(j);
  } else {
    std::cout << FormatImportReport(result->report);
    if (!verification.is_null()) {
      std::cout << "\nLive verification: " << verification["checked"].get<int>() << " resources read, "
                << verification["missing"].size() << " missing, " << verification["mismatched"].size() << " differing\n";
      for (const auto& m : verification["missing"]) std::cout << "  ✗ missing live: " << m.get<std::string>() << "\n";
      for (const auto& m : verification["mismatched"]) {
        std::cout << "  ✗ differs: " << m["address"].get<std::string>() << "\n";
        for (const auto& f : m["fields"]) {
          std::cout << "      " << f["field"].get<std::string>() << ": terraform " << f["terraform_value"].dump() << ", live "
                    << f["live_value"].dump() << "\n";
        }
      }
      if (verification["ok"].get<bool>()) std::cout << "  ✓ every imported resource exists and matches\n";
    }
  }
  // The imported document and the outputs are written and reported: leave them to the process's
  // end instead of freeing a large tree node by node (see KeepUntilExit).
  KeepUntilExit(std::move(result).value());
  KeepUntilExit(std::move(loaded));
  return rc_verify;
}

}  // namespace nic::cli
