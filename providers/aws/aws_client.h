// Internal to the AWS provider: one signed, retried call to EC2/IAM/STS (query protocol, XML)
// or EKS/EFS (REST-JSON), pagination, AWS errors turned into actionable NIC errors, waiting
// for a resource to settle, and small JSON/XML helpers.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/aws_provider.h"
#include "nic/xml.h"

namespace nic::awsprov {

using json = nlohmann::json;
using Params = std::vector<std::pair<std::string, std::string>>;
using Tags = std::map<std::string, std::string>;

struct CallerIdentity {
  std::string account;
  std::string arn;
};

class AwsClient {
 public:
  AwsClient(const ProviderContext& context, AwsProviderOptions options);
  AwsClient(const AwsClient&) = delete;
  AwsClient& operator=(const AwsClient&) = delete;

  const ProviderContext& context() const { return ctx_; }
  const AwsProviderOptions& options() const { return opt_; }
  const std::string& region() const { return ctx_.region; }
  int page_size() const { return opt_.page_size; }
  std::string endpoint(const std::string& service) const;

  // Query protocol ("ec2", "iam", "sts"): the parsed response document, or the mapped error.
  Result<xml::Node> Query(const std::string& service, const std::string& action, const Params& params);
  // Follows NextToken (EC2: request NextToken, response <nextToken>) or Marker (IAM: request
  // Marker, response <Marker> while <IsTruncated> is true) until the last page; `on_page` sees
  // each page's document. MaxResults/MaxItems is sent when options.page_size is set and
  // `paged_size` is true (EC2 refuses MaxResults together with explicit IDs).
  Status QueryPages(const std::string& service, const std::string& action, Params params,
                    const std::function<void(const xml::Node&)>& on_page, bool paged_size = true);

  // REST-JSON ("eks", "efs"). `action` is the IAM action name for error messages
  // ("eks:DescribeNodegroup"). A 2xx with an empty body returns {}.
  Result<json> Rest(const std::string& service, const std::string& action, const std::string& method,
                    const std::string& path_and_query, const json& body = json());

  // STS GetCallerIdentity, cached after the first success.
  Result<CallerIdentity> Caller();

  // Polls `check` (true = settled) with exponential backoff until it is true, fails, or the
  // context's wait timeout passes (kTimeout naming `what` and the last state `check` reported).
  Status WaitUntil(const std::string& what, const std::function<Result<bool>(std::string* state)>& check);

  // Runs f(i) for i in [0, n) on up to context.parallelism threads.
  void ParallelFor(size_t n, const std::function<void(size_t)>& f) const;

  // The NIC tag schema for a resource type, under user tags and the desired "tags" object
  // (NIC's own keys always win).
  Tags NicTags(const std::string& resource_type, const json& desired, const std::string& node_pool = "") const;

 private:
  Result<http::Response> Send(const std::string& service, http::Request request);
  Status MapError(const std::string& service, const std::string& action, const http::Request& request,
                  const http::Response& response);
  auth::Authorizer* Signer(const std::string& service);

  ProviderContext ctx_;
  AwsProviderOptions opt_;
  std::unique_ptr<http::Transport> owned_transport_;
  http::Transport* transport_ = nullptr;
  std::shared_ptr<aws::CredentialProvider> credentials_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<auth::Authorizer>> signers_;
  std::optional<CallerIdentity> caller_;
};

// ---- helpers --------------------------------------------------------------------------------

std::string JStr(const json& j, const char* key);
// Optional typed reads of a state JSON field.
std::optional<int64_t> JInt(const json& j, const char* key);
std::optional<bool> JBool(const json& j, const char* key);
std::vector<std::string> JStrings(const json& j, const char* key);

// EC2 <tagSet><item><key/><value/></item></tagSet> and IAM <Tags><member><Key/><Value/>.
json XmlTags(const xml::Node* set);
// Items of an EC2 "...Set" element (its <item> children); empty when absent.
std::vector<const xml::Node*> Items(const xml::Node& parent, const char* set_name);
bool XmlBool(const std::string& text);
std::optional<int64_t> XmlInt(const std::string& text);

// "Tag.N.Key/Value"-style parameters: prefix "TagSpecification.1.Tag" -> prefix.N.Key, .Value.
void AppendTagParams(Params& params, const std::string& prefix, const Tags& tags, const char* key = "Key",
                     const char* value = "Value");
// EC2 Filter.N.Name / Filter.N.Value.1.
void AppendFilter(Params& params, int index, const std::string& name, const std::string& value);
// The NIC discovery filters: tag:managed-by=nic, tag:cluster-name=<cluster>.
Params NicFilters(const std::string& cluster);

json TagsJson(const Tags& tags);
// True when `tags` (a JSON object) carries managed-by=nic and cluster-name=<cluster>.
bool IsNicTagged(const json& tags, const std::string& cluster);
// Keys to add or change and keys to remove so that live tags become `want`, removing only keys
// the recorded resource carried (tags others added stay).
void TagDelta(const json& live, const Tags& want, const json& recorded, Tags* set, std::vector<std::string>* remove);

// Seconds since the epoch (EKS createdAt) or an RFC 3339 string -> RFC 3339.
std::string Rfc3339(const json& v);
// Sorted, de-duplicated copy.
std::vector<std::string> Sorted(std::vector<std::string> v);

// Whether a status means "the resource is not there".
inline bool IsNotFound(const Status& s) { return s.code() == ErrorCode::kNotFound; }

}  // namespace nic::awsprov
