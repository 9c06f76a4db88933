// Hostile tfstate input: JSON nested far deeper than any Terraform state (in attributes and in
// outputs) and invalid UTF-8; each is a clear error naming the file and where, never a crash.
#include <gtest/gtest.h>

#include <string>

#include "nic/importer.h"

namespace nic {
namespace {

std::string StateWithAttributes(const std::string& attributes_json) {
  return R"({"version": 4, "terraform_version": "1.5.7", "serial": 1, "lineage": "l", "outputs": {},
  "resources": [{"mode": "managed", "type": "aws_vpc", "name": "main",
    "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
    "instances": [{"schema_version": 1, "attributes": )" +
         attributes_json + "}]}]}";
}

TEST(HostileTfstate, HundredThousandNestedArraysInAttributesAreRefused) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto r = ParseTfstate(StateWithAttributes("{\"id\": \"vpc-1\", \"tags\": " + deep + "}"), "02.tfstate");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidInput);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("02.tfstate"), std::string::npos) << m.substr(0, 400);
  EXPECT_NE(m.find("nested more than 256 levels"), std::string::npos) << m.substr(0, 400);
  EXPECT_NE(m.find("$.resources[0].instances[0].attributes.tags"), std::string::npos) << m.substr(0, 400);
}

TEST(HostileTfstate, DeepOutputsAndDeepTopLevelAreRefused) {
  std::string deep_objects;
  for (int i = 0; i < 100000; ++i) deep_objects += "{\"a\":";
  auto outputs = ParseTfstate(R"({"version": 4, "outputs": {"x": {"value": )" + deep_objects, "03.tfstate");
  ASSERT_FALSE(outputs.ok());
  EXPECT_NE(outputs.status().message().find("nested more than 256"), std::string::npos);
  auto unknown_key = ParseTfstate(R"({"version": 4, "extra": )" + std::string(100000, '['), "03.tfstate");
  ASSERT_FALSE(unknown_key.ok());
  EXPECT_NE(unknown_key.status().message().find("03.tfstate"), std::string::npos);
}

TEST(HostileTfstate, ModerateNestingStillParses) {
  // 100 levels of nested lists in an attribute is legal and is kept.
  std::string nested = std::string(100, '[') + "1" + std::string(100, ']');
  auto r = ParseTfstate(StateWithAttributes("{\"id\": \"vpc-1\", \"deep\": " + nested + "}"), "02.tfstate");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->resources.size(), 1u);
}

TEST(HostileTfstate, InvalidUtf8IsRefusedNamingTheFile) {
  auto r = ParseTfstate(StateWithAttributes("{\"id\": \"vpc-\xC3\x28\"}"), "/work/02.tfstate");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(r.status().message().find("/work/02.tfstate"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("UTF-8"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace nic
