// The Azure provider: dispatches each collection to its table entry (collections.cpp) and adds
// what every collection shares: refusing immutable changes, re-reading after a change and
// discovery by the NIC tags.
#include "nic/azure_provider.h"

#include <algorithm>

#include "nic/azure_auth.h"
#include "providers/azure/collections.h"

namespace nic {
namespace azureprov {
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

// ARM answers with shapes NIC knows; a body of another shape makes nlohmann::json throw, which
// becomes kInvalidInput here (exceptions never leave the library).
template <typename F>
auto Guard(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::InvalidInput(what + ": unexpected JSON shape (" + e.what() + ")");
  }
}

std::string Describe(const json& j) {
  for (const char* k : {"name", "id"}) {
    if (std::string s = JStr(j, k); !s.empty()) return s;
  }
  return "(unnamed)";
}

class AzureProvider final : public Provider {
 public:
  AzureProvider(const ProviderContext& context, AzureProviderOptions options, std::unique_ptr<http::Transport> owned,
                std::string endpoint, std::string sub, std::unique_ptr<auth::Authorizer> authorizer)
      : client_(context, std::move(options), std::move(owned), std::move(endpoint), std::move(sub),
                std::move(authorizer)),
        ops_(AllCollections()) {}

  std::string Name() const override { return "azure"; }

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
      return st.Prepend("reading " + collection + " " + Describe(recorded));
    }
    return r;
  }

  Result<std::vector<ResourceRef>> Discover(const std::string& cluster_name) override {
    std::vector<ResourceRef> found;
    Status st = Guard("discovering", [&] { return DiscoverAll(client_, cluster_name, &found); });
    if (!st.ok()) return st.Prepend("discovering Azure resources tagged for cluster " + cluster_name);
    for (const auto& o : ops_) {
      if (!o.singleton) continue;
      std::vector<std::string> ids;
      for (const auto& ref : found) {
        if (ref.collection == o.collection) ids.push_back(JStr(ref.value, "id"));
      }
      if (ids.size() > 1) {
        std::string list;
        for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
        return Status::Conflict("found " + std::to_string(ids.size()) + " resources for " + o.collection +
                                " tagged for cluster " + cluster_name + " (" + list + "); expected one")
            .WithSuggestion("remove the nic.nebari.dev_* tags from the ones NIC should not manage");
      }
    }
    // Dependency order, as Collections() lists them.
    std::stable_sort(found.begin(), found.end(), [&](const ResourceRef& a, const ResourceRef& b) {
      return Index(a.collection) < Index(b.collection);
    });
    return found;
  }

  Result<json> Create(const std::string& collection, const json& desired, const std::string&) override {
    // ARM PUT is create-or-update and idempotent by resource id, so a retried create after a
    // crash finds and settles the same resource; no client token is needed.
    NIC_ASSIGN_OR_RETURN(const CollectionOps* o, Ops(collection));
    auto ident = Guard("creating " + collection, [&] { return o->create(client_, desired); });
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

  size_t Index(const std::string& collection) const {
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].collection == collection) return i;
    }
    return ops_.size();
  }

  Result<const CollectionOps*> Ops(const std::string& collection) const {
    const CollectionOps* o = Find(collection);
    if (o == nullptr) return Status::Unsupported("the Azure provider does not manage " + collection);
    return o;
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

  ArmClient client_;
  std::vector<CollectionOps> ops_;
};

}  // namespace
}  // namespace azureprov

Result<std::unique_ptr<Provider>> NewAzureProvider(const ProviderContext& context, AzureProviderOptions options) {
  auto env = [&](const char* name) { return options.env ? options.env(name).value_or("") : std::string(); };
  if (context.project_name.empty()) {
    return Status::InvalidConfig("the Azure provider needs the project (cluster) name to tag and discover resources");
  }
  std::string endpoint = options.endpoint;
  if (endpoint.empty()) endpoint = env("NIC_AZURE_ARM_ENDPOINT");
  if (endpoint.empty()) endpoint = "https://management.azure.com";
  std::string sub = options.subscription_id;
  if (sub.empty()) sub = env("AZURE_SUBSCRIPTION_ID");
  if (sub.empty()) sub = env("ARM_SUBSCRIPTION_ID");
  if (sub.empty()) {
    return Status::InvalidConfig("the Azure subscription is not set")
        .WithSuggestion("export AZURE_SUBSCRIPTION_ID (or ARM_SUBSCRIPTION_ID, as for Terraform)");
  }
  if (options.resource_group.empty()) options.resource_group = env("NIC_AZURE_RESOURCE_GROUP");
  if (options.resource_group.empty()) options.resource_group = context.project_name;
  if (options.max_conflict_retries < 0) {
    return Status::InvalidConfig("max_conflict_retries must not be negative");
  }
  std::unique_ptr<http::Transport> owned;
  if (options.transport == nullptr) {
    owned = http::NewCurlTransport();
    options.transport = owned.get();
  }
  std::string token = options.token;
  if (token.empty()) token = env("NIC_AZURE_TOKEN");
  std::unique_ptr<auth::Authorizer> authorizer;
  if (!token.empty()) {
    authorizer = azureprov::NewFixedBearer(token);
  } else {
    auto entra = azure::EntraOptionsFromEnv(options.env, azure::kArmScope);
    if (!entra.ok()) {
      Status st = entra.status();
      return st.Prepend("no Azure credentials for Resource Manager")
          .WithSuggestion("export NIC_AZURE_TOKEN (e.g. from `az account get-access-token`), or AZURE_TENANT_ID, "
                          "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal");
    }
    // The token endpoint is reached through the same transport as ARM (tests, proxies).
    auto cached = std::make_shared<auth::CachedTokenSource>(azure::NewEntraClientCredentials(*entra, options.transport));
    authorizer = std::make_unique<auth::BearerAuthorizer>(std::move(cached));
  }
  return std::unique_ptr<Provider>(
      new azureprov::AzureProvider(context, std::move(options), std::move(owned), std::move(endpoint), std::move(sub),
                                   std::move(authorizer)));
}

}  // namespace nic
