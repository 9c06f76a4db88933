// Env: the seam between NIC and the operating system (files, clock, sleeping, identity).
//
// Like leveldb::Env, so tests can wrap the real one (EnvWrapper) and inject faults such as a
// failing fsync or a torn write without touching the code under test.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "nic/status.h"

namespace nic {

class Env {
 public:
  virtual ~Env() = default;

  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // Writes `data` to `path` so that a crash at any moment leaves either the old or the new
  // content: temp file in the same directory, fsync, rename, fsync the directory. Mode 0600
  // regardless of umask.
  virtual Status WriteFileAtomic(const std::string& path, std::string_view data) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status CreateDirs(const std::string& path) = 0;

  virtual int64_t NowMicros() = 0;        // wall clock, microseconds since the epoch
  virtual void SleepMicros(int64_t micros) = 0;

  // "user@host", as Terraform's LockInfo.Who.
  virtual std::string WhoAmI() = 0;

  static Env* Default();
};

// Forwards everything to another Env; override single methods in tests.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Result<std::string> ReadFile(const std::string& p) override { return target_->ReadFile(p); }
  bool FileExists(const std::string& p) override { return target_->FileExists(p); }
  Status WriteFileAtomic(const std::string& p, std::string_view d) override {
    return target_->WriteFileAtomic(p, d);
  }
  Status RemoveFile(const std::string& p) override { return target_->RemoveFile(p); }
  Status CreateDirs(const std::string& p) override { return target_->CreateDirs(p); }
  int64_t NowMicros() override { return target_->NowMicros(); }
  void SleepMicros(int64_t m) override { target_->SleepMicros(m); }
  std::string WhoAmI() override { return target_->WhoAmI(); }

 protected:
  Env* target_;
};

// RFC 3339 UTC timestamp with second precision ("2025-01-27T15:30:00Z").
std::string FormatRfc3339(int64_t micros_since_epoch);
// Parses RFC 3339 (Z or offset, optional fractional seconds); nullopt when malformed.
std::optional<int64_t> ParseRfc3339(std::string_view text);
// Parses durations as Terraform does: "0", "500ms", "30s", "5m", "1h30m"; nullopt when malformed.
std::optional<int64_t> ParseDurationMicros(std::string_view text);

}  // namespace nic
