// StateManager: the one engine path through which every state read and write goes.
//
// It owns the lock for the duration of a command (with --lock-timeout backoff), parses and
// migrates on read, and on write enforces lineage/serial, conditions the write on the version
// it read (so a writer whose lock was force-broken cannot overwrite a newer state), stamps
// metadata and the checksum, and records the version in the history database.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "nic/backend.h"
#include "nic/history.h"
#include "nic/lock.h"
#include "nic/state.h"
#include "nic/status.h"

namespace nic {

class Env;

struct StateManagerOptions {
  int64_t lock_timeout_micros = 0;  // 0: fail at once when held
  HistoryDb* history = nullptr;     // optional; every persisted version is recorded when set
  Env* env = nullptr;               // Env::Default() when null
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

  Backend* backend() { return backend_; }
  HistoryDb* history() { return options_.history; }

 private:
  Status RecordHistory(const std::string& bytes, const StateDocument& doc, const std::string& operation);

  Backend* backend_;
  StateManagerOptions options_;
  Env* env_;
  std::optional<LockInfo> held_;
  bool have_read_ = false;
  std::optional<std::string> read_token_;  // version token of the last read ("" if absent)
  // Lineage and serial of the document last read or written: all a write needs of it (a copy
  // of the whole document cost as much as parsing it, for large states).
  struct ReadVersion {
    std::string lineage;
    uint64_t serial = 0;
  };
  std::optional<ReadVersion> read_doc_;
};

}  // namespace nic
