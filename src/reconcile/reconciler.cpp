#include "nic/reconciler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "nic/env.h"
#include "nic/journal.h"
#include "nic/lock.h"
#include "nic/log.h"

namespace nic {

using json = nlohmann::json;

namespace {

// The state entry for a resource after a provider call: the live JSON, keeping what only the
// state knows (import provenance, Terraform address).
json MergeIntoState(const json& live, const json* recorded) {
  json out = live;
  if (recorded != nullptr) {
    for (const char* k : {"imported", "terraform_address"}) {
      if (recorded->contains(k) && !out.contains(k)) out[k] = (*recorded)[k];
    }
  }
  return out;
}

std::string Elapsed(std::chrono::steady_clock::time_point start) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

// `adopt` receives the addresses of creates that cannot be read back by what the intent
// recorded (a subnet or VPC is only known by the ID the cloud gave it): the plan adopts the
// NIC-tagged resource it finds for them instead of creating another.
Status ResolveOpenIntents(StateManager& m, Journal& journal, Provider& p, StateDocument& doc,
                          std::vector<std::string>* recovered, std::set<std::string>* adopt, const ProgressFn& progress) {
  NIC_ASSIGN_OR_RETURN(auto open, journal.OpenIntents(doc.lineage));
  for (const auto& e : open) {
    json detail = json::parse(e.detail, nullptr, false);
    std::string collection = detail.is_object() ? detail.value("collection", "") : "";
    json subject = detail.is_object() ? detail.value("desired", detail.value("recorded", json::object())) : json::object();
    if (progress) progress("Resolving an unfinished " + e.action + " of " + e.address + " from an interrupted run");
    if (e.action == "create" || e.action == "replace" || e.action == "adopt") {
      auto read = p.Read(collection, subject);
      if (!read.ok() && read.status().code() == ErrorCode::kInvalidInput) {
        adopt->insert(e.address);
        NIC_RETURN_IF_ERROR(journal.MarkResolved(e.id, "left to the plan: a NIC-tagged resource found live for it is adopted"));
        recovered->push_back(e.address + " (an interrupted run may have created it; a NIC-tagged match found live is adopted, not duplicated)");
        continue;
      }
      if (!read.ok()) return read.status();
      const std::optional<json>& live = read.value();
      if (live) {
        NIC_RETURN_IF_ERROR(PutResource(doc, e.address, MergeIntoState(*live, FindResource(doc, e.address))));
        NIC_RETURN_IF_ERROR(m.Persist(doc, "deploy: recover " + e.address));
        NIC_RETURN_IF_ERROR(journal.MarkResolved(e.id, "adopted the resource the interrupted run created"));
        recovered->push_back(e.address + " (created by the interrupted run; adopted into the state)");
      } else {
        NIC_RETURN_IF_ERROR(journal.MarkResolved(e.id, "not created"));
        recovered->push_back(e.address + " (the interrupted run did not create it)");
      }
    } else if (e.action == "delete") {
      NIC_ASSIGN_OR_RETURN(auto live, p.Read(collection, subject));
      if (!live && FindResource(doc, e.address) != nullptr) {
        NIC_RETURN_IF_ERROR(RemoveResource(doc, e.address));
        NIC_RETURN_IF_ERROR(m.Persist(doc, "deploy: recover " + e.address));
      }
      NIC_RETURN_IF_ERROR(journal.MarkResolved(e.id, live ? "still exists" : "deleted"));
      recovered->push_back(e.address + (live ? " (delete had not happened)" : " (deleted by the interrupted run)"));
    } else {
      // Updates are re-planned from live reads: nothing to record.
      NIC_RETURN_IF_ERROR(journal.MarkResolved(e.id, "re-planned from live reads"));
      recovered->push_back(e.address + " (update re-planned)");
    }
  }
  return Status::OK();
}

// {"scaling_config": {"max_size": 10}} from the field changes of a plan entry.
json Delta(const std::vector<FieldChange>& fields, bool use_recorded = false) {
  json out = json::object();
  for (const auto& f : fields) {
    json* cur = &out;
    size_t start = 0;
    while (true) {
      auto dot = f.field.find('.', start);
      std::string part = f.field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (dot == std::string::npos) {
        (*cur)[part] = use_recorded ? f.recorded : f.desired;
        break;
      }
      cur = &(*cur)[part];
      start = dot + 1;
    }
  }
  return out;
}

struct ApplyContext {
  StateManager* manager;
  Journal* journal;
  Provider* provider;
  StateDocument* doc;
  std::string run_id;
  std::mutex mu;  // guards doc, placed, journal (one SQLite handle) and persisting
  std::map<std::string, std::string> placed;  // plan placeholder address -> address after create
};

// "cloud.vpc.subnets.subnet-0a1b" for a created subnet: the state keys collection items by
// "<namespace>/<name>", else name, else id (state.h); singletons keep their address.
std::string AddressAfterCreate(const PlannedChange& ch, const json& created) {
  if (ch.address == ch.collection) return ch.address;
  auto str = [&](const char* k) { return created.contains(k) && created[k].is_string() ? created[k].get<std::string>() : std::string(); };
  std::string key = str("name");
  if (!key.empty() && !str("namespace").empty()) key = str("namespace") + "/" + key;
  if (key.empty()) key = str("id");
  return key.empty() ? ch.address : ch.collection + "." + key;
}

// Fills the references of a desired resource (DesiredRef) from the state as it is now: earlier
// waves have recorded what this one refers to. Called with ctx.mu held.
Status ResolveForApply(ApplyContext& ctx, const PlannedChange& ch, json* desired) {
  std::string missing;
  bool ok = ResolveDesiredRefs(*desired, [&](const std::string& address, const std::string& field) -> std::optional<json> {
    auto p = ctx.placed.find(address);
    const json* r = FindResource(*ctx.doc, p == ctx.placed.end() ? address : p->second);
    const json* v = r;
    size_t start = 0;
    while (v != nullptr) {
      auto dot = field.find('.', start);
      std::string part = field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      v = v->is_object() && v->contains(part) ? &(*v)[part] : nullptr;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (v == nullptr || v->is_null() || (v->is_string() && v->get_ref<const std::string&>().empty())) {
      if (missing.empty()) missing = address + "." + field;
      return std::nullopt;
    }
    return *v;
  });
  if (ok) return Status::OK();
  return Status::NotFound("cannot create " + ch.address + ": it needs " + missing +
                                    ", which does not exist (was its creation refused or did it fail?)");
}

AppliedChange ApplyOne(ApplyContext& ctx, const PlannedChange& ch, const ProgressFn& progress) {
  AppliedChange a{ch.address, ChangeActionName(ch.action), false, "", 0};
  const std::string token = NewUuid();
  int64_t intent = 0;
  json desired = ch.desired;
  {
    std::lock_guard<std::mutex> g(ctx.mu);
    if (ch.action == ChangeAction::kCreate || ch.action == ChangeAction::kReplace) {
      if (Status st = ResolveForApply(ctx, ch, &desired); !st.ok()) {
        a.error = st.message();
        if (progress) progress(ch.summary + " FAILED: " + a.error);
        return a;
      }
    }
    json detail = {{"collection", ch.collection}};
    if (!desired.is_null()) detail["desired"] = desired;
    if (!ch.recorded.is_null()) detail["recorded"] = ch.recorded;
    auto id = ctx.journal->RecordIntent(ctx.run_id, ctx.doc->lineage, ch.address, a.action, token, detail.dump());
    if (!id.ok()) {
      a.error = id.status().message();
      a.error_code = id.status().code();
      return a;
    }
    intent = id.value();
  }
  auto start = std::chrono::steady_clock::now();
  if (progress) progress(ch.summary + " ...");
  Result<json> result = json();
  switch (ch.action) {
    case ChangeAction::kCreate:
      result = ctx.provider->Create(ch.collection, desired, token);
      break;
    case ChangeAction::kUpdate:
      // Only the fields that differ: a provider changes what the desired JSON names, and
      // re-sending unchanged fields (tags, say) would turn into needless write calls.
      result = ctx.provider->Update(ch.collection, ch.live.is_null() ? ch.recorded : ch.live, Delta(ch.fields));
      break;
    case ChangeAction::kReplace: {
      Status st = ctx.provider->Delete(ch.collection, ch.recorded);
      result = st.ok() ? ctx.provider->Create(ch.collection, desired, token) : Result<json>(st);
      break;
    }
    case ChangeAction::kDelete: {
      Status st = ctx.provider->Delete(ch.collection, ch.recorded);
      result = st.ok() ? Result<json>(json()) : Result<json>(st);
      break;
    }
    case ChangeAction::kAdopt:
      result = ch.desired;
      break;
    case ChangeAction::kNoop:
      break;
  }
  std::lock_guard<std::mutex> g(ctx.mu);
  if (!result.ok()) {
    a.error = result.status().message();
    a.error_code = result.status().code();
    (void)ctx.journal->MarkFailed(intent, result.status().ToString());
    if (progress) progress(ch.summary + " FAILED after " + Elapsed(start) + ": " + a.error);
    return a;
  }
  if (ch.action == ChangeAction::kCreate) {
    a.address = AddressAfterCreate(ch, result.value());
    ctx.placed[ch.address] = a.address;
  }
  Status st = ch.action == ChangeAction::kDelete
                  ? RemoveResource(*ctx.doc, a.address)
                  : PutResource(*ctx.doc, a.address, MergeIntoState(result.value(), FindResource(*ctx.doc, a.address)));
  if (st.ok()) st = ctx.manager->Persist(*ctx.doc, "deploy: " + a.action + " " + ch.address);
  if (!st.ok()) {
    // The cloud change happened but the state could not record it: leave the intent open so
    // the next deploy adopts the result instead of repeating the call.
    a.error = "the change was made but recording it failed: " + st.message();
    a.error_code = st.code();
    if (progress) progress(ch.summary + " done, but NOT recorded: " + st.message());
    return a;
  }
  (void)ctx.journal->MarkDone(intent, result.value().dump());
  a.ok = true;
  a.serial = ctx.doc->serial;
  if (progress) progress(ch.summary + " done (" + Elapsed(start) + ", state serial " + std::to_string(a.serial) + ")");
  return a;
}

}  // namespace

int DeployResult::failures() const {
  int n = 0;
  for (const auto& a : applied) n += !a.ok;
  return n;
}

Status Deploy(StateManager& m, HistoryDb* history, const NebariConfig& config, Provider& p, const DeployOptions& o,
              DeployResult* out) {
  if (history == nullptr) return Status::Internal("deploy needs the history database for its journal");
  const auto start = std::chrono::steady_clock::now();
  NIC_ASSIGN_OR_RETURN(std::string lock_id, m.Lock("deploy", "nic deploy of " + config.project_name));
  NIC_ASSIGN_OR_RETURN(auto current, m.Read());
  // No state yet: a fresh deploy starts from an empty document. What it may create is decided
  // by the plan (a whole new cloud stack is refused there; stage-03 objects are not).
  StateDocument doc = current ? *current
                              : StateDocument::NewEmpty(config.provider, config.project_name, config.region,
                                                        Env::Default()->NowMicros());
  if (doc.provider != config.provider) {
    return Status::Refused("the config is for provider \"" + config.provider + "\" but the state at " +
                           m.backend()->Location() + " records provider \"" + doc.provider + "\"");
  }
  Journal journal(history, m.encryption());
  PlanOptions plan_options = o.plan;
  NIC_RETURN_IF_ERROR(ResolveOpenIntents(m, journal, p, doc, &out->recovered, &plan_options.adopt_created_by_interrupted_run, o.progress));

  NIC_ASSIGN_OR_RETURN(DesiredModel desired, BuildDesiredModel(config));
  NIC_ASSIGN_OR_RETURN(out->plan, ComputePlan(desired, doc, &p, plan_options));
  if (o.progress) o.progress("Refreshed " + std::to_string(out->plan.refreshed) + " resources (" + Elapsed(start) + ")");
  for (const auto& n : out->plan.notes) {
    if (n.kind == "skipped" && o.progress) o.progress("Skipped: " + n.message);
  }
  if (out->plan.has_refusals()) {
    Status st = Status::Refused("the plan contains refused changes; nothing was applied");
    for (const auto& c : out->plan.changes) {
      if (!c.refused.empty()) st.WithSuggestion(c.address + ": " + c.refused);
    }
    return st;
  }

  // Dependency order: the provider lists collections network -> identity -> cluster -> node
  // groups -> storage; deletes run afterwards in reverse.
  std::vector<std::string> order = p.Collections();
  auto rank = [&](const std::string& c) {
    auto it = std::find(order.begin(), order.end(), c);
    return it == order.end() ? static_cast<int>(order.size()) : static_cast<int>(it - order.begin());
  };
  std::map<int, std::vector<const PlannedChange*>> forward, backward;
  for (const auto& c : out->plan.changes) {
    if (c.action == ChangeAction::kNoop) continue;
    (c.action == ChangeAction::kDelete ? backward : forward)[rank(c.collection)].push_back(&c);
  }
  std::vector<std::vector<const PlannedChange*>> waves;
  for (auto& [r, v] : forward) waves.push_back(v);
  for (auto it = backward.rbegin(); it != backward.rend(); ++it) waves.push_back(it->second);

  ApplyContext ctx{&m, &journal, &p, &doc, NewUuid(), {}, {}};
  const int total = out->plan.change_count();
  bool failed = false;
  for (const auto& wave : waves) {
    if (failed) break;  // later waves depend on earlier ones
    std::vector<AppliedChange> results(wave.size());
    std::atomic<size_t> next{0};
    std::vector<std::thread> pool;
    size_t workers = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(std::max(1, o.parallelism)), wave.size()));
    for (size_t w = 0; w < workers; ++w) {
      pool.emplace_back([&] {
        for (size_t i = next++; i < wave.size(); i = next++) {
          results[i] = ApplyOne(ctx, *wave[i], [&](const std::string& line) {
            if (o.progress) o.progress("[" + std::to_string(out->applied.size() + i + 1) + "/" + std::to_string(total) + "] " + line);
          });
        }
      });
    }
    for (auto& t : pool) t.join();
    for (auto& r : results) {
      failed |= !r.ok;
      out->applied.push_back(std::move(r));
    }
  }

  if (failed && o.rollback_on_failure) {
    if (o.progress) o.progress("Rolling back this run's changes (--rollback-on-failure)");
    for (auto it = out->applied.rbegin(); it != out->applied.rend(); ++it) {
      if (!it->ok) continue;
      const PlannedChange* ch = nullptr;
      for (const auto& c : out->plan.changes) {
        auto placed = ctx.placed.find(c.address);
        if (c.address == it->address || (placed != ctx.placed.end() && placed->second == it->address)) ch = &c;
      }
      if (ch == nullptr) continue;
      Status st;
      if (ch->action == ChangeAction::kCreate) {
        const json* now = FindResource(doc, it->address);
        st = p.Delete(ch->collection, now ? *now : ch->desired);
        if (st.ok() && now) st = RemoveResource(doc, it->address);
      } else if (ch->action == ChangeAction::kUpdate) {
        auto back = p.Update(ch->collection, ch->desired, ch->live.is_null() ? ch->recorded : ch->live);
        st = back.ok() ? PutResource(doc, ch->address, MergeIntoState(back.value(), &ch->recorded)) : back.status();
      }
      if (st.ok()) st = m.Persist(doc, "deploy: roll back " + ch->address);
      if (!st.ok() && o.progress) o.progress("could not roll back " + ch->address + ": " + st.message());
    }
    out->rolled_back = true;
  }

  const std::string hash = ConfigHash(config);
  bool changed_anything = false;
  for (const auto& a : out->applied) changed_anything |= a.ok;
  if (!failed && (changed_anything || !out->recovered.empty() || doc.metadata.configuration_hash != hash)) {
    doc.metadata.configuration_hash = hash;
    doc.metadata.last_successful_deploy = FormatRfc3339(Env::Default()->NowMicros());
    doc.metadata.deploy_count += 1;
    NIC_RETURN_IF_ERROR(m.Persist(doc, "deploy complete"));
  }
  out->final_serial = doc.serial;
  NIC_RETURN_IF_ERROR(m.Unlock());
  if (failed) {
    // When every failure has the same kind (all access denied, say), the command fails with that
    // kind, so its exit code tells a caller what happened; mixed failures stay UNAVAILABLE.
    std::optional<ErrorCode> common;
    for (const auto& a : out->applied) {
      if (a.ok) continue;
      if (!common) common = a.error_code;
      else if (*common != a.error_code) common = ErrorCode::kUnavailable;
    }
    ErrorCode code = common && *common != ErrorCode::kOk ? *common : ErrorCode::kUnavailable;
    Status st(code, std::to_string(out->failures()) + " of " + std::to_string(total) +
                        " changes failed; the changes that succeeded are recorded in the state (serial " +
                        std::to_string(doc.serial) + ")");
    for (const auto& a : out->applied) {
      if (!a.ok) st.WithDetail(a.address, a.error);
    }
    if (code == ErrorCode::kPermissionDenied || code == ErrorCode::kUnauthenticated) {
      st.WithSuggestion("grant the principal NIC runs as the permissions each failed change names (or renew its credentials), "
                        "then run nic deploy again: it continues from the recorded state");
    } else {
      st.WithSuggestion("fix the cause named for each failed change and run nic deploy again: it continues from the recorded state")
          .WithSuggestion("check credentials, quotas and permissions for the failed resources");
    }
    return st;
  }
  return Status::OK();
}

// ---- Drift ---------------------------------------------------------------------------------

bool DriftReport::has_drift() const {
  for (const auto& n : plan.notes) {
    if (n.kind == "drift" || n.kind == "deleted-outside" || n.kind == "orphan") return true;
  }
  return false;
}

Result<DriftReport> DetectDrift(const StateDocument& state, Provider& provider) {
  DriftReport r;
  PlanOptions o;
  o.refresh = true;
  NIC_ASSIGN_OR_RETURN(r.plan, ComputePlan(DesiredModel{}, state, &provider, o));
  r.total_resources = static_cast<int>(ListResources(state).size());
  return r;
}

json DriftReport::ToJson() const {
  json cloud = json::object(), kube = json::object(), items = json::array();
  int drifted = 0, added = 0, removed = 0;
  std::map<std::string, const PlanNote*> by_addr;
  for (const auto& n : plan.notes) by_addr[n.address] = &n;
  auto place = [&](const std::string& address, json entry) {
    bool is_cloud = address.rfind("cloud.", 0) == 0;
    std::string rest = address.substr(is_cloud ? 6 : 11);
    json& section = is_cloud ? cloud : kube;
    auto dot = rest.find('.');
    if (dot == std::string::npos) {
      section[rest] = entry;
    } else {
      section[rest.substr(0, dot)][rest.substr(dot + 1)] = entry;
    }
  };
  for (const auto& n : plan.notes) {
    if (n.kind != "drift" && n.kind != "deleted-outside" && n.kind != "orphan") continue;
    json entry = {{"drift", true}, {"kind", n.kind}, {"message", n.message}};
    json fields = json::array();
    for (const auto& f : n.fields) fields.push_back({{"field", f.field}, {"state_value", f.recorded}, {"actual_value", f.live}});
    if (!n.fields.empty()) {
      entry["field"] = n.fields[0].field;
      entry["state_value"] = n.fields[0].recorded;
      entry["actual_value"] = n.fields[0].live;
      entry["fields"] = fields;
    }
    if (n.kind == "drift") ++drifted;
    if (n.kind == "orphan") {
      ++added;
      entry["reason"] = "exists in the cloud with NIC's tags but not in state";
    }
    if (n.kind == "deleted-outside") {
      ++removed;
      entry["reason"] = "recorded in state but deleted outside NIC";
    }
    place(n.address, entry);
    json item = entry;
    item["address"] = n.address;
    items.push_back(item);
  }
  for (const auto& c : plan.changes) (void)c;
  return {{"has_drift", has_drift()},
          {"cloud", cloud},
          {"kubernetes", kube},
          {"summary",
           {{"total_resources", total_resources},
            {"drifted_resources", drifted},
            {"added_resources", added},
            {"removed_resources", removed},
            {"refreshed_resources", plan.refreshed}}},
          {"items", items}};
}

std::string DriftReport::ToText(bool detailed) const {
  std::string s;
  int i = 0;
  for (const auto& n : plan.notes) {
    if (n.kind != "drift" && n.kind != "deleted-outside" && n.kind != "orphan") continue;
    ++i;
    std::string severity = n.kind == "orphan" ? "INFO" : "WARNING";
    s += std::to_string(i) + ". [" + severity + "] " + n.address + "\n";
    if (n.kind == "drift") {
      for (const auto& f : n.fields) {
        s += "   " + f.field + ": expected " + (f.recorded.is_null() ? "(none)" : f.recorded.dump()) + ", actual " +
             (f.live.is_null() ? "(none)" : f.live.dump()) + "\n";
        if (!detailed) break;
      }
      if (!detailed && n.fields.size() > 1) s += "   (+" + std::to_string(n.fields.size() - 1) + " more fields: nic drift diff)\n";
      s += "   Cause: changed outside NIC\n";
    } else if (n.kind == "deleted-outside") {
      s += "   Expected: exists\n   Actual:   missing\n   Cause: deleted outside NIC\n";
    } else {
      s += "   Expected: not present\n   Actual:   exists with NIC's tags\n   Cause: created by an interrupted NIC run or copied tags\n";
    }
  }
  if (i == 0) {
    s = "No drift: all " + std::to_string(plan.refreshed) + " refreshed resources match the state.\n";
  } else {
    s = "Drift detected: " + std::to_string(i) + (i == 1 ? " item" : " items") + " (" + std::to_string(plan.refreshed) +
        " resources refreshed)\n" + s +
        "Accept the live values into the state with `nic drift accept`, or restore the recorded values with `nic drift fix`.\n";
  }
  return s;
}

namespace {

bool Selected(const std::vector<std::string>& addresses, const std::string& a) {
  return addresses.empty() || std::find(addresses.begin(), addresses.end(), a) != addresses.end();
}

Status CheckAddressesKnown(const std::vector<std::string>& addresses, const DriftReport& report) {
  for (const auto& a : addresses) {
    bool found = false;
    for (const auto& n : report.plan.notes) found |= n.address == a;
    if (!found) return Status::NotFound("no drift reported for " + a).WithSuggestion("list drifted addresses with: nic drift detect");
  }
  return Status::OK();
}

}  // namespace

Status AcceptDrift(StateManager& m, Provider& p, const std::vector<std::string>& addresses, std::vector<std::string>* accepted) {
  NIC_ASSIGN_OR_RETURN(std::string id, m.Lock("drift accept"));
  NIC_ASSIGN_OR_RETURN(auto cur, m.Read());
  if (!cur) return Status::NotFound("there is no state at " + m.backend()->Location());
  StateDocument doc = *cur;
  NIC_ASSIGN_OR_RETURN(DriftReport report, DetectDrift(doc, p));
  NIC_RETURN_IF_ERROR(CheckAddressesKnown(addresses, report));
  for (const auto& n : report.plan.notes) {
    if (!Selected(addresses, n.address)) continue;
    if (n.kind == "drift") {
      NIC_RETURN_IF_ERROR(PutResource(doc, n.address, MergeIntoState(n.live, FindResource(doc, n.address))));
    } else if (n.kind == "deleted-outside") {
      NIC_RETURN_IF_ERROR(RemoveResource(doc, n.address));
    } else {
      continue;  // orphans are adopted through deploy --adopt-orphans
    }
    accepted->push_back(n.address);
  }
  if (!accepted->empty()) NIC_RETURN_IF_ERROR(m.Persist(doc, "drift accept"));
  return m.Unlock();
}

Status FixDrift(StateManager& m, Provider& p, const std::vector<std::string>& addresses, std::vector<std::string>* fixed) {
  NIC_ASSIGN_OR_RETURN(std::string id, m.Lock("drift fix"));
  NIC_ASSIGN_OR_RETURN(auto cur, m.Read());
  if (!cur) return Status::NotFound("there is no state at " + m.backend()->Location());
  StateDocument doc = *cur;
  NIC_ASSIGN_OR_RETURN(DriftReport report, DetectDrift(doc, p));
  NIC_RETURN_IF_ERROR(CheckAddressesKnown(addresses, report));
  for (const auto& n : report.plan.notes) {
    if (!Selected(addresses, n.address) || n.kind != "drift") continue;
    const json* rec = FindResource(doc, n.address);
    if (rec == nullptr) continue;
    std::string collection;
    for (const auto& e : ListResources(doc)) {
      if (e.address == n.address) collection = e.collection;
    }
    auto immutable = p.ImmutableFields(collection);
    for (const auto& f : n.fields) {
      for (const auto& im : immutable) {
        if (f.field == im || f.field.rfind(im + ".", 0) == 0) {
          return Status::Refused("cannot fix " + n.address + ": " + f.field + " cannot be changed in place (state " +
                                 f.recorded.dump() + ", live " + f.live.dump() + ")")
              .WithSuggestion("accept the live value instead: nic drift accept --address " + n.address);
        }
      }
    }
    // Desired = the recorded values of the drifted fields only.
    NIC_ASSIGN_OR_RETURN(json after, p.Update(collection, n.live, Delta(n.fields, /*use_recorded=*/true)));
    NIC_RETURN_IF_ERROR(PutResource(doc, n.address, MergeIntoState(after, rec)));
    NIC_RETURN_IF_ERROR(m.Persist(doc, "drift fix " + n.address));
    fixed->push_back(n.address);
  }
  return m.Unlock();
}

Status Destroy(StateManager& m, Provider& p, bool include_imported, const ProgressFn& progress, std::vector<std::string>* destroyed) {
  NIC_ASSIGN_OR_RETURN(std::string id, m.Lock("destroy"));
  NIC_ASSIGN_OR_RETURN(auto cur, m.Read());
  if (!cur) return Status::NotFound("there is no state at " + m.backend()->Location());
  StateDocument doc = *cur;
  std::vector<std::string> order = p.Collections();
  std::vector<ResourceEntry> entries = ListResources(doc);
  std::vector<std::pair<std::string, std::string>> targets;  // address, collection
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    for (const auto& e : entries) {
      if (e.collection == *it) targets.emplace_back(e.address, e.collection);
    }
  }
  if (!include_imported) {
    std::vector<std::string> imported;
    for (const auto& [addr, coll] : targets) {
      const json* r = FindResource(doc, addr);
      if (r && r->value("imported", false)) imported.push_back(addr);
    }
    if (!imported.empty()) {
      Status st = Status::Refused(std::to_string(imported.size()) +
                                  " resources were imported from Terraform; NIC does not destroy imported resources unless --include-imported is given");
      for (size_t i = 0; i < imported.size() && i < 10; ++i) st.WithSuggestion("imported: " + imported[i]);
      return st;
    }
  }
  // Some resources can only go together with their parent (AKS keeps a cluster's last System
  // pool until the cluster goes). The provider refuses their deletion with the detail
  // "deleted_with" naming the parent's address; they stay in the state until that parent is
  // deleted, so a destroy that stops early never forgets a resource that still exists.
  std::map<std::string, std::vector<std::string>> waiting_for_parent;  // parent address -> children
  for (const auto& [addr, coll] : targets) {
    const json* r = FindResource(doc, addr);
    if (r == nullptr) continue;  // removed with its parent
    if (progress) progress("Deleting " + addr + " ...");
    Status st = p.Delete(coll, *r);
    if (!st.ok()) {
      auto parent = st.details().find("deleted_with");
      if (st.code() == ErrorCode::kRefused && parent != st.details().end() && FindResource(doc, parent->second) != nullptr) {
        if (progress) progress("  " + addr + " goes with " + parent->second);
        waiting_for_parent[parent->second].push_back(addr);
        continue;
      }
      st.Prepend("deleting " + addr + " (" + std::to_string(destroyed->size()) + " resources deleted before it are recorded)");
      return st;
    }
    NIC_RETURN_IF_ERROR(RemoveResource(doc, addr));
    destroyed->push_back(addr);
    for (const auto& child : waiting_for_parent[addr]) {
      if (FindResource(doc, child) == nullptr) continue;
      NIC_RETURN_IF_ERROR(RemoveResource(doc, child));
      destroyed->push_back(child);
    }
    NIC_RETURN_IF_ERROR(m.Persist(doc, "destroy " + addr));
  }
  for (const auto& [parent, children] : waiting_for_parent) {
    for (const auto& child : children) {
      if (FindResource(doc, child) != nullptr) {
        return Status::Refused(child + " can only be deleted together with " + parent + ", which was not deleted")
            .WithSuggestion("destroy " + parent + " as well, or delete " + child + " by hand");
      }
    }
  }
  return m.Unlock();
}

}  // namespace nic
