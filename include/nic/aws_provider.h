// The AWS provider: live reads and changes of the resources Nebari's AWS stage creates (VPC,
// subnets, gateways, route tables, security groups, IAM roles and attachments, the EKS cluster,
// its node groups and OIDC provider, EFS and EBS), over EC2/IAM/STS (query protocol), EKS and
// EFS (REST-JSON). See providers/aws/README.md for the collections and the APIs used.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "nic/auth.h"
#include "nic/aws_auth.h"
#include "nic/http.h"
#include "nic/provider.h"
#include "nic/retry.h"
#include "nic/status.h"

namespace nic {

struct AwsProviderOptions {
  // One endpoint for every service (an emulator). Empty: per service below, then
  // AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, then the public endpoint for the region.
  std::string endpoint;
  // Per service id: "ec2", "iam", "sts", "eks", "efs". Wins over `endpoint`.
  std::map<std::string, std::string> endpoints;
  // Null: the default chain (environment, web identity, profile, IMDS).
  std::shared_ptr<aws::CredentialProvider> credentials;
  // Null: a curl transport with ProviderContext::parallelism requests in flight. Not owned.
  http::Transport* transport = nullptr;
  http::RetryOptions retry;
  auth::EnvLookup env = auth::ProcessEnv();
  // Page size sent as MaxResults/maxResults/MaxItems on list calls; 0 = the service default.
  int page_size = 0;
  // EKS control-plane upgrades are refused (kRefused) unless allowed (v1.0 transfers
  // management only; see design §4.4).
  bool allow_cluster_version_update = false;
  // Status polling while waiting for a resource to settle: first delay, doubled up to the max.
  std::chrono::milliseconds poll_initial{1000};
  std::chrono::milliseconds poll_max{15000};
};

// Checks the options (region present) and builds the provider; no request is sent.
Result<std::unique_ptr<Provider>> NewAwsProvider(const ProviderContext& context,
                                                 AwsProviderOptions options = {});

}  // namespace nic
