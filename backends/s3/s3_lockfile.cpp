#include "backends/s3/s3_lockfile.h"

#include "nic/log.h"

namespace nic::s3 {

S3Lockfile::S3Lockfile(const AwsContext* ctx, std::string bucket, std::string key, http::Headers extra_headers,
                       bool content_md5)
    : ctx_(ctx),
      bucket_(std::move(bucket)),
      key_(std::move(key)),
      extra_headers_(std::move(extra_headers)),
      content_md5_(content_md5) {}

Status S3Lockfile::Lock(const LockInfo& info) {
  const Target target{"s3", "the lockfile " + Where(), bucket_, ""};
  const std::string json = info.ToJson();
  for (int attempt = 0; attempt < 3; ++attempt) {
    http::Request req;
    req.method = "PUT";
    req.url = ObjectUrl(*ctx_, bucket_, key_);
    req.body = json;
    for (const auto& [k, v] : extra_headers_.entries()) req.headers.Set(k, v);
    req.headers.Set("Content-Type", "application/json");
    if (content_md5_) req.headers.Set("Content-MD5", Md5Base64(json));
    req.headers.Set("If-None-Match", "*");
    NIC_ASSIGN_OR_RETURN(http::Response resp, Send(*ctx_, req, target));
    if (resp.ok()) {
      held_[info.id] = resp.headers.GetOr("ETag");
      return Status::OK();
    }
    // 412: the lockfile exists. 409 ConditionalRequestConflict: a concurrent write to it is in
    // flight. Either way, read who holds it.
    if (resp.status != 412 && resp.status != 409) return Failure(*ctx_, req, resp, target, "taking the state lock");
    NIC_ASSIGN_OR_RETURN(std::optional<StoredLock> current, Read());
    if (!current) continue;  // released meanwhile
    if (current->holder && current->holder->id == info.id) {
      held_[info.id] = current->etag;  // our PUT landed on an attempt whose response was lost
      return Status::OK();
    }
    if (!current->holder) {
      LockInfo unknown;
      unknown.id = key_;  // force-unlock accepts the lockfile key for a damaged record
      unknown.path = Where();
      unknown.info = "damaged lockfile: " + current->parse_error;
      return LockHeldError(unknown, "s3", ctx_->env);
    }
    return LockHeldError(*current->holder, "s3", ctx_->env);
  }
  return Status::LockHeld("s3 backend: the lockfile " + Where() + " kept changing hands while NIC tried to take it");
}

Result<std::optional<StoredLock>> S3Lockfile::Read() {
  const Target target{"s3", "the lockfile " + Where(), bucket_, ""};
  http::Request req;
  req.method = "GET";
  req.url = ObjectUrl(*ctx_, bucket_, key_);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(*ctx_, req, target));
  if (resp.status == 404 && AwsCode(resp) != "NoSuchBucket") return std::optional<StoredLock>();
  if (!resp.ok()) return Failure(*ctx_, req, resp, target, "reading the state lock");
  StoredLock lock;
  lock.raw = resp.body;
  lock.etag = resp.headers.GetOr("ETag");
  lock.where = Where();
  auto li = LockInfo::FromJson(lock.raw, Where());
  if (li.ok()) {
    lock.holder = li.value();
  } else {
    lock.parse_error = li.status().message();
  }
  return std::optional<StoredLock>(std::move(lock));
}

Status S3Lockfile::ConditionalDelete(const std::string& etag, const std::string& action, bool* precondition_failed) {
  *precondition_failed = false;
  const Target target{"s3", "the lockfile " + Where(), bucket_, ""};
  http::Request req;
  req.method = "DELETE";
  req.url = ObjectUrl(*ctx_, bucket_, key_);
  req.headers.Set("If-Match", etag);
  bool ambiguous = false;
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(*ctx_, req, target, &ambiguous));
  if (resp.ok()) return Status::OK();
  if (resp.status == 412 || (resp.status == 404 && AwsCode(resp) != "NoSuchBucket") || resp.status == 409) {
    // An earlier attempt whose reply was lost deleted the lockfile; it is gone or already
    // another holder's, as after any release.
    if (ambiguous) return Status::OK();
    *precondition_failed = true;
    return Status::Conflict("s3 backend: the lockfile " + Where() + " changed while " + action);
  }
  return Failure(*ctx_, req, resp, target, action);
}

Status S3Lockfile::Unlock(const std::string& lock_id) {
  std::string etag;
  if (auto it = held_.find(lock_id); it != held_.end() && !it->second.empty()) {
    etag = it->second;
  } else {
    NIC_ASSIGN_OR_RETURN(std::optional<StoredLock> current, Read());
    if (!current) return Status::Conflict("s3 backend: cannot unlock with ID " + lock_id + ": the lockfile " + Where() + " does not exist");
    if (!current->holder || current->holder->id != lock_id) {
      return Status::Conflict("s3 backend: cannot unlock with ID " + lock_id + ": the lockfile " + Where() + " is held by " +
                              DescribeHolder(current, false));
    }
    etag = current->etag;
  }
  bool changed = false;
  Status st = ConditionalDelete(etag, "releasing the state lock", &changed);
  if (st.ok() || !changed) {
    if (st.ok()) held_.erase(lock_id);
    return st;
  }
  held_.erase(lock_id);
  NIC_ASSIGN_OR_RETURN(std::optional<StoredLock> now, Read());
  return LostLockStatus(lock_id, now, ": " + Where() + " is gone", "lockfile " + Where());
}

Status S3Lockfile::Delete(const StoredLock& lock) {
  bool changed = false;
  Status st = ConditionalDelete(lock.etag, "force-unlocking", &changed);
  if (changed) st.WithSuggestion("another process took or released the lock meanwhile; check with nic state show and retry");
  return st;
}

}  // namespace nic::s3
