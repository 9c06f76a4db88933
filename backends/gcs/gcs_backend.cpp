#include "backends/gcs/gcs_backend.h"

#include <cstdlib>

#include "backends/gcs/gcs_credentials.h"
#include "nic/env.h"
#include "nic/log.h"

namespace nic {
namespace {

constexpr const char* kContentType = "application/json";

bool IsPreconditionFailure(const Status& st) {
  return st.code() == ErrorCode::kConflict && st.details().count(gcs::kPreconditionFailedDetail) > 0;
}

// Terraform's gcs backend joins prefix and "default.tfstate" with path.Join after trimming a
// leading '/'; the object names are therefore "<prefix>/default.tfstate" or "default.tfstate".
std::string JoinPrefix(std::string prefix, const std::string& leaf) {
  while (!prefix.empty() && prefix.front() == '/') prefix.erase(prefix.begin());
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix.empty() ? leaf : prefix + "/" + leaf;
}

Status CheckBucketName(const std::string& b) {
  if (b.empty()) {
    return Status::Usage("the gcs backend needs a bucket: --backend-config bucket=NAME");
  }
  if (b.rfind("gs://", 0) == 0) {
    return Status::Usage("gcs backend setting bucket=\"" + b + "\" must be the bucket name alone, without gs://")
        .WithSuggestion("use --backend-config bucket=" + b.substr(5) + " (and prefix=... for a folder)");
  }
  if (b.size() < 3 || b.size() > 222 || b.find('/') != std::string::npos) {
    return Status::Usage("gcs backend setting bucket=\"" + b +
                         "\" is not a bucket name (3-63 characters, or up to 222 with dots; no '/'; put folders in prefix)");
  }
  for (char c : b) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) {
      return Status::Usage("gcs backend setting bucket=\"" + b +
                           "\" has a character bucket names cannot contain (only lower-case letters, digits, - _ .)");
    }
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Backend>> GcsBackend::Create(const BackendConfig& config) {
  GcsBackendOptions opts;
  gcs::CredentialSettings creds;
  std::string endpoint;
  for (const auto& [k, v] : config.values) {
    if (k == "bucket") {
      opts.bucket = v;
    } else if (k == "prefix") {
      opts.prefix = v;
    } else if (k == "credentials") {
      creds.credentials = v;
    } else if (k == "access_token") {
      creds.access_token = v;
    } else if (k == "endpoint" || k == "storage_custom_endpoint") {
      endpoint = v;
    } else if (k == "impersonate_service_account" || k == "impersonate_service_account_delegates") {
      return Status::Unsupported("gcs backend setting \"" + k + "\" is not supported by NIC yet")
          .WithSuggestion("mint a token for the service account yourself (gcloud auth print-access-token --impersonate-service-account=SA) "
                          "and pass it as access_token or GOOGLE_OAUTH_ACCESS_TOKEN");
    } else if (k == "encryption_key" || k == "kms_encryption_key") {
      return Status::Unsupported("gcs backend setting \"" + k +
                                 "\" (customer-supplied or Cloud KMS object encryption) is not supported by NIC yet")
          .WithSuggestion("use a bucket with default Cloud KMS encryption configured on the bucket instead; NIC then needs no key setting");
    } else {
      return Status::Usage("unknown gcs backend setting \"" + k +
                           "\" (the gcs backend takes: bucket, prefix, credentials, access_token, endpoint)");
    }
  }
  NIC_RETURN_IF_ERROR(CheckBucketName(opts.bucket));
  NIC_ASSIGN_OR_RETURN(gcs::Connection conn, gcs::ResolveConnection(endpoint, creds, auth::ProcessEnv()));
  opts.client.endpoint = conn.endpoint;
  opts.client.transport = conn.transport;
  opts.client.authorizer = conn.authorizer;
  opts.client.credentials_hint = conn.credentials_hint;
  return std::unique_ptr<Backend>(new GcsBackend(std::move(opts)));
}

GcsBackend::GcsBackend(GcsBackendOptions options)
    : client_([&] {
        gcs::ClientOptions c = std::move(options.client);
        c.bucket = options.bucket;
        return c;
      }()),
      state_object_(JoinPrefix(options.prefix, "default.tfstate")),
      lock_object_(JoinPrefix(options.prefix, "default.tflock")),
      env_(options.env ? options.env : Env::Default()) {}

GcsBackend::~GcsBackend() {
  if (held_generation_ != 0) {
    // Dropped without Unlock (an error path). Terraform leaks the lock here; the generation
    // condition makes releasing it safe even if it was broken and retaken since.
    Status st = client_.Delete(lock_object_, held_generation_);
    if (!st.ok() && st.code() != ErrorCode::kNotFound) {
      Log(LogLevel::kWarn, "could not release the state lock " + client_.GsUrl(lock_object_) + " (generation " +
                               std::to_string(held_generation_) + "): " + st.message());
    }
  }
}

Result<StateBlob> GcsBackend::ReadState() {
  StateBlob blob;
  NIC_ASSIGN_OR_RETURN(auto content, client_.Download(state_object_));
  if (!content) {
    // "No state" and "no bucket" look alike on an object read; tell them apart once, so a typo
    // in the bucket name is not mistaken for an empty state.
    if (!bucket_checked_) {
      Status st = client_.CheckBucket();
      // Reading bucket metadata needs storage.buckets.get, which an object-only role lacks; only
      // a definite "does not exist" is an error.
      if (st.code() == ErrorCode::kNotFound) return st;
      if (!st.ok() && st.code() != ErrorCode::kPermissionDenied) return st;
      bucket_checked_ = true;
    }
    return blob;
  }
  bucket_checked_ = true;
  blob.exists = true;
  blob.bytes = std::move(content->bytes);
  blob.version_token = std::to_string(content->generation);
  return blob;
}

Result<std::string> GcsBackend::WriteState(std::string_view bytes, const WriteCondition& cond) {
  std::optional<int64_t> match;
  if (cond.expected_version_token) {
    const std::string& t = *cond.expected_version_token;
    if (t.empty()) {
      match = 0;
    } else {
      char* end = nullptr;
      long long g = std::strtoll(t.c_str(), &end, 10);
      if (end == t.c_str() || *end != '\0' || g <= 0) {
        return Status::Internal("gcs backend: version token \"" + t + "\" is not a GCS generation");
      }
      match = g;
    }
  }
  auto r = client_.Upload(state_object_, bytes, kContentType, match);
  if (!r.ok()) {
    Status st = r.status();
    if (!match || !IsPreconditionFailure(st)) return st;
    std::string now = "a newer generation";
    auto cur = client_.Stat(state_object_);
    if (cur.ok()) now = cur.value() ? "generation " + std::to_string(cur.value()->generation) : "no object (it was deleted)";
    std::string msg = *match == 0
                          ? "gcs backend: the state " + Location() + " was created by another writer after it was read (it now has " + now +
                                "); refusing to overwrite it"
                          : "gcs backend: the state " + Location() + " changed since it was read (read generation " +
                                std::to_string(*match) + ", stored now: " + now + "); refusing to overwrite the newer version";
    Status conflict = Status::Conflict(msg);
    conflict.WithDetail("backend", "gcs").WithDetail("expected_generation", std::to_string(*match));
    return conflict;
  }
  bucket_checked_ = true;
  return std::to_string(r->generation);
}

Status GcsBackend::HeldError(const gcs::ObjectContent& content) {
  const std::string gen = std::to_string(content.generation);
  auto parsed = LockInfo::FromJson(content.bytes, client_.GsUrl(lock_object_));
  LockInfo holder;
  if (parsed.ok()) {
    holder = parsed.value();
  } else {
    holder.id = gen;
    holder.path = client_.GsUrl(lock_object_);
    holder.info = "unreadable lock record: " + parsed.status().message();
  }
  Status base = LockHeldError(holder, "gcs", env_);
  // Terraform reports a GCS lock by its generation; show it so either ID can be quoted.
  Status st(ErrorCode::kLockHeld, base.message() + " (lock object " + client_.GsUrl(lock_object_) + ", generation " + gen + ")");
  for (const auto& [k, v] : base.details()) st.WithDetail(k, v);
  st.WithDetail("generation", gen);
  for (const auto& s : base.suggestions()) st.WithSuggestion(s);
  if (holder.id != gen) {
    st.WithSuggestion("Terraform shows this lock's ID as its generation " + gen +
                      "; nic state unlock --force accepts that as well");
  }
  return st;
}

Status GcsBackend::Lock(const LockInfo& info) {
  if (held_generation_ != 0) {
    return Status::Internal("the gcs backend already holds the lock " + held_id_ + " on " + client_.GsUrl(lock_object_));
  }
  LockInfo li = info;
  li.path = client_.GsUrl(lock_object_);
  const std::string body = li.ToJson();
  // A 412 whose lock object is gone by the time we read it was a lock released in between;
  // try again a few times before calling it held.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto r = client_.Upload(lock_object_, body, kContentType, /*if_generation_match=*/0);
    if (r.ok()) {
      held_generation_ = r->generation;
      held_id_ = info.id;
      return Status::OK();
    }
    Status st = r.status();
    if (!IsPreconditionFailure(st)) return st.Prepend("acquiring the state lock");
    NIC_ASSIGN_OR_RETURN(auto holder, client_.Download(lock_object_));
    if (!holder) continue;
    return HeldError(*holder);
  }
  return Status::LockHeld("the state lock " + client_.GsUrl(lock_object_) +
                          " was taken and released repeatedly while NIC tried to acquire it")
      .WithDetail("backend", "gcs")
      .WithSuggestion("retry with --lock-timeout 5m to wait for the other writers");
}

Status GcsBackend::Unlock(const std::string& lock_id) {
  const std::string url = client_.GsUrl(lock_object_);
  // Already reported as broken by someone else; there is nothing left to release.
  if (held_generation_ == 0 && !lock_id.empty() && lock_id == lost_id_) return Status::OK();
  if (held_generation_ == 0 || lock_id != held_id_) {
    return Status::Conflict("cannot unlock " + url + " with ID " + lock_id + ": this process does not hold that lock");
  }
  NIC_ASSIGN_OR_RETURN(auto current, client_.Download(lock_object_));
  std::string stored_id;
  if (current) {
    auto li = LockInfo::FromJson(current->bytes, url);
    if (li.ok()) stored_id = li->id;
  }
  if (!current || current->generation != held_generation_ || stored_id != lock_id) {
    // Someone force-unlocked us (and maybe locked again). Do not delete anything; our state
    // writes were conditional, so nothing they wrote was overwritten.
    std::string now = current ? "it is now held by lock " + stored_id + " (generation " + std::to_string(current->generation) + ")"
                              : "the lock object is gone";
    held_generation_ = 0;
    lost_id_ = held_id_;
    held_id_.clear();
    return Status::Conflict("the state lock " + lock_id + " on " + url + " was removed by someone else while this command held it (" +
                            now + "); nothing was deleted")
        .WithDetail("backend", "gcs")
        .WithSuggestion("check the history (nic state history) and who force-unlocked the state");
  }
  bool retried = false;
  Status st = client_.Delete(lock_object_, held_generation_, &retried);
  // kNotFound, or a precondition failure of a retried delete: an earlier attempt, confirmed ours
  // just before and answered with a lost reply, removed it (and another process may already
  // hold the lock with a new generation).
  if (st.ok() || st.code() == ErrorCode::kNotFound || (retried && IsPreconditionFailure(st))) {
    held_generation_ = 0;
    held_id_.clear();
    return Status::OK();
  }
  if (IsPreconditionFailure(st)) {
    held_generation_ = 0;
    lost_id_ = held_id_;
    held_id_.clear();
    return Status::Conflict("the state lock " + lock_id + " on " + url +
                            " was broken and taken by another holder just before release; nothing was deleted")
        .WithDetail("backend", "gcs");
  }
  return st.Prepend("releasing the state lock");
}

Result<std::optional<LockInfo>> GcsBackend::CurrentLock() {
  NIC_ASSIGN_OR_RETURN(auto current, client_.Download(lock_object_));
  if (!current) return std::optional<LockInfo>();
  auto li = LockInfo::FromJson(current->bytes, client_.GsUrl(lock_object_));
  if (!li.ok()) {
    Status st = li.status();
    st.WithDetail("generation", std::to_string(current->generation))
        .WithSuggestion("remove it by its generation: nic state unlock --force " + std::to_string(current->generation));
    return st;
  }
  return std::optional<LockInfo>(li.value());
}

Status GcsBackend::ForceUnlock(const std::string& lock_id, LockInfo* released, std::string* matched) {
  const std::string url = client_.GsUrl(lock_object_);
  NIC_ASSIGN_OR_RETURN(auto current, client_.Download(lock_object_));
  if (!current) {
    return Status::NotFound("the state " + Location() + " is not locked (no lock object " + url + ")").WithDetail("backend", "gcs");
  }
  const std::string gen = std::to_string(current->generation);
  auto parsed = LockInfo::FromJson(current->bytes, url);
  LockInfo holder;
  if (parsed.ok()) {
    holder = parsed.value();
  } else {
    holder.id = gen;
    holder.path = url;
    holder.info = "unreadable lock record";
  }
  std::string how;
  if (parsed.ok() && lock_id == holder.id) {
    how = "lock ID";
  } else if (lock_id == gen) {
    how = "generation " + gen + " of " + url + " (the lock ID Terraform shows)";
  } else {
    std::string ids = parsed.ok() ? "its lock ID is " + holder.id + " and its generation is " + gen
                                  : "its record is unreadable and its generation is " + gen;
    return Status::Conflict("lock ID " + lock_id + " does not match the lock on " + url + " (" + ids + "); nothing was unlocked")
        .WithDetail("backend", "gcs")
        .WithDetail("generation", gen)
        .WithSuggestion("pass the lock ID or the generation exactly as the lock error printed it");
  }
  // Conditional on the generation just read: if the lock was released and retaken meanwhile,
  // the new holder's lock is not touched.
  Status st = client_.Delete(lock_object_, current->generation);
  if (st.code() == ErrorCode::kNotFound) {
    return Status::NotFound("the lock " + lock_id + " on " + url + " was released by its holder before it could be broken")
        .WithDetail("backend", "gcs");
  }
  if (IsPreconditionFailure(st)) {
    return Status::Conflict("the lock on " + url + " changed (a new holder took it) while it was being broken; nothing was deleted")
        .WithDetail("backend", "gcs")
        .WithSuggestion("look at the new holder with nic state show, then decide again");
  }
  NIC_RETURN_IF_ERROR(st);
  if (released) *released = holder;
  if (matched) *matched = how;
  if (held_generation_ == current->generation) {
    held_generation_ = 0;
    held_id_.clear();
  }
  return Status::OK();
}

}  // namespace nic
