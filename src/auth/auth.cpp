#include "nic/auth.h"

#include <cstdlib>
#include <ctime>

namespace nic::auth {

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

EnvLookup MapEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

Clock SystemClock() {
  return [] { return static_cast<int64_t>(std::time(nullptr)); };
}

CachedTokenSource::CachedTokenSource(std::unique_ptr<TokenSource> source, Clock clock, int64_t margin)
    : source_(std::move(source)), clock_(std::move(clock)), margin_(margin) {}

int CachedTokenSource::fetch_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

Result<AccessToken> CachedTokenSource::Token() {
  // Held across the fetch on purpose: concurrent callers wait for one refresh.
  std::lock_guard<std::mutex> lock(mu_);
  if (cached_ && (cached_->expires_at == 0 || clock_() < cached_->expires_at - margin_)) return *cached_;
  ++fetches_;
  Result<AccessToken> t = source_->Fetch();
  if (!t.ok()) return t.status();
  cached_ = *t;
  return *t;
}

Status BearerAuthorizer::Authorize(http::Request& request) {
  NIC_ASSIGN_OR_RETURN(AccessToken t, tokens_->Token());
  request.headers.Set("Authorization", "Bearer " + t.token);
  return Status::OK();
}

}  // namespace nic::auth
