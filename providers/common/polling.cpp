#include "providers/common/polling.h"

#include <algorithm>
#include <thread>

namespace nic::tableprov {

Status PollUntil(std::chrono::microseconds timeout, std::chrono::milliseconds initial, std::chrono::milliseconds max,
                 const std::function<Result<bool>(std::string* state)>& check,
                 const std::function<Status(int64_t waited_seconds, const std::string& last_state)>& timed_out) {
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + timeout;
  std::chrono::milliseconds delay = initial;
  std::string state;
  while (true) {
    NIC_ASSIGN_OR_RETURN(bool done, check(&state));
    if (done) return Status::OK();
    auto now = std::chrono::steady_clock::now();
    if (now + delay > deadline) {
      return timed_out(std::chrono::duration_cast<std::chrono::seconds>(now - start).count(), state);
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(max, delay * 2);
  }
}

}  // namespace nic::tableprov
