#include "nic/journal.h"

#include <sqlite3.h>

#include "nic/env.h"

namespace nic {
namespace {
std::string Col(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}
}  // namespace

Result<std::string> Journal::Seal(const std::string& text) {
  if (encryption_ == nullptr || !encryption_->writes_encrypted()) return text;
  auto sealed = encryption_->Encode(text, lineage_, 0, 0);
  if (!sealed.ok()) {
    Status st = sealed.status();
    return st.Prepend("encrypting the deploy journal entry");
  }
  return sealed;
}

Result<int64_t> Journal::RecordIntent(const std::string& run_id, const std::string& lineage, const std::string& address,
                                      const std::string& action, const std::string& client_token, const std::string& detail_in) {
  lineage_ = lineage;
  NIC_ASSIGN_OR_RETURN(std::string detail, Seal(detail_in));
  // The cloud call follows this record; it must be on disk even if the machine loses power.
  HistoryDb::DurableWrites durable(db_);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_->handle(),
                     "INSERT INTO journal (run_id, lineage, address, action, client_token, status, created_at, result) "
                     "VALUES (?, ?, ?, ?, ?, 'intent', ?, ?);",
                     -1, &s, nullptr);
  std::string now = FormatRfc3339(Env::Default()->NowMicros());
  const std::string* vals[] = {&run_id, &lineage, &address, &action, &client_token, &now, &detail};
  for (int i = 0; i < 7; ++i) sqlite3_bind_text(s, i + 1, vals[i]->c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) {
    // Without the intent on disk a crash could leave a duplicate: refuse to make the call.
    return Status::IOError("cannot record the deploy journal in " + db_->path() + ": " + sqlite3_errmsg(db_->handle()));
  }
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_->handle()));
}

Status Journal::Finish(int64_t id, const char* status, const std::string& result_in) {
  NIC_ASSIGN_OR_RETURN(std::string result, Seal(result_in));
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_->handle(), "UPDATE journal SET status = ?, finished_at = ?, result = ? WHERE id = ?;", -1, &s, nullptr);
  std::string now = FormatRfc3339(Env::Default()->NowMicros());
  sqlite3_bind_text(s, 1, status, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, now.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, result.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 4, id);
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return Status::IOError("updating the deploy journal: " + std::string(sqlite3_errmsg(db_->handle())));
  return Status::OK();
}

Status Journal::MarkDone(int64_t id, const std::string& result) { return Finish(id, "done", result); }
Status Journal::MarkFailed(int64_t id, const std::string& error) { return Finish(id, "failed", error); }
Status Journal::MarkResolved(int64_t id, const std::string& how) { return Finish(id, "resolved", how); }

Result<std::vector<JournalEntry>> Journal::OpenIntents(const std::string& lineage) {
  lineage_ = lineage;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db_->handle(),
                     "SELECT id, run_id, lineage, address, action, client_token, status, created_at, COALESCE(result, '') "
                     "FROM journal WHERE lineage = ? AND status = 'intent' ORDER BY id;",
                     -1, &s, nullptr);
  sqlite3_bind_text(s, 1, lineage.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<JournalEntry> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    out.push_back({sqlite3_column_int64(s, 0), Col(s, 1), Col(s, 2), Col(s, 3), Col(s, 4), Col(s, 5), Col(s, 6), Col(s, 7), Col(s, 8)});
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return Status::IOError("reading the deploy journal: " + std::string(sqlite3_errmsg(db_->handle())));
  if (encryption_ != nullptr) {
    for (auto& e : out) {
      // Entries written before encryption was turned on are plaintext and still valid.
      auto plain = encryption_->Decode(e.detail, db_->path() + " journal entry " + std::to_string(e.id), nullptr, true);
      if (!plain.ok()) return plain.status();
      e.detail = std::move(plain).value();
    }
  }
  return out;
}

}  // namespace nic
