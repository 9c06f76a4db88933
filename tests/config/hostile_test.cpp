// Hostile input: alias bombs, deep nesting, huge values, invalid UTF-8, tabs, garbage. Each
// must end in a clear error, quickly, without unbounded memory.
#include <chrono>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "nic/config.h"
#include "tests/config/config_test_util.h"

namespace nic {
namespace {

using testing::DumpDiagnostics;
using testing::Parse;

// Runs the parser and checks it failed within `max_ms`.
ConfigLoadResult ParseFailsQuickly(const std::string& yaml, int max_ms = 3000) {
  auto start = std::chrono::steady_clock::now();
  auto r = Parse(yaml);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(ms, max_ms);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.errors.empty());
  return r;
}

TEST(HostileYaml, BillionLaughsIsStoppedByTheNodeBudget) {
  std::string yaml = "project_name: demo\nlol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 9; ++i) {
    yaml += "lol" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += std::string(j ? ", " : "") + "*l" + std::to_string(i - 1);
    yaml += "]\n";
  }
  auto r = ParseFailsQuickly(yaml);
  ASSERT_EQ(r.errors.size(), 1u) << DumpDiagnostics(r);
  EXPECT_NE(r.errors[0].message.find("billion laughs"), std::string::npos);
  EXPECT_GT(r.errors[0].line, 0);
}

TEST(HostileYaml, AliasBombInsideAnInfrastructureSection) {
  std::string yaml = "project_name: demo\nprovider: aws\nx: &a [1, 1, 1, 1, 1, 1, 1, 1]\n";
  std::string prev = "a";
  for (int i = 0; i < 8; ++i) {
    std::string name = "b" + std::to_string(i);
    yaml += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
    prev = name;
  }
  yaml += "amazon_web_services:\n  node_groups:\n    general:\n      taints: *" + prev + "\n";
  ParseFailsQuickly(yaml);
}

TEST(HostileYaml, DeepFlowNestingIsRefused) {
  std::string yaml = "project_name: demo\nx: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  auto r = ParseFailsQuickly(yaml);
  EXPECT_NE(r.errors[0].message.find("not valid YAML"), std::string::npos) << DumpDiagnostics(r);
}

TEST(HostileYaml, DeepBlockNestingHitsTheDepthLimit) {
  std::string yaml = "project_name: demo\n";
  std::string indent;
  for (int i = 0; i < 200; ++i) {
    yaml += indent + "k" + std::to_string(i) + ":\n";
    indent += " ";
  }
  yaml += indent + "v: 1\n";
  auto r = ParseFailsQuickly(yaml);
  bool depth = false;
  for (const auto& e : r.errors) depth = depth || e.message.find("nested more than") != std::string::npos;
  EXPECT_TRUE(depth) << DumpDiagnostics(r);
}

TEST(HostileYaml, HugeScalarAndHugeFile) {
  auto r = ParseFailsQuickly("project_name: demo\nnote: " + std::string(300 * 1024, 'x') + "\n");
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_NE(r.errors[0].message.find("bytes long"), std::string::npos);
  auto big = ParseFailsQuickly("project_name: demo\n" + std::string(33 << 20, '#') + "\n");
  EXPECT_NE(big.errors[0].message.find("limit"), std::string::npos);
}

TEST(HostileYaml, InvalidUtf8IsLocated) {
  auto r = ParseFailsQuickly("project_name: demo\nnamespace: d\xC3\x28v\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[0].column, 13);
  EXPECT_NE(r.errors[0].message.find("UTF-8"), std::string::npos);
  auto overlong = ParseFailsQuickly("project_name: \xC0\xAF\n");
  EXPECT_EQ(overlong.errors[0].column, 15);
  auto nul = ParseFailsQuickly(std::string("project_name: de\0mo\n", 20));
  EXPECT_NE(nul.errors[0].message.find("NUL"), std::string::npos);
  auto utf16 = ParseFailsQuickly(std::string("\xFF\xFEp\0r\0", 6));
  EXPECT_NE(utf16.errors[0].message.find("UTF-16"), std::string::npos);
  // Valid multi-byte UTF-8 is fine.
  EXPECT_TRUE(Parse("project_name: demo\ntheme: {title: \"Nébari ✓ 🚀\"}\n").ok());
}

TEST(HostileYaml, LoneCommaEndsInsteadOfLoopingForever) {
  // fuzz_config's finding: yaml-cpp 0.7's LoadAll looped forever, allocating, on "," (and on
  // anything whose parser stalls on a token that starts no value). NIC reads YAML with libyaml
  // now; the inputs stay as a regression test.
  for (const char* text : {",", "\n,\n", "project_name: demo\n---\n,\n"}) {
    auto r = ParseFailsQuickly(text, 10000);
    ASSERT_EQ(r.errors.size(), 1u) << text << DumpDiagnostics(r);
    EXPECT_NE(r.errors[0].message.find("not valid YAML"), std::string::npos) << r.errors[0].message;
    EXPECT_GT(r.errors[0].line, 0);
  }
  // Real multi-document files are still counted exactly.
  auto two = Parse("project_name: a\n---\nproject_name: b\n");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.errors[0].message.find("2 YAML documents"), std::string::npos) << two.errors[0].message;
}

TEST(HostileYaml, TabIndentationIsLocated) {
  auto r = ParseFailsQuickly("project_name: demo\nlocal:\n\tkube_context: x\n");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[0].column, 1);
  EXPECT_NE(r.errors[0].message.find("tab"), std::string::npos);
  // A tab inside a value is not indentation.
  EXPECT_TRUE(Parse("project_name: demo\ntheme: {title: \"a\tb\"}\n").ok());
}

TEST(HostileYaml, SyntaxErrorsEmptyAndNonMappingDocuments) {
  auto r = ParseFailsQuickly("project_name: demo\nprovider: [aws\n");
  EXPECT_GT(r.errors[0].line, 0);
  EXPECT_NE(r.errors[0].message.find("not valid YAML"), std::string::npos);
  EXPECT_NE(ParseFailsQuickly("").errors[0].message.find("empty"), std::string::npos);
  EXPECT_NE(ParseFailsQuickly("# only a comment\n").errors[0].message.find("empty"), std::string::npos);
  EXPECT_EQ(ParseFailsQuickly("- a\n- b\n").errors[0].found, "a list");
  EXPECT_EQ(ParseFailsQuickly("just text").errors[0].found, "the string 'just text'");
}

TEST(HostileYaml, ComplexKeysAndMergeKeysInInfraSections) {
  auto r = ParseFailsQuickly("project_name: demo\nlocal:\n  ? [a, b]\n  : 1\n");
  auto m = ParseFailsQuickly("project_name: demo\nbase: &b {kube_context: x}\nlocal:\n  <<: *b\n");
  EXPECT_NE(m.errors[0].message.find("unknown key '<<'"), std::string::npos) << DumpDiagnostics(m);
}

TEST(HostileYaml, RandomBytesNeverCrash) {
  std::mt19937 rng(42);
  const std::string alphabet = "ab:- \n\t[]{}&*!|>'\"#%@`,?0123456789.\xC3\xA9\xFF";
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    size_t len = rng() % 200;
    for (size_t j = 0; j < len; ++j) s.push_back(alphabet[rng() % alphabet.size()]);
    auto r = Parse("project_name: demo\n" + s);
    if (!r.ok()) {
      EXPECT_FALSE(r.errors.empty());
    }
  }
}

}  // namespace
}  // namespace nic
