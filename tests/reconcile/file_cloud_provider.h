// A stand-in cloud for the reconciler's rule tests: node groups and a cluster kept in a JSON
// file (so a forked, killed deploy and its successor see the same "cloud"), with a call log so
// tests can assert which write calls were made. The moto-backed acceptance tests exercise the
// real AWS provider; this one isolates the reconciler's decisions.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>

#include "nic/provider.h"
#include "tests/support/test_util.h"

namespace nic::testing {

class FileCloudProvider : public Provider {
 public:
  explicit FileCloudProvider(std::string path) : path_(std::move(path)) {}

  std::string Name() const override { return "filecloud"; }
  std::vector<std::string> Collections() const override { return {"cloud.vpc", "cloud.cluster", "cloud.node_groups"}; }
  std::vector<std::string> ManagedFields(const std::string& c) const override {
    if (c == "cloud.node_groups") return {"instance_types", "scaling_config.min_size", "scaling_config.max_size", "labels", "taints", "disk_size", "subnet_ids"};
    if (c == "cloud.cluster") return {"version"};
    if (c == "cloud.vpc") return {"cidr"};
    return {};
  }
  std::vector<std::string> ImmutableFields(const std::string& c) const override {
    if (c == "cloud.node_groups") return {"instance_types", "disk_size"};
    if (c == "cloud.vpc") return {"cidr"};
    return {};
  }

  Result<std::optional<nlohmann::json>> Read(const std::string& c, const nlohmann::json& recorded) override {
    auto cloud = Load();
    Log("read", c);
    std::string key = Key(c, recorded);
    if (!cloud[c].contains(key)) return std::optional<nlohmann::json>();
    return std::optional<nlohmann::json>(cloud[c][key]);
  }
  Result<std::vector<ResourceRef>> Discover(const std::string& cluster) override {
    auto cloud = Load();
    std::vector<ResourceRef> out;
    for (auto& [c, items] : cloud.items()) {
      if (c == "_log") continue;
      for (auto& [k, v] : items.items()) {
        auto tags = v.value("tags", nlohmann::json::object());
        if (tags.value(kTagManagedBy, "") == "nic" && tags.value(kTagClusterName, "") == cluster) {
          out.push_back({c == "cloud.node_groups" ? c + "." + k : c, c, v});
        }
      }
    }
    return out;
  }
  Result<nlohmann::json> Create(const std::string& c, const nlohmann::json& desired, const std::string& token) override {
    if (fail_next_create) return Status::Unavailable("injected create failure");
    nlohmann::json v = desired;
    v["arn"] = "arn:filecloud:" + desired.value("name", std::string("x"));
    v["status"] = "ACTIVE";
    v["client_token"] = token;
    v["tags"] = {{kTagManagedBy, "nic"}, {kTagClusterName, cluster_name}};
    Mutate([&](nlohmann::json& cloud) {
      cloud[c][Key(c, desired)] = v;
      cloud["_log"].push_back("create " + Key(c, desired));
    });
    if (after_create) after_create();
    return v;
  }
  Result<nlohmann::json> Update(const std::string& c, const nlohmann::json& recorded, const nlohmann::json& desired) override {
    nlohmann::json out;
    Mutate([&](nlohmann::json& cloud) {
      auto& cur = cloud[c][Key(c, recorded)];
      cur.merge_patch(desired);
      out = cur;
      cloud["_log"].push_back("update " + Key(c, recorded));
    });
    return out;
  }
  Status Delete(const std::string& c, const nlohmann::json& recorded) override {
    Mutate([&](nlohmann::json& cloud) {
      cloud[c].erase(Key(c, recorded));
      cloud["_log"].push_back("delete " + Key(c, recorded));
    });
    return Status::OK();
  }

  // Test helpers.
  void Put(const std::string& c, const nlohmann::json& v) {
    Mutate([&](nlohmann::json& cloud) { cloud[c][Key(c, v)] = v; });
  }
  nlohmann::json Get(const std::string& c, const std::string& key) { return Load()[c].value(key, nlohmann::json()); }
  std::vector<std::string> WriteLog() {
    auto l = Load().value("_log", nlohmann::json::array());
    return l.get<std::vector<std::string>>();
  }
  int Count(const std::string& c) { return static_cast<int>(Load()[c].size()); }

  std::string cluster_name = "demo";  // the tag value: the project name, as the AWS provider tags
  bool fail_next_create = false;
  std::function<void()> after_create;

 private:
  static std::string Key(const std::string& c, const nlohmann::json& v) {
    if (c == "cloud.node_groups") return v.value("name", std::string());
    return "singleton";
  }
  void Log(const char*, const std::string&) {}
  nlohmann::json Load() {
    std::lock_guard<std::mutex> g(mu_);
    if (!::access(path_.c_str(), F_OK)) {
      auto j = nlohmann::json::parse(ReadFileOrDie(path_), nullptr, false);
      if (!j.is_discarded()) return j;
    }
    return nlohmann::json::object();
  }
  void Mutate(const std::function<void(nlohmann::json&)>& f) {
    std::lock_guard<std::mutex> g(mu_);
    nlohmann::json j = nlohmann::json::object();
    if (!::access(path_.c_str(), F_OK)) j = nlohmann::json::parse(ReadFileOrDie(path_));
    f(j);
    std::string tmp = path_ + ".tmp";
    WriteFileOrDie(tmp, j.dump());
    ::rename(tmp.c_str(), path_.c_str());
  }
  std::string path_;
  std::mutex mu_;
};

}  // namespace nic::testing
