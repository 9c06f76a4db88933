// Parsing and validation of nebari-config.yaml into NebariConfig.
//
// Facts about Nebari's schema (keys, defaults, constraints) come from nebari-dev/nebari at
// 1ef6a619 (= release 2025.10.1 for the user-facing schema), as summarised in
// ../shared/reference/nebari-config-schema.md; the section numbers below refer to that file.
// Checks that Nebari makes against live cloud APIs (regions, zones, instance types, k8s
// versions) are replaced by offline format checks: `nic validate` must work without credentials.
//
// The parser never stops at the first problem: every error is collected with file, line,
// column, field path, what was expected and what was found.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nic/config.h"
#include "src/config/formats.h"
#include "src/config/yaml_document.h"
#include "src/config/yaml_util.h"

namespace nic {

namespace {

using config_internal::Describe;
using config_internal::Kind;
using config_internal::KindOf;
using config_internal::MarkOf;
using config_internal::ParseBool;
using config_internal::ParseInt;
using config_internal::ToJson;
using config_internal::YamlNode;
using namespace config_internal;  // the format matchers (formats.h)

// Limits against hostile input. A real nebari-config.yaml is a few KiB and ~1000 nodes; the
// file limit leaves room for generated configs (the bench's 100k node groups are 3.6 MB) and
// can be raised with NIC_CONFIG_MAX_BYTES.
constexpr size_t kDefaultMaxFileBytes = 32u << 20;
constexpr const char* kMaxFileBytesEnv = "NIC_CONFIG_MAX_BYTES";
constexpr size_t kMaxScalarBytes = 256u << 10;
constexpr int kMaxDepth = 64;
// Collections nested deeper than this are refused while parsing (yaml-cpp's limit was 500), so
// a file of 100,000 '[' fails fast and no later walk recurses without bound.
constexpr int kMaxParseDepth = 500;
// The document model shares aliased nodes instead of copying them, so loading a "billion laughs" file is
// cheap; walking it is not. Every traversal is charged against a budget of this many nodes or
// one node per byte of the file, whichever is larger: a YAML node takes at least two bytes
// without aliases, so only alias expansion can exceed it, and the walk stays linear in the
// file's size.
constexpr size_t kNodeBudget = 200000;

size_t MaxFileBytes() {
  const char* v = std::getenv(kMaxFileBytesEnv);
  if (v == nullptr || *v == '\0') return kDefaultMaxFileBytes;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v, &end, 10);
  if (end == nullptr || *end != '\0' || n == 0) return kDefaultMaxFileBytes;
  return static_cast<size_t>(n);
}
// Past this many errors the file is not a config with typos; stop spending time on it.
constexpr size_t kMaxErrors = 200;
// constants.HIGHEST_SUPPORTED_K8S_VERSION: Nebari 2025.10.1 filters newer versions out.
constexpr int kHighestK8sMajor = 1;
constexpr int kHighestK8sMinor = 34;

// Nebari's defaults (§3-§9). Values quoted from nebari-dev/nebari
// src/_nebari/stages/infrastructure/__init__.py (DEFAULT_*_NODE_GROUPS and the provider
// models), src/nebari/schema.py (Main, Taint) and the other files named per constant.
struct DefaultGroup {
  const char* name;
  const char* instance;
  int64_t min_nodes;
  int64_t max_nodes;
};
// DEFAULT_AWS_NODE_GROUPS.
constexpr DefaultGroup kAwsDefaultGroups[] = {
    {"general", "m5.2xlarge", 1, 1}, {"user", "m5.xlarge", 0, 5}, {"worker", "m5.xlarge", 0, 5}};
// DEFAULT_GCP_NODE_GROUPS (e2-standard-8/4/4 since 2024.9.1).
constexpr DefaultGroup kGcpDefaultGroups[] = {{"general", "e2-standard-8", 1, 1},
                                              {"user", "e2-standard-4", 0, 5},
                                              {"worker", "e2-standard-4", 0, 5}};
// DEFAULT_AZURE_NODE_GROUPS.
constexpr DefaultGroup kAzureDefaultGroups[] = {{"general", "Standard_D8_v3", 1, 1},
                                                {"user", "Standard_D4_v3", 0, 5},
                                                {"worker", "Standard_D4_v3", 0, 5}};
// set_missing_taints_to_default_taints (2025.4.1): absent/null taints on any group but
// `general` become this one taint; `taints: []` opts out.
const Taint kDefaultTaint{"dedicated", "nebari", "NoSchedule"};
// AmazonWebServicesProvider: vpc_cidr_block, eks_endpoint_access, eks_public_access_cidrs.
constexpr const char* kAwsDefaultVpcCidr = "10.10.0.0/16";
constexpr const char* kAwsDefaultEndpointAccess = "public";
constexpr const char* kOpenCidr = "0.0.0.0/0";  // eks_public_access_cidrs, authorized_ip_ranges
// GoogleCloudPlatformProvider: release_channel = constants.DEFAULT_GKE_RELEASE_CHANNEL.
constexpr const char* kGcpDefaultReleaseChannel = "UNSPECIFIED";
constexpr const char* kGcpDefaultNetworkingMode = "ROUTE";
constexpr const char* kGcpDefaultNetwork = "default";
// LocalProvider/ExistingProvider node_selectors default.
constexpr const char* kLocalSelectorKey = "kubernetes.io/os";
constexpr const char* kLocalSelectorValue = "linux";

const std::vector<std::string> kProviders = {"local", "existing", "aws", "gcp", "azure"};

std::string SectionFor(const std::string& provider) {
  if (provider == "aws") return "amazon_web_services";
  if (provider == "gcp") return "google_cloud_platform";
  return provider;  // azure, local, existing
}

std::string ProviderForSection(const std::string& section) {
  if (section == "amazon_web_services") return "aws";
  if (section == "google_cloud_platform") return "gcp";
  return section;
}

const std::vector<std::string> kProviderSections = {"local", "existing", "google_cloud_platform",
                                                    "amazon_web_services", "azure"};

// Top-level keys owned by stages NIC does not replace (§1). Kept, never validated.
const std::set<std::string> kApplicationSections = {
    "domain",      "certificate",  "dns",       "ingress",        "security",   "default_images",
    "theme",       "profiles",     "environments", "conda_store", "argo_workflows",
    "monitoring",  "telemetry",    "jupyterhub", "jupyterlab",    "jhub_apps",  "ceph",
    "helm_extensions", "tf_extensions", "ci_cd"};

const std::vector<std::string> kInfraTopLevel = {
    "project_name", "namespace",  "provider", "nebari_version", "prevent_deploy",
    "terraform_state", "storage", "external_container_reg", "amazon_web_services",
    "google_cloud_platform", "azure", "local", "existing"};

// Top-level keys from QHub / pre-2024.12 Nebari that the current schema rejects (§1, §12).
const std::map<std::string, std::string> kLegacyTopLevel = {
    {"qhub_version",
     "`qhub_version` is from QHub (before Nebari 2022.10.1); rename it to `nebari_version` and "
     "run `nebari upgrade` to convert the rest of the file"},
    {"terraform_version",
     "`terraform_version` was required by QHub v0.1.21-v0.2.x and removed in v0.3.0; delete it "
     "and run `nebari upgrade`"},
    {"terraform_modules", "`terraform_modules` is from QHub v0.3; delete it"},
    {"repo_name", "`repo_name` is from QHub v0.1; delete it"},
    {"endpoint", "`endpoint` is from QHub v0.1; delete it"},
    {"authentication", "top-level `authentication` is from QHub v0.1; it moved to "
                       "`security.authentication`"},
    {"cdsdashboards", "`cdsdashboards` was removed from Nebari; delete the section"},
    {"kbatch", "`kbatch` was removed from Nebari; delete the section"},
    {"prefect", "`prefect` was removed from Nebari; delete the section"},
    {"clearml", "`clearml` was removed from Nebari; delete the section"},
};

std::string Join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

struct Entry {
  std::string key;                   // as written
  const YamlNode* key_node = nullptr;  // nullptr for list items
  const YamlNode* value = nullptr;
};

// The entries ReadSection found, by canonical key. A handful at most, so a flat list searched
// linearly beats a map (and costs one allocation per section, none per lookup).
class Fields {
 public:
  using Item = std::pair<std::string, Entry>;
  using const_iterator = std::vector<Item>::const_iterator;
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  const_iterator find(std::string_view k) const {
    for (auto it = items_.begin(); it != items_.end(); ++it) {
      if (it->first == k) return it;
    }
    return items_.end();
  }
  size_t count(std::string_view k) const { return find(k) == end() ? 0 : 1; }
  const Entry& at(std::string_view k) const { return find(k)->second; }
  std::pair<const_iterator, bool> emplace(const std::string& k, Entry e) {
    if (auto it = find(k); it != end()) return {it, false};
    items_.emplace_back(k, std::move(e));
    return {items_.end() - 1, true};
  }

 private:
  std::vector<Item> items_;
};

// Where the guard pass is, for messages: rendered only when a message needs it.
struct GuardPath {
  const GuardPath* parent = nullptr;
  std::string_view key;      // a mapping key ("" for complex keys)
  size_t index = 0;          // a list index, when is_index
  bool is_index = false;
  bool same_as_parent = false;  // a complex key is reported at its mapping's path

  std::string Render() const {
    if (same_as_parent) return parent ? parent->Render() : std::string();
    if (parent == nullptr) return std::string(key);
    std::string p = parent->Render();
    if (is_index) return p + "[" + std::to_string(index) + "]";
    return p.empty() ? std::string(key) : p + "." + std::string(key);
  }
};

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  ConfigLoadResult Run(const std::string& text);

  // ---- diagnostics ----
  void Error(SourceMark at, const std::string& path, const std::string& message,
             const std::string& expected, const std::string& found) {
    if (errors_.size() < kMaxErrors) {
      errors_.push_back(Diag(at, path, message, expected, found));
    } else if (errors_.size() == kMaxErrors) {
      errors_.push_back(Diag(at, path,
                             "more than " + std::to_string(kMaxErrors) +
                                 " errors; the rest are not reported. Fix these first.",
                             "at most " + std::to_string(kMaxErrors) + " errors", "more"));
    }
  }
  bool TooManyErrors() const { return errors_.size() >= kMaxErrors; }
  void Warn(SourceMark at, const std::string& path, const std::string& message,
            const std::string& expected = "", const std::string& found = "") {
    warnings_.push_back(Diag(at, path, message, expected, found));
  }
  ConfigDiagnostic Diag(SourceMark at, const std::string& path, const std::string& message,
                        const std::string& expected, const std::string& found) const {
    ConfigDiagnostic d;
    d.file = file_;
    d.line = at.line;
    d.column = at.column;
    d.path = path;
    d.message = message;
    d.expected = expected;
    d.found = found;
    return d;
  }
  // "<what>: expected X, found Y."
  void TypeError(const YamlNode& n, const std::string& path, const std::string& expected,
                 const std::string& hint = "") {
    TypeError(&n, path, expected, hint);
  }
  void TypeError(const YamlNode* n, const std::string& path, const std::string& expected,
                 const std::string& hint = "") {
    std::string found = Describe(n);
    std::string msg = "expected " + expected + ", found " + found + ".";
    if (!hint.empty()) msg += " " + hint;
    Error(MarkOf(n), path, msg, expected, found);
  }

  void Mark(const std::string& path, const YamlNode& n) { Mark(path, &n); }
  // Marks mostly arrive in key order (node groups in file order are usually sorted), so the
  // insert is hinted with the place after the previous one: O(1) then, O(log n) otherwise.
  void Mark(const std::string& path, const YamlNode* n) {
    auto& marks = cfg_.field_marks;
    auto hint = last_mark_ == marks.end() ? marks.end() : std::next(last_mark_);
    last_mark_ = marks.emplace_hint(hint, path, SourceMark{});
    last_mark_->second = MarkOf(n);
  }
  void Defaulted(const std::string& path) { cfg_.defaults_applied.push_back(path); }
  // path + "." + key in a reused buffer, for the leaf calls of the node group walk (which runs
  // 100k times on a generated config). Only for callees that copy the path and never call Sub.
  const std::string& Sub(const std::string& path, std::string_view key) {
    sub_.assign(path);
    sub_ += '.';
    sub_ += key;
    return sub_;
  }

  // ---- maps with known keys ----
  struct KeySpec {
    std::vector<std::string> keys;                  // canonical names
    std::map<std::string, std::string> aliases;     // alias -> canonical
    std::map<std::string, std::string> legacy;      // rejected key -> explanation
  };
  // The node group keys of the selected provider, built once per file.
  KeySpec NodeGroupSpec() const;
  // Entries of `map` by canonical key; unknown, legacy and doubled (alias + name) keys are
  // reported. Returns false (and reports) when `map` is not a mapping.
  bool ReadSection(const YamlNode& map, const std::string& path, const KeySpec& spec,
                   Fields* out);
  bool ReadSection(const YamlNode* map, const std::string& path, const KeySpec& spec,
                   Fields* out) {
    return ReadSection(*map, path, spec, out);
  }

  // ---- typed values ----
  std::optional<std::string> Str(const Entry& e, const std::string& path, bool numbers_ok = false);
  std::optional<std::string> StrOrNull(const Entry& e, const std::string& path, bool* is_null,
                                       bool numbers_ok = false);
  std::optional<int64_t> Int(const Entry& e, const std::string& path, int64_t min, int64_t max);
  std::optional<bool> Bool(const Entry& e, const std::string& path);
  std::optional<std::vector<std::string>> StrList(const Entry& e, const std::string& path);
  std::optional<std::map<std::string, std::string>> StrMap(const Entry& e, const std::string& path,
                                                           bool numbers_ok = false);
  std::optional<std::string> KubernetesVersion(const Entry& e, const std::string& path,
                                               bool* is_null);

  // ---- sections ----
  void Guard(const YamlNode& n, int depth, const GuardPath& path);
  void ParseTopLevel(const YamlNode& root);
  void ParseSelectedProvider(const Fields& top, SourceMark provider_mark);
  void ParseProviderSection(const std::string& section, const YamlNode* node, SourceMark at);
  const KeySpec* node_group_spec_ = nullptr;
  void ParseAws(const Fields& s, const std::string& p, SourceMark at);
  void ParseGcp(const Fields& s, const std::string& p, SourceMark at);
  void ParseAzure(const Fields& s, const std::string& p, SourceMark at);
  void ParseLocal(const Fields* s, const std::string& p);
  void ParseNodeGroups(const Entry* e, const std::string& section_path);
  std::optional<NodeGroup> ParseNodeGroup(const Entry& e, const std::string& path);
  void ParseTaints(const Entry& e, const std::string& path, std::vector<Taint>* out);
  void ParseDesignStorage(const Fields& s, const std::string& p);
  void ParseStorage(const Entry& e);
  void ParseTerraformState(const Entry& e);
  void ParseExternalRegistry(const Entry& e);

  std::string file_;
  std::vector<ConfigDiagnostic> errors_;
  std::vector<ConfigDiagnostic> warnings_;
  NebariConfig cfg_;
  std::string sub_;  // Sub's buffer
  std::map<std::string, SourceMark>::iterator last_mark_ = cfg_.field_marks.end();
  size_t node_limit_ = kNodeBudget;  // set per file in Run
  size_t budget_ = kNodeBudget;
  bool budget_exhausted_ = false;
  bool too_deep_ = false;
};

// ---------------------------------------------------------------------------------------------
// Byte-level checks before libyaml sees the text: it reports neither invalid UTF-8 nor tab
// indentation with a clear message.

void CheckBytes(const std::string& text, Parser* p) {
  int line = 1, col = 1;
  bool at_indent = true;
  bool utf8_reported = false, tab_reported = false;
  size_t i = 0;
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF) {
    i = 3;  // UTF-8 byte order mark
  }
  if (text.size() >= 2 && ((static_cast<unsigned char>(text[0]) == 0xFF &&
                            static_cast<unsigned char>(text[1]) == 0xFE) ||
                           (static_cast<unsigned char>(text[0]) == 0xFE &&
                            static_cast<unsigned char>(text[1]) == 0xFF))) {
    p->Error({1, 1}, "", "the file is UTF-16 encoded; save it as UTF-8.", "UTF-8 text",
             "a UTF-16 byte order mark");
    return;
  }
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t len = 1;
    bool valid = true;
    if (c == 0) {
      valid = false;
    } else if (c < 0x80) {
      len = 1;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      len = 4;
    } else {
      valid = false;
    }
    if (valid && len > 1) {
      if (i + len > text.size()) {
        valid = false;
      } else {
        for (size_t k = 1; k < len; ++k) {
          if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) valid = false;
        }
        if (valid) {
          unsigned char c1 = static_cast<unsigned char>(text[i + 1]);
          // Overlong 3/4-byte forms, UTF-16 surrogates and code points above U+10FFFF.
          if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) ||
              (c == 0xF4 && c1 >= 0x90)) {
            valid = false;
          }
        }
      }
    }
    if (!valid) {
      if (!utf8_reported) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02X", c);
        p->Error({line, col}, "",
                 std::string(c == 0 ? "the file contains a NUL byte" : "the file is not valid UTF-8") +
                     " (byte " + hex + "); nebari-config.yaml must be UTF-8 text.",
                 "UTF-8 text", std::string("byte ") + hex);
        utf8_reported = true;
      }
      ++i;
      ++col;
      continue;
    }
    if (c == '\n') {
      ++line;
      col = 1;
      at_indent = true;
    } else {
      if (c == '\t' && at_indent && !tab_reported) {
        p->Error({line, col}, "",
                 "a tab is used for indentation; YAML allows only spaces there. Replace the tab "
                 "with spaces.",
                 "spaces", "a tab character");
        tab_reported = true;
      }
      if (c != ' ' && c != '\t' && c != '\r') at_indent = false;
      ++col;
    }
    i += len;
  }
}

// ---------------------------------------------------------------------------------------------
// Guard pass over the whole document (including application sections): depth, node budget,
// scalar size, duplicate keys. Runs before anything else reads the tree.

void Parser::Guard(const YamlNode& n, int depth, const GuardPath& at) {
  if (budget_exhausted_ || too_deep_) return;
  if (budget_ == 0) {
    budget_exhausted_ = true;
    Error(MarkOf(n), at.Render(),
          "the document expands to more than " + std::to_string(node_limit_) +
              " nodes (through anchors and aliases, e.g. a \"billion laughs\" file); the "
              "limit is " + std::to_string(kNodeBudget) + " nodes or one per byte of the file, "
              "whichever is larger, and a nebari-config.yaml has a few thousand at most. "
              "Remove the aliases.",
          "at most " + std::to_string(node_limit_) + " nodes", "more");
    return;
  }
  --budget_;
  if (depth > kMaxDepth) {
    too_deep_ = true;
    Error(MarkOf(n), at.Render(),
          "values are nested more than " + std::to_string(kMaxDepth) + " levels deep.",
          "at most " + std::to_string(kMaxDepth) + " levels", "deeper nesting");
    return;
  }
  if (n.IsScalar()) {
    if (n.scalar().size() > kMaxScalarBytes) {
      Error(MarkOf(n), at.Render(),
            "a value is " + std::to_string(n.scalar().size()) + " bytes long; the limit is " +
                std::to_string(kMaxScalarBytes) + " bytes.",
            "at most " + std::to_string(kMaxScalarBytes) + " bytes",
            std::to_string(n.scalar().size()) + " bytes");
    }
    return;
  }
  if (n.IsSequence()) {
    GuardPath child{&at, {}, 0, true, false};
    for (const YamlNode& item : n.items()) {
      Guard(item, depth + 1, child);
      if (budget_exhausted_ || too_deep_) return;
      ++child.index;
    }
    return;
  }
  if (n.IsMap()) {
    // Duplicate keys: a linear scan of the earlier keys for small mappings, a hash map for
    // large ones (node_groups of a generated config has 100k entries).
    constexpr size_t kLinear = 16;
    std::unordered_map<std::string_view, const YamlNode*> seen;
    if (n.size() > kLinear) seen.reserve(n.size());
    for (size_t i = 0; i < n.size(); ++i) {
      const YamlNode& k = n.key(i);
      const YamlNode* first = nullptr;
      if (k.IsScalar()) {
        if (n.size() > kLinear) {
          auto [pos, inserted] = seen.emplace(k.scalar(), &k);
          if (!inserted) first = pos->second;
        } else {
          for (size_t j = 0; j < i && first == nullptr; ++j) {
            if (n.key(j).IsScalar() && n.key(j).scalar() == k.scalar()) first = &n.key(j);
          }
        }
      }
      GuardPath child{&at, k.IsScalar() ? std::string_view(k.scalar()) : std::string_view(), 0, false, false};
      if (first != nullptr) {
        std::string path = at.Render();
        Error(MarkOf(k), child.Render(),
              "the key '" + k.scalar() + "' appears twice in " + (path.empty() ? "the file" : path) +
                  " (first at line " + std::to_string(first->line()) +
                  "); YAML keys must be unique and Nebari refuses duplicates. Keep one.",
              "a unique key", "a second '" + k.scalar() + "'");
      }
      if (!k.IsScalar()) {
        GuardPath same{&at, {}, 0, false, true};
        Guard(k, depth + 1, same);
      }
      Guard(n.value(i), depth + 1, child);
      if (budget_exhausted_ || too_deep_) return;
    }
  }
}

// ---------------------------------------------------------------------------------------------

bool Parser::ReadSection(const YamlNode& map, const std::string& path, const KeySpec& spec,
                         Fields* out) {
  if (!map.IsMap()) {
    TypeError(map, path, "a mapping");
    return false;
  }
  for (const auto& kv : map.entries()) {
    const YamlNode& k = kv.first;
    if (!k.IsScalar()) {
      TypeError(k, path, "a plain key");
      continue;
    }
    const std::string& key = k.scalar();
    const std::string* canonical = nullptr;
    if (auto c = std::find(spec.keys.begin(), spec.keys.end(), key); c != spec.keys.end()) {
      canonical = &*c;
    } else if (auto a = spec.aliases.find(key); a != spec.aliases.end()) {
      canonical = &a->second;
    } else if (auto l = spec.legacy.find(key); l != spec.legacy.end()) {
      Error(MarkOf(k), path + "." + key, "'" + key + "' is no longer accepted: " + l->second + ".",
            "one of: " + Join(spec.keys), "'" + key + "'");
      continue;
    } else {
      std::vector<std::string> valid = spec.keys;
      for (const auto& [alias, canonical_name] : spec.aliases) valid.push_back(alias);
      std::string near = TooManyErrors() ? std::string() : NearestName(key, valid);
      std::string msg = "unknown key '" + key + "' in " + path + ".";
      if (!near.empty()) msg += " Did you mean '" + near + "'?";
      msg += " Valid keys: " + Join(spec.keys) + ".";
      Error(MarkOf(k), path + "." + key, msg, near.empty() ? "one of: " + Join(spec.keys) : "'" + near + "'",
            "'" + key + "'");
      continue;
    }
    auto [pos, inserted] = out->emplace(*canonical, Entry{key, &k, &kv.second});
    if (!inserted && pos->second.key != key) {
      Error(MarkOf(k), path + "." + key,
            "'" + key + "' and '" + pos->second.key + "' name the same field (" + *canonical +
                "); keep only one of them.",
            "one of '" + key + "' or '" + pos->second.key + "'", "both");
    }
  }
  return true;
}

std::optional<std::string> Parser::Str(const Entry& e, const std::string& path, bool numbers_ok) {
  Mark(path, e.value);
  Kind k = KindOf(e.value);
  if (k == Kind::kString) return e.value->scalar();
  if (numbers_ok && (k == Kind::kInt || k == Kind::kFloat)) return e.value->scalar();
  if (k == Kind::kInt || k == Kind::kFloat) {
    TypeError(e.value, path, "a string",
              "YAML reads an unquoted " + e.value->scalar() + " as a number; quote it: '" +
                  e.value->scalar() + "'.");
  } else {
    TypeError(e.value, path, "a string");
  }
  return std::nullopt;
}

std::optional<std::string> Parser::StrOrNull(const Entry& e, const std::string& path,
                                             bool* is_null, bool numbers_ok) {
  *is_null = KindOf(e.value) == Kind::kNull;
  if (*is_null) {
    Mark(path, e.value);
    return std::string();
  }
  return Str(e, path, numbers_ok);
}

std::optional<int64_t> Parser::Int(const Entry& e, const std::string& path, int64_t min,
                                   int64_t max) {
  Mark(path, e.value);
  Kind k = KindOf(e.value);
  std::optional<int64_t> v;
  // pydantic (lax mode) also accepts a quoted integer such as "5".
  if (k == Kind::kInt || (k == Kind::kString && IsQuotedDecimalInt(e.value->scalar()))) {
    v = ParseInt(e.value->scalar());
    if (!v) {
      Error(MarkOf(e.value), path, "the integer " + e.value->scalar() + " is out of range.",
            "an integer between " + std::to_string(min) + " and " + std::to_string(max),
            e.value->scalar());
      return std::nullopt;
    }
  } else {
    TypeError(e.value, path, "an integer");
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    std::string expected = max == INT64_MAX ? "an integer >= " + std::to_string(min)
                                            : "an integer between " + std::to_string(min) +
                                                  " and " + std::to_string(max);
    Error(MarkOf(e.value), path, "expected " + expected + ", found " + std::to_string(*v) + ".",
          expected, std::to_string(*v));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Parser::Bool(const Entry& e, const std::string& path) {
  Mark(path, e.value);
  Kind k = KindOf(e.value);
  if (k == Kind::kBool) return ParseBool(e.value->scalar());
  // pydantic's lax mode, which Nebari validates with, also takes these spellings; a file that
  // Nebari accepts must keep working.
  if (k == Kind::kString || k == Kind::kInt) {
    std::string v = e.value->scalar();
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
    if (v == "yes" || v == "on" || v == "y" || v == "t" || v == "1" || v == "true") return true;
    if (v == "no" || v == "off" || v == "n" || v == "f" || v == "0" || v == "false") return false;
  }
  TypeError(e.value, path, "true or false");
  return std::nullopt;
}

std::optional<std::vector<std::string>> Parser::StrList(const Entry& e, const std::string& path) {
  Mark(path, e.value);
  if (!e.value->IsSequence()) {
    TypeError(e.value, path, "a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  size_t i = 0;
  for (const YamlNode& item : e.value->items()) {
    std::string ip = path + "[" + std::to_string(i++) + "]";
    auto s = Str(Entry{"", nullptr, &item}, ip);
    if (s) out.push_back(*s); else ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::map<std::string, std::string>> Parser::StrMap(const Entry& e,
                                                                 const std::string& path,
                                                                 bool numbers_ok) {
  Mark(path, e.value);
  if (!e.value->IsMap()) {
    TypeError(e.value, path, "a mapping of strings");
    return std::nullopt;
  }
  std::map<std::string, std::string> out;
  bool ok = true;
  for (const auto& kv : e.value->entries()) {
    if (!kv.first.IsScalar()) {
      TypeError(kv.first, path, "a plain key");
      ok = false;
      continue;
    }
    std::string key = kv.first.scalar();
    auto s = Str(Entry{key, &kv.first, &kv.second}, path + "." + key, numbers_ok);
    if (s) out.emplace(key, *s); else ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::string> Parser::KubernetesVersion(const Entry& e, const std::string& path,
                                                     bool* is_null) {
  Mark(path, e.value);
  *is_null = false;
  Kind k = KindOf(e.value);
  if (k == Kind::kNull) {
    *is_null = true;
    return std::string();
  }
  if (k == Kind::kInt || k == Kind::kFloat) {
    std::string s = e.value->scalar();
    std::string expected = "a quoted version string such as '" + s + "'";
    Error(MarkOf(e.value), path,
          "kubernetes_version is the unquoted number " + s +
              ", which YAML reads as a float (so '1.20' would become 1.2). Quote it: "
              "kubernetes_version: '" + s + "'.",
          expected, "the number " + s);
    return std::nullopt;
  }
  auto s = Str(e, path);
  if (!s) return std::nullopt;
  // 1.29, 1.29.2, and provider build suffixes seen in real files (1.18.16-gke.502).
  if (!IsKubernetesVersion(*s)) {
    Error(MarkOf(e.value), path,
          "kubernetes_version must look like '1.29' or '1.29.2', found '" + *s + "'.",
          "MAJOR.MINOR[.PATCH] as a quoted string", "'" + *s + "'");
    return std::nullopt;
  }
  int major = 0, minor = 0;
  if (std::sscanf(s->c_str(), "%d.%d", &major, &minor) == 2 &&
      (major > kHighestK8sMajor || (major == kHighestK8sMajor && minor > kHighestK8sMinor))) {
    Warn(MarkOf(e.value), path,
         "kubernetes_version " + *s + " is newer than " + std::to_string(kHighestK8sMajor) + "." +
             std::to_string(kHighestK8sMinor) +
             ", the highest version Nebari 2025.10.1 supports; Nebari's own deploy would refuse it.");
  }
  return s;
}

// ---------------------------------------------------------------------------------------------

void Parser::ParseTaints(const Entry& e, const std::string& path, std::vector<Taint>* out) {
  if (!e.value->IsSequence()) {
    TypeError(e.value, path, "a list of taints ({key, value, effect} or 'key=value:Effect')");
    return;
  }
  // TAINT_KEY_REGEX (IsTaintKey): a Kubernetes qualified name with an optional DNS-subdomain
  // prefix.
  static const std::set<std::string> kEffects = {"NoSchedule", "PreferNoSchedule", "NoExecute"};
  size_t i = 0;
  for (const YamlNode& item : e.value->items()) {
    std::string ip = path + "[" + std::to_string(i++) + "]";
    Taint t;
    if (KindOf(item) == Kind::kString) {
      // TAINT_STR_REGEX form: key[=value]:Effect.
      const std::string& s = item.scalar();
      auto parts = SplitTaintString(s);
      if (!parts) {
        Error(MarkOf(item), ip, "a taint string must look like 'key=value:Effect' or 'key:Effect', found '" + s + "'.",
              "'key=value:Effect'", "'" + s + "'");
        continue;
      }
      t = Taint{std::move(parts->key), std::move(parts->value), std::move(parts->effect)};
    } else if (item.IsMap()) {
      Fields f;
      static const KeySpec kTaintSpec{{"key", "value", "effect"}, {}, {}};
      if (!ReadSection(item, ip, kTaintSpec, &f)) continue;
      bool ok = true;
      for (const char* req : {"key", "value", "effect"}) {
        if (!f.count(req)) {
          Error(MarkOf(item), ip + "." + req,
                std::string("a taint mapping needs '") + req +
                    "' (Nebari requires key, value and effect; value may be null).",
                std::string("'") + req + "'", "nothing");
          ok = false;
        }
      }
      if (!ok) continue;
      auto k = Str(f.at("key"), ip + ".key");
      bool vnull = false;
      auto v = StrOrNull(f.at("value"), ip + ".value", &vnull, true);
      auto eff = Str(f.at("effect"), ip + ".effect");
      if (!k || !v || !eff) continue;
      t = Taint{*k, *v, *eff};
    } else {
      TypeError(item, ip, "a taint ({key, value, effect} or 'key=value:Effect')");
      continue;
    }
    bool ok = true;
    if (!IsTaintKey(t.key)) {
      Error(MarkOf(item), ip + ".key", "'" + t.key + "' is not a valid taint key.",
            "a Kubernetes qualified name such as 'dedicated' or 'example.com/gpu'", "'" + t.key + "'");
      ok = false;
    }
    if (!IsTaintValue(t.value)) {
      Error(MarkOf(item), ip + ".value", "'" + t.value + "' is not a valid taint value.",
            "at most 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
            "'" + t.value + "'");
      ok = false;
    }
    if (!kEffects.count(t.effect)) {
      Error(MarkOf(item), ip + ".effect", "'" + t.effect + "' is not a taint effect.",
            "NoSchedule, PreferNoSchedule or NoExecute", "'" + t.effect + "'");
      ok = false;
    }
    if (ok) out->push_back(t);
  }
}

Parser::KeySpec Parser::NodeGroupSpec() const {
  const std::string& provider = cfg_.provider;
  KeySpec spec;
  spec.keys = {"instance", "min_nodes", "max_nodes", "taints", "labels", "disk_size"};
  // The design document's names (§7.2, §7.5, §14.3).
  spec.aliases = {{"instance_type", "instance"}, {"machine_type", "instance"},
                  {"vm_size", "instance"},       {"min_size", "min_nodes"},
                  {"min_count", "min_nodes"},    {"max_size", "max_nodes"},
                  {"max_count", "max_nodes"}};
  if (provider == "aws") {
    for (const char* k : {"gpu", "single_subnet", "permissions_boundary", "spot"}) spec.keys.push_back(k);
    spec.legacy["launch_template"] =
        "Nebari rejects launch_template since 2024.11.1 (\"currently unavailable\"); remove it";
  } else if (provider == "gcp") {
    for (const char* k : {"preemptible", "guest_accelerators"}) spec.keys.push_back(k);
    spec.legacy["gpu"] =
        "GCP node groups request GPUs with guest_accelerators: [{name: nvidia-tesla-t4, count: 1}]";
  }
  return spec;
}

std::optional<NodeGroup> Parser::ParseNodeGroup(const Entry& e, const std::string& path) {
  const std::string& provider = cfg_.provider;
  const KeySpec& spec = *node_group_spec_;
  if (KindOf(e.value) == Kind::kNull) {
    Error(MarkOf(e.value), path, "the node group '" + e.key + "' is empty; it needs at least 'instance'.",
          "a mapping with instance, min_nodes, max_nodes", "null");
    return std::nullopt;
  }
  Fields f;
  if (!ReadSection(e.value, path, spec, &f)) return std::nullopt;
  size_t errors_before = errors_.size();
  NodeGroup g;
  g.name = e.key;
  if (auto it = f.find("instance"); it != f.end()) {
    if (auto s = Str(it->second, Sub(path, "instance"))) g.instance = *s;
  } else {
    Error(MarkOf(e.key_node), path + ".instance",
          "the node group '" + e.key + "' has no 'instance' (the machine type, e.g. m5.xlarge).",
          "'instance'", "nothing");
  }
  SourceMark max_mark = MarkOf(e.key_node);
  if (auto it = f.find("min_nodes"); it != f.end()) {
    if (auto v = Int(it->second, Sub(path, "min_nodes"), 0, INT64_MAX)) g.min_nodes = *v;
  } else {
    Defaulted(Sub(path, "min_nodes"));  // NodeGroup.min_nodes = 0
  }
  if (auto it = f.find("max_nodes"); it != f.end()) {
    max_mark = MarkOf(it->second.value);
    if (auto v = Int(it->second, Sub(path, "max_nodes"), 1, INT64_MAX)) g.max_nodes = *v;
  } else {
    Defaulted(Sub(path, "max_nodes"));  // NodeGroup.max_nodes = 1
  }
  if (errors_.size() == errors_before && g.min_nodes > g.max_nodes) {
    Error(max_mark, path + ".max_nodes",
          "max_nodes (" + std::to_string(g.max_nodes) + ") is smaller than min_nodes (" +
              std::to_string(g.min_nodes) + "); the autoscaler needs min_nodes <= max_nodes.",
          "an integer >= " + std::to_string(g.min_nodes), std::to_string(g.max_nodes));
  }
  if (auto it = f.find("disk_size"); it != f.end()) {
    // EBS/PD/managed disks top out at 64 TiB; a node root disk of more is a typo.
    if (auto v = Int(it->second, Sub(path, "disk_size"), 1, 65536)) g.disk_size = *v;
  }
  if (auto it = f.find("labels"); it != f.end()) {
    if (auto m = StrMap(it->second, path + ".labels", true)) g.labels = *m;
  }
  if (auto it = f.find("taints"); it != f.end() && KindOf(it->second.value) != Kind::kNull) {
    Mark(path + ".taints", it->second.value);
    ParseTaints(it->second, path + ".taints", &g.taints);
  } else {
    // set_missing_taints_to_default_taints.
    if (g.name != "general") g.taints.push_back(kDefaultTaint);
    Defaulted(Sub(path, "taints"));
  }
  auto flag = [&](const char* key, bool* dst) {
    if (auto it = f.find(key); it != f.end()) {
      if (auto b = Bool(it->second, Sub(path, key))) *dst = *b;
    }
  };
  if (provider == "aws") {
    flag("gpu", &g.gpu);
    flag("single_subnet", &g.single_subnet);
    flag("spot", &g.spot);
    g.extra["permissions_boundary"] = nullptr;
    if (auto it = f.find("permissions_boundary"); it != f.end()) {
      bool is_null = false;
      auto s = StrOrNull(it->second, Sub(path, "permissions_boundary"), &is_null);
      if (s && !is_null) g.extra["permissions_boundary"] = *s;
    }
  } else if (provider == "gcp") {
    flag("preemptible", &g.spot);
    g.extra["preemptible"] = g.spot;
    nlohmann::json accels = nlohmann::json::array();
    if (auto it = f.find("guest_accelerators"); it != f.end()) {
      const std::string ap = path + ".guest_accelerators";
      Mark(ap, it->second.value);
      if (!it->second.value->IsSequence()) {
        TypeError(it->second.value, ap, "a list of {name, count}");
      } else {
        size_t i = 0;
        for (const YamlNode& item : it->second.value->items()) {
          std::string ip = ap + "[" + std::to_string(i++) + "]";
          Fields a;
          static const KeySpec kAcceleratorSpec{{"name", "count"}, {}, {}};
          if (!ReadSection(item, ip, kAcceleratorSpec, &a)) continue;
          nlohmann::json acc = {{"name", nullptr}, {"count", 1}};  // GCPGuestAccelerator.count = 1
          if (auto n = a.find("name"); n != a.end()) {
            if (auto s = Str(n->second, ip + ".name")) acc["name"] = *s;
          } else {
            Error(MarkOf(item), ip + ".name", "a guest accelerator needs 'name' (e.g. nvidia-tesla-t4).",
                  "'name'", "nothing");
          }
          if (auto c = a.find("count"); c != a.end()) {
            if (auto v = Int(c->second, ip + ".count", 1, 16)) acc["count"] = *v;
          }
          accels.push_back(acc);
        }
      }
    }
    g.gpu = !accels.empty();  // stage 03 gpu_enabled: any non-empty guest_accelerators
    g.extra["guest_accelerators"] = accels;
  }
  if (errors_.size() != errors_before) return std::nullopt;
  return g;
}

void Parser::ParseNodeGroups(const Entry* e, const std::string& section_path) {
  const std::string path = section_path + ".node_groups";
  if (e == nullptr) {
    const DefaultGroup* begin = nullptr;
    if (cfg_.provider == "aws") begin = kAwsDefaultGroups;
    if (cfg_.provider == "gcp") begin = kGcpDefaultGroups;
    if (cfg_.provider == "azure") begin = kAzureDefaultGroups;
    if (begin == nullptr) return;
    for (const DefaultGroup* d = begin; d != begin + 3; ++d) {
      NodeGroup g;
      g.name = d->name;
      g.instance = d->instance;
      g.min_nodes = d->min_nodes;
      g.max_nodes = d->max_nodes;
      if (g.name != "general") g.taints.push_back(kDefaultTaint);
      if (cfg_.provider == "aws") g.extra["permissions_boundary"] = nullptr;
      if (cfg_.provider == "gcp") {
        g.extra["preemptible"] = false;
        g.extra["guest_accelerators"] = nlohmann::json::array();
      }
      cfg_.node_groups.push_back(g);
    }
    Defaulted(path);
    return;
  }
  Mark(path, e->value);
  if (!e->value->IsMap()) {
    TypeError(e->value, path, "a mapping of node group name -> {instance, min_nodes, max_nodes}");
    return;
  }
  // Group names become EKS node group / GKE node pool / AKS agent pool names. AKS is the
  // strictest: lowercase letters and digits, starting with a letter, at most 12 characters.
  const KeySpec spec = NodeGroupSpec();
  node_group_spec_ = &spec;
  std::map<std::string, NodeGroup> groups;
  for (const auto& kv : e->value->entries()) {
    if (!kv.first.IsScalar()) {
      TypeError(kv.first, path, "a node group name");
      continue;
    }
    std::string name = kv.first.scalar();
    std::string gp = path + "." + name;
    if (cfg_.provider == "azure" ? !IsAksNodePoolName(name) : !IsNodeGroupName(name)) {
      std::string expected = cfg_.provider == "azure"
                                 ? "1-12 lowercase letters and digits, starting with a letter (AKS node pool rule)"
                                 : "1-63 letters, digits, '-' or '_', starting and ending alphanumeric";
      Error(MarkOf(kv.first), gp, "'" + name + "' is not a valid node group name.", expected,
            "'" + name + "'");
      continue;
    }
    Mark(gp, kv.first);
    auto g = ParseNodeGroup(Entry{name, &kv.first, &kv.second}, gp);
    if (g) groups.emplace_hint(groups.end(), name, std::move(*g));  // keeps the first of a name
  }
  if (e->value->size() == 0) {
    Error(MarkOf(e->value), path, "node_groups is empty; a cluster needs at least one node group "
                                  "(Nebari schedules its own pods on 'general').",
          "at least one node group", "an empty mapping");
  }
  if (e->value->size() > 0 && e->value->Find("general") == nullptr) {
    // Stages 03-07 pin Nebari's own services (Keycloak, conda-store, the hub) to the node
    // selector of `general`, which exists only when a group of that name does.
    Warn(MarkOf(e->value), path,
         "there is no 'general' node group; Nebari schedules its core services on it.");
  }
  node_group_spec_ = nullptr;
  cfg_.node_groups.reserve(cfg_.node_groups.size() + groups.size());
  for (auto& [name, g] : groups) cfg_.node_groups.push_back(std::move(g));
}

void Parser::ParseDesignStorage(const Fields& s, const std::string& p) {
  auto it = s.find("storage");
  if (it == s.end()) return;
  // The design document's provider-level `storage: {type, size}` (§7.3, §7.5): the volume type
  // to preserve. `path` is the local provider's variant.
  Fields f;
  const std::string sp = p + ".storage";
  Mark(sp, it->second.value);
  if (!ReadSection(it->second.value, sp, KeySpec{{"type", "size", "path"}, {}, {}}, &f)) return;
  nlohmann::json out = nlohmann::json::object();
  if (auto t = f.find("type"); t != f.end()) {
    if (auto v = Str(t->second, sp + ".type")) out["type"] = *v;
  }
  if (auto z = f.find("size"); z != f.end()) {
    if (auto v = Int(z->second, sp + ".size", 1, 65536)) out["size"] = *v;
  }
  if (auto q = f.find("path"); q != f.end()) {
    if (auto v = Str(q->second, sp + ".path")) out["path"] = *v;
  }
  cfg_.provider_settings["storage"] = out;
}

void Parser::ParseAws(const Fields& s, const std::string& p, SourceMark at) {
  auto& ps = cfg_.provider_settings;
  if (auto it = s.find("region"); it != s.end()) {
    if (auto r = Str(it->second, p + ".region")) {
      if (!IsAwsRegion(*r)) {
        Error(MarkOf(it->second.value), p + ".region", "'" + *r + "' is not an AWS region name.",
              "a region such as us-west-2", "'" + *r + "'");
      } else {
        cfg_.region = *r;
      }
    }
  } else {
    Error(at, p + ".region", "amazon_web_services needs 'region' (e.g. us-west-2).", "'region'",
          "nothing");
  }
  if (auto it = s.find("kubernetes_version"); it != s.end()) {
    bool is_null = false;
    if (auto v = KubernetesVersion(it->second, p + ".kubernetes_version", &is_null)) {
      cfg_.kubernetes_version = *v;
      if (is_null) {
        Warn(MarkOf(it->second.value), p + ".kubernetes_version",
             "kubernetes_version is null: Nebari picks the newest EKS version at deploy time. Pin a "
             "version so deploys are reproducible.");
      }
    }
  } else {
    Error(at, p + ".kubernetes_version",
          "amazon_web_services needs 'kubernetes_version' (a quoted string such as '1.29').",
          "'kubernetes_version'", "nothing");
  }
  // availability_zones: absent -> Nebari takes the first two zones of the region, sorted, from
  // EC2 DescribeAvailabilityZones. Offline, NIC uses the two lowest-lettered zone names, which
  // is what that call returns in most regions and accounts; the provider checks them live.
  nlohmann::json azs = nlohmann::json::array();
  if (auto it = s.find("availability_zones"); it != s.end()) {
    if (auto v = StrList(it->second, p + ".availability_zones")) {
      size_t i = 0;
      for (const auto& z : *v) {
        std::string zp = p + ".availability_zones[" + std::to_string(i) + "]";
        if (!cfg_.region.empty() && (z.size() <= cfg_.region.size() || !z.starts_with(cfg_.region))) {
          Error(MarkOf(it->second.value->item(i)), zp,
                "the availability zone '" + z + "' is not in region " + cfg_.region + ".",
                "a zone of " + cfg_.region + " such as " + cfg_.region + "a", "'" + z + "'");
        }
        azs.push_back(z);
        ++i;
      }
    }
  } else if (!cfg_.region.empty()) {
    azs = {cfg_.region + "a", cfg_.region + "b"};
    Defaulted(p + ".availability_zones");
  }
  ps["availability_zones"] = azs;
  using Format = bool (*)(std::string_view);
  auto str_default = [&](const char* key, const char* def, Format re, const char* expected) {
    ps[key] = def ? nlohmann::json(def) : nlohmann::json(nullptr);
    auto it = s.find(key);
    if (it == s.end()) {
      if (def) Defaulted(p + "." + key);
      return;
    }
    bool is_null = false;
    auto v = StrOrNull(it->second, p + "." + key, &is_null);
    if (!v || is_null) return;
    if (re && !re(*v)) {
      Error(MarkOf(it->second.value), p + "." + key, "'" + *v + "' is not valid here.", expected,
            "'" + *v + "'");
      return;
    }
    ps[key] = *v;
  };
  Format endpoint = [](std::string_view v) {
    return v == "private" || v == "public" || v == "public_and_private";
  };
  str_default("eks_endpoint_access", kAwsDefaultEndpointAccess, endpoint,
              "private, public or public_and_private");
  str_default("eks_kms_arn", nullptr, IsAwsArn, "a KMS key ARN (arn:aws:kms:...)");
  str_default("existing_security_group_id", nullptr, IsSecurityGroupId, "a security group id (sg-...)");
  str_default("permissions_boundary", nullptr, IsAwsArn, "an IAM policy ARN (arn:aws:iam::...)");
  // vpc_cidr_block (alias: the design document's vpc_cidr).
  ps["vpc_cidr_block"] = kAwsDefaultVpcCidr;
  if (auto it = s.find("vpc_cidr_block"); it != s.end()) {
    if (auto v = Str(it->second, p + ".vpc_cidr_block")) {
      if (!IsCidrV4(*v)) {
        Error(MarkOf(it->second.value), p + ".vpc_cidr_block", "'" + *v + "' is not an IPv4 CIDR block.",
              "a CIDR such as 10.10.0.0/16", "'" + *v + "'");
      } else {
        ps["vpc_cidr_block"] = *v;
      }
    }
  } else {
    Defaulted(p + ".vpc_cidr_block");
  }
  ps["eks_public_access_cidrs"] = {kOpenCidr};
  if (auto it = s.find("eks_public_access_cidrs"); it != s.end()) {
    if (KindOf(it->second.value) == Kind::kNull) {
      ps["eks_public_access_cidrs"] = nullptr;
    } else if (auto v = StrList(it->second, p + ".eks_public_access_cidrs")) {
      for (size_t i = 0; i < v->size(); ++i) {
        if (!IsCidrV4((*v)[i])) {
          Error(MarkOf(it->second.value->item(i)), p + ".eks_public_access_cidrs[" + std::to_string(i) + "]",
                "'" + (*v)[i] + "' is not an IPv4 CIDR block.", "a CIDR such as 203.0.113.0/24",
                "'" + (*v)[i] + "'");
        }
      }
      ps["eks_public_access_cidrs"] = *v;
    }
  } else {
    Defaulted(p + ".eks_public_access_cidrs");
  }
  ps["existing_subnet_ids"] = nullptr;
  if (auto it = s.find("existing_subnet_ids"); it != s.end() && KindOf(it->second.value) != Kind::kNull) {
    if (auto v = StrList(it->second, p + ".existing_subnet_ids")) ps["existing_subnet_ids"] = *v;
  }
  ps["tags"] = nlohmann::json::object();
  if (auto it = s.find("tags"); it != s.end() && KindOf(it->second.value) != Kind::kNull) {
    if (auto v = StrMap(it->second, p + ".tags")) ps["tags"] = *v;
  }
}

void Parser::ParseGcp(const Fields& s, const std::string& p, SourceMark at) {
  auto& ps = cfg_.provider_settings;
  // GoogleCloudPlatformProvider has coerce_numbers_to_str: numbers are accepted as strings here.
  if (auto it = s.find("region"); it != s.end()) {
    if (auto r = Str(it->second, p + ".region")) {
      if (!IsGcpRegion(*r)) {
        Error(MarkOf(it->second.value), p + ".region", "'" + *r + "' is not a GCP region name.",
              "a region such as us-central1", "'" + *r + "'");
      } else {
        cfg_.region = *r;
      }
    }
  } else {
    Error(at, p + ".region", "google_cloud_platform needs 'region' (e.g. us-central1).", "'region'",
          "nothing");
  }
  // project (alias: the design document's project_id). GCP project ids: 6-30 characters.
  if (auto it = s.find("project"); it != s.end()) {
    if (auto v = Str(it->second, p + ".project", true)) {
      if (!IsGcpProject(*v)) {
        Error(MarkOf(it->second.value), p + ".project", "'" + *v + "' is not a GCP project id.",
              "6-30 lowercase letters, digits or '-', starting with a letter", "'" + *v + "'");
      }
      ps["project"] = *v;
    }
  } else {
    Error(at, p + ".project", "google_cloud_platform needs 'project' (the GCP project id).",
          "'project'", "nothing");
  }
  if (auto it = s.find("kubernetes_version"); it != s.end()) {
    bool is_null = false;
    if (auto v = KubernetesVersion(it->second, p + ".kubernetes_version", &is_null)) {
      if (is_null) {
        Error(MarkOf(it->second.value), p + ".kubernetes_version",
              "google_cloud_platform.kubernetes_version must be set (a quoted string such as '1.29').",
              "a quoted version string", "null");
      }
      cfg_.kubernetes_version = *v;
    }
  } else {
    Error(at, p + ".kubernetes_version",
          "google_cloud_platform needs 'kubernetes_version' (a quoted string such as '1.29').",
          "'kubernetes_version'", "nothing");
  }
  nlohmann::json azs = nlohmann::json::array();  // [] -> the first zone of the region
  if (auto it = s.find("availability_zones"); it != s.end() && KindOf(it->second.value) != Kind::kNull) {
    if (auto v = StrList(it->second, p + ".availability_zones")) {
      for (size_t i = 0; i < v->size(); ++i) {
        const std::string& z = (*v)[i];
        if (!cfg_.region.empty() && !z.starts_with(cfg_.region + "-")) {
          Error(MarkOf(it->second.value->item(i)), p + ".availability_zones[" + std::to_string(i) + "]",
                "the zone '" + z + "' is not in region " + cfg_.region + ".",
                "a zone such as " + cfg_.region + "-a", "'" + z + "'");
        }
        azs.push_back(z);
      }
    }
  }
  ps["availability_zones"] = azs;
  using Format = bool (*)(std::string_view);
  auto str_field = [&](const char* key, const char* def, Format re, const char* expected) {
    ps[key] = def ? nlohmann::json(def) : nlohmann::json(nullptr);
    auto it = s.find(key);
    if (it == s.end()) {
      if (def) Defaulted(p + "." + key);
      return;
    }
    bool is_null = false;
    auto v = StrOrNull(it->second, p + "." + key, &is_null, true);
    if (!v || is_null) return;
    if (re && !re(*v)) {
      Error(MarkOf(it->second.value), p + "." + key, "'" + *v + "' is not valid here.", expected,
            "'" + *v + "'");
      return;
    }
    ps[key] = *v;
  };
  Format mode = [](std::string_view v) { return v == "ROUTE" || v == "VPC_NATIVE"; };
  str_field("release_channel", kGcpDefaultReleaseChannel, nullptr, "");
  str_field("networking_mode", kGcpDefaultNetworkingMode, mode, "ROUTE or VPC_NATIVE");
  str_field("network", kGcpDefaultNetwork, nullptr, "");
  str_field("subnetwork", nullptr, nullptr, "");
  ps["tags"] = nlohmann::json::array();
  if (auto it = s.find("tags"); it != s.end() && KindOf(it->second.value) != Kind::kNull) {
    if (auto v = StrList(it->second, p + ".tags")) ps["tags"] = *v;
  }
  // Nested models with required string fields (GCPIPAllocationPolicy, GCPCIDRBlock,
  // GCPPrivateClusterConfig).
  auto sub = [&](const char* key, std::vector<std::string> str_keys, std::vector<std::string> bool_keys) {
    ps[key] = nullptr;
    auto it = s.find(key);
    if (it == s.end() || KindOf(it->second.value) == Kind::kNull) return;
    const std::string sp = p + "." + key;
    Mark(sp, it->second.value);
    std::vector<std::string> all = str_keys;
    all.insert(all.end(), bool_keys.begin(), bool_keys.end());
    Fields f;
    if (!ReadSection(it->second.value, sp, KeySpec{all, {}, {}}, &f)) return;
    nlohmann::json out = nlohmann::json::object();
    for (const auto& k : all) {
      auto fi = f.find(k);
      if (fi == f.end()) {
        Error(MarkOf(it->second.value), sp + "." + k, sp + " needs '" + k + "'.", "'" + k + "'",
              "nothing");
        continue;
      }
      bool is_bool = std::find(bool_keys.begin(), bool_keys.end(), k) != bool_keys.end();
      if (is_bool) {
        if (auto b = Bool(fi->second, sp + "." + k)) out[k] = *b;
      } else if (auto v = Str(fi->second, sp + "." + k, true)) {
        out[k] = *v;
      }
    }
    ps[key] = out;
  };
  sub("ip_allocation_policy",
      {"cluster_secondary_range_name", "services_secondary_range_name", "cluster_ipv4_cidr_block",
       "services_ipv4_cidr_block"},
      {});
  sub("master_authorized_networks_config", {"cidr_block", "display_name"}, {});
  sub("private_cluster_config", {"master_ipv4_cidr_block"},
      {"enable_private_nodes", "enable_private_endpoint"});
}

void Parser::ParseAzure(const Fields& s, const std::string& p, SourceMark at) {
  auto& ps = cfg_.provider_settings;
  if (auto it = s.find("region"); it != s.end()) {
    if (auto r = Str(it->second, p + ".region")) {
      if (r->empty()) {
        Error(MarkOf(it->second.value), p + ".region", "azure.region is empty.",
              "a region such as 'Central US' or eastus", "''");
      }
      cfg_.region = *r;  // free text ("Central US"); Nebari does not check it either
    }
  } else {
    Error(at, p + ".region", "azure needs 'region' (e.g. Central US).", "'region'", "nothing");
  }
  if (auto it = s.find("kubernetes_version"); it != s.end()) {
    bool is_null = false;
    if (auto v = KubernetesVersion(it->second, p + ".kubernetes_version", &is_null)) {
      cfg_.kubernetes_version = *v;
    }
  }
  // storage_account_postfix: part of the state storage account name, which Azure limits to
  // lowercase letters and digits.
  if (auto it = s.find("storage_account_postfix"); it != s.end()) {
    if (auto v = Str(it->second, p + ".storage_account_postfix", true)) {
      if (!IsAzureStoragePostfix(*v)) {
        Error(MarkOf(it->second.value), p + ".storage_account_postfix",
              "'" + *v + "' cannot be part of an Azure storage account name.",
              "lowercase letters and digits", "'" + *v + "'");
      }
      ps["storage_account_postfix"] = *v;
    }
  } else {
    Error(at, p + ".storage_account_postfix",
          "azure needs 'storage_account_postfix' (`nebari init` writes 4 random lowercase characters).",
          "'storage_account_postfix'", "nothing");
  }
  ps["authorized_ip_ranges"] = {kOpenCidr};
  if (auto it = s.find("authorized_ip_ranges"); it != s.end()) {
    if (KindOf(it->second.value) == Kind::kNull) {
      ps["authorized_ip_ranges"] = nullptr;
    } else if (auto v = StrList(it->second, p + ".authorized_ip_ranges")) {
      ps["authorized_ip_ranges"] = *v;
    }
  } else {
    Defaulted(p + ".authorized_ip_ranges");
  }
  ps["resource_group_name"] = nullptr;
  if (auto it = s.find("resource_group_name"); it != s.end()) {
    bool is_null = false;
    auto v = StrOrNull(it->second, p + ".resource_group_name", &is_null);
    if (v && !is_null) {
      // AzureProvider._validate_resource_group_name.
      size_t total = v->size() + std::string("-node-resource-group").size();
      if (total > 90 || !IsAzureResourceGroupChars(*v) || v->back() == '.') {
        Error(MarkOf(it->second.value), p + ".resource_group_name",
              "'" + *v + "' is not a usable Azure resource group name.",
              "letters, digits, '_', '-', '.', '(' or ')', not ending in '.', at most 70 characters "
              "(90 with the '-node-resource-group' suffix)",
              "'" + *v + "'");
      }
      ps["resource_group_name"] = *v;
    }
  }
  ps["vnet_subnet_id"] = nullptr;
  if (auto it = s.find("vnet_subnet_id"); it != s.end()) {
    bool is_null = false;
    auto v = StrOrNull(it->second, p + ".vnet_subnet_id", &is_null);
    if (v && !is_null) ps["vnet_subnet_id"] = *v;
  }
  auto boolean = [&](const char* key, nlohmann::json def) {
    ps[key] = def;
    auto it = s.find(key);
    if (it == s.end()) return;
    if (KindOf(it->second.value) == Kind::kNull && def.is_null()) return;
    if (auto b = Bool(it->second, p + "." + key)) ps[key] = *b;
  };
  boolean("private_cluster_enabled", false);
  boolean("workload_identity_enabled", false);
  boolean("azure_policy_enabled", nullptr);
  ps["tags"] = nlohmann::json::object();
  if (auto it = s.find("tags"); it != s.end() && KindOf(it->second.value) != Kind::kNull) {
    if (auto v = StrMap(it->second, p + ".tags")) {
      // azure_cloud.validate_tags.
      for (const auto& [k, val] : *v) {
        if (k.find_first_of("<>%&\\?/") != std::string::npos || k.size() > 512 || val.size() > 256) {
          Error(MarkOf(it->second.value), p + ".tags." + k, "the Azure tag '" + k + "' is not allowed.",
                "a name of at most 512 characters without <>%&\\?/ and a value of at most 256",
                "'" + k + "'");
        }
      }
      ps["tags"] = *v;
    }
  }
  ps["network_profile"] = nullptr;
  if (auto it = s.find("network_profile"); it != s.end() && KindOf(it->second.value) != Kind::kNull) {
    if (auto v = StrMap(it->second, p + ".network_profile")) ps["network_profile"] = *v;
  }
  ps["max_pods"] = nullptr;
  if (auto it = s.find("max_pods"); it != s.end() && KindOf(it->second.value) != Kind::kNull) {
    // AKS accepts 10..250 pods per node.
    if (auto v = Int(it->second, p + ".max_pods", 10, 250)) ps["max_pods"] = *v;
  }
}

void Parser::ParseLocal(const Fields* s, const std::string& p) {
  auto& ps = cfg_.provider_settings;
  ps["kube_context"] = nullptr;
  nlohmann::json selectors = nlohmann::json::object();
  for (const char* g : {"general", "user", "worker"}) {
    selectors[g] = {{"key", kLocalSelectorKey}, {"value", kLocalSelectorValue}};
  }
  if (s == nullptr) {
    ps["node_selectors"] = selectors;
    Defaulted(p);
    if (cfg_.provider == "existing") {
      Warn(cfg_.field_marks.count("provider") ? cfg_.field_marks["provider"] : SourceMark{},
           p + ".kube_context",
           "the existing provider needs kube_context (the kubeconfig context of the cluster) to "
           "deploy; add an `existing:` section with kube_context.");
    }
    return;
  }
  if (auto it = s->find("kube_context"); it != s->end()) {
    bool is_null = false;
    auto v = StrOrNull(it->second, p + ".kube_context", &is_null);
    if (v && !is_null) ps["kube_context"] = *v;
  }
  if (cfg_.provider == "existing" && ps["kube_context"].is_null()) {
    // ExistingInputVars.kube_context is a required str: Nebari fails at deploy time without it.
    Warn(cfg_.field_marks.count(p) ? cfg_.field_marks[p] : SourceMark{}, p + ".kube_context",
         "the existing provider needs kube_context (the kubeconfig context of the cluster) to "
         "deploy; set it.");
  }
  if (auto it = s->find("node_selectors"); it != s->end() && KindOf(it->second.value) != Kind::kNull) {
    const std::string sp = p + ".node_selectors";
    Mark(sp, it->second.value);
    if (!it->second.value->IsMap()) {
      TypeError(it->second.value, sp, "a mapping of group -> {key, value}");
    } else {
      selectors = nlohmann::json::object();
      for (const auto& g : it->second.value->entries()) {
        std::string name = g.first.IsScalar() ? g.first.scalar() : "";
        std::string gp = sp + "." + name;
        const YamlNode& v = g.second;
        if (v.IsMap() && v.size() == 1 && !v.Find("key") && !v.Find("value")) {
          // The design document's {label: value} form (§7.5), normalised to {key, value}.
          for (const auto& kv : v.entries()) {
            std::string label = kv.first.scalar();
            auto val = Str(Entry{label, &kv.first, &kv.second}, gp + "." + label, true);
            if (val) selectors[name] = {{"key", label}, {"value", *val}};
          }
          continue;
        }
        Fields f;
        static const KeySpec kSelectorSpec{{"key", "value"}, {}, {}};
        if (!ReadSection(v, gp, kSelectorSpec, &f)) continue;
        nlohmann::json sel = nlohmann::json::object();
        for (const char* k : {"key", "value"}) {
          auto fi = f.find(k);
          if (fi == f.end()) {
            Error(MarkOf(v), gp + "." + k, gp + " needs '" + k + "'.", std::string("'") + k + "'",
                  "nothing");
          } else if (auto sv = Str(fi->second, gp + "." + k, true)) {
            sel[k] = *sv;
          }
        }
        if (sel.size() == 2) selectors[name] = sel;
      }
    }
  } else {
    Defaulted(p + ".node_selectors");
  }
  ps["node_selectors"] = selectors;
}

void Parser::ParseProviderSection(const std::string& section, const YamlNode* node,
                                  SourceMark at) {
  const std::string& provider = cfg_.provider;
  KeySpec spec;
  if (provider == "aws") {
    spec.keys = {"region", "kubernetes_version", "availability_zones", "node_groups",
                 "eks_endpoint_access", "eks_public_access_cidrs", "eks_kms_arn",
                 "existing_subnet_ids", "existing_security_group_id", "vpc_cidr_block",
                 "permissions_boundary", "tags", "storage"};
    spec.aliases = {{"vpc_cidr", "vpc_cidr_block"}};
    spec.legacy = {{"terraform_overrides", "terraform_overrides was removed in Nebari 2023.10.1"}};
  } else if (provider == "gcp") {
    spec.keys = {"region", "project", "kubernetes_version", "availability_zones", "release_channel",
                 "node_groups", "tags", "networking_mode", "network", "subnetwork",
                 "ip_allocation_policy", "master_authorized_networks_config",
                 "private_cluster_config", "storage"};
    spec.aliases = {{"project_id", "project"}, {"node_pools", "node_groups"}};
    spec.legacy = {
        {"zone", "`zone` has not been used since QHub 0.4; list zones in availability_zones instead"},
        {"terraform_overrides", "terraform_overrides was removed in Nebari 2023.10.1"}};
  } else if (provider == "azure") {
    spec.keys = {"region", "kubernetes_version", "storage_account_postfix", "authorized_ip_ranges",
                 "resource_group_name", "node_groups", "vnet_subnet_id", "private_cluster_enabled",
                 "tags", "network_profile", "max_pods", "workload_identity_enabled",
                 "azure_policy_enabled", "storage"};
    spec.aliases = {{"resource_group", "resource_group_name"}, {"node_pools", "node_groups"}};
    spec.legacy = {{"project", "azure.project was dropped in QHub v0.4.0"},
                   {"terraform_overrides", "terraform_overrides was removed in Nebari 2023.10.1"}};
  } else {
    spec.keys = {"kube_context", "node_selectors", "storage"};
  }
  if (node == nullptr || KindOf(*node) == Kind::kNull) {
    if (provider == "local" || provider == "existing") {
      // Nebari creates the section with defaults when the provider is local/existing (§2, §7).
      ParseLocal(nullptr, section);
      return;
    }
    Error(at, section,
          "provider is '" + provider + "' but the '" + section +
              "' section is missing; it holds the region, kubernetes_version and node groups.",
          "a '" + section + "' mapping", node ? "null" : "nothing");
    return;
  }
  Mark(section, *node);
  Fields s;
  if (!ReadSection(*node, section, spec, &s)) return;
  SourceMark sm = MarkOf(*node);
  if (provider == "aws") ParseAws(s, section, sm);
  if (provider == "gcp") ParseGcp(s, section, sm);
  if (provider == "azure") ParseAzure(s, section, sm);
  if (provider == "local" || provider == "existing") ParseLocal(&s, section);
  if (provider == "aws" || provider == "gcp" || provider == "azure") {
    auto it = s.find("node_groups");
    ParseNodeGroups(it == s.end() ? nullptr : &it->second, section);
  }
  ParseDesignStorage(s, section);
}

void Parser::ParseStorage(const Entry& e) {
  Fields f;
  Mark("storage", e.value);
  // Storage (stage 07). Typos such as QHub's `shared_filesytem` get a "did you mean".
  if (!ReadSection(e.value, "storage", KeySpec{{"type", "conda_store", "shared_filesystem"}, {}, {}}, &f)) {
    return;
  }
  if (auto it = f.find("type"); it != f.end()) {
    bool is_null = false;
    auto v = StrOrNull(it->second, "storage.type", &is_null);
    if (v && !is_null) {
      if (*v != "nfs" && *v != "cephfs" && *v != "efs") {
        Error(MarkOf(it->second.value), "storage.type", "'" + *v + "' is not a storage type.",
              "nfs, cephfs or efs", "'" + *v + "'");
      } else {
        cfg_.storage_type = *v;
      }
    }
  }
  for (const char* k : {"conda_store", "shared_filesystem"}) {
    if (auto it = f.find(k); it != f.end()) {
      auto v = Str(it->second, std::string("storage.") + k);
      if (v && !IsStorageQuantity(*v)) {
        Error(MarkOf(it->second.value), std::string("storage.") + k, "'" + *v + "' is not a size.",
              "a Kubernetes quantity such as 200Gi", "'" + *v + "'");
      }
    }
  }
}

void Parser::ParseTerraformState(const Entry& e) {
  Fields f;
  Mark("terraform_state", e.value);
  if (!ReadSection(e.value, "terraform_state", KeySpec{{"type", "backend", "config"}, {}, {}}, &f)) return;
  if (auto it = f.find("type"); it != f.end()) {
    if (auto v = Str(it->second, "terraform_state.type")) {
      if (*v != "remote" && *v != "local" && *v != "existing") {
        Error(MarkOf(it->second.value), "terraform_state.type", "'" + *v + "' is not a state type.",
              "remote, local or existing", "'" + *v + "'");
      } else {
        cfg_.terraform_state_type = *v;
      }
    }
  }
  if (auto it = f.find("backend"); it != f.end()) {
    bool is_null = false;
    auto v = StrOrNull(it->second, "terraform_state.backend", &is_null);
    if (v) cfg_.terraform_state_backend = *v;
  }
  if (auto it = f.find("config"); it != f.end() && KindOf(it->second.value) != Kind::kNull) {
    if (auto m = StrMap(it->second, "terraform_state.config")) cfg_.terraform_state_config = *m;
  }
  if (cfg_.terraform_state_type == "existing" && cfg_.terraform_state_backend.empty()) {
    Error(MarkOf(e.value), "terraform_state.backend",
          "terraform_state.type is 'existing' but no backend is named.",
          "a Terraform backend type such as s3", "nothing");
  }
}

void Parser::ParseExternalRegistry(const Entry& e) {
  Fields f;
  const std::string p = "external_container_reg";
  Mark(p, e.value);
  const std::vector<std::string> fields = {"access_key_id", "secret_access_key", "extcr_account",
                                           "extcr_region"};
  KeySpec spec{{"enabled"}, {}, {}};
  spec.keys.insert(spec.keys.end(), fields.begin(), fields.end());
  if (!ReadSection(e.value, p, spec, &f)) return;
  auto& out = cfg_.external_container_reg;
  if (auto it = f.find("enabled"); it != f.end()) {
    if (auto b = Bool(it->second, p + ".enabled")) out["enabled"] = *b;
  }
  for (const auto& k : fields) {
    if (auto it = f.find(k); it != f.end()) {
      bool is_null = false;
      auto v = StrOrNull(it->second, p + "." + k, &is_null, true);
      if (v && !is_null) out[k] = *v;
    }
  }
  if (out["enabled"].get<bool>()) {
    for (const auto& k : fields) {
      if (out[k].is_null() || out[k].get<std::string>().empty()) {
        Error(MarkOf(e.value), p + "." + k, "external_container_reg is enabled but '" + k + "' is not set.",
              "a non-empty string", "nothing");
      }
    }
  }
}

void Parser::ParseTopLevel(const YamlNode& root) {
  Fields top;
  std::vector<std::string> infra_and_app = kInfraTopLevel;
  infra_and_app.insert(infra_and_app.end(), kApplicationSections.begin(), kApplicationSections.end());
  bool qhub_era = false;
  for (const auto& kv : root.entries()) {
    const YamlNode& k = kv.first;
    if (!k.IsScalar()) {
      TypeError(k, "", "a plain key");
      continue;
    }
    const std::string key = k.scalar();
    if (std::find(kInfraTopLevel.begin(), kInfraTopLevel.end(), key) != kInfraTopLevel.end()) {
      top.emplace(key, Entry{key, &k, &kv.second});
    } else if (kApplicationSections.count(key)) {
      cfg_.application_sections[key] = ToJson(kv.second);
      if (key == "ci_cd" && kv.second.IsScalar()) {
        qhub_era = true;
        Error(MarkOf(kv.second), "ci_cd",
              "this file predates the supported format: `ci_cd: " + kv.second.scalar() +
                  "` (a bare string) is QHub <= v0.3.0 syntax. Write `ci_cd: {type: " +
                  kv.second.scalar() + "}` and run `nebari upgrade`.",
              "a mapping {type, branch, ...}", Describe(kv.second));
      }
    } else if (auto l = kLegacyTopLevel.find(key); l != kLegacyTopLevel.end()) {
      qhub_era = qhub_era || key == "qhub_version" || key == "terraform_version" ||
                 key == "terraform_modules" || key == "repo_name" || key == "endpoint" ||
                 key == "authentication";
      Error(MarkOf(k), key,
            "this file predates the supported format: " + l->second + ".",
            "a key of the current Nebari schema", "'" + key + "'");
    } else if (key == "digital_ocean") {
      if (KindOf(kv.second) == Kind::kNull) {
        Warn(MarkOf(k), key,
             "`digital_ocean: null` is ignored; Nebari 2024.12.1 removed DigitalOcean and rejects "
             "the key, so delete it.");
      } else {
        Error(MarkOf(k), key,
              "this file predates the supported format: DigitalOcean (`digital_ocean`) was removed "
              "in Nebari 2024.12.1. Supported providers are aws, gcp, azure, local and existing; "
              "move the deployment to one of them.",
              "one of amazon_web_services, google_cloud_platform, azure, local, existing",
              "'digital_ocean'");
      }
    } else {
      std::string near = NearestName(key, infra_and_app);
      bool near_infra = !near.empty() &&
                        std::find(kInfraTopLevel.begin(), kInfraTopLevel.end(), near) != kInfraTopLevel.end();
      if (near_infra) {
        Error(MarkOf(k), key, "unknown key '" + key + "'. Did you mean '" + near + "'?", "'" + near + "'",
              "'" + key + "'");
      } else {
        std::string msg = "unknown top-level key '" + key + "' is kept as an application section and "
                          "ignored by NIC (Nebari itself rejects unknown keys unless a plugin adds them).";
        if (!near.empty()) msg += " Did you mean '" + near + "'?";
        Warn(MarkOf(k), key, msg, near.empty() ? "" : "'" + near + "'", "'" + key + "'");
        cfg_.application_sections[key] = ToJson(kv.second);
      }
    }
  }

  // project_name (Main.project_name).
  if (auto it = top.find("project_name"); it != top.end()) {
    if (auto v = Str(it->second, "project_name", true)) {
      cfg_.project_name = *v;
      if (!IsProjectName(*v)) {
        Error(MarkOf(it->second.value), "project_name",
              "'" + *v + "' (" + std::to_string(v->size()) + " characters) is not a valid project name.",
              "3-16 characters: a letter, then letters, digits, '-' or '_', ending with a letter or digit",
              "'" + *v + "'");
      }
    }
  } else {
    Error({1, 1}, "project_name", "the required key 'project_name' is missing.",
          "project_name: <3-16 characters>", "nothing");
  }
  // namespace (Main.namespace, default "dev").
  cfg_.namespace_name = "dev";
  if (auto it = top.find("namespace"); it != top.end()) {
    if (auto v = Str(it->second, "namespace")) {
      if (!IsNamespaceName(*v)) {
        Error(MarkOf(it->second.value), "namespace", "'" + *v + "' is not a valid namespace.",
              "at least 2 letters, '-' or '_' (no digits), starting and ending with a letter",
              "'" + *v + "'");
      } else {
        cfg_.namespace_name = *v;
      }
    }
  } else {
    Defaulted("namespace");
  }
  // nebari_version: Nebari compares it with the installed release; NIC checks the form only.
  if (auto it = top.find("nebari_version"); it != top.end()) {
    if (KindOf(it->second.value) == Kind::kFloat) {
      Error(MarkOf(it->second.value), "nebari_version",
            "nebari_version is the number " + it->second.value->scalar() + "; quote it.",
            "a quoted CalVer string such as '2025.10.1'", "the number " + it->second.value->scalar());
    } else if (auto v = Str(it->second, "nebari_version")) {
      if (!IsNebariVersion(*v)) {
        Error(MarkOf(it->second.value), "nebari_version", "'" + *v + "' is not a Nebari version.",
              "YYYY.M.P such as 2025.10.1 (suffixes like rc1 or .dev23+g53d1 are allowed)", "'" + *v + "'");
      } else {
        cfg_.nebari_version = *v;
      }
    }
  } else if (!qhub_era) {
    Warn({1, 1}, "nebari_version",
         "nebari_version is missing; Nebari would use the installed version. Add the version the "
         "deployment was made with.");
  }
  if (auto it = top.find("prevent_deploy"); it != top.end()) {
    if (auto b = Bool(it->second, "prevent_deploy")) cfg_.prevent_deploy = *b;
  }

  // provider, inferred from the provider sections when absent (§2).
  SourceMark provider_mark{1, 1};
  if (auto it = top.find("provider"); it != top.end()) {
    provider_mark = MarkOf(it->second.value);
    if (auto v = Str(it->second, "provider")) {
      if (*v == "do") {
        Error(provider_mark, "provider",
              "this file predates the supported format: provider 'do' (DigitalOcean) was removed in "
              "Nebari 2024.12.1.",
              "one of: " + Join(kProviders), "'do'");
      } else if (std::find(kProviders.begin(), kProviders.end(), *v) == kProviders.end()) {
        std::string near = NearestName(*v, kProviders);
        Error(provider_mark, "provider",
              "'" + *v + "' is not a provider." + (near.empty() ? "" : " Did you mean '" + near + "'?"),
              "one of: " + Join(kProviders), "'" + *v + "'");
      } else {
        cfg_.provider = *v;
      }
    }
  } else {
    std::vector<std::string> present;
    for (const auto& s : kProviderSections) {
      if (top.count(s)) present.push_back(s);  // presence counts, even with a null value
    }
    if (present.size() > 1) {
      Error({1, 1}, "provider",
            "'provider' is not set and several provider sections are present (" + Join(present) +
                "); set provider explicitly.",
            "exactly one provider section, or a provider key", Join(present));
    } else if (present.size() == 1) {
      cfg_.provider = ProviderForSection(present[0]);
    } else {
      cfg_.provider = "local";
    }
    if (!cfg_.provider.empty()) Defaulted("provider");
  }
  if (!cfg_.provider.empty()) {
    cfg_.field_marks["provider"] = provider_mark;
    ParseSelectedProvider(top, provider_mark);
  }

  if (auto it = top.find("storage"); it != top.end()) ParseStorage(it->second);
  if (cfg_.storage_type.empty() && !cfg_.provider.empty()) {
    // Storage.type after-validator: efs on aws, nfs elsewhere.
    cfg_.storage_type = cfg_.provider == "aws" ? "efs" : "nfs";
    Defaulted("storage.type");
  } else if (cfg_.storage_type == "efs" && !cfg_.provider.empty() && cfg_.provider != "aws") {
    Error(cfg_.field_marks["storage.type"], "storage.type", "storage.type 'efs' is only available on aws.",
          "nfs or cephfs", "'efs'");
  } else if (cfg_.storage_type == "cephfs" && cfg_.provider == "local") {
    Error(cfg_.field_marks["storage.type"], "storage.type",
          "storage.type 'cephfs' is not available with the local provider.", "nfs", "'cephfs'");
  }

  cfg_.terraform_state_type = "remote";  // TerraformState.type default
  if (auto it = top.find("terraform_state"); it != top.end()) {
    ParseTerraformState(it->second);
  } else {
    Defaulted("terraform_state.type");
  }
  cfg_.external_container_reg = {{"enabled", false},       {"access_key_id", nullptr},
                                 {"secret_access_key", nullptr}, {"extcr_account", nullptr},
                                 {"extcr_region", nullptr}};
  if (auto it = top.find("external_container_reg"); it != top.end()) {
    ParseExternalRegistry(it->second);
  }
}

void Parser::ParseSelectedProvider(const Fields& top, SourceMark provider_mark) {
  // Sections of other providers: ignored (warning when not null, as Nebari does).
  for (const auto& s : kProviderSections) {
    if (s == SectionFor(cfg_.provider)) continue;
    auto it = top.find(s);
    if (it != top.end() && KindOf(it->second.value) != Kind::kNull) {
      Warn(MarkOf(it->second.key_node), s,
           "the '" + s + "' section is ignored because provider is '" + cfg_.provider + "'.");
    }
  }
  const std::string section = SectionFor(cfg_.provider);
  auto ps = top.find(section);
  ParseProviderSection(section, ps == top.end() ? nullptr : ps->second.value,
                       ps == top.end() ? provider_mark : MarkOf(ps->second.key_node));
}

ConfigLoadResult Parser::Run(const std::string& text) {
  cfg_.source_path = file_;
  ConfigLoadResult result;
  auto finish = [&]() {
    result.errors = std::move(errors_);
    result.warnings = std::move(warnings_);
    if (result.errors.empty()) result.config = std::move(cfg_);
    return std::move(result);  // a captured variable is not returned by move implicitly
  };
  const size_t max_bytes = MaxFileBytes();
  if (text.size() > max_bytes) {
    // LoadNebariConfig reads one byte past the limit, so the size is only known to exceed it.
    Error({}, "", "the file is larger than the limit of " + std::to_string(max_bytes) +
                      " bytes (a nebari-config.yaml is a few KiB). To read a larger file set " +
                      kMaxFileBytesEnv + " to its size in bytes.",
          "at most " + std::to_string(max_bytes) + " bytes", "more than " + std::to_string(max_bytes) + " bytes");
    return finish();
  }
  node_limit_ = std::max(kNodeBudget, text.size());
  budget_ = node_limit_;
  CheckBytes(text, this);
  if (!errors_.empty()) return finish();
  config_internal::YamlStream stream;
  ParseYamlStream(text, kMaxParseDepth, &stream);
  if (stream.failed) {
    Error(SourceMark{stream.error_line, stream.error_column}, "",
          "the file is not valid YAML: " + stream.error + ".", "well-formed YAML", stream.error);
    return finish();
  }
  const std::vector<const YamlNode*>& docs = stream.documents;
  if (docs.size() > 1) {
    Error(MarkOf(docs[1]), "",
          "the file holds " + std::to_string(docs.size()) +
              " YAML documents (separated by ---); nebari-config.yaml must be exactly one.",
          "one document", std::to_string(docs.size()) + " documents");
    return finish();
  }
  if (docs.empty() || docs[0]->IsNull()) {
    Error({1, 1}, "", "the file is empty; a nebari-config.yaml needs at least project_name and "
                      "a provider section.",
          "a mapping", "an empty document");
    return finish();
  }
  const YamlNode& root = *docs[0];
  if (!root.IsMap()) {
    TypeError(root, "", "a mapping of top-level keys (project_name, provider, ...)");
    return finish();
  }
  try {
    Guard(root, 0, GuardPath{});
    if (budget_exhausted_ || too_deep_) return finish();
    ParseTopLevel(root);
  } catch (const std::exception& ex) {
    Error({}, "", std::string("internal error while reading the file: ") + ex.what() + ".", "", "");
  }
  return finish();
}

}  // namespace

ConfigLoadResult ParseNebariConfig(const std::string& yaml_text, const std::string& source_name) {
  Parser p(source_name);
  return p.Run(yaml_text);
}

ConfigLoadResult LoadNebariConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigLoadResult r;
    ConfigDiagnostic d;
    d.file = path;
    d.message = "cannot open the file: " + std::string(std::strerror(errno)) + ".";
    d.expected = "a readable nebari-config.yaml";
    d.found = "no readable file";
    r.errors.push_back(d);
    return r;
  }
  // Read at most one byte past the limit so a huge file is refused without loading it whole.
  const size_t limit = MaxFileBytes() + 1;
  std::string text;
  char buf[1 << 16];
  while (text.size() < limit && in) {
    in.read(buf, static_cast<std::streamsize>(std::min(sizeof buf, limit - text.size())));
    text.append(buf, static_cast<size_t>(in.gcount()));
  }
  return ParseNebariConfig(text, path);
}

}  // namespace nic
