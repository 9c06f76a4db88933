// The AWS provider: dispatches each collection to its table entry (ec2.cpp, iam.cpp, eks.cpp,
// efs.cpp) and adds what every collection shares: refusing immutable changes, re-reading after a
// change, concurrent reads and discovery.
#include "nic/aws_provider.h"

#include <algorithm>
#include <map>

#include "providers/aws/collections.h"

namespace nic {
namespace awsprov {

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

// The value at a dotted path ("vpc_config.subnet_ids"), or null.
json AtPath(const json& j, const std::string& path) {
  const json* cur = &j;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string seg = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return json();
    auto it = cur->find(seg);
    if (it == cur->end()) return json();
    cur = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return *cur;
}

bool HasPath(const json& j, const std::string& path) { return !AtPath(j, path).is_null(); }

// Lists of strings compare as sets (AWS returns them in its own order).
json Comparable(json v) {
  if (v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); })) {
    std::sort(v.begin(), v.end());
  }
  return v;
}

// AWS responses and recorded state are JSON of a known shape; one of another shape makes
// nlohmann::json throw. Exceptions never leave the library: they become kInvalidInput here.
template <typename F>
auto Guard(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::InvalidInput(what + ": unexpected JSON shape (" + e.what() + ")");
  }
}

class AwsProvider final : public Provider {
 public:
  AwsProvider(const ProviderContext& context, AwsProviderOptions options) : client_(context, std::move(options)) {
    // Dependency order: network, identity, cluster, node groups, storage.
    std::map<std::string, CollectionOps> all;
    for (auto* group : {&Ec2Collections, &IamCollections, &EksCollections, &EfsCollections}) {
      for (auto& ops : (*group)()) all.emplace(ops.collection, std::move(ops));
    }
    for (const char* name : {"cloud.vpc", "cloud.vpc.subnets", "cloud.gateways", "cloud.route_tables",
                             "cloud.route_table_associations", "cloud.security_groups", "cloud.iam_roles",
                             "cloud.iam_role_policy_attachments", "cloud.cluster", "cloud.oidc_provider",
                             "cloud.node_groups", "cloud.storage", "cloud.storage.mount_targets", "cloud.volumes"}) {
      ops_.push_back(std::move(all.at(name)));
    }
    for (auto* group : {&Ec2Discoverers, &IamDiscoverers, &EksDiscoverers, &EfsDiscoverers}) {
      for (auto& d : (*group)()) discoverers_.push_back(std::move(d));
    }
  }

  std::string Name() const override { return "aws"; }

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
    auto r = Guard("reading " + collection, [&] { return o->read(client_, recorded); });
    if (!r.ok()) {
      Status st = r.status();
      return st.Prepend("reading " + collection);
    }
    return r;
  }

  std::vector<Result<std::optional<json>>> ReadAll(const std::vector<ResourceRef>& refs) override {
    std::vector<Result<std::optional<json>>> out(refs.size(), Status::Internal("not read"));
    client_.ParallelFor(refs.size(), [&](size_t i) { out[i] = Read(refs[i].collection, refs[i].value); });
    return out;
  }

  Result<std::vector<ResourceRef>> Discover(const std::string& cluster_name) override {
    std::vector<std::vector<ResourceRef>> found(discoverers_.size());
    std::vector<Status> status(discoverers_.size());
    client_.ParallelFor(discoverers_.size(),
                        [&](size_t i) {
                          status[i] = Guard("discovering", [&] { return discoverers_[i](client_, cluster_name, &found[i]); });
                        });
    for (Status& st : status) {
      if (!st.ok()) return st.Prepend("discovering AWS resources tagged for cluster " + cluster_name);
    }
    std::vector<ResourceRef> out;
    for (const auto& o : ops_) {
      std::vector<std::string> ids;
      for (auto& group : found) {
        for (auto& ref : group) {
          if (ref.collection != o.collection) continue;
          ids.push_back(JStr(ref.value, "id"));
          out.push_back(std::move(ref));
        }
      }
      if (o.singleton && ids.size() > 1) {
        std::string list;
        for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
        return Status::Conflict("found " + std::to_string(ids.size()) + " resources for " + o.collection +
                                " tagged for cluster " + cluster_name + " (" + list + "); expected one")
            .WithSuggestion("remove the nic.nebari.dev tags from the ones NIC should not manage");
      }
    }
    return out;
  }

  Result<json> Create(const std::string& collection, const json& desired, const std::string& client_token) override {
    NIC_ASSIGN_OR_RETURN(const CollectionOps* o, Ops(collection));
    auto ident = Guard("creating " + collection, [&] { return o->create(client_, desired, client_token); });
    if (!ident.ok()) {
      Status st = ident.status();
      return st.Prepend("creating " + collection);
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
      if (!HasPath(desired, field)) continue;
      json want = Comparable(AtPath(desired, field)), have = Comparable(AtPath(*live, field));
      if (want != have) {
        return Status::Refused(collection + " " + Describe(recorded) + ": " + field + " cannot change in place (live " +
                               have.dump() + ", desired " + want.dump() + ")")
            .WithDetail("field", field)
            .WithSuggestion("keep " + field + " as it is, or replace the resource (delete, then create)");
      }
    }
    auto ident = Guard("updating " + collection, [&] { return o->update(client_, recorded, *live, desired); });
    if (!ident.ok()) {
      Status st = ident.status();
      return st.Prepend("updating " + collection + " " + Describe(recorded));
    }
    return ReadBack(*o, *ident, "updated");
  }

  Status Delete(const std::string& collection, const json& recorded) override {
    NIC_ASSIGN_OR_RETURN(const CollectionOps* o, Ops(collection));
    Status st = Guard("deleting " + collection, [&] { return o->remove(client_, recorded); });
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
    if (o == nullptr) return Status::Unsupported("the AWS provider does not manage " + collection);
    return o;
  }

  static std::string Describe(const json& j) {
    for (const char* k : {"name", "id", "arn"}) {
      if (std::string s = JStr(j, k); !s.empty()) return s;
    }
    return "(unnamed)";
  }

  Result<json> ReadBack(const CollectionOps& o, const json& ident, const char* verb) {
    auto live = Guard("reading " + o.collection, [&] { return o.read(client_, ident); });
    if (!live.ok()) {
      Status st = live.status();
      return st.Prepend("reading back " + o.collection + " " + Describe(ident));
    }
    if (!live.value()) {
      return Status::Unavailable(o.collection + " " + Describe(ident) + " was " + verb + " but cannot be read back");
    }
    return std::move(*live.value());
  }

  AwsClient client_;
  std::vector<CollectionOps> ops_;
  std::vector<DiscoverFn> discoverers_;
};

}  // namespace
}  // namespace awsprov

Result<std::unique_ptr<Provider>> NewAwsProvider(const ProviderContext& context, AwsProviderOptions options) {
  ProviderContext ctx = context;
  if (ctx.region.empty()) {
    auto region = aws::ResolveRegion(options.env);
    if (!region.ok() || region->empty()) {
      return Status::InvalidConfig("the AWS region is not set")
          .WithSuggestion("set amazon_web_services.region in nebari-config.yaml, or AWS_REGION");
    }
    ctx.region = *region;
  }
  if (ctx.project_name.empty()) {
    return Status::InvalidConfig("the AWS provider needs the project (cluster) name to tag and discover resources");
  }
  if (options.page_size < 0 || options.page_size > 1000) {
    return Status::InvalidConfig("AWS page size must be between 0 and 1000, got " + std::to_string(options.page_size));
  }
  return std::unique_ptr<Provider>(new awsprov::AwsProvider(ctx, std::move(options)));
}

}  // namespace nic
