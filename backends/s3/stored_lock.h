// A lock as one of the S3 backend's lock kinds stores it, with what a conditional delete of
// exactly that lock needs.
#pragma once

#include <optional>
#include <string>

#include "nic/lock.h"

namespace nic::s3 {

struct StoredLock {
  // The holder; nullopt when the record is damaged (not LockInfo JSON, or no ID).
  std::optional<LockInfo> holder;
  std::string raw;    // the stored bytes: the DynamoDB Info attribute, or the lockfile body
  std::string etag;   // lockfile only: the ETag a conditional delete must match
  std::string where;  // "item b/k in DynamoDB table t", "s3://b/k.tflock"
  std::string parse_error;  // why holder is nullopt
};

}  // namespace nic::s3
