// The GCP provider: resolves project, endpoints and credentials, dispatches each collection to
// its table entry (compute.cpp, gke.cpp) and adds what every collection shares: refusing
// immutable changes, re-reading after a change, concurrent reads and discovery.
#include "nic/gcp_provider.h"

#include <algorithm>
#include <map>

#include "nic/gcp_auth.h"
#include "providers/gcp/collections.h"

namespace nic {
namespace gcpprov {

ResourceRef MakeRef(const std::string& collection, bool singleton, json value) {
  ResourceRef ref;
  ref.collection = collection;
  if (singleton) {
    ref.address = collection;
  } else {
    std::string name = JStr(value, "name");
    ref.address = collection + "." + (name.empty() ? JStr(value, "id") : name);
  }
  ref.value = std::move(value);
  return ref;
}

namespace {

json AtPath(const json& j, const std::string& path) {
  const json* cur = &j;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string seg = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return json();
    auto it = cur->find(seg);
    if (it == cur->end()) return json();
    cur = &*it;
    if (dot == std::string::npos) return *cur;
    start = dot + 1;
  }
}

// Lists of strings compare as sets (Google returns them in its own order).
json Comparable(json v) {
  if (v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); })) {
    std::sort(v.begin(), v.end());
  }
  return v;
}

// Names and URLs denote the same network ("net" vs ".../global/networks/net").
bool SameValue(const std::string& field, const json& a, const json& b) {
  if ((field == "network" || field == "subnetwork" || field == "region" || field == "cluster") && a.is_string() &&
      b.is_string()) {
    return LastSegment(a.get<std::string>()) == LastSegment(b.get<std::string>());
  }
  return Comparable(a) == Comparable(b);
}

// Google responses and recorded state are JSON of a known shape; one of another shape makes
// nlohmann::json throw. Exceptions never leave the library: they become kInvalidInput here.
template <typename F>
auto Guard(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::InvalidInput(what + ": unexpected JSON shape (" + e.what() + ")");
  }
}

std::string Describe(const json& j) {
  for (const char* k : {"name", "id", "self_link"}) {
    if (std::string s = JStr(j, k); !s.empty()) return s;
  }
  return "(unnamed)";
}

class GcpProvider final : public Provider {
 public:
  explicit GcpProvider(std::unique_ptr<GcpClient> client) : client_(std::move(client)) {
    std::map<std::string, CollectionOps> all;
    for (auto* group : {&ComputeCollections, &GkeCollections}) {
      for (auto& ops : (*group)()) all.emplace(ops.collection, std::move(ops));
    }
    // Dependency order: network, cluster, node groups.
    for (const char* name : {"cloud.vpc", "cloud.vpc.subnets", "cloud.firewalls", "cloud.cluster", "cloud.node_groups"}) {
      ops_.push_back(std::move(all.at(name)));
    }
    for (auto* group : {&ComputeDiscoverers, &GkeDiscoverers}) {
      for (auto& d : (*group)()) discoverers_.push_back(std::move(d));
    }
  }

  std::string Name() const override { return "gcp"; }

  std::vector<std::string> Collections() const override {
    std::vector<std::string> out;
    for (const auto& o : ops_) out.push_back(o.collection);
    return out;
  }

  std::vector<std::string> ManagedFields(const std::string& collection) const override {
    const CollectionOps* o = Find(collection);
    return o ? o->managed : std::vector<std::string>{};
  }

  std::vector<std::string> ImmutableFields(const std::string& collection) const override {
    const CollectionOps* o = Find(collection);
    return o ? o->immutable : std::vector<std::string>{};
  }

  Result<std::optional<json>> Read(const std::string& collection, const json& recorded) override {
    NIC_ASSIGN_OR_RETURN(const CollectionOps* o, Ops(collection));
    auto r = Guard("reading " + collection, [&] { return o->read(*client_, recorded); });
    if (!r.ok()) {
      Status st = r.status();
      return st.Prepend("reading " + collection + " " + Describe(recorded));
    }
    return r;
  }

  std::vector<Result<std::optional<json>>> ReadAll(const std::vector<ResourceRef>& refs) override {
    std::vector<Result<std::optional<json>>> out(refs.size(), Status::Internal("not read"));
    client_->ParallelFor(refs.size(), [&](size_t i) { out[i] = Read(refs[i].collection, refs[i].value); });
    return out;
  }

  Result<std::vector<ResourceRef>> Discover(const std::string& cluster_name) override {
    std::vector<std::vector<ResourceRef>> found(discoverers_.size());
    std::vector<Status> status(discoverers_.size());
    client_->ParallelFor(discoverers_.size(), [&](size_t i) {
      status[i] = Guard("discovering", [&] { return discoverers_[i](*client_, cluster_name, &found[i]); });
    });
    for (Status& st : status) {
      if (!st.ok()) return st.Prepend("discovering GCP resources labelled for cluster " + cluster_name);
    }
    std::vector<ResourceRef> out;
    for (const auto& o : ops_) {
      std::vector<std::string> names;
      for (auto& group : found) {
        for (auto& ref : group) {
          if (ref.collection != o.collection) continue;
          names.push_back(JStr(ref.value, "name"));
          out.push_back(std::move(ref));
        }
      }
      if (o.singleton && names.size() > 1) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        return Status::Conflict("found " + std::to_string(names.size()) + " resources for " + o.collection +
                                " labelled for cluster " + cluster_name + " (" + list + "); expected one")
            .WithSuggestion("remove the nic_nebari_dev labels (or description marker) from the ones NIC should not manage");
      }
    }
    return out;
  }

  Result<json> Create(const std::string& collection, const json& desired, const std::string&) override {
    // GCP creates are made idempotent by name: a retried insert meets 409 ALREADY_EXISTS and
    // claims the resource when it carries NIC's labels for this cluster.
    NIC_ASSIGN_OR_RETURN(const CollectionOps* o, Ops(collection));
    auto ident = Guard("creating " + collection, [&] { return o->create(*client_, desired); });
    if (!ident.ok()) {
      Status st = ident.status();
      return st.Prepend("creating " + collection + " " + Describe(desired));
    }
    return ReadBack(*o, *ident, "created");
  }

  Result<json> Update(const std::string& collection, const json& recorded, const json& desired) override {
    NIC_ASSIGN_OR_RETURN(const CollectionOps* o, Ops(collection));
    NIC_ASSIGN_OR_RETURN(auto live, Read(collection, recorded));
    if (!live) {
      return Status::NotFound(collection + " " + Describe(recorded) + " no longer exists; it must be created again");
    }
    for (const auto& field : o->immutable) {
      json want = AtPath(desired, field);
      if (want.is_null()) continue;
      json have = AtPath(*live, field);
      if (!SameValue(field, want, have)) {
        return Status::Refused(collection + " " + Describe(recorded) + ": " + field + " cannot change in place (live " +
                               have.dump() + ", desired " + want.dump() + ")")
            .WithDetail("field", field)
            .WithSuggestion("keep " + field + " as it is, or replace the resource (delete, then create)");
      }
    }
    auto ident = Guard("updating " + collection, [&] { return o->update(*client_, recorded, *live, desired); });
    if (!ident.ok()) {
      Status st = ident.status();
      return st.Prepend("updating " + collection + " " + Describe(recorded));
    }
    return ReadBack(*o, *ident, "updated");
  }

  Status Delete(const std::string& collection, const json& recorded) override {
    NIC_ASSIGN_OR_RETURN(const CollectionOps* o, Ops(collection));
    Status st = Guard("deleting " + collection, [&] { return o->remove(*client_, recorded); });
    if (!st.ok()) st.Prepend("deleting " + collection + " " + Describe(recorded));
    return st;
  }

 private:
  const CollectionOps* Find(const std::string& collection) const {
    for (const auto& o : ops_) {
      if (o.collection == collection) return &o;
    }
    return nullptr;
  }

  Result<const CollectionOps*> Ops(const std::string& collection) const {
    const CollectionOps* o = Find(collection);
    if (o == nullptr) return Status::Unsupported("the GCP provider does not manage " + collection);
    return o;
  }

  Result<json> ReadBack(const CollectionOps& o, const json& ident, const char* verb) {
    auto live = Guard("reading " + o.collection, [&] { return o.read(*client_, ident); });
    if (!live.ok()) {
      Status st = live.status();
      return st.Prepend("reading back " + o.collection + " " + Describe(ident));
    }
    if (!live.value()) {
      return Status::Unavailable(o.collection + " " + Describe(ident) + " was " + verb + " but cannot be read back");
    }
    return std::move(*live.value());
  }

  std::unique_ptr<GcpClient> client_;
  std::vector<CollectionOps> ops_;
  std::vector<DiscoverFn> discoverers_;
};

// An API root with a trailing "/": "https://container.googleapis.com/v1/".
Result<std::string> NormalizeRoot(std::string root, const std::string& setting) {
  if (root.rfind("http://", 0) != 0 && root.rfind("https://", 0) != 0) {
    return Status::InvalidConfig(setting + " must be an http(s) URL, got \"" + root + "\"");
  }
  if (root.back() != '/') root += '/';
  return root;
}

}  // namespace
}  // namespace gcpprov

Result<std::unique_ptr<Provider>> NewGcpProvider(const ProviderContext& context, GcpProviderOptions options) {
  using gcpprov::NormalizeRoot;
  ProviderContext ctx = context;
  auto env = [&](const char* name) { return options.env ? options.env(name).value_or("") : std::string(); };
  if (ctx.region.empty()) ctx.region = env("GOOGLE_REGION");
  if (ctx.region.empty()) {
    return Status::InvalidConfig("the GCP region is not set")
        .WithSuggestion("set google_cloud_platform.region in nebari-config.yaml, or GOOGLE_REGION");
  }
  if (options.project.empty()) options.project = ctx.cloud_project;
  for (const char* var : {"GOOGLE_CLOUD_PROJECT", "GOOGLE_PROJECT", "CLOUDSDK_CORE_PROJECT"}) {
    if (options.project.empty()) options.project = env(var);
  }
  if (options.project.empty()) {
    return Status::InvalidConfig("the GCP project id is not set")
        .WithSuggestion("set google_cloud_platform.project in nebari-config.yaml, or GOOGLE_CLOUD_PROJECT");
  }
  if (ctx.project_name.empty()) {
    return Status::InvalidConfig("the GCP provider needs the project (cluster) name to label and discover resources");
  }
  if (options.page_size < 0 || options.page_size > 500) {
    return Status::InvalidConfig("GCP page size must be between 0 and 500, got " + std::to_string(options.page_size));
  }
  std::string container = options.container_endpoint, compute = options.compute_endpoint;
  std::string setting_container = "container endpoint", setting_compute = "compute endpoint";
  if (container.empty() && !env("GOOGLE_CONTAINER_CUSTOM_ENDPOINT").empty()) {
    container = env("GOOGLE_CONTAINER_CUSTOM_ENDPOINT");
    setting_container = "GOOGLE_CONTAINER_CUSTOM_ENDPOINT";
  }
  if (compute.empty() && !env("GOOGLE_COMPUTE_CUSTOM_ENDPOINT").empty()) {
    compute = env("GOOGLE_COMPUTE_CUSTOM_ENDPOINT");
    setting_compute = "GOOGLE_COMPUTE_CUSTOM_ENDPOINT";
  }
  if (std::string one = env("NIC_GCP_ENDPOINT"); !one.empty()) {
    while (!one.empty() && one.back() == '/') one.pop_back();
    if (container.empty()) {
      container = one + "/v1/";
      setting_container = "NIC_GCP_ENDPOINT";
    }
    if (compute.empty()) {
      compute = one + "/compute/v1/";
      setting_compute = "NIC_GCP_ENDPOINT";
    }
  }
  if (container.empty()) container = "https://container.googleapis.com/v1/";
  if (compute.empty()) compute = "https://compute.googleapis.com/compute/v1/";
  NIC_ASSIGN_OR_RETURN(container, NormalizeRoot(container, setting_container));
  NIC_ASSIGN_OR_RETURN(compute, NormalizeRoot(compute, setting_compute));

  std::unique_ptr<http::Transport> owned;
  if (options.transport == nullptr) {
    http::TransportOptions t;
    t.parallelism = std::max(1, ctx.parallelism);
    owned = http::NewCurlTransport(t);
  }
  http::Transport* transport = options.transport != nullptr ? options.transport : owned.get();
  std::shared_ptr<auth::Authorizer> authorizer = options.authorizer;
  if (!authorizer) {
    gcp::DefaultOptions d;
    d.env = options.env;
    d.transport = transport;
    NIC_ASSIGN_OR_RETURN(gcp::GoogleAuth g, gcp::DefaultGoogleAuth(d));
    authorizer = std::move(g.authorizer);
  }
  auto client = std::make_unique<gcpprov::GcpClient>(ctx, std::move(options), container, compute, std::move(authorizer),
                                                     std::move(owned));
  return std::unique_ptr<Provider>(new gcpprov::GcpProvider(std::move(client)));
}

}  // namespace nic
