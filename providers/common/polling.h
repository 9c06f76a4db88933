// Internal to the cloud providers: waiting for a resource or operation to settle.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "nic/status.h"

namespace nic::tableprov {

// Calls `check` until it reports done (or fails), sleeping `initial` between calls and doubling
// up to `max`. When the next sleep would pass `timeout` (counted from the first call), returns
// timed_out(seconds waited, the last state `check` wrote, "" when none).
Status PollUntil(std::chrono::microseconds timeout, std::chrono::milliseconds initial, std::chrono::milliseconds max,
                 const std::function<Result<bool>(std::string* state)>& check,
                 const std::function<Status(int64_t waited_seconds, const std::string& last_state)>& timed_out);

}  // namespace nic::tableprov
