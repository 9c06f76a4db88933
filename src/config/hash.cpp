// Canonical model and configuration hash (stored in state metadata, read by the reconciler).
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "nic/config.h"
#include "nic/crypto.h"

namespace nic {

namespace {

nlohmann::json NodeGroupJson(const NodeGroup& g) {
  nlohmann::json taints = nlohmann::json::array();
  for (const auto& t : g.taints) {
    taints.push_back({{"key", t.key}, {"value", t.value}, {"effect", t.effect}});
  }
  return {{"name", g.name},
          {"instance", g.instance},
          {"min_nodes", g.min_nodes},
          {"max_nodes", g.max_nodes},
          {"disk_size", g.disk_size ? nlohmann::json(*g.disk_size) : nlohmann::json(nullptr)},
          {"labels", g.labels},
          {"taints", taints},
          {"gpu", g.gpu},
          {"spot", g.spot},
          {"single_subnet", g.single_subnet},
          {"extra", g.extra}};
}


// The registry secret must not appear in a model that is printed and stored, yet changing it
// must change the hash: keep its digest instead of the value.
nlohmann::json RedactSecret(nlohmann::json reg) {
  if (reg.is_object() && reg.contains("secret_access_key") && reg["secret_access_key"].is_string()) {
    reg["secret_access_key"] = "sha256:" + crypto::Sha256Hex(reg["secret_access_key"].get<std::string>());
  }
  return reg;
}

// Backend arguments of `terraform_state.config` can carry credentials (s3 secret_key, azurerm
// access_key/sas_token, ...); same treatment.
nlohmann::json RedactBackendConfig(const std::map<std::string, std::string>& config) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : config) {
    bool secret = k.find("secret") != std::string::npos || k.find("token") != std::string::npos ||
                  k.find("password") != std::string::npos || k == "access_key" ||
                  k == "client_certificate_password";
    out[k] = secret ? "sha256:" + crypto::Sha256Hex(v) : v;
  }
  return out;
}

}  // namespace

// nebari_version, prevent_deploy, the source path, field marks and the application sections are
// left out on purpose: none of them describes infrastructure, and a Nebari upgrade alone must not
// look like an infrastructure change to the reconciler.
nlohmann::json CanonicalConfigModel(const NebariConfig& c) {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : c.node_groups) groups.push_back(NodeGroupJson(g));
  return {{"canonical_format", 1},
          {"project_name", c.project_name},
          {"namespace", c.namespace_name},
          {"provider", c.provider},
          {"region", c.region},
          {"kubernetes_version", c.kubernetes_version},
          {"node_groups", groups},
          {"provider_settings", c.provider_settings},
          {"storage_type", c.storage_type},
          {"terraform_state",
           {{"type", c.terraform_state_type},
            {"backend", c.terraform_state_backend},
            {"config", RedactBackendConfig(c.terraform_state_config)}}},
          {"external_container_reg", RedactSecret(c.external_container_reg)}};
}

std::string ConfigHash(const NebariConfig& config) {
  // nlohmann::json objects are ordered maps, so dump() is already canonical: sorted keys, no
  // whitespace, and node groups are sorted by name in the model.
  return "sha256:" + crypto::Sha256Hex(CanonicalConfigModel(config).dump());
}

}  // namespace nic
