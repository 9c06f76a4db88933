#include "src/core/simd_json.h"

#include <cstdint>
#include <utility>

namespace nic::simd {

using nlohmann::json;
using simdjson::error_code;

PaddedInput::PaddedInput(std::string_view bytes, size_t capacity) : size_(bytes.size()) {
  if (capacity >= bytes.size() + simdjson::SIMDJSON_PADDING) {
    data_ = bytes.data();
    capacity_ = capacity;
  } else {
    copy_ = simdjson::padded_string(bytes.data(), bytes.size());
    data_ = copy_.data();
    capacity_ = bytes.size() + simdjson::SIMDJSON_PADDING;
  }
}

namespace {

error_code StringToJson(od::value& v, json& out) {
  std::string s;
  SIMDJSON_TRY(GetString(v, &s));
  out = std::move(s);
  return simdjson::SUCCESS;
}

// nlohmann's lexer: a number with '.', 'e' or 'E' is a double, else an integer, unsigned
// unless it has a '-'. Integers outside 64 bits (nlohmann makes them doubles) are errors here.
error_code NumberToJson(od::value& v, json& out) {
  std::string_view tok = v.raw_json_token();
  if (tok.find_first_of(".eE") != std::string_view::npos) {
    double d;
    SIMDJSON_TRY(v.get_double().get(d));
    out = d;
  } else if (!tok.empty() && tok[0] == '-') {
    int64_t i;
    SIMDJSON_TRY(v.get_int64().get(i));
    out = i;
  } else {
    uint64_t u;
    SIMDJSON_TRY(v.get_uint64().get(u));
    out = u;
  }
  return simdjson::SUCCESS;
}

}  // namespace

error_code GetString(od::value& v, std::string* out) {
  std::string_view tok = v.raw_json_token();
  size_t close = tok.rfind('"');
  if (tok.size() >= 2 && tok[0] == '"' && close > 0) {
    std::string_view body = tok.substr(1, close - 1);
    if (body.find('\\') == std::string_view::npos) {
      out->assign(body);
      return simdjson::SUCCESS;  // left unconsumed: the parent's iteration skips it
    }
  }
  std::string_view s;
  SIMDJSON_TRY(v.get_string().get(s));
  out->assign(s);
  return simdjson::SUCCESS;
}

bool AtEnd(od::document& doc) {
  return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

error_code Key(od::field& f, std::string_view* out) {
  const char* p = f.key().raw();
  const char* q = p;
  while (*q != '"' && *q != '\\') ++q;  // a validated key always ends with its quote
  if (*q == '"') {
    *out = std::string_view(p, static_cast<size_t>(q - p));
    return simdjson::SUCCESS;
  }
  return f.unescaped_key().get(*out);
}

error_code ObjectToJson(od::object o, json& out, int max_depth) {
  if (max_depth < 1) return simdjson::DEPTH_ERROR;
  out = json::object();
  auto& m = out.get_ref<json::object_t&>();
  for (auto field_or : o) {
    od::field f;
    SIMDJSON_TRY(std::move(field_or).get(f));
    std::string_view k;
    SIMDJSON_TRY(Key(f, &k));
    // Documents NIC writes have their keys sorted, so each key goes after the last one: a
    // constant-time insert at the end. emplace_hint finds the place itself when it is not,
    // and returns the existing member for a repeated key, whose last value then wins, as in
    // nlohmann's DOM parser.
    auto it = m.emplace_hint(m.end(), std::string(k), nullptr);
    SIMDJSON_TRY(ToJson(f.value(), it->second, max_depth - 1));
  }
  return simdjson::SUCCESS;
}

error_code ToJson(od::value v, json& out, int max_depth) {
  od::json_type t;
  SIMDJSON_TRY(v.type().get(t));
  switch (t) {
    case od::json_type::object: {
      od::object o;
      SIMDJSON_TRY(v.get_object().get(o));
      return ObjectToJson(o, out, max_depth);
    }
    case od::json_type::array: {
      if (max_depth < 1) return simdjson::DEPTH_ERROR;
      od::array a;
      SIMDJSON_TRY(v.get_array().get(a));
      out = json::array();
      auto& arr = out.get_ref<json::array_t&>();
      for (auto el : a) {
        od::value ev;
        SIMDJSON_TRY(el.get(ev));
        arr.emplace_back();
        SIMDJSON_TRY(ToJson(ev, arr.back(), max_depth - 1));
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: return StringToJson(v, out);
    case od::json_type::number: return NumberToJson(v, out);
    case od::json_type::boolean: {
      bool b;
      SIMDJSON_TRY(v.get_bool().get(b));
      out = b;
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      SIMDJSON_TRY(v.is_null().get(is_null));
      if (!is_null) return simdjson::INCORRECT_TYPE;
      out = nullptr;
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

bool ParseObject(std::string_view bytes, size_t capacity, json* out, int max_depth) {
  PaddedInput in(bytes, capacity);
  od::parser parser;
  od::document doc;
  if (parser.iterate(in.data(), in.size(), in.capacity()).get(doc) != simdjson::SUCCESS) return false;
  od::object o;
  if (doc.get_object().get(o) != simdjson::SUCCESS) return false;
  if (ObjectToJson(o, *out, max_depth) != simdjson::SUCCESS) return false;
  return AtEnd(doc);
}

}  // namespace nic::simd
