#include "backends/s3/s3_backend.h"

#include <algorithm>
#include <cctype>

#include "nic/env.h"
#include "nic/log.h"

namespace nic {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Result<bool> ParseBool(const std::string& key, const std::string& value) {
  std::string v = Lower(value);
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0" || v.empty()) return false;
  return Status::Usage("s3 backend setting \"" + key + "\" must be true or false, not \"" + value + "\"");
}

Result<int64_t> ParseDuration(const std::string& key, const std::string& value) {
  auto d = ParseDurationMicros(value);
  if (!d || *d < 0) return Status::Usage("s3 backend setting \"" + key + "\" must be a duration such as 500ms or 2s, not \"" + value + "\"");
  return *d;
}

std::string Trim(std::string s) {
  auto b = s.find_first_not_of(" \t\"");
  auto e = s.find_last_not_of(" \t\"");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// `endpoints = { s3 = "http://...", dynamodb = "http://..." }` on one line, as Terraform's
// endpoints block would be written in a backend-config file.
Status ParseEndpointsBlock(const std::string& value, S3Settings* s) {
  std::string body = Trim(value);
  if (!body.empty() && body.front() == '{') body.erase(0, 1);
  if (!body.empty() && body.back() == '}') body.pop_back();
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find_first_of(",\n", pos);
    if (end == std::string::npos) end = body.size();
    std::string item = body.substr(pos, end - pos);
    pos = end + 1;
    if (Trim(item).empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string::npos) return Status::Usage("s3 backend setting \"endpoints\": expected name = \"url\", found \"" + Trim(item) + "\"");
    std::string name = Trim(item.substr(0, eq)), url = Trim(item.substr(eq + 1));
    if (name == "s3") s->s3_endpoint = url;
    else if (name == "dynamodb") s->dynamodb_endpoint = url;
    else return Status::Usage("s3 backend setting \"endpoints\": unsupported service \"" + name + "\" (supported: s3, dynamodb)");
  }
  return Status::OK();
}

bool IsAwsEndpoint(const std::string& endpoint) {
  auto host_end = endpoint.find('/', endpoint.find("://") + 3);
  std::string host = endpoint.substr(0, host_end);
  return host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn");
}

}  // namespace

Result<S3Settings> ParseS3Settings(const BackendConfig& config) {
  S3Settings s;
  for (const auto& [k, v] : config.values) {
    if (k == "bucket") s.bucket = v;
    else if (k == "key") s.key = v;
    else if (k == "region") s.region = v;
    else if (k == "dynamodb_table") s.dynamodb_table = v;
    else if (k == "use_lockfile") { NIC_ASSIGN_OR_RETURN(s.use_lockfile, ParseBool(k, v)); }
    else if (k == "encrypt") { NIC_ASSIGN_OR_RETURN(s.encrypt, ParseBool(k, v)); }
    else if (k == "kms_key_id") s.kms_key_id = v;
    else if (k == "endpoint" || k == "endpoints.s3") s.s3_endpoint = v;
    else if (k == "dynamodb_endpoint" || k == "endpoints.dynamodb") s.dynamodb_endpoint = v;
    else if (k == "endpoints") NIC_RETURN_IF_ERROR(ParseEndpointsBlock(v, &s));
    else if (k == "profile") s.profile = v;
    else if (k == "access_key") s.access_key = v;
    else if (k == "secret_key") s.secret_key = v;
    else if (k == "token") s.token = v;
    else if (k == "shared_credentials_file" || k == "shared_credentials_files") s.shared_credentials_file = Trim(v);
    else if (k == "shared_config_file" || k == "shared_config_files") s.shared_config_file = Trim(v);
    else if (k == "use_path_style" || k == "force_path_style") { NIC_ASSIGN_OR_RETURN(s.use_path_style, ParseBool(k, v)); }
    else if (k == "skip_metadata_api_check") { NIC_ASSIGN_OR_RETURN(s.skip_metadata_api_check, ParseBool(k, v)); }
    else if (k == "skip_s3_checksum") { NIC_ASSIGN_OR_RETURN(s.skip_s3_checksum, ParseBool(k, v)); }
    else if (k == "skip_credentials_validation" || k == "skip_region_validation" || k == "skip_requesting_account_id") {
      // NIC validates neither up front (it never calls STS or checks a region list), so these
      // are accepted for compatibility with Terraform backend blocks and change nothing.
      NIC_ASSIGN_OR_RETURN(bool ignored, ParseBool(k, v));
      (void)ignored;
    } else if (k == "workspace_key_prefix") {
      // Only used by Terraform for non-default workspaces; NIC has exactly one state.
    } else if (k == "max_retries") {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 0 || n > 100) return Status::Usage("s3 backend setting \"max_retries\" must be a whole number from 0 to 100, not \"" + v + "\"");
      s.max_retries = static_cast<int>(n);
    } else if (k == "digest_retry_interval") {
      NIC_ASSIGN_OR_RETURN(s.digest_retry_interval_micros, ParseDuration(k, v));
    } else if (k == "digest_retry_timeout") {
      NIC_ASSIGN_OR_RETURN(s.digest_retry_timeout_micros, ParseDuration(k, v));
    } else {
      return Status::Usage("unknown s3 backend setting \"" + k + "\"")
          .WithSuggestion("supported: bucket, key, region, dynamodb_table, use_lockfile, encrypt, kms_key_id, endpoints.s3, "
                          "endpoints.dynamodb (or endpoints = {...}, endpoint, dynamodb_endpoint), profile, access_key, "
                          "secret_key, token, shared_credentials_file(s), shared_config_file(s), use_path_style, max_retries, "
                          "skip_credentials_validation, skip_region_validation, skip_requesting_account_id, "
                          "skip_metadata_api_check, skip_s3_checksum, workspace_key_prefix, digest_retry_interval, "
                          "digest_retry_timeout");
    }
  }
  if (s.bucket.empty()) return Status::Usage("the s3 backend needs a bucket: --backend-config bucket=NAME");
  if (s.key.empty()) return Status::Usage("the s3 backend needs a state key: --backend-config key=PATH/TO/STATE");
  if (s.key.front() == '/' || s.key.back() == '/') {
    return Status::Usage("s3 backend setting \"key\" must not start or end with '/' (got \"" + s.key + "\")");
  }
  if (s.access_key.empty() != s.secret_key.empty()) {
    return Status::Usage("s3 backend settings \"access_key\" and \"secret_key\" must be given together");
  }
  if (s.digest_retry_interval_micros <= 0) s.digest_retry_interval_micros = 1000;
  return s;
}

S3Backend::S3Backend(S3Settings settings) : settings_(std::move(settings)) {}
S3Backend::~S3Backend() = default;

Result<std::unique_ptr<Backend>> S3Backend::Create(const BackendConfig& config) {
  NIC_ASSIGN_OR_RETURN(std::unique_ptr<S3Backend> b, Open(config, {}));
  return std::unique_ptr<Backend>(std::move(b));
}

Result<std::unique_ptr<S3Backend>> S3Backend::Open(const BackendConfig& config, const S3BackendOptions& options) {
  NIC_ASSIGN_OR_RETURN(S3Settings s, ParseS3Settings(config));
  std::unique_ptr<S3Backend> b(new S3Backend(s));
  s3::AwsContext& ctx = b->ctx_;
  ctx.env = options.os_env != nullptr ? options.os_env : Env::Default();
  if (options.transport != nullptr) {
    ctx.transport = options.transport;
  } else {
    b->owned_transport_ = http::NewCurlTransport();
    ctx.transport = b->owned_transport_.get();
  }

  auth::EnvLookup base = options.env ? options.env : auth::ProcessEnv();
  auth::EnvLookup env = base;
  if (!s.shared_credentials_file.empty() || !s.shared_config_file.empty()) {
    env = [base, creds = s.shared_credentials_file, conf = s.shared_config_file](std::string_view name) -> std::optional<std::string> {
      if (name == "AWS_SHARED_CREDENTIALS_FILE" && !creds.empty()) return creds;
      if (name == "AWS_CONFIG_FILE" && !conf.empty()) return conf;
      return base(name);
    };
  }

  ctx.region = s.region;
  if (ctx.region.empty()) {
    auto r = aws::ResolveRegion(env, s.profile);
    if (!r.ok()) {
      return Status::Usage("the s3 backend needs a region: " + r.status().message())
          .WithSuggestion("add --backend-config region=REGION (the bucket's region)");
    }
    ctx.region = r.value();
  }
  ctx.s3_endpoint = aws::ResolveEndpoint("s3", ctx.region, env, s.s3_endpoint);
  ctx.dynamodb_endpoint = aws::ResolveEndpoint("dynamodb", ctx.region, env, s.dynamodb_endpoint);
  // Virtual-hosted addressing only on AWS's own endpoints and for DNS-safe names over TLS;
  // emulators and S3-compatible stores get path-style URLs.
  ctx.path_style = s.use_path_style || !IsAwsEndpoint(ctx.s3_endpoint) || s.bucket.find('.') != std::string::npos;

  if (!s.access_key.empty()) {
    ctx.credentials = std::make_shared<aws::StaticCredentials>(
        aws::Credentials{s.access_key, s.secret_key, s.token, 0, "backend config"});
    ctx.credential_source = "access_key " + s.access_key + " in the backend config";
  } else {
    aws::ChainOptions chain;
    chain.env = env;
    chain.transport = ctx.transport;
    chain.profile = s.profile;
    chain.imds_enabled = !s.skip_metadata_api_check;
    ctx.credentials = std::shared_ptr<aws::CredentialProvider>(aws::NewDefaultCredentialChain(chain));
    ctx.credential_source = "the AWS credential chain" + (s.profile.empty() ? std::string() : " (profile " + s.profile + ")");
  }

  if (options.retry_policy) {
    ctx.retry.policy = *options.retry_policy;
  } else {
    ctx.retry.policy.max_attempts = s.max_retries + 1;
  }

  const std::string lock_item = s.bucket + "/" + s.key;
  if (!s.dynamodb_table.empty()) {
    b->dynamo_ = std::make_unique<s3::DynamoLock>(&b->ctx_, s.dynamodb_table, lock_item);
    b->digest_ = std::make_unique<s3::StateDigest>(&b->ctx_, s.dynamodb_table, lock_item + "-md5");
  }
  if (s.use_lockfile) {
    b->lockfile_ = std::make_unique<s3::S3Lockfile>(&b->ctx_, s.bucket, s.key + ".tflock", b->EncryptionHeaders(),
                                                  !s.skip_s3_checksum);
  }
  return b;
}

http::Headers S3Backend::EncryptionHeaders() const {
  http::Headers h;
  if (!settings_.kms_key_id.empty()) {
    h.Set("x-amz-server-side-encryption", "aws:kms");
    h.Set("x-amz-server-side-encryption-aws-kms-key-id", settings_.kms_key_id);
  } else if (settings_.encrypt) {
    h.Set("x-amz-server-side-encryption", "AES256");
  }
  return h;
}

// ---- state object ---------------------------------------------------------------------------

Result<StateBlob> S3Backend::ReadOnce() {
  const s3::Target target{"s3", "the state object " + Location(), settings_.bucket, ""};
  http::Request req;
  req.method = "GET";
  req.url = s3::ObjectUrl(ctx_, settings_.bucket, settings_.key);
  NIC_ASSIGN_OR_RETURN(http::Response resp, s3::Send(ctx_, req, target));
  StateBlob blob;
  if (resp.status == 404 && s3::AwsCode(resp) != "NoSuchBucket") return blob;
  if (!resp.ok()) return s3::Failure(ctx_, req, resp, target, "reading the state");
  blob.exists = true;
  blob.bytes = std::move(resp.body);
  blob.version_token = resp.headers.GetOr("ETag");
  if (blob.version_token.empty()) {
    return Status::InvalidInput("s3 backend: reading " + Location() + ": the response carries no ETag, so a later write "
                                "could not be made conditional on this version")
        .WithSuggestion("NIC needs an S3 service that returns ETags (all AWS S3 and most compatible stores do)");
  }
  return blob;
}

Result<StateBlob> S3Backend::ReadState() {
  const int64_t deadline = ctx_.env->NowMicros() + settings_.digest_retry_timeout_micros;
  for (;;) {
    NIC_ASSIGN_OR_RETURN(StateBlob blob, ReadOnce());
    if (!digest_) return blob;
    std::string pending;
    NIC_ASSIGN_OR_RETURN(std::string expected, digest_->Get(&pending));
    read_digest_ = expected;
    const std::string actual = blob.exists ? s3::Md5Hex(blob.bytes) : "";
    if (expected.empty() || Lower(expected) == actual) return blob;
    if (blob.exists && !pending.empty() && Lower(pending) == actual) {
      // A writer stored these bytes in full and stopped before updating the digest (see
      // state_digest.h); its next write, or NIC's, sets the digest again.
      Log(LogLevel::kWarn, "s3 backend: " + Location() + " is the complete state an interrupted write stored before it could "
                               "update the digest item " + digest_->item_id() + "; reading it (the next write fixes the digest)");
      return blob;
    }
    if (ctx_.env->NowMicros() < deadline) {
      Log(LogLevel::kDebug, "s3 backend: state MD5 " + (actual.empty() ? "(no object)" : actual) + " differs from the digest " +
                                expected + "; waiting for S3 to catch up");
      ctx_.env->SleepMicros(settings_.digest_retry_interval_micros);
      continue;
    }
    const std::string secs = std::to_string(settings_.digest_retry_timeout_micros / 1000000.0).substr(0, 4);
    Status st(ErrorCode::kInvalidState,
              "s3 backend: the state in S3 does not have the expected content: " +
                  (blob.exists ? "the MD5 of " + Location() + " is " + actual : Location() + " does not exist") +
                  ", but the digest item " + digest_->item_id() + " in DynamoDB table " + digest_->table() + " records " +
                  expected + " (still different after waiting " + secs + "s for S3 to catch up)");
    st.WithDetail("state_md5", actual).WithDetail("expected_md5", expected).WithDetail("digest_item", digest_->item_id());
    st.WithSuggestion("a previous write may still be in progress or was interrupted after writing the object: wait a minute and retry");
    if (blob.exists) {
      st.WithSuggestion("if " + Location() + " is the state you expect (inspect it with nic state pull), set the digest to its MD5: "
                        "aws dynamodb put-item --table-name " + digest_->table() + " --item '{\"LockID\":{\"S\":\"" +
                        digest_->item_id() + "\"},\"Digest\":{\"S\":\"" + actual + "\"}}'");
    }
    st.WithSuggestion("if it is not, restore the object version whose MD5 is " + expected +
                      " (S3 versioning) or roll back with nic state rollback, then retry");
    return st;
  }
}

Result<std::optional<std::string>> S3Backend::LandedVersion(std::string_view bytes) {
  NIC_ASSIGN_OR_RETURN(StateBlob now, ReadOnce());
  if (now.exists && now.bytes == bytes) return std::optional<std::string>(now.version_token);
  return std::optional<std::string>();
}

Result<std::string> S3Backend::WriteState(std::string_view bytes, const WriteCondition& cond) {
  const s3::Target target{"s3", "the state object " + Location(), settings_.bucket, ""};
  http::Request req;
  req.method = "PUT";
  req.url = s3::ObjectUrl(ctx_, settings_.bucket, settings_.key);
  req.body = std::string(bytes);
  const http::Headers sse = EncryptionHeaders();
  for (const auto& [k, v] : sse.entries()) req.headers.Set(k, v);
  // application/octet-stream: moto stores a form-urlencoded body as an empty object.
  req.headers.Set("Content-Type", "application/octet-stream");
  // Content-MD5 makes S3 reject a body damaged in transit (BadDigest) instead of storing it.
  if (!settings_.skip_s3_checksum) req.headers.Set("Content-MD5", s3::Md5Base64(bytes));
  // Write-ahead: a reader can then tell these bytes from a stale object if we die before the
  // digest update below.
  if (digest_) NIC_RETURN_IF_ERROR(digest_->MarkPending(s3::Md5Hex(bytes), read_digest_));
  if (cond.expected_version_token) {
    if (cond.expected_version_token->empty()) {
      req.headers.Set("If-None-Match", "*");
    } else {
      req.headers.Set("If-Match", *cond.expected_version_token);
    }
  }
  NIC_ASSIGN_OR_RETURN(http::Response resp, s3::Send(ctx_, req, target));
  std::string etag;
  if (resp.ok()) {
    etag = resp.headers.GetOr("ETag");
    if (etag.empty()) etag = "\"" + s3::Md5Hex(bytes) + "\"";
  } else {
    const std::string code = s3::AwsCode(resp);
    bool precondition = resp.status == 412 || code == "ConditionalRequestConflict" ||
                        (resp.status == 404 && code == "NoSuchKey" && cond.expected_version_token);
    if (!precondition) return s3::Failure(ctx_, req, resp, target, "writing the state");
    // The retry layer resends a PUT whose response was lost; the resent copy then fails its own
    // precondition. If the stored bytes are exactly ours, that earlier attempt landed.
    NIC_ASSIGN_OR_RETURN(std::optional<std::string> landed, LandedVersion(bytes));
    if (!landed) {
      std::string expected = cond.expected_version_token && !cond.expected_version_token->empty()
                                 ? "the version read (ETag " + *cond.expected_version_token + ")"
                                 : "no state (it did not exist when read)";
      Status st = Status::Conflict("s3 backend: refusing to write " + Location() + ": it no longer holds " + expected +
                                   "; another writer changed it (" + (code.empty() ? "HTTP " + std::to_string(resp.status) : code) +
                                   "), and overwriting would lose that newer state");
      st.WithDetail("aws_code", code);
      return st;
    }
    etag = *landed;
  }
  if (digest_) {
    Status st = digest_->Put(s3::Md5Hex(bytes));
    read_digest_ = s3::Md5Hex(bytes);  // what the item says now, for this process's next write
    if (!st.ok()) {
      // The state is committed; a stale digest would make every later read wait and fail, so
      // fall back to no digest (which readers accept) and say so.
      Status rm = digest_->Remove();
      read_digest_ = rm.ok() ? "" : read_digest_;
      Log(LogLevel::kWarn, "the state was written to " + Location() + ", but updating its digest failed (" + st.message() +
                               ")" + (rm.ok() ? "; the digest item was removed" :
                                      "; set Digest of item " + digest_->item_id() + " to " + s3::Md5Hex(bytes)));
    }
  }
  return etag;
}

// ---- locking --------------------------------------------------------------------------------

Status S3Backend::Lock(const LockInfo& info) {
  if (!dynamo_ && !lockfile_) {
    if (!warned_unlocked_) {
      Log(LogLevel::kWarn, "s3 backend: no lock is configured for " + Location() +
                               " (set use_lockfile=true or dynamodb_table); state writes are still conditional on the version read");
      warned_unlocked_ = true;
    }
    return Status::OK();
  }
  // Lockfile first, then DynamoDB (Terraform's order); both must succeed.
  if (lockfile_) NIC_RETURN_IF_ERROR(lockfile_->Lock(info));
  if (dynamo_) {
    Status st = dynamo_->Lock(info);
    if (!st.ok()) {
      if (lockfile_) {
        Status undo = lockfile_->Unlock(info.id);
        if (!undo.ok()) Log(LogLevel::kWarn, "s3 backend: could not release the lockfile after the DynamoDB lock failed: " + undo.message());
      }
      return st;
    }
  }
  return Status::OK();
}

Status S3Backend::Unlock(const std::string& lock_id) {
  if (!dynamo_ && !lockfile_) return Status::OK();
  // Release both even if one fails, in reverse order of taking them.
  Status first = dynamo_ ? dynamo_->Unlock(lock_id) : Status::OK();
  Status second = lockfile_ ? lockfile_->Unlock(lock_id) : Status::OK();
  if (!first.ok()) return first;
  return second;
}

Result<std::optional<LockInfo>> S3Backend::CurrentLock() {
  auto describe = [](const s3::StoredLock& l, const std::string& damaged_id) {
    if (l.holder) return *l.holder;
    LockInfo li;
    li.id = damaged_id;
    li.path = l.where;
    li.info = "damaged lock record: " + l.parse_error;
    return li;
  };
  if (lockfile_) {
    NIC_ASSIGN_OR_RETURN(std::optional<s3::StoredLock> l, lockfile_->Read());
    if (l) return std::optional<LockInfo>(describe(*l, settings_.key + ".tflock"));
  }
  if (dynamo_) {
    NIC_ASSIGN_OR_RETURN(std::optional<s3::StoredLock> l, dynamo_->Read());
    if (l) return std::optional<LockInfo>(describe(*l, dynamo_->lock_id()));
  }
  return std::optional<LockInfo>();
}

Status S3Backend::ForceUnlock(const std::string& lock_id, LockInfo* released, std::string* matched) {
  if (!dynamo_ && !lockfile_) {
    return Status::NotFound("s3 backend: " + Location() + " has no lock configured (no dynamodb_table, use_lockfile=false)");
  }
  struct Found {
    s3::StoredLock lock;
    std::string kind;        // "lockfile", "DynamoDB item"
    std::string damaged_id;  // what a damaged record is unlocked with
  };
  std::vector<Found> found;
  if (lockfile_) {
    NIC_ASSIGN_OR_RETURN(std::optional<s3::StoredLock> l, lockfile_->Read());
    if (l) found.push_back({*l, "lockfile", settings_.key + ".tflock"});
  }
  if (dynamo_) {
    NIC_ASSIGN_OR_RETURN(std::optional<s3::StoredLock> l, dynamo_->Read());
    if (l) found.push_back({*l, "DynamoDB item", dynamo_->lock_id()});
  }
  if (found.empty()) return Status::NotFound("s3 backend: the state " + Location() + " is not locked");
  // Check every lock before deleting any, so a wrong ID changes nothing.
  std::vector<std::string> how;
  for (const Found& f : found) {
    bool ok = f.lock.holder ? f.lock.holder->id == lock_id : lock_id == f.damaged_id;
    if (!ok) {
      if (released && f.lock.holder) *released = *f.lock.holder;
      Status st = Status::Conflict("lock ID " + lock_id + " does not match the lock on " + Location() + " (" + f.lock.where +
                                   " is held with " + (f.lock.holder ? "ID " + f.lock.holder->id : "a damaged record") + ")");
      st.WithSuggestion(f.lock.holder ? "check the ID printed in the lock error and pass it exactly"
                                      : "the record is damaged (" + f.lock.parse_error + "); force-unlock it with the ID " + f.damaged_id);
      return st;
    }
    how.push_back(f.kind + (f.lock.holder ? "" : " (damaged record)"));
  }
  for (const Found& f : found) {
    Status st = f.kind == "lockfile" ? lockfile_->Delete(f.lock) : dynamo_->Delete(f.lock);
    NIC_RETURN_IF_ERROR(st);
  }
  if (released) {
    const Found& f = found.front();
    if (f.lock.holder) {
      *released = *f.lock.holder;
    } else {
      released->id = f.damaged_id;
      released->path = f.lock.where;
      released->info = "damaged lock record: " + f.lock.parse_error;
    }
  }
  if (matched) {
    std::string kinds;
    for (size_t i = 0; i < how.size(); ++i) kinds += (i ? " and " : "") + how[i];
    *matched = (found.front().lock.holder ? "lock ID" : "LockID of a damaged record") + std::string(" (") + kinds + ")";
  }
  return Status::OK();
}

}  // namespace nic
