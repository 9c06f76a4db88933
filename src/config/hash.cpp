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

// A JSON string exactly as nlohmann::json::dump() writes it. Plain printable ASCII (every name,
// instance type and label of a real config) is copied; anything else goes through dump() itself.
void AppendJsonString(const std::string& s, std::string* out) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F || c == '"' || c == '\\') {
      *out += nlohmann::json(s).dump();
      return;
    }
  }
  *out += '"';
  *out += s;
  *out += '"';
}

// j.dump() for the values node group extras hold; floats (and anything else) go through dump().
void AppendJson(const nlohmann::json& j, std::string* out) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: *out += "null"; return;
    case nlohmann::json::value_t::boolean: *out += j.get<bool>() ? "true" : "false"; return;
    case nlohmann::json::value_t::number_integer: *out += std::to_string(j.get<int64_t>()); return;
    case nlohmann::json::value_t::number_unsigned: *out += std::to_string(j.get<uint64_t>()); return;
    case nlohmann::json::value_t::string: AppendJsonString(j.get_ref<const std::string&>(), out); return;
    case nlohmann::json::value_t::array: {
      *out += '[';
      bool first = true;
      for (const auto& v : j) {
        if (!first) *out += ',';
        first = false;
        AppendJson(v, out);
      }
      *out += ']';
      return;
    }
    case nlohmann::json::value_t::object: {
      *out += '{';
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) *out += ',';
        first = false;
        AppendJsonString(k, out);
        *out += ':';
        AppendJson(v, out);
      }
      *out += '}';
      return;
    }
    default: *out += j.dump(); return;
  }
}

// NodeGroupJson(g).dump() without building the tree: keys in the sorted order nlohmann's
// std::map-backed objects have. ConfigHash on 100k node groups spent most of its time building
// and freeing that tree; tests/config/hash_test.cpp checks both forms give the same text.
void AppendNodeGroup(const NodeGroup& g, std::string* out) {
  *out += "{\"disk_size\":";
  *out += g.disk_size ? std::to_string(*g.disk_size) : "null";
  *out += ",\"extra\":";
  AppendJson(g.extra, out);
  *out += g.gpu ? ",\"gpu\":true" : ",\"gpu\":false";
  *out += ",\"instance\":";
  AppendJsonString(g.instance, out);
  *out += ",\"labels\":{";
  bool first = true;
  for (const auto& [k, v] : g.labels) {
    if (!first) *out += ',';
    first = false;
    AppendJsonString(k, out);
    *out += ':';
    AppendJsonString(v, out);
  }
  *out += "},\"max_nodes\":";
  *out += std::to_string(g.max_nodes);
  *out += ",\"min_nodes\":";
  *out += std::to_string(g.min_nodes);
  *out += ",\"name\":";
  AppendJsonString(g.name, out);
  *out += g.single_subnet ? ",\"single_subnet\":true" : ",\"single_subnet\":false";
  *out += g.spot ? ",\"spot\":true" : ",\"spot\":false";
  *out += ",\"taints\":[";
  for (size_t i = 0; i < g.taints.size(); ++i) {
    const Taint& t = g.taints[i];
    *out += i ? ",{\"effect\":" : "{\"effect\":";
    AppendJsonString(t.effect, out);
    *out += ",\"key\":";
    AppendJsonString(t.key, out);
    *out += ",\"value\":";
    AppendJsonString(t.value, out);
    *out += '}';
  }
  *out += "]}";
}

nlohmann::json ModelWithGroups(const NebariConfig& c, nlohmann::json groups) {
  return {{"canonical_format", 1},
          {"project_name", c.project_name},
          {"namespace", c.namespace_name},
          {"provider", c.provider},
          {"region", c.region},
          {"kubernetes_version", c.kubernetes_version},
          {"node_groups", std::move(groups)},
          {"provider_settings", c.provider_settings},
          {"storage_type", c.storage_type},
          {"terraform_state",
           {{"type", c.terraform_state_type},
            {"backend", c.terraform_state_backend},
            {"config", RedactBackendConfig(c.terraform_state_config)}}},
          {"external_container_reg", RedactSecret(c.external_container_reg)}};
}

}  // namespace

std::string CanonicalConfigText(const NebariConfig& c) {
  // The model with an empty group list, then the groups streamed into its place. The marker
  // cannot occur earlier: the keys before node_groups are fixed, and inside a JSON string a '"'
  // is always escaped.
  std::string head = ModelWithGroups(c, nlohmann::json::array()).dump();
  static const std::string kMarker = ",\"node_groups\":[]";
  size_t pos = head.find(kMarker);
  std::string out;
  out.reserve(head.size() + c.node_groups.size() * 240);
  out.append(head, 0, pos + kMarker.size() - 1);  // through the '['
  for (size_t i = 0; i < c.node_groups.size(); ++i) {
    if (i) out += ',';
    AppendNodeGroup(c.node_groups[i], &out);
  }
  out.append(head, pos + kMarker.size() - 1, std::string::npos);  // from the ']'
  return out;
}

// nebari_version, prevent_deploy, the source path, field marks and the application sections are
// left out on purpose: none of them describes infrastructure, and a Nebari upgrade alone must not
// look like an infrastructure change to the reconciler.
nlohmann::json CanonicalConfigModel(const NebariConfig& c) {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : c.node_groups) groups.push_back(NodeGroupJson(g));
  return ModelWithGroups(c, std::move(groups));
}

std::string ConfigHash(const NebariConfig& config) {
  // nlohmann::json objects are ordered maps, so dump() is already canonical: sorted keys, no
  // whitespace, and node groups are sorted by name in the model.
  return "sha256:" + crypto::Sha256Hex(CanonicalConfigText(config));
}

}  // namespace nic
