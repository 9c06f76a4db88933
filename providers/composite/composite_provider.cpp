#include "nic/composite_provider.h"

#include <algorithm>
#include <set>

namespace nic {
namespace {

using json = nlohmann::json;

class CompositeProvider final : public Provider {
 public:
  CompositeProvider(std::unique_ptr<Provider> cloud, std::unique_ptr<Provider> kube)
      : cloud_(std::move(cloud)), kube_(std::move(kube)) {
    if (kube_) {
      for (const auto& c : kube_->Collections()) kube_collections_.insert(c);
    }
  }

  std::string Name() const override { return cloud_->Name(); }

  std::vector<std::string> Collections() const override {
    std::vector<std::string> out = cloud_->Collections();
    if (kube_) {
      for (const auto& c : kube_->Collections()) out.push_back(c);
    }
    return out;
  }
  std::vector<std::string> ManagedFields(const std::string& collection) const override {
    return For(collection).ManagedFields(collection);
  }
  std::vector<std::string> ImmutableFields(const std::string& collection) const override {
    return For(collection).ImmutableFields(collection);
  }
  Result<std::optional<json>> Read(const std::string& collection, const json& recorded) override {
    return For(collection).Read(collection, recorded);
  }

  // Each side reads its own resources concurrently; the Kubernetes reads wait for the cloud's.
  std::vector<Result<std::optional<json>>> ReadAll(const std::vector<ResourceRef>& refs) override {
    // All of one side (a cloud-only run): hand the list over as it is, without copying every
    // resource's JSON.
    if (std::none_of(refs.begin(), refs.end(), [&](const ResourceRef& r) { return kube_collections_.count(r.collection) > 0; })) {
      return cloud_->ReadAll(refs);
    }
    std::vector<ResourceRef> cloud_refs, kube_refs;
    std::vector<bool> is_kube;
    for (const auto& r : refs) {
      is_kube.push_back(kube_collections_.count(r.collection) > 0);
      (is_kube.back() ? kube_refs : cloud_refs).push_back(r);
    }
    auto cloud = cloud_->ReadAll(cloud_refs);
    std::vector<Result<std::optional<json>>> kube;
    if (kube_) kube = kube_->ReadAll(kube_refs);
    std::vector<Result<std::optional<json>>> out;
    size_t ci = 0, ki = 0;
    for (bool k : is_kube) out.push_back(k ? std::move(kube[ki++]) : std::move(cloud[ci++]));
    return out;
  }

  Result<std::vector<ResourceRef>> Discover(const std::string& cluster_name) override {
    NIC_ASSIGN_OR_RETURN(auto out, cloud_->Discover(cluster_name));
    if (kube_) {
      NIC_ASSIGN_OR_RETURN(auto more, kube_->Discover(cluster_name));
      for (auto& r : more) out.push_back(std::move(r));
    }
    return out;
  }

  Result<json> Create(const std::string& collection, const json& desired, const std::string& client_token) override {
    return For(collection).Create(collection, desired, client_token);
  }
  Result<json> Update(const std::string& collection, const json& recorded, const json& desired) override {
    return For(collection).Update(collection, recorded, desired);
  }
  Status Delete(const std::string& collection, const json& recorded) override { return For(collection).Delete(collection, recorded); }

 private:
  Provider& For(const std::string& collection) const {
    return kube_collections_.count(collection) ? *kube_ : *cloud_;
  }

  std::unique_ptr<Provider> cloud_;
  std::unique_ptr<Provider> kube_;
  std::set<std::string> kube_collections_;
};

}  // namespace

std::unique_ptr<Provider> NewCompositeProvider(std::unique_ptr<Provider> cloud, std::unique_ptr<Provider> kubernetes) {
  return std::make_unique<CompositeProvider>(std::move(cloud), std::move(kubernetes));
}

}  // namespace nic
