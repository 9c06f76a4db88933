#include "nic/state.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <deque>
#include <cstring>
#include <regex>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "nic/crypto.h"
#include "nic/env.h"
#include "nic/json_limits.h"
#include "nic/lock.h"
#include "nic/version.h"
#include "src/core/simd_json.h"

namespace nic {

using json = nlohmann::json;

namespace {

constexpr const char* kProviders[] = {"aws", "gcp", "azure", "local", "existing"};


// Converts a byte offset to "line L, column C" for parse errors.
std::string LineCol(std::string_view text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

std::string TypeName(const json& j) {
  if (j.is_number_integer()) return "integer";
  if (j.is_number_float()) return "number";
  return j.type_name();
}

// Validation context: collects the first error with its JSON path.
class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}

  Status Fail(const std::string& path, const std::string& what) const {
    return Status::InvalidState(source_ + ": " + path + ": " + what)
        .WithDetail("file", source_)
        .WithDetail("json_path", path);
  }
  Status Expect(const std::string& path, const json& j, const char* expected) const {
    return Fail(path, std::string("expected ") + expected + ", found " + TypeName(j));
  }

 private:
  std::string source_;
};

// Keys of elements in resource collections: "name" (as "namespace/name" with a non-empty
// "namespace") or else "id". The parts are pointers into `e`; false when it has no key.
bool ElementKeyParts(const json& e, const std::string** ns, const std::string** name) {
  if (!e.is_object()) return false;
  auto n = e.find("name");
  if (n != e.end() && n->is_string()) {
    *name = &n->get_ref<const std::string&>();
    auto nsit = e.find("namespace");
    *ns = nsit != e.end() && nsit->is_string() && !nsit->get_ref<const std::string&>().empty()
              ? &nsit->get_ref<const std::string&>()
              : nullptr;
    return true;
  }
  auto id = e.find("id");
  if (id == e.end() || !id->is_string()) return false;
  *ns = nullptr;
  *name = &id->get_ref<const std::string&>();
  return true;
}

bool HasElementKey(const json& e) {
  const std::string* ns = nullptr;
  const std::string* name = nullptr;
  return ElementKeyParts(e, &ns, &name);
}

std::optional<std::string> ElementKey(const json& e) {
  const std::string* ns = nullptr;
  const std::string* name = nullptr;
  if (!ElementKeyParts(e, &ns, &name)) return std::nullopt;
  return ns ? *ns + "/" + *name : *name;
}

// Field-level type rules that hold wherever the field appears inside a resource. One table
// lookup per field, and paths are only spelled out for an error: this runs for every field of
// every resource on every read.
enum class FieldKind { kOther, kString, kNonNegInt, kStringMap, kStringArray, kBool, kScalingConfig };

FieldKind KindOfField(std::string_view k) {
  static const std::unordered_map<std::string_view, FieldKind> kKinds = {
      {"name", FieldKind::kString}, {"id", FieldKind::kString}, {"arn", FieldKind::kString},
      {"namespace", FieldKind::kString}, {"cidr", FieldKind::kString}, {"type", FieldKind::kString},
      {"availability_zone", FieldKind::kString}, {"version", FieldKind::kString},
      {"instance_type", FieldKind::kString}, {"endpoint", FieldKind::kString},
      {"terraform_address", FieldKind::kString},
      {"min_size", FieldKind::kNonNegInt}, {"max_size", FieldKind::kNonNegInt},
      {"desired_size", FieldKind::kNonNegInt}, {"disk_size", FieldKind::kNonNegInt},
      {"size", FieldKind::kNonNegInt}, {"min_nodes", FieldKind::kNonNegInt},
      {"max_nodes", FieldKind::kNonNegInt}, {"deploy_count", FieldKind::kNonNegInt},
      {"labels", FieldKind::kStringMap}, {"annotations", FieldKind::kStringMap},
      {"tags", FieldKind::kStringMap}, {"parameters", FieldKind::kStringMap},
      {"instance_types", FieldKind::kStringArray}, {"subnet_ids", FieldKind::kStringArray},
      {"nat_gateway_ids", FieldKind::kStringArray}, {"security_group_ids", FieldKind::kStringArray},
      {"availability_zones", FieldKind::kStringArray},
      {"imported", FieldKind::kBool}, {"is_default", FieldKind::kBool}, {"encrypted", FieldKind::kBool},
      {"scaling_config", FieldKind::kScalingConfig},
  };
  auto it = kKinds.find(k);
  return it == kKinds.end() ? FieldKind::kOther : it->second;
}

Status CheckResourceFields(const Checker& c, const std::string& path, const json& r) {
  for (auto it = r.begin(); it != r.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (v.is_null()) continue;
    auto p = [&] { return path + "." + k; };
    switch (KindOfField(k)) {
      case FieldKind::kOther: break;
      case FieldKind::kString:
        if (!v.is_string()) return c.Expect(p(), v, "a string");
        break;
      case FieldKind::kNonNegInt:
        if (!v.is_number_integer()) return c.Expect(p(), v, "an integer");
        if (v.get<int64_t>() < 0) return c.Fail(p(), "must not be negative, found " + v.dump());
        break;
      case FieldKind::kBool:
        if (!v.is_boolean()) return c.Expect(p(), v, "a boolean");
        break;
      case FieldKind::kStringMap:
        if (!v.is_object()) return c.Expect(p(), v, "an object of strings");
        for (auto m = v.begin(); m != v.end(); ++m) {
          if (!m.value().is_string()) return c.Expect(p() + "." + m.key(), m.value(), "a string");
        }
        break;
      case FieldKind::kStringArray:
        if (!v.is_array()) return c.Expect(p(), v, "an array of strings");
        for (size_t i = 0; i < v.size(); ++i) {
          if (!v[i].is_string()) return c.Expect(p() + "[" + std::to_string(i) + "]", v[i], "a string");
        }
        break;
      case FieldKind::kScalingConfig: {
        if (!v.is_object()) return c.Expect(p(), v, "an object");
        NIC_RETURN_IF_ERROR(CheckResourceFields(c, p(), v));
        auto mn = v.find("min_size"), mx = v.find("max_size");
        if (mn != v.end() && mx != v.end() && mn->is_number_integer() && mx->is_number_integer() &&
            mn->get<int64_t>() > mx->get<int64_t>()) {
          return c.Fail(p(), "min_size (" + mn->dump() + ") is greater than max_size (" + mx->dump() + ")");
        }
        break;
      }
    }
  }
  return Status::OK();
}

// Walks a section, checking every resource and that collection keys are unique.
Status CheckSection(const Checker& c, const std::string& path, const json& obj, bool top) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string p = path + "." + it.key();
    const json& v = it.value();
    if (v.is_object()) {
      if (!top) continue;  // nested objects below a resource are attributes
      NIC_RETURN_IF_ERROR(CheckResourceFields(c, p, v));
      NIC_RETURN_IF_ERROR(CheckSection(c, p, v, false));
    } else if (v.is_array()) {
      bool any_object = false;
      for (const auto& e : v) any_object |= e.is_object();
      if (!any_object) continue;
      // An array of objects where some carry a key: all must, and keys must be unique.
      bool any_key = false;
      for (const auto& e : v) {
        if (HasElementKey(e)) {
          any_key = true;
          break;
        }
      }
      if (!any_key) continue;
      // Keys are views of the elements' own strings; only "namespace/name" is built.
      std::unordered_set<std::string_view> seen;
      seen.reserve(v.size());
      std::deque<std::string> composed;
      for (size_t i = 0; i < v.size(); ++i) {
        auto ep = [&] { return p + "[" + std::to_string(i) + "]"; };
        const std::string* ns = nullptr;
        const std::string* name = nullptr;
        if (!ElementKeyParts(v[i], &ns, &name)) {
          return c.Fail(ep(), "every element of this resource list needs a string \"name\" or \"id\"");
        }
        std::string_view key = *name;
        if (ns != nullptr) key = composed.emplace_back(*ns + "/" + *name);
        if (!seen.insert(key).second) {
          return c.Fail(ep(), "duplicate resource \"" + std::string(key) + "\" (each resource may appear only once)");
        }
        // Arrays inside a collection element (a binding's subjects, a security group's rules)
        // are attributes of that resource, not resources of their own. Only a failing check
        // needs the element's path.
        Status st = CheckResourceFields(c, "", v[i]);
        if (!st.ok()) return CheckResourceFields(c, ep(), v[i]);
      }
    } else if (top && !v.is_null()) {
      return c.Expect(p, v, "an object or an array of resources");
    }
  }
  return Status::OK();
}

bool IsUuid(const std::string& s) {
  static const std::regex re("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
  return std::regex_match(s, re);
}

// Format 0 is the design document's draft shape (§6.1): no lineage/serial, node groups with a
// single `instance_type` and flat min/max/desired sizes, subnets with `az`. Format 1 (§14.2)
// has lineage/serial, `instance_types` arrays, `scaling_config` and `availability_zone`.
void MigrateV0ToV1(json& j) {
  j["lineage"] = NewUuid();
  j["serial"] = 0;
  auto& cloud = j["cloud"];
  if (cloud.is_object()) {
    if (auto ng = cloud.find("node_groups"); ng != cloud.end() && ng->is_array()) {
      for (auto& g : *ng) {
        if (!g.is_object()) continue;
        if (auto it = g.find("instance_type"); it != g.end() && !g.contains("instance_types")) {
          g["instance_types"] = json::array({*it});
          g.erase("instance_type");
        }
        json scaling = g.value("scaling_config", json::object());
        for (const char* k : {"min_size", "max_size", "desired_size"}) {
          if (auto it = g.find(k); it != g.end()) {
            scaling[k] = *it;
            g.erase(k);
          }
        }
        if (!scaling.empty()) g["scaling_config"] = scaling;
      }
    }
    if (auto vpc = cloud.find("vpc"); vpc != cloud.end() && vpc->is_object()) {
      if (auto sn = vpc->find("subnets"); sn != vpc->end() && sn->is_array()) {
        for (auto& s : *sn) {
          if (s.is_object() && s.contains("az") && !s.contains("availability_zone")) {
            s["availability_zone"] = s["az"];
            s.erase("az");
          }
        }
      }
    }
  }
  j["format_version"] = "1";
}

const std::set<std::string> kTopLevelKeys = {
    "version",  "format_version", "lineage",    "serial",   "provider", "project_name", "region",
    "imported_from_terraform",    "cloud",      "kubernetes", "unmanaged", "metadata",   "checksum"};

// True when `bytes` are exactly what SerializeStateDocument wrote for a document whose checksum
// is `stored`: with the checksum member taken out again they hash to it. This is the common
// case, and it avoids rebuilding and dumping the whole document (most of the cost of a large
// state's read). Any other layout (a file reformatted by hand, say) is checked the long way,
// on the canonical form, as before.
bool ChecksumCoversBytes(std::string_view bytes, const std::string& stored) {
  std::string suffix = ",\n  \"checksum\": \"" + stored + "\"\n}\n";
  if (bytes.size() < suffix.size() || bytes.substr(bytes.size() - suffix.size()) != suffix) return false;
  // sha256 of bytes[0, end of body) + "\n}", in two updates rather than over a copy (a copy of
  // a 130 MB state is 130 MB more resident memory).
  std::string_view body = bytes.substr(0, bytes.size() - suffix.size());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, body.data(), body.size()) == 1 && EVP_DigestUpdate(ctx, "\n}", 2) == 1 &&
            EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return false;  // the long check decides
  return "sha256:" + crypto::HexEncode(std::string_view(reinterpret_cast<const char*>(md), md_len)) == stored;
}

// Prints JSON exactly as nlohmann's dump(2) does (same key order, escapes, number formats and
// layout), straight into one buffer at any depth: the canonical form of a state is defined as
// that dump (tests/core/state_format_test.cpp keeps the two equal), and printing it directly
// avoids dumping each section into a string of its own and re-indenting a copy of it.
class CanonicalPrinter {
 public:
  // Appends to `out`; Finish() must be called before `out` is used again. The printer writes
  // into the string's buffer directly (std::string's append and push_back were most of the
  // printing time: one call per token).
  explicit CanonicalPrinter(std::string* out) : out_(out), len_(out->size()) {
    out_->resize(std::max(out_->capacity(), len_ + 4096));
    data_ = out_->data();
    cap_ = out_->size();
  }
  void Finish() { out_->resize(len_); }

  void Value(const json& v, int indent) {
    switch (v.type()) {
      case json::value_t::object: {
        const auto& o = v.get_ref<const json::object_t&>();
        if (o.empty()) {
          Put("{}", 2);
          return;
        }
        Put('{');
        bool first = true;
        for (const auto& [key, child] : o) {
          if (!first) Put(',');
          first = false;
          NewLine(indent + 2);
          String(key);
          Put(": ", 2);
          Value(child, indent + 2);
        }
        NewLine(indent);
        Put('}');
        return;
      }
      case json::value_t::array: {
        const auto& a = v.get_ref<const json::array_t&>();
        if (a.empty()) {
          Put("[]", 2);
          return;
        }
        Put('[');
        bool first = true;
        for (const auto& child : a) {
          if (!first) Put(',');
          first = false;
          NewLine(indent + 2);
          Value(child, indent + 2);
        }
        NewLine(indent);
        Put(']');
        return;
      }
      case json::value_t::string:
        String(v.get_ref<const std::string&>());
        return;
      case json::value_t::boolean:
        if (v.get<bool>()) {
          Put("true", 4);
        } else {
          Put("false", 5);
        }
        return;
      case json::value_t::number_integer:
        Integer(v.get<int64_t>());
        return;
      case json::value_t::number_unsigned:
        Integer(v.get<uint64_t>());
        return;
      case json::value_t::null:
        Put("null", 4);
        return;
      default: {
        // Floats (nlohmann's own shortest round-trip format), binary and discarded values are
        // rare in a state: nlohmann prints them, re-indented to this depth (raw newlines in a
        // dump only come from the indentation).
        std::string text = v.dump(2);
        size_t start = 0;
        for (;;) {
          size_t nl = text.find('\n', start);
          if (nl == std::string::npos) break;
          Put(text.data() + start, nl - start);
          NewLine(indent);
          start = nl + 1;
        }
        Put(text.data() + start, text.size() - start);
        return;
      }
    }
  }

  // A quoted string with dump()'s escapes: \b \t \n \f \r \" \\, \u00xx for the other control
  // characters, everything else as is. Text with bytes >= 0x80 goes to nlohmann, which also
  // checks that it is valid UTF-8 (and throws as before when it is not).
  void String(std::string_view s) {
    const size_t mark = len_;
    Put('"');
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (!kSpecial[c]) continue;
      if (c >= 0x80) {
        len_ = mark;
        std::string text = json(std::string(s)).dump();
        Put(text.data(), text.size());
        return;
      }
      Put(s.data() + run, i - run);
      run = i + 1;
      switch (c) {
        case '"': Put("\\\"", 2); break;
        case '\\': Put("\\\\", 2); break;
        case '\b': Put("\\b", 2); break;
        case '\t': Put("\\t", 2); break;
        case '\n': Put("\\n", 2); break;
        case '\f': Put("\\f", 2); break;
        case '\r': Put("\\r", 2); break;
        default: {
          static const char kHex[] = "0123456789abcdef";
          const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          Put(esc, 6);
        }
      }
    }
    Put(s.data() + run, s.size() - run);
    Put('"');
  }

  template <typename Int>
  void Integer(Int v) {
    char* at = Reserve(24);
    len_ += static_cast<size_t>(std::to_chars(at, at + 24, v).ptr - at);
  }

  void Member(std::string_view key_and_colon) { Put(key_and_colon.data(), key_and_colon.size()); }

 private:
  char* Reserve(size_t n) {
    if (cap_ - len_ < n) {
      out_->resize(std::max(cap_ * 2, len_ + n));
      data_ = out_->data();
      cap_ = out_->size();
    }
    return data_ + len_;
  }
  void Put(char c) {
    *Reserve(1) = c;
    ++len_;
  }
  void Put(const char* p, size_t n) {
    std::memcpy(Reserve(n), p, n);
    len_ += n;
  }

  // '\n' and `indent` spaces.
  void NewLine(int indent) {
    static const std::string kLine = "\n" + std::string(256, ' ');
    if (indent <= 256) {
      Put(kLine.data(), static_cast<size_t>(indent) + 1);
    } else {
      Put('\n');
      for (int i = 0; i < indent; ++i) Put(' ');
    }
  }

  // Bytes String cannot copy as they are: control characters, '"', '\\' and non-ASCII.
  static constexpr auto kSpecial = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
    return t;
  }();

  std::string* out_;
  size_t len_;
  char* data_ = nullptr;
  size_t cap_ = 0;
};

// The canonical document without its checksum, less the "\n}" that closes it: the checksum
// is the sha256 of this + "\n}", and the written file is this + the checksum member + "\n}\n",
// so both digests share this prefix. Member order is the format's (ordered_json's insertion
// order in earlier versions).
void AppendCanonicalPrefix(const StateDocument& d, std::string* out) {
  CanonicalPrinter p(out);
  p.Member("{\n  \"version\": ");
  p.String(d.version);
  p.Member(",\n  \"format_version\": ");
  p.String(std::to_string(d.format_version));
  p.Member(",\n  \"lineage\": ");
  p.String(d.lineage);
  p.Member(",\n  \"serial\": ");
  p.Integer(d.serial);
  p.Member(",\n  \"provider\": ");
  p.String(d.provider);
  p.Member(",\n  \"project_name\": ");
  p.String(d.project_name);
  p.Member(",\n  \"region\": ");
  p.String(d.region);
  p.Member(d.imported_from_terraform ? ",\n  \"imported_from_terraform\": true" : ",\n  \"imported_from_terraform\": false");
  p.Member(",\n  \"cloud\": ");
  p.Value(d.cloud, 2);
  p.Member(",\n  \"kubernetes\": ");
  p.Value(d.kubernetes, 2);
  p.Member(",\n  \"unmanaged\": ");
  p.Value(d.unmanaged, 2);
  p.Member(",\n  \"metadata\": {\n    \"created_at\": ");
  p.String(d.metadata.created_at);
  p.Member(",\n    \"updated_at\": ");
  p.String(d.metadata.updated_at);
  p.Member(",\n    \"nic_version\": ");
  p.String(d.metadata.nic_version);
  p.Member(",\n    \"configuration_hash\": ");
  p.String(d.metadata.configuration_hash);
  p.Member(",\n    \"last_successful_deploy\": ");
  p.String(d.metadata.last_successful_deploy);
  p.Member(",\n    \"deploy_count\": ");
  p.Integer(d.metadata.deploy_count);
  p.Member("\n  }");
  p.Finish();
}

}  // namespace

StateDocument StateDocument::NewEmpty(std::string provider, std::string project_name, std::string region,
                                      int64_t now_micros) {
  StateDocument d;
  d.version = kNicVersion;
  d.format_version = kStateFormatVersion;
  d.lineage = NewUuid();
  d.serial = 0;
  d.provider = std::move(provider);
  d.project_name = std::move(project_name);
  d.region = std::move(region);
  d.metadata.created_at = FormatRfc3339(now_micros);
  d.metadata.updated_at = d.metadata.created_at;
  d.metadata.nic_version = kNicVersion;
  return d;
}

std::string ComputeStateChecksum(const StateDocument& doc) {
  std::string prefix;
  AppendCanonicalPrefix(doc, &prefix);
  crypto::Sha256Hasher h;
  h.Update(prefix);
  h.Update("\n}");
  return "sha256:" + h.FinalHex();
}

std::string SerializeStateDocument(const StateDocument& doc, std::string* bytes_sha256_hex) {
  // Sized from the last document this thread printed (a process mostly rewrites the state it
  // read): growing a large buffer by doubling copies it several times.
  static thread_local size_t last_size = 1 << 16;
  std::string out;
  out.reserve(std::min<size_t>(last_size + last_size / 16, size_t{1} << 28) + 256);
  AppendCanonicalPrefix(doc, &out);
  // One pass over the prefix serves both digests: the checksum (prefix + "\n}") and, when
  // asked, the sha256 of the bytes returned (prefix + checksum member + "\n}\n").
  crypto::Sha256Hasher prefix;
  prefix.Update(out);
  crypto::Sha256Hasher body = prefix.Fork();
  body.Update("\n}");
  const size_t tail = out.size();
  out.append(",\n  \"checksum\": \"sha256:");
  out.append(body.FinalHex());
  out.append("\"\n}\n");
  if (bytes_sha256_hex != nullptr) {
    prefix.Update(std::string_view(out).substr(tail));
    *bytes_sha256_hex = prefix.FinalHex();
  }
  last_size = out.size();
  return out;
}

Status ValidateStateDocument(const StateDocument& d, const std::string& source) {
  Checker c(source);
  if (d.format_version != kStateFormatVersion) {
    return c.Fail("$.format_version", "in-memory documents must be format " + std::to_string(kStateFormatVersion));
  }
  if (!IsUuid(d.lineage)) return c.Fail("$.lineage", "expected a UUID, found \"" + d.lineage + "\"");
  bool provider_ok = false;
  for (const char* p : kProviders) provider_ok |= d.provider == p;
  if (!provider_ok) {
    return c.Fail("$.provider", "expected one of aws, gcp, azure, local, existing; found \"" + d.provider + "\"");
  }
  if (!d.cloud.is_object()) return c.Expect("$.cloud", d.cloud, "an object");
  if (!d.kubernetes.is_object()) return c.Expect("$.kubernetes", d.kubernetes, "an object");
  if (!d.unmanaged.is_array()) return c.Expect("$.unmanaged", d.unmanaged, "an array");
  for (size_t i = 0; i < d.unmanaged.size(); ++i) {
    const auto& u = d.unmanaged[i];
    std::string p = "$.unmanaged[" + std::to_string(i) + "]";
    if (!u.is_object()) return c.Expect(p, u, "an object");
    auto a = u.find("address");
    if (a == u.end() || !a->is_string()) return c.Fail(p + ".address", "expected a string address");
  }
  NIC_RETURN_IF_ERROR(CheckSection(c, "$.cloud", d.cloud, true));
  NIC_RETURN_IF_ERROR(CheckSection(c, "$.kubernetes", d.kubernetes, true));
  if (d.metadata.deploy_count < 0) return c.Fail("$.metadata.deploy_count", "must not be negative");
  return Status::OK();
}

Result<StateDocument> ParseStateDocument(std::string_view bytes, const std::string& source, ParseNotes* notes,
                                         size_t capacity) {
  Checker c(source);
  json j;
  try {
    // simdjson builds the same DOM several times faster, bounding the depth as it goes;
    // whatever it gives up on is checked for depth and parsed by nlohmann, which reports the
    // error.
    if (!simd::ParseObject(bytes, capacity, &j)) {
      if (Status deep = CheckJsonDepth(bytes, source); !deep.ok()) {
        return Status::InvalidState(deep.message())
            .WithDetail("file", source)
            .WithSuggestion("the state file is damaged; restore it from " + source + ".backup or from `nic state history`");
      }
      j = json::parse(bytes.begin(), bytes.end());
    }
  } catch (const json::parse_error& e) {
    std::string where = LineCol(bytes, e.byte > 0 ? e.byte - 1 : 0);
    std::string what = e.what();
    if (auto p = what.find("parse error"); p != std::string::npos) what = what.substr(p);
    return Status::InvalidState(source + ": not valid JSON at " + where + " (" + what + ")")
        .WithDetail("file", source)
        .WithSuggestion("the state file is damaged; restore it from " + source + ".backup or from `nic state history`");
  } catch (const json::exception& e) {
    // Not a syntax error but a value JSON cannot hold, e.g. a number beyond double range
    // ("1e999", found by fuzz_state): the parser throws out_of_range, with no position.
    std::string what = e.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Status::InvalidState(source + ": not valid JSON (" + what + ")")
        .WithDetail("file", source)
        .WithSuggestion("the state file is damaged; restore it from " + source + ".backup or from `nic state history`");
  }
  if (!j.is_object()) return c.Expect("$", j, "a JSON object");

  // format_version first: it decides how to read everything else.
  auto fv = j.find("format_version");
  if (fv == j.end()) {
    return c.Fail("$.format_version", "missing; this is not a NIC state document")
        .WithSuggestion("if this is a Terraform state, use `nic import --from-terraform`");
  }
  int format = -1;
  if (fv->is_string()) {
    const std::string& s = fv->get_ref<const std::string&>();
    if (!s.empty() && s.size() < 6 && std::all_of(s.begin(), s.end(), ::isdigit)) format = std::stoi(s);
  } else if (fv->is_number_unsigned() || fv->is_number_integer()) {
    format = fv->get<int>();
  }
  if (format < 0) return c.Fail("$.format_version", "expected a version number such as \"1\", found " + fv->dump());
  if (format > kStateFormatVersion) {
    return Status::InvalidState(source + ": state format_version " + std::to_string(format) +
                                " is newer than this NIC (" + std::string(kNicVersion) + ") supports (format " +
                                std::to_string(kStateFormatVersion) + ")")
        .WithDetail("file", source)
        .WithDetail("json_path", "$.format_version")
        .WithSuggestion("upgrade NIC to the version that wrote this state (metadata.nic_version)");
  }
  if (format < kStateFormatVersion) {
    if (format == 0) {
      MigrateV0ToV1(j);
      if (notes) {
        notes->migrated_from_format = 0;
        notes->messages.push_back("migrated state format 0 -> 1 (new lineage " + j["lineage"].get<std::string>() +
                                  "); it is written in format 1 on the next save");
      }
    } else {
      return c.Fail("$.format_version", "unknown state format " + std::to_string(format));
    }
  }

  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!kTopLevelKeys.count(it.key())) {
      return c.Fail("$." + it.key(), "unknown top-level field; NIC would drop it on the next write")
          .WithSuggestion("remove the field, or upgrade NIC if a newer version wrote it");
    }
  }

  StateDocument d;
  d.format_version = kStateFormatVersion;
  auto get_string = [&](const char* key, std::string* out, bool required) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) return c.Fail(std::string("$.") + key, "missing");
      return Status::OK();
    }
    if (!it->is_string()) return c.Expect(std::string("$.") + key, *it, "a string");
    *out = it->get<std::string>();
    return Status::OK();
  };
  NIC_RETURN_IF_ERROR(get_string("version", &d.version, true));
  NIC_RETURN_IF_ERROR(get_string("lineage", &d.lineage, false));
  if (d.lineage.empty()) {
    // The design's own format-1 example (§14.2) predates lineage/serial. Such a document is
    // read as a legacy one: it gets a lineage now and keeps it from its next write on.
    d.lineage = NewUuid();
    if (notes) notes->messages.push_back("state has no lineage (written before NIC tracked lineage); assigned " + d.lineage);
  }
  NIC_RETURN_IF_ERROR(get_string("provider", &d.provider, true));
  NIC_RETURN_IF_ERROR(get_string("project_name", &d.project_name, true));
  NIC_RETURN_IF_ERROR(get_string("region", &d.region, false));
  {
    auto it = j.find("serial");
    if (it == j.end()) it = j.emplace("serial", 0).first;  // legacy document: see lineage above
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0)) {
      return c.Expect("$.serial", *it, "a non-negative integer");
    }
    d.serial = it->get<uint64_t>();
  }
  if (auto it = j.find("imported_from_terraform"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return c.Expect("$.imported_from_terraform", *it, "a boolean");
    d.imported_from_terraform = it->get<bool>();
  }
  if (auto it = j.find("cloud"); it != j.end()) d.cloud = std::move(*it);
  if (auto it = j.find("kubernetes"); it != j.end()) d.kubernetes = std::move(*it);
  if (auto it = j.find("unmanaged"); it != j.end()) d.unmanaged = std::move(*it);
  if (d.cloud.is_null()) d.cloud = json::object();
  if (d.kubernetes.is_null()) d.kubernetes = json::object();
  if (d.unmanaged.is_null()) d.unmanaged = json::array();

  if (auto it = j.find("metadata"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return c.Expect("$.metadata", *it, "an object");
    const json& m = *it;
    auto ms = [&](const char* key, std::string* out) -> Status {
      auto f = m.find(key);
      if (f == m.end() || f->is_null()) return Status::OK();
      if (!f->is_string()) return c.Expect(std::string("$.metadata.") + key, *f, "a string");
      *out = f->get<std::string>();
      return Status::OK();
    };
    NIC_RETURN_IF_ERROR(ms("created_at", &d.metadata.created_at));
    NIC_RETURN_IF_ERROR(ms("updated_at", &d.metadata.updated_at));
    NIC_RETURN_IF_ERROR(ms("nic_version", &d.metadata.nic_version));
    NIC_RETURN_IF_ERROR(ms("configuration_hash", &d.metadata.configuration_hash));
    NIC_RETURN_IF_ERROR(ms("last_successful_deploy", &d.metadata.last_successful_deploy));
    for (const char* ts : {"created_at", "updated_at", "last_successful_deploy"}) {
      auto f = m.find(ts);
      if (f != m.end() && f->is_string() && !f->get_ref<const std::string&>().empty() &&
          !ParseRfc3339(f->get<std::string>())) {
        return c.Fail(std::string("$.metadata.") + ts, "expected an RFC 3339 time such as 2025-01-27T15:30:00Z, found " + f->dump());
      }
    }
    if (auto f = m.find("deploy_count"); f != m.end() && !f->is_null()) {
      if (!f->is_number_integer()) return c.Expect("$.metadata.deploy_count", *f, "an integer");
      d.metadata.deploy_count = f->get<int64_t>();
    }
    for (auto f = m.begin(); f != m.end(); ++f) {
      static const std::set<std::string> known = {"created_at", "updated_at", "nic_version", "configuration_hash",
                                                  "last_successful_deploy", "deploy_count"};
      if (!known.count(f.key())) return c.Fail("$.metadata." + f.key(), "unknown metadata field");
    }
  }

  NIC_RETURN_IF_ERROR(ValidateStateDocument(d, source));

  // A document written by NIC carries a checksum over its own canonical form. A mismatch means
  // the file was edited or damaged outside NIC; a missing checksum is accepted (hand-written or
  // migrated documents), which is how a user vouches for an intended edit.
  if (auto it = j.find("checksum"); it != j.end() && !it->is_null() && format == kStateFormatVersion) {
    if (!it->is_string()) return c.Expect("$.checksum", *it, "a string");
    std::string stored = it->get<std::string>();
    if (ChecksumCoversBytes(bytes, stored)) return d;
    std::string computed = ComputeStateChecksum(d);
    if (stored != computed) {
      return c.Fail("$.checksum", "checksum mismatch: the file says " + stored + " but its content hashes to " +
                                      computed + "; it was modified outside NIC or damaged")
          .WithSuggestion("restore the last good version: nic state history, then nic state rollback --to N")
          .WithSuggestion("if the edit was intended, delete the \"checksum\" field and run nic state push FILE");
    }
  }
  return d;
}

// ---- Addresses ----- (nested collections exist only inside singletons: cloud.vpc.subnets)
// -----------------------------------------------------------------------------

namespace {

void Walk(const json& node, const std::string& prefix, bool top, std::vector<ResourceEntry>* out) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    const json& v = it.value();
    std::string path = prefix + "." + it.key();
    if (v.is_object() && top) {
      out->push_back({path, path, "", &v});
      Walk(v, path, false, out);
    } else if (v.is_array() && !v.empty()) {
      // A collection when every element has a key: its entries are taken back at the first
      // element without one (one pass, each key looked up once).
      const size_t start = out->size();
      for (const auto& e : v) {
        const std::string* ns = nullptr;
        const std::string* name = nullptr;
        if (!ElementKeyParts(e, &ns, &name)) {
          out->resize(start);
          break;
        }
        std::string key = ns ? *ns + "/" + *name : *name;
        std::string address;
        address.reserve(path.size() + 1 + key.size());
        address.append(path).append(".").append(key);
        out->push_back({std::move(address), path, std::move(key), &e});
      }
    }
  }
}

struct Located {
  json* container = nullptr;  // the array (collection) or the object holding a singleton
  std::string member;         // singleton member name (when container is an object)
  std::string key;            // collection element key
  bool is_collection = false;
};

// Resolves an address to where its resource lives or would live. Collection and member names
// are identifiers without dots; element keys may contain dots and slashes.
Result<Located> Locate(StateDocument& doc, std::string_view address, bool create) {
  std::vector<std::string> seg;
  size_t start = 0;
  std::string a(address);
  while (true) {
    auto dot = a.find('.', start);
    seg.push_back(a.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (seg.size() < 2 || (seg[0] != "cloud" && seg[0] != "kubernetes")) {
    return Status::Usage("invalid resource address \"" + a + "\": it must start with cloud. or kubernetes.");
  }
  json* node = seg[0] == "cloud" ? &doc.cloud : &doc.kubernetes;
  for (size_t i = 1; i < seg.size(); ++i) {
    const std::string& name = seg[i];
    if (name.empty()) return Status::Usage("invalid resource address \"" + a + "\": empty segment");
    bool last = i + 1 == seg.size();
    auto it = node->find(name);
    if (it != node->end() && it->is_array()) {
      if (last) return Status::Usage("address \"" + a + "\" names a collection; add the element key");
      Located l;
      l.container = &*it;
      l.is_collection = true;
      for (size_t k = i + 1; k < seg.size(); ++k) l.key += (k > i + 1 ? "." : "") + seg[k];
      return l;
    }
    if (last) {
      if (node != &doc.cloud && node != &doc.kubernetes) {
        return Status::Usage("address \"" + a + "\" names an attribute, not a resource");
      }
      Located l;
      l.container = node;
      l.member = name;
      return l;
    }
    if (it != node->end() && it->is_object()) {
      node = &*it;
      continue;
    }
    if (it == node->end() && create) {
      // A new collection: the rest of the address is the element key.
      (*node)[name] = json::array();
      Located l;
      l.container = &(*node)[name];
      l.is_collection = true;
      for (size_t k = i + 1; k < seg.size(); ++k) l.key += (k > i + 1 ? "." : "") + seg[k];
      return l;
    }
    return Status::NotFound("no resource at address \"" + a + "\"");
  }
  return Status::NotFound("no resource at address \"" + a + "\"");
}

}  // namespace

std::vector<ResourceEntry> ListResources(const StateDocument& doc) {
  std::vector<ResourceEntry> out;
  Walk(doc.cloud, "cloud", true, &out);
  Walk(doc.kubernetes, "kubernetes", true, &out);
  return out;
}

const json* FindResource(const StateDocument& doc, std::string_view address) {
  return FindResource(const_cast<StateDocument&>(doc), address);
}

json* FindResource(StateDocument& doc, std::string_view address) {
  auto loc = Locate(doc, address, false);
  if (!loc.ok()) return nullptr;
  if (loc->is_collection) {
    for (auto& e : *loc->container) {
      if (auto k = ElementKey(e); k && *k == loc->key) return &e;
    }
    return nullptr;
  }
  auto it = loc->container->find(loc->member);
  if (it == loc->container->end() || !it->is_object()) return nullptr;
  return &*it;
}

Status PutResource(StateDocument& doc, std::string_view address, json value) {
  if (!value.is_object()) return Status::Usage("resource value must be a JSON object");
  NIC_ASSIGN_OR_RETURN(Located loc, Locate(doc, address, true));
  if (loc.is_collection) {
    auto k = ElementKey(value);
    if (!k || *k != loc.key) {
      return Status::Usage("resource for address \"" + std::string(address) + "\" must carry name/namespace or id \"" +
                           loc.key + "\"");
    }
    for (auto& e : *loc.container) {
      if (auto ek = ElementKey(e); ek && *ek == loc.key) {
        e = std::move(value);
        return Status::OK();
      }
    }
    loc.container->push_back(std::move(value));
    return Status::OK();
  }
  (*loc.container)[loc.member] = std::move(value);
  return Status::OK();
}

Status RemoveResource(StateDocument& doc, std::string_view address) {
  auto loc = Locate(doc, address, false);
  if (!loc.ok()) return loc.status();
  if (loc->is_collection) {
    auto& arr = *loc->container;
    for (size_t i = 0; i < arr.size(); ++i) {
      if (auto k = ElementKey(arr[i]); k && *k == loc->key) {
        arr.erase(arr.begin() + static_cast<std::ptrdiff_t>(i));
        return Status::OK();
      }
    }
    return Status::NotFound("no resource at address \"" + std::string(address) + "\"");
  }
  if (loc->container->erase(loc->member) == 0) {
    return Status::NotFound("no resource at address \"" + std::string(address) + "\"");
  }
  return Status::OK();
}

}  // namespace nic
