// Internal to the cloud providers (AWS, GCP, Azure): the Provider that dispatches each state
// collection to its table entry (the provider's collections.h) and adds what every collection
// shares: refusing immutable changes, re-reading after a change, concurrent reads, putting
// discovered resources in dependency order and refusing two of a singleton. Each provider keeps
// its names, discovery, endpoints and credentials in its own folder.
#pragma once

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/provider.h"
#include "nic/status.h"
#include "providers/common/resource_json.h"

namespace nic::tableprov {

using json = nlohmann::json;

// Cloud responses and recorded state are JSON of a known shape; one of another shape makes
// nlohmann::json throw. Exceptions never leave the library: they become kInvalidInput here.
template <typename F>
auto Guard(const std::string& what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::InvalidInput(what + ": unexpected JSON shape (" + e.what() + ")");
  }
}

// What differs in the messages of one cloud.
struct ProviderWords {
  std::string cloud;                       // "AWS": "the AWS provider does not manage ..."
  std::vector<std::string> describe_keys;  // fields naming a resource in messages, first set wins
  std::string marked;                      // "tagged" / "labelled" (for cluster X)
  std::string duplicate_key;               // the field listing two resources of one singleton
  std::string unmark_suggestion;           // what to do about those
};

// `Ops` is the provider's table entry: collection, singleton, managed, immutable and the
// read/create/update/remove functions taking `Client&`. A create may take the client token as
// a third argument (AWS) or not (GCP, Azure: their creates are idempotent by name or id).
template <typename Client, typename Ops>
class CollectionTableProvider : public Provider {
 public:
  CollectionTableProvider(std::unique_ptr<Client> client, std::vector<Ops> ops, ProviderWords words)
      : client_(std::move(client)), ops_(std::move(ops)), words_(std::move(words)) {}

  std::vector<std::string> Collections() const override {
    std::vector<std::string> out;
    for (const auto& o : ops_) out.push_back(o.collection);
    return out;
  }

  std::vector<std::string> ManagedFields(const std::string& collection) const override {
    const Ops* o = Find(collection);
    return o ? o->managed : std::vector<std::string>{};
  }

  std::vector<std::string> ImmutableFields(const std::string& collection) const override {
    const Ops* o = Find(collection);
    return o ? o->immutable : std::vector<std::string>{};
  }

  Result<std::optional<json>> Read(const std::string& collection, const json& recorded) override {
    NIC_ASSIGN_OR_RETURN(const Ops* o, FindOps(collection));
    auto r = Guard("reading " + collection, [&] { return o->read(*client_, recorded); });
    if (!r.ok()) {
      Status st = r.status();
      return st.Prepend("reading " + collection + " " + Describe(recorded));
    }
    return r;
  }

  Result<json> Create(const std::string& collection, const json& desired, const std::string& client_token) override {
    NIC_ASSIGN_OR_RETURN(const Ops* o, FindOps(collection));
    auto ident = Guard("creating " + collection, [&] {
      if constexpr (std::is_invocable_v<decltype(o->create), Client&, const json&, const std::string&>) {
        return o->create(*client_, desired, client_token);
      } else {
        return o->create(*client_, desired);
      }
    });
    if (!ident.ok()) {
      Status st = ident.status();
      return st.Prepend("creating " + collection + " " + Describe(desired));
    }
    return ReadBack(*o, *ident, "created");
  }

  Result<json> Update(const std::string& collection, const json& recorded, const json& desired) override {
    NIC_ASSIGN_OR_RETURN(const Ops* o, FindOps(collection));
    NIC_ASSIGN_OR_RETURN(auto live, Read(collection, recorded));
    if (!live) {
      return Status::NotFound(collection + " " + Describe(recorded) + " no longer exists; it must be created again");
    }
    for (const auto& field : o->immutable) {
      json want = AtPath(desired, field);
      if (want.is_null()) continue;
      json have = AtPath(*live, field);
      if (!SameValue(field, want, have)) {
        return Status::Refused(collection + " " + Describe(recorded) + ": " + field + " cannot change in place (live " +
                               have.dump() + ", desired " + want.dump() + ")")
            .WithDetail("field", field)
            .WithSuggestion("keep " + field + " as it is, or replace the resource (delete, then create)");
      }
    }
    auto ident = Guard("updating " + collection, [&] { return o->update(*client_, recorded, *live, desired); });
    if (!ident.ok()) {
      Status st = ident.status();
      return st.Prepend("updating " + collection + " " + Describe(recorded));
    }
    return ReadBack(*o, *ident, "updated");
  }

  Status Delete(const std::string& collection, const json& recorded) override {
    NIC_ASSIGN_OR_RETURN(const Ops* o, FindOps(collection));
    Status st = Guard("deleting " + collection, [&] { return o->remove(*client_, recorded); });
    if (!st.ok()) st.Prepend("deleting " + collection + " " + Describe(recorded));
    return st;
  }

 protected:
  // Whether an immutable field's desired value matches the live one; clouds that answer lists
  // in their own order or names as URLs say so here.
  virtual bool SameValue(const std::string& /*field*/, const json& want, const json& have) const {
    return want == have;
  }

  Client& client() const { return *client_; }

  // ReadAll over the client's bounded parallelism (Client::ParallelFor).
  std::vector<Result<std::optional<json>>> ReadAllInParallel(const std::vector<ResourceRef>& refs) {
    std::vector<Result<std::optional<json>>> out(refs.size(), Status::Internal("not read"));
    client_->ParallelFor(refs.size(), [&](size_t i) { out[i] = Read(refs[i].collection, refs[i].value); });
    return out;
  }

  // Runs every discoverer (Status(Client&, cluster, std::vector<ResourceRef>*)) in parallel and
  // returns what they found, in discoverer order.
  template <typename DiscoverFn>
  Result<std::vector<ResourceRef>> RunDiscoverers(const std::vector<DiscoverFn>& discoverers,
                                                  const std::string& cluster_name) {
    std::vector<std::vector<ResourceRef>> found(discoverers.size());
    std::vector<Status> status(discoverers.size());
    client_->ParallelFor(discoverers.size(), [&](size_t i) {
      status[i] = Guard("discovering", [&] { return discoverers[i](*client_, cluster_name, &found[i]); });
    });
    for (Status& st : status) {
      if (!st.ok()) return st.Prepend(DiscoveringWhat(cluster_name));
    }
    std::vector<ResourceRef> out;
    for (auto& group : found) {
      for (auto& ref : group) out.push_back(std::move(ref));
    }
    return out;
  }

  std::string DiscoveringWhat(const std::string& cluster_name) const {
    return "discovering " + words_.cloud + " resources " + words_.marked + " for cluster " + cluster_name;
  }

  // Discovered resources in dependency order (as Collections() lists them; stable within a
  // collection); a conflict when a singleton collection was found more than once.
  Result<std::vector<ResourceRef>> InDependencyOrder(std::vector<ResourceRef> found,
                                                     const std::string& cluster_name) const {
    for (const auto& o : ops_) {
      if (!o.singleton) continue;
      std::vector<std::string> keys;
      for (const auto& ref : found) {
        if (ref.collection == o.collection) keys.push_back(StringAt(ref.value, words_.duplicate_key.c_str()));
      }
      if (keys.size() > 1) {
        std::string list;
        for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
        return Status::Conflict("found " + std::to_string(keys.size()) + " resources for " + o.collection + " " +
                                words_.marked + " for cluster " + cluster_name + " (" + list + "); expected one")
            .WithSuggestion(words_.unmark_suggestion);
      }
    }
    std::stable_sort(found.begin(), found.end(), [&](const ResourceRef& a, const ResourceRef& b) {
      return Index(a.collection) < Index(b.collection);
    });
    return found;
  }

 private:
  const Ops* Find(const std::string& collection) const {
    for (const auto& o : ops_) {
      if (o.collection == collection) return &o;
    }
    return nullptr;
  }

  size_t Index(const std::string& collection) const {
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].collection == collection) return i;
    }
    return ops_.size();
  }

  Result<const Ops*> FindOps(const std::string& collection) const {
    const Ops* o = Find(collection);
    if (o == nullptr) return Status::Unsupported("the " + words_.cloud + " provider does not manage " + collection);
    return o;
  }

  std::string Describe(const json& j) const {
    for (const auto& k : words_.describe_keys) {
      if (std::string s = StringAt(j, k.c_str()); !s.empty()) return s;
    }
    return "(unnamed)";
  }

  Result<json> ReadBack(const Ops& o, const json& ident, const char* verb) {
    auto live = Guard("reading " + o.collection, [&] { return o.read(*client_, ident); });
    if (!live.ok()) {
      Status st = live.status();
      return st.Prepend("reading back " + o.collection + " " + Describe(ident));
    }
    if (!live.value()) {
      return Status::Unavailable(o.collection + " " + Describe(ident) + " was " + verb + " but cannot be read back");
    }
    return std::move(*live.value());
  }

  std::unique_ptr<Client> client_;
  std::vector<Ops> ops_;
  ProviderWords words_;
};

// A table provider whose client runs calls in parallel (Client::ParallelFor) and whose discovery
// is a list of independent discoverers, Status(Client&, cluster, std::vector<ResourceRef>* out)
// (AWS, GCP): reads and discoverers run concurrently.
template <typename Client, typename Ops, typename DiscoverFn>
class ParallelTableProvider : public CollectionTableProvider<Client, Ops> {
 public:
  ParallelTableProvider(std::unique_ptr<Client> client, std::vector<Ops> ops, std::vector<DiscoverFn> discoverers,
                        ProviderWords words)
      : CollectionTableProvider<Client, Ops>(std::move(client), std::move(ops), std::move(words)),
        discoverers_(std::move(discoverers)) {}

  std::vector<Result<std::optional<json>>> ReadAll(const std::vector<ResourceRef>& refs) override {
    return this->ReadAllInParallel(refs);
  }

  Result<std::vector<ResourceRef>> Discover(const std::string& cluster_name) override {
    NIC_ASSIGN_OR_RETURN(auto found, this->RunDiscoverers(discoverers_, cluster_name));
    return this->InDependencyOrder(std::move(found), cluster_name);
  }

 private:
  std::vector<DiscoverFn> discoverers_;
};

}  // namespace nic::tableprov
