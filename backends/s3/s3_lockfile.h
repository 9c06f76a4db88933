// The S3-native lock (use_lockfile), as Terraform >= 1.10 writes it: the object "<key>.tflock"
// holding the LockInfo JSON, created with PutObject + If-None-Match: * so that exactly one of
// any number of concurrent creators succeeds (412 PreconditionFailed for the others).
//
// Terraform releases it with GetObject, an ID comparison, then an unconditional DeleteObject;
// NIC's delete carries If-Match with the lockfile's ETag, so it can only remove the very lock
// object whose ID it checked.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "backends/s3/aws_calls.h"
#include "backends/s3/stored_lock.h"
#include "nic/http.h"
#include "nic/lock.h"
#include "nic/status.h"

namespace nic::s3 {

class S3Lockfile {
 public:
  // `extra_headers` (server-side encryption) go on the PutObject as on the state's;
  // `content_md5` is false with skip_s3_checksum.
  S3Lockfile(const AwsContext* ctx, std::string bucket, std::string key, http::Headers extra_headers, bool content_md5);
  S3Lockfile(const S3Lockfile&) = delete;
  S3Lockfile& operator=(const S3Lockfile&) = delete;

  Status Lock(const LockInfo& info);
  Status Unlock(const std::string& lock_id);
  Result<std::optional<StoredLock>> Read();
  Status Delete(const StoredLock& lock);

  std::string Where() const { return "s3://" + bucket_ + "/" + key_; }

 private:
  // DELETE with If-Match: etag. Sets *precondition_failed on 412.
  Status ConditionalDelete(const std::string& etag, const std::string& action, bool* precondition_failed);

  const AwsContext* ctx_;
  std::string bucket_;
  std::string key_;
  http::Headers extra_headers_;
  bool content_md5_;
  std::map<std::string, std::string> held_;  // our lock ID -> the lockfile's ETag
};

}  // namespace nic::s3
