#include "nic/history.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nic/env.h"

namespace nic {
namespace {

std::string Err(sqlite3* db) { return db ? sqlite3_errmsg(db) : "out of memory"; }

// Each migration moves the schema from version N-1 to N. Never edit a released migration;
// append a new one.
const char* const kMigrations[] = {
    // 1: persisted versions and audit events.
    R"sql(
    CREATE TABLE versions (
      lineage    TEXT    NOT NULL,
      serial     INTEGER NOT NULL,
      sha256     TEXT    NOT NULL,
      created_at TEXT    NOT NULL,
      operation  TEXT    NOT NULL,
      who        TEXT    NOT NULL,
      backend    TEXT    NOT NULL,
      document   BLOB    NOT NULL,
      PRIMARY KEY (lineage, serial)
    );
    CREATE TABLE events (
      id         INTEGER PRIMARY KEY AUTOINCREMENT,
      created_at TEXT NOT NULL,
      kind       TEXT NOT NULL,
      who        TEXT NOT NULL,
      detail     TEXT NOT NULL
    );
    )sql",
    // 2: the deploy journal (intent before each mutating cloud call, result after it).
    R"sql(
    CREATE TABLE journal (
      id           INTEGER PRIMARY KEY AUTOINCREMENT,
      run_id       TEXT NOT NULL,
      lineage      TEXT NOT NULL,
      address      TEXT NOT NULL,
      action       TEXT NOT NULL,
      client_token TEXT NOT NULL,
      status       TEXT NOT NULL CHECK (status IN ('intent', 'done', 'failed', 'resolved')),
      created_at   TEXT NOT NULL,
      finished_at  TEXT,
      result       TEXT
    );
    CREATE INDEX journal_open ON journal (lineage, status);
    )sql",
};

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void Text(int i, const std::string& v) { sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
  void Blob(int i, const std::string& v) { sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
  void Int(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  int Step() { return sqlite3_step(s_); }
  std::string ColText(int i) {
    const unsigned char* t = sqlite3_column_text(s_, i);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, i))) : "";
  }
  std::string ColBlob(int i) {
    const void* b = sqlite3_column_blob(s_, i);
    return b ? std::string(static_cast<const char*>(b), static_cast<size_t>(sqlite3_column_bytes(s_, i))) : "";
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

Status Exec(sqlite3* db, const char* sql, const std::string& path) {
  char* msg = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return Status::IOError("history database " + path + ": " + m);
  }
  return Status::OK();
}

}  // namespace

HistoryDb::~HistoryDb() { sqlite3_close_v2(db_); }

Result<std::unique_ptr<HistoryDb>> HistoryDb::Open(const std::string& path) {
  // Create the file ourselves so it is 0600 whatever the umask; SQLite gives its journal files
  // the database file's permissions.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IOError("cannot open history database " + path + ": " + std::string(strerror(errno)))
        .WithSuggestion("check that the directory exists and is writable, or pass --history-db PATH");
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size == 0) ::fchmod(fd, 0600);
  ::close(fd);

  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    std::string m = Err(db);
    sqlite3_close_v2(db);
    return Status::IOError("cannot open history database " + path + ": " + m);
  }
  // Several nic processes may record at once (contention tests, CI): wait for the writer.
  sqlite3_busy_timeout(db, 30000);
  std::unique_ptr<HistoryDb> h(new HistoryDb(db, path));
  NIC_RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys=ON;", path));
  // Write-ahead log with synchronous=NORMAL: a commit appends to the -wal file without an
  // fsync; fsyncs happen only at checkpoints (every ~1000 pages). SQLite's guarantees for this
  // mode: the database is never corrupted, a commit survives any crash of the process, and
  // only an OS crash or power loss can roll back the newest commits. That is the right trade
  // for version records: the state file itself is the durable copy (fsynced by its backend),
  // and StateManager::Read records the stored version again when the history lacks it. Records
  // that must survive a power loss (deploy journal intents) use DurableWrites. With the
  // rollback journal and synchronous=FULL every record cost 3-4 fsyncs.
  // No checkpoint on close: each nic process would otherwise fsync twice on exit; the next
  // writer checkpoints once the log is large.
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  {
    Stmt q(db, "PRAGMA journal_mode=WAL;");
    h->wal_ = q.ok() && q.Step() == SQLITE_ROW && q.ColText(0) == "wal";
  }
  // Where WAL is unavailable (a file system without shared memory), stay with FULL.
  NIC_RETURN_IF_ERROR(Exec(db, h->wal_ ? "PRAGMA synchronous=NORMAL;" : "PRAGMA synchronous=FULL;", path));
  NIC_RETURN_IF_ERROR(h->Migrate());
  return h;
}

HistoryDb::DurableWrites::DurableWrites(HistoryDb* db) : db_(db) {
  if (db_->wal_) (void)Exec(db_->db_, "PRAGMA synchronous=FULL;", db_->path_);
}

HistoryDb::DurableWrites::~DurableWrites() {
  if (db_->wal_) (void)Exec(db_->db_, "PRAGMA synchronous=NORMAL;", db_->path_);
}

Status HistoryDb::Migrate() {
  // BEGIN IMMEDIATE serialises concurrent first opens so each migration runs exactly once.
  NIC_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE;", path_));
  Status st = Exec(db_, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);", path_);
  int current = 0;
  if (st.ok()) {
    Stmt q(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;");
    if (q.ok() && q.Step() == SQLITE_ROW) current = static_cast<int>(q.ColInt(0));
  }
  const int target = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));
  if (st.ok() && current > target) {
    st = Status::InvalidState("history database " + path_ + " has schema version " + std::to_string(current) +
                              ", newer than this NIC supports (" + std::to_string(target) + ")")
             .WithSuggestion("upgrade NIC, or point --history-db at another file");
  }
  for (int v = current + 1; st.ok() && v <= target; ++v) {
    st = Exec(db_, kMigrations[v - 1], path_);
    if (st.ok()) {
      Stmt ins(db_, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?);");
      ins.Int(1, v);
      ins.Text(2, FormatRfc3339(Env::Default()->NowMicros()));
      if (ins.Step() != SQLITE_DONE) st = Status::IOError("history database " + path_ + ": " + Err(db_));
    }
  }
  if (!st.ok()) {
    Exec(db_, "ROLLBACK;", path_);
    return st;
  }
  NIC_RETURN_IF_ERROR(Exec(db_, "COMMIT;", path_));
  schema_version_ = target;
  return Status::OK();
}

Status HistoryDb::RecordVersion(const HistoryVersion& v) {
  {
    Stmt q(db_, "SELECT sha256 FROM versions WHERE lineage = ? AND serial = ?;");
    q.Text(1, v.lineage);
    q.Int(2, v.serial);
    if (q.Step() == SQLITE_ROW) {
      if (q.ColText(0) == v.sha256) return Status::OK();
      return Status::Conflict("history already holds a different version with lineage " + v.lineage + " and serial " +
                              std::to_string(v.serial));
    }
  }
  Stmt ins(db_,
           "INSERT INTO versions (lineage, serial, sha256, created_at, operation, who, backend, document) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?);");
  if (!ins.ok()) return Status::IOError("history database " + path_ + ": " + Err(db_));
  ins.Text(1, v.lineage);
  ins.Int(2, v.serial);
  ins.Text(3, v.sha256);
  ins.Text(4, v.created_at);
  ins.Text(5, v.operation);
  ins.Text(6, v.who);
  ins.Text(7, v.backend);
  ins.Blob(8, v.document);
  int rc = ins.Step();
  if (rc == SQLITE_CONSTRAINT) {
    return Status::Conflict("history already holds lineage " + v.lineage + " serial " + std::to_string(v.serial));
  }
  if (rc != SQLITE_DONE) return Status::IOError("recording history in " + path_ + ": " + Err(db_));
  return Status::OK();
}

Result<std::vector<HistoryVersion>> HistoryDb::ListVersions(const std::string& lineage, int limit) {
  Stmt q(db_,
         "SELECT lineage, serial, sha256, created_at, operation, who, backend FROM versions "
         "WHERE (?1 = '' OR lineage = ?1) ORDER BY serial DESC, created_at DESC LIMIT ?2;");
  if (!q.ok()) return Status::IOError("history database " + path_ + ": " + Err(db_));
  q.Text(1, lineage);
  q.Int(2, limit);
  std::vector<HistoryVersion> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    HistoryVersion v;
    v.lineage = q.ColText(0);
    v.serial = q.ColInt(1);
    v.sha256 = q.ColText(2);
    v.created_at = q.ColText(3);
    v.operation = q.ColText(4);
    v.who = q.ColText(5);
    v.backend = q.ColText(6);
    out.push_back(std::move(v));
  }
  if (rc != SQLITE_DONE) return Status::IOError("reading history from " + path_ + ": " + Err(db_));
  return out;
}

Status HistoryDb::ReplaceDocument(const std::string& lineage, int64_t serial, const std::string& document,
                                  const std::string& sha256) {
  NIC_RETURN_IF_ERROR(Exec(db_, "PRAGMA secure_delete=ON;", path_));
  Stmt up(db_, "UPDATE versions SET document = ?, sha256 = ? WHERE lineage = ? AND serial = ?;");
  if (!up.ok()) return Status::IOError("history database " + path_ + ": " + Err(db_));
  up.Blob(1, document);
  up.Text(2, sha256);
  up.Text(3, lineage);
  up.Int(4, serial);
  if (up.Step() != SQLITE_DONE) return Status::IOError("rewriting history in " + path_ + ": " + Err(db_));
  if (sqlite3_changes(db_) != 1) {
    return Status::NotFound("history has no version with serial " + std::to_string(serial) + " for lineage " + lineage);
  }
  // In WAL mode the replaced page (the plaintext) would otherwise live on in the -wal file until
  // some later checkpoint; TRUNCATE copies the sealed page into the database and empties the WAL.
  return Exec(db_, "PRAGMA wal_checkpoint(TRUNCATE);", path_);
}

Result<bool> HistoryDb::HasVersion(const std::string& lineage, int64_t serial) {
  Stmt q(db_, "SELECT 1 FROM versions WHERE lineage = ? AND serial = ?;");
  q.Text(1, lineage);
  q.Int(2, serial);
  int rc = q.Step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Status::IOError("reading history from " + path_ + ": " + Err(db_));
}

Result<HistoryVersion> HistoryDb::GetVersion(const std::string& lineage, int64_t serial) {
  Stmt q(db_,
         "SELECT lineage, serial, sha256, created_at, operation, who, backend, document FROM versions "
         "WHERE lineage = ? AND serial = ?;");
  q.Text(1, lineage);
  q.Int(2, serial);
  int rc = q.Step();
  if (rc == SQLITE_ROW) {
    HistoryVersion v;
    v.lineage = q.ColText(0);
    v.serial = q.ColInt(1);
    v.sha256 = q.ColText(2);
    v.created_at = q.ColText(3);
    v.operation = q.ColText(4);
    v.who = q.ColText(5);
    v.backend = q.ColText(6);
    v.document = q.ColBlob(7);
    return v;
  }
  if (rc == SQLITE_DONE) {
    return Status::NotFound("history has no version with serial " + std::to_string(serial) + " for lineage " + lineage)
        .WithSuggestion("list the recorded versions with: nic state history");
  }
  return Status::IOError("reading history from " + path_ + ": " + Err(db_));
}

Status HistoryDb::RecordEvent(const std::string& kind, const std::string& who, const std::string& detail_json) {
  Stmt ins(db_, "INSERT INTO events (created_at, kind, who, detail) VALUES (?, ?, ?, ?);");
  ins.Text(1, FormatRfc3339(Env::Default()->NowMicros()));
  ins.Text(2, kind);
  ins.Text(3, who);
  ins.Text(4, detail_json);
  if (ins.Step() != SQLITE_DONE) return Status::IOError("recording event in " + path_ + ": " + Err(db_));
  return Status::OK();
}

Result<std::vector<HistoryEvent>> HistoryDb::ListEvents(int limit) {
  Stmt q(db_, "SELECT id, created_at, kind, who, detail FROM events ORDER BY id DESC LIMIT ?;");
  q.Int(1, limit);
  std::vector<HistoryEvent> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    out.push_back({q.ColInt(0), q.ColText(1), q.ColText(2), q.ColText(3), q.ColText(4)});
  }
  if (rc != SQLITE_DONE) return Status::IOError("reading events from " + path_ + ": " + Err(db_));
  return out;
}

}  // namespace nic
