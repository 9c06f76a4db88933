// The size limits scale with the file: a generated config with more nodes than a hand-written
// one ever has is read, while alias expansion stays bounded by the file's size, and the file
// limit names the variable that raises it.
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "nic/config.h"
#include "tests/config/config_test_util.h"

namespace nic {
namespace {

using testing::DumpDiagnostics;
using testing::kAws;
using testing::Parse;

TEST(ConfigLimits, ManyNodesWithoutAliasesAreRead) {
  // 210,000 nodes in an application section (kept and walked), more than the fixed budget of
  // 200,000: the file's size lifts the budget.
  std::string yaml = std::string(kAws) + "jupyterhub:\n  padding: [";
  for (int i = 0; i < 210000; ++i) yaml += i ? ",0" : "0";
  yaml += "]\n";
  auto r = Parse(yaml);
  EXPECT_TRUE(r.ok()) << DumpDiagnostics(r).substr(0, 2000);
}

TEST(ConfigLimits, AliasExpansionIsBoundedByTheFileSize) {
  // A large file does not lift the bound for aliases: this one is ~0.5 MB and expands to 10^7.
  std::string yaml = std::string(kAws) + "padding: [" ;
  for (int i = 0; i < 100000; ++i) yaml += i ? ",0" : "0";
  yaml += "]\nlol0: &l0 [a, a, a, a, a, a, a, a, a, a]\n";
  for (int i = 1; i <= 7; ++i) {
    yaml += "lol" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += std::string(j ? ", " : "") + "*l" + std::to_string(i - 1);
    yaml += "]\n";
  }
  auto r = Parse(yaml);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].message.find("billion laughs"), std::string::npos) << DumpDiagnostics(r);
  EXPECT_NE(r.errors[0].message.find("one per byte of the file"), std::string::npos) << DumpDiagnostics(r);
}

TEST(ConfigLimits, FileLimitNamesTheVariableThatRaisesIt) {
  std::string yaml = std::string(kAws) + "# " + std::string(2000, 'x') + "\n";
  setenv("NIC_CONFIG_MAX_BYTES", "1000", 1);
  auto small = Parse(yaml);
  setenv("NIC_CONFIG_MAX_BYTES", "100000", 1);
  auto raised = Parse(yaml);
  unsetenv("NIC_CONFIG_MAX_BYTES");
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.errors[0].message.find("larger than the limit of 1000 bytes"), std::string::npos) << DumpDiagnostics(small);
  EXPECT_NE(small.errors[0].message.find("NIC_CONFIG_MAX_BYTES"), std::string::npos) << DumpDiagnostics(small);
  EXPECT_TRUE(raised.ok()) << DumpDiagnostics(raised);
}

}  // namespace
}  // namespace nic
