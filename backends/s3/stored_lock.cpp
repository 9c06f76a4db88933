#include "backends/s3/stored_lock.h"

#include "nic/log.h"

namespace nic::s3 {

std::string DescribeHolder(const std::optional<StoredLock>& lock, bool with_who) {
  if (!lock || !lock->holder) return "a damaged record";
  return "lock ID " + lock->holder->id + (with_who ? " (" + lock->holder->who + ")" : "");
}

Status LostLockStatus(const std::string& lock_id, const std::optional<StoredLock>& now, const std::string& gone,
                      const std::string& place) {
  if (!now) {
    Log(LogLevel::kWarn, "s3 backend: the state lock " + lock_id + " was already released (force-unlocked?)" + gone);
    return Status::OK();
  }
  return Status::Conflict("s3 backend: our state lock " + lock_id + " was force-unlocked; the " + place + " is now held by " +
                          DescribeHolder(now, true) + "; it was left in place");
}

}  // namespace nic::s3
