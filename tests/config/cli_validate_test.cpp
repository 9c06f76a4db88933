// `nic validate` end to end: the real binary on real and inline configs, text and JSON.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "nic/state.h"
#include "nic/status.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using testing::RunNic;

std::string Real(const std::string& name) {
  return testing::SharedDir() + "/testdata/nebari-configs/" + name;
}

const char* kAwsHappy = "nebari-dev__nebari__tests_tests_unit_cli_validate_aws.happy.yaml";
const char* kNcar = "NCAR__ncar-aws-binder__qhub-config.yaml";

TEST(CliValidate, ValidFileTextMode) {
  auto r = RunNic({"validate", "-f", Real(kAwsHappy)});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("valid (provider aws, project test"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("node group general: m5.2xlarge, 1..1 nodes"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("config hash sha256:"), std::string::npos);
}

TEST(CliValidate, InvalidFileTextModeListsEveryErrorWithLocation) {
  auto r = RunNic({"validate", "-f", Real(kNcar)});
  EXPECT_EQ(r.exit_code, ExitCodeFor(ErrorCode::kInvalidConfig)) << r.out << r.err;
  EXPECT_NE(r.out.find(Real(kNcar) + ":3:8: ci_cd:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(Real(kNcar) + ":5:1: terraform_version:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("invalid: 2 errors"), std::string::npos) << r.out;
}

TEST(CliValidate, JsonModeValidAndInvalid) {
  auto ok = RunNic({"validate", "-f", Real(kAwsHappy), "--format", "json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  auto j = nlohmann::json::parse(ok.out);
  EXPECT_TRUE(j["valid"].get<bool>());
  EXPECT_TRUE(j["errors"].empty());
  EXPECT_EQ(j["model"]["provider"], "aws");
  EXPECT_EQ(j["model"]["node_groups"].size(), 3u);
  EXPECT_EQ(j["config_hash"].get<std::string>().rfind("sha256:", 0), 0u);

  auto bad = RunNic({"validate", "-f", Real(kNcar), "--format", "json"});
  EXPECT_EQ(bad.exit_code, 5);
  auto b = nlohmann::json::parse(bad.out);
  EXPECT_FALSE(b["valid"].get<bool>());
  ASSERT_EQ(b["errors"].size(), 2u);
  EXPECT_EQ(b["errors"][0]["line"], 3);
  EXPECT_EQ(b["errors"][0]["column"], 8);
  EXPECT_EQ(b["errors"][0]["path"], "ci_cd");
  EXPECT_EQ(b["errors"][1]["path"], "terraform_version");
  EXPECT_TRUE(b["config_hash"].is_null());
  // JSON mode keeps stdout to the one object.
  EXPECT_TRUE(nlohmann::json::accept(bad.out));
}

TEST(CliValidate, WarningsDoNotFailValidation) {
  auto r = RunNic({"validate", "-f", Real("nebari-dev__nebari__output.yaml"), "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["warnings"].size(), 1u);
  EXPECT_EQ(j["warnings"][0]["line"], 53);
}

TEST(CliValidate, StdinAndUsageErrors) {
  auto in = RunNic({"validate", "-f", "-"}, {}, "project_name: demo\nprovider: local\nnebari_version: 2025.10.1\n");
  EXPECT_EQ(in.exit_code, 0) << in.out << in.err;
  EXPECT_NE(in.out.find("<stdin>: valid"), std::string::npos) << in.out;
  EXPECT_EQ(RunNic({"validate"}).exit_code, 4);
  EXPECT_EQ(RunNic({"validate", "-f", Real(kAwsHappy), "--format", "yaml"}).exit_code, 4);
  EXPECT_EQ(RunNic({"validate", "-f", Real(kAwsHappy), "--bogus"}).exit_code, 4);
  auto missing = RunNic({"validate", "-f", "/nonexistent/nebari-config.yaml"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
}

TEST(CliValidate, StateImmutableFields) {
  testing::TempDir dir;
  StateDocument doc = StateDocument::NewEmpty("gcp", "other", "us-central1", 1700000000000000);
  testing::WriteFileOrDie(dir.File("state.json"), SerializeStateDocument(doc));
  auto r = RunNic({"validate", "-f", Real(kAwsHappy), "--state", dir.File("state.json"), "--format", "json"});
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["errors"].size(), 2u) << r.out;
  EXPECT_EQ(j["errors"][0]["path"], "project_name");
  EXPECT_EQ(j["errors"][0]["line"], 4);
  EXPECT_EQ(j["errors"][1]["path"], "provider");
  EXPECT_EQ(j["errors"][1]["line"], 1);

  StateDocument same = StateDocument::NewEmpty("aws", "test", "us-east-1", 1700000000000000);
  testing::WriteFileOrDie(dir.File("same.json"), SerializeStateDocument(same));
  auto ok = RunNic({"validate", "-f", Real(kAwsHappy), "--state", dir.File("same.json")});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;

  testing::WriteFileOrDie(dir.File("corrupt.json"), "{not json");
  auto corrupt = RunNic({"validate", "-f", Real(kAwsHappy), "--state", dir.File("corrupt.json")});
  EXPECT_EQ(corrupt.exit_code, ExitCodeFor(ErrorCode::kInvalidState)) << corrupt.out << corrupt.err;
}

}  // namespace
}  // namespace nic
