// Hostile input to the state engine: JSON nested 100k levels deep (state documents and lock
// records), invalid UTF-8, and state paths another local user could tamper with (a symlink is
// refused in local_backend_test.cpp; here a world-writable directory without the sticky bit).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "nic/backend.h"
#include "nic/env.h"
#include "nic/json_limits.h"
#include "nic/lock.h"
#include "nic/state.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using json = nlohmann::json;

std::string Nested(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

std::string ValidStateWithCloudValue(const std::string& value_json) {
  StateDocument d = StateDocument::NewEmpty("aws", "demo", "us-west-2", Env::Default()->NowMicros());
  d.cloud["vpc"] = {{"id", "vpc-1"}, {"cidr", "10.0.0.0/16"}};
  std::string bytes = SerializeStateDocument(d);
  // Splice the raw value in as cloud.vpc.extra without going through nlohmann (which could not
  // hold the hostile value for us anyway). The checksum no longer matches; depth is checked first.
  auto at = bytes.find("\"cidr\"");
  EXPECT_NE(at, std::string::npos);
  return bytes.insert(at, "\"extra\": " + value_json + ", ");
}

TEST(HostileState, HundredThousandNestedArraysAreRefusedNamingTheFile) {
  auto r = ParseStateDocument(ValidStateWithCloudValue(Nested(100000)), "/srv/nic-state.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidState);
  EXPECT_NE(r.status().message().find("/srv/nic-state.json"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("nested more than 256 levels"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("line 1"), std::string::npos) << r.status().message();

  // A whole document that is only brackets, and objects instead of arrays.
  EXPECT_EQ(ParseStateDocument(Nested(100000), "s.json").status().code(), ErrorCode::kInvalidState);
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  EXPECT_EQ(ParseStateDocument(objects, "s.json").status().code(), ErrorCode::kInvalidState);
}

TEST(HostileState, NestingBelowTheLimitAndBracketsInStringsAreFine) {
  // 200 levels is deeper than any real state and still reads (the limit is not a false alarm).
  std::string doc = ValidStateWithCloudValue(Nested(200));
  EXPECT_TRUE(CheckJsonDepth(doc, "s.json").ok());
  auto parsed = ParseStateDocument(doc, "s.json");
  // Only the checksum (the document was edited) may fail, never the depth.
  if (!parsed.ok()) {
    EXPECT_EQ(parsed.status().message().find("nested"), std::string::npos) << parsed.status().message();
  }
  // Brackets inside strings (with escaped quotes) are not nesting.
  std::string in_string = "{\"k\": \"" + std::string(100000, '[') + "\\\"" + std::string(1000, '{') + "\"}";
  EXPECT_TRUE(CheckJsonDepth(in_string, "x.json").ok());
  EXPECT_TRUE(ParseJsonBounded(Nested(257)).is_discarded());
  EXPECT_FALSE(ParseJsonBounded(Nested(256)).is_discarded());
}

TEST(HostileState, TheDepthLimitHoldsExactlyAtTheBoundary) {
  // The value sits three levels down (document, cloud, vpc): 253 more levels make 256, the
  // limit; one more is refused with the same message as the 100k-level case. Both are well
  // inside what the fast parser itself accepts, so its own walk has to keep the bound.
  auto at_limit = ParseStateDocument(ValidStateWithCloudValue(Nested(253)), "s.json");
  if (!at_limit.ok()) {
    EXPECT_EQ(at_limit.status().message().find("nested"), std::string::npos) << at_limit.status().message();
  }
  for (const std::string& deep : {Nested(254), "{\"a\": " + Nested(253) + "}"}) {
    auto r = ParseStateDocument(ValidStateWithCloudValue(deep), "/srv/nic-state.json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidState);
    EXPECT_NE(r.status().message().find("nested more than 256 levels"), std::string::npos) << r.status().message();
  }
}

TEST(HostileState, InvalidUtf8IsRefusedNamingFileAndLine) {
  std::string doc = ValidStateWithCloudValue("\"bad \xC3\x28 byte\"");
  doc.insert(0, "\n\n");
  auto r = ParseStateDocument(doc, "/srv/nic-state.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidState);
  EXPECT_NE(r.status().message().find("/srv/nic-state.json"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("UTF-8"), std::string::npos) << r.status().message();
  size_t bad = doc.find("\xC3\x28");
  std::string line = "line " + std::to_string(1 + std::count(doc.begin(), doc.begin() + static_cast<long>(bad), '\n'));
  EXPECT_NE(r.status().message().find(line + ","), std::string::npos) << line << ": " << r.status().message();
}

TEST(HostileState, NumberBeyondDoubleRangeIsAnErrorNotAnException) {
  // fuzz_state's finding (build-asan/crashes/fuzz_state/crash-cf1698...): "555e5500" made the
  // parser throw out_of_range, which escaped ParseStateDocument and terminated NIC.
  auto r = ParseStateDocument("555e5500{\"}}}", "/srv/nic-state.json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidState);
  EXPECT_NE(r.status().message().find("/srv/nic-state.json: not valid JSON"), std::string::npos) << r.status().message();
  auto in_doc = ParseStateDocument(ValidStateWithCloudValue("1e999"), "s.json");
  ASSERT_FALSE(in_doc.ok());
  EXPECT_NE(in_doc.status().message().find("number overflow"), std::string::npos) << in_doc.status().message();
}

TEST(HostileLock, DeepAndInvalidLockRecordsAreClearErrors) {
  auto deep = LockInfo::FromJson(Nested(100000), "s3://b/k.tflock");
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(deep.status().message().find("s3://b/k.tflock"), std::string::npos) << deep.status().message();
  auto utf8 = LockInfo::FromJson("{\"ID\": \"\xFF\xFE\"}", "s3://b/k.tflock");
  ASSERT_FALSE(utf8.ok());
  EXPECT_NE(utf8.status().message().find("s3://b/k.tflock"), std::string::npos) << utf8.status().message();
}

BackendConfig LocalAt(const std::string& path) {
  BackendConfig c;
  c.type = "local";
  c.values["path"] = path;
  return c;
}

TEST(HostileStatePath, WorldWritableDirectoryWithoutStickyBitIsRefused) {
  testing::TempDir dir;
  std::string shared = dir.File("shared");
  std::filesystem::create_directories(shared);
  testing::WriteFileOrDie(shared + "/nic-state.json", "{}");
  ASSERT_EQ(::chmod(shared.c_str(), 0777), 0);  // chmod is umask-independent
  auto b = OpenBackend(LocalAt(shared + "/nic-state.json"));
  ASSERT_TRUE(b.ok()) << b.status().ToString();

  auto read = (*b)->ReadState();
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), ErrorCode::kRefused);
  EXPECT_NE(read.status().message().find("writable by every user"), std::string::npos) << read.status().message();
  ASSERT_FALSE(read.status().suggestions().empty());
  EXPECT_NE(read.status().suggestions()[0].find("chmod o-w " + shared), std::string::npos)
      << read.status().suggestions()[0];
  EXPECT_EQ((*b)->WriteState("new", WriteCondition{}).status().code(), ErrorCode::kRefused);
  EXPECT_EQ((*b)->Lock(LockInfo::New("deploy", Env::Default())).code(), ErrorCode::kRefused);
  EXPECT_EQ(testing::ReadFileOrDie(shared + "/nic-state.json"), "{}");  // nothing written
  EXPECT_FALSE(std::filesystem::exists(shared + "/nic-state.json.lock"));

  // With the sticky bit (as /tmp has) other users cannot rename or delete our files: allowed.
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);
  auto sticky = (*b)->ReadState();
  ASSERT_TRUE(sticky.ok()) << sticky.status().ToString();
  EXPECT_EQ(sticky->bytes, "{}");
  // And a private directory is of course fine.
  ASSERT_EQ(::chmod(shared.c_str(), 0700), 0);
  EXPECT_TRUE((*b)->WriteState("v2", WriteCondition{}).ok());
}

TEST(HostileStatePath, DirectoriesNicCreatesArePrivateWhateverTheUmask) {
  // Under umask 0 a plain mkdir would make them 0777, which the check above would then refuse.
  testing::TempDir dir;
  mode_t old = ::umask(0);
  auto b = OpenBackend(LocalAt(dir.File("a/b/nic-state.json")));
  ASSERT_TRUE(b.ok());
  auto w = (*b)->WriteState("{}", WriteCondition{});
  ::umask(old);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  for (const char* d : {"a", "a/b"}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir.File(d).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u) << d;
  }
}

}  // namespace
}  // namespace nic
