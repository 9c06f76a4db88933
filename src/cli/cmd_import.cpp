#include "src/cli/cmd_import.h"

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
      ("output-file", "Where to write outputs.json (mode 0600)", cxxopts::value<std::string>())
      ("strict", "Fail when any managed Terraform resource has no NIC mapping")
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
  if (parsed->count("terraform-state")) {
    if (parsed->count("terraform-state-02") || parsed->count("terraform-state-03")) {
      return ReportError(Status::Usage("--terraform-state cannot be combined with --terraform-state-02/-03"), fmt);
    }
    sources.push_back({(*parsed)["terraform-state"].as<std::string>(), ""});
  } else {
    if (!parsed->count("terraform-state-02")) {
      return ReportError(Status::Usage("--terraform-state-02 (or --terraform-state) is required"), fmt);
    }
    sources.push_back({(*parsed)["terraform-state-02"].as<std::string>(), "02"});
    if (parsed->count("terraform-state-03")) {
      sources.push_back({(*parsed)["terraform-state-03"].as<std::string>(), "03"});
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

  if (fmt == OutputFormat::kJson) {
    PrintJson(ImportReportToJson(result->report));
  } else {
    std::cout << FormatImportReport(result->report);
  }
  return kExitOk;
}

}  // namespace nic::cli
