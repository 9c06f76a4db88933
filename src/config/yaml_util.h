// Internal helpers of the config area: YAML 1.2 scalar typing on top of the document model
// (which keeps every scalar as text), source marks, and a bounded YAML -> JSON conversion.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "nic/config.h"
#include "src/config/yaml_document.h"

namespace nic::config_internal {

// How a YAML node resolves under the YAML 1.2 core schema, which is what Nebari's ruamel.yaml
// round-trip loader uses: so `yes` is a string, `1.20` is the float 1.2, `1.29.2` a string.
enum class Kind { kUndefined, kNull, kBool, kInt, kFloat, kString, kMap, kSeq };

// kUndefined for nullptr (an absent node).
Kind KindOf(const YamlNode* n);
inline Kind KindOf(const YamlNode& n) { return KindOf(&n); }
// Parses a core-schema integer scalar (decimal, 0o octal, 0x hex); nullopt on overflow.
std::optional<int64_t> ParseInt(std::string_view s);
std::optional<bool> ParseBool(std::string_view s);
// What a value is, for "found ..." in messages: "the number 1.29", "a mapping", ...
std::string Describe(const YamlNode* n);
inline std::string Describe(const YamlNode& n) { return Describe(&n); }
// 1-based mark of a node, {0,0} for nullptr.
inline SourceMark MarkOf(const YamlNode* n) { return n ? SourceMark{n->line(), n->column()} : SourceMark{}; }
inline SourceMark MarkOf(const YamlNode& n) { return MarkOf(&n); }
// A key as text: its scalar, or a flow rendering of a complex key.
std::string KeyText(const YamlNode& n);
// Converts with scalars typed as above. Callers bound the input with the guard pass first.
nlohmann::json ToJson(const YamlNode& n);

}  // namespace nic::config_internal
