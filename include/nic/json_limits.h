// How deep JSON that NIC reads from files and the network may nest.
//
// nlohmann::json parses and frees any depth without recursion, but copying, comparing and
// dumping a value recurse once per level: a hostile document 100k levels deep ("[[[[...") would
// parse fine and then overflow the stack later, far from where it was read. Every reader of
// untrusted JSON checks the depth first, or (the simdjson readers, src/core/simd_json.h) while
// building the value, before nlohmann ever holds it. No state, tfstate, lock or cloud API
// answer nests anywhere near the limit.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "nic/status.h"

namespace nic {

inline constexpr int kMaxJsonDepth = 256;

// OK, or kInvalidInput "SOURCE: JSON nested more than 256 levels deep at line L, column C; ...".
// Scans in one pass without parsing (brackets inside strings do not count).
Status CheckJsonDepth(std::string_view text, const std::string& source, int max_depth = kMaxJsonDepth);

// nlohmann::json::parse(text, nullptr, false), except that a document nested deeper than
// kMaxJsonDepth is also a discarded value. For response bodies whose parse failure the caller
// already handles.
nlohmann::json ParseJsonBounded(std::string_view text);

}  // namespace nic
