// nic validate: parse and check nebari-config.yaml offline; optionally compare the fields that
// cannot change against a state document.
#include <filesystem>
#include <iostream>

#include "nic/config.h"
#include "nic/state.h"
#include "nic/state_encryption_config.h"
#include "src/cli/cmd_validate.h"

namespace nic::cli {
namespace {

nlohmann::json DiagnosticsJson(const std::vector<ConfigDiagnostic>& ds) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& d : ds) a.push_back(DiagnosticToJson(d));
  return a;
}

void PrintText(const std::string& file, const ConfigLoadResult& r,
               const std::vector<ConfigDiagnostic>& errors) {
  for (const auto& e : errors) std::cout << "error: " << FormatDiagnostic(e) << "\n";
  for (const auto& w : r.warnings) std::cout << "warning: " << FormatDiagnostic(w) << "\n";
  if (errors.empty() && r.config) {
    const NebariConfig& c = *r.config;
    std::cout << file << ": valid (provider " << c.provider << ", project " << c.project_name
              << ", namespace " << c.namespace_name;
    if (!c.region.empty()) std::cout << ", region " << c.region;
    std::cout << ", " << c.node_groups.size() << " node group"
              << (c.node_groups.size() == 1 ? "" : "s") << ")\n";
    for (const auto& g : c.node_groups) {
      std::cout << "  node group " << g.name << ": " << g.instance << ", " << g.min_nodes << ".."
                << g.max_nodes << " nodes\n";
    }
    std::cout << "  config hash " << ConfigHash(c) << "\n";
  } else {
    std::cout << file << ": invalid: " << errors.size() << " error" << (errors.size() == 1 ? "" : "s")
              << ", " << r.warnings.size() << " warning" << (r.warnings.size() == 1 ? "" : "s") << "\n";
  }
}

}  // namespace

int RunValidate(const Invocation& inv) {
  cxxopts::Options options("nic validate",
                           "Check nebari-config.yaml offline: schema, Nebari's defaults and rules, "
                           "and (with --state) the fields that cannot change after deploy.");
  options.add_options()("f,file", "Config file (- for stdin)", cxxopts::value<std::string>())(
      "state", "State document to compare immutable fields against", cxxopts::value<std::string>());
  AddFormatOption(options);
  int rc = 0;
  auto parsed = ParseArgs(options, inv, &rc);
  if (!parsed) return rc;
  auto format = GetFormat(*parsed);
  if (!format.ok()) return ReportError(format.status(), OutputFormat::kText);
  if (!parsed->count("file")) {
    return ReportError(Status::Usage("nic validate needs -f FILE (the nebari-config.yaml to check)")
                           .WithSuggestion("nic validate -f nebari-config.yaml"),
                       *format);
  }
  const std::string file = (*parsed)["file"].as<std::string>();

  ConfigLoadResult result;
  if (file == "-") {
    auto text = ReadInput("-");
    if (!text.ok()) return ReportError(text.status(), *format);
    result = ParseNebariConfig(*text, "<stdin>");
  } else {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      return ReportError(Status::NotFound("config file " + file + " does not exist or is not a file")
                             .WithSuggestion("pass the path of nebari-config.yaml with -f"),
                         *format);
    }
    result = LoadNebariConfig(file);
  }

  std::vector<ConfigDiagnostic> errors = result.errors;
  if (parsed->count("state") && result.config) {
    const std::string state_path = (*parsed)["state"].as<std::string>();
    auto bytes = ReadInput(state_path);
    if (!bytes.ok()) return ReportError(bytes.status(), *format);
    // An encrypted state is opened with the same NIC_STATE_* keys as every state command.
    auto enc = StateEncryptionFromEnv(auth::ProcessEnv());
    if (!enc.ok()) return ReportError(enc.status(), *format);
    StateEncryption none{StateEncryptionOptions{}};
    auto plain = (enc.value() ? enc.value().get() : &none)->Decode(*bytes, state_path);
    if (!plain.ok()) return ReportError(plain.status(), *format);
    auto doc = ParseStateDocument(*plain, state_path);
    if (!doc.ok()) return ReportError(doc.status(), *format);
    for (auto& e : CheckImmutableFields(*result.config, *doc, state_path)) errors.push_back(std::move(e));
  }

  const bool valid = errors.empty() && result.config.has_value();
  if (*format == OutputFormat::kJson) {
    nlohmann::json out = {{"valid", valid},
                          {"file", result.config ? result.config->source_path : file},
                          {"errors", DiagnosticsJson(errors)},
                          {"warnings", DiagnosticsJson(result.warnings)},
                          {"config_hash", nullptr},
                          {"model", nullptr}};
    if (valid) {
      out["config_hash"] = ConfigHash(*result.config);
      out["model"] = CanonicalConfigModel(*result.config);
      out["defaults_applied"] = result.config->defaults_applied;
    }
    PrintJson(out);
  } else {
    PrintText(file == "-" ? "<stdin>" : file, result, errors);
  }
  return valid ? kExitOk : ExitCodeFor(ErrorCode::kInvalidConfig);
}

}  // namespace nic::cli
