// ImportFromTerraform through the real StateManager against an in-memory backend: fresh
// import, refusal to overwrite, --force, and that a failed import writes nothing.
#include <sys/stat.h>

#include <filesystem>
#include <optional>

#include <gtest/gtest.h>

#include "nic/backend.h"
#include "nic/importer.h"
#include "nic/state_manager.h"
#include "tests/importer/test_util.h"

namespace nic {
namespace {

using nlohmann::json;
using testing_importer::Fixture;
using testing_importer::ReadAll;
using testing_importer::TempDir;

// Stores bytes in memory; version tokens are a counter; one lock.
class MemoryBackend : public Backend {
 public:
  std::string Name() const override { return "memory"; }
  std::string Location() const override { return "memory://state"; }
  Result<StateBlob> ReadState() override {
    StateBlob b;
    b.exists = exists_;
    b.bytes = bytes_;
    b.version_token = exists_ ? std::to_string(version_) : "";
    return b;
  }
  Result<std::string> WriteState(std::string_view bytes, const WriteCondition& cond) override {
    std::string current = exists_ ? std::to_string(version_) : "";
    if (cond.expected_version_token && *cond.expected_version_token != current) {
      return Status::Conflict("version token mismatch");
    }
    bytes_ = std::string(bytes);
    exists_ = true;
    ++writes_;
    return std::to_string(++version_);
  }
  Status Lock(const LockInfo& info) override {
    if (lock_) return Status::LockHeld("held by " + lock_->who);
    lock_ = info;
    return Status::OK();
  }
  Status Unlock(const std::string& id) override {
    if (!lock_ || lock_->id != id) return Status::Conflict("not our lock");
    lock_.reset();
    return Status::OK();
  }
  Result<std::optional<LockInfo>> CurrentLock() override { return lock_; }
  Status ForceUnlock(const std::string&, LockInfo*, std::string*) override { return Status::Unsupported("no"); }

  bool exists_ = false;
  std::string bytes_;
  int version_ = 0;
  int writes_ = 0;
  std::optional<LockInfo> lock_;
};

ImportOptions Options(const std::string& outputs) {
  ImportOptions o;
  o.provider = "aws";
  o.project_name = "nebari";
  o.region = "us-west-2";
  o.configuration_hash = "sha256:abc";
  o.outputs_path = outputs;
  return o;
}

std::vector<TerraformStateSource> AwsSources() {
  return {{Fixture("aws_02.tfstate"), "02"}, {Fixture("aws_03.tfstate"), "03"}};
}

TEST(ImportFlow, FreshImportPersistsSerialOneAndWritesOutputs0600) {
  TempDir dir;
  MemoryBackend backend;
  StateManager mgr(&backend, StateManagerOptions{});
  std::string outputs = dir.File("outputs.json");
  auto r = ImportFromTerraform(AwsSources(), Options(outputs), &mgr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(backend.lock_.has_value());  // released
  ASSERT_TRUE(backend.exists_);

  auto doc = ParseStateDocument(backend.bytes_, "memory");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->serial, 1u);
  EXPECT_TRUE(doc->imported_from_terraform);
  EXPECT_EQ(doc->metadata.configuration_hash, "sha256:abc");
  EXPECT_EQ(doc->provider, "aws");
  EXPECT_EQ(doc->lineage, r->report.lineage);
  EXPECT_EQ(r->report.serial, 1u);
  EXPECT_EQ(r->report.state_backend, "memory");
  EXPECT_EQ(ListResources(*doc).size(), r->report.resource_count);
  EXPECT_EQ((*FindResource(*doc, "cloud.node_groups.general"))["imported"], true);

  struct stat sb {};
  ASSERT_EQ(stat(outputs.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600);
  EXPECT_EQ(json::parse(ReadAll(outputs)), r->outputs);
  EXPECT_EQ(r->report.outputs_path, outputs);
  EXPECT_EQ(ReadAll(outputs).find("FAKE-SECRET"), std::string::npos);
  EXPECT_EQ(backend.bytes_.find("FAKE-SECRET"), std::string::npos);
}

TEST(ImportFlow, RefusesToOverwriteWithoutForce) {
  TempDir dir;
  MemoryBackend backend;
  {
    StateManager mgr(&backend, StateManagerOptions{});
    ASSERT_TRUE(ImportFromTerraform(AwsSources(), Options(""), &mgr).ok());
  }
  std::string before = backend.bytes_;
  std::string outputs = dir.File("outputs.json");
  StateManager mgr(&backend, StateManagerOptions{});
  auto again = ImportFromTerraform(AwsSources(), Options(outputs), &mgr);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kRefused);
  EXPECT_NE(again.status().message().find("memory://state already holds a NIC state"), std::string::npos);
  EXPECT_FALSE(again.status().suggestions().empty());
  EXPECT_EQ(backend.bytes_, before);
  EXPECT_FALSE(std::filesystem::exists(outputs));
  EXPECT_FALSE(backend.lock_.has_value());

  auto old_doc = ParseStateDocument(before, "memory");
  ImportOptions forced = Options(outputs);
  forced.force = true;
  StateManager mgr2(&backend, StateManagerOptions{});
  auto replaced = ImportFromTerraform(AwsSources(), forced, &mgr2);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  auto doc = ParseStateDocument(backend.bytes_, "memory");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->serial, 1u);
  EXPECT_NE(doc->lineage, old_doc->lineage);  // a fresh lineage
  EXPECT_TRUE(std::filesystem::exists(outputs));
}

TEST(ImportFlow, InvalidInputWritesNothing) {
  TempDir dir;
  for (const char* bad : {"malformed_truncated.tfstate", "malformed_duplicate_resource.tfstate",
                          "malformed_version_5.tfstate", "malformed_index_key_type.tfstate"}) {
    MemoryBackend backend;
    StateManager mgr(&backend, StateManagerOptions{});
    std::string outputs = dir.File(std::string(bad) + ".outputs.json");
    auto r = ImportFromTerraform({{Fixture("aws_02.tfstate"), "02"}, {Fixture(bad), "03"}}, Options(outputs), &mgr);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidInput) << bad;
    EXPECT_NE(r.status().message().find(Fixture(bad)), std::string::npos) << r.status().message();
    EXPECT_EQ(backend.writes_, 0) << bad;
    EXPECT_FALSE(backend.lock_.has_value());
    EXPECT_FALSE(std::filesystem::exists(outputs)) << bad;
  }
}

TEST(ImportFlow, MissingFileAndStrictWriteNothing) {
  TempDir dir;
  MemoryBackend backend;
  StateManager mgr(&backend, StateManagerOptions{});
  auto missing = ImportFromTerraform({{dir.File("nope.tfstate"), "02"}}, Options(""), &mgr);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("stage 02"), std::string::npos) << missing.status().message();

  ImportOptions strict = Options(dir.File("o.json"));
  strict.strict = true;
  auto refused = ImportFromTerraform({{Fixture("edge_v4.tfstate"), ""}}, strict, &mgr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kRefused);
  EXPECT_EQ(backend.writes_, 0);
  EXPECT_FALSE(std::filesystem::exists(dir.File("o.json")));
}

TEST(ImportFlow, LockHeldByAnotherProcessIsReported) {
  MemoryBackend backend;
  LockInfo other;
  other.id = "other-lock";
  other.who = "someone@elsewhere";
  backend.lock_ = other;
  StateManager mgr(&backend, StateManagerOptions{});
  auto r = ImportFromTerraform(AwsSources(), Options(""), &mgr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kLockHeld);
  EXPECT_EQ(backend.writes_, 0);
  EXPECT_EQ(backend.lock_->id, "other-lock");
}

}  // namespace
}  // namespace nic
