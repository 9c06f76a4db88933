#include "src/config/yaml_util.h"

#include <charconv>
#include <cmath>
#include <string>

#include "src/config/formats.h"

namespace nic::config_internal {

std::optional<bool> ParseBool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  if (s.empty() || s.size() > 40) return std::nullopt;
  int base = 10;
  std::string_view body(s);
  bool neg = false;
  if (body.starts_with("0o")) {
    base = 8;
    body.remove_prefix(2);
  } else if (body.starts_with("0x")) {
    base = 16;
    body.remove_prefix(2);
  } else if (body[0] == '-' || body[0] == '+') {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), v, base);
  if (ec != std::errc() || p != body.data() + body.size()) return std::nullopt;
  if (!neg && v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  if (neg && v > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
  if (neg) return v == static_cast<uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<int64_t>(v);
  return static_cast<int64_t>(v);
}

Kind KindOf(const YamlNode* n) {
  if (n == nullptr) return Kind::kUndefined;
  switch (n->type()) {
    case YamlNode::Type::kNull: return Kind::kNull;
    case YamlNode::Type::kMap: return Kind::kMap;
    case YamlNode::Type::kSeq: return Kind::kSeq;
    case YamlNode::Type::kScalar: break;
  }
  if (!n->plain()) return Kind::kString;
  const std::string& s = n->scalar();
  if (s.empty()) return Kind::kString;
  // Every core-schema number or boolean starts with one of these; most strings do not.
  char c = s[0];
  if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 't' || c == 'T' ||
        c == 'f' || c == 'F')) {
    return Kind::kString;
  }
  if (ParseBool(s)) return Kind::kBool;
  if (IsCoreInt(s)) return Kind::kInt;
  if (IsCoreFloat(s)) return Kind::kFloat;
  return Kind::kString;
}

std::string Describe(const YamlNode* n) {
  auto clip = [](const std::string& s) {
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
  };
  switch (KindOf(n)) {
    case Kind::kUndefined: return "nothing";
    case Kind::kNull: return "null";
    case Kind::kBool: return "the boolean " + n->scalar();
    case Kind::kInt:
    case Kind::kFloat: return "the number " + clip(n->scalar());
    case Kind::kString: return "the string '" + clip(n->scalar()) + "'";
    case Kind::kMap: return "a mapping";
    case Kind::kSeq: return "a list";
  }
  return "an unknown value";
}

namespace {

// Flow rendering of a key that is not a scalar (`? [a, b]`). yaml-cpp's Dump differed in
// block-style details; no real config has such keys, and the text only names the JSON member.
void AppendFlow(const YamlNode& n, std::string* out, int depth) {
  if (depth > 64) return;  // the guard pass refused deeper documents already
  switch (n.type()) {
    case YamlNode::Type::kNull: *out += "~"; return;
    case YamlNode::Type::kScalar: *out += n.scalar(); return;
    case YamlNode::Type::kSeq:
      *out += "[";
      for (size_t i = 0; i < n.size(); ++i) {
        if (i) *out += ", ";
        AppendFlow(n.item(i), out, depth + 1);
      }
      *out += "]";
      return;
    case YamlNode::Type::kMap:
      *out += "{";
      for (size_t i = 0; i < n.size(); ++i) {
        if (i) *out += ", ";
        AppendFlow(n.key(i), out, depth + 1);
        *out += ": ";
        AppendFlow(n.value(i), out, depth + 1);
      }
      *out += "}";
      return;
  }
}

}  // namespace

std::string KeyText(const YamlNode& n) {
  if (n.IsScalar()) return n.scalar();
  std::string out;
  AppendFlow(n, &out, 0);
  return out;
}

nlohmann::json ToJson(const YamlNode& n) {
  switch (KindOf(n)) {
    case Kind::kUndefined:
    case Kind::kNull: return nullptr;
    case Kind::kBool: return *ParseBool(n.scalar());
    case Kind::kInt: {
      auto v = ParseInt(n.scalar());
      if (v) return *v;
      return n.scalar();
    }
    case Kind::kFloat: {
      double d = 0;
      const std::string& s = n.scalar();
      auto [p, ec] = std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(), d);
      if (ec == std::errc() && p == s.data() + s.size() && std::isfinite(d)) return d;
      return s;  // .inf/.nan have no JSON form; keep the text
    }
    case Kind::kString: return n.scalar();
    case Kind::kSeq: {
      nlohmann::json a = nlohmann::json::array();
      for (size_t i = 0; i < n.size(); ++i) a.push_back(ToJson(n.item(i)));
      return a;
    }
    case Kind::kMap: {
      nlohmann::json o = nlohmann::json::object();
      for (size_t i = 0; i < n.size(); ++i) {
        std::string key = KeyText(n.key(i));
        if (!o.contains(key)) o[key] = ToJson(n.value(i));
      }
      return o;
    }
  }
  return nullptr;
}

}  // namespace nic::config_internal
