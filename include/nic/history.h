// HistoryDb: the local SQLite record of every state version NIC persisted, of force-unlocks,
// and (for the reconciler) the deploy journal. Schema changes go through numbered migrations.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nic/status.h"

struct sqlite3;

namespace nic {

struct HistoryVersion {
  int64_t serial = 0;
  std::string lineage;
  std::string sha256;     // of the stored bytes
  std::string created_at; // RFC 3339
  std::string operation;  // "deploy", "state push", "rollback", "import", ...
  std::string who;
  std::string backend;    // backend location the version was written to
  std::string document;   // the bytes (empty in list results)
};

struct HistoryEvent {
  int64_t id = 0;
  std::string created_at;
  std::string kind;       // "force-unlock", ...
  std::string who;
  std::string detail;     // JSON
};

class HistoryDb {
 public:
  ~HistoryDb();
  HistoryDb(const HistoryDb&) = delete;
  HistoryDb& operator=(const HistoryDb&) = delete;

  // Opens (creating with mode 0600, and migrating the schema) the database at `path`.
  static Result<std::unique_ptr<HistoryDb>> Open(const std::string& path);

  // Records a persisted version. Recording the same (lineage, serial, sha256) twice is a no-op;
  // the same (lineage, serial) with different content is kConflict.
  Status RecordVersion(const HistoryVersion& v);
  // Newest first; documents omitted. `lineage` empty = all lineages.
  Result<std::vector<HistoryVersion>> ListVersions(const std::string& lineage, int limit = 1000);
  // Whether (lineage, serial) is recorded, without reading its document.
  Result<bool> HasVersion(const std::string& lineage, int64_t serial);
  // One version with its document; kNotFound when absent.
  Result<HistoryVersion> GetVersion(const std::string& lineage, int64_t serial);
  // Replaces a recorded version's stored bytes (and their sha256) in place, with SQLite's
  // secure_delete on so the old bytes do not linger in free pages. Used only to seal versions
  // recorded before state encryption was turned on (nic state encrypt).
  Status ReplaceDocument(const std::string& lineage, int64_t serial, const std::string& document, const std::string& sha256);

  Status RecordEvent(const std::string& kind, const std::string& who, const std::string& detail_json);
  Result<std::vector<HistoryEvent>> ListEvents(int limit = 1000);

  // While one of these lives, every commit is synced to disk before it returns (in WAL mode
  // that is one fsync of the log per commit). By default commits survive a crash of the process
  // but an OS crash or power loss may roll back the newest ones (see Open).
  class DurableWrites {
   public:
    explicit DurableWrites(HistoryDb* db);
    ~DurableWrites();
    DurableWrites(const DurableWrites&) = delete;
    DurableWrites& operator=(const DurableWrites&) = delete;

   private:
    HistoryDb* db_;
  };

  int schema_version() const { return schema_version_; }
  const std::string& path() const { return path_; }
  // For the journal and other later tables: the raw handle (single-threaded use).
  sqlite3* handle() { return db_; }

 private:
  HistoryDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status Migrate();

  sqlite3* db_;
  std::string path_;
  int schema_version_ = 0;
  bool wal_ = false;  // journal_mode=WAL took effect: default commits use synchronous=NORMAL
};

}  // namespace nic
