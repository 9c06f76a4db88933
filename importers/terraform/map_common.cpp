#include <algorithm>
#include <cctype>
#include <charconv>
#include <unordered_map>

#include <fmt/format.h>

#include "importers/terraform/mapping.h"

namespace nic::tfimport {

const TypeMapping* FindMapping(std::string_view type) {
  for (const auto* table : {&AwsMappings(), &GcpMappings(), &AzureMappings(), &KubernetesMappings(),
                            &LocalMappings()}) {
    for (const auto& m : *table) {
      if (type == m.type) return &m;
    }
  }
  return nullptr;
}

const json* Attr(const json& attrs, std::string_view path) {
  const json* cur = &attrs;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string_view seg = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (cur->is_array()) {
      size_t idx = 0;
      auto [p, ec] = std::from_chars(seg.data(), seg.data() + seg.size(), idx);
      if (ec != std::errc() || p != seg.data() + seg.size() || idx >= cur->size()) return nullptr;
      cur = &(*cur)[idx];
    } else if (cur->is_object()) {
      auto it = cur->find(seg);  // nlohmann's object map compares with std::less<>: no key copy
      if (it == cur->end()) return nullptr;
      cur = &*it;
    } else {
      return nullptr;
    }
  }
  return cur->is_null() ? nullptr : cur;
}

std::string Str(const json& attrs, std::string_view path) {
  const json* v = Attr(attrs, path);
  if (v == nullptr) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number() || v->is_boolean()) return v->dump();
  return "";
}

std::optional<int64_t> Int(const json& attrs, std::string_view path) {
  const json* v = Attr(attrs, path);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer() || v->is_number_unsigned()) return v->get<int64_t>();
  if (v->is_number_float()) return static_cast<int64_t>(v->get<double>());
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    int64_t out = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && p == s.data() + s.size()) return out;
  }
  return std::nullopt;
}

std::optional<bool> Bool(const json& attrs, std::string_view path) {
  const json* v = Attr(attrs, path);
  if (v == nullptr) return std::nullopt;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) {
    if (*v == "true") return true;
    if (*v == "false") return false;
  }
  return std::nullopt;
}

void Copy(json& v, const char* key, const json& attrs, std::string_view path) {
  if (const json* a = Attr(attrs, path)) v[key] = *a;
}

void CopyInt(json& v, const char* key, const json& attrs, std::string_view path) {
  if (auto i = Int(attrs, path)) v[key] = *i;
}

void CopyBool(json& v, const char* key, const json& attrs, std::string_view path) {
  if (auto b = Bool(attrs, path)) v[key] = *b;
}

void CopyStrings(json& v, const char* key, const json& attrs, std::string_view path) {
  const json* a = Attr(attrs, path);
  if (a == nullptr) return;
  json out = json::array();
  if (a->is_array()) {
    for (const auto& e : *a) {
      if (e.is_string()) out.push_back(e);
    }
  } else if (a->is_string()) {
    out.push_back(*a);
  }
  v[key] = std::move(out);
}

json WithId(const json& attrs) {
  json v = json::object();
  std::string id = Str(attrs, "id");
  if (!id.empty()) v["id"] = id;
  return v;
}

bool AddKeyed(MapOutput* out, std::string collection, json value) {
  auto text = [&](const char* k) -> std::string {
    auto it = value.find(k);
    return it != value.end() && it->is_string() ? it->get<std::string>() : "";
  };
  std::string ns = text("namespace"), name = text("name"), id = text("id");
  std::string key = !ns.empty() && !name.empty() ? ns + "/" + name : !name.empty() ? name : id;
  if (key.empty()) {
    out->reason = "the instance has neither a name nor an id to key it by in " + collection;
    return false;
  }
  out->entries.push_back(MappedEntry{std::move(collection), std::move(key), std::move(value)});
  return true;
}

void AddSingleton(MapOutput* out, std::string address, json value) {
  out->entries.push_back(MappedEntry{std::move(address), "", std::move(value)});
}

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string StepText(const json& step) {
  const json& t = step.value("type", json());
  const json& v = step.contains("value") ? step["value"] : json();
  if (t == "get_attr" && v.is_string()) return v.get<std::string>();
  if (t == "index") {
    const json& inner = v.is_object() && v.contains("value") ? v["value"] : v;
    return "[" + (inner.is_string() ? inner.get<std::string>() : inner.dump()) + "]";
  }
  return "?";
}

std::string JoinPath(const std::string& base, const std::string& seg) {
  if (seg.rfind('[', 0) == 0) return base + seg;
  return base.empty() ? seg : base + "." + seg;
}

// Removes the value at a Terraform sensitive path; returns the path text when something was
// there.
std::optional<std::string> RemoveAt(json& attrs, const json& steps) {
  json* cur = &attrs;
  json* parent = nullptr;
  std::string text;
  json last_key;
  for (const auto& step : steps) {
    std::string seg = StepText(step);
    text = JoinPath(text, seg);
    parent = cur;
    const json& v = step.contains("value") ? step["value"] : json();
    if (step.value("type", "") == "get_attr" && v.is_string() && cur->is_object()) {
      auto it = cur->find(v.get<std::string>());
      if (it == cur->end()) return std::nullopt;
      last_key = v;
      cur = &*it;
    } else if (step.value("type", "") == "index") {
      const json& inner = v.is_object() && v.contains("value") ? v["value"] : v;
      if (cur->is_array() && inner.is_number_integer() && inner.get<int64_t>() >= 0 &&
          static_cast<size_t>(inner.get<int64_t>()) < cur->size()) {
        last_key = inner;
        cur = &(*cur)[inner.get<size_t>()];
      } else if (cur->is_object() && inner.is_string() && cur->contains(inner.get<std::string>())) {
        last_key = inner;
        cur = &(*cur)[inner.get<std::string>()];
      } else {
        return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  if (parent == nullptr || cur->is_null()) return std::nullopt;
  if (parent->is_object()) {
    parent->erase(last_key.get<std::string>());
  } else {
    *cur = nullptr;  // keep list positions stable
  }
  return text;
}

bool HasValue(const json& v) {
  if (v.is_null()) return false;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  if (v.is_array() || v.is_object()) return !v.empty();
  return true;
}

// IsCredentialKey, remembered per key: the same few hundred attribute names repeat across
// every instance of a large state, and each check lower-cases and scans for ~40 patterns.
bool IsCredentialKeyCached(const std::string& key) {
  thread_local std::unordered_map<std::string, bool> cache;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  bool v = IsCredentialKey(key);
  if (cache.size() < 100000) cache.emplace(key, v);
  return v;
}

// Paths are spelled out only where they are needed: for a dropped value or a nested container.
void ScrubCredentials(json& node, const std::string& path, std::vector<std::string>* dropped) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end();) {
      if (!it->is_boolean() && !it->is_number() && IsCredentialKeyCached(it.key())) {
        if (HasValue(*it)) dropped->push_back(JoinPath(path, it.key()));
        it = node.erase(it);
        continue;
      }
      if (it->is_structured()) ScrubCredentials(*it, JoinPath(path, it.key()), dropped);
      ++it;
    }
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) {
      if (node[i].is_structured()) ScrubCredentials(node[i], fmt::format("{}[{}]", path, i), dropped);
    }
  }
}

// Attributes that are secret by nature of the resource type, whatever their names.
void DropTypeSecrets(const std::string& type, json& attrs, std::vector<std::string>* dropped) {
  static const std::vector<std::pair<std::string_view, std::vector<const char*>>> kSecret = {
      {"kubernetes_secret", {"data", "binary_data", "data_wo"}},
      {"kubernetes_secret_v1", {"data", "binary_data", "data_wo"}},
      {"kubernetes_config_map", {"binary_data"}},
      {"local_file", {"content", "content_base64", "sensitive_content"}},
      {"local_sensitive_file", {"content", "content_base64"}},
      {"random_password", {"result", "bcrypt_hash"}},
      {"random_string", {"result"}},
      {"helm_release", {"values", "set_sensitive", "set_wo"}},
      {"kind_cluster", {"kubeconfig"}},
      {"kubectl_manifest", {"yaml_body", "yaml_body_parsed", "yaml_incluster", "live_manifest_incluster"}},
      {"tls_private_key", {"private_key_pem", "private_key_openssh", "private_key_pem_pkcs8"}},
  };
  for (const auto& [t, keys] : kSecret) {
    if (type != t) continue;
    for (const char* k : keys) {
      auto it = attrs.find(k);
      if (it == attrs.end()) continue;
      if (HasValue(*it)) dropped->push_back(k);
      attrs.erase(it);
    }
  }
  // helm_release.metadata[0].values is the rendered values document: it holds whatever the
  // chart was given, secrets included.
  if (type == "helm_release") {
    if (json* m = const_cast<json*>(Attr(attrs, "metadata.0")); m != nullptr && m->is_object()) {
      if (auto it = m->find("values"); it != m->end()) {
        if (HasValue(*it)) dropped->push_back("metadata[0].values");
        m->erase(it);
      }
    }
  }
}

}  // namespace

bool IsCredentialKey(std::string_view key) {
  std::string k = Lower(key);
  // Whole kubeconfig blocks go, whatever their suffix says.
  for (std::string_view whole : {"kube_config", "kube_admin_config", "kubeconfig", "kube_config_raw",
                                 "kube_admin_config_raw"}) {
    if (k == whole) return true;
  }
  for (std::string_view suffix : {"_name", "_names", "_id", "_ids", "_arn", "_enabled", "_version",
                                  "_type", "_expiration", "_rotation_policy", "_policy",
                                  "_mount_path", "_ref", "_config"}) {
    if (EndsWith(k, suffix)) return false;
  }
  static const char* kMarkers[] = {
      "password", "passwd", "secret", "privatekey", "token", "private_key", "client_key", "client_certificate",
      "access_key", "secret_key", "connection_string", "kube_config", "kube_admin_config",
      "kubeconfig_raw", "credential", "api_key", "sas_url", "primary_key", "secondary_key",
      "ssh_key", "auth_string", "sensitive",
  };
  for (const char* m : kMarkers) {
    if (k.find(m) != std::string::npos) return true;
  }
  return k == "kubeconfig";
}

void Sanitize(const std::string& type, json& attrs, const std::vector<json>& sensitive_paths,
              std::vector<std::string>* dropped) {
  for (const auto& steps : sensitive_paths) {
    if (!steps.is_array() || steps.empty()) continue;
    if (auto text = RemoveAt(attrs, steps)) dropped->push_back(*text);
  }
  DropTypeSecrets(type, attrs, dropped);
  ScrubCredentials(attrs, "", dropped);
}

}  // namespace nic::tfimport
