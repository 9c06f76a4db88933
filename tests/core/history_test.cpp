#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nic/history.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

TEST(HistoryDb, MigratesRecordsAndRefusesConflictingVersions) {
  testing::TempDir dir;
  mode_t old = ::umask(0);
  auto h = HistoryDb::Open(dir.File("h.db"));
  ::umask(old);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h.value()->schema_version(), 2);
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("h.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  HistoryVersion v{1, "L", "aa", "2025-01-01T00:00:00Z", "deploy", "me@host", "/s.json", "doc1"};
  ASSERT_TRUE(h.value()->RecordVersion(v).ok());
  ASSERT_TRUE(h.value()->RecordVersion(v).ok());  // idempotent
  HistoryVersion other = v;
  other.sha256 = "bb";
  EXPECT_EQ(h.value()->RecordVersion(other).code(), ErrorCode::kConflict);
  v.serial = 2;
  v.document = "doc2";
  ASSERT_TRUE(h.value()->RecordVersion(v).ok());
  auto list = h.value()->ListVersions("L");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].serial, 2);
  EXPECT_TRUE((*list)[0].document.empty());
  EXPECT_EQ(h.value()->GetVersion("L", 1)->document, "doc1");
  EXPECT_EQ(h.value()->GetVersion("L", 9).status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(h.value()->ListVersions("other")->empty());
  ASSERT_TRUE(h.value()->RecordEvent("force-unlock", "me@host", "{\"ID\":\"x\"}").ok());
  EXPECT_EQ(h.value()->ListEvents()->at(0).kind, "force-unlock");
  h.value().reset();
  // Reopening does not re-run migrations.
  auto again = HistoryDb::Open(dir.File("h.db"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.value()->GetVersion("L", 2)->document, "doc2");
}

TEST(HistoryDb, RefusesADatabaseFromANewerNic) {
  testing::TempDir dir;
  {
    auto h = HistoryDb::Open(dir.File("h.db"));
    ASSERT_TRUE(h.ok());
    ASSERT_EQ(sqlite3_exec(h.value()->handle(), "INSERT INTO schema_migrations VALUES (99, 'x');", nullptr, nullptr, nullptr),
              SQLITE_OK);
  }
  auto h = HistoryDb::Open(dir.File("h.db"));
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("schema version 99"), std::string::npos);
}

std::string Pragma(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  }
  sqlite3_finalize(s);
  return out;
}

// Records are appended to a write-ahead log without an fsync each (synchronous=NORMAL); a
// record survives the death of the process that made it; DurableWrites syncs while it lives.
TEST(HistoryDb, WriteAheadLogKeepsRecordsOfAKilledProcessAndDurableWritesSync) {
  testing::TempDir dir;
  {
    auto h = HistoryDb::Open(dir.File("h.db"));
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(Pragma(h.value()->handle(), "PRAGMA journal_mode;"), "wal");
    EXPECT_EQ(Pragma(h.value()->handle(), "PRAGMA synchronous;"), "1");  // NORMAL
    {
      HistoryDb::DurableWrites durable(h.value().get());
      EXPECT_EQ(Pragma(h.value()->handle(), "PRAGMA synchronous;"), "2");  // FULL
    }
    EXPECT_EQ(Pragma(h.value()->handle(), "PRAGMA synchronous;"), "1");
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    auto h = HistoryDb::Open(dir.File("h.db"));
    HistoryVersion v{7, "L", "aa", "2025-01-01T00:00:00Z", "deploy", "me@host", "/s.json", "doc7"};
    _exit(h.ok() && h.value()->RecordVersion(v).ok() ? 0 : 1);  // no close, no checkpoint
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto h = HistoryDb::Open(dir.File("h.db"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.value()->HasVersion("L", 7).value(), true);
  EXPECT_EQ(h.value()->HasVersion("L", 8).value(), false);
  EXPECT_EQ(h.value()->GetVersion("L", 7)->document, "doc7");
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("h.db-wal").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace nic
