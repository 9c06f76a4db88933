// The on-disk format of a state stays byte for byte what earlier versions wrote: the canonical
// printer in src/core/state.cpp against the definition it replaced (ordered_json dump(2) of the
// document, checksum spliced in as the last member) and against files the previous binary wrote.
#include <gtest/gtest.h>

#include <filesystem>

#include "backends/local/local_backend.h"
#include "nic/crypto.h"
#include "nic/env.h"
#include "nic/state.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

// The serializer as it was defined until d139d91: the whole document as an ordered_json,
// dumped with 2-space indentation; the checksum is the sha256 of that dump, added as the last
// member; a trailing newline.
std::string ReferenceSerialize(const StateDocument& d) {
  ojson j;
  j["version"] = d.version;
  j["format_version"] = std::to_string(d.format_version);
  j["lineage"] = d.lineage;
  j["serial"] = d.serial;
  j["provider"] = d.provider;
  j["project_name"] = d.project_name;
  j["region"] = d.region;
  j["imported_from_terraform"] = d.imported_from_terraform;
  j["cloud"] = ojson::parse(d.cloud.dump());
  j["kubernetes"] = ojson::parse(d.kubernetes.dump());
  j["unmanaged"] = ojson::parse(d.unmanaged.dump());
  ojson m;
  m["created_at"] = d.metadata.created_at;
  m["updated_at"] = d.metadata.updated_at;
  m["nic_version"] = d.metadata.nic_version;
  m["configuration_hash"] = d.metadata.configuration_hash;
  m["last_successful_deploy"] = d.metadata.last_successful_deploy;
  m["deploy_count"] = d.metadata.deploy_count;
  j["metadata"] = m;
  j["checksum"] = "sha256:" + crypto::Sha256Hex(j.dump(2));
  return j.dump(2) + "\n";
}

std::vector<std::string> Fixtures() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(testing::SourceDir() + "/tests/fixtures/state")) {
    if (e.path().filename().string().rfind("written-by-", 0) == 0) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Written by the release before the printer (d139d91) with `nic state push`: escapes, control
// characters, UTF-8, floats, 64-bit integers, empty and nested containers, empty sections.
TEST(StateFormat, FilesWrittenByThePreviousReleaseVerifyAndReserializeIdentically) {
  auto files = Fixtures();
  ASSERT_EQ(files.size(), 2u);
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    std::string bytes = testing::ReadFileOrDie(path);
    auto parsed = ParseStateDocument(bytes, path);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    std::string digest;
    EXPECT_EQ(SerializeStateDocument(parsed.value(), &digest), bytes);
    EXPECT_EQ(digest, crypto::Sha256Hex(bytes));
    EXPECT_EQ(ReferenceSerialize(parsed.value()), bytes);
    EXPECT_EQ("\"" + ComputeStateChecksum(parsed.value()) + "\"\n}\n",
              bytes.substr(bytes.rfind("\"sha256:")));
  }
}

TEST(StateFormat, PrinterMatchesTheReferenceOnAwkwardValues) {
  StateDocument d = StateDocument::NewEmpty("gcp", "p \"q\" \\ \x01\x7f", "r\tegion", 1700000000000000);
  d.serial = 18446744073709551615ull;
  d.metadata.deploy_count = -3;
  d.imported_from_terraform = true;
  std::string all_controls;
  for (int c = 1; c < 0x20; ++c) all_controls += static_cast<char>(c);
  d.cloud["strings"] = {{"controls", all_controls}, {"quotes", "\"\\/"}, {"utf8", "\xc3\xa9\xe2\x98\x83\xf0\x9f\x9a\x80"},
                        {"mixed", "a\xc3\xa9\n\"b"}, {"", ""}};
  d.cloud["numbers"] = {{"i", -9223372036854775807LL - 1}, {"u", 18446744073709551615ull}, {"f", 1.5},
                        {"tiny", 5e-324}, {"nan", std::nan("")}, {"zero", 0.0}, {"negzero", -0.0}};
  d.cloud["shapes"] = {{"e_obj", json::object()}, {"e_arr", json::array()},
                       {"deep", json::array({json::array({json::object({{"k", json::array({nullptr, true, false})}})})})}};
  d.kubernetes["namespaces"] = json::array({{{"name", "dev"}}});
  d.unmanaged = json::array({{{"address", "x.y"}}});
  std::string digest;
  std::string bytes = SerializeStateDocument(d, &digest);
  EXPECT_EQ(bytes, ReferenceSerialize(d));
  EXPECT_EQ(digest, crypto::Sha256Hex(bytes));
  // Empty sections.
  StateDocument e = StateDocument::NewEmpty("aws", "e", "", 0);
  EXPECT_EQ(SerializeStateDocument(e), ReferenceSerialize(e));
}

TEST(StateFormat, InvalidUtf8IsRefusedAsBefore) {
  StateDocument d = StateDocument::NewEmpty("aws", "bad \xff utf8", "", 0);
  EXPECT_THROW(SerializeStateDocument(d), json::type_error);
  EXPECT_THROW(ComputeStateChecksum(d), json::type_error);
}

// The local backend reuses the digest of the version it last read or wrote only when the file
// holds exactly those bytes; an edit of the same size behind its back is still a new version.
TEST(StateFormat, LocalVersionTokenIsAlwaysTheFilesSha256) {
  testing::TempDir dir;
  const std::string path = dir.File("s.json");
  LocalBackend b(path, Env::Default());
  WriteCondition create;
  create.expected_version_token = "";
  create.bytes_sha256 = crypto::Sha256Hex("first");
  auto t1 = b.WriteState("first", create);
  ASSERT_TRUE(t1.ok()) << t1.status().ToString();
  EXPECT_EQ(t1.value(), crypto::Sha256Hex("first"));
  auto r1 = b.ReadState();
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->version_token, crypto::Sha256Hex("first"));
  testing::WriteFileOrDie(path, "FIRST");  // same size, same directory entry
  auto r2 = b.ReadState();
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->version_token, crypto::Sha256Hex("FIRST"));
  testing::WriteFileOrDie(path, "first");
  WriteCondition stale;
  stale.expected_version_token = crypto::Sha256Hex("FIRST");
  EXPECT_EQ(b.WriteState("second", stale).status().code(), ErrorCode::kConflict);
  testing::WriteFileOrDie(path, "fIrst");
  WriteCondition current;
  current.expected_version_token = t1.value();
  EXPECT_EQ(b.WriteState("second", current).status().code(), ErrorCode::kConflict);
  EXPECT_EQ(testing::ReadFileOrDie(path), "fIrst");
  // Without a digest from the caller the backend hashes the bytes itself.
  current.expected_version_token = crypto::Sha256Hex("fIrst");
  auto t2 = b.WriteState("second", current);
  ASSERT_TRUE(t2.ok()) << t2.status().ToString();
  EXPECT_EQ(t2.value(), crypto::Sha256Hex("second"));
}

}  // namespace
}  // namespace nic
