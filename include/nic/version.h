#pragma once

namespace nic {
inline constexpr const char* kNicVersion = "0.1.0";
// The state document format this build writes. Older formats are migrated on read.
inline constexpr int kStateFormatVersion = 1;
}  // namespace nic
