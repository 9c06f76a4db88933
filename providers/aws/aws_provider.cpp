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
                               "remove the nic.nebari.dev tags from the ones NIC should not manage"}),
        read_many_(Ec2ReadManys()) {}

  std::string Name() const override { return "aws"; }

  // Resources of a collection with a ReadManyFn (subnets, security groups, volumes) are read
  // kMaxIdsPerRead at a time, one paged call per batch instead of one call each; the rest one by
  // one. Batches and single reads share the bounded parallelism; results stay in input order
  // and an ID the batch does not return reads as gone (nullopt), as a single read would.
  std::vector<Result<std::optional<json>>> ReadAll(const std::vector<ResourceRef>& refs) override {
    struct Task {
      const std::string* collection = nullptr;  // set for a batch
      std::vector<size_t> refs;
    };
    std::vector<Task> tasks;
    std::vector<size_t> singles;
    std::map<std::string, std::vector<size_t>> batched;
    for (size_t i = 0; i < refs.size(); ++i) {
      if (read_many_.count(refs[i].collection) != 0 && !JStr(refs[i].value, "id").empty()) {
        batched[refs[i].collection].push_back(i);
      } else {
        singles.push_back(i);
      }
    }
    // Batches first: each is the longest call of the lot.
    for (const auto& [collection, idx] : batched) {
      for (size_t at = 0; at < idx.size(); at += kMaxIdsPerRead) {
        auto begin = idx.begin() + static_cast<std::ptrdiff_t>(at);
        tasks.push_back({&collection, {begin, begin + static_cast<std::ptrdiff_t>(std::min(kMaxIdsPerRead, idx.size() - at))}});
      }
    }
    for (size_t i : singles) tasks.push_back({nullptr, {i}});
    std::vector<Result<std::optional<json>>> out(refs.size(), Status::Internal("not read"));
    client().ParallelFor(tasks.size(), [&](size_t t) {
      const Task& task = tasks[t];
      if (task.collection == nullptr) {
        out[task.refs[0]] = Read(refs[task.refs[0]].collection, refs[task.refs[0]].value);
        return;
      }
      std::vector<std::string> ids;
      ids.reserve(task.refs.size());
      for (size_t i : task.refs) ids.push_back(JStr(refs[i].value, "id"));
      std::vector<std::string> unique_ids = Sorted(ids);
      // Each resource's JSON moves into its result, unless the state lists its ID twice.
      const bool repeated = unique_ids.size() != ids.size();
      const ReadManyFn& read_many = read_many_.at(*task.collection);
      auto found = tableprov::Guard("reading " + *task.collection, [&]() -> Result<std::map<std::string, json>> {
        return read_many(client(), unique_ids);
      });
      for (size_t k = 0; k < task.refs.size(); ++k) {
        if (!found.ok()) {
          // Named as a single read names it: by name when it has one (security groups).
          std::string name = JStr(refs[task.refs[k]].value, "name");
          Status st = found.status();
          out[task.refs[k]] = st.Prepend("reading " + *task.collection + " " + (name.empty() ? ids[k] : name));
        } else if (auto it = found->find(ids[k]); it != found->end()) {
          out[task.refs[k]] = std::optional<json>(repeated ? it->second : std::move(it->second));
        } else {
          out[task.refs[k]] = std::optional<json>();
        }
      }
    });
    return out;
  }

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

  std::map<std::string, ReadManyFn> read_many_;
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
