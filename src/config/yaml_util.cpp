#include "src/config/yaml_util.h"

#include <charconv>
#include <cmath>
#include <regex>
#include <string>

namespace nic::config_internal {

namespace {

bool IsPlain(const YAML::Node& n) {
  // yaml-cpp tags plain scalars "?" and quoted ones "!"; explicit tags keep their text.
  return n.Tag() == "?";
}

bool LooksFloat(const std::string& s) {
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  static const std::regex kSpecial(R"([-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
  if (s.size() > 64) return false;
  return std::regex_match(s, kFloat) || std::regex_match(s, kSpecial);
}

}  // namespace

std::optional<bool> ParseBool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<int64_t> ParseInt(const std::string& s) {
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

Kind KindOf(const YAML::Node& n) {
  if (!n.IsDefined()) return Kind::kUndefined;
  switch (n.Type()) {
    case YAML::NodeType::Null: return Kind::kNull;
    case YAML::NodeType::Map: return Kind::kMap;
    case YAML::NodeType::Sequence: return Kind::kSeq;
    case YAML::NodeType::Undefined: return Kind::kUndefined;
    case YAML::NodeType::Scalar: break;
  }
  if (!IsPlain(n)) return Kind::kString;
  const std::string& s = n.Scalar();
  if (ParseBool(s)) return Kind::kBool;
  static const std::regex kInt(R"([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)");
  if (s.size() <= 40 && std::regex_match(s, kInt)) return Kind::kInt;
  if (LooksFloat(s)) return Kind::kFloat;
  return Kind::kString;
}

std::string Describe(const YAML::Node& n) {
  auto clip = [](const std::string& s) {
    return s.size() > 60 ? s.substr(0, 57) + "..." : s;
  };
  switch (KindOf(n)) {
    case Kind::kUndefined: return "nothing";
    case Kind::kNull: return "null";
    case Kind::kBool: return "the boolean " + n.Scalar();
    case Kind::kInt:
    case Kind::kFloat: return "the number " + clip(n.Scalar());
    case Kind::kString: return "the string '" + clip(n.Scalar()) + "'";
    case Kind::kMap: return "a mapping";
    case Kind::kSeq: return "a list";
  }
  return "an unknown value";
}

SourceMark MarkOf(const YAML::Node& n) {
  if (!n.IsDefined()) return {};
  YAML::Mark m = n.Mark();
  if (m.is_null() || m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

nlohmann::json ToJson(const YAML::Node& n) {
  switch (KindOf(n)) {
    case Kind::kUndefined:
    case Kind::kNull: return nullptr;
    case Kind::kBool: return *ParseBool(n.Scalar());
    case Kind::kInt: {
      auto v = ParseInt(n.Scalar());
      if (v) return *v;
      return n.Scalar();
    }
    case Kind::kFloat: {
      double d = 0;
      const std::string& s = n.Scalar();
      auto [p, ec] = std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(), d);
      if (ec == std::errc() && p == s.data() + s.size() && std::isfinite(d)) return d;
      return s;  // .inf/.nan have no JSON form; keep the text
    }
    case Kind::kString: return n.Scalar();
    case Kind::kSeq: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& item : n) a.push_back(ToJson(item));
      return a;
    }
    case Kind::kMap: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : n) {
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : YAML::Dump(kv.first);
        if (!o.contains(key)) o[key] = ToJson(kv.second);
      }
      return o;
    }
  }
  return nullptr;
}

}  // namespace nic::config_internal
