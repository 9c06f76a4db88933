// A lock as one of the S3 backend's lock kinds stores it, with what a conditional delete of
// exactly that lock needs.
#pragma once

#include <optional>
#include <string>

#include "nic/lock.h"
#include "nic/status.h"

namespace nic::s3 {

struct StoredLock {
  // The holder; nullopt when the record is damaged (not LockInfo JSON, or no ID).
  std::optional<LockInfo> holder;
  std::string raw;    // the stored bytes: the DynamoDB Info attribute, or the lockfile body
  std::string etag;   // lockfile only: the ETag a conditional delete must match
  std::string where;  // "item b/k in DynamoDB table t", "s3://b/k.tflock"
  std::string parse_error;  // why holder is nullopt
};

// "lock ID <id>" (plus " (<who>)" when `with_who`), or "a damaged record".
std::string DescribeHolder(const std::optional<StoredLock>& lock, bool with_who);

// After a conditional release of our lock `lock_id` failed because the record changed: OK with
// a warning when the lock is gone (someone force-unlocked it), else a conflict naming the new
// holder. `gone` ends the warning ("in the <place>" / ": <place> is gone"); `place` names where
// the lock lives in the conflict message.
Status LostLockStatus(const std::string& lock_id, const std::optional<StoredLock>& now, const std::string& gone,
                      const std::string& place);

}  // namespace nic::s3
