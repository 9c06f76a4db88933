// Small helpers internal to the Kubernetes provider.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nic::kubeprov {

// Standard base64 (RFC 4648 §4); whitespace inside is skipped, padding optional.
std::optional<std::string> Base64Decode(std::string_view text);
std::string Base64Encode(std::string_view raw);
std::string Trim(std::string_view s);

}  // namespace nic::kubeprov
