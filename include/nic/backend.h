// Backend: where the state document's bytes live and how they are locked.
//
// Composed from tiny interfaces as Terraform's statemgr is. A backend stores opaque bytes and
// implements locking; parsing, lineage/serial checks, checksums and history live in the engine
// (state_manager.h), so every backend gets them identically.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "nic/lock.h"
#include "nic/status.h"

namespace nic {

// What a read returned. `version_token` identifies the stored version (S3 ETag, GCS
// generation, Azure ETag, local sha256) so a later write can be made conditional on it.
struct StateBlob {
  bool exists = false;
  std::string bytes;
  std::string version_token;
};

class StateReader {
 public:
  virtual ~StateReader() = default;
  virtual Result<StateBlob> ReadState() = 0;
};

struct WriteCondition {
  WriteCondition() = default;
  explicit WriteCondition(std::optional<std::string> expected) : expected_version_token(std::move(expected)) {}

  // Write only if the stored version is still this token ("" = must not exist yet).
  // nullopt = unconditional (used only by forced pushes).
  std::optional<std::string> expected_version_token;
  // The sha256 (hex) of the bytes being written when the caller already has it (the state
  // serializer computes it with the checksum); a backend whose version token is that digest
  // (local) uses it instead of hashing the bytes again. "" = not known.
  std::string bytes_sha256;
};

class StateWriter {
 public:
  virtual ~StateWriter() = default;
  // Atomically replaces the stored bytes. A failed condition is kConflict. Returns the new
  // version token.
  virtual Result<std::string> WriteState(std::string_view bytes, const WriteCondition& cond) = 0;
};

class Locker {
 public:
  virtual ~Locker() = default;
  // Takes the lock described by `info` (info.id is the lock ID). Fails at once with kLockHeld
  // (carrying the holder's LockInfo in the message/details) if someone else holds it; waiting
  // with backoff is the engine's job.
  virtual Status Lock(const LockInfo& info) = 0;
  // Releases our lock; refuses (kConflict) if the lock held is not `lock_id`.
  virtual Status Unlock(const std::string& lock_id) = 0;
  // Who holds the lock now, if anyone.
  virtual Result<std::optional<LockInfo>> CurrentLock() = 0;
  // Breaks someone else's lock after checking `lock_id` against the holder. Fills `released`
  // with the holder's LockInfo. `matched` says what the ID matched ("lock ID", "generation"...).
  virtual Status ForceUnlock(const std::string& lock_id, LockInfo* released, std::string* matched) = 0;
};

class Backend : public StateReader, public StateWriter, public Locker {
 public:
  virtual std::string Name() const = 0;      // "local", "s3", "gcs", "azurerm"
  virtual std::string Location() const = 0;  // human: path or URL of the state
};

// Backend selection as on the command line: --backend NAME and --backend-config key=value.
struct BackendConfig {
  std::string type = "local";
  std::map<std::string, std::string> values;  // e.g. {"path": "..."} or {"bucket","key",...}
};

// Constructs the backend named by `config.type` (backends/registry.cpp lists them all).
// Unknown types and missing/unknown keys are kUsage errors naming the key.
Result<std::unique_ptr<Backend>> OpenBackend(const BackendConfig& config);

}  // namespace nic
