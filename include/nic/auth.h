// Shared authentication seams: the Authorizer that decorates a request before each attempt,
// OAuth-style bearer tokens with caching, and the environment lookup the credential chains read.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "nic/http.h"
#include "nic/status.h"

namespace nic::auth {

// Adds credentials to a request (headers, a signature, a SAS query). Called before every
// attempt because signatures embed the current time. Implementations are thread-safe.
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual Status Authorize(http::Request& request) = 0;
};

// Sends requests as they are: public endpoints and emulators without auth (STORAGE_EMULATOR_HOST).
class NoAuth final : public Authorizer {
 public:
  Status Authorize(http::Request&) override { return Status::OK(); }
};

// Reads environment variables. Credential chains take one so tests can use a map instead of
// mutating the process environment (which is not thread-safe).
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
// The process environment; empty values count as unset.
EnvLookup ProcessEnv();
EnvLookup MapEnv(std::map<std::string, std::string> vars);

// Seconds since the epoch; injectable so token expiry can be tested.
using Clock = std::function<int64_t()>;
Clock SystemClock();

struct AccessToken {
  std::string token;
  int64_t expires_at = 0;  // unix seconds; 0 = unknown (never refreshed by time)
};

// Something that can mint a bearer token (Entra client credentials, Google service account,
// a metadata server, a fixed token).
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual Result<AccessToken> Fetch() = 0;
  // Where tokens come from, for messages ("entra client credentials for tenant t").
  virtual std::string Describe() const = 0;
};

// Caches a TokenSource's token until `refresh_margin_seconds` before it expires. Thread-safe;
// concurrent callers wait for one refresh instead of each fetching.
class CachedTokenSource {
 public:
  explicit CachedTokenSource(std::unique_ptr<TokenSource> source, Clock clock = SystemClock(),
                             int64_t refresh_margin_seconds = 300);
  Result<AccessToken> Token();
  const TokenSource& source() const { return *source_; }
  int fetch_count() const;

 private:
  std::unique_ptr<TokenSource> source_;
  Clock clock_;
  int64_t margin_;
  mutable std::mutex mu_;
  std::optional<AccessToken> cached_;
  int fetches_ = 0;
};

// "Authorization: Bearer <token>" from a cached token source.
class BearerAuthorizer final : public Authorizer {
 public:
  explicit BearerAuthorizer(std::shared_ptr<CachedTokenSource> tokens) : tokens_(std::move(tokens)) {}
  Status Authorize(http::Request& request) override;

 private:
  std::shared_ptr<CachedTokenSource> tokens_;
};

}  // namespace nic::auth
