// nic plan | deploy | drift detect|diff|accept|fix | status | destroy.
#include <unistd.h>

#include <chrono>
#include <iostream>

#include "nic/config.h"
#include "nic/env.h"
#include "nic/importer.h"
#include "nic/reconciler.h"
#include "nic/version.h"
#include "src/cli/cmd_reconcile.h"
#include "src/cli/provider_select.h"

namespace nic::cli {
namespace {

using json = nlohmann::json;

void AddConfigOption(cxxopts::Options& o) {
  o.add_options()("f,file", "nebari-config.yaml", cxxopts::value<std::string>())(
      "parallelism", "Cloud requests and independent changes at once", cxxopts::value<int>()->default_value("10"));
}

void AddPlanOptions(cxxopts::Options& o) {
  o.add_options("Plan")
      ("refresh", "Read live state through the provider (--refresh=false: compare config and state only)",
       cxxopts::value<bool>()->default_value("true")->implicit_value("true"))
      ("allow-replace", "Permit replacing resources whose immutable fields changed")
      ("allow-version-upgrade", "Permit changing the cluster's Kubernetes version")
      ("prune", "Delete resources in the state that the config no longer has")
      ("include-imported", "With --prune/destroy: include resources imported from Terraform")
      ("recreate-missing", "Recreate resources that were deleted outside NIC")
      ("adopt-orphans", "Record NIC-tagged resources found live but missing from the state");
}

PlanOptions GetPlanOptions(const cxxopts::ParseResult& p) {
  PlanOptions o;
  o.refresh = p["refresh"].as<bool>();
  o.allow_replace = p.count("allow-replace") > 0;
  o.allow_version_upgrade = p.count("allow-version-upgrade") > 0;
  o.prune = p.count("prune") > 0;
  o.include_imported = p.count("include-imported") > 0;
  o.recreate_missing = p.count("recreate-missing") > 0;
  o.adopt_orphans = p.count("adopt-orphans") > 0;
  return o;
}

struct Ctx {
  cxxopts::ParseResult parsed;
  OutputFormat format = OutputFormat::kText;
  StateContext state;
  std::optional<NebariConfig> config;
};

// Options, format, state; the config when `need_config`.
std::optional<Ctx> Prepare(cxxopts::Options& options, const Invocation& inv, bool need_config, int* rc) {
  AddFormatOption(options);
  AddStateOptions(options);
  options.add_options("Kubernetes")
      ("kubeconfig", "The Kubernetes API for the stage-03 objects (used alone; a cloud without it plans the cloud only)",
       cxxopts::value<std::string>())
      ("kube-context", "Context in --kubeconfig (default: its current-context)", cxxopts::value<std::string>());
  auto parsed = ParseArgs(options, inv, rc);
  if (!parsed) return std::nullopt;
  Ctx c;
  auto fmt = GetFormat(*parsed);
  if (!fmt.ok()) {
    *rc = ReportError(fmt.status(), OutputFormat::kText);
    return std::nullopt;
  }
  c.format = *fmt;
  if (need_config) {
    if (!parsed->count("file")) {
      *rc = ReportError(Status::Usage("nic " + inv.command + " needs -f nebari-config.yaml"), c.format);
      return std::nullopt;
    }
    auto loaded = LoadNebariConfig((*parsed)["file"].as<std::string>());
    if (!loaded.ok()) {
      *rc = ReportError(loaded.ToStatus().WithSuggestion("run nic validate -f " + (*parsed)["file"].as<std::string>() + " for every error"),
                        c.format);
      return std::nullopt;
    }
    c.config = std::move(*loaded.config);
  }
  auto st = OpenState(*parsed);
  if (!st.ok()) {
    *rc = ReportError(st.status(), c.format);
    return std::nullopt;
  }
  c.state = std::move(st).value();
  c.parsed = std::move(*parsed);
  return c;
}

ProviderContext MakeProviderContext(const Ctx& c, const StateDocument* doc) {
  ProviderContext pc;
  pc.project_name = c.config ? c.config->project_name : (doc ? doc->project_name : "");
  pc.region = c.config ? c.config->region : (doc ? doc->region : "");
  if (pc.region.empty() && doc) pc.region = doc->region;
  if (c.config) pc.cloud_project = c.config->provider_settings.value("project", "");
  if (pc.cloud_project.empty() && doc && doc->cloud.contains("cluster") && doc->cloud["cluster"].is_object()) {
    // A GKE cluster's id (Terraform's and NIC's) is "projects/<project>/locations/<l>/clusters/<name>".
    std::string id = doc->cloud["cluster"].value("id", "");
    if (id.rfind("projects/", 0) == 0) pc.cloud_project = id.substr(9, id.find('/', 9) - 9);
  }
  pc.nic_version = kNicVersion;
  pc.config_hash = c.config ? ConfigHash(*c.config) : (doc ? doc->metadata.configuration_hash : "");
  if (c.parsed.count("parallelism")) pc.parallelism = c.parsed["parallelism"].as<int>();
  return pc;
}

KubernetesTarget Kube(const Ctx& c) {
  KubernetesTarget k;
  if (c.parsed.count("kubeconfig")) k.kubeconfig = c.parsed["kubeconfig"].as<std::string>();
  if (c.parsed.count("kube-context")) k.context = c.parsed["kube-context"].as<std::string>();
  return k;
}

Result<StateDocument> ReadState(Ctx& c) {
  ParseNotes notes;
  NIC_ASSIGN_OR_RETURN(auto doc, c.state.manager->Read(&notes));
  for (const auto& m : notes.messages) Log(m);
  if (!doc) {
    return Status::NotFound("there is no state at " + c.state.backend->Location())
        .WithSuggestion("import the Terraform-managed stack first: nic import --from-terraform ...")
        .WithSuggestion("or point at the right state with --state / --backend / --backend-config");
  }
  return *std::move(doc);
}

void ProgressLine(const std::string& line) { Log(line); }

}  // namespace

int RunPlan(const Invocation& inv) {
  cxxopts::Options options("nic plan", "Show what deploy would change: config × state × live reads.");
  AddConfigOption(options);
  AddPlanOptions(options);
  options.add_options()("detailed-exitcode", "Exit 2 when there are changes (0 none, 1 error)");
  int rc = 0;
  auto c = Prepare(options, inv, true, &rc);
  if (!c) return rc;
  auto lock = c->state.manager->Lock("plan");
  if (!lock.ok()) return ReportError(lock.status(), c->format);
  auto read = c->state.manager->Read();
  if (!read.ok()) return ReportError(read.status(), c->format);
  // No state yet: plan a fresh deploy from an empty document.
  Result<StateDocument> doc = read.value() ? std::move(*read.value())
                                           : StateDocument::NewEmpty(c->config->provider, c->config->project_name,
                                                                     c->config->region, Env::Default()->NowMicros());
  if (!read.value()) Log("no state at " + c->state.backend->Location() + " yet: planning a fresh deploy");
  PlanOptions po = GetPlanOptions(c->parsed);
  std::unique_ptr<Provider> provider;
  if (po.refresh) {
    auto p = OpenProvider(doc->provider, MakeProviderContext(*c, &doc.value()), Kube(*c));
    if (!p.ok()) return ReportError(Status(p.status()).WithSuggestion("plan offline with --refresh=false"), c->format);
    provider = std::move(p).value();
    Log("Refreshing state from the " + provider->Name() + " APIs ...");
  }
  auto desired = BuildDesiredModel(*c->config);
  if (!desired.ok()) return ReportError(desired.status(), c->format);
  auto plan = ComputePlan(desired.value(), doc.value(), provider.get(), po);
  (void)c->state.manager->Unlock();
  if (!plan.ok()) return ReportError(plan.status(), c->format);
  if (c->format == OutputFormat::kJson) {
    json j = plan->ToJson();
    j["success"] = !plan->has_refusals();
    j["state_serial"] = doc->serial;
    PrintJson(j);
    KeepUntilExit(std::move(j));
  } else {
    std::cout << "Plan for " << doc->project_name << " (" << doc->provider << "), state serial " << doc->serial
              << (po.refresh ? ", refreshed " + std::to_string(plan->refreshed) + " resources" : ", not refreshed") << ":\n"
              << plan->ToText();
  }
  int exit_code = 0;
  if (plan->has_refusals()) {
    exit_code = ExitCodeFor(ErrorCode::kRefused);
  } else if (c->parsed.count("detailed-exitcode") && plan->change_count() > 0) {
    exit_code = kExitChangesPresent;
  }
  // The lock is released and nothing more is written; the state, the model and the plan are
  // only memory now (hundreds of MB at 100k resources), left to the process's end.
  KeepUntilExit(std::move(plan).value());
  KeepUntilExit(std::move(desired).value());
  KeepUntilExit(std::move(doc).value());
  KeepUntilExit(std::move(*c->config));
  return exit_code;
}

int RunDeploy(const Invocation& inv) {
  cxxopts::Options options("nic deploy",
                           "Plan and apply: lock, refresh, plan, apply in dependency order persisting the state after "
                           "each change, write outputs.json, unlock.");
  AddConfigOption(options);
  AddPlanOptions(options);
  options.add_options()("outputs", "Where to write outputs.json", cxxopts::value<std::string>())(
      "auto-approve", "Apply without asking")("rollback-on-failure", "Undo this run's changes if one fails");
  int rc = 0;
  auto c = Prepare(options, inv, true, &rc);
  if (!c) return rc;
  auto snapshot = c->state.manager->Read();
  if (!snapshot.ok()) return ReportError(snapshot.status(), c->format);
  StateDocument seed = snapshot.value() ? *snapshot.value() : StateDocument{};
  auto provider = OpenProvider(c->config->provider, MakeProviderContext(*c, snapshot.value() ? &seed : nullptr), Kube(*c));
  if (!provider.ok()) return ReportError(provider.status(), c->format);
  DeployOptions o;
  o.plan = GetPlanOptions(c->parsed);
  o.rollback_on_failure = c->parsed.count("rollback-on-failure") > 0;
  o.parallelism = c->parsed["parallelism"].as<int>();
  o.progress = ProgressLine;
  if (!c->parsed.count("auto-approve")) {
    // Show the plan first, then ask, as terraform apply does. Without a terminal (Nebari's
    // subprocess call) nobody can answer: creations and in-place updates go ahead, anything
    // that deletes or replaces needs --auto-approve, so nothing is destroyed by surprise.
    const bool interactive = ::isatty(STDIN_FILENO);
    auto lock = c->state.manager->Lock("plan");
    if (!lock.ok()) return ReportError(lock.status(), c->format);
    auto doc = ReadState(*c);
    if (!doc.ok()) return ReportError(doc.status(), c->format);
    auto plan = ComputePlan(BuildDesiredModel(*c->config).value(), doc.value(), provider.value().get(), o.plan);
    (void)c->state.manager->Unlock();
    if (!plan.ok()) return ReportError(plan.status(), c->format);
    if (!interactive) {
      Status destructive = Status::Refused("the plan deletes or replaces resources, which needs --auto-approve when nobody can confirm it");
      bool any = false;
      for (const auto& ch : plan->changes) {
        if (ch.action == ChangeAction::kDelete || ch.action == ChangeAction::kReplace) {
          destructive.WithSuggestion(ch.summary);
          any = true;
        }
      }
      if (any) return ReportError(destructive, c->format);
    } else {
      std::cerr << plan->ToText();
      if (plan->change_count() == 0) {
        std::cout << "Done. (0 changes)\n";
        return 0;
      }
      std::cerr << "Apply these changes? Only 'yes' will be accepted: ";
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "yes") {
        std::cerr << "Deploy cancelled.\n";
        return 1;
      }
    }
  }
  auto start = std::chrono::steady_clock::now();
  DeployResult result;
  Status st = Deploy(*c->state.manager, c->state.history.get(), *c->config, *provider.value(), o, &result);
  std::string outputs_file;
  if (st.ok() && c->parsed.count("outputs")) {
    outputs_file = c->parsed["outputs"].as<std::string>();
    StateManager reader(c->state.backend.get(), {});
    auto doc = reader.Read();
    if (doc.ok() && doc.value()) {
      Status w = Env::Default()->WriteFileAtomic(outputs_file, BuildOutputs(*doc.value(), OutputsContext{}).dump(2) + "\n");
      if (!w.ok()) st = w;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  json applied = json::array();
  for (const auto& a : result.applied) {
    json e = {{"address", a.address}, {"action", a.action}, {"ok", a.ok}, {"serial", a.serial}};
    if (!a.ok) e["error"] = a.error;
    applied.push_back(e);
  }
  if (!st.ok()) {
    if (c->format == OutputFormat::kJson) {
      json e = ErrorObject(st);
      e["plan"] = result.plan.ToJson();
      e["applied"] = applied;
      e["recovered"] = result.recovered;
      PrintJson(e);
      return st.exit_code();
    }
    if (!result.plan.changes.empty()) std::cerr << result.plan.ToText();
    return ReportError(st, c->format);
  }
  int n = 0;
  for (const auto& a : result.applied) n += a.ok;
  if (c->format == OutputFormat::kJson) {
    PrintJson({{"success", true}, {"changes_applied", n}, {"plan", result.plan.ToJson()}, {"applied", applied},
               {"recovered", result.recovered}, {"state_serial", result.final_serial}, {"outputs_file", outputs_file},
               {"elapsed_seconds", secs}});
  } else {
    for (const auto& r : result.recovered) std::cout << "Recovered: " << r << "\n";
    for (const auto& c2 : result.plan.changes) {
      if (c2.action != ChangeAction::kNoop) std::cout << c2.summary << "\n";
    }
    std::cout << "Done. (" << n << (n == 1 ? " change" : " changes") << ", state serial " << result.final_serial << ")\n";
    if (!outputs_file.empty()) std::cout << "Outputs written to " << outputs_file << "\n";
  }
  return 0;
}

namespace {

int DriftCommon(const Invocation& inv, const char* description, int mode) {
  cxxopts::Options options("nic " + inv.command, description);
  options.add_options()("detailed-exitcode", "Exit 2 when drift is present")(
      "address", "Only these resource addresses (repeatable)", cxxopts::value<std::vector<std::string>>())(
      "parallelism", "Cloud requests at once", cxxopts::value<int>()->default_value("10"));
  int rc = 0;
  auto c = Prepare(options, inv, false, &rc);
  if (!c) return rc;
  auto first = c->state.manager->Read();
  if (!first.ok()) return ReportError(first.status(), c->format);
  if (!first.value()) return ReportError(ReadState(*c).status(), c->format);
  StateDocument doc = std::move(*first.value());  // not a copy of every resource's JSON
  auto provider = OpenProvider(doc.provider, MakeProviderContext(*c, &doc), Kube(*c));
  if (!provider.ok()) return ReportError(provider.status(), c->format);
  std::vector<std::string> addresses;
  if (c->parsed.count("address")) addresses = c->parsed["address"].as<std::vector<std::string>>();
  if (mode == 0 || mode == 1) {  // detect / diff
    auto lock = c->state.manager->Lock(mode == 0 ? "drift detect" : "drift diff");
    if (!lock.ok()) return ReportError(lock.status(), c->format);
    auto report = DetectDrift(doc, *provider.value());
    (void)c->state.manager->Unlock();
    if (!report.ok()) return ReportError(report.status(), c->format);
    if (c->format == OutputFormat::kJson) {
      json j = report->ToJson();
      j["success"] = true;
      PrintJson(j);
    } else {
      std::cout << report->ToText(mode == 1);
    }
    return c->parsed.count("detailed-exitcode") && report->has_drift() ? kExitChangesPresent : 0;
  }
  std::vector<std::string> done;
  Status st = mode == 2 ? AcceptDrift(*c->state.manager, *provider.value(), addresses, &done)
                        : FixDrift(*c->state.manager, *provider.value(), addresses, &done);
  if (!st.ok()) return ReportError(st, c->format);
  if (c->format == OutputFormat::kJson) {
    PrintJson({{"success", true}, {mode == 2 ? "accepted" : "fixed", done}});
  } else if (done.empty()) {
    std::cout << "No drift to " << (mode == 2 ? "accept" : "fix") << ".\n";
  } else {
    for (const auto& a : done) std::cout << (mode == 2 ? "Accepted live values into the state: " : "Restored recorded values: ") << a << "\n";
    std::cout << "Done. (" << done.size() << (done.size() == 1 ? " resource" : " resources") << ")\n";
  }
  return 0;
}

}  // namespace

int RunDriftDetect(const Invocation& inv) { return DriftCommon(inv, "Compare the state with live reads; report drift.", 0); }
int RunDriftDiff(const Invocation& inv) { return DriftCommon(inv, "Field-level detail of the drift.", 1); }
int RunDriftAccept(const Invocation& inv) { return DriftCommon(inv, "State <- live for drifted resources.", 2); }
int RunDriftFix(const Invocation& inv) { return DriftCommon(inv, "Live <- state for drifted resources.", 3); }

int RunStatus(const Invocation& inv) {
  cxxopts::Options options("nic status", "Health of the managed infrastructure: {healthy, issues[]}.");
  options.add_options()("refresh", "Read live state (drift, missing resources)",
                        cxxopts::value<bool>()->default_value("true")->implicit_value("true"));
  int rc = 0;
  auto c = Prepare(options, inv, false, &rc);
  if (!c) return rc;
  json issues = json::array();
  auto lock = c->state.backend->CurrentLock();
  if (lock.ok() && lock.value()) {
    issues.push_back({{"severity", "info"}, {"kind", "locked"},
                      {"message", "the state is locked by " + lock.value()->who + " for " + lock.value()->operation + " (ID " + lock.value()->id + ")"}});
  }
  auto doc = ReadState(*c);
  if (!doc.ok()) return ReportError(doc.status(), c->format);
  if (c->parsed["refresh"].as<bool>()) {
    auto provider = OpenProvider(doc->provider, MakeProviderContext(*c, &doc.value()), Kube(*c));
    if (!provider.ok()) {
      issues.push_back({{"severity", "warning"}, {"kind", "not-refreshed"}, {"message", provider.status().message()}});
    } else {
      auto report = DetectDrift(doc.value(), *provider.value());
      if (!report.ok()) {
        issues.push_back({{"severity", "error"}, {"kind", "unreachable"}, {"message", report.status().message()}});
      } else {
        for (const auto& n : report->plan.notes) {
          issues.push_back({{"severity", n.kind == "orphan" ? "info" : "warning"}, {"kind", n.kind}, {"address", n.address}, {"message", n.message}});
        }
      }
    }
  }
  bool healthy = true;
  for (const auto& i : issues) healthy &= i["severity"] == "info";
  if (c->format == OutputFormat::kJson) {
    PrintJson({{"success", true}, {"healthy", healthy}, {"issues", issues}, {"state_serial", doc->serial},
               {"resource_count", ListResources(doc.value()).size()}, {"last_successful_deploy", doc->metadata.last_successful_deploy}});
  } else {
    std::cout << (healthy ? "Healthy" : "Unhealthy") << ": " << doc->project_name << " (" << doc->provider << "), "
              << ListResources(doc.value()).size() << " resources, state serial " << doc->serial << "\n";
    for (const auto& i : issues) std::cout << "  [" << i["severity"].get<std::string>() << "] " << i["message"].get<std::string>() << "\n";
  }
  return healthy ? 0 : kExitChangesPresent;
}

int RunDestroy(const Invocation& inv) {
  cxxopts::Options options("nic destroy",
                           "Delete every resource the state records, in reverse dependency order, persisting after each.");
  options.add_options()("f,file", "nebari-config.yaml (checked against the state's project)", cxxopts::value<std::string>())(
      "auto-approve", "Do not ask")("include-imported", "Also delete resources imported from Terraform")(
      "parallelism", "Cloud requests at once", cxxopts::value<int>()->default_value("10"));
  int rc = 0;
  auto c = Prepare(options, inv, false, &rc);
  if (!c) return rc;
  auto doc = ReadState(*c);
  if (!doc.ok()) return ReportError(doc.status(), c->format);
  if (c->parsed.count("file")) {
    auto loaded = LoadNebariConfig(c->parsed["file"].as<std::string>());
    if (!loaded.ok()) return ReportError(loaded.ToStatus(), c->format);
    if (loaded.config->project_name != doc->project_name || loaded.config->provider != doc->provider) {
      return ReportError(Status::Refused("the config describes project " + loaded.config->project_name + " (" + loaded.config->provider +
                                         ") but the state is for " + doc->project_name + " (" + doc->provider + ")"),
                         c->format);
    }
  }
  if (!c->parsed.count("auto-approve")) {
    if (!::isatty(STDIN_FILENO)) return ReportError(Status::Usage("nic destroy needs --auto-approve when stdin is not a terminal"), c->format);
    std::cerr << "This deletes " << ListResources(doc.value()).size() << " resources of " << doc->project_name
              << ". Only 'yes' will be accepted: ";
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "yes") return 1;
  }
  auto provider = OpenProvider(doc->provider, MakeProviderContext(*c, &doc.value()), Kube(*c));
  if (!provider.ok()) return ReportError(provider.status(), c->format);
  std::vector<std::string> destroyed;
  Status st = Destroy(*c->state.manager, *provider.value(), c->parsed.count("include-imported") > 0, ProgressLine, &destroyed);
  if (!st.ok()) return ReportError(st, c->format);
  if (c->format == OutputFormat::kJson) {
    PrintJson({{"success", true}, {"destroyed", destroyed}});
  } else {
    std::cout << "Destroyed " << destroyed.size() << " resources.\n";
  }
  return 0;
}

}  // namespace nic::cli
