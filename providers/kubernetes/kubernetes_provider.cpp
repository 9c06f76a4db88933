// The Kubernetes provider: the Provider interface over KubeClient and the collection table in
// objects.cpp. What is common to every kind lives here: identity from the recorded JSON, NIC's
// labels, the client token on create, the immutable-field check and the resourceVersion
// conflict loop on update, waiting for deletion, and discovery by label selector.
#include "nic/kubernetes_provider.h"

#include <thread>

#include "nic/log.h"
#include "providers/kubernetes/kube_client.h"
#include "providers/kubernetes/kube_transport.h"
#include "providers/kubernetes/objects.h"

namespace nic {
namespace {

using kubeprov::CollectionSpec;
using kubeprov::json;

std::string Str(const json& v, const char* key) {
  auto it = v.find(key);
  return it != v.end() && it->is_string() ? it->get<std::string>() : "";
}

// name and namespace of the object a recorded/desired value identifies ("id" is "ns/name" for
// namespaced kinds, as the importer records it).
Status Identify(const CollectionSpec& spec, const json& v, std::string* ns, std::string* name) {
  *name = Str(v, "name");
  *ns = spec.kind.namespaced ? Str(v, "namespace") : "";
  if (name->empty()) {
    std::string id = Str(v, "id");
    auto slash = id.find('/');
    if (spec.kind.namespaced && slash != std::string::npos) {
      if (ns->empty()) *ns = id.substr(0, slash);
      *name = id.substr(slash + 1);
    } else {
      *name = id;
    }
  }
  if (name->empty()) return Status::InvalidState(spec.collection + " entry has neither a name nor an id");
  if (spec.kind.namespaced && ns->empty()) *ns = "default";
  return Status::OK();
}

class KubernetesProvider final : public Provider {
 public:
  KubernetesProvider(ProviderContext ctx, std::unique_ptr<kubeprov::KubeClient> client, KubernetesProviderOptions o)
      : ctx_(std::move(ctx)), client_(std::move(client)), options_(std::move(o)) {}

  std::string Name() const override { return "kubernetes"; }

  std::vector<std::string> Collections() const override {
    std::vector<std::string> out;
    for (const auto& s : kubeprov::Collections()) out.push_back(s.collection);
    return out;
  }
  std::vector<std::string> ManagedFields(const std::string& collection) const override {
    const auto* s = kubeprov::FindCollection(collection);
    return s ? s->managed : std::vector<std::string>{};
  }
  std::vector<std::string> ImmutableFields(const std::string& collection) const override {
    const auto* s = kubeprov::FindCollection(collection);
    return s ? s->immutable : std::vector<std::string>{};
  }

  Result<std::optional<json>> Read(const std::string& collection, const json& recorded) override {
    NIC_ASSIGN_OR_RETURN(const CollectionSpec* spec, Spec(collection));
    std::string ns, name;
    NIC_RETURN_IF_ERROR(Identify(*spec, recorded, &ns, &name));
    NIC_ASSIGN_OR_RETURN(std::optional<json> live, client_->Get(spec->kind, ns, name));
    if (!live) return std::optional<json>();
    return std::optional<json>(kubeprov::ToState(*spec, *live));
  }

  Result<std::vector<ResourceRef>> Discover(const std::string& cluster_name) override {
    std::string selector = std::string(kTagManagedBy) + "=nic";
    if (!cluster_name.empty()) {
      selector += "," + std::string(kTagClusterName) + "=" + kubeprov::SafeLabelValue(cluster_name);
    }
    std::vector<ResourceRef> out;
    for (const auto& spec : kubeprov::Collections()) {
      auto items = client_->List(spec.kind, selector, options_.page_size);
      if (!items.ok()) {
        Status st = items.status();
        return st.Prepend("discovering Kubernetes objects labelled " + selector);
      }
      for (const auto& item : *items) {
        ResourceRef ref;
        ref.collection = spec.collection;
        ref.value = kubeprov::ToState(spec, item);
        std::string key = spec.kind.namespaced ? Str(ref.value, "namespace") + "/" + Str(ref.value, "name")
                                               : Str(ref.value, "name");
        ref.address = spec.collection + "." + key;
        out.push_back(std::move(ref));
      }
    }
    return out;
  }

  Result<json> Create(const std::string& collection, const json& desired, const std::string& client_token) override {
    NIC_ASSIGN_OR_RETURN(const CollectionSpec* spec, Spec(collection));
    std::string ns, name;
    NIC_RETURN_IF_ERROR(Identify(*spec, desired, &ns, &name));
    json want = desired;
    want["name"] = name;
    if (spec->kind.namespaced) want["namespace"] = ns;
    json object = kubeprov::BuildObject(*spec, want, json::object(), Nic(*spec, client_token));
    auto created = client_->Create(spec->kind, ns, object);
    if (!created.ok()) {
      if (created.status().code() != ErrorCode::kConflict) return created.status();
      // AlreadyExists: ours when it carries this operation's client token (a retried create
      // whose first answer was lost); anything else is not NIC's to take over silently.
      NIC_ASSIGN_OR_RETURN(std::optional<json> live, client_->Get(spec->kind, ns, name));
      if (!live) return created.status();
      std::string token = (*live)["metadata"].value("annotations", json::object()).value(kubeprov::kAnnotationClientToken, "");
      if (client_token.empty() || token != client_token) {
        Status st = Status::Conflict(spec->kind.Describe(ns, name) + " already exists in the cluster and was not "
                                     "created by this NIC operation");
        st.WithSuggestion("import it (nic import) or adopt it (plan --adopt-orphans) instead of creating it, or "
                          "delete it first");
        st.WithDetail("reason", "AlreadyExists");
        return st;
      }
      created = std::move(*live);
    }
    NIC_RETURN_IF_ERROR(WaitUsable(*spec, ns, name, &created.value()));
    return kubeprov::ToState(*spec, *created);
  }

  Result<json> Update(const std::string& collection, const json& recorded, const json& desired) override {
    NIC_ASSIGN_OR_RETURN(const CollectionSpec* spec, Spec(collection));
    std::string ns, name;
    NIC_RETURN_IF_ERROR(Identify(*spec, recorded, &ns, &name));
    const std::string what = spec->kind.Describe(ns, name);
    Status last;
    for (int attempt = 0; attempt <= options_.max_conflict_retries; ++attempt) {
      NIC_ASSIGN_OR_RETURN(std::optional<json> live, client_->Get(spec->kind, ns, name));
      if (!live) {
        return Status::NotFound(what + " no longer exists; it was deleted outside NIC")
            .WithSuggestion("run plan again: NIC will create it");
      }
      json object = kubeprov::BuildObject(*spec, desired, *live, Nic(*spec, ""));
      // Compare what would be written, not the raw desired JSON, so defaults the conversion
      // fills in (a roleRef's apiGroup) do not look like changes.
      json live_state = kubeprov::ToState(*spec, *live);
      json next_state = kubeprov::ToState(*spec, object);
      for (const auto& field : spec->immutable) {
        if (field == "name" || field == "namespace") {
          std::string want = Str(desired, field.c_str());
          if (!want.empty() && want != Str(live_state, field.c_str())) {
            return Status::Refused("cannot rename " + what + " to " + want + ": the " + field +
                                   " of a Kubernetes object is its identity")
                .WithSuggestion("replace the object (create the new one, delete the old one)")
                .WithDetail("field", field);
          }
          continue;
        }
        auto l = live_state.find(field);
        auto n = next_state.find(field);
        const json* lv = l == live_state.end() ? nullptr : &*l;
        const json* nv = n == next_state.end() ? nullptr : &*n;
        if (!kubeprov::SameValue(nv, lv)) {
          return Status::Refused("cannot change " + field + " of " + what + " in place: Kubernetes does not allow "
                                 "updates to it (live: " + (lv ? lv->dump() : "none") + ", wanted: " +
                                 (nv ? nv->dump() : "none") + ")")
              .WithSuggestion("replace the object (delete and create) to change " + field)
              .WithDetail("field", field);
        }
      }
      std::string rv = (*live)["metadata"].value("resourceVersion", "");
      // The resourceVersion read above makes the PUT conditional: if anyone wrote in between,
      // the server answers 409 Conflict instead of silently losing their change.
      object["metadata"]["resourceVersion"] = rv;
      auto updated = client_->Replace(spec->kind, ns, name, object);
      if (updated.ok()) return kubeprov::ToState(*spec, *updated);
      last = updated.status();
      auto reason = last.details().find("reason");
      if (last.code() != ErrorCode::kConflict || reason == last.details().end() || reason->second != "Conflict") {
        return last;
      }
      client_->CountConflict();
      if (LogEnabled(LogLevel::kDebug)) {
        Log(LogLevel::kDebug, "k8s: " + what + " changed between read and write (resourceVersion " + rv +
                                  " is stale); re-reading, attempt " + std::to_string(attempt + 1));
      }
    }
    return Status::Conflict(what + " was changed by someone else " + std::to_string(options_.max_conflict_retries + 1) +
                            " times in a row while NIC was updating it; last error: " + last.message())
        .WithSuggestion("find what else writes to " + what + " (a controller or another deploy), stop it, and run "
                        "NIC again")
        .WithDetail("reason", "Conflict");
  }

  Status Delete(const std::string& collection, const json& recorded) override {
    auto spec = Spec(collection);
    if (!spec.ok()) return spec.status();
    std::string ns, name;
    NIC_RETURN_IF_ERROR(Identify(**spec, recorded, &ns, &name));
    auto deleted = client_->Delete((*spec)->kind, ns, name);
    if (!deleted.ok()) return deleted.status();
    if (!*deleted) return Status::OK();
    // Namespaces (and objects with finalizers) linger until finalized; wait until gone.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(ctx_.wait_timeout_micros);
    auto delay = options_.poll_initial;
    while (true) {
      auto live = client_->Get((*spec)->kind, ns, name);
      if (!live.ok()) return live.status();
      if (!*live) return Status::OK();
      if (std::chrono::steady_clock::now() + delay > deadline) {
        return Status::Timeout((*spec)->kind.Describe(ns, name) + " was deleted but still exists (finalizers: " +
                               (**live)["metadata"].value("finalizers", json::array()).dump() + ")")
            .WithSuggestion("check what blocks its finalizers, e.g. kubectl get " + (*spec)->kind.plural + " " + name +
                            " -o yaml");
      }
      std::this_thread::sleep_for(delay);
      delay = std::min(options_.poll_max, delay * 2);
    }
  }

 private:
  Result<const CollectionSpec*> Spec(const std::string& collection) const {
    const auto* s = kubeprov::FindCollection(collection);
    if (s == nullptr) return Status::Unsupported("the kubernetes provider does not manage collection " + collection);
    return s;
  }

  kubeprov::NicMetadata Nic(const CollectionSpec& spec, const std::string& client_token) const {
    kubeprov::NicMetadata m;
    m.labels[kTagManagedBy] = "nic";
    if (!ctx_.project_name.empty()) m.labels[kTagClusterName] = kubeprov::SafeLabelValue(ctx_.project_name);
    m.labels[kTagResourceType] = spec.resource_type;
    if (!ctx_.nic_version.empty()) m.labels[kTagVersion] = kubeprov::SafeLabelValue(ctx_.nic_version);
    // A config hash is longer than the 63 characters a label value may have.
    if (!ctx_.config_hash.empty()) m.annotations[kTagConfigHash] = ctx_.config_hash;
    if (!client_token.empty()) m.annotations[kubeprov::kAnnotationClientToken] = client_token;
    return m;
  }

  // Namespaces are usable once Active; other kinds as soon as they are stored.
  Status WaitUsable(const CollectionSpec& spec, const std::string& ns, const std::string& name, json* object) {
    if (spec.kind.kind != "Namespace") return Status::OK();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(ctx_.wait_timeout_micros);
    auto delay = options_.poll_initial;
    while (true) {
      std::string phase = (*object).value("status", json::object()).value("phase", "Active");
      if (phase == "Active") return Status::OK();
      if (phase == "Terminating") {
        return Status::Conflict("namespace " + name + " is being deleted; wait until it is gone and run NIC again");
      }
      if (std::chrono::steady_clock::now() + delay > deadline) {
        return Status::Timeout("namespace " + name + " did not become Active (phase " + phase + ")");
      }
      std::this_thread::sleep_for(delay);
      delay = std::min(options_.poll_max, delay * 2);
      NIC_ASSIGN_OR_RETURN(std::optional<json> live, client_->Get(spec.kind, ns, name));
      if (!live) return Status::NotFound("namespace " + name + " disappeared right after it was created");
      *object = std::move(*live);
    }
  }

  ProviderContext ctx_;
  std::unique_ptr<kubeprov::KubeClient> client_;
  KubernetesProviderOptions options_;
};

}  // namespace

Result<std::unique_ptr<Provider>> NewKubernetesProviderForConnection(const ProviderContext& context,
                                                                     kube::Connection connection,
                                                                     KubernetesProviderOptions options) {
  if (connection.server.empty()) return Status::InvalidConfig("no Kubernetes API server address");
  std::unique_ptr<http::Transport> owned;
  if (options.transport == nullptr) {
    kubeprov::KubeTransportOptions t;
    t.parallelism = std::max(1, context.parallelism);
    owned = kubeprov::NewKubeTransport(connection, t);
  }
  auto authorizer = kubeprov::AuthorizerFor(connection);
  auto client = std::make_unique<kubeprov::KubeClient>(std::move(connection), options.transport, std::move(owned),
                                                       std::move(authorizer), options.retry);
  return std::unique_ptr<Provider>(new KubernetesProvider(context, std::move(client), std::move(options)));
}

Result<std::unique_ptr<Provider>> NewKubernetesProviderFromKubeconfig(const ProviderContext& context,
                                                                      const kube::LoadOptions& kubeconfig,
                                                                      KubernetesProviderOptions options) {
  NIC_ASSIGN_OR_RETURN(kube::Connection c, kube::LoadKubeconfig(kubeconfig));
  return NewKubernetesProviderForConnection(context, std::move(c), std::move(options));
}

Result<std::unique_ptr<Provider>> NewKubernetesProvider(const ProviderContext& context, const std::string& endpoint,
                                                        const std::string& ca, const std::string& token,
                                                        KubernetesProviderOptions options) {
  NIC_ASSIGN_OR_RETURN(kube::Connection c, kube::DirectConnection(endpoint, ca, token));
  return NewKubernetesProviderForConnection(context, std::move(c), std::move(options));
}

}  // namespace nic
