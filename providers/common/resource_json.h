// Internal to the cloud providers: reading fields of resources in state shape and the address a
// discovered resource gets.
#pragma once

#include <algorithm>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "nic/provider.h"

namespace nic::tableprov {

using json = nlohmann::json;

// The string at `key`, or "" (not an object, no such key, not a string).
inline std::string StringAt(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// The value at a dotted path ("vpc_config.subnet_ids"), or null.
inline json AtPath(const json& j, const std::string& path) {
  const json* cur = &j;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string seg = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return json();
    auto it = cur->find(seg);
    if (it == cur->end()) return json();
    cur = &*it;
    if (dot == std::string::npos) return *cur;
    start = dot + 1;
  }
}

// Lists of strings compare as sets (clouds return them in their own order): the value with such
// a list sorted.
inline json Comparable(json v) {
  if (v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); })) {
    std::sort(v.begin(), v.end());
  }
  return v;
}

// The address a discovered resource gets (state.h: a singleton's is its collection; others
// are keyed by name, else id).
inline ResourceRef MakeRef(const std::string& collection, bool singleton, json value) {
  ResourceRef ref;
  ref.collection = collection;
  if (singleton) {
    ref.address = collection;
  } else {
    std::string name = StringAt(value, "name");
    ref.address = collection + "." + (name.empty() ? StringAt(value, "id") : name);
  }
  ref.value = std::move(value);
  return ref;
}

}  // namespace nic::tableprov
