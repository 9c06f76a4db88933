// Internal helpers of the config area: YAML 1.2 scalar typing on top of yaml-cpp (which keeps
// every scalar as text), source marks, and a bounded YAML -> JSON conversion.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "nic/config.h"

namespace nic::config_internal {

// How a YAML node resolves under the YAML 1.2 core schema, which is what Nebari's ruamel.yaml
// round-trip loader uses: so `yes` is a string, `1.20` is the float 1.2, `1.29.2` a string.
enum class Kind { kUndefined, kNull, kBool, kInt, kFloat, kString, kMap, kSeq };

Kind KindOf(const YAML::Node& n);
// Parses a core-schema integer scalar (decimal, 0o octal, 0x hex); nullopt on overflow.
std::optional<int64_t> ParseInt(const std::string& s);
std::optional<bool> ParseBool(const std::string& s);
// What a value is, for "found ..." in messages: "the number 1.29", "a mapping", ...
std::string Describe(const YAML::Node& n);
// 1-based mark of a node, {0,0} when yaml-cpp has none.
SourceMark MarkOf(const YAML::Node& n);
// Converts with scalars typed as above. Callers bound the input with the guard pass first.
nlohmann::json ToJson(const YAML::Node& n);

}  // namespace nic::config_internal
