// The Azure provider: live reads and changes of the resources Nebari's Azure stage creates
// (resource group, virtual network and subnets, the AKS managed cluster and its agent pools,
// user-assigned managed identities) over the Azure Resource Manager REST API. See
// providers/azure/README.md for the collections, api-versions and state shapes.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "nic/auth.h"
#include "nic/http.h"
#include "nic/provider.h"
#include "nic/retry.h"
#include "nic/status.h"

namespace nic {

struct AzureProviderOptions {
  // ARM base URL. Empty: NIC_AZURE_ARM_ENDPOINT, then https://management.azure.com.
  std::string endpoint;
  // Empty: AZURE_SUBSCRIPTION_ID, then ARM_SUBSCRIPTION_ID.
  std::string subscription_id;
  // Resource group for resources whose JSON names none (the desired JSON built from the config
  // always names one). Empty: NIC_AZURE_RESOURCE_GROUP, then the project name.
  std::string resource_group;
  // A fixed bearer token (tests, `az account get-access-token`). Empty: NIC_AZURE_TOKEN, then
  // Entra client credentials from AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET.
  std::string token;
  // Null: a curl transport. Not owned; must outlive the provider.
  http::Transport* transport = nullptr;
  http::RetryOptions retry;
  auth::EnvLookup env = auth::ProcessEnv();
  // How often a PUT refused with 409 (operation in progress) or 412 (stale If-Match) is retried
  // after re-reading the resource.
  int max_conflict_retries = 5;
  // Operation polling when the server sends no Retry-After: first delay, doubled up to the max.
  std::chrono::milliseconds poll_initial{1000};
  std::chrono::milliseconds poll_max{15000};
};

// Azure tag names cannot contain < > % & \ ? / (ARM "InvalidTagNameCharacters"), so NIC's tag
// keys are stored with each of those characters replaced by '_':
// "nic.nebari.dev/managed-by" -> "nic.nebari.dev_managed-by". Values are kept as they are.
std::string ToAzureTagKey(const std::string& key);

// Checks the options (subscription, credentials) and builds the provider; no request is sent.
Result<std::unique_ptr<Provider>> NewAzureProvider(const ProviderContext& context, AzureProviderOptions options = {});

}  // namespace nic
