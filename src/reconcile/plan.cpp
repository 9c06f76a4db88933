#include "nic/plan.h"

#include "src/reconcile/desired_azure.h"
#include "src/reconcile/desired_gcp.h"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace nic {

using json = nlohmann::json;

const char* ChangeActionName(ChangeAction a) {
  switch (a) {
    case ChangeAction::kNoop: return "no-op";
    case ChangeAction::kCreate: return "create";
    case ChangeAction::kUpdate: return "update";
    case ChangeAction::kReplace: return "replace";
    case ChangeAction::kDelete: return "delete";
    case ChangeAction::kAdopt: return "adopt";
  }
  return "?";
}

namespace {

// Leaves of a resource: nested objects are walked ("scaling_config.max_size"); arrays and
// string maps that are compared as a whole (labels, tags, taints) are leaves themselves.
// Each leaf points into the resource, and to the value at the same path in `base` when one
// is given (found during the same walk, instead of a lookup by path per leaf). In path order,
// as a std::map of paths gave them.
struct Leaf {
  std::string path;
  const json* want;
  const json* have;  // in base; nullptr when absent
  bool by_path;      // a key on the way has a dot: `have` is looked up by the whole path
};
const json* AtPath(const json& v, const std::string& path);
void FlattenInto(const json& v, const json* base, bool base_exact, const std::string& prefix, std::vector<Leaf>* out) {
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& k = it.key();
    std::string path = prefix.empty() ? k : prefix + "." + k;
    // A key with a dot in it is not a path step of its own (AtPath splits at every dot): from
    // there on the base value is looked up by the whole path.
    const bool exact = base_exact && k.find('.') == std::string::npos;
    const json* have = nullptr;
    if (exact && base != nullptr && base->is_object()) {
      auto b = base->find(k);
      if (b != base->end()) have = &*b;
    }
    bool whole = k == "labels" || k == "tags" || k == "annotations" || k == "parameters";
    if (it.value().is_object() && !whole) {
      FlattenInto(it.value(), have, exact, path, out);
    } else {
      out->push_back({std::move(path), &it.value(), exact ? have : nullptr, !exact});
    }
  }
}
std::vector<Leaf> Flatten(const json& v, const json* base) {
  std::vector<Leaf> out;
  out.reserve(16);
  FlattenInto(v, base, true, "", &out);
  for (auto& l : out) {
    if (l.by_path) l.have = base ? AtPath(*base, l.path) : nullptr;
  }
  // Depth-first order is path order unless a key holds a character sorting before '.'; a key
  // with a dot can even repeat a path (the later one wins, as in a map).
  auto less = [](const Leaf& a, const Leaf& b) { return a.path < b.path; };
  if (!std::is_sorted(out.begin(), out.end(), less)) std::stable_sort(out.begin(), out.end(), less);
  for (size_t i = 0; i + 1 < out.size();) {
    if (out[i].path == out[i + 1].path) {
      out.erase(out.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  return out;
}

const json* AtPath(const json& v, const std::string& path) {
  const json* cur = &v;
  size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

void SetPath(json& v, const std::string& path, const json& value) {
  json* cur = &v;
  size_t start = 0;
  while (true) {
    auto dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (dot == std::string::npos) {
      (*cur)[part] = value;
      return;
    }
    if (!(*cur)[part].is_object()) (*cur)[part] = json::object();
    cur = &(*cur)[part];
    start = dot + 1;
  }
}

// The comparable form of a value. Clouds and Terraform spell the same thing differently: a
// policy document as a JSON string with other spacing and key order, a rule with "" or [] for
// a field the other side leaves out. Empty values are dropped and JSON-in-strings is parsed,
// so only real differences remain.
json Normalize(const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (!s.empty() && (s.front() == '{' || s.front() == '[')) {
      json parsed = json::parse(s, nullptr, false);
      if (!parsed.is_discarded()) return Normalize(parsed);
    }
    return v;
  }
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      json n = Normalize(it.value());
      bool empty = n.is_null() || ((n.is_array() || n.is_object()) && n.empty()) || (n.is_string() && n.get_ref<const std::string&>().empty());
      if (!empty) out[it.key()] = std::move(n);
    }
    return out;
  }
  if (v.is_array()) {
    // Compared as sets: clouds return subnet IDs, security groups, taints and rules in no
    // fixed order (Terraform declares these attributes as sets for the same reason).
    std::vector<json> items;
    for (const auto& e : v) items.push_back(Normalize(e));
    std::sort(items.begin(), items.end(), [](const json& a, const json& b) { return a.dump() < b.dump(); });
    return json(items);
  }
  return v;
}

// Values equal for NIC's purposes: an empty map/array equals an absent one.
bool Same(const json* a, const json* b) {
  auto empty = [](const json* x) { return x == nullptr || x->is_null() || ((x->is_object() || x->is_array()) && x->empty()); };
  if (empty(a) && empty(b)) return true;
  if (a == nullptr || b == nullptr) return false;
  return *a == *b || Normalize(*a) == Normalize(*b);
}

std::string Show(const json* v) {
  if (v == nullptr || v->is_null()) return "(none)";
  if (v->is_string()) return v->get<std::string>();
  return v->dump();
}

// Built-in knowledge used when no provider is at hand (plan --refresh=false).
std::vector<std::string> DefaultImmutable(const std::string& collection) {
  if (collection == "cloud.node_groups") return {"instance_types", "disk_size", "ami_type", "capacity_type", "subnet_ids"};
  if (collection == "cloud.cluster") return {"name"};
  return {};
}

bool IsImmutable(const std::vector<std::string>& immutable, const std::string& field) {
  for (const auto& f : immutable) {
    if (field == f || field.rfind(f + ".", 0) == 0) return true;
  }
  return false;
}

std::string Noun(const std::string& collection) {
  if (collection == "cloud.node_groups") return "node group";
  if (collection == "cloud.cluster") return "cluster";
  if (collection == "kubernetes.namespaces") return "namespace";
  if (collection == "cloud.vpc") return "VPC";
  if (collection == "cloud.storage") return "file system";
  if (collection == "cloud.iam_roles") return "IAM role";
  if (collection == "cloud.iam_role_policy_attachments") return "IAM policy attachment";
  auto dot = collection.rfind('.');
  std::string n = collection.substr(dot == std::string::npos ? 0 : dot + 1);
  std::replace(n.begin(), n.end(), '_', ' ');
  if (n.size() > 1 && n.back() == 's') n.pop_back();
  return n;
}

std::string NameOf(std::string_view address, std::string_view collection, const json& value) {
  if (auto n = value.find("name"); n != value.end() && n->is_string()) return n->get<std::string>();
  // Singletons without a name: what tells them apart for a reader ("VPC 10.10.0.0/16").
  if (address == collection) {
    for (const char* k : {"cidr", "type", "id"}) {
      if (auto f = value.find(k); f != value.end() && f->is_string()) return f->get<std::string>();
    }
  }
  auto dot = address.rfind('.');
  return std::string(address.substr(dot + 1));
}
std::string NameOf(const ResourceRef& r) { return NameOf(r.address, r.collection, r.value); }

std::string FieldList(const std::vector<FieldChange>& fields, bool live_vs_state) {
  std::string s;
  for (const auto& f : fields) {
    if (!s.empty()) s += ", ";
    auto dot = f.field.rfind('.');
    std::string short_name = f.field.substr(dot == std::string::npos ? 0 : dot + 1);
    if (live_vs_state) s += short_name + ": " + Show(&f.recorded) + " → " + Show(&f.live);
    else s += short_name + ": " + Show(f.live.is_null() ? &f.recorded : &f.live) + " → " + Show(&f.desired);
  }
  return s;
}

// A new resource takes the settings the config does not spell out from what already exists,
// as Nebari's modules give every node group the same role, subnets and cluster: a new node group
// joins the recorded cluster with the node role and subnets of its siblings.
void InheritFromState(const StateDocument& state, const std::string& collection, json& desired) {
  if (collection != "cloud.node_groups") return;
  const json* cluster = FindResource(state, "cloud.cluster");
  if (cluster != nullptr && !desired.contains("cluster_name") && cluster->contains("name")) desired["cluster_name"] = (*cluster)["name"];
  const json* sibling = nullptr;
  if (auto it = state.cloud.find("node_groups"); it != state.cloud.end() && it->is_array() && !it->empty()) sibling = &(*it)[0];
  for (const char* k : {"node_role_arn", "subnet_ids", "disk_size", "capacity_type", "ami_type"}) {
    if (!desired.contains(k) && sibling != nullptr && sibling->contains(k)) desired[k] = (*sibling)[k];
  }
  if (!desired.contains("subnet_ids") && cluster != nullptr && cluster->contains("vpc_config")) {
    desired["subnet_ids"] = (*cluster)["vpc_config"].value("subnet_ids", json::array());
  }
  if (!desired.contains("node_role_arn")) {
    if (auto roles = state.cloud.find("iam_roles"); roles != state.cloud.end() && roles->is_array()) {
      for (const auto& r : *roles) {
        if (r.value("name", "").find("node-group") != std::string::npos && r.contains("arn")) desired["node_role_arn"] = r["arn"];
      }
    }
  }
  if (desired.contains("scaling_config") && !desired["scaling_config"].contains("desired_size")) {
    desired["scaling_config"]["desired_size"] = desired["scaling_config"].value("min_size", 0);
  }
}

bool HasUnresolvedRef(const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    return s.size() >= 2 && s[0] == '$' && s[1] == '{';
  }
  if (v.is_object() || v.is_array()) {
    for (const auto& e : v) {
      if (HasUnresolvedRef(e)) return true;
    }
  }
  return false;
}

}  // namespace

int Plan::change_count() const {
  int n = 0;
  for (const auto& c : changes) n += c.action != ChangeAction::kNoop;
  return n;
}

bool Plan::has_refusals() const {
  for (const auto& c : changes) {
    if (!c.refused.empty()) return true;
  }
  return false;
}

std::string DesiredRef(const std::string& address, const std::string& field) { return "${" + address + "." + field + "}"; }

bool ResolveDesiredRefs(json& value, const std::function<std::optional<json>(const std::string&, const std::string&)>& lookup) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (s.size() < 4 || s.compare(0, 2, "${") != 0 || s.back() != '}') return true;
    std::string inner = s.substr(2, s.size() - 3);
    auto dot = inner.rfind('.');
    if (dot == std::string::npos) return true;
    auto v = lookup(inner.substr(0, dot), inner.substr(dot + 1));
    if (!v) return false;
    value = *v;
    return true;
  }
  bool all = true;
  if (value.is_object() || value.is_array()) {
    for (auto& e : value) all &= ResolveDesiredRefs(e, lookup);
  }
  return all;
}

Result<DesiredModel> BuildDesiredModel(const NebariConfig& config) {
  if (config.provider == "gcp") return BuildGcpDesiredModel(config);
  DesiredModel m;
  if (config.provider == "aws") return BuildDesiredAws(config);
  if (config.provider == "azure") return BuildAzureDesiredModel(config);
  if (config.provider == "local" || config.provider == "existing") {
    // Stage 03 on an existing or kind cluster: the namespace Nebari's
    // kubernetes-initialization module creates (template: kubernetes_namespace.main).
    m.resources.push_back({"kubernetes.namespaces." + config.namespace_name, "kubernetes.namespaces",
                           {{"name", config.namespace_name}}});
    return m;
  }
  return Status::Unsupported("planning for provider \"" + config.provider +
                             "\" is not known (NIC plans aws, gcp, azure, local and existing); its state can be imported and inspected");
}

namespace {

// The recorded resources with hash indexes by address and by collection (each collection in
// address order): a plan looks every desired resource up, and a map of 100k addresses sharing
// long prefixes made each lookup a dozen string compares. All of them in address order (the
// order drift is reported in) only when a refreshing plan asks.
struct RecordedIndex {
  std::vector<ResourceEntry> entries;  // as ListResources gives them
  std::vector<char> duplicate;         // a repeated address: the first one counts, as in a map
  std::unordered_map<std::string_view, const ResourceEntry*> by_address;
  std::unordered_map<std::string_view, std::vector<const ResourceEntry*>> by_collection;
  // Per entry: a desired resource was placed on it (claimed), or the plan covers it (covered:
  // desired, or deleted by --prune). Flags rather than sets of addresses: the sets were a
  // hashed string and a node per resource.
  std::vector<char> claimed, covered;

  explicit RecordedIndex(const StateDocument& state) : entries(ListResources(state)) {
    duplicate.assign(entries.size(), 0);
    claimed.assign(entries.size(), 0);
    covered.assign(entries.size(), 0);
    by_address.reserve(entries.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      const ResourceEntry& e = entries[i];
      if (!by_address.emplace(e.address, &e).second) {
        duplicate[i] = 1;
        continue;
      }
      by_collection[e.collection].push_back(&e);
    }
    auto less = [](const ResourceEntry* a, const ResourceEntry* b) { return a->address < b->address; };
    for (auto& [collection, list] : by_collection) {
      if (!std::is_sorted(list.begin(), list.end(), less)) std::sort(list.begin(), list.end(), less);
    }
  }
  const ResourceEntry* Find(std::string_view address) const {
    auto it = by_address.find(address);
    return it == by_address.end() ? nullptr : it->second;
  }
  size_t IndexOf(const ResourceEntry* e) const { return static_cast<size_t>(e - entries.data()); }
  const std::vector<const ResourceEntry*>& In(std::string_view collection) const {
    static const std::vector<const ResourceEntry*> kNone;
    auto it = by_collection.find(collection);
    return it == by_collection.end() ? kNone : it->second;
  }
  std::vector<const ResourceEntry*> InAddressOrder() const {
    std::vector<const ResourceEntry*> out;
    out.reserve(by_address.size());
    for (size_t i = 0; i < entries.size(); ++i) {
      if (!duplicate[i]) out.push_back(&entries[i]);
    }
    std::sort(out.begin(), out.end(), [](const ResourceEntry* a, const ResourceEntry* b) { return a->address < b->address; });
    return out;
  }
};

}  // namespace

Result<Plan> ComputePlan(const DesiredModel& desired, const StateDocument& state, Provider* provider,
                         const PlanOptions& options) {
  if (options.refresh && provider == nullptr) {
    return Status::Internal("a refreshing plan needs a provider");
  }
  Plan plan;
  plan.provider = state.provider;

  RecordedIndex recorded(state);

  // Live reads: every recorded resource in a collection the provider knows, plus desired
  // resources the state does not have yet (so an existing one is found, not duplicated).
  std::map<std::string, std::optional<json>> live;
  std::set<std::string> provider_collections;
  if (provider) {
    for (const auto& c : provider->Collections()) provider_collections.insert(c);
  }
  if (options.refresh) {
    std::vector<ResourceRef> refs;
    for (const ResourceEntry* e : recorded.InAddressOrder()) {
      if (provider_collections.count(e->collection)) refs.push_back({e->address, e->collection, *e->value});
    }
    auto results = provider->ReadAll(refs);
    for (size_t i = 0; i < refs.size(); ++i) {
      if (!results[i].ok()) {
        Status st = results[i].status();
        st.Prepend("reading " + refs[i].address);
        return st;
      }
      live[refs[i].address] = results[i].value();
    }
    plan.refreshed = static_cast<int>(refs.size());
  }

  auto immutable_for = [&](const std::string& collection) {
    return provider ? provider->ImmutableFields(collection) : DefaultImmutable(collection);
  };

  // Orphans: NIC-tagged resources live that the state does not record.
  std::map<std::string, ResourceRef> orphans;
  if (options.refresh) {
    // Providers tag with the project name (ProviderContext::project_name, the state's).
    auto found = provider->Discover(state.project_name);
    if (!found.ok()) {
      Status st = found.status();
      st.Prepend("discovering NIC-tagged resources");
      return st;
    }
    for (auto& r : found.value()) {
      if (!recorded.Find(r.address)) orphans.emplace(r.address, r);
    }
  }

  // References between desired resources resolve against what exists (recorded, or found
  // live with NIC's tags); placeholder addresses (DesiredModel::match_on) are placed on the
  // recorded resource they match, in the model's dependency order.
  std::map<std::string, std::string> placed;  // placeholder address -> state address
  // Claimed addresses: a recorded entry's flag, else (an orphan's) in claimed_other, a view of
  // the model's or the orphan's address.
  std::unordered_set<std::string_view> claimed_other;
  auto claim = [&](std::string_view address) {
    if (const ResourceEntry* e = recorded.Find(address)) {
      recorded.claimed[recorded.IndexOf(e)] = 1;
    } else if (!orphans.empty()) {
      claimed_other.insert(address);
    }
  };
  auto is_claimed = [&](std::string_view address) {
    if (const ResourceEntry* e = recorded.Find(address)) return recorded.claimed[recorded.IndexOf(e)] != 0;
    return claimed_other.count(address) > 0;
  };
  auto lookup = [&](const std::string& address, const std::string& field) -> std::optional<json> {
    auto p = placed.find(address);
    const std::string& a = p == placed.end() ? address : p->second;
    const json* r = nullptr;
    if (const ResourceEntry* rec = recorded.Find(a)) {
      r = rec->value;
    } else if (auto o = orphans.find(a); o != orphans.end()) {
      r = &o->second.value;
    }
    const json* v = r ? AtPath(*r, field) : nullptr;
    if (v == nullptr || v->is_null() || (v->is_string() && v->get_ref<const std::string&>().empty())) return std::nullopt;
    return *v;
  };
  std::map<std::string, int> skipped;  // collection -> desired resources not planned
  std::unordered_set<std::string_view> planned;  // model addresses this plan covers; built when a create needs it
  auto is_planned = [&](std::string_view address) {
    if (planned.empty()) {
      for (const auto& r : desired.resources) {
        if (provider == nullptr || provider_collections.count(r.collection)) planned.insert(r.address);
      }
    }
    return planned.count(address) > 0;
  };
  auto cover = [&](std::string_view address) {
    if (const ResourceEntry* e = recorded.Find(address)) recorded.covered[recorded.IndexOf(e)] = 1;
  };
  plan.changes.reserve(desired.resources.size());
  for (const auto& model : desired.resources) {
    if (provider != nullptr && !provider_collections.count(model.collection)) {
      ++skipped[model.collection];
      continue;
    }
    // The model's value, with its references resolved in a copy when it has any.
    const std::string& collection = model.collection;
    std::string_view address = model.address;
    json resolved;
    const json* dv = &model.value;
    const bool has_refs = HasUnresolvedRef(model.value);  // else none of its leaves has one
    if (has_refs) {
      resolved = model.value;
      ResolveDesiredRefs(resolved, lookup);
      dv = &resolved;
    }
    const json& value = *dv;
    if (auto mo = desired.match_on.find(model.address);
        mo != desired.match_on.end() && !recorded.Find(address) && !orphans.count(model.address)) {
      auto matches = [&](const json& candidate) {
        for (const auto& f : mo->second) {
          if (!Same(AtPath(value, f), AtPath(candidate, f))) return false;
        }
        return true;
      };
      const std::string* found = nullptr;
      for (const ResourceEntry* e : recorded.In(collection)) {
        if (!recorded.claimed[recorded.IndexOf(e)] && matches(*e->value)) {
          found = &e->address;
          break;
        }
      }
      for (auto it = orphans.begin(); found == nullptr && it != orphans.end(); ++it) {
        if (it->second.collection == collection && !is_claimed(it->first) && matches(it->second.value)) found = &it->first;
      }
      if (found != nullptr) {
        placed[model.address] = *found;
        address = *found;
      }
    }
    claim(address);
    // What a create sends: the compared fields plus those only a create needs. A create-only
    // field referring to something this plan will not create either (its collection is not
    // the provider's) is left out, for InheritFromState to fill from what exists.
    auto create_value = [&] {
      json v = value;
      if (auto co = desired.create_only.find(model.address); co != desired.create_only.end()) {
        json extra = co->second;
        ResolveDesiredRefs(extra, lookup);
        for (auto it = extra.begin(); it != extra.end(); ++it) {
          bool reachable = true;
          json probe = it.value();
          ResolveDesiredRefs(probe, [&](const std::string& address, const std::string&) -> std::optional<json> {
            reachable &= is_planned(address);
            return std::nullopt;
          });
          if (reachable && !v.contains(it.key())) v[it.key()] = it.value();
        }
      }
      return v;
    };
    cover(address);
    PlannedChange ch;
    ch.address = std::string(address);
    ch.collection = collection;
    const ResourceEntry* rec_entry = recorded.Find(address);
    const std::string noun = Noun(collection), name = NameOf(address, collection, value);
    if (rec_entry == nullptr) {
      if (auto o = orphans.find(ch.address); o != orphans.end()) {
        ch.live = o->second.value;
        if (options.adopt_orphans || options.adopt_created_by_interrupted_run.count(model.address)) {
          ch.action = ChangeAction::kAdopt;
          ch.desired = o->second.value;
          ch.summary = "Adopting " + noun + " " + name + " (found live with NIC's tags, not in state)";
          // Taken over, then brought to the config's mutable values: an interrupted create may
          // have died between creating a subnet and setting its attributes. (Immutable
          // differences show in the next plan, as for any recorded resource.)
          const auto immutable = immutable_for(collection);
          json merged = o->second.value;
          for (const auto& [field, want, have, by_path] : Flatten(value, &o->second.value)) {
            if (HasUnresolvedRef(*want) || Same(want, have) || IsImmutable(immutable, field)) continue;
            FieldChange f;
            f.field = field;
            f.desired = *want;
            if (have) f.live = *have;
            ch.fields.push_back(f);
            SetPath(merged, field, *want);
          }
          if (!ch.fields.empty()) {
            ch.action = ChangeAction::kUpdate;
            ch.desired = merged;
            ch.summary = "Adopting and updating " + noun + " " + name + " (" + FieldList(ch.fields, false) + ")";
          }
        } else {
          ch.action = ChangeAction::kAdopt;
          ch.refused = "a NIC-tagged " + noun + " \"" + name +
                       "\" already exists but is not in the state (an earlier run may have died before recording it); re-run with --adopt-orphans to take it over";
          ch.summary = "Would adopt " + noun + " " + name;
        }
      } else {
        ch.action = ChangeAction::kCreate;
        ch.desired = create_value();
        InheritFromState(state, collection, ch.desired);
        std::string detail;
        if (collection == "cloud.node_groups") {
          // AWS lists instance_types; AKS and GKE pools have one instance_type.
          const json& types = value.contains("instance_types") ? value["instance_types"] : json::array();
          detail = " (" + (types.empty() ? value.value("instance_type", "") : types[0].get<std::string>()) + ", " +
                   std::to_string(value["scaling_config"]["min_size"].get<int64_t>()) + "–" +
                   std::to_string(value["scaling_config"]["max_size"].get<int64_t>()) + " nodes)";
        }
        ch.summary = "Creating " + noun + " " + name + detail;
      }
      plan.changes.push_back(std::move(ch));
      continue;
    }
    const json& rec = *rec_entry->value;
    ch.imported = rec.value("imported", false);
    const json* base = &rec;
    if (options.refresh) {
      const auto& l = live[ch.address];
      if (!l) {
        ch.recorded = rec;
        PlanNote n{ch.address, "deleted-outside", "", {}, json()};
        n.message = noun + " " + name + " is recorded in the state but no longer exists; it was deleted outside NIC";
        if (options.recreate_missing) {
          ch.action = ChangeAction::kCreate;
          ch.desired = create_value();
          ch.summary = "Recreating " + noun + " " + name + " (deleted outside NIC)";
        } else {
          n.message += " (run with --recreate-missing to create it again)";
          ch.summary = noun + " " + name + " is missing live; not recreated";
        }
        plan.notes.push_back(std::move(n));
        plan.changes.push_back(std::move(ch));
        continue;
      }
      base = &*l;
    }
    // A reference nothing resolves (its target is neither recorded nor found live) makes no
    // claim about an existing resource: the target's own create is planned separately.
    std::optional<std::vector<std::string>> immutable;  // looked up at the first difference
    bool any_immutable = false, version_change = false;
    json merged;  // *base with the desired fields set; copied only once a field differs
    for (const auto& [field, want, have, by_path] : Flatten(value, base)) {
      if (has_refs && HasUnresolvedRef(*want)) continue;
      if (Same(want, have)) continue;
      if (!immutable) immutable = immutable_for(collection);
      FieldChange f;
      f.field = field;
      f.desired = *want;
      if (const json* r = AtPath(rec, field)) f.recorded = *r;
      if (options.refresh && have) f.live = *have;
      f.immutable = IsImmutable(*immutable, field);
      any_immutable |= f.immutable;
      version_change |= collection == "cloud.cluster" && field == "version";
      ch.fields.push_back(f);
      if (merged.is_null()) merged = *base;
      SetPath(merged, field, *want);
    }
    if (ch.fields.empty()) {
      // Nothing to apply: the change carries no copy of the recorded or live resource (at 100k
      // resources those copies were a third of the plan's cost, and nothing reads a no-op's).
      ch.action = ChangeAction::kNoop;
      ch.summary = noun + " " + name + " is up to date";
      plan.changes.push_back(std::move(ch));
      continue;
    }
    ch.recorded = rec;
    if (options.refresh) ch.live = *base;
    if (any_immutable) {
      ch.action = ChangeAction::kReplace;
      ch.desired = std::move(merged);
      ch.summary = "Replacing " + noun + " " + name + " (" + FieldList(ch.fields, false) + ")";
      if (!options.allow_replace) {
        std::string which;
        for (const auto& f : ch.fields) {
          if (f.immutable) which += (which.empty() ? "" : ", ") + f.field;
        }
        ch.refused = "cannot change " + which + " of " + noun + " " + name + " in place: that requires destroying and recreating it (" +
                     FieldList(ch.fields, false) + "). NIC keeps what exists; change the config back, or re-run with --allow-replace if you really mean to replace it";
      }
    } else {
      ch.action = ChangeAction::kUpdate;
      ch.desired = std::move(merged);
      ch.summary = "Updating " + noun + " " + name + " (" + FieldList(ch.fields, false) + ")";
      if (version_change && !options.allow_version_upgrade) {
        ch.refused = "changing the Kubernetes version of cluster " + name + " (" + FieldList(ch.fields, false) +
                     ") is an upgrade, which NIC v1.0 does not do implicitly; re-run with --allow-version-upgrade";
      }
    }
    plan.changes.push_back(std::move(ch));
  }

  for (const auto& [collection, n] : skipped) {
    std::string what = std::to_string(n) + " desired " + (n == 1 ? "resource" : "resources") + " of " + collection;
    plan.notes.push_back(
        {collection, "skipped",
         collection.rfind("kubernetes.", 0) == 0
             ? what + " not planned: no Kubernetes API was given (pass --kubeconfig PATH, optionally --kube-context NAME, to plan the stage-03 objects with the cloud)"
             : what + " not planned: the " + provider->Name() + " provider does not manage them",
         {}, json()});
  }

  // Recorded resources the config no longer describes (authoritative collections only).
  for (const auto& coll : desired.authoritative) {
    for (const ResourceEntry* e : recorded.In(coll)) {
      const std::string& addr = e->address;
      if (recorded.covered[recorded.IndexOf(e)]) continue;
      PlannedChange ch;
      ch.address = addr;
      ch.collection = coll;
      ch.imported = e->value->value("imported", false);
      std::string name = e->value->value("name", e->key);
      if (!options.prune) {
        plan.notes.push_back({addr, "not-in-config",
                              Noun(coll) + " " + name + " is in the state but not in the config; it is kept (re-run with --prune to delete it)",
                              {}, json()});
        continue;
      }
      ch.recorded = *e->value;
      ch.action = ChangeAction::kDelete;
      ch.summary = "Deleting " + Noun(coll) + " " + name;
      if (ch.imported && !options.include_imported) {
        ch.refused = Noun(coll) + " " + name + " was imported from Terraform; NIC never deletes imported resources unless --include-imported is given";
      }
      recorded.covered[recorded.IndexOf(e)] = 1;
      plan.changes.push_back(std::move(ch));
    }
  }

  // Drift on everything recorded: live differs from what the state says.
  if (options.refresh) {
    for (const ResourceEntry* entry : recorded.InAddressOrder()) {
      const ResourceEntry& e = *entry;
      const std::string& addr = e.address;
      auto l = live.find(addr);
      if (l == live.end()) continue;
      if (!l->second) {
        if (!recorded.covered[recorded.IndexOf(&e)]) {
          plan.notes.push_back({addr, "deleted-outside",
                                Noun(e.collection) + " " + e.value->value("name", e.key) +
                                    " is recorded in the state but no longer exists; it was deleted outside NIC",
                                {}, json()});
        }
        continue;
      }
      std::vector<FieldChange> drift;
      for (const auto& field : provider->ManagedFields(e.collection)) {
        const json* r = AtPath(*e.value, field);
        // A field the state never recorded makes no claim, so it cannot have drifted.
        if (r == nullptr) continue;
        const json* lv = AtPath(*l->second, field);
        if (Same(r, lv)) continue;
        FieldChange f;
        f.field = field;
        if (r) f.recorded = *r;
        if (lv) f.live = *lv;
        drift.push_back(f);
      }
      if (!drift.empty()) {
        PlanNote n{addr, "drift", "", drift, *l->second};
        n.message = Noun(e.collection) + " " + e.value->value("name", e.key) + " changed outside NIC (" + FieldList(drift, true) + ")";
        plan.notes.push_back(std::move(n));
      }
    }
    for (auto& [addr, r] : orphans) {
      if (is_claimed(addr)) continue;  // a desired resource's change covers it
      PlanNote n{addr, "orphan", "", {}, r.value};
      n.message = "found " + Noun(r.collection) + " " + NameOf(r) + " live with NIC's tags but not in the state";
      if (options.adopt_orphans) {
        PlannedChange ch;
        ch.address = addr;
        ch.collection = r.collection;
        ch.action = ChangeAction::kAdopt;
        ch.desired = r.value;
        ch.live = r.value;
        ch.summary = "Adopting " + Noun(r.collection) + " " + NameOf(r);
        plan.changes.push_back(std::move(ch));
      } else {
        n.message += " (re-run with --adopt-orphans to record it)";
      }
      plan.notes.push_back(std::move(n));
    }
  }
  return plan;
}

json Plan::ToJson() const {
  auto fields_json = [](const std::vector<FieldChange>& fs) {
    json arr = json::array();
    for (const auto& f : fs) {
      arr.push_back({{"field", f.field}, {"desired", f.desired}, {"recorded", f.recorded}, {"live", f.live}, {"immutable", f.immutable}});
    }
    return arr;
  };
  json changes = json::array();
  std::map<std::string, int> counts = {{"create", 0}, {"update", 0}, {"replace", 0}, {"delete", 0}, {"adopt", 0}, {"no-op", 0}};
  for (const auto& c : this->changes) {
    counts[ChangeActionName(c.action)]++;
    json j = {{"address", c.address}, {"collection", c.collection}, {"action", ChangeActionName(c.action)},
              {"summary", c.summary}, {"imported", c.imported}, {"fields", fields_json(c.fields)}};
    if (!c.refused.empty()) j["refused"] = c.refused;
    changes.push_back(j);
  }
  json notes_j = json::array();
  for (const auto& n : notes) {
    notes_j.push_back({{"address", n.address}, {"kind", n.kind}, {"message", n.message}, {"fields", fields_json(n.fields)}});
  }
  return {{"provider", provider},
          {"change_count", change_count()},
          {"has_changes", change_count() > 0},
          {"refused", has_refusals()},
          {"refreshed", refreshed},
          {"counts", counts},
          {"changes", changes},
          {"notes", notes_j}};
}

std::string Plan::ToText() const {
  std::string s;
  for (const auto& c : changes) {
    if (c.action == ChangeAction::kNoop) continue;
    static const std::map<ChangeAction, std::string> sym = {{ChangeAction::kCreate, "+"}, {ChangeAction::kUpdate, "~"},
                                                            {ChangeAction::kReplace, "-/+"}, {ChangeAction::kDelete, "-"},
                                                            {ChangeAction::kAdopt, "<="}};
    s += "  " + sym.at(c.action) + " " + c.summary + "\n";
    if (!c.refused.empty()) s += "      REFUSED: " + c.refused + "\n";
  }
  bool any_note = false;
  for (const auto& n : notes) {
    if (!any_note) s += "Notes:\n";
    any_note = true;
    s += "  ! " + n.message + "\n";
  }
  int creates = 0, updates = 0, replaces = 0, deletes = 0, adopts = 0;
  for (const auto& c : changes) {
    creates += c.action == ChangeAction::kCreate;
    updates += c.action == ChangeAction::kUpdate;
    replaces += c.action == ChangeAction::kReplace;
    deletes += c.action == ChangeAction::kDelete;
    adopts += c.action == ChangeAction::kAdopt;
  }
  int n = change_count();
  s += "Plan: " + std::to_string(n) + (n == 1 ? " change" : " changes") + " (" + std::to_string(creates) + " to create, " +
       std::to_string(updates) + " to update, " + std::to_string(replaces) + " to replace, " + std::to_string(deletes) +
       " to delete, " + std::to_string(adopts) + " to adopt).\n";
  if (n == 0) s += "No changes. The infrastructure matches the configuration.\n";
  if (has_refusals()) s += "Some changes are refused (see REFUSED above); nothing will be applied until they are resolved.\n";
  return s;
}

}  // namespace nic
