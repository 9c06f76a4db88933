// StateManager: the one engine path through which every state read and write goes.
//
// It owns the lock for the duration of a command (with --lock-timeout backoff), parses and
// migrates on read, and on write enforces lineage/serial, conditions the write on the version
// it read (so a writer whose lock was force-broken cannot overwrite a newer state), stamps
// metadata and the checksum, and records the version in the history database.
//
// Every stored byte passes through the StateEncryption layer (state_encryption.h) between this
// engine and the Backend: reads decrypt, writes encrypt when a key is configured, and the
// history database records exactly what the backend stores.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nic/backend.h"
#include "nic/history.h"
#include "nic/lock.h"
#include "nic/state.h"
#include "nic/state_encryption.h"
#include "nic/status.h"

namespace nic {

class Env;

struct StateManagerOptions {
  int64_t lock_timeout_micros = 0;  // 0: fail at once when held
  HistoryDb* history = nullptr;     // optional; every persisted version is recorded when set
  Env* env = nullptr;               // Env::Default() when null
  // Client-side encryption; null = none configured (an encrypted state then fails to read
  // with an error naming the key it needs).
  StateEncryption* encryption = nullptr;
};

class StateManager {
 public:
  StateManager(Backend* backend, StateManagerOptions options);
  ~StateManager();  // releases a lock still held
  StateManager(const StateManager&) = delete;
  StateManager& operator=(const StateManager&) = delete;

  // Takes the lock for `operation`, retrying with backoff (1s doubling, max 16s as Terraform;
  // shorter first steps) until lock_timeout. Returns the lock ID.
  Result<std::string> Lock(const std::string& operation, const std::string& info = "");
  Status Unlock();
  const std::optional<LockInfo>& held_lock() const { return held_; }

  // Reads the current document; nullopt when no state exists yet. Remembers the version read.
  Result<std::optional<StateDocument>> Read(ParseNotes* notes = nullptr);

  // Persists `doc` as the next version: doc.serial = read serial + 1, lineage must match the one
  // read (or the state must not exist yet), conditional on the version read. Updates
  // metadata.updated_at/nic_version and doc.version. Requires the lock.
  Status Persist(StateDocument& doc, const std::string& operation);

  // `nic state push`: replaces the stored state with `doc` as given (its own serial). Refused
  // (kConflict) when lineage differs, serial is older, or serial is equal with different
  // content — unless `force`. Requires the lock.
  Status Push(const StateDocument& doc, bool force, const std::string& operation = "state push");

  // A stored version (e.g. from the history database) -> document, decrypting it when it is an
  // envelope. Plaintext versions are accepted: they predate encryption.
  Result<StateDocument> ParseStored(std::string_view stored, const std::string& source);

  // After a state was switched to encryption (nic state encrypt), removes the plaintext copies
  // the engine itself left: writes the current stored bytes once more (same serial), so a
  // backend that keeps the previous bytes (the local <path>.backup) keeps the envelope, and
  // seals the plaintext versions of this lineage in the history database with the primary key.
  // Returns how many history versions it sealed. Requires the lock and a prior Persist.
  Result<int> SealPlaintextCopies();

  // Whether the last Read found an encrypted state, and with which key.
  const DecodeInfo& last_read_encryption() const { return read_info_; }

  Backend* backend() { return backend_; }
  StateEncryption* encryption() { return encryption_; }
  HistoryDb* history() { return options_.history; }

 private:
  // `bytes_sha256`: the digest of `bytes` when already known ("" = compute it).
  Status RecordHistory(const std::string& bytes, const StateDocument& doc, const std::string& operation,
                       const std::string& bytes_sha256 = "");
  // Serializes `doc` and encodes it for the backend (encrypted when a primary key is set).
  // `bytes_sha256`, when given, receives the sha256 (hex) of the returned bytes.
  Result<std::string> EncodeForBackend(const StateDocument& doc, std::string* bytes_sha256 = nullptr);

  Backend* backend_;
  StateManagerOptions options_;
  Env* env_;
  StateEncryption no_encryption_{StateEncryptionOptions{}};
  StateEncryption* encryption_;
  DecodeInfo read_info_;
  std::optional<LockInfo> held_;
  bool have_read_ = false;
  std::optional<std::string> read_token_;  // version token of the last read ("" if absent)
  std::string last_written_;  // stored bytes of the last Persist/Push
  // Lineage and serial of the stored version last read or written (nullopt: no state stored).
  // Only these are needed to check and number the next write; keeping the whole document
  // cost two deep copies per cycle.
  struct StoredVersion {
    std::string lineage;
    uint64_t serial = 0;
  };
  std::optional<StoredVersion> stored_;
};

}  // namespace nic
