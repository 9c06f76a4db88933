// Shared set-up for the AWS provider tests: two moto servers per test binary and providers
// pointed at them.
//
// moto verifies signatures only in its auth mode, and in that mode it rejects correctly signed
// REST-JSON requests that have no body (GET, DELETE: it then signs its parsed parameters as if
// they were the body), which is every EKS and EFS read (../shared/reference/emulators.md §1).
// So EC2, IAM and STS go to a moto with signature checking on, EKS and EFS to a second moto
// without it. EKS in moto accepts subnet, security group and role references it cannot see;
// EFS mount targets need subnets in the same moto, which tests make with NewOpenProvider.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "nic/aws_auth.h"
#include "nic/aws_provider.h"
#include "nic/http.h"

namespace nic::awstest {

using json = nlohmann::json;

inline constexpr const char* kRegion = "us-west-2";

struct Motos {
  std::string checked_endpoint;  // signatures verified against moto IAM
  std::string open_endpoint;     // no auth: EKS and EFS (and the subnets EFS mount targets use)
  aws::Credentials admin;        // allowed everything in the checked moto
};

// Started once per binary; nullptr (with the reason in *error) when moto cannot start.
const Motos* SharedMotos(std::string* error);

http::Transport& TestTransport();

ProviderContext Context(const std::string& project);

// A provider for `project` against the shared motos (credentials default to the admin).
std::unique_ptr<Provider> NewProvider(const std::string& project, int page_size = 0,
                                      const aws::Credentials* credentials = nullptr,
                                      bool allow_version_update = false, http::Transport* transport = nullptr);

// A provider whose every service goes to the moto without signature checking.
std::unique_ptr<Provider> NewOpenProvider(const std::string& project);

// A raw signed query (EC2/IAM/STS) against the checked moto, as the admin; the body or an error.
Result<std::string> RawQuery(const std::string& service, const std::string& action,
                             const std::vector<std::pair<std::string, std::string>>& params);

// A user of the checked moto allowed only `actions_json_array` (e.g. ["ec2:Describe*"]).
Result<aws::Credentials> CreateLimitedUser(const std::string& name, const std::string& actions_json_array);

// Every field of `desired` equals the one in `live` (lists of strings as sets, objects field
// by field, "tags" as a subset); failures name the path.
void ExpectMatches(const json& desired, const json& live, const std::string& where);

// The NIC tag schema is on `tags` for this project and resource type.
void ExpectNicTags(const json& tags, const std::string& project, const std::string& resource_type);

}  // namespace nic::awstest
