// The GCP provider: resolves project, endpoints and credentials; its collections (compute.cpp,
// gke.cpp) in dependency order and its discoverers, on the shared table provider
// (providers/common/collection_table_provider.h: dispatch, immutable-field refusal, read-back,
// concurrent reads, discovery order).
#include "nic/gcp_provider.h"

#include <algorithm>
#include <map>

#include "nic/gcp_auth.h"
#include "providers/common/collection_table_provider.h"
#include "providers/gcp/collections.h"

namespace nic {
namespace gcpprov {

namespace {

// GCP creates are made idempotent by name (CollectionOps::create takes no client token): a retried
// insert meets 409 ALREADY_EXISTS and claims the resource when it carries NIC's labels for this
// cluster.
class GcpProvider final : public tableprov::ParallelTableProvider<GcpClient, CollectionOps, DiscoverFn> {
 public:
  explicit GcpProvider(std::unique_ptr<GcpClient> client)
      : ParallelTableProvider(
            std::move(client), OrderedCollections(), AllDiscoverers(),
            {"GCP", {"name", "id", "self_link"}, "labelled", "name",
             "remove the nic_nebari_dev labels (or description marker) from the ones NIC should not manage"}) {}

  std::string Name() const override { return "gcp"; }

 protected:
  // Names and URLs denote the same network ("net" vs ".../global/networks/net").
  bool SameValue(const std::string& field, const json& a, const json& b) const override {
    if ((field == "network" || field == "subnetwork" || field == "region" || field == "cluster") && a.is_string() &&
        b.is_string()) {
      return LastSegment(a.get<std::string>()) == LastSegment(b.get<std::string>());
    }
    return tableprov::Comparable(a) == tableprov::Comparable(b);
  }

 private:
  // Dependency order: network, cluster, node groups.
  static std::vector<CollectionOps> OrderedCollections() {
    std::map<std::string, CollectionOps> all;
    for (auto* group : {&ComputeCollections, &GkeCollections}) {
      for (auto& ops : (*group)()) all.emplace(ops.collection, std::move(ops));
    }
    std::vector<CollectionOps> ordered;
    for (const char* name : {"cloud.vpc", "cloud.vpc.subnets", "cloud.firewalls", "cloud.cluster", "cloud.node_groups"}) {
      ordered.push_back(std::move(all.at(name)));
    }
    return ordered;
  }

  static std::vector<DiscoverFn> AllDiscoverers() {
    std::vector<DiscoverFn> all;
    for (auto* group : {&ComputeDiscoverers, &GkeDiscoverers}) {
      for (auto& d : (*group)()) all.push_back(std::move(d));
    }
    return all;
  }
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
