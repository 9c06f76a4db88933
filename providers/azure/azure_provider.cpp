// The Azure provider: resolves subscription, endpoint and credentials; its collections
// (collections.cpp) and discovery by the NIC tags, on the shared table provider
// (providers/common/collection_table_provider.h: dispatch, immutable-field refusal, read-back,
// discovery order).
#include "nic/azure_provider.h"

#include <algorithm>

#include "nic/azure_auth.h"
#include "providers/azure/collections.h"
#include "providers/common/collection_table_provider.h"

namespace nic {
namespace azureprov {
namespace {

class AzureProvider final : public tableprov::CollectionTableProvider<ArmClient, CollectionOps> {
 public:
  // ARM PUT is create-or-update and idempotent by resource id (CollectionOps::create takes no
  // client token), so a retried create after a crash finds and settles the same resource.
  AzureProvider(const ProviderContext& context, AzureProviderOptions options, std::unique_ptr<http::Transport> owned,
                std::string endpoint, std::string sub, std::unique_ptr<auth::Authorizer> authorizer)
      : CollectionTableProvider(std::make_unique<ArmClient>(context, std::move(options), std::move(owned),
                                                            std::move(endpoint), std::move(sub), std::move(authorizer)),
                                AllCollections(),
                                {"Azure", {"name", "id"}, "tagged", "id",
                                 "remove the nic.nebari.dev_* tags from the ones NIC should not manage"}) {}

  std::string Name() const override { return "azure"; }

  Result<std::vector<ResourceRef>> Discover(const std::string& cluster_name) override {
    std::vector<ResourceRef> found;
    Status st = tableprov::Guard("discovering", [&] { return DiscoverAll(client(), cluster_name, &found); });
    if (!st.ok()) return st.Prepend(DiscoveringWhat(cluster_name));
    return InDependencyOrder(std::move(found), cluster_name);
  }
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
