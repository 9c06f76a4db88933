// nic state show|pull|push|list|history|rollback|unlock.
#include <unistd.h>

#include <iostream>
#include <map>

#include "nic/env.h"
#include "nic/state.h"
#include "src/cli/cmd_state.h"

namespace nic::cli {
namespace {

void PrintNotes(const ParseNotes& notes) {
  for (const auto& m : notes.messages) Log(m);
}

// The current document or a NotFound error that says how to create one.
Result<StateDocument> ReadExisting(StateContext& ctx) {
  ParseNotes notes;
  NIC_ASSIGN_OR_RETURN(std::optional<StateDocument> doc, ctx.manager->Read(&notes));
  PrintNotes(notes);
  if (!doc) {
    return Status::NotFound("no state exists at " + ctx.backend->Location())
        .WithSuggestion("create it with nic import --from-terraform, nic deploy, or nic state push FILE")
        .WithSuggestion("or point at the right state with --state / --backend / --backend-config");
  }
  return *std::move(doc);
}

nlohmann::json ResourceSummary(const StateDocument& doc) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : ListResources(doc)) {
    nlohmann::json e = {{"address", r.address}};
    if (r.value->contains("id") && (*r.value)["id"].is_string()) e["id"] = (*r.value)["id"];
    e["imported"] = r.value->value("imported", false);
    arr.push_back(e);
  }
  return arr;
}

}  // namespace

int RunStateShow(const Invocation& inv) {
  cxxopts::Options options("nic state show", "Show the state, one resource (ADDRESS), or a past version (--serial N).");
  options.add_options()("serial", "Show this version from the history database", cxxopts::value<int64_t>())
      ("address", "Resource address", cxxopts::value<std::string>());
  options.parse_positional({"address"});
  options.positional_help("[ADDRESS]");
  int rc = 0;
  auto p = PrepareStateCommand(options, inv, &rc);
  if (!p) return rc;
  auto doc = ReadExisting(p->ctx);
  if (!doc.ok()) return ReportError(doc.status(), p->format);
  StateDocument shown = doc.value();
  if (p->parsed.count("serial")) {
    int64_t serial = p->parsed["serial"].as<int64_t>();
    auto v = p->ctx.history->GetVersion(doc->lineage, serial);
    if (!v.ok()) return ReportError(v.status(), p->format);
    auto old = p->ctx.manager->ParseStored(v->document, "history serial " + std::to_string(serial));
    if (!old.ok()) return ReportError(old.status(), p->format);
    shown = old.value();
  }
  if (p->parsed.count("address")) {
    std::string addr = p->parsed["address"].as<std::string>();
    const nlohmann::json* r = FindResource(shown, addr);
    if (r == nullptr) {
      return ReportError(Status::NotFound("no resource at address " + addr + " in state serial " + std::to_string(shown.serial))
                             .WithSuggestion("list addresses with: nic state list"),
                         p->format);
    }
    if (p->format == OutputFormat::kJson) {
      PrintJson({{"success", true}, {"address", addr}, {"serial", shown.serial}, {"resource", *r}});
    } else {
      std::cout << "# " << addr << " (state serial " << shown.serial << ")\n" << r->dump(2) << "\n";
    }
    return 0;
  }
  auto resources = ResourceSummary(shown);
  if (p->format == OutputFormat::kJson) {
    PrintJson({{"success", true},
               {"location", p->ctx.backend->Location()},
               {"lineage", shown.lineage},
               {"serial", shown.serial},
               {"format_version", shown.format_version},
               {"provider", shown.provider},
               {"project_name", shown.project_name},
               {"region", shown.region},
               {"imported_from_terraform", shown.imported_from_terraform},
               {"resource_count", resources.size()},
               {"unmanaged_count", shown.unmanaged.size()},
               {"resources", resources},
               {"metadata",
                {{"created_at", shown.metadata.created_at},
                 {"updated_at", shown.metadata.updated_at},
                 {"nic_version", shown.metadata.nic_version},
                 {"configuration_hash", shown.metadata.configuration_hash},
                 {"last_successful_deploy", shown.metadata.last_successful_deploy},
                 {"deploy_count", shown.metadata.deploy_count}}}});
    return 0;
  }
  std::cout << "State:    " << p->ctx.backend->Location() << "\n"
            << "Project:  " << shown.project_name << " (" << shown.provider
            << (shown.region.empty() ? "" : ", " + shown.region) << ")\n"
            << "Lineage:  " << shown.lineage << "\n"
            << "Serial:   " << shown.serial << "\n"
            << "Updated:  " << shown.metadata.updated_at << " by NIC " << shown.metadata.nic_version << "\n"
            << "Imported from Terraform: " << (shown.imported_from_terraform ? "yes" : "no") << "\n"
            << "Resources (" << resources.size() << "):\n";
  for (const auto& r : resources) {
    std::cout << "  " << r["address"].get<std::string>();
    if (r.contains("id")) std::cout << "  [" << r["id"].get<std::string>() << "]";
    if (r["imported"].get<bool>()) std::cout << "  (imported)";
    std::cout << "\n";
  }
  if (!shown.unmanaged.empty()) {
    std::cout << "Seen but not managed (" << shown.unmanaged.size() << "):\n";
    for (const auto& u : shown.unmanaged) std::cout << "  " << u.value("address", "?") << "\n";
  }
  return 0;
}

int RunStatePull(const Invocation& inv) {
  cxxopts::Options options("nic state pull", "Print the current state document to stdout.");
  int rc = 0;
  auto p = PrepareStateCommand(options, inv, &rc);
  if (!p) return rc;
  auto doc = ReadExisting(p->ctx);
  if (!doc.ok()) return ReportError(doc.status(), p->format);
  std::cout << SerializeStateDocument(doc.value());
  return 0;
}

int RunStatePush(const Invocation& inv) {
  cxxopts::Options options("nic state push",
                           "Replace the stored state with FILE ('-' = stdin). Refused when the lineage differs, the "
                           "serial is older, or the serial is equal with different content, unless --force.");
  options.add_options()("force", "Skip the lineage and serial checks")("file", "State document to push",
                                                                         cxxopts::value<std::string>());
  options.parse_positional({"file"});
  options.positional_help("FILE");
  int rc = 0;
  auto p = PrepareStateCommand(options, inv, &rc);
  if (!p) return rc;
  if (!p->parsed.count("file")) return ReportError(Status::Usage("nic state push needs FILE (or - for stdin)"), p->format);
  std::string file = p->parsed["file"].as<std::string>();
  auto bytes = ReadInput(file);
  if (!bytes.ok()) return ReportError(bytes.status(), p->format);
  ParseNotes notes;
  auto doc = ParseStateDocument(bytes.value(), file == "-" ? "stdin" : file, &notes);
  if (!doc.ok()) return ReportError(doc.status(), p->format);
  PrintNotes(notes);
  auto id = p->ctx.manager->Lock("state push");
  if (!id.ok()) return ReportError(id.status(), p->format);
  bool force = p->parsed.count("force") > 0;
  Status st = p->ctx.manager->Push(doc.value(), force);
  Status un = p->ctx.manager->Unlock();
  if (!st.ok()) return ReportError(st, p->format);
  if (!un.ok()) return ReportError(un, p->format);
  if (p->format == OutputFormat::kJson) {
    PrintJson({{"success", true}, {"lineage", doc->lineage}, {"serial", doc->serial}, {"forced", force}});
  } else {
    std::cout << "Pushed state serial " << doc->serial << " (lineage " << doc->lineage << ") to "
              << p->ctx.backend->Location() << (force ? " (forced)" : "") << ".\n";
  }
  return 0;
}

int RunStateList(const Invocation& inv) {
  cxxopts::Options options("nic state list", "List the resource addresses recorded in the state.");
  int rc = 0;
  auto p = PrepareStateCommand(options, inv, &rc);
  if (!p) return rc;
  auto doc = ReadExisting(p->ctx);
  if (!doc.ok()) return ReportError(doc.status(), p->format);
  auto resources = ResourceSummary(doc.value());
  if (p->format == OutputFormat::kJson) {
    PrintJson({{"success", true}, {"serial", doc->serial}, {"resource_count", resources.size()}, {"resources", resources}});
  } else {
    for (const auto& r : resources) std::cout << r["address"].get<std::string>() << "\n";
  }
  return 0;
}

int RunStateHistory(const Invocation& inv) {
  cxxopts::Options options("nic state history", "List the state versions NIC recorded (newest first).");
  options.add_options()("limit", "How many versions", cxxopts::value<int>()->default_value("50"))(
      "all-lineages", "Include versions of other lineages (earlier, unrelated states)");
  int rc = 0;
  auto p = PrepareStateCommand(options, inv, &rc);
  if (!p) return rc;
  std::string lineage;
  if (!p->parsed.count("all-lineages")) {
    auto doc = ReadExisting(p->ctx);
    if (!doc.ok()) return ReportError(doc.status(), p->format);
    lineage = doc->lineage;
  }
  auto versions = p->ctx.history->ListVersions(lineage, p->parsed["limit"].as<int>());
  if (!versions.ok()) return ReportError(versions.status(), p->format);
  auto events = p->ctx.history->ListEvents(p->parsed["limit"].as<int>());
  if (!events.ok()) return ReportError(events.status(), p->format);
  if (p->format == OutputFormat::kJson) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& v : versions.value()) {
      arr.push_back({{"serial", v.serial}, {"lineage", v.lineage}, {"sha256", v.sha256}, {"created_at", v.created_at},
                     {"operation", v.operation}, {"who", v.who}, {"backend", v.backend}});
    }
    nlohmann::json ev = nlohmann::json::array();
    for (const auto& e : events.value()) {
      ev.push_back({{"created_at", e.created_at}, {"kind", e.kind}, {"who", e.who},
                    {"detail", nlohmann::json::parse(e.detail, nullptr, false)}});
    }
    PrintJson({{"success", true}, {"database", p->ctx.history->path()}, {"versions", arr}, {"events", ev}});
    return 0;
  }
  std::cout << "History database: " << p->ctx.history->path() << "\n";
  std::cout << "SERIAL  CREATED               OPERATION          WHO\n";
  for (const auto& v : versions.value()) {
    std::string s = std::to_string(v.serial);
    std::string op = v.operation;
    std::cout << s << std::string(s.size() < 8 ? 8 - s.size() : 1, ' ') << v.created_at << "  " << op
              << std::string(op.size() < 19 ? 19 - op.size() : 1, ' ') << v.who << "\n";
  }
  if (!events.value().empty()) {
    std::cout << "Events:\n";
    for (const auto& e : events.value()) std::cout << "  " << e.created_at << "  " << e.kind << "  " << e.who << "  " << e.detail << "\n";
  }
  return 0;
}

int RunStateRollback(const Invocation& inv) {
  cxxopts::Options options("nic state rollback",
                           "Write the content of an earlier serial back as a new version (history is kept).");
  options.add_options()("to", "The serial to restore", cxxopts::value<int64_t>());
  int rc = 0;
  auto p = PrepareStateCommand(options, inv, &rc);
  if (!p) return rc;
  if (!p->parsed.count("to")) return ReportError(Status::Usage("nic state rollback needs --to SERIAL"), p->format);
  int64_t to = p->parsed["to"].as<int64_t>();
  auto id = p->ctx.manager->Lock("state rollback");
  if (!id.ok()) return ReportError(id.status(), p->format);
  auto current = ReadExisting(p->ctx);
  if (!current.ok()) return ReportError(current.status(), p->format);
  auto v = p->ctx.history->GetVersion(current->lineage, to);
  if (!v.ok()) return ReportError(v.status(), p->format);
  auto old = p->ctx.manager->ParseStored(v->document, "history serial " + std::to_string(to));
  if (!old.ok()) return ReportError(old.status(), p->format);
  StateDocument doc = old.value();
  Status st = p->ctx.manager->Persist(doc, "rollback to " + std::to_string(to));
  Status un = p->ctx.manager->Unlock();
  if (!st.ok()) return ReportError(st, p->format);
  if (!un.ok()) return ReportError(un, p->format);
  if (p->format == OutputFormat::kJson) {
    PrintJson({{"success", true}, {"restored_serial", to}, {"new_serial", doc.serial}, {"previous_serial", current->serial}});
  } else {
    std::cout << "Restored the content of serial " << to << " as serial " << doc.serial << " (was " << current->serial
              << ").\n";
  }
  return 0;
}

int RunStateUnlock(const Invocation& inv) {
  cxxopts::Options options("nic state unlock",
                           "Force-unlock the state. The exact LOCK_ID from the lock error is required. Without --force, "
                           "asks for confirmation.");
  options.add_options()("force", "Do not ask for confirmation")("lock-id", "The lock ID", cxxopts::value<std::string>());
  options.parse_positional({"lock-id"});
  options.positional_help("LOCK_ID");
  int rc = 0;
  auto p = PrepareStateCommand(options, inv, &rc);
  if (!p) return rc;
  if (!p->parsed.count("lock-id")) {
    return ReportError(Status::Usage("nic state unlock needs the LOCK_ID shown in the lock error").WithSuggestion(
                           "see who holds the lock with: nic state show (the lock error names the ID)"),
                       p->format);
  }
  std::string lock_id = p->parsed["lock-id"].as<std::string>();
  auto holder = p->ctx.backend->CurrentLock();
  if (holder.ok() && holder.value()) std::cerr << holder.value()->Describe(Env::Default());
  if (!p->parsed.count("force")) {
    if (!::isatty(STDIN_FILENO)) {
      return ReportError(Status::Usage("refusing to force-unlock without confirmation: stdin is not a terminal; pass --force"),
                         p->format);
    }
    std::cerr << "Do you really want to force-unlock the state? Another process may still be using it.\n"
                 "Only 'yes' will be accepted: ";
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "yes") {
      std::cerr << "Force-unlock cancelled.\n";
      return 1;
    }
  }
  LockInfo released;
  std::string matched;
  Status st = p->ctx.backend->ForceUnlock(lock_id, &released, &matched);
  if (!st.ok()) return ReportError(st, p->format);
  nlohmann::json detail = nlohmann::json::parse(released.ToJson());
  detail["matched"] = matched;
  detail["backend"] = p->ctx.backend->Location();
  Status ev = p->ctx.history->RecordEvent("force-unlock", Env::Default()->WhoAmI(), detail.dump());
  if (!ev.ok()) Log("warning: the force-unlock was not recorded in history: " + ev.message());
  if (p->format == OutputFormat::kJson) {
    PrintJson({{"success", true}, {"released", detail}, {"matched", matched}});
  } else {
    std::cout << "Force-unlocked " << p->ctx.backend->Location() << " (matched " << matched << ").\n"
              << released.Describe(Env::Default());
  }
  return 0;
}

int RunStateMigrate(const Invocation& inv) {
  cxxopts::Options options("nic state migrate",
                           "Copy the state to another backend under both locks, lineage and serial preserved, verified by "
                           "reading it back. The source is chosen with the usual --state/--backend/--backend-config.");
  options.add_options("Destination")
      ("to-backend", "Destination backend: local, s3, gcs, azurerm", cxxopts::value<std::string>())
      ("to-backend-config", "Destination setting key=value (repeatable)", cxxopts::value<std::vector<std::string>>())
      ("to-state", "Destination path when --to-backend is local", cxxopts::value<std::string>())
      ("force", "Replace a destination state of another lineage or a newer serial");
  int rc = 0;
  auto p = PrepareStateCommand(options, inv, &rc);
  if (!p) return rc;
  if (!p->parsed.count("to-backend")) return ReportError(Status::Usage("nic state migrate needs --to-backend"), p->format);
  BackendConfig to;
  to.type = p->parsed["to-backend"].as<std::string>();
  if (p->parsed.count("to-backend-config")) {
    for (const auto& item : p->parsed["to-backend-config"].as<std::vector<std::string>>()) {
      auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0) {
        return ReportError(Status::Usage("--to-backend-config \"" + item + "\" must be key=value"), p->format);
      }
      to.values[item.substr(0, eq)] = item.substr(eq + 1);
    }
  }
  if (p->parsed.count("to-state")) to.values["path"] = p->parsed["to-state"].as<std::string>();
  auto dst_backend = OpenBackend(to);
  if (!dst_backend.ok()) return ReportError(dst_backend.status(), p->format);
  if (dst_backend.value()->Location() == p->ctx.backend->Location() && to.type == p->ctx.backend_config.type) {
    return ReportError(Status::Usage("source and destination are the same state (" + p->ctx.backend->Location() + ")"),
                       p->format);
  }
  StateManagerOptions dst_opts;
  dst_opts.history = p->ctx.history.get();
  dst_opts.encryption = p->ctx.encryption.get();
  auto lt = ParseDurationMicros(p->parsed["lock-timeout"].as<std::string>());
  dst_opts.lock_timeout_micros = lt.value_or(0);
  StateManager dst(dst_backend.value().get(), dst_opts);

  // Both locks for the whole copy: source first, then destination, always in that order.
  auto src_lock = p->ctx.manager->Lock("state migrate", "to " + dst_backend.value()->Location());
  if (!src_lock.ok()) return ReportError(src_lock.status(), p->format);
  auto dst_lock = dst.Lock("state migrate", "from " + p->ctx.backend->Location());
  if (!dst_lock.ok()) return ReportError(dst_lock.status(), p->format);
  auto doc = ReadExisting(p->ctx);
  if (!doc.ok()) return ReportError(doc.status(), p->format);
  bool force = p->parsed.count("force") > 0;
  Status st = dst.Push(doc.value(), force, "state migrate");
  if (!st.ok()) {
    st.Prepend("writing the destination " + dst_backend.value()->Location());
    return ReportError(st, p->format);
  }
  // Verify by reading back through a fresh read of the destination.
  auto back = dst.Read();
  if (!back.ok()) return ReportError(back.status(), p->format);
  if (!back.value() || SerializeStateDocument(*back.value()) != SerializeStateDocument(doc.value())) {
    return ReportError(Status::Internal("the state read back from " + dst_backend.value()->Location() +
                                        " differs from the source; the source is unchanged")
                           .WithSuggestion("inspect the destination with nic state pull before using it"),
                       p->format);
  }
  Status u1 = dst.Unlock();
  Status u2 = p->ctx.manager->Unlock();
  if (!u1.ok()) return ReportError(u1, p->format);
  if (!u2.ok()) return ReportError(u2, p->format);
  if (p->format == OutputFormat::kJson) {
    PrintJson({{"success", true}, {"from", p->ctx.backend->Location()}, {"to", dst_backend.value()->Location()},
               {"lineage", doc->lineage}, {"serial", doc->serial}, {"verified", true}});
  } else {
    std::cout << "Migrated state serial " << doc->serial << " (lineage " << doc->lineage << ") from "
              << p->ctx.backend->Location() << " to " << dst_backend.value()->Location() << "; read back and verified.\n"
              << "The source is left in place; point NIC at the new backend from now on.\n";
  }
  return 0;
}

}  // namespace nic::cli
