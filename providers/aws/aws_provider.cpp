// The AWS provider: its collections (ec2.cpp, iam.cpp, eks.cpp, efs.cpp) in dependency order and
// its discoverers, on the shared table provider (providers/common/collection_table_provider.h:
// dispatch, immutable-field refusal, read-back, concurrent reads, discovery order).
#include "nic/aws_provider.h"

#include <algorithm>
#include <map>

#include "providers/aws/collections.h"
#include "providers/common/collection_table_provider.h"

namespace nic {
namespace awsprov {

namespace {

class AwsProvider final : public tableprov::ParallelTableProvider<AwsClient, CollectionOps, DiscoverFn> {
 public:
  AwsProvider(const ProviderContext& context, AwsProviderOptions options)
      : ParallelTableProvider(std::make_unique<AwsClient>(context, std::move(options)), OrderedCollections(),
                              AllDiscoverers(),
                              {"AWS", {"name", "id", "arn"}, "tagged", "id",
                               "remove the nic.nebari.dev tags from the ones NIC should not manage"}) {}

  std::string Name() const override { return "aws"; }

 protected:
  bool SameValue(const std::string&, const json& want, const json& have) const override {
    return tableprov::Comparable(want) == tableprov::Comparable(have);
  }

 private:
  // Dependency order: network, identity, cluster, node groups, storage.
  static std::vector<CollectionOps> OrderedCollections() {
    std::map<std::string, CollectionOps> all;
    for (auto* group : {&Ec2Collections, &IamCollections, &EksCollections, &EfsCollections}) {
      for (auto& ops : (*group)()) all.emplace(ops.collection, std::move(ops));
    }
    std::vector<CollectionOps> ordered;
    for (const char* name : {"cloud.vpc", "cloud.vpc.subnets", "cloud.gateways", "cloud.route_tables",
                             "cloud.route_table_associations", "cloud.security_groups", "cloud.iam_roles",
                             "cloud.iam_role_policy_attachments", "cloud.cluster", "cloud.oidc_provider",
                             "cloud.node_groups", "cloud.storage", "cloud.storage.mount_targets", "cloud.volumes"}) {
      ordered.push_back(std::move(all.at(name)));
    }
    return ordered;
  }

  static std::vector<DiscoverFn> AllDiscoverers() {
    std::vector<DiscoverFn> all;
    for (auto* group : {&Ec2Discoverers, &IamDiscoverers, &EksDiscoverers, &EfsDiscoverers}) {
      for (auto& d : (*group)()) all.push_back(std::move(d));
    }
    return all;
  }
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
